#!/usr/bin/env bash
# --neutralize as Odoo does it: every installed module's data/neutralize.sql from the addons path (odoo.conf's
# addons_path, or the env's addons-path), odbk's built-in statements for the modules it does not hold or
# without one. The built-ins on Odoo 16.0-, 17.0- and 18.0-shaped databases (country e-invoicing, OAuth,
# payment credentials, terminals, captcha, web push); a module of the test addons path whose file runs, one
# not installed whose file does not, a hostile module name skipped, and files that fail or hold a psql
# meta-command: refused, the target unchanged.
. "$(dirname "$0")/test-lib.sh"
test_description 'odbk-restore --neutralize: each module as Odoo neutralizes it'
require_service pg
require_program odbk-create odbk-restore

q() { printf "%s" "$1" | sed "s/'/''/g"; }

# shape DB SERIES: the tables and columns the modules of that series have, production values, the modules
# installed (plus one not installed whose columns linger: its statement must not run)
shape() {
	local db=$1 v=$2
	sql "$db" "
	insert into ir_module_module (name, state, latest_version) values
	  ('payment', 'installed', '$v.2.0'), ('payment_paypal', 'installed', '$v.1'), ('payment_stripe', 'installed', '$v.1'),
	  ('payment_adyen', 'installed', '$v.1'), ('payment_authorize', 'installed', '$v.1'), ('auth_oauth', 'installed', '$v.1'),
	  ('partner_autocomplete', 'installed', '$v.1'), ('google_recaptcha', 'to upgrade', '$v.1'),
	  ('website_cf_turnstile', 'to remove', '$v.1'), ('pos_adyen', 'installed', '$v.1'),
	  ('account_edi_proxy_client', 'installed', '$v.1'), ('l10n_es_edi_sii', 'installed', '$v.1'),
	  ('l10n_es_edi_tbai', 'installed', '$v.1'), ('l10n_in_edi', 'installed', '$v.1'), ('l10n_eg_edi_eta', 'installed', '$v.1'),
	  ('l10n_sa_edi', 'installed', '$v.1'), ('l10n_ke_edi_tremol', 'installed', '$v.1'), ('payment_mollie', 'uninstalled', NULL);
	create table res_company (id serial primary key, name varchar,
	  l10n_es_sii_test_env boolean, l10n_es_tbai_test_env boolean, l10n_in_edi_username varchar, l10n_in_edi_password varchar,
	  l10n_in_edi_token varchar, l10n_in_edi_token_validity timestamp, l10n_eg_production_env boolean, l10n_eg_client_secret varchar,
	  l10n_sa_api_mode varchar, l10n_ke_cu_proxy_address varchar);
	insert into res_company (name, l10n_es_sii_test_env, l10n_es_tbai_test_env, l10n_in_edi_username, l10n_in_edi_password,
	  l10n_in_edi_token, l10n_in_edi_token_validity, l10n_eg_production_env, l10n_eg_client_secret, l10n_sa_api_mode,
	  l10n_ke_cu_proxy_address) values ('Acme', false, false, 'gst-user', 'gst-pass', 'tok', now(), true, 'eta-secret', 'prod', '10.0.0.5:8000');
	alter table payment_provider add paypal_email_account varchar, add paypal_pdt_token varchar, add stripe_secret_key varchar,
	  add stripe_publishable_key varchar, add stripe_webhook_secret varchar, add adyen_merchant_account varchar,
	  add adyen_api_key varchar, add adyen_hmac_key varchar, add authorize_login varchar, add authorize_transaction_key varchar,
	  add authorize_signature_key varchar, add authorize_client_key varchar, add mollie_api_key varchar;
	update payment_provider set paypal_email_account = 'pay@acme', paypal_pdt_token = 'pdt', stripe_secret_key = 'sk_live',
	  stripe_publishable_key = 'pk_live', stripe_webhook_secret = 'whsec', adyen_merchant_account = 'acme', adyen_api_key = 'ak',
	  adyen_hmac_key = 'hk', authorize_login = 'al', authorize_transaction_key = 'atk', authorize_signature_key = 'ask',
	  authorize_client_key = 'ack', mollie_api_key = 'live_mollie';
	create table auth_oauth_provider (id int primary key, name varchar, enabled boolean);
	insert into auth_oauth_provider values (1, 'Google', true), (2, 'Corporate SSO', true), (3, 'Odoo.com', true);
	insert into ir_config_parameter (key, value) values ('auth_oauth.dont_neutralize_providers', '[2]'),
	  ('recaptcha_public_key', 'rc-pub'), ('recaptcha_private_key', 'rc-priv'), ('cf.turnstile_site_key', 'cf-site'),
	  ('cf.turnstile_secret_key', 'cf-secret'), ('iap.partner_autocomplete.endpoint', 'https://iap.odoo.com');
	create table pos_payment_method (id serial primary key, name varchar, adyen_test_mode boolean);
	insert into pos_payment_method (name, adyen_test_mode) values ('Adyen terminal', false);
	" >/dev/null || return 1
	case $v in
	16.0) sql "$db" "
	insert into ir_module_module (name, state, latest_version) values ('mail_enterprise', 'installed', '16.0.1'),
	  ('l10n_in_edi_ewaybill', 'installed', '16.0.1');
	alter table payment_provider add paypal_seller_account varchar;
	update payment_provider set paypal_seller_account = 'seller';
	alter table res_company add l10n_in_edi_ewaybill_username varchar, add l10n_in_edi_ewaybill_password varchar,
	  add l10n_in_edi_ewaybill_auth_validity timestamp;
	update res_company set l10n_in_edi_ewaybill_username = 'ewb', l10n_in_edi_ewaybill_password = 'ewbp', l10n_in_edi_ewaybill_auth_validity = now();
	create table account_edi_proxy_client_user (id serial primary key, edi_mode varchar, active boolean default true);
	insert into account_edi_proxy_client_user (edi_mode) values ('prod');
	create table mail_notification_web_push (id serial primary key, payload text);
	create table mail_partner_device (id serial primary key, endpoint varchar);
	insert into mail_notification_web_push (payload) values ('{}');
	insert into mail_partner_device (endpoint) values ('https://push.example/dev1');
	insert into ir_config_parameter (key, value) values ('mail_enterprise.web_push_vapid_private_key', 'vapid-priv'),
	  ('mail_enterprise.web_push_vapid_public_key', 'vapid-pub');
	" >/dev/null ;;
	17.0|18.0) sql "$db" "
	insert into ir_module_module (name, state, latest_version) values ('l10n_it_edi', 'installed', '$v.1'),
	  ('l10n_ro_edi', 'installed', '$v.1'), ('l10n_hu_edi', 'installed', '$v.1'), ('pos_viva_wallet', 'installed', '$v.1'),
	  ('pos_razorpay', 'installed', '$v.1'), ('pos_paytm', 'installed', '$v.1'), ('pos_mercado_pago', 'installed', '$v.1'),
	  ('account_peppol', 'installed', '$v.1');
	alter table res_company add l10n_it_edi_register boolean, add l10n_ro_edi_test_env boolean, add l10n_ro_edi_client_id varchar,
	  add l10n_ro_edi_client_secret varchar, add l10n_ro_edi_access_token varchar, add l10n_ro_edi_refresh_token varchar,
	  add l10n_hu_edi_server_mode varchar, add l10n_hu_edi_username varchar, add l10n_hu_edi_password varchar,
	  add l10n_hu_edi_signature_key varchar, add l10n_hu_edi_replacement_key varchar;
	update res_company set l10n_it_edi_register = true, l10n_ro_edi_test_env = false, l10n_ro_edi_client_id = 'ro-id',
	  l10n_ro_edi_client_secret = 'ro-s', l10n_ro_edi_access_token = 'ro-a', l10n_ro_edi_refresh_token = 'ro-r',
	  l10n_hu_edi_server_mode = 'production', l10n_hu_edi_username = 'hu', l10n_hu_edi_password = 'hup',
	  l10n_hu_edi_signature_key = 'hus', l10n_hu_edi_replacement_key = 'hur';
	alter table pos_payment_method add viva_wallet_test_mode boolean, add razorpay_test_mode boolean, add razorpay_api_key varchar,
	  add paytm_test_mode boolean, add paytm_merchant_key varchar, add mp_bearer_token varchar, add mp_webhook_secret_key varchar;
	insert into pos_payment_method (name, viva_wallet_test_mode, razorpay_test_mode, razorpay_api_key, paytm_test_mode,
	  paytm_merchant_key, mp_bearer_token, mp_webhook_secret_key) values ('terminals', false, false, 'rzp_live', false, 'ptm_live', 'mp-live', 'mp-wh');
	create table account_edi_proxy_client_user (id serial primary key, edi_mode varchar, proxy_type varchar, active boolean default true);
	insert into account_edi_proxy_client_user (edi_mode, proxy_type) values ('prod', 'l10n_it_edi'), ('prod', 'peppol'), ('prod', 'l10n_in_edi');
	insert into ir_config_parameter (key, value) values ('account_peppol.edi.mode', 'prod'),
	  ('mail.web_push_vapid_private_key', 'vapid-priv'), ('mail.sfu_server_key', 'sfu');
	" >/dev/null ;;
	esac || return 1
	case $v in
	17.0) sql "$db" "
	create table mail_notification_web_push (id serial primary key, payload text);
	create table mail_partner_device (id serial primary key, endpoint varchar);
	insert into mail_notification_web_push (payload) values ('{}');
	insert into mail_partner_device (endpoint) values ('https://push.example/dev1');
	" >/dev/null ;;
	18.0) sql "$db" "
	insert into ir_module_module (name, state, latest_version) values ('l10n_es_edi_verifactu', 'installed', '18.0.1'),
	  ('l10n_in_ewaybill', 'installed', '18.0.1'), ('l10n_gr_edi', 'installed', '18.0.1'), ('l10n_my_edi', 'installed', '18.0.1'),
	  ('l10n_tr_nilvera', 'installed', '18.0.1'), ('l10n_jo_edi', 'installed', '18.0.1'), ('l10n_vn_edi_viettel', 'installed', '18.0.1'),
	  ('l10n_tw_edi_ecpay', 'installed', '18.0.1'), ('l10n_dk_nemhandel', 'installed', '18.0.1'), ('l10n_pl_edi', 'installed', '18.0.1'),
	  ('pos_cashmatic', 'installed', '18.0.1');
	alter table payment_provider add paypal_client_id varchar, add paypal_client_secret varchar;
	update payment_provider set paypal_client_id = 'pp-id', paypal_client_secret = 'pp-s';
	alter table res_company add l10n_es_edi_verifactu_test_environment boolean, add l10n_in_ewaybill_username varchar,
	  add l10n_in_ewaybill_password varchar, add l10n_in_ewaybill_auth_validity timestamp, add l10n_gr_edi_test_env boolean,
	  add l10n_tr_nilvera_api_key varchar, add l10n_tr_nilvera_use_test_env boolean, add l10n_tr_nilvera_purchase_journal_id int,
	  add l10n_jo_edi_secret_key varchar, add l10n_jo_edi_client_identifier varchar, add l10n_vn_edi_username varchar,
	  add l10n_vn_edi_password varchar, add l10n_tw_edi_ecpay_staging_mode boolean, add l10n_pl_edi_certificate int,
	  add l10n_pl_edi_access_token varchar, add l10n_pl_edi_refresh_token varchar, add l10n_pl_edi_session_id varchar;
	create table certificate_certificate (id int primary key, name varchar);
	insert into certificate_certificate values (7, 'KSeF'), (8, 'other');
	update res_company set l10n_es_edi_verifactu_test_environment = false, l10n_in_ewaybill_username = 'ewb',
	  l10n_in_ewaybill_password = 'ewbp', l10n_in_ewaybill_auth_validity = now(), l10n_gr_edi_test_env = false,
	  l10n_tr_nilvera_api_key = 'nil', l10n_tr_nilvera_use_test_env = false, l10n_tr_nilvera_purchase_journal_id = 3,
	  l10n_jo_edi_secret_key = 'jo', l10n_jo_edi_client_identifier = 'joid', l10n_vn_edi_username = 'vn', l10n_vn_edi_password = 'vnp',
	  l10n_tw_edi_ecpay_staging_mode = false, l10n_pl_edi_certificate = 7, l10n_pl_edi_access_token = 'pla',
	  l10n_pl_edi_refresh_token = 'plr', l10n_pl_edi_session_id = 'pls';
	insert into ir_attachment (name, res_model, res_field, res_id) values ('key', 'res.company', 'l10n_pl_edi_session_key', 1);
	alter table pos_payment_method add test_mode boolean, add cashmatic_ip varchar;
	update pos_payment_method set test_mode = false, cashmatic_ip = '192.168.1.9';
	insert into account_edi_proxy_client_user (edi_mode, proxy_type) values ('prod', 'l10n_my_edi');
	insert into ir_config_parameter (key, value) values ('l10n_dk_nemhandel.edi.mode', 'prod');
	create table mail_push (id serial primary key, payload text);
	create table mail_push_device (id serial primary key, endpoint varchar);
	insert into mail_push (payload) values ('{}');
	insert into mail_push_device (endpoint) values ('https://push.example/dev1');
	" >/dev/null ;;
	esac
}

