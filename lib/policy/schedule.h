/* schedule.h - when a scheduled backup is due (`odbk-create --due`, `odbk-policy due|next`: odbk-schedules(7)).
 *
 * An env is due when its policy is enabled, has a schedule, and the schedule fired since the env's last
 * successful scheduled backup (missed fire times coalesce into one run).  The rules, in order:
 *
 *   - disabled policy or no schedule: never due (manual backups are still allowed);
 *   - the env has no storage (state not_configured): never due, as no retry can cure that;
 *   - a scheduled backup of the env is still running (pending, in_progress, uploading): not due;
 *   - no scheduled backup and no failed scheduled attempt ever: due at once ("first run"), so a new env is
 *     protected without waiting for up to one period;
 *   - otherwise due when the schedule fired after the last successful scheduled backup (its created_at:
 *     completed, or expired since), and
 *   - after a failed attempt (recorded by odbk_schedule_record_failure), a retry is due when the schedule
 *     fires again, or after a back-off of 5 min, 10 min, 20 min, 40 min, then every 60 min for the next
 *     failures, whichever comes first.  A failing env is thus retried by the next due checks but never in
 *     a tight loop, and a failed run never counts as done.
 *
 * The history comes from the catalog: scheduled backup rows (which survive a --rescan) and audit entries
 * of action "schedule" with result "failed" (one per failed attempt, including attempts that failed before
 * a backup row existed, e.g. PostgreSQL unreachable). */
#ifndef ODBK_POLICY_SCHEDULE_H
#define ODBK_POLICY_SCHEDULE_H

#include <stddef.h>
#include <time.h>

#include "catalog/catalog.h"
#include "config/config.h"
#include "policy/policy.h"

/* What the catalog says about an env's scheduled backups. */
struct odbk_schedule_history {
    time_t last_success;   /* created_at of the newest completed (or expired) scheduled backup; 0: none */
    time_t last_failure;   /* the newest failed attempt after last_success; 0: none */
    int failures;          /* failed attempts after last_success */
    int running;           /* a scheduled backup of the env is in progress */
};

struct odbk_schedule_state {
    char *env;
    int enabled;
    int has_schedule;
    int due;
    const char *reason;    /* "disabled", "no schedule", "running", "first run", "fired", "retry", "backing off",
                              "done", "no storage" */
    time_t fired_at;       /* the latest fire time at or before now (0: none) */
    time_t next_at;        /* the first fire time after now (0: none) */
    time_t retry_at;       /* when backing off: when the retry becomes due */
    struct odbk_schedule_history h;
};

/* The back-off after `failures` consecutive failed attempts, in seconds (5 min doubling, at most 1 h). */
long odbk_schedule_backoff(int failures);

/* The decision alone (no catalog): fills st->due, reason, fired_at, next_at, retry_at from p, h and now. */
int odbk_schedule_decide(const struct odbk_policy *p, const struct odbk_schedule_history *h, time_t now,
                         struct odbk_schedule_state *st, struct odbk_err *err);

/* Read the history of env from the catalog. */
int odbk_schedule_history(struct odbk_catalog *cat, const char *env, struct odbk_schedule_history *h,
                          struct odbk_err *err);

/* The state of every env of the config at `now` (in config order); *out is freed with
 * odbk_schedule_states_free.  A policy that does not load is an error (ODBK_E_CONFIG naming file:line). */
int odbk_schedule_states(const struct odbk_config *cfg, struct odbk_catalog *cat, time_t now,
                         struct odbk_schedule_state **out, size_t *n, struct odbk_err *err);
void odbk_schedule_states_free(struct odbk_schedule_state *v, size_t n);

/* A state as JSON (keys: env, due, reason, enabled, fired_at, next_at, last_scheduled_backup_at,
 * last_failure_at, failures, retry_at); n fire times t of p's schedule as JSON (keys: env, schedule,
 * timezone, next: [{utc, local}]). */
struct cJSON;
struct cJSON *odbk_schedule_state_json(const struct odbk_schedule_state *s);
struct cJSON *odbk_schedule_next_json(const struct odbk_policy *p, const char *env, const time_t *t, size_t n);

/* Record a failed scheduled attempt of env (an audit entry: action "schedule", result "failed", the reason
 * as detail, the backup id when a row was written) so that the next due check backs off. */
int odbk_schedule_record_failure(struct odbk_catalog *cat, const char *env, const char *backup_id,
                                 const char *why, struct odbk_err *err);

/* Hold the due-run lock that sits beside the catalog (catalog_path + ".due.lock", flock): *fd >= 0 when
 * taken, -1 when another `odbk-create --due` holds it (not an error).  Release with odbk_schedule_unlock. */
int odbk_schedule_lock(const char *catalog_path, int *fd, struct odbk_err *err);
void odbk_schedule_unlock(int fd);

/* The next `count` fire times of p's schedule strictly after `after` (out has room for count). */
int odbk_schedule_next(const struct odbk_policy *p, time_t after, time_t *out, size_t count, struct odbk_err *err);

#endif
