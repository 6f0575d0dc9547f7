/* policy.h - the effective policy of an environment (odbk.conf(5) [policy] and [policy ENV]): built-in
 * defaults, overridden by the organization's [policy] section, overridden key by key by the env's own
 * [policy ENV] section (the "custom policy").  Every key remembers where its value came from, for `odbk-policy show`.
 *
 * Built-in defaults (odbk.conf(5)): enabled = true, schedule = @daily, timezone = UTC, keep-within-daily =
 * 7d, keep-within-weekly = 4w, keep-within-monthly = 12m, keep-within-yearly = 2y, notify-on = failure,
 * warning-after = 1d, danger-after = 5d.  A key set to an empty value is unset at that level (so a
 * custom policy can drop an inherited rule). */
#ifndef ODBK_POLICY_H
#define ODBK_POLICY_H

#include <stdint.h>

#include "config/config.h"
#include "policy/cron.h"
#include "policy/retention.h"

#define ODBK_POLICY_MAX_KEYS 32

struct odbk_policy_value {
    const char *key;
    char *value;          /* "" when unset */
    const char *source;   /* "default", "organization" or "custom" */
    const char *file;     /* where it was set (NULL for defaults) */
    int line;
};

struct odbk_policy {
    char *env;                      /* NULL for the organization default */
    int custom;                     /* the env has a [policy ENV] section */
    int enabled;
    int has_schedule;
    struct odbk_cron cron;
    char timezone[128];
    struct odbk_retention_policy retention;
    int notify_success, notify_failure;
    const char *notify_command;     /* "" when unset (points into values) */
    const char *notify_url;
    int64_t notify_timeout;         /* seconds */
    int64_t compliance_window;      /* seconds; 0 = derived from the schedule */
    int64_t warning_after, danger_after;   /* env state thresholds, seconds */
    struct odbk_policy_value values[ODBK_POLICY_MAX_KEYS];
    size_t n_values;
};

/* Every key a [policy] section accepts, NULL-terminated. */
extern const char *const odbk_policy_keys[];

/* The effective policy as JSON (keys: env, custom, keys: [{key, value, source, file, line}]). */
struct cJSON;
struct cJSON *odbk_policy_json(const struct odbk_policy *p, const char *env);

/* The effective policy of env (NULL: the organization default).  Errors name file:line. */
int odbk_policy_load(const struct odbk_config *cfg, const char *env, struct odbk_policy *out, struct odbk_err *err);
void odbk_policy_release(struct odbk_policy *p);
/* A run over many envs: the envs without a [policy ENV] section share one load of the organization's policy
 * (*shared, loaded at the first of them: *have_shared 0 → 1), the others are loaded into *own (release it
 * after each env).  The policy to use, or NULL (err set).  States and --due over 10,000 envs parse the
 * policy a handful of times, not 10,000; a shared policy's env is the first env that loaded it. */
const struct odbk_policy *odbk_policy_for(const struct odbk_config *cfg, const char *env, struct odbk_policy *shared,
                                          int *have_shared, struct odbk_policy *own, struct odbk_err *err);
/* The value record of key, or NULL. */
const struct odbk_policy_value *odbk_policy_value(const struct odbk_policy *p, const char *key);

/* Validate the whole config: every section's keys and values, storage sections, policies of unknown envs.
 * Calls report() once per problem (with a message naming file:line); returns the number of problems. */
typedef void (*odbk_policy_report_cb)(void *ctx, const struct odbk_err *problem);
int odbk_policy_check_config(const struct odbk_config *cfg, odbk_policy_report_cb report, void *ctx);

#endif
