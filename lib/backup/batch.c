/* batch.c - a run of several backups: each env in turn, its notification, and for odbk-create --due the
 * lock, the envs whose schedule fired and the failed attempts recorded for the retry backoff
 * (odbk-create(1), odbk-schedules(7)). */
#include <stdlib.h>

#include "backup/backup.h"
#include "common/interrupt.h"
#include "common/util.h"
#include "notify/notify.h"
#include "policy/schedule.h"

size_t odbk_backup_create_each(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *const *envs,
                               size_t n, struct odbk_create_opts *opts, int scheduled, odbk_create_outcome_cb cb,
                               void *ctx)
{
    size_t i, failed = 0;
    for (i = 0; i < n && !odbk_interrupted(); i++) {
        struct odbk_backup b;
        struct odbk_err e = {0}, ne = {0}, re = {0};
        struct odbk_create_outcome out = {envs[i], NULL, NULL, NULL, NULL, NULL, 0};
        time_t started = odbk_now();
        int made = odbk_backup_create(cfg, cat, envs[i], opts, &b, &e);
        if (made == 2 || made == 3) {   /* --due: another host's (2), or held by a collection (3) */
            out.skipped = &e;
            out.deferred = made == 3;
            cb(ctx, &out);
            continue;
        }
        if (odbk_notify_backup(cfg, envs[i], made < 0 ? NULL : &b, &e, started, &ne) < 0)
            out.notify_err = &ne;
        if (made < 0 && scheduled && odbk_schedule_record_failure(cat, envs[i], NULL, e.msg, &re) < 0)
            out.record_err = &re;
        if (made != 0) {   /* failed, or made but not fully done (1: the backup is kept) */
            out.err = &e;
            failed++;
        }
        if (made >= 0)
            out.backup = &b;
        cb(ctx, &out);
        if (made >= 0)
            odbk_backup_release(&b);
    }
    return failed;
}

int odbk_backup_create_due(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *catalog_path,
                           struct odbk_create_opts *opts, odbk_create_outcome_cb cb, void *ctx, size_t *failed,
                           struct odbk_err *err)
{
    struct odbk_schedule_state *due = NULL;
    size_t *order = NULL;
    size_t n_due = 0, n = 0, i, start = 0;
    int lock = -1, r = -1, shared = odbk_catalog_is_shared(catalog_path);
    time_t now = odbk_now();
    *failed = 0;
    /* a file beside a catalog of this host; a shared catalog's hosts take turns per env instead (the
     * insert of the row refuses a second backup of one fire time: odbk_catalog_backup_insert_due) */
    if (!shared && odbk_schedule_lock(catalog_path, &lock, err) < 0)
        return -1;
    if (!shared && lock < 0)
        return 1;
    if (odbk_schedule_states(cfg, cat, now, &due, &n_due, err) < 0)
        goto out;
    order = odbk_xcalloc(n_due + 1, sizeof(*order));
    for (i = 0; i < n_due; i++)
        if (due[i].due)
            order[n++] = i;
    if (shared && n) {   /* hosts of one catalog start at different envs, not all at the first */
        const unsigned char *h = (const unsigned char *)odbk_hostname();
        unsigned long x = 5381;
        while (*h)
            x = x * 33 + *h++;
        start = x % n;
    }
    opts->type = "scheduled";
    for (i = 0; i < n && !odbk_interrupted(); i++) {
        const struct odbk_schedule_state *st = &due[order[(start + i) % n]];
        const char *env[1];
        env[0] = st->env;
        opts->due_since = st->fired_at ? st->fired_at : now;
        *failed += odbk_backup_create_each(cfg, cat, env, 1, opts, 1, cb, ctx);
    }
    opts->due_since = 0;
    r = 0;
out:
    free(order);
    odbk_schedule_states_free(due, n_due);
    odbk_schedule_unlock(lock);
    return r;
}
