/* retention.c - restic's forget semantics plus odbk's permanent, tier and newest keeps (see retention.h). */
#include "policy/retention.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/tz.h"

static const char *const period_names[ODBK_PERIOD_N] = {"last", "hourly", "daily", "weekly", "monthly",
                                                        "yearly"};

const char *const odbk_retention_keys[] = {
    "keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly",
    "keep-within", "keep-within-hourly", "keep-within-daily", "keep-within-weekly", "keep-within-monthly",
    "keep-within-yearly", NULL,
};

/* Durations of the --retention tiers when the policy has no keep-within-<tier> (odbk.conf(5)'s defaults). */
static const struct odbk_duration tier_default[] = {
    [ODBK_TIER_DAILY] = {.days = 7},
    [ODBK_TIER_WEEKLY] = {.weeks = 4},
    [ODBK_TIER_MONTHLY] = {.months = 12},
    [ODBK_TIER_YEARLY] = {.years = 2},
};

void odbk_retention_policy_init(struct odbk_retention_policy *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->timezone, sizeof p->timezone, "UTC");
}

int odbk_retention_parse_count(const char *s, int *out, struct odbk_err *err)
{
    if (s && !strcmp(s, "unlimited")) {
        *out = ODBK_KEEP_UNLIMITED;
        return 0;
    }
    if (!s || !*s)
        return odbk_err_set(err, ODBK_E_CONFIG, "empty count (a number or 'unlimited')");
    if (s[0] == '-' && s[1] >= '0' && s[1] <= '9') {
        odbk_err_set(err, ODBK_E_CONFIG, "invalid count '%s': negative values are not allowed", s);
        odbk_err_hint(err, "use 'unlimited' to keep one backup of every period");
        return -1;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || errno || v > 1000000)
        return odbk_err_set(err, ODBK_E_CONFIG, "invalid count '%s' (a number or 'unlimited')", s);
    *out = (int)v;
    return 0;
}

int odbk_retention_policy_set(struct odbk_retention_policy *p, const char *key, const char *value,
                              struct odbk_err *err)
{
    for (int i = 0; odbk_retention_keys[i]; i++) {
        if (strcmp(key, odbk_retention_keys[i]))
            continue;
        int rc = i < ODBK_PERIOD_N ? odbk_retention_parse_count(value, &p->count[i], err)
                                   : odbk_duration_parse(value, &p->within[i - ODBK_PERIOD_N], err);
        if (rc < 0)
            odbk_err_prefix(err, "%s", key);
        return rc;
    }
    const char *near = odbk_did_you_mean(key, odbk_retention_keys);
    odbk_err_set(err, ODBK_E_CONFIG, "unknown retention rule '%s'", key);
    if (near)
        odbk_err_hint(err, "did you mean '%s'?", near);
    return -1;
}

int odbk_retention_policy_is_empty(const struct odbk_retention_policy *p)
{
    for (int i = 0; i < ODBK_PERIOD_N; i++)
        if (p->count[i] || !odbk_duration_is_zero(&p->within[i]))
            return 0;
    return 1;
}

char *odbk_retention_policy_describe(const struct odbk_retention_policy *p)
{
    char *s = odbk_xstrdup("");
    for (int i = 0; i < 2 * ODBK_PERIOD_N; i++) {
        char val[64];
        if (i < ODBK_PERIOD_N) {
            if (!p->count[i])
                continue;
            if (p->count[i] < 0)
                snprintf(val, sizeof val, "unlimited");
            else
                snprintf(val, sizeof val, "%d", p->count[i]);
        } else {
            if (odbk_duration_is_zero(&p->within[i - ODBK_PERIOD_N]))
                continue;
            odbk_duration_format(&p->within[i - ODBK_PERIOD_N], val);
        }
        char *n = odbk_xasprintf("%s%s%s %s", s, *s ? ", " : "", odbk_retention_keys[i], val);
        free(s);
        s = n;
    }
    char *n = odbk_xasprintf("%s (%s)", *s ? s : "no rule", p->timezone[0] ? p->timezone : "UTC");
    free(s);
    return n;
}

/* ---------------------------------------------------------------- the engine */

struct entry {
    struct odbk_retention_decision *dec;
    long long key[ODBK_PERIOD_N];   /* period keys; key[LAST] = position, unique */
};

static void add_reason(struct odbk_retention_decision *d, char *reason)
{
    d->reasons = odbk_xrealloc(d->reasons, (d->n_reasons + 1) * sizeof *d->reasons);
    d->reasons[d->n_reasons++] = reason;
    d->keep = 1;
}

