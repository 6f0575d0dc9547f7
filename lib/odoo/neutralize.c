/* neutralize.c - Odoo's neutralization (odoo/modules/neutralize.py) and the "copy" identity change.
 *
 * Odoo runs the data/neutralize.sql of every module in state installed, to upgrade or to remove.  With
 * the addons path of the Odoo that runs the database known, odbk does the same: each such module's own
 * file, found as Odoo 17/18's file_path() finds it.  A module the addons path does not hold (or every
 * module, without an addons path) gets odbk's built-in statements below, written from Odoo 16.0, 17.0 and
 * 18.0's files: each names its module and where it was read, and runs only when that module is installed
 * and the tables and columns it touches exist (a statement of one series is skipped on another).  All of
 * it runs in one transaction: a neutralization that fails half-way leaves nothing half-done. */
#include "odoo/neutralize.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "io/writer.h"
#include "odoo/odoo.h"
#include "odoo/odooconf.h"
#include "pg/pg.h"
#include "pg/sqlcheck.h"

struct stmt {
    const char *module;   /* run only when this module is installed (NULL: whenever the columns exist) */
    const char *table;
    /* comma-separated columns of table, all must exist ("" for none); "other_table.column" requires a
     * column of another table the statement also touches */
    const char *columns;
    const char *sql;
};

#define ICP_DELETE(mod, k) {mod, "ir_config_parameter", "key", "DELETE FROM ir_config_parameter WHERE key = '" k "'"}
#define ICP_SET(mod, k, v)                                                                                        \
    {mod, "ir_config_parameter", "key,value",                                                                     \
     "WITH u AS (UPDATE ir_config_parameter SET value = '" v "' WHERE key = '" k "' RETURNING 1) "                \
     "INSERT INTO ir_config_parameter (key, value) SELECT '" k "', '" v "' WHERE NOT EXISTS (SELECT 1 FROM u)"}
/* an UPDATE only: the key keeps its absence (Odoo's statement for these keys is an UPDATE) */
#define ICP_UPDATE(mod, v, where) \
    {mod, "ir_config_parameter", "key,value", "UPDATE ir_config_parameter SET value = '" v "' WHERE " where}
#define EMPTY_TEST "https://iap-services-test.odoo.com"

/* Odoo's data/neutralize.sql statements, module by module, in odbk's form.  The commit each was read from
 * is odoo/odoo's unless said otherwise; a series in brackets is the one the columns exist in, by content
 * (the copies read do not map commits to branches). */