icp() { sql "$1" "select coalesce((select value from ir_config_parameter where key = '$2'), '<none>')"; }

# what every series' restore must show (the modules all three have)
common_checks() {
	local db=$1
	test "$(icp "$db" database.is_neutralized)" = true &&
	test "$(sql "$db" "select string_agg(state, ',' order by id) from payment_provider")" = "disabled,test,disabled,disabled" &&
	test "$(sql "$db" "select count(*) from payment_provider where coalesce(paypal_email_account, paypal_pdt_token, stripe_secret_key, stripe_publishable_key, stripe_webhook_secret, adyen_merchant_account, adyen_api_key, adyen_hmac_key, authorize_login, authorize_transaction_key, authorize_signature_key, authorize_client_key) is not null")" = 0 &&
	test "$(sql "$db" "select count(*) from payment_provider where mollie_api_key = 'live_mollie'")" = 4 &&
	test "$(sql "$db" "select string_agg(id || ':' || enabled, ',' order by id) from auth_oauth_provider")" = "1:false,2:true,3:false" &&
	test "$(icp "$db" recaptcha_public_key)$(icp "$db" recaptcha_private_key)$(icp "$db" cf.turnstile_site_key)$(icp "$db" cf.turnstile_secret_key)" = "" &&
	test "$(icp "$db" iap.partner_autocomplete.endpoint)" = https://iap-services-test.odoo.com &&
	test "$(sql "$db" "select l10n_es_sii_test_env, l10n_es_tbai_test_env, l10n_in_edi_username is null and l10n_in_edi_password is null and l10n_in_edi_token is null and l10n_in_edi_token_validity is null, l10n_eg_production_env, l10n_eg_client_secret, l10n_sa_api_mode, l10n_ke_cu_proxy_address from res_company")" = "t|t|t|f|dummy|sandbox|" &&
	test "$(sql "$db" "select bool_and(adyen_test_mode) from pos_payment_method where adyen_test_mode is not null")" = t
}

