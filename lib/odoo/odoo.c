/* odoo.c - reading an Odoo database's series and modules. */
#include "odoo/odoo.h"

#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/util.h"

char *odbk_odoo_series(const char *v)
{
    const char *p = v, *dot;
    if (!v || !*v)
        return odbk_xstrdup("");
    dot = strchr(p, '.');
    if (!dot)
        return odbk_xstrdup(v);
    dot = strchr(dot + 1, '.');
    return dot ? odbk_xstrndup(v, (size_t)(dot - v)) : odbk_xstrdup(v);
}

int odbk_odoo_series_ok(const char *s)
{
    size_t a, b;
    if (!s)
        return 0;
    if (!strncmp(s, "saas~", 5))
        s += 5;
    a = strspn(s, "0123456789");
    if (a < 1 || a > 3 || s[a] != '.')
        return 0;
    b = strspn(s + a + 1, "0123456789");
    return b >= 1 && b <= 2 && !s[a + 1 + b];
}

/* The database is the user's (or, for a restore, a file's): nothing in it may run as odbk's connection,
 * often a superuser.  So the session gets search_path = pg_catalog, pg_temp (no operator, function or
 * table of the database can shadow pg_catalog's) and row_security = off (a policy is an error, never an
 * expression run for us); ir_module_module is read only when the catalog says it is a plain table
 * (relkind 'r', read ONLY: no view, rule, partition or inherited foreign table) whose three columns have
 * the built-in types varchar or text (no user type, cast or operator on them).  Anything else is an Odoo
 * database of unknown series. */
int odbk_odoo_info_read(PGconn *c, struct odbk_odoo_info *out, struct odbk_err *err)
{
    PGresult *r;
    cJSON *mods;
    int i, plain;
    char *s;
    memset(out, 0, sizeof(*out));
    out->base_version = odbk_xstrdup("");
    out->series = odbk_xstrdup("");
    out->modules_json = odbk_xstrdup("{}");
    r = PQexec(c, "SET search_path = pg_catalog, pg_temp; SET row_security = off");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        odbk_err_set(err, ODBK_E_UNAVAILABLE, "cannot read the database: %s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    PQclear(r);
    r = PQexec(c, "SELECT c.relkind = 'r' AND (SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute a "
                  "WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
                  "AND a.attname IN ('name', 'latest_version', 'state') "
                  "AND a.atttypid IN ('pg_catalog.varchar'::pg_catalog.regtype, 'pg_catalog.text'::pg_catalog.regtype)) = 3 "
                  "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                  "WHERE n.nspname = 'public' AND c.relname = 'ir_module_module'");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        odbk_err_set(err, ODBK_E_UNAVAILABLE, "cannot read the database: %s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    out->is_odoo = PQntuples(r) == 1;
    plain = out->is_odoo && !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    if (!plain)
        return 0;
    r = PQexec(c, "SELECT name, latest_version FROM ONLY public.ir_module_module "
                  "WHERE state = 'installed' ORDER BY name");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return 0;   /* an odd schema: still a database we can back up */
    }
    mods = cJSON_CreateObject();
    for (i = 0; i < PQntuples(r); i++) {
        /* a module never upgraded has no latest_version: null, as Odoo's dump_db_manifest writes it */
        if (PQgetisnull(r, i, 1))
            cJSON_AddNullToObject(mods, PQgetvalue(r, i, 0));
        else
            cJSON_AddStringToObject(mods, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
        if (!strcmp(PQgetvalue(r, i, 0), "base")) {
            free(out->base_version);
            out->base_version = odbk_xstrdup(PQgetvalue(r, i, 1));
        }
    }
    PQclear(r);
    s = cJSON_PrintUnformatted(mods);
    cJSON_Delete(mods);
    free(out->modules_json);
    out->modules_json = odbk_xstrdup(s);
    free(s);
    free(out->series);
    out->series = odbk_odoo_series(out->base_version);
    {
        const char *p = out->series;
        if (!strncmp(p, "saas~", 5))
            p += 5;
        out->major = atoi(p);
    }
    return 0;
}

void odbk_odoo_info_release(struct odbk_odoo_info *info)
{
    free(info->base_version);
    free(info->series);
    free(info->modules_json);
    memset(info, 0, sizeof(*info));
}
