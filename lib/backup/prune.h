/* prune.h - apply an environment's retention to its backups: the catalog rows and the stored files
 * (odbk-prune, and odbk-policy plan ENV for the plan alone).
 *
 * One env at a time, one retention group per storage the env's backups live in (odbk-prune(1)).  Per
 * group, the completed backups go through the retention engine (policy/retention.h) with the env's
 * effective policy; each row's `retention` column becomes its tier (permanent included).  On top of the
 * engine, the newest completed backup of the env is always kept.  What no rule keeps is "expired": the
 * row is marked `expired` first (so nothing restores from a half-deleted backup), then its folder is
 * removed from storage, then an audit entry is written; the row stays as history.  Failed and expired
 * rows whose folder is still in storage (a run that died, a deletion that was interrupted) have their
 * leftovers removed; their rows stay as they are.  Rows still running are never touched.  A removal
 * deletes the manifest first.  Then each storage of the env's rows has its packs collected (backup/gc.h):
 * those no remaining backup needs are deleted (a dry run lists them).
 *
 * Guards, all checked before anything is deleted:
 *   - an env whose effective policy has no rule: ODBK_E_CONFIG, nothing done (odbk_prune_policy);
 *   - an env whose latest finished run failed: ODBK_E_FAILED, nothing done, unless opts->force;
 *   - by hand (odbk_prune_backup): a permanent backup, or the env's newest completed one, needs force.
 */
#ifndef ODBK_BACKUP_PRUNE_H
#define ODBK_BACKUP_PRUNE_H

#include <stddef.h>
#include <time.h>

#include "backup/gc.h"
#include "catalog/catalog.h"
#include "config/config.h"
#include "policy/policy.h"
#include "policy/retention.h"

enum odbk_prune_action {
    ODBK_PRUNE_KEEP,     /* a rule (or a guard) keeps it */
    ODBK_PRUNE_EXPIRE,   /* completed and kept by nothing: mark expired, delete its files */
    ODBK_PRUNE_CLEAN,    /* failed or expired, files still in storage: delete them */
};

struct odbk_prune_item {
    struct odbk_backup b;           /* the catalog row as it was before the run */
    enum odbk_prune_action action;
    char **reasons;                 /* KEEP: why ("daily", "permanent", "newest", ...) */
    size_t n_reasons;
    int done;                       /* EXPIRE/CLEAN carried out (never in a dry run) */
    char *error;                    /* why carrying it out failed, or NULL */
};

struct odbk_prune_report {
    char *env;
    char *policy;                   /* odbk_retention_policy_describe() of the rules applied */
    char *skipped;                  /* why nothing was done in this env, or NULL */
    struct odbk_prune_item *items;  /* newest first: completed rows, and failed/expired rows with files */
    size_t n;
    size_t n_keep, n_expire, n_clean, n_failed;
    size_t n_swept;                 /* unfinished uploads older than a day aborted (S3 multipart debris) */
    char *sweep_warning;            /* why the sweep of unfinished uploads failed, or NULL (not an error) */
    /* The packs collected (a dry run: that would be) once the removals are done, one report per storage of
     * the env's rows that holds packs (backup/gc.h). */
    struct odbk_gc_report *gc;
    size_t n_gc;
    char *gc_error;                 /* why a collection did not run or failed (also in the run's error), or NULL */
    char *gc_warning;               /* a storage this run removed nothing from could not be opened, or NULL */
    /* A dry run answered from the env's plan record (opts->records): the env's retention is clean, every
     * completed backup kept (n_keep of them), nothing to expire or clean, no pack to delete; no items. */
    int from_record;
    int recorded;                   /* a real run wrote the env's plan record (clean until recorded_until) */
    time_t recorded_until;
};

struct odbk_prune_opts {
    int dry_run;     /* plan and look at storage, change nothing */
    int plan_only;   /* plan from the catalog alone (no storage, no latest-run guard): odbk-policy plan */
    int force;       /* act even when the env's latest run failed */
    /* Rules to apply instead of the env's policy (odbk-policy plan ENV --keep-…), or NULL.  An empty
     * timezone takes the env's. */
    const struct odbk_retention_policy *rules;
    time_t now;      /* 0: odbk_now() */
    /* A dry run's plan records (odbk_catalog_env_summaries), or NULL: an env whose record covers now under
     * its policy is answered from it (report->from_record) without reading its rows or its storage. */
    const struct odbk_env_summaries *records;
    /* The env's effective retention as odbk_prune_policies found it (policy, and its description), or NULL:
     * odbk_prune_env then reads it from the config itself. */
    const struct odbk_retention_policy *policy;
    const char *policy_text;
};