static int cmp_newest_first(const void *pa, const void *pb)
{
    const struct odbk_retention_decision *a = pa, *b = pb;
    if (a->item->time != b->item->time)
        return a->item->time > b->item->time ? -1 : 1;
    /* same second: input order, which for prune is the catalog's (created_at DESC, then the row inserted
     * last first), so the engine and prune's never-delete-the-newest guard agree on which backup is newest */
    return a->index < b->index ? -1 : a->index > b->index;
}

static void period_keys(time_t t, long long key[ODBK_PERIOD_N])
{
    struct tm tm;
    char iso[32];
    odbk_tz_local(t, &tm);
    long long y = tm.tm_year + 1900LL, m = tm.tm_mon + 1;
    strftime(iso, sizeof iso, "%G %V", &tm);
    long long gy = 0, gw = 0;
    if (sscanf(iso, "%lld %lld", &gy, &gw) != 2)
        gy = gw = 0;
    key[ODBK_PERIOD_HOURLY] = ((y * 100 + m) * 100 + tm.tm_mday) * 100 + tm.tm_hour;
    key[ODBK_PERIOD_DAILY] = (y * 100 + m) * 100 + tm.tm_mday;
    key[ODBK_PERIOD_WEEKLY] = gy * 100 + gw;
    key[ODBK_PERIOD_MONTHLY] = y * 100 + m;
    key[ODBK_PERIOD_YEARLY] = y;
}

static void apply_rules(const struct odbk_retention_policy *p, struct entry *e, size_t n, time_t now)
{
    char dur[64];

    /* The window reference: the newest backup that is not in the future (restic's findLatestTimestamp).
     * With none, every backup is inside every window, as in restic (its "latest" is then year 1). */
    int have_latest = 0;
    time_t latest = 0;
    for (size_t i = 0; i < n; i++)
        if (e[i].dec->item->time < now && (!have_latest || e[i].dec->item->time > latest)) {
            latest = e[i].dec->item->time;
            have_latest = 1;
        }
    time_t window_start[ODBK_PERIOD_N];
    int window_on[ODBK_PERIOD_N];
    for (int r = 0; r < ODBK_PERIOD_N; r++) {
        window_on[r] = !odbk_duration_is_zero(&p->within[r]);
        window_start[r] = window_on[r] && have_latest ? odbk_duration_before(latest, &p->within[r]) : 0;
    }
    int count[ODBK_PERIOD_N];
    long long last[ODBK_PERIOD_N], wlast[ODBK_PERIOD_N];
    for (int r = 0; r < ODBK_PERIOD_N; r++) {
        count[r] = p->count[r];
        last[r] = wlast[r] = -1;
    }

    for (size_t i = 0; i < n; i++) {
        struct odbk_retention_decision *d = e[i].dec;
        time_t t = d->item->time;
        int oldest = i == n - 1 && !p->no_keep_oldest;

        if (window_on[ODBK_PERIOD_LAST] && (!have_latest || t > window_start[ODBK_PERIOD_LAST])) {
            odbk_duration_format(&p->within[ODBK_PERIOD_LAST], dur);
            add_reason(d, odbk_xasprintf("within %s", dur));
        }
        for (int r = 0; r < ODBK_PERIOD_N; r++) {
            if (count[r] == 0)
                continue;
            long long k = e[i].key[r];
            if (k != last[r] || oldest) {
                add_reason(d, odbk_xasprintf("%s%s", k == last[r] ? "oldest " : "", period_names[r]));
                last[r] = k;
                if (count[r] > 0)
                    count[r]--;
            }
        }
        for (int r = ODBK_PERIOD_HOURLY; r < ODBK_PERIOD_N; r++) {
            if (!window_on[r] || (have_latest && t <= window_start[r]))
                continue;
            long long k = e[i].key[r];
            if (k != wlast[r] || oldest) {
                odbk_duration_format(&p->within[r], dur);
                add_reason(d, odbk_xasprintf("%swithin-%s %s", k == wlast[r] ? "oldest " : "", period_names[r],
                                             dur));
                wlast[r] = k;
            }
        }
    }
}

