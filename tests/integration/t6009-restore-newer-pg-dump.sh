#!/usr/bin/env bash
# A dump from a newer pg_dump loaded into an older server: the settings pg_dump writes that the server
# does not know yet (pg_dump 17's "SET transaction_timeout = 0;" for PostgreSQL 13-16) are left out with a
# warning naming them, as Odoo's restore (which ignores SQL errors) gets past them; every other error still
# stops the restore, and its message says what was left out.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-restore of a newer pg_dump'"'"'s dump'
require_service pg
require_program odbk-restore

make_fixture src --db-mb 1 --fs-mb 1 --files 4
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS
fingerprint "$SRC_DB" "$SRC_FS" >"$TRASH/src.fp"
odbk_conf src "$SRC_DB" "$SRC_FS"
SERVER=$(sql postgres "show server_version_num")
[ "$SERVER" -lt 170000 ] || skip_all "PostgreSQL $SERVER knows every setting pg_dump 17 writes"

# odoo_zip DIR ZIP: an Odoo zip of DIR's dump.sql, manifest.json and filestore/, in Odoo's order
odoo_zip() {
	python3 - "$1" "$2" <<-'PY'
	import os, sys, zipfile
	src, out = sys.argv[1], sys.argv[2]
	with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
	    z.write(os.path.join(src, "dump.sql"), "dump.sql")
	    z.write(os.path.join(src, "manifest.json"), "manifest.json")
	    for root, dirs, files in os.walk(os.path.join(src, "filestore")):
	        for f in sorted(files):
	            p = os.path.join(root, f)
	            z.write(p, os.path.relpath(p, src))
	PY
}

test_expect_success 'setup: the server is older than 17; a dump with pg_dump 17'"'"'s header' '
	mkdir odoo && pg_dump --no-owner "$SRC_DB" >plain.sql &&
	grep -n "^SET idle_in_transaction_session_timeout = 0;$" plain.sql >/dev/null &&
	sed "/^SET idle_in_transaction_session_timeout = 0;$/a SET transaction_timeout = 0;" plain.sql >odoo/dump.sql &&
	LINE=$(grep -n "^SET transaction_timeout = 0;$" odoo/dump.sql | cut -d: -f1) && echo "$LINE" >line &&
	echo "{\"odoo_dump\": \"1\", \"db_name\": \"src\", \"version\": \"17.0\"}" >odoo/manifest.json &&
	cp -r "$SRC_FS" odoo/filestore && odoo_zip odoo newer.zip
'

test_expect_success 'it restores exactly; the warning names the setting and its line' '
	db=$(test_db newer) &&
	odbk-restore --from-file newer.zip --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-newer" \
		--confirm RESTORE >out 2>err &&
	test_grep "warning: left out settings this PostgreSQL does not know, written by a newer pg_dump: transaction_timeout .line $(cat line)." err &&
	fingerprint "$db" "$TRASH/fs-newer" >actual && test_cmp "$TRASH/src.fp" actual
'

test_expect_success '--json carries the settings left out' '
	db=$(test_db newerjson) &&
	odbk-restore --from-file newer.zip --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-newerjson" \
		--confirm RESTORE --json >out.json 2>/dev/null &&
	jq -e ".status == \"completed\" and (.skipped_settings | startswith(\"transaction_timeout (line \"))" out.json >/dev/null
'

test_expect_success 'a real error still stops it (1, the operation failed), nothing created, the message says what was left out' '
	rm -rf odoo2 && cp -r odoo odoo2 &&
	printf "SELECT odbk_no_such_function();\n" >>odoo2/dump.sql && odoo_zip odoo2 broken.zip &&
	db=$(test_db broken) &&
	test_exit_code 1 odbk-restore --from-file broken.zip --db-owner "$TEST_OWNER" --new-db "$db" \
		--filestore "$TRASH/fs-broken" --confirm RESTORE 2>err &&
	test_grep "odbk_no_such_function" err &&
	test_grep "left out before it, as settings this PostgreSQL [0-9]* does not know, from a newer pg_dump: transaction_timeout" err &&
	test "$(sql postgres "select count(*) from pg_database where datname like '\''${db}%'\''")" = 0 &&
	test ! -e "$TRASH/fs-broken"
'

test_expect_success 'SET SESSION of an unknown setting is the server'"'"'s to judge: it fails' '
	rm -rf odoo3 && cp -r odoo odoo3 &&
	sed -i "s/^SET transaction_timeout = 0;$/SET SESSION transaction_timeout = 0;/" odoo3/dump.sql &&
	odoo_zip odoo3 session.zip &&
	db=$(test_db session) &&
	test_exit_code 1 odbk-restore --from-file session.zip --db-owner "$TEST_OWNER" --new-db "$db" \
		--filestore "$TRASH/fs-session" --confirm RESTORE 2>err &&
	test_grep "transaction_timeout" err
'

test_done