/* The effective retention of many envs (odbk_prune_policy of each), the organization's computed once for
 * every env without a [policy ENV] of its own: rules[i] and text[i] (odbk_retention_policy_describe; the
 * caller frees the n strings and both arrays), or for an env that has a problem text[i] NULL and a report
 * (each env's error, in order).  Returns the number of envs with a problem. */
typedef void (*odbk_prune_policy_cb)(void *ctx, const char *env, const struct odbk_err *e);
size_t odbk_prune_policies(const struct odbk_config *cfg, const char *const *envs, size_t n,
                           struct odbk_retention_policy **rules, char ***text, odbk_prune_policy_cb report, void *ctx);

/* The effective retention of env, refusing an empty one (ODBK_E_CONFIG naming the env); config errors
 * name file:line.  Call it for every env before pruning any, so that a bad config deletes nothing. */
int odbk_prune_policy(const struct odbk_config *cfg, const char *env, struct odbk_retention_policy *out,
                      struct odbk_err *err);

/* Plan and (unless dry_run/plan_only) carry out the retention of env.  The planning reads the env's rows
 * that are not expired (through the (env, status) index) and, where storage is looked at, the expired rows
 * only when a storage holds the folder of one (leftovers).  A real run that leaves the env clean (nothing
 * failed, every completed backup kept, no pack left to collect) writes the env's plan record
 * (odbk_catalog_plan_record) with the time its plan stays clean until (odbk_retention_stable_until); a dry
 * run with opts->records uses it, and its counts are those of the plan it stands for.   *out is filled whenever the env's
 * rows could be read, even on failure (then it says what was done).  Returns -1 with err when the env
 * was skipped (ODBK_E_FAILED: latest run failed), a guard refused, or any deletion failed (the first
 * failure; every item with a failure has its error). */
int odbk_prune_env(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *env,
                   const struct odbk_prune_opts *opts, struct odbk_prune_report *out, struct odbk_err *err);
void odbk_prune_report_release(struct odbk_prune_report *r);

/* Delete one backup by hand (odbk-prune --backup): mark it expired, remove its files (its manifest first),
 * audit "delete", then collect the env's packs in its storage (*gc, release it: backup/gc.h).
 * A permanent backup or the env's newest completed backup needs opts->force; a running one is refused
 * (ODBK_E_TEMPFAIL).  A failed or expired row only has its leftover files removed.  *out describes it.
 * 0 done; 1 the backup deleted, its packs not collected (err says why: ODBK_E_TEMPFAIL while a backup of
 * the env runs); -1 nothing deleted, or its deletion failed. */
int odbk_prune_backup(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *id,
                      const struct odbk_prune_opts *opts, struct odbk_prune_item *out, struct odbk_gc_report *gc,
                      struct odbk_err *err);
void odbk_prune_item_release(struct odbk_prune_item *it);

/* odbk-prune --collect: collect env's packs now, whatever the catalog says is due (packs a crashed run or
 * another host left, a catalog lost and rebuilt), in storage, or (NULL) in every storage of the env's rows,
 * the env's own and those due; unfinished uploads under the env older than a day are swept first (not in a
 * dry run: it lists what would go).  No retention is applied.  *out's env, gc, n_swept, sweep_warning and
 * gc_error are filled; -1 with err when a storage could not be opened or a collection failed or was
 * refused (ODBK_E_TEMPFAIL: a backup of env runs). */
int odbk_prune_collect(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *env, const char *storage,
                       const struct odbk_prune_opts *opts, struct odbk_prune_report *out, struct odbk_err *err);

const char *odbk_prune_action_name(enum odbk_prune_action a);
/* odbk-policy check: every problem of the config (odbk_policy_check_config) and every env whose policy
 * has no rule (odbk-prune refuses those), each message once (an organization problem is found once per
 * env that inherits it) to report, in order; returns the number of problems. */
size_t odbk_prune_check_config(const struct odbk_config *cfg, odbk_policy_report_cb report, void *ctx);

/* One backup of a plan or a prune as JSON (odbk(7) JSON OUTPUT): id, env, storage, created_at, status,
 * retention, action (keep, expire, clean), reasons, done, error. */
struct cJSON;
struct cJSON *odbk_prune_item_json(const struct odbk_prune_item *it);

#endif