for v in 16.0 17.0 18.0; do
	n=${v%.0}
	make_fixture "src$n" --db-mb 1 --fs-mb 1 --files 3 --version "$v" --with all
	shape "$FIXTURE_DB" "$v" || { echo "Bail out! the $v shape could not be built"; exit 1; }
	eval "SRC$n=\$FIXTURE_DB"
	if [ "$n" = 16 ]; then odbk_conf "e$n" "$FIXTURE_DB" "$FIXTURE_FS"; else odbk_conf_env "e$n" "$FIXTURE_DB" "$FIXTURE_FS" disk; fi
	eval "ID$n=\$(odbk-create e$n --quiet)"
done

test_expect_success 'Odoo 16.0 shape, no addons path: the built-in statements of 16.0 modules' '
	db=$(test_db n16) &&
	odbk-restore "$ID16" --db-owner "$TEST_OWNER" --new-db "$db" --no-filestore --neutralize --confirm RESTORE 2>err >/dev/null &&
	common_checks "$db" &&
	test "$(sql "$db" "select paypal_seller_account is null from payment_provider limit 1")" = t &&
	test "$(sql "$db" "select l10n_in_edi_ewaybill_username is null and l10n_in_edi_ewaybill_password is null and l10n_in_edi_ewaybill_auth_validity is null from res_company")" = t &&
	test "$(sql "$db" "select (select count(*) from mail_notification_web_push) + (select count(*) from mail_partner_device)")" = 0 &&
	test "$(icp "$db" mail_enterprise.web_push_vapid_private_key)" = "<none>" &&
	test "$(sql "$db" "select edi_mode from account_edi_proxy_client_user")" = prod &&
	test_grep "neutralized: [0-9]+ with odbk.s built-in statements \\(.*auth_oauth.*l10n_es_edi_sii.*\\)" err &&
	test "$(sql "$SRC16" "select l10n_es_sii_test_env from res_company")" = f
