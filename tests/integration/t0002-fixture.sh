#!/usr/bin/env bash
# tests/make-odoo-fixture: the fixture has Odoo's shape, and its fingerprint is
# stable for equal data and changes when data change (so restore tests can fail).
. "$(dirname "$0")/test-lib.sh"
test_description 'Odoo fixture and fingerprint'
require_service pg

test_expect_success 'make a small fixture' '
	make_fixture src --db-mb 1 --fs-mb 1 --files 20 --with fetchmail_server,payment_provider &&
	test -d "$FIXTURE_FS" &&
	echo "$FIXTURE_JSON" | grep -q "\"files\": 20"
'
SRC_DB=$FIXTURE_DB SRC_FS=$FIXTURE_FS

test_expect_success 'it looks like Odoo 17' '
	echo 17.0.1.3 >expect &&
	sql "$SRC_DB" "select latest_version from ir_module_module where name = '\''base'\''" >actual &&
	test_cmp expect actual &&
	sql "$SRC_DB" "select count(*) from ir_config_parameter where key in
		('\''database.uuid'\'', '\''database.secret'\'', '\''database.create_date'\'')" >actual &&
	echo 3 >expect && test_cmp expect actual &&
	sql "$SRC_DB" "select c.cron_name from ir_cron c join ir_model_data d on d.res_id = c.id
		and d.module = '\''base'\'' and d.name = '\''autovacuum_job'\''" >actual &&
	echo "Base: Auto-vacuum internal data" >expect && test_cmp expect actual &&
	sql "$SRC_DB" "select to_regclass('\''fetchmail_server'\'') is not null,
		to_regclass('\''payment_provider'\'') is not null, to_regclass('\''iap_account'\'') is null" >actual &&
	echo "t|t|t" >expect && test_cmp expect actual
'

test_expect_success 'every attachment file is where its sha1 says' '
	f=$(sql "$SRC_DB" "select store_fname from ir_attachment where store_fname is not null limit 1") &&
	test "$(sha1sum <"$SRC_FS/$f" | cut -d" " -f1)" = "${f#*/}" &&
	fingerprint "$SRC_DB" "$SRC_FS" >fp &&
	test_grep "^filestore.bad=0$" fp &&
	test_grep "^filestore.files=20$" fp &&
	test_grep "^filestore.good=[1-9]" fp
'

test_expect_success 'fingerprinting twice gives the same result' '
	fingerprint "$SRC_DB" "$SRC_FS" >fp1 &&
	fingerprint "$SRC_DB" "$SRC_FS" >fp2 &&
	test_cmp fp1 fp2
'

test_expect_success 'the same seed makes the same data' '
	make_fixture twin --db-mb 1 --fs-mb 1 --files 20 --with fetchmail_server,payment_provider &&
	fingerprint "$SRC_DB" "$SRC_FS" >expect &&
	fingerprint "$FIXTURE_DB" "$FIXTURE_FS" >actual &&
	test_cmp expect actual
'

test_expect_success 'pg_dump | psql into a new database keeps the fingerprint' '
	copy=$(test_db copy) &&
	sql postgres "create database $copy" &&
	pg_dump --no-owner "$SRC_DB" | psql -X -q -v ON_ERROR_STOP=1 -d "$copy" >/dev/null &&
	fingerprint "$SRC_DB" >expect &&
	fingerprint "$copy" >actual &&
	test_cmp expect actual
'

test_expect_success 'changing one partner name changes the fingerprint' '
	fingerprint "$SRC_DB" >before &&
	sql "$SRC_DB" "update res_partner set name = name || '\''x'\'' where id = 7" &&
	fingerprint "$SRC_DB" >after &&
	test_must_fail test_cmp before after >/dev/null &&
	diff before after | grep -q "^> res_partner.name_md5="
'

test_expect_success 'deleting a row changes the counts' '
	fingerprint "$SRC_DB" >before &&
	sql "$SRC_DB" "delete from account_move_line where id = 3" &&
	fingerprint "$SRC_DB" >after &&
	diff before after | grep -q "^> tables.account_move_line=" &&
	diff before after | grep -q "^> account_move_line.balance_sum="
'

test_expect_success 'a corrupt or missing filestore file is counted bad' '
	f=$(sql "$SRC_DB" "select store_fname from ir_attachment where store_fname is not null order by id limit 1") &&
	g=$(sql "$SRC_DB" "select store_fname from ir_attachment where store_fname is not null
		and store_fname <> '\''$f'\'' order by id limit 1") &&
	echo garbage >>"$SRC_FS/$f" &&
	rm "$SRC_FS/$g" &&
	fingerprint "$SRC_DB" "$SRC_FS" >fp &&
	n=$(sql "$SRC_DB" "select count(*) from ir_attachment where store_fname in ('\''$f'\'', '\''$g'\'')") &&
	test_grep "^filestore.bad=$n$" fp &&
	test_grep "^filestore.files=19$" fp
'

test_done
