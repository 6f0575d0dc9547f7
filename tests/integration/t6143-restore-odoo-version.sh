#!/usr/bin/env bash
# A restore that would replace a database running another Odoo series than the backup's is refused
# without --force (exit 65, both versions named, target untouched, no safety backup made); the loaded data
# is checked too, so an Odoo zip without odbk manifest is caught before the swap. --force proceeds.
. "$(dirname "$0")/test-lib.sh"
test_description 'restore across Odoo versions needs --force'
require_service pg
require_program odbk-create odbk-restore odbk-list

make_fixture old --db-mb 1 --fs-mb 1 --files 5 --version 16.0
OLD_DB=$FIXTURE_DB OLD_FS=$FIXTURE_FS
fingerprint "$OLD_DB" "$OLD_FS" >"$TRASH/old.fp"
make_fixture prod --db-mb 1 --fs-mb 1 --files 5 --seed 7 --version 17.0
P_DB=$FIXTURE_DB P_FS=$FIXTURE_FS
odbk_conf prod "$P_DB" "$P_FS"
odbk_conf_env old "$OLD_DB" "$OLD_FS" disk
fingerprint "$P_DB" "$P_FS" >"$TRASH/prod.fp"

target_untouched() {
	fingerprint "$P_DB" "$P_FS" >now.fp && test_cmp "$TRASH/prod.fp" now.fp &&
	sql postgres "select datname from pg_database where datname ~ '^${TEST_DB_PREFIX}.*_odbk_(tmp|old)_'" >dbs && test ! -s dbs &&
	test -z "$(ls -d "$P_FS".odbk-* 2>/dev/null)"
}

test_expect_success 'the fixtures run Odoo 16.0 and 17.0' '
	test "$(sql "$OLD_DB" "select split_part(latest_version, '\''.'\'', 1) from ir_module_module where name = '\''base'\''")" = 16 &&
	test "$(sql "$P_DB" "select split_part(latest_version, '\''.'\'', 1) from ir_module_module where name = '\''base'\''")" = 17
'

test_expect_success 'an Odoo 16.0 backup over an Odoo 17.0 env: refused, both named, nothing done' '
	OLD_ID=$(odbk-create old --quiet) &&
	odbk-list --json | jq -e "[.[] | select(.id == \"$OLD_ID\")][0].odoo_version == \"16.0\"" &&
	test_exit_code 65 odbk-restore "$OLD_ID" --to prod --confirm RESTORE 2>err &&
	test_grep "Odoo 16.0.*Odoo 17.0.*refused" err &&
	test_grep "\-\-force" err &&
	target_untouched &&
	test "$(odbk-list prod --type pre-restore --json | jq length)" = 0
'

test_expect_success 'an Odoo zip of a 16.0 database (no odbk manifest) over the 17.0 env: refused before the swap' '
	mkdir odoo && pg_dump --no-owner "$OLD_DB" >odoo/dump.sql && cp -r "$OLD_FS" odoo/filestore &&
	(cd odoo && zip -q -r ../old.zip dump.sql filestore) &&
	test_exit_code 65 odbk-restore --from-file old.zip --to prod --no-safety-backup --confirm RESTORE 2>err &&
	test_grep "Odoo 16.0.*Odoo 17.0.*refused" err &&
	target_untouched
'

test_expect_success 'with --force the 16.0 backup replaces the 17.0 env' '
	odbk-restore "$OLD_ID" --to prod --force --no-safety-backup --confirm RESTORE &&
	fingerprint "$P_DB" "$P_FS" >actual && test_cmp "$TRASH/old.fp" actual
'

test_expect_success 'same series, or a new database: no refusal' '
	odbk-restore "$OLD_ID" --to prod --no-safety-backup --confirm RESTORE &&
	db=$(test_db newdb) &&
	odbk-restore --from-file old.zip --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-new" --confirm RESTORE
'

test_done