'

test_expect_success 'Odoo 17.0 shape: Italy on res_company, Romania, Hungary, the 17.0 terminals and web push' '
	db=$(test_db n17) &&
	odbk-restore "$ID17" --db-owner "$TEST_OWNER" --new-db "$db" --no-filestore --neutralize --confirm RESTORE 2>err >/dev/null &&
	common_checks "$db" &&
	test "$(sql "$db" "select l10n_it_edi_register, l10n_ro_edi_test_env, coalesce(l10n_ro_edi_client_id, l10n_ro_edi_client_secret, l10n_ro_edi_access_token, l10n_ro_edi_refresh_token) is null, l10n_hu_edi_server_mode, l10n_hu_edi_username || l10n_hu_edi_password || l10n_hu_edi_signature_key || l10n_hu_edi_replacement_key from res_company")" = "f|t|t|test|" &&
	test "$(sql "$db" "select viva_wallet_test_mode, razorpay_test_mode, razorpay_api_key, paytm_test_mode, paytm_merchant_key, mp_bearer_token, mp_webhook_secret_key from pos_payment_method where name = '\''terminals'\''")" = "t|t|dummykey00012345|t|dummykey00012345|dummy_value|dummy_value" &&
	test "$(sql "$db" "select string_agg(proxy_type || '\'':'\'' || edi_mode, '\'','\'' order by id) from account_edi_proxy_client_user")" = "l10n_it_edi:demo,peppol:demo,l10n_in_edi:test" &&
	test "$(icp "$db" account_peppol.edi.mode)" = test &&
	test "$(icp "$db" mail.web_push_vapid_private_key)$(icp "$db" mail.sfu_server_key)" = "<none><none>" &&
	test "$(sql "$db" "select (select count(*) from mail_notification_web_push) + (select count(*) from mail_partner_device)")" = 0
