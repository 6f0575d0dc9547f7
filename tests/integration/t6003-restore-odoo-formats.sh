#!/usr/bin/env bash
# odbk-restore --from-file/--from-url take Odoo's own .zip and .dump, and refuse anything else before
# the target is touched.
. "$(dirname "$0")/test-lib.sh"
test_description 'restore of Odoo zip and dump files, from a file and from a URL'
require_service pg
require_program odbk-restore

make_fixture src --db-mb 1 --fs-mb 1 --files 12
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS
fingerprint "$SRC_DB" "$SRC_FS" >"$TRASH/src.fp"
make_fixture target --db-mb 1 --fs-mb 1 --files 5 --seed 7
T_DB=$FIXTURE_DB T_FS=$FIXTURE_FS
odbk_conf prod "$T_DB" "$T_FS"
fingerprint "$T_DB" "$T_FS" >"$TRASH/target.fp"

restore() { odbk-restore "$@" --confirm RESTORE; }
target_untouched() {
	fingerprint "$T_DB" "$T_FS" >now.fp && test_cmp "$TRASH/target.fp" now.fp &&
	sql postgres "select datname from pg_database where datname ~ '^${TEST_DB_PREFIX}.*_odbk_(tmp|old)_'" >dbs && test ! -s dbs &&
	test -z "$(ls -d "$T_FS".odbk-* 2>/dev/null)"
}

# an Odoo zip as odoo/tools/osutil.py zip_dir makes it: ZIP_DEFLATED, dump.sql first, files only
test_expect_success 'make an Odoo zip and an Odoo dump' '
	mkdir odoo && pg_dump --no-owner "$SRC_DB" >odoo/dump.sql &&
	echo "{\"odoo_dump\": \"1\", \"db_name\": \"src\", \"version\": \"17.0\"}" >odoo/manifest.json &&
	cp -r "$SRC_FS" odoo/filestore &&
	python3 - <<-PY &&
	import os, zipfile
	with zipfile.ZipFile("odoo.zip", "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
	    for root, dirs, files in os.walk("odoo"):
	        files.sort(key=lambda f: f != "dump.sql")
	        for f in files:
	            p = os.path.join(root, f)
	            z.write(p, os.path.relpath(p, "odoo"))
	assert zipfile.ZipFile("odoo.zip").namelist()[0] == "dump.sql"
	PY
	pg_dump --no-owner --format=c "$SRC_DB" >odoo.dump
'

test_expect_success 'the zip restores with --from-file into a new database' '
	db=$(test_db fromzip) &&
	restore --from-file odoo.zip --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-fromzip" >block &&
	fingerprint "$db" "$TRASH/fs-fromzip" >actual &&
	test_cmp "$TRASH/src.fp" actual &&
	test_grep "^\[env $db\]" block
'

test_expect_success 'the zip restores with --from-url from an HTTP server' '
	port=$(python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])") &&
	{ python3 -m http.server "$port" --bind 127.0.0.1 >http.log 2>&1 & echo $! >http.pid; } &&
	test_when_finished "kill \$(cat http.pid)" &&
	for i in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/odoo.zip" && break; sleep 0.1; done &&
	db=$(test_db fromurl) &&
	restore --from-url "http://127.0.0.1:$port/odoo.zip?token=secret" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-fromurl" &&
	fingerprint "$db" "$TRASH/fs-fromurl" >actual &&
	test_cmp "$TRASH/src.fp" actual &&
	odbk-list --audit --json >audit.json &&
	test_grep "127.0.0.1:$port/odoo.zip" audit.json &&
	test_grep ! "secret" audit.json &&
	db=$(test_db fromurldump) &&
	restore --from-url "http://127.0.0.1:$port/odoo.dump" --db-owner "$TEST_OWNER" --new-db "$db" &&
	fingerprint "$db" >actual && fingerprint "$SRC_DB" >expect && test_cmp expect actual &&
	printf "not a zip at all\n" >fake.zip &&
	test_exit_code 65 restore --from-url "http://127.0.0.1:$port/fake.zip" --db-owner "$TEST_OWNER" --new-db "$(test_db fake)" 2>err &&
	test_grep "is not a zip file" err &&
	odbk-list --audit --json | jq -e ".[0].result == \"refused\"" &&
	test_exit_code 66 restore --from-url "http://127.0.0.1:$port/missing.zip" --db-owner "$TEST_OWNER" --new-db "$(test_db fake)" 2>err &&
	test_grep "HTTP 404" err &&
	odbk-list --audit --json | jq -e ".[0].result == \"refused\"" &&
	test -z "$(sql postgres "select 1 from pg_database where starts_with(datname, '\''$(test_db fake)'\'')")"
'

test_expect_success 'the zip replaces an environment with --to (safety backup first)' '
	restore --from-file odoo.zip --to prod 2>err &&
	fingerprint "$T_DB" "$T_FS" >actual &&
	test_cmp "$TRASH/src.fp" actual &&
	test_grep "safety backup" err &&
	safety=$(sed -n "s/.*safety backup of the previous state: //p" err) &&
	restore "$safety" --no-safety-backup &&
	target_untouched
'

test_expect_success 'a .dump restores with --from-file' '
	db=$(test_db fromdump) &&
	restore --from-file odoo.dump --db-owner "$TEST_OWNER" --new-db "$db" &&
	fingerprint "$db" >actual && fingerprint "$SRC_DB" >expect && test_cmp expect actual
'

test_expect_success 'unsafe and broken files are refused, nothing touched' '
	python3 - <<-PY &&
	import stat, zipfile
	with zipfile.ZipFile("dotdot.zip", "w") as z:
	    z.writestr("dump.sql", "CREATE TABLE odbk_evil (x int);\n")
	    z.writestr("filestore/../../evil", "x")
	with zipfile.ZipFile("symlink.zip", "w") as z:
	    z.writestr("dump.sql", "CREATE TABLE odbk_evil (x int);\n")
	    i = zipfile.ZipInfo("filestore/ab/link")
	    i.external_attr = (stat.S_IFLNK | 0o777) << 16
	    z.writestr(i, "/etc/passwd")
	with zipfile.ZipFile("nodump.zip", "w") as z:
	    z.writestr("manifest.json", "{}")
	data = open("odoo.zip", "rb").read()
	open("truncated.zip", "wb").write(data[: len(data) * 2 // 3])
	open("notes.txt", "w").write("hello\n")
	open("fake.zip", "w").write("not a zip at all\n")
	PY
	for f in dotdot.zip symlink.zip nodump.zip truncated.zip notes.txt fake.zip; do
		test_must_fail restore --from-file $f --to prod --no-safety-backup 2>err.$f || return 1
		test_grep "unsafe|link|dump.sql|truncated|damaged|not a" err.$f || return 1
		target_untouched || return 1
	done &&
	test ! -e "$TRASH/evil" && test ! -e evil
'

test_expect_success 'a file source needs a target' '
	test_exit_code 64 odbk-restore --from-file odoo.zip --confirm RESTORE 2>err &&
	test_grep "name the target" err
'

test_done
