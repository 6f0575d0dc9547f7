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

int odbk_odoo_info_read(PGconn *c, struct odbk_odoo_info *out, struct odbk_err *err)
{
    PGresult *r;
    cJSON *mods;
    int i;
    char *s;
    memset(out, 0, sizeof(*out));
    out->base_version = odbk_xstrdup("");
    out->series = odbk_xstrdup("");
    out->modules_json = odbk_xstrdup("{}");
    r = PQexec(c, "SELECT to_regclass('ir_module_module') IS NOT NULL");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        odbk_err_set(err, ODBK_E_UNAVAILABLE, "cannot read the database: %s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    out->is_odoo = PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    if (!out->is_odoo)
        return 0;
    r = PQexec(c, "SELECT name, COALESCE(latest_version, '') FROM ir_module_module WHERE state = 'installed' "
                  "ORDER BY name");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return 0;   /* an odd schema: still a database we can back up */
    }
    mods = cJSON_CreateObject();
    for (i = 0; i < PQntuples(r); i++) {
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