'

test_expect_success 'Odoo 18.0 shape: every 18.0 e-invoicing module, MyInvois users archived, KSeF certificate gone' '
	db=$(test_db n18) &&
	odbk-restore "$ID18" --db-owner "$TEST_OWNER" --new-db "$db" --no-filestore --neutralize --confirm RESTORE 2>err >/dev/null &&
	common_checks "$db" &&
	test "$(sql "$db" "select count(*) from payment_provider where paypal_client_id is not null or paypal_client_secret is not null")" = 0 &&
	test "$(sql "$db" "select l10n_es_edi_verifactu_test_environment, coalesce(l10n_in_ewaybill_username, l10n_in_ewaybill_password) is null and l10n_in_ewaybill_auth_validity is null, l10n_gr_edi_test_env, l10n_tr_nilvera_api_key is null, l10n_tr_nilvera_use_test_env, l10n_tr_nilvera_purchase_journal_id is null, l10n_jo_edi_secret_key, l10n_jo_edi_client_identifier, l10n_vn_edi_username || l10n_vn_edi_password, l10n_tw_edi_ecpay_staging_mode, coalesce(l10n_pl_edi_certificate::text, l10n_pl_edi_access_token, l10n_pl_edi_refresh_token, l10n_pl_edi_session_id) is null from res_company")" = "t|t|t|t|t|t|dummy_secret|dummy_id||t|t" &&
	test "$(sql "$db" "select string_agg(id::text, '\'','\'') from certificate_certificate")" = 8 &&
	test "$(sql "$db" "select count(*) from ir_attachment where res_field = '\''l10n_pl_edi_session_key'\''")" = 0 &&
	test "$(icp "$db" l10n_pl_edi_ksef.mode)" = test &&
	test "$(icp "$db" l10n_dk_nemhandel.edi.mode)" = test &&
	test "$(sql "$db" "select string_agg(proxy_type || '\'':'\'' || edi_mode || '\'':'\'' || active, '\'','\'' order by id) from account_edi_proxy_client_user")" = "l10n_it_edi:demo:true,peppol:demo:true,l10n_in_edi:test:true,l10n_my_edi:prod:false" &&
	test "$(sql "$db" "select test_mode, cashmatic_ip from pos_payment_method where name = '\''terminals'\''")" = "t|0.0.0.0" &&
	test "$(sql "$db" "select (select count(*) from mail_push) + (select count(*) from mail_push_device)")" = 0
