#!/usr/bin/env bash
# --neutralize (Odoo 16+) and --copy, applied to the temporary database before the swap.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-restore --neutralize and --copy'
require_service pg
require_program odbk-create odbk-restore

make_fixture src --db-mb 1 --fs-mb 1 --files 5 --with all
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS
# the modules whose tables --with added (odbk's statements run for installed modules only)
sql "$SRC_DB" "insert into ir_module_module (name, state, latest_version) values ('payment', 'installed', '17.0.2.0'), ('delivery', 'installed', '17.0.1.0'), ('iap', 'installed', '17.0.1.1')" >/dev/null
odbk_conf prod "$SRC_DB" "$SRC_FS"
ID=$(odbk-create prod --quiet)

test_expect_success 'the source has active crons, mail servers, fetchmail and live payment providers' '
	test "$(sql "$SRC_DB" "select count(*) > 1 from ir_cron where active")" = t &&
	test "$(sql "$SRC_DB" "select count(*) > 0 from ir_mail_server where active")" = t
'

test_expect_success '--neutralize: only autovacuum runs, no mail goes out, providers disabled, flag set' '
	db=$(test_db neutral) &&
	odbk-restore "$ID" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-n" --neutralize --confirm RESTORE >/dev/null &&
	sql "$db" "select c.id from ir_cron c where c.active" >active &&
	sql "$db" "select res_id from ir_model_data where module = '\''base'\'' and name = '\''autovacuum_job'\''" >autovacuum &&
	test_cmp autovacuum active &&
	sql "$db" "select name, smtp_host from ir_mail_server where active" >mail &&
	echo "neutralization - disable emails|invalid" >expect && test_cmp expect mail &&
	test "$(sql "$db" "select value from ir_config_parameter where key = '\''database.is_neutralized'\''")" = true &&
	for t in fetchmail_server; do
		test "$(sql "$db" "select to_regclass('\''$t'\'') is null or not exists (select 1 from $t where active)")" = t || return 1
	done &&
	test "$(sql "$db" "select to_regclass('\''payment_provider'\'') is null or not exists (select 1 from payment_provider where state not in ('\''test'\'', '\''disabled'\''))")" = t &&
	test "$(sql "$db" "select to_regclass('\''delivery_carrier'\'') is null or not exists (select 1 from delivery_carrier where prod_environment)")" = t &&
	test "$(sql "$db" "select to_regclass('\''iap_account'\'') is null or not exists (select 1 from iap_account where account_token not like '\''%+disabled'\'')")" = t &&
	test "$(sql "$SRC_DB" "select count(*) from ir_config_parameter where key = '\''database.is_neutralized'\''")" = 0
'

test_expect_success '--neutralize works on a database without the optional tables' '
	make_fixture bare --db-mb 1 --fs-mb 1 --files 3 --version 16.0 &&
	odbk_conf_env bare "$FIXTURE_DB" "$FIXTURE_FS" disk &&
	bid=$(odbk-create bare --quiet) &&
	db=$(test_db bare_n) &&
	odbk-restore "$bid" --db-owner "$TEST_OWNER" --new-db "$db" --no-filestore --neutralize --confirm RESTORE >/dev/null &&
	test "$(sql "$db" "select value from ir_config_parameter where key = '\''database.is_neutralized'\''")" = true
'

test_expect_success '--neutralize is refused for Odoo 15, nothing created' '
	make_fixture old --db-mb 1 --fs-mb 1 --files 3 --version 15.0 &&
	odbk_conf_env old "$FIXTURE_DB" "$FIXTURE_FS" disk &&
	oid=$(odbk-create old --quiet) &&
	db=$(test_db old_n) &&
	test_exit_code 64 odbk-restore "$oid" --db-owner "$TEST_OWNER" --new-db "$db" --no-filestore --neutralize --confirm RESTORE 2>err &&
	test_grep "16" err &&
	test "$(sql postgres "select count(*) from pg_database where datname like '\''${db}%'\''")" = 0
'

test_expect_success '--copy: new uuid, secret and create date; the rest equal' '
	db=$(test_db copy) &&
	odbk-restore "$ID" --db-owner "$TEST_OWNER" --new-db "$db" --filestore "$TRASH/fs-c" --copy --confirm RESTORE >/dev/null &&
	q="select key, value from ir_config_parameter where key in ('\''database.uuid'\'', '\''database.secret'\'', '\''database.create_date'\'') order by key" &&
	sql "$SRC_DB" "$q" >old && sql "$db" "$q" >new &&
	test $(wc -l <new) = 3 &&
	test -z "$(comm -12 old new)" &&
	sql "$db" "select value from ir_config_parameter where key = '\''database.uuid'\''" | grep -Eq "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" &&
	sql "$SRC_DB" "select count(*) from res_partner" >a && sql "$db" "select count(*) from res_partner" >b && test_cmp a b
'

test_expect_success 'the audit entry names the options' '
	odbk-list --audit --json >audit.json &&
	grep -q "\"options\":.*neutralize" audit.json &&
	grep -q "\"options\":.*copy" audit.json
'

test_done
