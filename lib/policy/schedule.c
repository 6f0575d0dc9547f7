/* schedule.c - due decisions for scheduled backups; the rules are in schedule.h. */
#include "policy/schedule.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/util.h"

long odbk_schedule_backoff(int failures)
{
    long b = 300;
    int i;
    for (i = 1; i < failures && b < 3600; i++)
        b *= 2;
    return b < 3600 ? b : 3600;
}

/* The next fire time after now and the last one at or before it (0 if none in the searched past): the same
 * for every env of one schedule and zone, so --due over 10,000 envs computes them once per (schedule, zone,
 * now), not per env (each cron step enters the zone: a tzset that reads its file). */
#define FIRE_MEMO 64
static struct fire_memo {
    char *cron, *zone;
    time_t now, next, fired;
} fire_memo[FIRE_MEMO];
static size_t n_fire_memo;
static pthread_mutex_t fire_lock = PTHREAD_MUTEX_INITIALIZER;

static int fire_times(const struct odbk_policy *p, time_t now, time_t *next, time_t *fired, struct odbk_err *err)
{
    const char *zone = p->timezone;
    int cut = strlen(p->cron.text) >= sizeof(p->cron.text) - 1;   /* the text does not name it */
    size_t i;
    pthread_mutex_lock(&fire_lock);
    for (i = 0; !cut && i < n_fire_memo; i++)
        if (fire_memo[i].now == now && !strcmp(fire_memo[i].cron, p->cron.text) && !strcmp(fire_memo[i].zone, zone)) {
            *next = fire_memo[i].next;
            *fired = fire_memo[i].fired;
            pthread_mutex_unlock(&fire_lock);
            return 0;
        }
    pthread_mutex_unlock(&fire_lock);
    if (odbk_cron_next(&p->cron, now, p->timezone, next, err) < 0)
        return -1;
    if (odbk_cron_prev(&p->cron, now, p->timezone, fired, err) < 0)
        *fired = 0, odbk_err_clear(err);   /* never fired in the searched past: fine */
    pthread_mutex_lock(&fire_lock);
    if (!cut && n_fire_memo < FIRE_MEMO) {
        fire_memo[n_fire_memo].cron = odbk_xstrdup(p->cron.text);
        fire_memo[n_fire_memo].zone = odbk_xstrdup(zone);
        fire_memo[n_fire_memo].now = now;
        fire_memo[n_fire_memo].next = *next;
        fire_memo[n_fire_memo++].fired = *fired;
    }
    pthread_mutex_unlock(&fire_lock);
    return 0;
}

/* Did the schedule fire in (since, now]?  The last fire time at or before now tells, when there is one
 * (fire_times); else the walk from since. */
static int fired_since(const struct odbk_policy *p, const struct odbk_schedule_state *st, time_t since, time_t now,
                       int *fired, struct odbk_err *err)
{
    if (st->fired_at) {
        *fired = st->fired_at > since;
        return 0;
    }
    return odbk_cron_fired(&p->cron, since, now, p->timezone, fired, err);
}

int odbk_schedule_decide(const struct odbk_policy *p, const struct odbk_schedule_history *h, time_t now,
                         struct odbk_schedule_state *st, struct odbk_err *err)
{
    int fired = 0;
    st->enabled = p->enabled;
    st->has_schedule = p->has_schedule;
    st->due = 0;
    st->fired_at = st->next_at = st->retry_at = 0;
    st->h = *h;
    if (!p->has_schedule) {
        st->reason = "no schedule";
        return 0;
    }
    if (fire_times(p, now, &st->next_at, &st->fired_at, err) < 0)
        return -1;
    if (!p->enabled) {
        st->reason = "disabled";
        return 0;
    }
    if (h->running) {
        st->reason = "running";
        return 0;
    }
    if (!h->last_success && !h->failures) {
        st->due = 1;
        st->reason = "first run";
        return 0;
    }
    /* fired since the last success?  (no success yet: since the beginning of time) */
    if (h->last_success && fired_since(p, st, h->last_success, now, &fired, err) < 0)
        return -1;
    if (h->last_success && !fired) {
        st->reason = "done";
        return 0;
    }
    if (!h->failures || h->last_failure <= h->last_success) {
        st->due = 1;
        st->reason = "fired";
        return 0;
    }
    /* a failed attempt since: retry at the next fire time, or after the back-off */
    if (fired_since(p, st, h->last_failure, now, &fired, err) < 0)
        return -1;
    st->retry_at = h->last_failure + odbk_schedule_backoff(h->failures);
    if (fired || now >= st->retry_at) {
        st->due = 1;
        st->reason = "retry";
    } else {
        st->reason = "backing off";
    }
    return 0;
}