'

# a test addons path: an Odoo tree (<root>/odoo/addons holds base, <root>/addons the rest) and a custom dir
ADD=$TRASH/odoo-tree
mkmod() {   # mkmod DIR MODULE [SQL]: a module, with a data/neutralize.sql when SQL is given
	mkdir -p "$1/$2/data" && echo "{'name': '$2'}" >"$1/$2/__manifest__.py" &&
	if [ -n "${3:-}" ]; then printf "%s\n" "$3" >"$1/$2/data/neutralize.sql"; fi
}
mkmod "$ADD/odoo/addons" base "-- base, as the tree has it
UPDATE ir_cron SET active = false;
INSERT INTO ir_config_parameter (key, value) VALUES ('database.is_neutralized', true) ON CONFLICT (key) DO UPDATE SET value = true;
INSERT INTO ir_config_parameter (key, value) VALUES ('test.ran.base', 'yes');"
mkmod "$ADD/addons" payment   # the tree's payment has no neutralize.sql: nothing runs for it, as in Odoo
mkmod "$ADD/custom" acme_sync "UPDATE res_partner SET email = 'neutralized@example.invalid' WHERE email IS NOT NULL;
INSERT INTO ir_config_parameter (key, value) VALUES ('test.ran.acme_sync', E'one\\ntwo; three')"
mkmod "$ADD/custom" acme_unused "INSERT INTO ir_config_parameter (key, value) VALUES ('test.ran.acme_unused', 'yes');"
mkdir -p "$TRASH/etc/data" && echo "INSERT INTO ir_config_parameter (key, value) VALUES ('test.ran.hostile', 'yes');" >"$TRASH/etc/data/neutralize.sql"

test_expect_success 'setup: env a17 with an addons path, installed acme_sync, acme_unused not installed, hostile names' '
	make_fixture a17 --db-mb 1 --fs-mb 1 --files 3 --version 17.0 --with all &&
	A17=$FIXTURE_DB && echo "$A17" >a17.db &&
	shape "$A17" 17.0 &&
	sql "$A17" "insert into ir_module_module (name, state, latest_version) values ('\''acme_sync'\'', '\''installed'\'', '\''17.0.1'\''), ('\''acme_unused'\'', '\''uninstalled'\'', '\''17.0.1'\''), ('\''../../etc'\'', '\''installed'\'', '\''1'\''), (E'\''x\\nevil'\'', '\''installed'\'', '\''1'\''), ('\''/tmp'\'', '\''to upgrade'\'', '\''1'\'')" >/dev/null &&
	cat >>"$ODBK_CONF" <<-EOF &&

	[env a17]
	database = $A17
	filestore = $FIXTURE_FS
	pg = host=$PGHOST port=$PGPORT user=$PGUSER
	storage = disk
	addons-path = $ADD/addons, $ADD/custom
	EOF
	odbk-create a17 --quiet >a17.id &&
	sql "$A17" "select count(*) from res_partner where email is null" >a17.nulls
