/* probe.c - see probe.h. */
#include "backup/probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"
#include "common/util.h"
#include "odoo/odoo.h"
#include "pg/pg.h"
#include "storage/storage.h"

/* the first object listed ends the listing: one small request */
static int first_entry(void *ctx, const struct odbk_storage_entry *e)
{
    (void)e;
    *(int *)ctx = 1;
    return 1;
}

static int probe_storage(const struct odbk_config *cfg, const char *name, char **detail, struct odbk_err *err)
{
    struct odbk_storage *st = NULL;
    int seen = 0, r;
    /* as every program opens it, its marker checked (no catalog here: a file that is no marker shows, an
     * unmounted disk only against the catalog's backups), and nothing written */
    if (odbk_backup_storage_open(cfg, NULL, name, 0, &st, err) < 0)
        return -1;
    r = odbk_storage_list(st, "", first_entry, &seen, err);
    if (r >= 0)
        *detail = odbk_xasprintf("type %s, listed, %s", st->driver->type,
                                 seen ? "holds objects" : "empty, nothing stored yet");
    odbk_storage_close(st);
    if (r < 0)
        odbk_err_prefix(err, "storage '%s'", name);
    return r < 0 ? -1 : 0;
}

static int probe_env(const struct odbk_config *cfg, const char *name, char **detail, struct odbk_err *err)
{
    struct odbk_env env;
    struct odbk_odoo_info info = {0};
    PGconn *pg = NULL;
    char *tool = NULL, sv[32];
    int r = -1;
    if (odbk_config_env(cfg, name, &env, err) < 0)
        return -1;
    if (odbk_pg_connect(env.pg, env.database, &pg, err) < 0)
        goto out;
    odbk_pg_version_string(PQserverVersion(pg), sv);
    if (odbk_pg_tool(PQserverVersion(pg), "pg_dump", odbk_config_get(env.section, "pg-bindir"), &tool, err) < 0)
        goto out;
    if (odbk_odoo_info_read(pg, &info, err) < 0)
        goto out;
    if (!info.is_odoo) {
        odbk_err_set(err, ODBK_E_DATA, "database '%s' is not an Odoo database (no ir_module_module)", env.database);
        odbk_err_hint(err, "check 'database =' in [env %s]", name);
        goto out;
    }
    if (odbk_backup_filestore_check(&env, err) < 0)
        goto out;
    *detail = odbk_xasprintf("PostgreSQL %s, Odoo %s, database %s, filestore %s", sv,
                             *info.series ? info.series : "of unknown series", env.database, env.filestore);
    r = 0;
out:
    if (r < 0)
        odbk_err_prefix(err, "environment '%s'", name);
    PQfinish(pg);
    free(tool);
    odbk_odoo_info_release(&info);
    odbk_env_release(&env);
    return r;
}

size_t odbk_probe_config(const struct odbk_config *cfg, odbk_probe_cb cb, void *ctx, struct odbk_err *first)
{
    size_t i, failed = 0;
    int pass;
    for (pass = 0; pass < 2; pass++) {
        const char *kind = pass ? "env" : "storage";
        for (i = 0; i < cfg->n_sections; i++) {
            const struct odbk_config_section *sec = &cfg->sections[i];
            struct odbk_err e = {0};
            struct odbk_probe p = {kind, sec->name, NULL, NULL};
            char *detail = NULL;
            int r;
            if (strcmp(sec->kind, kind) || !sec->name)
                continue;
            r = pass ? probe_env(cfg, sec->name, &detail, &e) : probe_storage(cfg, sec->name, &detail, &e);
            if (r < 0) {
                if (!failed++ && first)
                    *first = e;
                p.err = &e;
            }
            p.detail = detail;
            cb(ctx, &p);
            free(detail);
        }
    }
    return failed;
}
