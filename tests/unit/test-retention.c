/* test-retention.c - the retention engine (lib/policy/retention.c) and durations (duration.c). */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "common/util.h"
#include "policy/duration.h"
#include "policy/retention.h"
#include "policy/tz.h"

static time_t T(const char *s)
{
    time_t t = 0;
    if (odbk_time_parse_rfc3339(s, &t) < 0) {
        printf("# bad time in test: %s\n", s);
        abort();
    }
    return t;
}

static struct odbk_retention_policy pol(const char *tz, const char *rules)
{
    struct odbk_retention_policy p;
    struct odbk_err err = {0};
    odbk_retention_policy_init(&p);
    snprintf(p.timezone, sizeof p.timezone, "%s", tz);
    char *copy = odbk_xstrdup(rules), *save = NULL;
    for (char *k = strtok_r(copy, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
        char *v = strtok_r(NULL, " ", &save);
        if (odbk_retention_policy_set(&p, k, v, &err) < 0) {
            printf("# bad rule in test: %s\n", err.msg);
            abort();
        }
    }
    free(copy);
    return p;
}

/* The kept items, newest first, as "LABEL=reason+reason" separated by spaces; LABEL is the input text. */
static char *kept_of(const struct odbk_retention_plan *plan, const char *const *labels)
{
    char *s = odbk_xstrdup("");
    for (size_t i = 0; i < plan->n; i++) {
        const struct odbk_retention_decision *d = &plan->d[i];
        if (!d->keep)
            continue;
        char *r = odbk_xstrdup("");
        for (size_t j = 0; j < d->n_reasons; j++) {
            char *n = odbk_xasprintf("%s%s%s", r, j ? "+" : "", d->reasons[j]);
            free(r);
            r = n;
        }
        char *n = odbk_xasprintf("%s%s%s=%s", s, *s ? " " : "", labels[d->index], r);
        free(r);
        free(s);
        s = n;
    }
    return s;
}

/* Plan over completed backups at the given times; now = a fixed far-future instant unless given. */
static char *plan_times(const struct odbk_retention_policy *p, const char *const *times, size_t n, time_t now)
{
    struct odbk_retention_item *items = odbk_xcalloc(n, sizeof *items);
    for (size_t i = 0; i < n; i++) {
        items[i].time = T(times[i]);
        items[i].completed = 1;
        items[i].id = times[i];
    }
    struct odbk_retention_plan *plan = NULL;
    struct odbk_err err = {0};
    char *s;
    if (odbk_retention_plan(p, items, n, now ? now : T("2100-01-01T00:00:00Z"), &plan, &err) < 0)
        s = odbk_xasprintf("ERROR %s", err.msg);
    else
        s = kept_of(plan, times);
    odbk_retention_plan_free(plan);
    free(items);
    return s;
}

#define N(a) (sizeof(a) / sizeof *(a))
#define CHECK(policy, times, want, desc)                                                                   \
    do {                                                                                                   \
        char *got_ = plan_times(&(policy), times, N(times), 0);                                            \
        is_str(got_, want, desc);                                                                          \
        free(got_);                                                                                        \
    } while (0)

static void test_durations(void)
{
    struct odbk_duration d;
    struct odbk_err err = {0};
    char buf[64];

    ok(odbk_duration_parse("1y6m", &d, &err) == 0 && d.years == 1 && d.months == 6 && !d.days, "1y6m parses");
    odbk_duration_format(&d, buf);
    is_str(buf, "1y6m", "1y6m formats back");
    ok(odbk_duration_parse("36h", &d, &err) == 0 && d.hours == 36, "36h");
    ok(odbk_duration_parse("4w", &d, &err) == 0 && d.weeks == 4 && !d.days, "4w is four weeks");
    odbk_duration_format(&d, buf);
    is_str(buf, "4w", "4w formats as 4w");
    ok(odbk_duration_parse("12m", &d, &err) == 0 && d.months == 12, "12m is twelve months in retention");
    ok(odbk_duration_parse("2y5m7d3h", &d, &err) == 0 && d.years == 2 && d.months == 5 && d.days == 7 &&
           d.hours == 3, "2y5m7d3h (restic's example)");
    ok(odbk_duration_parse("0d", &d, &err) == 0 && odbk_duration_is_zero(&d), "0d is the zero duration");

    static const struct {
        const char *in, *msg;
    } bad[] = {
        {"7x", "invalid duration '7x': unknown unit 'x' (units: h, d, w, m = months, y; e.g. '7d', '1y6m')"},
        {"-7d", "invalid duration '-7d': negative values are not allowed"},
        {"", "empty duration (units: h, d, w, m = months, y; e.g. '7d', '1y6m')"},
        {"7", "invalid duration '7': missing unit after 7 (units: h, d, w, m = months, y; e.g. '7d', '1y6m')"},
        {"d", "invalid duration 'd': expected a number at 'd' (units: h, d, w, m = months, y; e.g. '7d', '1y6m')"},
        {"1d2d", "invalid duration '1d2d': unit 'd' given twice"},
        {"7 d", "invalid duration '7 d': unknown unit ' ' (units: h, d, w, m = months, y; e.g. '7d', '1y6m')"},
        {"15s", "invalid duration '15s': unknown unit 's' (units: h, d, w, m = months, y; e.g. '7d', '1y6m')"},
        {"99999999d", "invalid duration '99999999d': number too large"},
    };
    for (size_t i = 0; i < N(bad); i++) {
        odbk_err_clear(&err);
        int rc = odbk_duration_parse(bad[i].in, &d, &err);
        char *desc = odbk_xasprintf("retention duration '%s' is refused", bad[i].in);
        ok(rc == -1 && err.code == ODBK_E_CONFIG, desc);
        is_str(err.msg, bad[i].msg, "  with a message naming it");
        free(desc);
    }

    int64_t secs = 0;
    ok(odbk_duration_parse_seconds("15m", &secs, &err) == 0 && secs == 900, "expiry 15m = 900 s (minutes)");
    ok(odbk_duration_parse_seconds("1h30m", &secs, &err) == 0 && secs == 5400, "expiry 1h30m");
    ok(odbk_duration_parse_seconds("7d", &secs, &err) == 0 && secs == 604800, "expiry 7d");
    ok(odbk_duration_parse_seconds("1w", &secs, &err) == 0 && secs == 604800, "expiry 1w");
    ok(odbk_duration_parse_seconds("90s", &secs, &err) == 0 && secs == 90, "expiry 90s");
    odbk_err_clear(&err);
    ok(odbk_duration_parse_seconds("0m", &secs, &err) == -1, "expiry 0m is refused");
    is_str(err.msg, "invalid duration '0m': must be longer than zero", "  saying why");
    ok(odbk_duration_parse_seconds("2y", &secs, &err) == -1, "expiry does not take years");
    ok(odbk_duration_parse_seconds("15", &secs, &err) == -1, "expiry needs a unit");
}

static void test_policy_keys(void)
{
    struct odbk_retention_policy p;
    struct odbk_err err = {0};
    odbk_retention_policy_init(&p);
    ok(odbk_retention_policy_is_empty(&p), "a fresh policy is empty");
    ok(odbk_retention_policy_set(&p, "keep-daily", "0", &err) == 0 && odbk_retention_policy_is_empty(&p),
       "keep-daily 0 leaves it empty (0 = not set, as in restic)");
    ok(odbk_retention_policy_set(&p, "keep-weekly", "unlimited", &err) == 0 &&
           p.count[ODBK_PERIOD_WEEKLY] == ODBK_KEEP_UNLIMITED, "keep-weekly unlimited");
    ok(!odbk_retention_policy_is_empty(&p), "unlimited is a rule");
    odbk_retention_policy_init(&p);
    ok(odbk_retention_policy_set(&p, "keep-within-daily", "7d", &err) == 0 && !odbk_retention_policy_is_empty(&p),
       "a keep-within-daily alone is a rule");

    odbk_err_clear(&err);
    ok(odbk_retention_policy_set(&p, "keep-daily", "-1", &err) == -1, "keep-daily -1 is refused");
    is_str(err.msg, "keep-daily: invalid count '-1': negative values are not allowed", "  naming key and value");
    is_str(err.hint, "use 'unlimited' to keep one backup of every period", "  hint: unlimited");
    odbk_err_clear(&err);
    ok(odbk_retention_policy_set(&p, "keep-daily", "7x", &err) == -1, "keep-daily 7x is refused");
    is_str(err.msg, "keep-daily: invalid count '7x' (a number or 'unlimited')", "  naming key and value");
    odbk_err_clear(&err);
    ok(odbk_retention_policy_set(&p, "keep-daily", NULL, &err) == -1, "keep-daily without a value is refused");
    odbk_err_clear(&err);
    ok(odbk_retention_policy_set(&p, "keep-within-weekly", "4x", &err) == -1, "keep-within-weekly 4x refused");
    is_str(err.msg,
           "keep-within-weekly: invalid duration '4x': unknown unit 'x' (units: h, d, w, m = months, y; e.g. "
           "'7d', '1y6m')", "  naming key and value");
    odbk_err_clear(&err);
    ok(odbk_retention_policy_set(&p, "keep-dayly", "7", &err) == -1, "unknown key refused");
    is_str(err.msg, "unknown retention rule 'keep-dayly'", "  naming it");
    is_str(err.hint, "did you mean 'keep-daily'?", "  with a did-you-mean");

    odbk_retention_policy_init(&p);
    odbk_retention_policy_set(&p, "keep-last", "7", &err);
    odbk_retention_policy_set(&p, "keep-monthly", "unlimited", &err);
    odbk_retention_policy_set(&p, "keep-within-weekly", "4w", &err);
    char *desc = odbk_retention_policy_describe(&p);
    is_str(desc, "keep-last 7, keep-monthly unlimited, keep-within-weekly 4w (UTC)", "describe");
    free(desc);

    enum odbk_retention_tier tier;
    ok(odbk_tier_parse("weekly", &tier, ODBK_E_DATA, &err) == 0 && tier == ODBK_TIER_WEEKLY, "tier weekly parses");
    ok(odbk_tier_parse("", &tier, ODBK_E_DATA, &err) == 0 && tier == ODBK_TIER_NONE, "no tier is \"\"");
    ok(odbk_tier_parse("fortnightly", &tier, ODBK_E_DATA, &err) == -1 && err.code == ODBK_E_DATA,
       "unknown tier refused");
    is_str(odbk_tier_name(ODBK_TIER_PERMANENT), "permanent", "a tier's name");
    is_str(odbk_tier_name(ODBK_TIER_NONE), "", "no tier's name");
}

static void test_zone_check(void)
{
    struct odbk_err err = {0};
    ok(odbk_tz_check("UTC", &err) == 0, "UTC is a zone");
    ok(odbk_tz_check("Europe/Brussels", &err) == 0, "Europe/Brussels is a zone");
    ok(odbk_tz_check("Europe/Bruxelles", &err) == -1, "Europe/Bruxelles is not");
    is_str(err.msg, "unknown time zone 'Europe/Bruxelles'", "  the message names it");
    ok(odbk_tz_check("../../etc/passwd", &err) == -1, "a path is not a zone");

    /* The engine restores the caller's TZ. */
    setenv("TZ", "America/New_York", 1);
    struct odbk_retention_policy p = pol("Europe/Brussels", "keep-last 1");
    static const char *const t[] = {"2026-01-01T00:00:00Z"};
    char *s = plan_times(&p, t, 1, 0);
    is_str(getenv("TZ"), "America/New_York", "TZ is restored after planning");
    free(s);
    unsetenv("TZ");
    s = plan_times(&p, t, 1, 0);
    ok(getenv("TZ") == NULL, "an unset TZ stays unset");
    free(s);

    p = pol("Mars/Olympus_Mons", "keep-last 1");
    s = plan_times(&p, t, 1, 0);
    is_str(s, "ERROR unknown time zone 'Mars/Olympus_Mons'", "planning in an unknown zone fails");
    free(s);
}

static void test_counts(void)
{
    /* restic's doc example: daily backups, --keep-daily 5 with a missed day reaches one day further. */
    static const char *const daily[] = {
        "2026-01-20T10:00:00Z", "2026-01-19T10:00:00Z", /* 18th missed */ "2026-01-17T10:00:00Z",
        "2026-01-16T10:00:00Z", "2026-01-15T10:00:00Z", "2026-01-14T10:00:00Z", "2026-01-13T10:00:00Z",
    };
    struct odbk_retention_policy p = pol("UTC", "keep-daily 5");
    CHECK(p, daily, "2026-01-20T10:00:00Z=daily 2026-01-19T10:00:00Z=daily 2026-01-17T10:00:00Z=daily "
                    "2026-01-16T10:00:00Z=daily 2026-01-15T10:00:00Z=daily",
          "keep-daily 5: days without backups do not count");

    /* Several backups a day: the newest of each day; the oldest clause does not fire when counts ran out. */
    static const char *const twice[] = {
        "2026-01-03T18:00:00Z", "2026-01-03T06:00:00Z", "2026-01-02T18:00:00Z",
        "2026-01-02T06:00:00Z", "2026-01-01T18:00:00Z", "2026-01-01T06:00:00Z",
    };
    p = pol("UTC", "keep-daily 2");
    CHECK(p, twice, "2026-01-03T18:00:00Z=daily 2026-01-02T18:00:00Z=daily",
          "keep-daily 2: the newest of each day; no oldest when the count is used up");
    p = pol("UTC", "keep-daily 7");
    CHECK(p, twice, "2026-01-03T18:00:00Z=daily 2026-01-02T18:00:00Z=daily 2026-01-01T18:00:00Z=daily "
                    "2026-01-01T06:00:00Z=oldest daily",
          "keep-daily 7 over 3 days: the oldest clause keeps the oldest backup");
    p.no_keep_oldest = 1;
    CHECK(p, twice, "2026-01-03T18:00:00Z=daily 2026-01-02T18:00:00Z=daily 2026-01-01T18:00:00Z=daily",
          "  and not with no_keep_oldest (restic <= 0.16)");
    p = pol("UTC", "keep-daily unlimited");
    CHECK(p, twice, "2026-01-03T18:00:00Z=daily 2026-01-02T18:00:00Z=daily 2026-01-01T18:00:00Z=daily "
                    "2026-01-01T06:00:00Z=oldest daily",
          "keep-daily unlimited: every day, and the oldest");
    p = pol("UTC", "keep-last 3");
    CHECK(p, twice, "2026-01-03T18:00:00Z=last 2026-01-03T06:00:00Z=last 2026-01-02T18:00:00Z=last",
          "keep-last 3");
    p = pol("UTC", "keep-last 10");
    CHECK(p, twice, "2026-01-03T18:00:00Z=last 2026-01-03T06:00:00Z=last 2026-01-02T18:00:00Z=last "
                    "2026-01-02T06:00:00Z=last 2026-01-01T18:00:00Z=last 2026-01-01T06:00:00Z=last",
          "keep-last 10 over 6: all, never 'oldest last' (every backup is its own period)");
    p = pol("UTC", "keep-last 2 keep-daily 2");
    CHECK(p, twice, "2026-01-03T18:00:00Z=last+daily 2026-01-03T06:00:00Z=last 2026-01-02T18:00:00Z=daily",
          "keep-last is a floor next to keep-daily; rules are independent");
    p = pol("UTC", "keep-hourly 3");
    CHECK(p, twice, "2026-01-03T18:00:00Z=hourly 2026-01-03T06:00:00Z=hourly 2026-01-02T18:00:00Z=hourly",
          "keep-hourly 3");

    /* Weeks without backups; rules independent: a daily also uses a weekly count. */
    static const char *const sparse[] = {
        "2026-02-11T12:00:00Z", /* W07 */ "2026-02-10T12:00:00Z", /* W07 */
        "2026-01-28T12:00:00Z", /* W05 */ "2026-01-07T12:00:00Z", /* W02 */ "2026-01-06T12:00:00Z", /* W02 */
    };
    p = pol("UTC", "keep-weekly 3");
    CHECK(p, sparse, "2026-02-11T12:00:00Z=weekly 2026-01-28T12:00:00Z=weekly 2026-01-07T12:00:00Z=weekly",
          "keep-weekly 3 skips the weeks without backups");
    p = pol("UTC", "keep-daily 2 keep-weekly 2 keep-monthly 1 keep-yearly 5");
    CHECK(p, sparse, "2026-02-11T12:00:00Z=daily+weekly+monthly+yearly 2026-02-10T12:00:00Z=daily "
                     "2026-01-28T12:00:00Z=weekly 2026-01-06T12:00:00Z=oldest yearly",
          "daily/weekly/monthly/yearly independent and ORed; oldest yearly");
}

static void test_iso_weeks(void)
{
    /* 2020 has 53 ISO weeks: 2020-12-28 (Mon) .. 2021-01-03 (Sun) is 2020-W53. */
    static const char *const w53[] = {
        "2021-01-04T09:00:00Z", /* Mon 2021-W01 */ "2021-01-03T09:00:00Z", /* Sun 2020-W53 */
        "2020-12-31T09:00:00Z", /* Thu 2020-W53 */ "2020-12-28T09:00:00Z", /* Mon 2020-W53 */
        "2020-12-27T09:00:00Z", /* Sun 2020-W52 */
    };
    struct odbk_retention_policy p = pol("UTC", "keep-weekly 3");
    CHECK(p, w53, "2021-01-04T09:00:00Z=weekly 2021-01-03T09:00:00Z=weekly 2020-12-27T09:00:00Z=weekly",
          "2020-W53 spans the new year: one weekly for Dec 28 .. Jan 3");
    p = pol("UTC", "keep-yearly 5");
    CHECK(p, w53, "2021-01-04T09:00:00Z=yearly 2020-12-31T09:00:00Z=yearly 2020-12-27T09:00:00Z=oldest yearly",
          "yearly uses the calendar year, not the ISO year (and keeps the oldest: counts left)");

    /* 2026 has 53 ISO weeks too: 2026-12-28 .. 2027-01-03. */
    static const char *const w53b[] = {
        "2027-01-04T00:00:00Z", "2027-01-03T23:59:59Z", "2026-12-28T00:00:00Z", "2026-12-27T23:59:59Z",
    };
    p = pol("UTC", "keep-weekly 2");
    CHECK(p, w53b, "2027-01-04T00:00:00Z=weekly 2027-01-03T23:59:59Z=weekly",
          "2026-W53: Sunday 2027-01-03 23:59:59 and Monday 2027-01-04 00:00 are different weeks");
    p = pol("UTC", "keep-weekly 3");
    CHECK(p, w53b, "2027-01-04T00:00:00Z=weekly 2027-01-03T23:59:59Z=weekly 2026-12-27T23:59:59Z=weekly",
          "2026-W53 holds Dec 28 and Jan 3; Dec 27 is W52");
    /* A week is Monday to Sunday in the policy's zone: Sunday 23:30 in Brussels is Sunday 22:30 UTC. */
    static const char *const edge[] = {"2026-01-11T23:30:00Z", "2026-01-11T22:30:00Z"};
    p = pol("Europe/Brussels", "keep-weekly 5");
    CHECK(p, edge, "2026-01-11T23:30:00Z=weekly 2026-01-11T22:30:00Z=weekly",
          "Brussels: 00:30 Monday and 23:30 Sunday are different weeks");
    p = pol("UTC", "keep-weekly 5");
    CHECK(p, edge, "2026-01-11T23:30:00Z=weekly 2026-01-11T22:30:00Z=oldest weekly",
          "UTC: both are Sunday, one week (the second is kept as the oldest)");
}

static void test_dst(void)
{
    /* Spring: Brussels 2026-03-29 02:00 CET -> 03:00 CEST (01:00 UTC).  Days follow the wall clock. */
    static const char *const spring[] = {
        "2026-03-29T22:30:00Z", /* Mar 30 00:30 CEST */ "2026-03-29T21:30:00Z", /* Mar 29 23:30 CEST */
        "2026-03-28T23:30:00Z", /* Mar 29 00:30 CET */  "2026-03-28T22:30:00Z", /* Mar 28 23:30 CET */
    };
    struct odbk_retention_policy p = pol("Europe/Brussels", "keep-daily 3");
    CHECK(p, spring, "2026-03-29T22:30:00Z=daily 2026-03-29T21:30:00Z=daily 2026-03-28T22:30:00Z=daily",
          "Brussels days across the spring change (CET then CEST midnights)");
    p = pol("UTC", "keep-daily 3");
    CHECK(p, spring, "2026-03-29T22:30:00Z=daily 2026-03-28T23:30:00Z=daily 2026-03-28T22:30:00Z=oldest daily",
          "the same backups in UTC fall on two days (the third is the oldest, a count is left)");

    /* Autumn: 2026-10-25 03:00 CEST -> 02:00 CET (01:00 UTC); 02:10 happens twice, one hourly period. */
    static const char *const autumn[] = {
        "2026-10-25T02:10:00Z", /* 03:10 CET */ "2026-10-25T01:10:00Z", /* 02:10 CET */
        "2026-10-25T00:10:00Z", /* 02:10 CEST */ "2026-10-24T23:10:00Z", /* 01:10 CEST */
    };
    p = pol("Europe/Brussels", "keep-hourly 3");
    CHECK(p, autumn, "2026-10-25T02:10:00Z=hourly 2026-10-25T01:10:00Z=hourly 2026-10-24T23:10:00Z=hourly",
          "Brussels: the repeated 02:00 hour is one hourly period (wall-clock key, as restic)");
    p = pol("UTC", "keep-hourly 3");
    CHECK(p, autumn, "2026-10-25T02:10:00Z=hourly 2026-10-25T01:10:00Z=hourly 2026-10-25T00:10:00Z=hourly",
          "UTC: four distinct hours");

    /* keep-within 1d across the spring change: one wall-clock day back is 23 hours. */
    static const char *const within[] = {
        "2026-03-29T10:00:00Z", /* 12:00 CEST */ "2026-03-28T11:30:00Z", /* 12:30 CET: inside */
        "2026-03-28T10:30:00Z", /* 11:30 CET: 23.5 h earlier, outside in Brussels */
    };
    p = pol("Europe/Brussels", "keep-within 1d");
    CHECK(p, within, "2026-03-29T10:00:00Z=within 1d 2026-03-28T11:30:00Z=within 1d",
          "keep-within 1d in Brussels over the spring change is 23 h");
    p = pol("UTC", "keep-within 1d");
    CHECK(p, within, "2026-03-29T10:00:00Z=within 1d 2026-03-28T11:30:00Z=within 1d "
                     "2026-03-28T10:30:00Z=within 1d",
          "keep-within 1d in UTC is 24 h");
    p = pol("UTC", "keep-within 24h");
    CHECK(p, within, "2026-03-29T10:00:00Z=within 24h 2026-03-28T11:30:00Z=within 24h "
                     "2026-03-28T10:30:00Z=within 24h",
          "keep-within 24h is elapsed time");
}

static void test_within(void)
{
    /* Mar 31 - 1 month = "Feb 31" = Mar 3 (2026), as Go's AddDate: the window is (Mar 3 12:00, ...]. */
    static const char *const m31[] = {
        "2026-03-31T12:00:00Z", "2026-03-03T12:00:01Z", "2026-03-03T12:00:00Z", "2026-03-02T12:00:00Z",
        "2026-02-28T12:00:00Z",
    };
    struct odbk_retention_policy p = pol("UTC", "keep-within 1m");
    CHECK(p, m31, "2026-03-31T12:00:00Z=within 1m 2026-03-03T12:00:01Z=within 1m",
          "Mar 31 - 1m is Mar 3 (restic's normalisation); the window start itself is outside");
    static const char *const m31leap[] = {
        "2028-03-31T12:00:00Z", "2028-03-02T12:00:01Z", "2028-03-02T12:00:00Z", "2028-02-29T12:00:00Z",
    };
    CHECK(p, m31leap, "2028-03-31T12:00:00Z=within 1m 2028-03-02T12:00:01Z=within 1m",
          "Mar 31 - 1m in a leap year is Mar 2");

    /* Windows count from the newest backup, not from now. */
    static const char *const old[] = {"2020-06-10T00:00:00Z", "2020-06-05T00:00:00Z", "2020-05-01T00:00:00Z"};
    p = pol("UTC", "keep-within 7d");
    CHECK(p, old, "2020-06-10T00:00:00Z=within 7d 2020-06-05T00:00:00Z=within 7d",
          "keep-within counts back from the newest backup, years ago");

    /* keep-within-daily: newest of each day inside the window, plus the oldest if inside. */
    static const char *const wd[] = {
        "2026-05-10T20:00:00Z", "2026-05-10T08:00:00Z", "2026-05-09T20:00:00Z", "2026-05-09T08:00:00Z",
        "2026-05-01T08:00:00Z",
    };
    p = pol("UTC", "keep-within-daily 7d");
    CHECK(p, wd, "2026-05-10T20:00:00Z=within-daily 7d 2026-05-09T20:00:00Z=within-daily 7d",
          "keep-within-daily 7d: the newest of each day in the window; the oldest is outside");
    p = pol("UTC", "keep-within-daily 1m");
    CHECK(p, wd, "2026-05-10T20:00:00Z=within-daily 1m 2026-05-09T20:00:00Z=within-daily 1m "
                 "2026-05-01T08:00:00Z=within-daily 1m",
          "keep-within-daily 1m reaches May 1");
    static const char *const wd2[] = {"2026-05-10T20:00:00Z", "2026-05-10T08:00:00Z"};
    CHECK(p, wd2, "2026-05-10T20:00:00Z=within-daily 1m 2026-05-10T08:00:00Z=oldest within-daily 1m",
          "keep-within-daily keeps the oldest when it is inside the window");

    /* Future-dated backups do not move the window (restic's findLatestTimestamp). */
    static const char *const fut[] = {"2030-01-01T00:00:00Z", "2026-05-10T00:00:00Z", "2026-05-08T00:00:00Z",
                                      "2026-04-01T00:00:00Z"};
    p = pol("UTC", "keep-within 7d");
    char *got = plan_times(&p, fut, N(fut), T("2026-06-01T00:00:00Z"));
    is_str(got, "2030-01-01T00:00:00Z=within 7d 2026-05-10T00:00:00Z=within 7d 2026-05-08T00:00:00Z=within 7d",
           "a future backup does not move the window; it is kept");
    free(got);
}

static void test_items(void)
{
    struct odbk_retention_item it[] = {
        {T("2026-06-10T00:00:00Z"), 0, 0, ODBK_TIER_NONE, "f-failed"},      /* newest, not completed */
        {T("2026-06-09T00:00:00Z"), 1, 0, ODBK_TIER_NONE, "e"},
        {T("2026-06-08T00:00:00Z"), 1, 0, ODBK_TIER_NONE, "c"},
        {T("2026-06-08T00:00:00Z"), 1, 0, ODBK_TIER_NONE, "d"},             /* tie with c: c first (input order, as the catalog gives it), not by id */
        {T("2026-05-20T00:00:00Z"), 1, 0, ODBK_TIER_WEEKLY, "b-weekly"},    /* 21 days before now */
        {T("2026-04-01T00:00:00Z"), 1, 0, ODBK_TIER_WEEKLY, "a-weekly-old"},
        {T("2025-01-01T00:00:00Z"), 1, 1, ODBK_TIER_NONE, "z-permanent"},
        {T("2025-02-01T00:00:00Z"), 1, 0, ODBK_TIER_PERMANENT, "y-tier-permanent"},
        {T("2024-01-01T00:00:00Z"), 0, 0, ODBK_TIER_NONE, "x-pending-oldest"},
    };
    const char *labels[N(it)];
    for (size_t i = 0; i < N(it); i++)
        labels[i] = it[i].id;
    struct odbk_retention_policy p = pol("UTC", "keep-last 2");
    struct odbk_retention_plan *plan = NULL;
    struct odbk_err err = {0};
    ok(odbk_retention_plan(&p, it, N(it), T("2026-06-10T12:00:00Z"), &plan, &err) == 0, "plan over items");
    char *got = kept_of(plan, labels);
    is_str(got, "e=last c=last b-weekly=tier weekly y-tier-permanent=permanent z-permanent=permanent",
           "ties in input order; tiers within their duration; permanent; failed items not counted");
    free(got);
    is_int(plan->n, N(it), "every item has a decision");
    is_int(plan->n_keep, 5, "five kept");
    is_str(labels[plan->d[0].index], "f-failed", "order is newest first, failed included");
    is_int(plan->d[0].keep, 0, "the failed newest is not kept by rules");
    is_int(plan->d[0].n_reasons, 0, "  and has no reason");
    is_str(labels[plan->d[2].index], "c", "equal times: input order (the catalog's), not the greater id");
    const struct odbk_retention_decision *d = odbk_retention_plan_find(plan, 8);
    ok(d && !d->keep && !d->n_reasons, "a pending oldest is not 'oldest'-kept");
    odbk_retention_plan_free(plan);

    /* With keep-within-weekly 2w the weekly tier lasts two weeks only. */
    p = pol("UTC", "keep-last 2 keep-within-weekly 2w");
    ok(odbk_retention_plan(&p, it, N(it), T("2026-06-10T12:00:00Z"), &plan, &err) == 0, "plan with 2w tier");
    d = odbk_retention_plan_find(plan, 4);
    ok(d && !d->keep, "the weekly tier uses the policy's keep-within-weekly (2w: 21 days old is out)");
    odbk_retention_plan_free(plan);

    /* Empty policy: everything completed is kept, with the reason. */
    odbk_retention_policy_init(&p);
    ok(odbk_retention_plan(&p, it, N(it), T("2026-06-10T12:00:00Z"), &plan, &err) == 0, "plan, empty policy");
    is_int(plan->n_keep, 7, "an empty policy keeps every completed backup");
    d = odbk_retention_plan_find(plan, 1);
    is_str(d->n_reasons ? d->reasons[0] : NULL, "empty policy", "  saying why");
    odbk_retention_plan_free(plan);

    /* Nothing to plan. */
    p = pol("UTC", "keep-daily 7");
    ok(odbk_retention_plan(&p, it, 0, 0, &plan, &err) == 0 && plan->n == 0, "zero items");
    odbk_retention_plan_free(plan);
}

/* A year of daily backups with one missed day (the worked example of odbk-policy(1)). */
static void test_year(void)
{
    static char buf[365][32];
    const char *times[365];
    size_t n = 0;
    time_t t0 = T("2025-01-01T03:00:00Z");
    for (int i = 0; i < 365; i++) {
        time_t t = t0 + (time_t)i * 86400;
        odbk_time_rfc3339(t, buf[n]);
        if (!strcmp(buf[n], "2025-12-19T03:00:00Z"))
            continue;
        times[n] = buf[n];
        n++;
    }
    struct odbk_retention_policy p = pol("UTC", "keep-daily 14 keep-monthly 6 keep-yearly 1");
    char *got = plan_times(&p, times, n, 0);
    is_str(got,
           "2025-12-31T03:00:00Z=daily+monthly+yearly 2025-12-30T03:00:00Z=daily 2025-12-29T03:00:00Z=daily "
           "2025-12-28T03:00:00Z=daily 2025-12-27T03:00:00Z=daily 2025-12-26T03:00:00Z=daily "
           "2025-12-25T03:00:00Z=daily 2025-12-24T03:00:00Z=daily 2025-12-23T03:00:00Z=daily "
           "2025-12-22T03:00:00Z=daily 2025-12-21T03:00:00Z=daily 2025-12-20T03:00:00Z=daily "
           "2025-12-18T03:00:00Z=daily 2025-12-17T03:00:00Z=daily 2025-11-30T03:00:00Z=monthly "
           "2025-10-31T03:00:00Z=monthly 2025-09-30T03:00:00Z=monthly 2025-08-31T03:00:00Z=monthly "
           "2025-07-31T03:00:00Z=monthly",
           "a year of dailies, one missed: 14 daily (skipping Dec 19), 6 monthly (Dec shared), 1 yearly");
    free(got);
    p = pol("UTC", "keep-within-daily 7d keep-within-weekly 4w keep-within-monthly 12m keep-within-yearly 2y");
    struct odbk_retention_item *items = odbk_xcalloc(n, sizeof *items);
    for (size_t i = 0; i < n; i++) {
        items[i].time = T(times[i]);
        items[i].completed = 1;
    }
    struct odbk_retention_plan *plan = NULL;
    struct odbk_err err = {0};
    odbk_retention_plan(&p, items, n, T("2026-01-01T00:00:00Z"), &plan, &err);
    /* 7 days (Dec 24..31 minus nothing = 7), weeks back 4w from Dec 31 (W01 2026 .. ), months 12, year 2. */
    const struct odbk_retention_decision *d = &plan->d[n - 1];
    is_str(d->n_reasons ? d->reasons[d->n_reasons - 1] : "", "oldest within-yearly 2y",
           "the default windows: the oldest backup of the year is kept by the 2y window");
    int kept_days = 0;
    for (size_t i = 0; i < plan->n; i++)
        for (size_t j = 0; j < plan->d[i].n_reasons; j++)
            kept_days += !strcmp(plan->d[i].reasons[j], "within-daily 7d");
    is_int(kept_days, 7, "within-daily 7d from Dec 31 03:00 keeps Dec 25..31 (Dec 24 03:00 is the edge)");
    odbk_retention_plan_free(plan);
    free(items);
}

int main(void)
{
    test_durations();
    test_policy_keys();
    test_zone_check();
    test_counts();
    test_iso_weeks();
    test_dst();
    test_within();
    test_items();
    test_year();
    return done_testing();
}