'

test_expect_success 'with the addons path: each installed module'\''s own file, built-ins for the others, hostile names skipped' '
	db=$(test_db a17n) &&
	odbk-restore "$(cat a17.id)" --db-owner "$TEST_OWNER" --new-db "$db" --no-filestore --neutralize --confirm RESTORE 2>err >/dev/null &&
	test "$(icp "$db" test.ran.base)" = yes &&
	test "$(icp "$db" test.ran.acme_sync)" = "one
two; three" &&
	test "$(sql "$db" "select count(*) from res_partner where email is not null and email <> '\''neutralized@example.invalid'\''")" = 0 &&
	test "$(icp "$db" test.ran.acme_unused)" = "<none>" &&
	test "$(icp "$db" test.ran.hostile)" = "<none>" &&
	test "$(icp "$db" database.is_neutralized)" = true &&
	test "$(sql "$db" "select count(*) from ir_mail_server where name = '\''neutralization - disable emails'\''")" = 0 &&
	test "$(sql "$db" "select count(*) from payment_provider where state = '\''enabled'\''")" = 2 &&
	test "$(sql "$db" "select l10n_it_edi_register, l10n_es_sii_test_env from res_company")" = "f|t" &&
	test "$(sql "$db" "select count(*) from payment_provider where stripe_secret_key is not null")" = 0 &&
	test_grep "warning: module '\''\.\./\.\./etc'\'' in ir_module_module is no Odoo module name" err &&
	test_grep "warning: module '\''x\\\\x0aevil'\''" err &&
	test_grep "warning: module '\''/tmp'\''" err &&
	test_grep "neutralized: 2 modules with their own neutralize.sql from $ADD/odoo/addons,$ADD/addons,$ADD/custom \\(acme_sync, base\\), [0-9]+ not in the addons path, with odbk.s built-in statements \\(.*l10n_it_edi.*\\)" err &&
	! grep -q "built-in statements (.*payment," err
'

test_expect_success '--json: the modules neutralized from the addons path, with built-ins, and the names skipped' '
	db=$(test_db a17j) &&
	odbk-restore "$(cat a17.id)" --db-owner "$TEST_OWNER" --new-db "$db" --no-filestore --neutralize --confirm RESTORE --json >out.json 2>/dev/null &&
	python3 -c "
