/* neutralize.c - odbk's own copy of Odoo's neutralization statements and of the "copy" identity change.
 *
 * Odoo runs every installed module's data/neutralize.sql; without an addons tree, odbk ships the core
 * statements (research/odoo-facts.md §2, per module), each guarded by its table, its columns and, where
 * Odoo would only run it with the module installed, by the module's state.  All of it runs in one
 * transaction: a neutralization that fails half-way leaves nothing half-done. */
#include "odoo/neutralize.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "pg/pg.h"

struct stmt {
    const char *module;   /* run only when this module is installed (NULL: whenever the columns exist) */
    const char *table;
    const char *columns;  /* comma-separated, all must exist ("" for none) */
    const char *sql;
};

#define ICP_DELETE(mod, k) {mod, "ir_config_parameter", "key", "DELETE FROM ir_config_parameter WHERE key = '" k "'"}
#define ICP_SET(mod, k, v)                                                                                        \
    {mod, "ir_config_parameter", "key,value",                                                                     \
     "WITH u AS (UPDATE ir_config_parameter SET value = '" v "' WHERE key = '" k "' RETURNING 1) "                \
     "INSERT INTO ir_config_parameter (key, value) SELECT '" k "', '" v "' WHERE NOT EXISTS (SELECT 1 FROM u)"}

