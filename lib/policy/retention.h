/* retention.h - the retention engine: which backups a policy keeps, and why (odbk.conf(5) [policy], odbk-prune(1)).
 *
 * restic's `forget` semantics exactly (restic >= 0.17, internal/data/snapshot_policy.go ApplyPolicy), over
 * one group of backups (the caller groups by env and storage):
 *   - completed backups, newest first (ties: input order; prune passes the catalog's, newest inserted first);
 *   - count rules keep-last/-hourly/-daily/-weekly/-monthly/-yearly (n, or -1 = unlimited): walking newest
 *     to oldest, a backup whose period key differs from the last key the rule kept is kept and uses one
 *     count; so each rule keeps the newest backup of each period, and periods without backups do not
 *     count.  Rules are independent (one backup can use a daily and a weekly count) and ORed;
 *   - a count rule that still has counts left when it reaches the oldest backup keeps it ("oldest daily");
 *   - keep-within D keeps every backup newer than (newest - D); keep-within-<period> D keeps the newest
 *     backup of each period inside that window, and the oldest backup if it is inside ("oldest
 *     within-daily 7d").  The window counts back from the newest backup that is not in the future (`now`),
 *     not from now; D is subtracted on the wall clock of the zone (see duration.h: 31 Mar - 1m = 3 Mar);
 *   - periods: hour, day, ISO 8601 week (Monday-Sunday, week-year %G-%V: 2021-01-03 is in 2020-W53),
 *     month, year, of the backup's wall-clock time in the policy's zone.  Across the autumn DST change
 *     the repeated hour is one hourly period (its wall-clock key is the same), as in restic.
 * odbk's extras (never change what the rules keep, only add keeps):
 *   - "permanent": a backup marked permanent (or created with --retention permanent);
 *   - "tier weekly": a backup created with --retention weekly is kept while it is younger than the tier's
 *     duration, measured from its creation to `now`; the duration is the policy's keep-within-weekly
 *     (keep-within-daily, -monthly, -yearly for the other tiers), or when the policy does not set it the
 *     platform defaults 7d, 4w, 12m, 2y (odbk.conf(5));
 *   - "newest": the newest completed backup is always kept; this reason is given only when nothing else
 *     keeps it.  With restic's rules something always does (a count rule keeps the first backup, a window
 *     contains the newest), so this is a safety net against a future rule, not a visible behaviour.
 * Backups that are not completed are not part of the group: keep = 0, no reasons; the caller decides.
 * An empty policy (no rule) keeps every completed backup with the reason "empty policy"; prune refuses to
 * act on one (odbk_retention_policy_is_empty).
 */
#ifndef ODBK_POLICY_RETENTION_H
#define ODBK_POLICY_RETENTION_H

#include <stddef.h>
#include <time.h>

#include "common/err.h"
#include "common/vocab.h"
#include "policy/duration.h"

enum odbk_period {
    ODBK_PERIOD_LAST,     /* keep-last (a count) / keep-within (a duration) */
    ODBK_PERIOD_HOURLY,
    ODBK_PERIOD_DAILY,
    ODBK_PERIOD_WEEKLY,
    ODBK_PERIOD_MONTHLY,
    ODBK_PERIOD_YEARLY,
    ODBK_PERIOD_N
};

#define ODBK_KEEP_UNLIMITED (-1)

struct odbk_retention_policy {
    /* keep-last, keep-hourly, ... keep-yearly: 0 = not set, > 0, or ODBK_KEEP_UNLIMITED. */
    int count[ODBK_PERIOD_N];
    /* keep-within (index ODBK_PERIOD_LAST), keep-within-hourly ... keep-within-yearly; zero = not set. */
    struct odbk_duration within[ODBK_PERIOD_N];
    /* IANA zone of the period buckets and of duration arithmetic; "" = UTC. */
    char timezone[128];
    /* Leave out restic 0.17's "keep the oldest" clause (restic <= 0.16 behaviour; the differential test
     * against the Debian restic 0.14 sets it). */
    int no_keep_oldest;
};