import json, sys
o = json.load(open(\"out.json\"))[\"neutralized\"]
assert o[\"addons_path\"] == \"$ADD/odoo/addons,$ADD/addons,$ADD/custom\", o
assert o[\"modules_from_addons\"] == [\"acme_sync\", \"base\"], o
assert \"l10n_it_edi\" in o[\"modules_builtin\"] and \"base\" not in o[\"modules_builtin\"], o
assert sorted(o[\"skipped_names\"]) == [\"../../etc\", \"/tmp\", \"x\\\\x0aevil\"], o
"
'

test_expect_success 'a neutralize.sql with a psql meta-command: refused (65), the target env unchanged' '
	printf "UPDATE res_partner SET email = NULL;\n\\\\! touch %s\n" "$TRASH/pwned" >"$ADD/custom/acme_sync/data/neutralize.sql" &&
	sql "$(cat a17.db)" "insert into ir_config_parameter (key, value) values ('\''test.target'\'', '\''before'\'')" &&
	test_exit_code 65 odbk-restore "$(cat a17.id)" --to a17 --no-safety-backup --neutralize --confirm RESTORE 2>err &&
	test_grep "psql meta-command .\\\\!. at line 2" err &&
	test_grep "acme_sync" err &&
	test ! -e "$TRASH/pwned" &&
	test "$(icp "$(cat a17.db)" test.target)" = before &&
	test "$(icp "$(cat a17.db)" database.is_neutralized)" = "<none>" &&
	test "$(sql postgres "select count(*) from pg_database where datname like '\''$(cat a17.db)_odbk%'\''")" = 0
'

test_expect_success 'a neutralize.sql whose statement fails: 65 naming the module and the error, nothing created' '
	printf "UPDATE res_partner SET email = NULL;\nUPDATE no_such_table SET x = 1;\n" >"$ADD/custom/acme_sync/data/neutralize.sql" &&
	db=$(test_db a17f) &&
	test_exit_code 65 odbk-restore "$(cat a17.id)" --db-owner "$TEST_OWNER" --new-db "$db" --no-filestore --neutralize --confirm RESTORE 2>err &&
	test_grep "neutralize.sql of module .acme_sync. .*failed: ERROR:  relation \"no_such_table\" does not exist" err &&
	test_grep "target is unchanged" err &&
	test "$(sql postgres "select count(*) from pg_database where datname like '\''${db}%'\''")" = 0
'

test_expect_success 'a neutralize.sql that commits is refused: the transaction is odbk'\''s' '
	printf "UPDATE res_partner SET email = NULL;\nCOMMIT;\n" >"$ADD/custom/acme_sync/data/neutralize.sql" &&
	test_exit_code 65 odbk-restore "$(cat a17.id)" --to a17 --no-safety-backup --neutralize --confirm RESTORE 2>err &&
	test_grep "ends the transaction" err &&
	test "$(icp "$(cat a17.db)" test.target)" = before &&
	test "$(sql "$(cat a17.db)" "select count(*) from res_partner where email is null")" = "$(cat a17.nulls)"
'

test_expect_success 'a neutralize.sql that rolls back or commits and begins again is refused too (it undid the modules before it)' '
	for end in "ROLLBACK; BEGIN;" "COMMIT; BEGIN;"; do
		printf "UPDATE res_partner SET email = NULL;\n%s\n" "$end" >"$ADD/custom/acme_sync/data/neutralize.sql" &&
		test_exit_code 65 odbk-restore "$(cat a17.id)" --to a17 --no-safety-backup --neutralize --confirm RESTORE 2>err &&
		test_grep "ends the transaction" err &&
		test "$(icp "$(cat a17.db)" test.target)" = before || return 1
	done
'

test_expect_success 'an addons path that is no directory: 78 before anything is loaded' '
	sed -i "s|^addons-path = .*|addons-path = $TRASH/no-such-dir|" "$ODBK_CONF" &&
	db=$(test_db a17m) &&
	test_exit_code 78 odbk-restore "$(cat a17.id)" --db-owner "$TEST_OWNER" --new-db "$db" --no-filestore --neutralize --confirm RESTORE 2>err &&
	test_grep "addons path entry .*no-such-dir. is not a directory" err &&
	test "$(sql postgres "select count(*) from pg_database where datname like '\''${db}%'\''")" = 0
'

test_expect_success 'odoo.conf'\''s addons_path is used when the env sets none' '
	sed -i "/^addons-path = /d" "$ODBK_CONF" &&
	printf "UPDATE res_partner SET email = NULL;\n" >"$ADD/custom/acme_sync/data/neutralize.sql" &&
	(umask 077 && printf "[options]\naddons_path = %s,\n  %s\n" "$ADD/addons" "$ADD/custom" >"$TRASH/odoo.conf") &&
	awk -v f="$TRASH/odoo.conf" "{print} /^\[env a17\]/{print \"odoo-conf = \" f}" "$ODBK_CONF" >conf.new &&
	cat conf.new >"$ODBK_CONF" &&
	odbk-policy show a17 >policy 2>&1 &&
	test_grep "addons-path .*odoo.conf" policy &&
	db=$(test_db a17o) &&
	odbk-restore "$(cat a17.id)" --db-owner "$TEST_OWNER" --new-db "$db" --no-filestore --neutralize --confirm RESTORE 2>err >/dev/null &&
	test "$(icp "$db" test.ran.base)" = yes &&
	test "$(sql "$db" "select count(*) from res_partner where email is not null")" = 0
'

test_done