static const struct stmt neutralize[] = {
    /* base [16.0+] (a1926979 for 17/18; the 16.0 file has the first, the cron and the flag only) */
    {"base", "ir_mail_server", "active", "UPDATE ir_mail_server SET active = false"},
    /* [17.0+]; on 16.0 too: no fallback to a command-line SMTP server */
    {"base", "ir_mail_server", "name,smtp_host,smtp_port,smtp_encryption,smtp_authentication,active",
     "INSERT INTO ir_mail_server (name, smtp_host, smtp_port, smtp_encryption, smtp_authentication, active) "
     "VALUES ('neutralization - disable emails', 'invalid', 1025, 'none', 'login', true)"},
    {"base", "ir_cron", "active,ir_model_data.res_id",
     "UPDATE ir_cron SET active = false WHERE id NOT IN (SELECT res_id FROM ir_model_data WHERE module = 'base' "
     "AND model = 'ir.cron' AND name = 'autovacuum_job' AND res_id IS NOT NULL)"},
    /* [17.0+] webhooks */
    {"base", "ir_act_server", "webhook_url,state",
     "UPDATE ir_act_server SET webhook_url = 'neutralization - disable webhook' WHERE state = 'webhook'"},
    /* web [16.0+] (1259afbe) */
    {"web", "ir_ui_view", "active,key", "UPDATE ir_ui_view SET active = true WHERE key = 'web.neutralize_banner'"},
    /* mail [16.0+] (aa1b4e80); fetchmail_server is mail's from 16.0 on, fetchmail's before */
    {"mail", "mail_template", "mail_server_id", "UPDATE mail_template SET mail_server_id = NULL"},
    {"mail", "fetchmail_server", "active", "UPDATE fetchmail_server SET active = false"},
    {"fetchmail", "fetchmail_server", "active", "UPDATE fetchmail_server SET active = false"},
    /* mail [17.0+] web push and SFU keys (17.0 file, public copy) */
    ICP_DELETE("mail", "mail.web_push_vapid_private_key"),
    ICP_DELETE("mail", "mail.web_push_vapid_public_key"),
    ICP_DELETE("mail", "mail.sfu_server_key"),
    /* mail [17.0]: the push queue and the devices (18.0 renamed them, below) */
    {"mail", "mail_notification_web_push", "", "TRUNCATE mail_notification_web_push"},
    {"mail", "mail_partner_device", "", "TRUNCATE mail_partner_device CASCADE"},
    /* mail [18.0] (033971a5, public copy) */
    {"mail", "mail_push", "", "TRUNCATE mail_push"},
    {"mail", "mail_push_device", "", "DELETE FROM mail_push_device"},
    /* mail [newer] (8662c28f, public copy) */
    ICP_DELETE("mail", "mail.sfu_server_url"),
    ICP_DELETE("mail", "mail.use_sfu_server"),
    ICP_DELETE("mail", "mail.use_twilio_rtc_servers"),
    ICP_DELETE("mail", "mail.twilio_account_sid"),
    ICP_DELETE("mail", "mail.twilio_account_token"),
    ICP_DELETE("mail", "mail.google_translate_api_key"),
    ICP_DELETE("mail", "discuss.klipy_api_key"),
    /* mail_enterprise [16.0] web push (enterprise, public copy) */
    ICP_DELETE("mail_enterprise", "mail_enterprise.web_push_vapid_private_key"),
    ICP_DELETE("mail_enterprise", "mail_enterprise.web_push_vapid_public_key"),
    {"mail_enterprise", "mail_notification_web_push", "", "TRUNCATE mail_notification_web_push"},
    {"mail_enterprise", "mail_partner_device", "", "TRUNCATE mail_partner_device CASCADE"},
    /* auth_oauth [16.0+] (020543e6): providers off but those listed in auth_oauth.dont_neutralize_providers,
     * a JSON array of ids; anything else there (Odoo would fail on text that is no JSON) keeps none */
    {"auth_oauth", "auth_oauth_provider", "enabled,ir_config_parameter.value",
     "UPDATE auth_oauth_provider SET enabled = false WHERE id NOT IN (SELECT CAST(jsonb_array_elements_text("
     "CAST(value AS jsonb)) AS integer) FROM ir_config_parameter WHERE key = 'auth_oauth.dont_neutralize_providers' "
     "AND value ~ '^\\s*\\[\\s*([0-9]{1,9}\\s*(,\\s*[0-9]{1,9}\\s*)*)?\\]\\s*$')"},
    /* iap [16.0+] (2b5c595c), sms (a5f63be8), snailmail and partner_autocomplete (2ac71df9) */
    {"iap", "iap_account", "account_token",
     "UPDATE iap_account SET account_token = regexp_replace(account_token, '(\\+.*)?$', '+disabled')"},
    ICP_SET("sms", "sms.endpoint", EMPTY_TEST),
    ICP_SET("snailmail", "snailmail.endpoint", EMPTY_TEST),
    ICP_SET("partner_autocomplete", "iap.partner_autocomplete.endpoint", EMPTY_TEST),
    /* captcha keys: google_recaptcha (c232a823), website_cf_turnstile (95074793) */
    ICP_UPDATE("google_recaptcha", "", "key IN ('recaptcha_public_key', 'recaptcha_private_key')"),
    ICP_UPDATE("website_cf_turnstile", "", "key IN ('cf.turnstile_site_key', 'cf.turnstile_secret_key')"),
    /* website [16.0+] (48e0bd90, 2c512340) */
    {"website", "ir_ui_view", "active,key",
     "UPDATE ir_ui_view SET active = true WHERE key = 'website.neutralize_ribbon'"},
    {"website", "website", "domain", "UPDATE website SET domain = NULL"},
    {"website", "website", "cdn_activated", "UPDATE website SET cdn_activated = false"},
    {"website", "website", "robots_txt", "UPDATE website SET robots_txt = E'User-agent: *\\nDisallow: /'"},
    /* payment [16.0-18.0] */
    {"payment", "payment_provider", "state",
     "UPDATE payment_provider SET state = 'disabled' WHERE state NOT IN ('test', 'disabled')"},
    /* each provider's credentials */
    {"payment_paypal", "payment_provider", "paypal_email_account,paypal_pdt_token",   /* 6c3ecb4a [16.0+] */
     "UPDATE payment_provider SET paypal_email_account = NULL, paypal_pdt_token = NULL"},
    {"payment_paypal", "payment_provider", "paypal_seller_account",                   /* 6c3ecb4a [16.0] */
     "UPDATE payment_provider SET paypal_seller_account = NULL"},
    {"payment_paypal", "payment_provider", "paypal_client_id,paypal_client_secret",   /* 2ff76f6b [18.0] */
     "UPDATE payment_provider SET paypal_client_id = NULL, paypal_client_secret = NULL"},
    {"payment_stripe", "payment_provider", "stripe_secret_key,stripe_publishable_key,stripe_webhook_secret",
     "UPDATE payment_provider SET stripe_secret_key = NULL, stripe_publishable_key = NULL, "   /* dbd5b3b3 */
     "stripe_webhook_secret = NULL"},
    {"payment_adyen", "payment_provider", "adyen_merchant_account,adyen_api_key,adyen_hmac_key",  /* public copy */
     "UPDATE payment_provider SET adyen_merchant_account = NULL, adyen_api_key = NULL, adyen_hmac_key = NULL"},
    {"payment_authorize", "payment_provider",                                          /* afc00ca4 */
     "authorize_login,authorize_transaction_key,authorize_signature_key,authorize_client_key",
     "UPDATE payment_provider SET authorize_login = NULL, authorize_transaction_key = NULL, "
     "authorize_signature_key = NULL, authorize_client_key = NULL"},
    {"payment_mollie", "payment_provider", "mollie_api_key",                           /* afc00ca4 */
     "UPDATE payment_provider SET mollie_api_key = NULL"},
    {"payment_mercado_pago", "payment_provider", "mercado_pago_access_token",          /* 14740f66 */
     "UPDATE payment_provider SET mercado_pago_access_token = NULL"},
    {"payment_flutterwave", "payment_provider",                                        /* 494d4912 */
     "flutterwave_public_key,flutterwave_secret_key,flutterwave_webhook_secret",
     "UPDATE payment_provider SET flutterwave_public_key = NULL, flutterwave_secret_key = NULL, "
     "flutterwave_webhook_secret = NULL"},
    {"payment_razorpay", "payment_provider", "razorpay_key_id,razorpay_key_secret,razorpay_webhook_secret",
     "UPDATE payment_provider SET razorpay_key_id = NULL, razorpay_key_secret = NULL, "   /* 03526ab9 */
     "razorpay_webhook_secret = NULL"},
    {"payment_razorpay", "payment_provider",                                           /* 03526ab9 [newer] OAuth */
     "razorpay_authorization_state,razorpay_public_token,razorpay_refresh_token,razorpay_access_token,"
     "razorpay_access_token_expiration,razorpay_account_id,razorpay_webhook_id",
     "UPDATE payment_provider SET razorpay_authorization_state = NULL, razorpay_public_token = NULL, "
     "razorpay_refresh_token = NULL, razorpay_access_token = NULL, razorpay_access_token_expiration = NULL, "
     "razorpay_account_id = NULL, razorpay_webhook_id = NULL"},
    {"payment_xendit", "payment_provider", "xendit_secret_key,xendit_webhook_token",   /* 30335ab9 */
     "UPDATE payment_provider SET xendit_secret_key = 'dummysecret', xendit_webhook_token = 'dummytoken'"},
    {"payment_worldline", "payment_provider",                                          /* 753c8671 */
     "worldline_pspid,worldline_api_key,worldline_api_secret,worldline_webhook_key,worldline_webhook_secret",
     "UPDATE payment_provider SET worldline_pspid = NULL, worldline_api_key = NULL, worldline_api_secret = NULL, "
     "worldline_webhook_key = NULL, worldline_webhook_secret = NULL"},
    {"payment_buckaroo", "payment_provider", "buckaroo_website_key,buckaroo_secret_key",   /* a5f63be8 */
     "UPDATE payment_provider SET buckaroo_website_key = NULL, buckaroo_secret_key = NULL"},
    {"payment_aps", "payment_provider", "aps_merchant_identifier,aps_access_code,aps_sha_request,aps_sha_response",
     "UPDATE payment_provider SET aps_merchant_identifier = NULL, aps_access_code = NULL, "   /* 371fe6a0 */
     "aps_sha_request = NULL, aps_sha_response = NULL"},
    /* delivery [16.0+] (21515785); the carriers' own: enterprise modules, not in odoo/odoo */
    {"delivery", "delivery_carrier", "prod_environment", "UPDATE delivery_carrier SET prod_environment = false"},
    {"delivery_bpost", "delivery_carrier", "bpost_account_number,bpost_developer_password",
     "UPDATE delivery_carrier SET bpost_account_number = 'dummy', bpost_developer_password = 'dummy'"},
    {"delivery_dhl", "delivery_carrier", "dhl_SiteID,dhl_account_number,dhl_password",
     "UPDATE delivery_carrier SET \"dhl_SiteID\" = 'dummy', dhl_account_number = 'dummy', dhl_password = 'dummy'"},
    /* calendars: google_calendar [16.0+] (b2a309e8; google_calendar_credentials: other lineage),
     * microsoft_calendar (4596770f) */
    {"google_calendar", "res_users_settings",
     "google_calendar_rtoken,google_calendar_token,google_synchronization_stopped",
     "UPDATE res_users_settings SET google_calendar_rtoken = NULL, google_calendar_token = NULL, "
     "google_synchronization_stopped = true"},
    {"google_calendar", "google_calendar_credentials", "calendar_rtoken,calendar_token,synchronization_stopped",
     "UPDATE google_calendar_credentials SET calendar_rtoken = NULL, calendar_token = NULL, "
     "synchronization_stopped = true"},
    {"microsoft_calendar", "res_users", "microsoft_calendar_token,microsoft_calendar_rtoken",
     "UPDATE res_users SET microsoft_calendar_token = NULL, microsoft_calendar_rtoken = NULL"},
    {"microsoft_calendar", "res_users_settings",
     "microsoft_calendar_sync_token,microsoft_synchronization_stopped,microsoft_last_sync_date",
     "UPDATE res_users_settings SET microsoft_calendar_sync_token = NULL, microsoft_synchronization_stopped = true, "
     "microsoft_last_sync_date = NULL"},
    /* cloud_storage [17.0+] (9b364dcc) */
    ICP_DELETE("cloud_storage", "cloud_storage_provider"),
    /* electronic invoicing: account_edi_proxy_client [17.0+] (07ea6440: the newest form; 16.0 has no
     * proxy_type and is skipped), account_peppol [17.0+] (4190789b) */
    {"account_edi_proxy_client", "account_edi_proxy_client_user", "edi_mode,proxy_type",
     "UPDATE account_edi_proxy_client_user SET edi_mode = CASE WHEN proxy_type IN ('l10n_it_edi', 'peppol', "
     "'nemhandel', 'pdp') THEN 'demo' ELSE 'test' END WHERE proxy_type NOT IN ('l10n_my_edi', 'l10n_gr_edi')"},
    ICP_UPDATE("account_peppol", "test", "key = 'account_peppol.edi.mode'"),
    /* the country e-invoicing modules, all on res_company [16.0-18.0] */
    {"l10n_it_edi", "res_company", "l10n_it_edi_register",                            /* 8faeb78d [17.0+] */
     "UPDATE res_company SET l10n_it_edi_register = false"},
    {"l10n_es_edi_sii", "res_company", "l10n_es_sii_test_env",                         /* 6666ee47 */
     "UPDATE res_company SET l10n_es_sii_test_env = true"},
    {"l10n_es_edi_tbai", "res_company", "l10n_es_tbai_test_env",                       /* b2a309e8 */
     "UPDATE res_company SET l10n_es_tbai_test_env = true"},
    {"l10n_es_edi_verifactu", "res_company", "l10n_es_edi_verifactu_test_environment",  /* c232a823 [18.0] */
     "UPDATE res_company SET l10n_es_edi_verifactu_test_environment = true"},
    {"l10n_in_edi", "res_company",                                                     /* dbd5b3b3 */
     "l10n_in_edi_username,l10n_in_edi_password,l10n_in_edi_token,l10n_in_edi_token_validity",
     "UPDATE res_company SET l10n_in_edi_username = NULL, l10n_in_edi_password = NULL, l10n_in_edi_token = NULL, "
     "l10n_in_edi_token_validity = NULL"},
    {"l10n_in_edi_ewaybill", "res_company",                                            /* 1b2b74e0 [16.0-17.0] */
     "l10n_in_edi_ewaybill_username,l10n_in_edi_ewaybill_password,l10n_in_edi_ewaybill_auth_validity",
     "UPDATE res_company SET l10n_in_edi_ewaybill_username = NULL, l10n_in_edi_ewaybill_password = NULL, "
     "l10n_in_edi_ewaybill_auth_validity = NULL"},
    {"l10n_in_ewaybill", "res_company",                                                /* a402bf9e [18.0] */
     "l10n_in_ewaybill_username,l10n_in_ewaybill_password,l10n_in_ewaybill_auth_validity",
     "UPDATE res_company SET l10n_in_ewaybill_username = NULL, l10n_in_ewaybill_password = NULL, "
     "l10n_in_ewaybill_auth_validity = NULL"},
    {"l10n_eg_edi_eta", "res_company", "l10n_eg_production_env,l10n_eg_client_secret",  /* 14740f66 */
     "UPDATE res_company SET l10n_eg_production_env = false, l10n_eg_client_secret = 'dummy'"},
    {"l10n_sa_edi", "res_company", "l10n_sa_api_mode",                                 /* 2b26645f */
     "UPDATE res_company SET l10n_sa_api_mode = 'sandbox'"},
    {"l10n_my_edi", "account_edi_proxy_client_user", "active,proxy_type",              /* 7a6c020f [18.0] */
     "UPDATE account_edi_proxy_client_user SET active = false WHERE proxy_type = 'l10n_my_edi'"},
    {"l10n_gr_edi", "res_company", "l10n_gr_edi_test_env",                             /* 6666ee47 [18.0] */
     "UPDATE res_company SET l10n_gr_edi_test_env = true"},
    {"l10n_ro_edi", "res_company", "l10n_ro_edi_test_env",                             /* 9b364dcc [17.0+] */
     "UPDATE res_company SET l10n_ro_edi_test_env = true"},
    {"l10n_ro_edi", "res_company",
     "l10n_ro_edi_client_id,l10n_ro_edi_client_secret,l10n_ro_edi_access_token,l10n_ro_edi_refresh_token",
     "UPDATE res_company SET l10n_ro_edi_client_id = NULL, l10n_ro_edi_client_secret = NULL, "
     "l10n_ro_edi_access_token = NULL, l10n_ro_edi_refresh_token = NULL"},
    {"l10n_hu_edi", "res_company",                                                     /* cb963d92 [17.0+] */
     "l10n_hu_edi_server_mode,l10n_hu_edi_username,l10n_hu_edi_password,l10n_hu_edi_signature_key,"
     "l10n_hu_edi_replacement_key",
     "UPDATE res_company SET l10n_hu_edi_server_mode = 'test', l10n_hu_edi_username = '', l10n_hu_edi_password = '', "
     "l10n_hu_edi_signature_key = '', l10n_hu_edi_replacement_key = '' WHERE l10n_hu_edi_server_mode = 'production'"},
    {"l10n_tr_nilvera", "res_company",                                                 /* 95074793 [18.0] */
     "l10n_tr_nilvera_api_key,l10n_tr_nilvera_use_test_env,l10n_tr_nilvera_purchase_journal_id",
     "UPDATE res_company SET l10n_tr_nilvera_api_key = NULL, l10n_tr_nilvera_use_test_env = true, "
     "l10n_tr_nilvera_purchase_journal_id = NULL"},
    {"l10n_jo_edi", "res_company", "l10n_jo_edi_secret_key,l10n_jo_edi_client_identifier",   /* 2cd5571a */
     "UPDATE res_company SET l10n_jo_edi_secret_key = 'dummy_secret', l10n_jo_edi_client_identifier = 'dummy_id'"},
    {"l10n_vn_edi_viettel", "res_company", "l10n_vn_edi_username,l10n_vn_edi_password",   /* 371fe6a0 */
     "UPDATE res_company SET l10n_vn_edi_username = '', l10n_vn_edi_password = ''"},
    {"l10n_tw_edi_ecpay", "res_company", "l10n_tw_edi_ecpay_staging_mode",             /* 22146905 */
     "UPDATE res_company SET l10n_tw_edi_ecpay_staging_mode = true"},
    {"l10n_ke_edi_tremol", "res_company", "l10n_ke_cu_proxy_address",                  /* 59386ccf */
     "UPDATE res_company SET l10n_ke_cu_proxy_address = ''"},
    ICP_UPDATE("l10n_dk_nemhandel", "test", "key = 'l10n_dk_nemhandel.edi.mode'"),    /* c8160719 */
    /* l10n_pl_edi (fd88b040): the KSeF certificates, tokens and session data go, the mode is 'test' */
    {"l10n_pl_edi", "certificate_certificate", "id,res_company.l10n_pl_edi_certificate",
     "DELETE FROM certificate_certificate WHERE id IN (SELECT l10n_pl_edi_certificate FROM res_company)"},
    {"l10n_pl_edi", "res_company",
     "l10n_pl_edi_certificate,l10n_pl_edi_access_token,l10n_pl_edi_refresh_token,l10n_pl_edi_session_id",
     "UPDATE res_company SET l10n_pl_edi_certificate = NULL, l10n_pl_edi_access_token = NULL, "
     "l10n_pl_edi_refresh_token = NULL, l10n_pl_edi_session_id = NULL"},
    {"l10n_pl_edi", "ir_attachment", "res_model,res_field",
     "DELETE FROM ir_attachment WHERE res_model = 'res.company' AND res_field IN ('l10n_pl_edi_session_key', "
     "'l10n_pl_edi_session_iv')"},
    ICP_SET("l10n_pl_edi", "l10n_pl_edi_ksef.mode", "test"),
    /* point of sale terminals: pos_adyen [16.0-17.0] (f83c64f5) and [18.0] (02b7c373) */
    {"pos_adyen", "pos_payment_method", "adyen_test_mode", "UPDATE pos_payment_method SET adyen_test_mode = true"},
    {"pos_adyen", "pos_payment_method", "test_mode", "UPDATE pos_payment_method SET test_mode = true"},
    {"pos_viva_wallet", "pos_payment_method", "viva_wallet_test_mode",                 /* f83c64f5 */
     "UPDATE pos_payment_method SET viva_wallet_test_mode = true"},
    {"pos_razorpay", "pos_payment_method", "razorpay_test_mode,razorpay_api_key",      /* 48e0bd90 */
     "UPDATE pos_payment_method SET razorpay_test_mode = true, razorpay_api_key = 'dummykey00012345'"},
    {"pos_paytm", "pos_payment_method", "paytm_test_mode,paytm_merchant_key",          /* afc00ca4 */
     "UPDATE pos_payment_method SET paytm_test_mode = true, paytm_merchant_key = 'dummykey00012345'"},
    /* pos_mercado_pago: 0848b4f7 sets these on pos_payment_provider (other lineage); in 17.0/18.0 they are
     * pos_payment_method's */
    {"pos_mercado_pago", "pos_payment_method", "mp_bearer_token,mp_webhook_secret_key",
     "UPDATE pos_payment_method SET mp_bearer_token = 'dummy_value', mp_webhook_secret_key = 'dummy_value' "
     "WHERE mp_bearer_token IS NOT NULL"},
    {"pos_mercado_pago", "pos_payment_provider", "mp_bearer_token,mp_webhook_secret_key",
     "UPDATE pos_payment_provider SET mp_bearer_token = 'dummy_value', mp_webhook_secret_key = 'dummy_value' "
     "WHERE mp_bearer_token IS NOT NULL"},
    {"pos_cashmatic", "pos_payment_method", "cashmatic_ip",                            /* 95074793 */
     "UPDATE pos_payment_method SET cashmatic_ip = '0.0.0.0'"},
    /* the marker (base), always last */
    ICP_SET("base", "database.is_neutralized", "true"),
};

