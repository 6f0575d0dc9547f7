#!/usr/bin/env bash
# An Odoo zip restores whatever the order of its members (Odoo's own restore extracts, then reads), deflated
# or stored: zips from Python's zipfile (ZIP_STORED, filestore first, dump.sql last) and from zip -0, from a
# file and from a URL.
. "$(dirname "$0")/test-lib.sh"
test_description 'Odoo zips with members in any order and stored members'
require_service pg
require_program odbk-restore

make_fixture src --db-mb 1 --fs-mb 1 --files 12
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS
fingerprint "$SRC_DB" "$SRC_FS" >"$TRASH/src.fp"
odbk_conf src "$SRC_DB" "$SRC_FS"    # the config and catalog of this script's own (not the host's)

restore() { odbk-restore "$@" --confirm RESTORE; }
restored_ok() {
	fingerprint "$1" "$2" >actual && test_cmp "$TRASH/src.fp" actual
}

test_expect_success 'make zips: stored, filestore first, manifest in the middle; zip -0; zip -0 to a pipe' '
	mkdir odoo && pg_dump --no-owner "$SRC_DB" >odoo/dump.sql &&
	echo "{\"odoo_dump\": \"1\", \"db_name\": \"src\", \"version\": \"17.0\"}" >odoo/manifest.json &&
	cp -r "$SRC_FS" odoo/filestore && : >odoo/filestore/empty-attachment &&
	python3 - <<-PY &&
	import os, zipfile
	names = []
	for root, dirs, files in os.walk("odoo/filestore"):
	    for f in sorted(files):
	        names.append(os.path.relpath(os.path.join(root, f), "odoo"))
	half = len(names) // 2
	order = names[:half] + ["manifest.json"] + names[half:] + ["dump.sql"]
	for kind, name in ((zipfile.ZIP_STORED, "stored-fs-first.zip"), (zipfile.ZIP_DEFLATED, "deflated-fs-first.zip")):
	    with zipfile.ZipFile(name, "w", kind) as z:
	        z.write("odoo/filestore", "filestore")       # a directory member too
	        for n in order:
	            z.write(os.path.join("odoo", n), n)
	    assert zipfile.ZipFile(name).namelist()[-1] == "dump.sql"
	with zipfile.ZipFile("stored-odoo-order.zip", "w", zipfile.ZIP_STORED) as z:
	    for n in ["dump.sql", "manifest.json"] + names:
	        z.write(os.path.join("odoo", n), n)
	PY
	(cd odoo && zip -q -0 -r ../zip0.zip filestore manifest.json dump.sql) &&
	(cd odoo && zip -q -0 -r - manifest.json dump.sql filestore | cat >../zip0-pipe.zip) &&
	unzip -Z1 zip0.zip >list && head -1 list | grep -q "^filestore/" && unzip -Z1 zip0-pipe.zip | head -1 | grep -qx manifest.json
'

test_expect_success 'a ZIP_STORED zip in Odoo'"'"'s order (empty attachment included) restores, no sanitizer report' '
	db=$(test_db storedodoo) &&
	restore --from-file stored-odoo-order.zip --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-storedodoo" &&
	test -f "$TRASH/fs-storedodoo/empty-attachment" && rm "$TRASH/fs-storedodoo/empty-attachment" &&
	restored_ok "$db" "$TRASH/fs-storedodoo"
'

test_expect_success 'a ZIP_STORED zip with filestore first and dump.sql last restores (no sanitizer report)' '
	db=$(test_db stored) &&
	restore --from-file stored-fs-first.zip --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-stored" &&
	test -f "$TRASH/fs-stored/empty-attachment" && test ! -s "$TRASH/fs-stored/empty-attachment" &&
	rm "$TRASH/fs-stored/empty-attachment" &&
	restored_ok "$db" "$TRASH/fs-stored"
'

test_expect_success 'a deflated zip with filestore first restores' '
	db=$(test_db deflated) &&
	restore --from-file deflated-fs-first.zip --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-deflated" &&
	rm "$TRASH/fs-deflated/empty-attachment" &&
	restored_ok "$db" "$TRASH/fs-deflated"
'

test_expect_success 'a zip -0 zip (filestore first) restores' '
	db=$(test_db zip0) &&
	restore --from-file zip0.zip --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-zip0" &&
	rm "$TRASH/fs-zip0/empty-attachment" &&
	restored_ok "$db" "$TRASH/fs-zip0"
'

test_expect_success 'a zip -0 written to a pipe (data descriptors) restores' '
	db=$(test_db zip0pipe) &&
	restore --from-file zip0-pipe.zip --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-zip0pipe" &&
	rm "$TRASH/fs-zip0pipe/empty-attachment" &&
	restored_ok "$db" "$TRASH/fs-zip0pipe"
'

test_expect_success 'a stored zip with filestore first restores from a URL' '
	port=$(python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])") &&
	{ python3 -m http.server "$port" --bind 127.0.0.1 >http.log 2>&1 & echo $! >http.pid; } &&
	test_when_finished "kill \$(cat http.pid)" &&
	for i in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/stored-fs-first.zip" && break; sleep 0.1; done &&
	db=$(test_db url) &&
	restore --from-url "http://127.0.0.1:$port/stored-fs-first.zip" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-url" &&
	rm "$TRASH/fs-url/empty-attachment" &&
	restored_ok "$db" "$TRASH/fs-url"
'

test_expect_success 'a zip without dump.sql is still refused, nothing left behind' '
	python3 -c "import zipfile; z = zipfile.ZipFile(\"nodump.zip\", \"w\", zipfile.ZIP_STORED); z.writestr(\"filestore/ab/x\", \"x\"); z.writestr(\"manifest.json\", \"{}\"); z.close()" &&
	db=$(test_db nodump) &&
	test_exit_code 65 restore --from-file nodump.zip --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-nodump" 2>err &&
	test_grep "no dump.sql" err &&
	test -z "$(sql postgres "select 1 from pg_database where starts_with(datname, '\''$db'\'')")" &&
	test -z "$(ls -d "$TRASH"/fs-nodump* 2>/dev/null)"
'

test_done