int odbk_retention_plan(const struct odbk_retention_policy *p, const struct odbk_retention_item *items,
                        size_t n, time_t now, struct odbk_retention_plan **out, struct odbk_err *err)
{
    const char *zone = p->timezone[0] ? p->timezone : "UTC";
    if (odbk_tz_check(zone, err) < 0)
        return -1;

    struct odbk_retention_plan *plan = odbk_xcalloc(1, sizeof *plan);
    plan->n = n;
    plan->d = odbk_xcalloc(n ? n : 1, sizeof *plan->d);
    for (size_t i = 0; i < n; i++) {
        plan->d[i].index = i;
        plan->d[i].item = &items[i];
    }
    qsort(plan->d, n, sizeof *plan->d, cmp_newest_first);

    /* The group the rules see: completed backups only, newest first. */
    struct entry *e = odbk_xcalloc(n ? n : 1, sizeof *e);
    size_t ne = 0;
    for (size_t i = 0; i < n; i++)
        if (plan->d[i].item->completed)
            e[ne++].dec = &plan->d[i];

    odbk_tz_enter(zone);
    for (size_t i = 0; i < ne; i++) {
        period_keys(e[i].dec->item->time, e[i].key);
        e[i].key[ODBK_PERIOD_LAST] = (long long)i;
    }
    if (odbk_retention_policy_is_empty(p)) {
        for (size_t i = 0; i < ne; i++)
            add_reason(e[i].dec, odbk_xstrdup("empty policy"));
    } else {
        apply_rules(p, e, ne, now);
    }

    /* odbk's extras. */
    for (size_t i = 0; i < ne; i++) {
        struct odbk_retention_decision *d = e[i].dec;
        enum odbk_retention_tier tier = d->item->tier;
        if (d->item->permanent || tier == ODBK_TIER_PERMANENT) {
            add_reason(d, odbk_xstrdup("permanent"));
        } else if (tier >= ODBK_TIER_DAILY && tier <= ODBK_TIER_YEARLY) {
            int r = ODBK_PERIOD_DAILY + (tier - ODBK_TIER_DAILY);
            const struct odbk_duration *dur = odbk_duration_is_zero(&p->within[r]) ? &tier_default[tier]
                                                                                    : &p->within[r];
            if (d->item->time > odbk_duration_before(now, dur))
                add_reason(d, odbk_xasprintf("tier %s", odbk_tier_name(tier)));
        }
    }
    if (ne && !e[0].dec->keep)
        add_reason(e[0].dec, odbk_xstrdup("newest"));
    odbk_tz_leave();

    for (size_t i = 0; i < n; i++)
        plan->n_keep += plan->d[i].keep;
    free(e);
    *out = plan;
    return 0;
}

void odbk_retention_plan_free(struct odbk_retention_plan *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->n; i++) {
        for (size_t j = 0; j < plan->d[i].n_reasons; j++)
            free(plan->d[i].reasons[j]);
        free(plan->d[i].reasons);
    }
    free(plan->d);
    free(plan);
}

/* d at its longest, in seconds, with the slack of DST and zone changes */
static time_t longest(const struct odbk_duration *d)
{
    return (time_t)(((long long)d->years * 366 + (long long)d->months * 31 + (long long)d->weeks * 7 + d->days) *
                        86400 + (long long)d->hours * 3600 + 3 * 3600);
}

time_t odbk_retention_stable_until(const struct odbk_retention_policy *p, const struct odbk_retention_item *items,
                                   size_t n, time_t now)
{
    const char *zone = p->timezone[0] ? p->timezone : "UTC";
    time_t until = ODBK_RETENTION_FOREVER;
    struct odbk_err e = {0};
    if (odbk_tz_check(zone, &e) < 0)
        return now;
    odbk_tz_enter(zone);
    for (size_t i = 0; i < n; i++) {
        const struct odbk_retention_item *it = &items[i];
        enum odbk_retention_tier tier = it->tier;
        if (!it->completed)
            continue;
        if (it->time >= now && it->time < until)
            until = it->time;
        if (!it->permanent && tier >= ODBK_TIER_DAILY && tier <= ODBK_TIER_YEARLY) {
            int r = ODBK_PERIOD_DAILY + (tier - ODBK_TIER_DAILY);
            const struct odbk_duration *dur = odbk_duration_is_zero(&p->within[r]) ? &tier_default[tier]
                                                                                    : &p->within[r];
            time_t lo = now, hi = it->time + longest(dur);
            /* kept by its tier while it->time > before(t, dur), which only ends as t grows: the first t where
             * it does not hold, by bisection between now (holds) and the duration at its longest (does not) */
            if (!(it->time > odbk_duration_before(now, dur)))
                continue;
            if (hi <= lo)
                hi = lo + 1;
            while (hi - lo > 1) {
                time_t mid = lo + (hi - lo) / 2;
                if (it->time > odbk_duration_before(mid, dur))
                    lo = mid;
                else
                    hi = mid;
            }
            if (hi < until)
                until = hi;
        }
    }
    odbk_tz_leave();
    return until < now ? now : until;
}

const struct odbk_retention_decision *odbk_retention_plan_find(const struct odbk_retention_plan *plan,
                                                               size_t index)
{
    for (size_t i = 0; i < plan->n; i++)
        if (plan->d[i].index == index)
            return &plan->d[i];
    return NULL;
}
