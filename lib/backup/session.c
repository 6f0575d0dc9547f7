/* session.c - the start of every program's work (session.h). */
#include "backup/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "backup/backup.h"
#include "common/interrupt.h"
#include "common/util.h"

/* A program that only reports: count what awaits the writing programs, change nothing.  One line:
 * "a killed restore of prod awaits recovery and the objects of 2 failed backups await removal: the next
 * odbk-create, odbk-restore or odbk-prune finishes them". */
static void count_pending(struct odbk_session *s)
{
    struct odbk_restore_temp *v = NULL;
    struct odbk_removal *rm = NULL;
    struct odbk_err ignored = {0};
    size_t n = 0, nrm = 0, i;
    char *what = NULL, *more;
    if (odbk_restore_pending(s->cat, &v, &n, &ignored) == 0 && n) {
        /* the env's name when it has one (a --new-db or --test copy: its database) */
        const char *first = v[0].env && *v[0].env ? v[0].env : v[0].target_db;
        if (n == 1)
            what = odbk_xasprintf("a killed restore of %s awaits recovery", first);
        else
            what = odbk_xasprintf("%zu killed restores (of %s", n, first);
        for (i = 1; i < n; i++) {
            const char *e = v[i].env && *v[i].env ? v[i].env : v[i].target_db;
            more = odbk_xasprintf("%s, %s", what, e);
            free(what);
            what = more;
        }
        if (n > 1) {
            more = odbk_xasprintf("%s) await recovery", what);
            free(what);
            what = more;
        }
    }
    if (odbk_catalog_removal_list(s->cat, &rm, &nrm, &ignored) == 0 && nrm) {
        more = odbk_xasprintf("%s%sthe objects of %zu failed backup%s await removal", what ? what : "",
                              what ? " and " : "", nrm, nrm == 1 ? "" : "s");
        free(what);
        what = more;
    }
    if (what) {
        s->pending = odbk_xasprintf("%s: the next odbk-create, odbk-restore or odbk-prune finishes %s", what,
                                    n + nrm == 1 ? "it" : "them");
        free(what);
    }
    s->pending_restores = n;
    s->pending_removals = nrm;
    odbk_restore_temp_list_free(v, n);
    odbk_removal_list_free(rm, nrm);
}

void odbk_session_warn_pending(const struct odbk_session *s, const char *prog)
{
    if (s->pending)
        fprintf(stderr, "%s: warning: %s\n", prog, s->pending);   /* lint-ok: a printer programs call */
}

void odbk_session_pending_json(const struct odbk_session *s, struct cJSON *o)
{
    cJSON *p;
    if (!s->pending)
        return;
    p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "restores", (double)s->pending_restores);
    cJSON_AddNumberToObject(p, "removals", (double)s->pending_removals);
    cJSON_AddStringToObject(p, "message", s->pending);
    cJSON_AddItemToObject(o, "pending", p);
}

int odbk_session_open(struct odbk_session *s, const char *config, const char *catalog, unsigned flags,
                      struct odbk_err *err)
{
    struct odbk_err ignored = {0};
    memset(s, 0, sizeof(*s));
    if (odbk_config_load(config, !!(flags & ODBK_SESSION_CONFIG_OPTIONAL), &s->cfg, err) < 0)
        goto fail;
    if (flags & ODBK_SESSION_NO_CATALOG)
        return 0;
    {
        char *password = NULL;
        int r = odbk_config_catalog(s->cfg, catalog, &s->catalog_path, &password, err);
        if (r == 0)
            r = odbk_catalog_open_secret(s->catalog_path, password, &s->cat, err);
        if (password) {
            explicit_bzero(password, strlen(password));
            free(password);
        }
        if (r < 0)
            goto fail;
    }
    if (flags & ODBK_SESSION_INTERRUPT)
        odbk_interrupt_install();
    /* the leftovers of failed runs that could not be removed then, and killed restores: not errors of this
     * program, which goes on whatever they give */
    if (flags & ODBK_SESSION_CLEANUP)
        odbk_backup_retry_removals(s->cfg, s->cat, &ignored);
    else if (flags & ODBK_SESSION_RECOVER)
        odbk_restore_recover(s->cfg, s->cat, &ignored);
    else
        count_pending(s);
    if ((flags & ODBK_SESSION_REAP) && odbk_backup_reap_stale(s->cfg, s->cat, err) < 0)
        goto fail;
    return 0;
fail:
    odbk_session_close(s);
    return -1;
}

void odbk_session_close(struct odbk_session *s)
{
    odbk_catalog_close(s->cat);
    odbk_config_free(s->cfg);
    free(s->catalog_path);
    free(s->pending);
    memset(s, 0, sizeof(*s));
}