static const struct stmt neutralize[] = {
    /* base */
    {NULL, "ir_mail_server", "active", "UPDATE ir_mail_server SET active = false"},
    {NULL, "ir_mail_server", "name,smtp_host,smtp_port,smtp_encryption,smtp_authentication,active",
     "INSERT INTO ir_mail_server (name, smtp_host, smtp_port, smtp_encryption, smtp_authentication, active) "
     "VALUES ('neutralization - disable emails', 'invalid', 1025, 'none', 'login', true)"},
    {NULL, "ir_cron", "active",
     "UPDATE ir_cron SET active = false WHERE id NOT IN (SELECT res_id FROM ir_model_data WHERE module = 'base' "
     "AND model = 'ir.cron' AND name = 'autovacuum_job' AND res_id IS NOT NULL)"},
    {NULL, "ir_act_server", "webhook_url,state",
     "UPDATE ir_act_server SET webhook_url = 'neutralization - disable webhook' WHERE state = 'webhook'"},
    /* mail, fetchmail */
    {NULL, "mail_template", "mail_server_id", "UPDATE mail_template SET mail_server_id = NULL"},
    {NULL, "fetchmail_server", "active", "UPDATE fetchmail_server SET active = false"},
    ICP_DELETE("mail", "mail.web_push_vapid_private_key"),
    ICP_DELETE("mail", "mail.web_push_vapid_public_key"),
    ICP_DELETE("mail", "mail.sfu_server_key"),
    ICP_DELETE("mail", "mail.sfu_server_url"),
    ICP_DELETE("mail", "mail.use_sfu_server"),
    ICP_DELETE("mail", "mail.twilio_account_sid"),
    ICP_DELETE("mail", "mail.twilio_account_token"),
    ICP_DELETE("mail", "mail.google_translate_api_key"),
    {NULL, "mail_push", "", "DELETE FROM mail_push"},
    {NULL, "mail_push_device", "", "DELETE FROM mail_push_device"},
    /* payment */
    {NULL, "payment_provider", "state",
     "UPDATE payment_provider SET state = 'disabled' WHERE state NOT IN ('test', 'disabled')"},
    {NULL, "payment_provider", "paypal_email_account,paypal_pdt_token",
     "UPDATE payment_provider SET paypal_email_account = NULL, paypal_pdt_token = NULL"},
    {NULL, "payment_provider", "khalti_secret_key", "UPDATE payment_provider SET khalti_secret_key = NULL"},
    /* delivery */
    {NULL, "delivery_carrier", "prod_environment", "UPDATE delivery_carrier SET prod_environment = false"},
    {NULL, "delivery_carrier", "bpost_account_number,bpost_developer_password",
     "UPDATE delivery_carrier SET bpost_account_number = 'dummy', bpost_developer_password = 'dummy'"},
    {NULL, "delivery_carrier", "dhl_SiteID,dhl_account_number,dhl_password",
     "UPDATE delivery_carrier SET \"dhl_SiteID\" = 'dummy', dhl_account_number = 'dummy', dhl_password = 'dummy'"},
    /* iap, sms, snailmail */
    {NULL, "iap_account", "account_token",
     "UPDATE iap_account SET account_token = regexp_replace(account_token, '(\\+.*)?$', '+disabled')"},
    ICP_SET("sms", "sms.endpoint", "https://iap-services-test.odoo.com"),
    ICP_SET("snailmail", "snailmail.endpoint", "https://iap-services-test.odoo.com"),
    /* web, website */
    {NULL, "ir_ui_view", "active,key",
     "UPDATE ir_ui_view SET active = true WHERE key IN ('web.neutralize_banner', 'website.neutralize_ribbon')"},
    {NULL, "website", "domain", "UPDATE website SET domain = NULL"},
    {NULL, "website", "cdn_activated", "UPDATE website SET cdn_activated = false"},
    {NULL, "website", "robots_txt", "UPDATE website SET robots_txt = E'User-agent: *\\nDisallow: /'"},
    /* electronic invoicing */
    {NULL, "account_edi_proxy_client_user", "edi_mode,proxy_type",
     "UPDATE account_edi_proxy_client_user SET edi_mode = CASE WHEN proxy_type IN ('l10n_it_edi', 'peppol', "
     "'nemhandel', 'pdp') THEN 'demo' ELSE 'test' END WHERE proxy_type NOT IN ('l10n_my_edi', 'l10n_gr_edi')"},
    {NULL, "l10n_it_edi_config", "l10n_it_edi_register", "UPDATE l10n_it_edi_config SET l10n_it_edi_register = false"},
    /* calendars */
    {NULL, "res_users_settings", "google_calendar_rtoken,google_calendar_token,google_synchronization_stopped",
     "UPDATE res_users_settings SET google_calendar_rtoken = NULL, google_calendar_token = NULL, "
     "google_synchronization_stopped = true"},
    {NULL, "google_calendar_credentials", "calendar_rtoken,calendar_token,synchronization_stopped",
     "UPDATE google_calendar_credentials SET calendar_rtoken = NULL, calendar_token = NULL, "
     "synchronization_stopped = true"},
    {NULL, "res_users", "microsoft_calendar_token,microsoft_calendar_rtoken",
     "UPDATE res_users SET microsoft_calendar_token = NULL, microsoft_calendar_rtoken = NULL"},
    {NULL, "res_users_settings",
     "microsoft_calendar_sync_token,microsoft_synchronization_stopped,microsoft_last_sync_date",
     "UPDATE res_users_settings SET microsoft_calendar_sync_token = NULL, microsoft_synchronization_stopped = true, "
     "microsoft_last_sync_date = NULL"},
    /* cloud storage, point of sale */
    ICP_DELETE("cloud_storage", "cloud_storage_provider"),
    {NULL, "pos_payment_method", "adyen_test_mode", "UPDATE pos_payment_method SET adyen_test_mode = true"},
    /* the marker, always last */
    ICP_SET(NULL, "database.is_neutralized", "true"),
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

/* 1 when the statement applies (table, columns, module), 0 when not, -1 on error */
static int applies(PGconn *c, const struct stmt *s, struct odbk_err *err)
{
    const char *params[3] = {s->table, s->columns, s->module ? s->module : ""};
    PGresult *r = PQexecParams(
        c,
        "SELECT to_regclass($1) IS NOT NULL "
        "AND (SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped "
        "     AND attname = ANY (string_to_array(NULLIF($2, ''), ','))) "
        "  = coalesce(array_length(string_to_array(NULLIF($2, ''), ','), 1), 0) "
        "AND ($3 = '' OR (to_regclass('ir_module_module') IS NOT NULL AND EXISTS (SELECT 1 FROM ir_module_module "
        "     WHERE name = $3 AND state IN ('installed', 'to upgrade', 'to remove'))))",
        3, NULL, params, NULL, NULL, 0);
    int ok;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        odbk_err_set(err, ODBK_E_FAILED, "cannot inspect table '%s': %s", s->table, PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    ok = !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    return ok;
}

int odbk_odoo_neutralize(PGconn *c, int *applied, struct odbk_err *err)
{
    size_t i;
    int n = 0;
    if (odbk_pg_exec(c, "BEGIN", err) < 0)
        return -1;
    if (odbk_pg_exec(c, "SET LOCAL lock_timeout = '30s'", err) < 0 || in_public(c, err) < 0)
        goto fail;
    for (i = 0; i < sizeof(neutralize) / sizeof(neutralize[0]); i++) {
        const struct stmt *s = &neutralize[i];
        int a = applies(c, s, err);
        if (a < 0)
            goto fail;
        if (!a)
            continue;
        if (odbk_pg_exec(c, s->sql, err) < 0) {
            odbk_err_prefix(err, "neutralization of '%s' failed", s->table);
            goto fail;
        }
        n++;
    }
    if (odbk_pg_exec(c, "COMMIT", err) < 0)
        goto fail;
    if (applied)
        *applied = n;
    return 0;
fail:
    {
        struct odbk_err e2;
        odbk_pg_exec(c, "ROLLBACK", &e2);
    }
    return -1;
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