/* The history --due decides on, from the env's figures (NULL: an env without rows). */
static void history_of(const struct odbk_env_summary *s, struct odbk_schedule_history *h)
{
    memset(h, 0, sizeof(*h));
    if (!s)
        return;
    h->running = s->running;
    h->last_success = s->last_scheduled_success;
    h->failures = (int)s->schedule_failures;
    h->last_failure = s->schedule_failed_at;
}

int odbk_schedule_history(struct odbk_catalog *cat, const char *env, struct odbk_schedule_history *h,
                          struct odbk_err *err)
{
    struct odbk_env_summary s;
    memset(h, 0, sizeof(*h));
    if (odbk_catalog_env_summary(cat, env, &s, err) < 0)
        return -1;
    history_of(&s, h);
    odbk_env_summary_release(&s);
    return 0;
}

void odbk_schedule_states_free(struct odbk_schedule_state *v, size_t n)
{
    size_t i;
    for (i = 0; v && i < n; i++)
        free(v[i].env);
    free(v);
}

int odbk_schedule_states(const struct odbk_config *cfg, struct odbk_catalog *cat, time_t now,
                         struct odbk_schedule_state **out, size_t *n_out, struct odbk_err *err)
{
    const char **names = NULL;
    size_t n = odbk_config_env_names(cfg, &names), i;
    struct odbk_schedule_state *v = odbk_xcalloc(n + 1, sizeof(*v));
    struct odbk_env_summaries all = {0};
    struct odbk_policy shared, own;
    int r = -1, have_shared = 0;
    /* every env's figures in one read, not one query per env */
    if (odbk_catalog_env_summaries(cat, &all, err) < 0)
        goto out;
    for (i = 0; i < n; i++) {
        const struct odbk_policy *p;
        struct odbk_schedule_history h = {0};
        v[i].env = odbk_xstrdup(names[i]);
        if (!(p = odbk_policy_for(cfg, names[i], &shared, &have_shared, &own, err)))
            goto out;
        if (p->enabled && p->has_schedule)
            history_of(odbk_env_summaries_find(&all, names[i]), &h);
        if (odbk_schedule_decide(p, &h, now, &v[i], err) < 0) {
            odbk_err_prefix(err, "environment '%s'", names[i]);
            odbk_policy_release(&own);
            goto out;
        }
        odbk_policy_release(&own);
        if (v[i].due) {   /* a retry cannot cure a missing storage: not_configured, not due */
            struct odbk_env e;
            if (odbk_config_env(cfg, names[i], &e, err) < 0)
                goto out;
            if (!e.storage) {
                v[i].due = 0;
                v[i].reason = "no storage";
            }
            odbk_env_release(&e);
        }
    }
    r = 0;
out:
    free(names);
    odbk_env_summaries_release(&all);
    if (have_shared)
        odbk_policy_release(&shared);
    if (r < 0) {
        odbk_schedule_states_free(v, n);
        v = NULL;
        n = 0;
    }
    *out = v;
    *n_out = n;
    return r;
}

int odbk_schedule_record_failure(struct odbk_catalog *cat, const char *env, const char *backup_id,
                                 const char *why, struct odbk_err *err)
{
    struct odbk_audit a = {0};
    a.action = "schedule";
    a.env = (char *)env;
    a.backup_id = (char *)backup_id;
    a.options = "scheduled";
    a.result = "failed";
    a.detail = (char *)why;
    return odbk_catalog_audit_add(cat, &a, err);
}

int odbk_schedule_lock(const char *catalog_path, int *fd, struct odbk_err *err)
{
    char *path = odbk_xasprintf("%s.due.lock", catalog_path);
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    *fd = -1;
    if (f < 0) {
        odbk_err_sys(err, ODBK_E_IO, "cannot open the lock file '%s'", path);
        free(path);
        return -1;
    }
    if (flock(f, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(f);
        if (e == EWOULDBLOCK) {
            free(path);
            return 0;
        }
        errno = e;
        odbk_err_sys(err, ODBK_E_IO, "cannot lock '%s'", path);
        free(path);
        return -1;
    }
    free(path);
    *fd = f;
    return 0;
}

void odbk_schedule_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}

int odbk_schedule_next(const struct odbk_policy *p, time_t after, time_t *out, size_t count, struct odbk_err *err)
{
    size_t i;
    if (!p->has_schedule)
        return odbk_err_set(err, ODBK_E_CONFIG, "environment '%s' has no schedule", p->env ? p->env : "(default)");
    for (i = 0; i < count; i++) {
        if (odbk_cron_next(&p->cron, after, p->timezone, &out[i], err) < 0)
            return -1;
        after = out[i];
    }
    return 0;
}
