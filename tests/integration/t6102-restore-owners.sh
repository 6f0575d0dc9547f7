#!/usr/bin/env bash
# A rollback run as root keeps the target's owners: the database's owner owns the restored database and
# every table in it, and every restored filestore file and folder belongs to the uid/gid of the folder it
# replaces, whose mode is kept.
. "$(dirname "$0")/test-lib.sh"
test_description 'a rollback keeps the owners of the database and the filestore'
require_service pg
require_program odbk-create odbk-restore

[ "$(id -u)" = 0 ] || skip_all "needs root (chown)"
id odbktest >/dev/null 2>&1 || useradd --system --no-create-home odbktest || fail_setup "cannot create user odbktest"

make_fixture prod --db-mb 1 --fs-mb 1 --files 8
DB=$FIXTURE_DB FS=$FIXTURE_FS
OWNER=$(test_db owner)
odbk_conf prod "$DB" "$FS"

not_owned() {
	sql "$DB" "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
		where n.nspname = 'public' and pg_get_userbyid(c.relowner) <> '$OWNER'"
}

test_expect_success 'setup: the database and its tables belong to a role, the filestore to odbktest' '
	sql postgres "create role $OWNER" &&
	sql postgres "alter database $DB owner to $OWNER" &&
	sql "$DB" "do \$\$ declare r record; begin for r in select tablename from pg_tables where schemaname = '\''public'\''
		loop execute format('\''alter table public.%I owner to $OWNER'\'', r.tablename); end loop; end \$\$" &&
	test -z "$(not_owned)" &&
	chown -R odbktest:odbktest "$FS" && chmod 0710 "$FS" &&
	id=$(odbk-create prod --quiet) && echo "$id" >id
'

test_expect_success 'after a rollback as root the owners and the top mode are those of before' '
	sql "$DB" "update res_partner set name = '\''changed'\'' where id = 3" &&
	odbk-restore "$(cat id)" --confirm RESTORE --no-safety-backup &&
	test "$(sql postgres "select pg_get_userbyid(datdba) from pg_database where datname = '\''$DB'\''")" = "$OWNER" &&
	not_owned >left && test_must_be_empty left &&
	test "$(stat -c "%U:%G %a" "$FS")" = "odbktest:odbktest 710" &&
	find "$FS" ! -user odbktest -o ! -group odbktest >wrong && test_must_be_empty wrong &&
	test "$(find "$FS" -type f | wc -l)" -gt 0
'

test_expect_success 'a new database with --db-owner belongs to that role, objects included' '
	db=$(test_db newowned) &&
	odbk-restore "$(cat id)" --new-db "$db" --filestore "$TRASH/fs-new" --db-owner "$OWNER" --confirm RESTORE &&
	test "$(sql postgres "select pg_get_userbyid(datdba) from pg_database where datname = '\''$db'\''")" = "$OWNER" &&
	sql "$db" "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
		where n.nspname = '\''public'\'' and pg_get_userbyid(c.relowner) <> '\''$OWNER'\''" >left &&
	test_must_be_empty left && drop_db "$db" &&
	test_exit_code 64 odbk-restore "$(cat id)" --db-owner "$PGUSER" --confirm RESTORE 2>err &&
	test_grep "is a superuser" err
'

test_expect_success 'cleanup: the role owns nothing left' '
	drop_db "$DB" && sql postgres "drop role $OWNER"
'

test_done