int odbk_odoo_can_neutralize(const char *series, int *major)
{
    const char *p = series ? series : "";
    if (!strncmp(p, "saas~", 5))
        p += 5;
    *major = atoi(p);
    return *major >= 16;
}

/* The statements name Odoo's tables unqualified: in public, with pg_catalog's operators and functions
 * first (the caller is the load role on the loaded database, see neutralize.h: whatever the database
 * defines runs with no more rights than the dump had). */
static int in_public(PGconn *c, struct odbk_err *err)
{
    return odbk_pg_exec(c, "SET LOCAL search_path = pg_catalog, public, pg_temp", err);
}

/* The (table, column) pairs s needs, as two PostgreSQL text-array literals (names are odbk's own). */
static void requirements(const struct stmt *s, char **tables, char **columns)
{
    char *t = odbk_xstrdup("{"), *c = odbk_xstrdup("{"), *list = odbk_xstrdup(s->columns), *save = NULL, *item;
    for (item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *dot = strchr(item, '.'), *nt, *nc;
        nt = odbk_xasprintf("%s%s\"%.*s\"", t, t[1] ? "," : "", dot ? (int)(dot - item) : (int)strlen(s->table),
                            dot ? item : s->table);
        nc = odbk_xasprintf("%s%s\"%s\"", c, c[1] ? "," : "", dot ? dot + 1 : item);
        free(t);
        free(c);
        t = nt;
        c = nc;
    }
    free(list);
    *tables = odbk_xasprintf("%s}", t);
    *columns = odbk_xasprintf("%s}", c);
    free(t);
    free(c);
}

