#!/usr/bin/env bash
# odbk-restore --no-acl restores onto a server that lacks the roles the backup grants to: without it such
# a restore fails naming the role; with it the backup's GRANT, REVOKE and ALTER DEFAULT PRIVILEGES are left
# out, from plain SQL (an Odoo zip's dump.sql, read through the statement filter) and from a custom-format
# dump (pg_restore --no-privileges) alike, and the data is restored.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-restore --no-acl leaves out the backup privileges'
require_service pg
require_program odbk-restore pg_dump

make_fixture src --db-mb 1 --fs-mb 1 --files 4
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS
odbk_conf src "$SRC_DB" "$SRC_FS"
GONE=$(test_db gone_role)

restore() { odbk-restore "$@" --confirm RESTORE; }

# make_zip ZIP SQL: an Odoo zip without filestore around the SQL file
make_zip() {
	python3 - "$1" "$2" <<-'PY'
	import sys, zipfile
	with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
	    z.write(sys.argv[2], "dump.sql")
	    z.writestr("manifest.json", '{"odoo_dump": "1", "db_name": "src", "version": "17.0"}')
	PY
}

# the tables of DB with a privilege entry (relacl)
acl_of() {
	sql "$1" "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
		where n.nspname = 'public' and c.relacl is not null order by 1"
}

test_expect_success 'setup: a plain dump and a custom dump that grant to a role, then the role is gone' '
	sql postgres "create role $GONE nologin" &&
	sql "$SRC_DB" "grant select on public.res_partner to $GONE; grant usage on schema public to $GONE;
		alter default privileges in schema public grant select on tables to $GONE;
		revoke all on public.ir_attachment from public" &&
	test -n "$(acl_of "$SRC_DB")" &&
	pg_dump --no-owner "$SRC_DB" >src.sql &&
	test_grep "^GRANT SELECT ON TABLE public.res_partner TO $GONE" src.sql &&
	test_grep "^ALTER DEFAULT PRIVILEGES" src.sql &&
	pg_dump --no-owner --format=custom "$SRC_DB" >src.dump &&
	sql "$SRC_DB" "select count(*) from res_partner" >rows.expect &&
	make_zip src.zip src.sql &&
	sql "$SRC_DB" "revoke all on public.res_partner from $GONE; revoke usage on schema public from $GONE;
		alter default privileges in schema public revoke select on tables from $GONE" &&
	sql postgres "drop role $GONE"
'

test_expect_success 'without --no-acl the zip fails naming the role and suggesting --no-acl' '
	db=$(test_db plain_acl) &&
	test_must_fail restore --from-file src.zip --db-owner "$TEST_OWNER" --new-db "$db" --no-filestore 2>err &&
	test_grep "role \"$GONE\" does not exist" err && test_grep "restore with --no-acl" err &&
	test -z "$(sql postgres "select 1 from pg_database where datname = '\''$db'\''")"
'

test_expect_success 'with --no-acl the zip restores its rows and no privilege of the dump' '
	db=$(test_db plain_noacl) &&
	restore --from-file src.zip --db-owner "$TEST_OWNER" --new-db "$db" --no-filestore --no-acl &&
	sql "$db" "select count(*) from res_partner" >rows && test_cmp rows.expect rows &&
	acl_of "$db" >acl && test_must_be_empty acl &&
	test "$(sql "$db" "select count(*) from pg_default_acl")" = 0 &&
	drop_db "$db"
'

test_expect_success 'the custom dump: fails naming the role, and restores with --no-acl' '
	db=$(test_db dump_acl) &&
	test_must_fail restore --from-file src.dump --db-owner "$TEST_OWNER" --new-db "$db" 2>err &&
	test_grep "role \"$GONE\" does not exist" err &&
	db=$(test_db dump_noacl) &&
	restore --from-file src.dump --db-owner "$TEST_OWNER" --new-db "$db" --no-acl &&
	sql "$db" "select count(*) from res_partner" >rows && test_cmp rows.expect rows &&
	acl_of "$db" >acl && test_must_be_empty acl &&
	test "$(sql "$db" "select count(*) from pg_default_acl")" = 0 &&
	drop_db "$db"
'

test_expect_success 'a hostile dump: ALTER words 64 KiB apart are refused with --no-acl (65)' '
	{ printf "ALTER /*" && head -c 70000 /dev/zero | tr "\\0" x && printf "*/ DEFAULT PRIVILEGES GRANT ALL ON TABLES TO x;\\n"; } >big.sql &&
	make_zip big.zip big.sql &&
	db=$(test_db big) &&
	test_exit_code 65 odbk-restore --from-file big.zip --db-owner "$TEST_OWNER" --new-db "$db" --no-filestore --no-acl --confirm RESTORE 2>err &&
	test_grep "64 KiB" err
'

test_done
