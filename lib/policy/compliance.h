/* compliance.h - environment states (odbk(7), States) and backup compliance (odbk-compliance(1)).
 *
 * State of an env, from the age of its latest completed backup (created_at; failed, running and expired
 * backups do not count) and its policy's thresholds:
 *   not_configured  the env has no storage;
 *   normal          age < warning-after (default 1d);
 *   warning         warning-after <= age < danger-after (default 5d);
 *   danger          age >= danger-after, or no completed backup at all.
 * The state does not depend on `enabled`: a disabled env that is not backed up is in danger all the same.
 *
 * Compliance = enabled envs with a recent completed backup / enabled envs x 100; disabled envs count in
 * neither.  Recent = younger than the policy's compliance-window; by default one day when the schedule
 * fires at least once a day (a gap of up to 25 hours counts as daily, for the DST change), otherwise the
 * longest gap between consecutive fire times over the coming year (or until two fire times were seen, for
 * schedules such as `0 0 29 2 *`) plus one hour.  An env without a schedule has a one-day window.  An
 * enabled env without storage counts in the denominator only. */
#ifndef ODBK_POLICY_COMPLIANCE_H
#define ODBK_POLICY_COMPLIANCE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "catalog/catalog.h"
#include "config/config.h"
#include "policy/policy.h"

#define ODBK_ENV_NORMAL "normal"
#define ODBK_ENV_WARNING "warning"
#define ODBK_ENV_DANGER "danger"
#define ODBK_ENV_NOT_CONFIGURED "not_configured"

struct odbk_env_status {
    char *env;
    char *project;            /* "" when unset */
    char *storage;            /* NULL: not configured */
    int enabled;
    const char *policy_source;/* "custom" (the env has a [policy ENV] section) or "default" (organization) */
    const char *state;        /* ODBK_ENV_* */
    size_t backups;           /* completed backups in the catalog */
    char *latest_id;          /* newest completed backup, or NULL */
    time_t latest_at;         /* its created_at, 0 when none */
    int64_t age;              /* now - latest_at; -1 when none */
    int64_t window;           /* compliance window, seconds */
    int recent;               /* latest completed backup younger than window */
    char *failed_id;          /* a failed backup newer than the latest completed one (the newest), or NULL */
    time_t failed_at;
    char *failed_error;       /* its error */
};

/* The state name for an env with (or without) storage whose latest completed backup was made at latest_at
 * (0: none), at now. */
const char *odbk_env_state(const struct odbk_policy *p, int has_storage, time_t latest_at, time_t now);

/* The compliance window of p, in seconds (its compliance-window when set, else derived from the schedule
 * as above, measured from `from`). */
int odbk_compliance_window(const struct odbk_policy *p, time_t from, int64_t *window, struct odbk_err *err);

/* The status of every env of the config (only those of `project` when not NULL), in config order; free
 * with odbk_env_status_free. */
int odbk_env_status_list(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *project, time_t now,
                         struct odbk_env_status **out, size_t *n, struct odbk_err *err);
void odbk_env_status_free(struct odbk_env_status *v, size_t n);

/* Compliance over v: *enabled = enabled envs, *compliant = those of them with a recent backup. */
void odbk_compliance_count(const struct odbk_env_status *v, size_t n, size_t *enabled, size_t *compliant);

/* The verdict of odbk-compliance over v: the monitoring plugins' status from the percentage of enabled
 * envs with a recent backup (rounded down: never more than is true), CRITICAL below crit_below, WARNING
 * below warn_below, and the enabled envs counted by state. */
enum odbk_compliance_status {
    ODBK_COMPLIANCE_OK,
    ODBK_COMPLIANCE_WARNING,
    ODBK_COMPLIANCE_CRITICAL,
    ODBK_COMPLIANCE_UNKNOWN
};
struct odbk_compliance {
    size_t enabled, compliant, disabled;
    size_t normal, warning, danger, not_configured;   /* enabled envs in each state */
    int percent;
    enum odbk_compliance_status status;
};
void odbk_compliance_verdict(const struct odbk_env_status *v, size_t n, long warn_below, long crit_below,
                             struct odbk_compliance *out);

/* The env status as a JSON object (keys: env, project, storage, enabled, policy, state, backups,
 * latest_backup_id, latest_backup_at, age_seconds, compliance_window_seconds, recent). */
struct cJSON;
struct cJSON *odbk_env_status_json(const struct odbk_env_status *s);

#endif