/* 1 when the statement applies (tables, columns, module installed), 0 when not, -1 on error */
static int applies(PGconn *c, const struct stmt *s, struct odbk_err *err)
{
    char *tables, *columns;
    const char *params[4];
    PGresult *r;
    int ok;
    requirements(s, &tables, &columns);
    params[0] = s->table;
    params[1] = tables;
    params[2] = columns;
    params[3] = s->module ? s->module : "";
    r = PQexecParams(
        c,
        "SELECT to_regclass($1) IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS q(t, c) WHERE NOT EXISTS ("
        "     SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(quote_ident(q.t)) AND attnum > 0 "
        "     AND NOT attisdropped AND attname = q.c)) "
        "AND ($4 = '' OR (to_regclass('ir_module_module') IS NOT NULL AND EXISTS (SELECT 1 FROM ir_module_module "
        "     WHERE name = $4 AND state IN ('installed', 'to upgrade', 'to remove'))))",
        4, NULL, params, NULL, NULL, 0);
    free(tables);
    free(columns);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        odbk_err_set(err, ODBK_E_FAILED, "cannot inspect table '%s': %s", s->table, PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    ok = !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    return ok;
}

/* ---- the addons path: Odoo's module lookup ---- */

int odbk_odoo_module_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n > 0 && n <= ODBK_ODOO_MODULE_MAX && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

void odbk_odoo_dirs_free(char **dirs)
{
    size_t i;
    for (i = 0; dirs && dirs[i]; i++)
        free(dirs[i]);
    free(dirs);
}

static int dir_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Does dir hold module m (its __manifest__.py, or 16.0's older __openerp__.py)? */
static int has_module(const char *dir, const char *m)
{
    char *a = odbk_xasprintf("%s/%s/__manifest__.py", dir, m), *b = odbk_xasprintf("%s/%s/__openerp__.py", dir, m);
    int r = is_file(a) || is_file(b);
    free(a);
    free(b);
    return r;
}

static void push_dir(char ***dirs, size_t *n, const char *d, int front)
{
    size_t i;
    for (i = 0; i < *n; i++)
        if (!strcmp((*dirs)[i], d))
            return;
    *dirs = odbk_xrealloc(*dirs, (*n + 2) * sizeof(**dirs));
    if (front) {
        memmove(*dirs + 1, *dirs, *n * sizeof(**dirs));
        (*dirs)[0] = odbk_xstrdup(d);
    } else {
        (*dirs)[*n] = odbk_xstrdup(d);
    }
    (*dirs)[++*n] = NULL;
}

/* "17.0" or "saas~17.2" from release.py's `version_info = (17, 0, ...)` / `('saas~17', 2, ...)`, or NULL */
static char *release_series(const char *text)
{
    const char *p = strstr(text, "\nversion_info = (");
    char head[16];
    int major, n = 0;
    if (!p)
        return NULL;
    p += strlen("\nversion_info = (");
    if (sscanf(p, "%d , %d", &major, &n) == 2 && major >= 0 && n >= 0)
        return odbk_xasprintf("%d.%d", major, n);
    if (sscanf(p, "'saas~%10[0-9]' , %d", head, &n) == 2 && n >= 0)
        return odbk_xasprintf("saas~%s.%d", head, n);
    return NULL;
}

int odbk_odoo_addons_series_check(const char *addons_path, const char *series, struct odbk_err *err)
{
    char **dirs = NULL, *rel = NULL, *text = NULL, *theirs = NULL;
    struct odbk_err ignored = {0};
    size_t i;
    int r = 0;
    if (!addons_path || !odbk_odoo_series_ok(series) || odbk_odoo_addons_dirs(addons_path, &dirs, &ignored) < 0)
        return 0;
    for (i = 0; dirs[i] && !has_module(dirs[i], "base"); i++)
        ;
    if (dirs[i]) {
        rel = odbk_xasprintf("%s/../release.py", dirs[i]);
        if (odbk_read_small_file(rel, 256 * 1024, &text, &ignored) == 0)
            theirs = release_series(text);
    }
    if (theirs && strcmp(theirs, series)) {
        odbk_err_set(err, ODBK_E_CONFIG, "the addons path is Odoo %s's (%s) and the database is Odoo %s's: its "
                     "neutralize.sql files are not this database's", theirs, rel, series);
        odbk_err_hint(err, "set 'addons-path' to the addons of the Odoo %s that will run it, or leave it unset for "
                      "odbk's built-in statements", series);
        r = -1;
    }
    free(theirs);
    free(text);
    free(rel);
    odbk_odoo_dirs_free(dirs);
    return r;
}

char *odbk_odoo_addons_path_of(const char *addons_path, const char *data_dir, const char *series)
{
    char *dd;
    struct stat sb;
    if (!addons_path)
        return NULL;
    if (!data_dir || *data_dir != '/' || !odbk_odoo_series_ok(series))
        return odbk_xstrdup(addons_path);
    dd = odbk_xasprintf("%s/addons/%s", data_dir, series);
    if (stat(dd, &sb) == 0 && S_ISDIR(sb.st_mode) && access(dd, R_OK | X_OK) == 0) {
        char *both = odbk_xasprintf("%s,%s", dd, addons_path);
        free(dd);
        return both;
    }
    free(dd);
    return odbk_xstrdup(addons_path);
}

int odbk_odoo_addons_dirs(const char *addons_path, char ***out, struct odbk_err *err)
{
    char *list = addons_path ? odbk_odooconf_addons_list(addons_path) : NULL, *save = NULL, *item, *base = NULL;
    char **dirs = odbk_xcalloc(1, sizeof(*dirs));
    size_t n = 0;
    *out = NULL;
    for (item = list ? strtok_r(list, ",", &save) : NULL; item; item = strtok_r(NULL, ",", &save)) {
        char real[PATH_MAX];
        if (*item != '/') {
            odbk_err_set(err, ODBK_E_CONFIG, "addons path entry '%s' is not an absolute path", item);
            odbk_err_hint(err, "Odoo resolves a relative addons_path against its working directory, which odbk "
                          "cannot know: set 'addons-path = DIR[,DIR...]' (absolute) in the odbk env");
            goto fail;
        }
        /* Odoo takes each entry's real path (config.py _normalize) */
        if (!realpath(item, real) || !dir_exists(real)) {
            odbk_err_set(err, ODBK_E_CONFIG, "addons path entry '%s' is not a directory", item);
            odbk_err_hint(err, "the addons path must be the one of the Odoo that runs the database, on this host: "
                          "fix addons_path in odoo.conf or set 'addons-path =' in the odbk env");
            goto fail;
        }
        push_dir(&dirs, &n, real, 0);
        if (!base) {
            /* Odoo's own modules (base, ...): odoo/addons of the Odoo tree, first in odoo.addons.__path__.
             * An entry that holds base is that directory; the addons/ of a source tree has it beside */
            char *sib = odbk_xasprintf("%s/../odoo/addons", real), sreal[PATH_MAX];
            if (has_module(real, "base"))
                base = odbk_xstrdup(real);
            else if (realpath(sib, sreal) && has_module(sreal, "base"))
                base = odbk_xstrdup(sreal);
            free(sib);
        }
    }
    if (base) {
        size_t i;
        for (i = 0; i < n && strcmp(dirs[i], base); i++)
            ;
        if (i < n) {   /* already listed: moved to the front */
            free(dirs[i]);
            memmove(dirs + i, dirs + i + 1, (n - i) * sizeof(*dirs));
            n--;
        }
        push_dir(&dirs, &n, base, 1);
    }
    free(list);
    free(base);
    *out = dirs;
    return 0;
fail:
    free(list);
    free(base);
    odbk_odoo_dirs_free(dirs);
    return -1;
}

int odbk_odoo_neutralize_file(char *const *dirs, const char *module, char **path)
{
    size_t i;
    int present = 0;
    *path = NULL;
    if (!odbk_odoo_module_name_ok(module))
        return -1;
    /* Odoo 17/18's file_path(): the first addons directory where <module>/data/neutralize.sql exists */
    for (i = 0; dirs && dirs[i]; i++) {
        char *p = odbk_xasprintf("%s/%s/data/neutralize.sql", dirs[i], module);
        if (is_file(p)) {
            *path = p;
            return 1;
        }
        free(p);
        present = present || has_module(dirs[i], module);
    }
    return present ? 0 : -1;
}

/* ---- running the statements ---- */

#define NEUTRALIZE_FILE_MAX (256u << 10)

/* The text of a module's neutralize.sql, checked: a regular file of at most 256 KiB, no NUL byte, no psql
 * meta-command (sqlcheck.h's lexer: what psql would run as one is refused, though PQexec would only fail
 * on it) */
static int read_sql_file(const char *module, const char *path, char **text, struct odbk_err *err)
{
    struct stat st;
    size_t len = 0;
    char *what = odbk_xasprintf("neutralize.sql of module '%s' (%s)", module, path);
    struct odbk_writer *sink, *check;
    int r = -1;
    *text = NULL;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
        odbk_err_sys(err, ODBK_E_IO, "cannot read %s", what);
        goto out;
    }
    if ((uint64_t)st.st_size > NEUTRALIZE_FILE_MAX) {
        odbk_err_set(err, ODBK_E_DATA, "%s is larger than 256 KiB", what);
        odbk_err_hint(err, "Odoo's own files are a few lines: check the addons path");
        goto out;
    }
    if (odbk_read_small_file_len(path, NEUTRALIZE_FILE_MAX, text, &len, err) < 0)
        goto out;
    sink = odbk_sink_buffer_new(NEUTRALIZE_FILE_MAX + 64);
    check = odbk_filter_sqlcheck_new(sink, what, NULL, 0);
    r = odbk_writer_write(check, *text, len, err) < 0 || odbk_writer_finish(check, err) < 0 ? -1 : 0;
    if (r == 0 && !memchr(*text, '\0', len)) {
        /* what runs is what the check passed (pg_dump's \restrict lines become empty ones) */
        size_t n;
        const char *d = odbk_sink_buffer_data(sink, &n);
        free(*text);
        *text = odbk_xstrndup(d ? d : "", n);
        len = n;
    }
    odbk_writer_free(check);
    odbk_writer_free(sink);
    if (r < 0 && err->code == ODBK_E_DATA)
        odbk_err_hint(err, "a neutralize.sql is SQL for the server, never a psql script: remove that line or "
                      "point the addons path elsewhere");
    if (r == 0 && memchr(*text, '\0', len)) {
        odbk_err_set(err, ODBK_E_DATA, "%s holds a NUL byte", what);
        r = -1;
    }
out:
    if (r < 0) {
        free(*text);
        *text = NULL;
    }
    free(what);
    return r;
}

/* Run a file's statements as Odoo's cursor.execute does: one simple-protocol query, several statements.
 * It must leave the transaction open and take no COPY data. */
/* The transaction's id: a file that commits or rolls back and begins again is told by it changing. */
static char *txid(PGconn *c, struct odbk_err *err)
{
    char *v = NULL;
    if (odbk_pg_value(c, "SELECT txid_current()::text", NULL, &v, err) < 0)
        return NULL;
    return v;
}

static int run_sql_file(PGconn *c, const char *module, const char *path, const char *text, const char *tx,
                        struct odbk_err *err)
{
    PGresult *res = PQexec(c, text), *more;
    ExecStatusType st = PQresultStatus(res);
    int r = 0;
    if (st == PGRES_COPY_IN) {
        PQputCopyEnd(c, "odbk: no COPY data for a neutralize.sql");
    } else if (st == PGRES_COPY_OUT) {
        char *buf;
        while (PQgetCopyData(c, &buf, 0) > 0)
            PQfreemem(buf);
    }
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
        odbk_err_set(err, ODBK_E_DATA, "neutralize.sql of module '%s' (%s) runs COPY with client data", module,
                     path);
        r = -1;
    } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
        const char *m = PQresultErrorMessage(res);
        odbk_err_set(err, ODBK_E_DATA, "neutralize.sql of module '%s' (%s) failed: %.*s", module, path,
                     (int)strcspn(m, "\n"), m);
        odbk_err_hint(err, "the addons path must hold the modules of the Odoo series that runs the database");
        r = -1;
    }
    PQclear(res);
    while ((more = PQgetResult(c)))
        PQclear(more);
    if (r == 0) {
        /* still the one transaction ("COMMIT; BEGIN;" or "ROLLBACK; BEGIN;" would leave one open, the
         * ROLLBACK undoing every module before), and its settings as they were (a SET of the file's) */
        char *now = PQtransactionStatus(c) == PQTRANS_INTRANS ? txid(c, err) : NULL;
        if (!now || strcmp(now, tx)) {
            odbk_err_set(err, ODBK_E_DATA, "neutralize.sql of module '%s' (%s) ends the transaction", module,
                         path);
            r = -1;
        } else if (odbk_pg_exec(c, "SET LOCAL lock_timeout = '30s'", err) < 0 || in_public(c, err) < 0) {
            r = -1;
        }
        free(now);
    }
    return r;
}