struct odbk_retention_item {
    time_t time;                     /* creation time */
    int completed;                   /* status completed (only those count) */
    int permanent;                   /* marked permanent */
    enum odbk_retention_tier tier;   /* odbk-create --retention */
    const char *id;                  /* the caller's label (messages); the engine never reads it; may be NULL */
};

struct odbk_retention_decision {
    size_t index;                    /* into the caller's item array */
    const struct odbk_retention_item *item;
    int keep;
    char **reasons;                  /* "daily", "oldest monthly", "within-daily 7d", "tier weekly", ... */
    size_t n_reasons;
};

struct odbk_retention_plan {
    struct odbk_retention_decision *d;   /* every input item, newest first */
    size_t n;
    size_t n_keep;
};

/* The config keys of the rules, NULL-terminated: keep-last ... keep-yearly, keep-within ...
 * keep-within-yearly (for did-you-mean and option tables). */
extern const char *const odbk_retention_keys[];

void odbk_retention_policy_init(struct odbk_retention_policy *p);
/* Set one rule from its config key and text value ("keep-daily", "7" / "unlimited"; "keep-within-weekly",
 * "4w").  Counts: a non-negative integer or "unlimited"; negative counts are refused ("use 'unlimited'").
 * ODBK_E_CONFIG naming the key and value; ODBK_E_CONFIG with a did-you-mean for an unknown key. */
int odbk_retention_policy_set(struct odbk_retention_policy *p, const char *key, const char *value,
                              struct odbk_err *err);
/* Does the policy set no rule at all?  (Then prune must refuse to act.) */
int odbk_retention_policy_is_empty(const struct odbk_retention_policy *p);
/* One line describing the policy: "keep-last 7, keep-daily 7, keep-within-weekly 4w (Europe/Brussels)". */
char *odbk_retention_policy_describe(const struct odbk_retention_policy *p);
/* Parse a count value ("7", "0", "unlimited"). */
int odbk_retention_parse_count(const char *s, int *out, struct odbk_err *err);

/* Apply the policy to n items at time `now` (for the future-dated rule and the tiers).  Fails only on an
 * unknown time zone. */
int odbk_retention_plan(const struct odbk_retention_policy *p, const struct odbk_retention_item *items,
                        size_t n, time_t now, struct odbk_retention_plan **out, struct odbk_err *err);
void odbk_retention_plan_free(struct odbk_retention_plan *plan);
/* No end: 9999-12-31T23:59:59Z. */
#define ODBK_RETENTION_FOREVER ((time_t)253402300799LL)
/* How long the plan of these items at `now` stays what it is with no item added or changed: a time T > now
 * (or now itself) such that for every time in [now, T) the plan keeps and drops the same items for the
 * same reasons.  Count rules and windows do not move with the clock (windows count back from the newest
 * backup); what does is a future-dated item, which becomes the windows' reference once its time is past
 * (T <= its time), and a tier keep, which ends a tier's duration after the item's creation (T <= that end,
 * found on the zone's wall clock).  Without
 * either, ODBK_RETENTION_FOREVER.  The same zone as odbk_retention_plan (its check is the caller's). */
time_t odbk_retention_stable_until(const struct odbk_retention_policy *p, const struct odbk_retention_item *items,
                                   size_t n, time_t now);
/* The decision for items[index], or NULL. */
const struct odbk_retention_decision *odbk_retention_plan_find(const struct odbk_retention_plan *plan,
                                                               size_t index);

/* A decision's reasons as a JSON array of strings. */
struct cJSON;
struct cJSON *odbk_retention_reasons_json(char *const *reasons, size_t n);

/* Read one RFC 3339 time per line from path ("-": standard input); blank lines and # comments are
 * skipped.  ODBK_E_DATA naming FILE:LINE for anything else, ODBK_E_NOINPUT when it cannot be opened. */
int odbk_retention_read_times(const char *path, time_t **out, size_t *n, struct odbk_err *err);

#endif