static void list_add(char ***v, size_t *n, const char *s)
{
    *v = odbk_xrealloc(*v, (*n + 2) * sizeof(**v));
    (*v)[(*n)++] = odbk_xstrdup(s);
    (*v)[*n] = NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void odbk_neutralized_release(struct odbk_neutralized *r)
{
    size_t i;
    if (!r)
        return;
    for (i = 0; i < r->n_files; i++)
        free(r->files[i]);
    for (i = 0; i < r->n_builtin; i++)
        free(r->builtin[i]);
    for (i = 0; i < r->n_skipped; i++)
        free(r->skipped[i]);
    free(r->files);
    free(r->builtin);
    free(r->skipped);
    free(r->addons);
    memset(r, 0, sizeof(*r));
}

/* A module name from the database, for a message: printable ASCII, at most 64 bytes, the rest as \xNN */
static char *printable_name(const char *s)
{
    char *out = odbk_xmalloc(4 * 64 + 4), *p = out;
    size_t i;
    for (i = 0; s[i] && i < 64; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\')
            *p++ = (char)ch;
        else
            p += sprintf(p, "\\x%02x", ch);
    }
    if (s[i])
        p += sprintf(p, "...");
    *p = '\0';
    return out;
}

/* The modules Odoo neutralizes (neutralize.py get_installed_modules), in name order */
static int installed_modules(PGconn *c, PGresult **out, struct odbk_err *err)
{
    PGresult *r = PQexec(c, "SELECT name FROM ir_module_module WHERE state IN ('installed', 'to upgrade', "
                            "'to remove') AND name IS NOT NULL ORDER BY name COLLATE \"C\"");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        odbk_err_set(err, ODBK_E_DATA, "cannot list the installed modules: %s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    *out = r;
    return 0;
}

int odbk_odoo_neutralize(PGconn *c, const char *addons_path, struct odbk_neutralized *rep, struct odbk_err *err)
{
    char **dirs = NULL, **want = NULL;   /* want: the modules that get the built-in statements */
    char *tx = NULL;                     /* the transaction's id, that every file must leave as it is */
    size_t n_want = 0, i;
    PGresult *mods = NULL;
    int n;
    memset(rep, 0, sizeof(*rep));
    if (addons_path && *addons_path && odbk_odoo_addons_dirs(addons_path, &dirs, err) < 0)
        return -1;
    if (dirs && dirs[0]) {
        char *joined = odbk_xstrdup("");
        for (i = 0; dirs[i]; i++) {
            char *j = odbk_xasprintf("%s%s%s", joined, i ? "," : "", dirs[i]);
            free(joined);
            joined = j;
        }
        rep->addons = joined;
    }
    if (odbk_pg_exec(c, "BEGIN", err) < 0)
        goto out_err;
    if (odbk_pg_exec(c, "SET LOCAL lock_timeout = '30s'", err) < 0 || in_public(c, err) < 0 ||
        !(tx = txid(c, err)) || installed_modules(c, &mods, err) < 0)
        goto fail;
    for (n = 0; n < PQntuples(mods); n++) {
        const char *m = PQgetvalue(mods, n, 0);
        char *path = NULL, *text = NULL;
        int found;
        if (!odbk_odoo_module_name_ok(m)) {
            char *p = printable_name(m);
            list_add(&rep->skipped, &rep->n_skipped, p);
            free(p);
            continue;
        }
        found = rep->addons ? odbk_odoo_neutralize_file(dirs, m, &path) : -1;
        if (found < 0) {   /* not on this host: odbk's own statements for it, if it has any */
            list_add(&want, &n_want, m);
            continue;
        }
        if (found == 0)    /* the module has no neutralize.sql: nothing, as in Odoo */
            continue;
        if (read_sql_file(m, path, &text, err) < 0 || run_sql_file(c, m, path, text, tx, err) < 0) {
            free(path);
            free(text);
            goto fail;
        }
        list_add(&rep->files, &rep->n_files, m);
        free(path);
        free(text);
    }
    for (i = 0; i < sizeof(neutralize) / sizeof(neutralize[0]); i++) {
        const struct stmt *s = &neutralize[i];
        int a;
        if (s->module && !odbk_str_in(want, n_want, s->module))
            continue;
        if ((a = applies(c, s, err)) < 0)
            goto fail;
        if (!a)
            continue;
        if (odbk_pg_exec(c, s->sql, err) < 0) {
            odbk_err_prefix(err, "neutralization of module '%s' (table '%s') failed", s->module ? s->module : "-",
                            s->table);
            goto fail;
        }
        rep->statements++;
        if (s->module && !odbk_str_in(rep->builtin, rep->n_builtin, s->module))
            list_add(&rep->builtin, &rep->n_builtin, s->module);
    }
    if (odbk_pg_exec(c, "COMMIT", err) < 0)
        goto fail;
    if (rep->n_builtin > 1)
        qsort(rep->builtin, rep->n_builtin, sizeof(*rep->builtin), cmp_str);
    PQclear(mods);
    for (i = 0; i < n_want; i++)
        free(want[i]);
    free(want);
    free(tx);
    odbk_odoo_dirs_free(dirs);
    return 0;
fail:
    {
        struct odbk_err e2;
        odbk_pg_exec(c, "ROLLBACK", &e2);
    }
out_err:
    PQclear(mods);
    for (i = 0; i < n_want; i++)
        free(want[i]);
    free(want);
    free(tx);
    odbk_odoo_dirs_free(dirs);
    odbk_neutralized_release(rep);
    return -1;
}

static void append_list(char **s, const char *head, char *const *v, size_t n)
{
    size_t i;
    char *o = odbk_xasprintf("%s%s (", *s, head);
    for (i = 0; i < n; i++) {
        char *x = odbk_xasprintf("%s%s%s", o, i ? ", " : "", v[i]);
        free(o);
        o = x;
    }
    free(*s);
    *s = odbk_xasprintf("%s)", o);
    free(o);
}

char *odbk_neutralized_summary(const struct odbk_neutralized *r)
{
    char *s = odbk_xstrdup("neutralized: "), *head;
    if (r->n_files) {
        head = odbk_xasprintf("%zu module%s with %s own neutralize.sql from %s", r->n_files,
                              r->n_files == 1 ? "" : "s", r->n_files == 1 ? "its" : "their", r->addons);
        append_list(&s, head, r->files, r->n_files);
        free(head);
    }
    if (r->n_builtin) {
        head = odbk_xasprintf("%s%zu %swith odbk's built-in statements", r->n_files ? ", " : "", r->n_builtin,
                              r->addons ? "not in the addons path, " : "");
        append_list(&s, head, r->builtin, r->n_builtin);
        free(head);
    }
    if (!r->n_files && !r->n_builtin) {
        char *x = odbk_xasprintf("%snothing to change", s);
        free(s);
        s = x;
    }
    return s;
}

/* What Odoo's copy does (odoo/service/db.py restore_db(copy=True): ir.config_parameter's init(force=True)
 * sets every one of _default_parameters, in odoo/addons/base/models/ir_config_parameter.py, the same in
 * 16.0, 17.0 and 18.0), and nothing else.  '@...' values are computed below. */
static const struct stmt copy[] = {
    ICP_SET(NULL, "database.secret", "@secret"),
    ICP_SET(NULL, "database.uuid", "@uuid"),
    ICP_SET(NULL, "database.create_date", "@now"),
    ICP_SET(NULL, "web.base.url", "@base_url"),
    ICP_SET(NULL, "base.login_cooldown_after", "10"),
    ICP_SET(NULL, "base.login_cooldown_duration", "60"),
};

/* The SQL expression of a '@name' value: computed by the server, or a literal that holds digits only. */
static char *copy_value(const char *name, const char *http_port)
{
    if (!strcmp(name, "uuid"))
        return odbk_xstrdup("md5(random()::text || clock_timestamp()::text)::uuid::text");
    if (!strcmp(name, "secret"))
        return odbk_xstrdup("md5(random()::text || clock_timestamp()::text || 's')::uuid::text");
    if (!strcmp(name, "base_url")) {
        /* odoo.conf's http_port was checked to be a port number; anything else would be Odoo's default */
        int digits = http_port && *http_port && strspn(http_port, "0123456789") == strlen(http_port);
        return odbk_xasprintf("'http://localhost:%s'", digits ? http_port : "8069");
    }
    return odbk_xstrdup("to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')");
}

int odbk_odoo_copy(PGconn *c, const char *http_port, struct odbk_err *err)
{
    size_t i;
    if (odbk_pg_exec(c, "BEGIN", err) < 0)
        return -1;
    if (in_public(c, err) < 0)
        goto fail;
    for (i = 0; i < sizeof(copy) / sizeof(copy[0]); i++) {
        const struct stmt *s = &copy[i];
        char *sql, *p;
        int a = applies(c, s, err), r;
        if (a < 0)
            goto fail;
        if (!a) {
            odbk_err_set(err, ODBK_E_DATA, "--copy: the database has no ir_config_parameter table: not an Odoo "
                         "database");
            goto fail;
        }
        sql = odbk_xstrdup(s->sql);
        while ((p = strstr(sql, "'@"))) {
            char *end = strchr(p + 1, '\''), *name = odbk_xstrndup(p + 2, (size_t)(end - p - 2));
            char *v = copy_value(name, http_port);
            char *n = odbk_xasprintf("%.*s(%s)%s", (int)(p - sql), sql, v, end + 1);
            free(name);
            free(v);
            free(sql);
            sql = n;
        }
        r = odbk_pg_exec(c, sql, err);
        free(sql);
        if (r < 0)
            goto fail;
    }
    if (odbk_pg_exec(c, "COMMIT", err) < 0)
        goto fail;
    return 0;
fail:
    {
        struct odbk_err e2;
        odbk_pg_exec(c, "ROLLBACK", &e2);
    }
    return -1;
}
