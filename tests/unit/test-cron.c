/* test-cron.c - cron expressions and fire times in a zone (lib/policy/cron.c). */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "common/util.h"
#include "policy/cron.h"
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

/* "YYYY-MM-DD HH:MM +ZZZZ" of t in zone. */
static void fmt(time_t t, const char *tz, char buf[64])
{
    struct tm tm;
    odbk_tz_enter(tz);
    odbk_tz_local(t, &tm);
    strftime(buf, 64, "%Y-%m-%d %H:%M %z", &tm);
    odbk_tz_leave();
}

/* The next `count` fire times after `after`, space-separated, or "ERROR msg". */
static char *nexts(const char *expr, const char *after, const char *tz, int count)
{
    struct odbk_cron c;
    struct odbk_err err = {0};
    if (odbk_cron_parse(expr, &c, &err) < 0)
        return odbk_xasprintf("ERROR %s", err.msg);
    char *s = odbk_xstrdup("");
    time_t t = T(after);
    for (int i = 0; i < count; i++) {
        char buf[64];
        if (odbk_cron_next(&c, t, tz, &t, &err) < 0) {
            char *n = odbk_xasprintf("%sERROR %s", s, err.msg);
            free(s);
            return n;
        }
        fmt(t, tz, buf);
        char *n = odbk_xasprintf("%s%s%s", s, i ? " | " : "", buf);
        free(s);
        s = n;
    }
    return s;
}

#define NEXT(expr, after, tz, count, want)                                                                 \
    do {                                                                                                   \
        char *got_ = nexts(expr, after, tz, count);                                                        \
        char *desc_ = odbk_xasprintf("'%s' after %s in %s", expr, after, tz);                              \
        is_str(got_, want, desc_);                                                                         \
        free(got_);                                                                                        \
        free(desc_);                                                                                       \
    } while (0)

static void test_table(void)
{
    NEXT("0 0 29 2 *", "2025-03-01T00:00:00Z", "UTC", 2, "2028-02-29 00:00 +0000 | 2032-02-29 00:00 +0000");
    NEXT("0 0 29 2 *", "2096-03-01T00:00:00Z", "UTC", 1, "2104-02-29 00:00 +0000");
    NEXT("0 0 31 * *", "2026-01-31T00:00:00Z", "UTC", 4,
         "2026-03-31 00:00 +0000 | 2026-05-31 00:00 +0000 | 2026-07-31 00:00 +0000 | 2026-08-31 00:00 +0000");
    NEXT("*/15 9-17 * * mon-fri", "2026-01-09T17:40:00Z", "UTC", 3,   /* a Friday */
         "2026-01-09 17:45 +0000 | 2026-01-12 09:00 +0000 | 2026-01-12 09:15 +0000");
    NEXT("*/15 9-17 * * mon-fri", "2026-01-09T17:45:00Z", "UTC", 1, "2026-01-12 09:00 +0000");
    NEXT("@weekly", "2026-01-01T12:00:00Z", "UTC", 2, "2026-01-04 00:00 +0000 | 2026-01-11 00:00 +0000");
    NEXT("@hourly", "2026-01-01T12:00:00Z", "UTC", 2, "2026-01-01 13:00 +0000 | 2026-01-01 14:00 +0000");
    NEXT("@daily", "2026-01-01T00:00:00Z", "Europe/Brussels", 1, "2026-01-02 00:00 +0100");
    NEXT("@monthly", "2026-01-15T00:00:00Z", "UTC", 1, "2026-02-01 00:00 +0000");
    NEXT("@yearly", "2026-01-15T00:00:00Z", "UTC", 1, "2027-01-01 00:00 +0000");
    NEXT("@annually", "2026-01-15T00:00:00Z", "UTC", 1, "2027-01-01 00:00 +0000");
    NEXT("0 */6 * * *", "2026-01-01T05:59:59Z", "UTC", 3,
         "2026-01-01 06:00 +0000 | 2026-01-01 12:00 +0000 | 2026-01-01 18:00 +0000");
    NEXT("30 2 * jan,jul *", "2026-01-31T03:00:00Z", "UTC", 1, "2026-07-01 02:30 +0000");
    NEXT("0 12 * * 7", "2026-01-01T00:00:00Z", "UTC", 1, "2026-01-04 12:00 +0000");   /* 7 = Sunday */
    NEXT("0 12 * * SUN", "2026-01-01T00:00:00Z", "UTC", 1, "2026-01-04 12:00 +0000");
    NEXT("0 12 * * 5-7", "2026-01-01T00:00:00Z", "UTC", 3,
         "2026-01-02 12:00 +0000 | 2026-01-03 12:00 +0000 | 2026-01-04 12:00 +0000");
    NEXT("5/20 * * * *", "2026-01-01T00:00:00Z", "UTC", 3,
         "2026-01-01 00:05 +0000 | 2026-01-01 00:25 +0000 | 2026-01-01 00:45 +0000");
    NEXT("0 0 1-10/3 * *", "2026-01-01T00:00:00Z", "UTC", 3,
         "2026-01-04 00:00 +0000 | 2026-01-07 00:00 +0000 | 2026-01-10 00:00 +0000");
    /* Both day fields restricted: OR (the 13th, or any Friday). */
    NEXT("0 0 13 * fri", "2026-01-01T00:00:00Z", "UTC", 3,
         "2026-01-02 00:00 +0000 | 2026-01-09 00:00 +0000 | 2026-01-13 00:00 +0000");
    /* A field starting with '*' is unrestricted for Vixie's rule: AND (odd days that are Fridays). */
    NEXT("0 0 */2 * fri", "2026-01-01T00:00:00Z", "UTC", 2, "2026-01-09 00:00 +0000 | 2026-01-23 00:00 +0000");
    /* Strictly after: a fire time equal to `after` is not returned. */
    NEXT("0 2 * * *", "2026-01-01T02:00:00Z", "UTC", 1, "2026-01-02 02:00 +0000");
    NEXT("0 2 * * *", "2026-01-01T01:59:59Z", "UTC", 1, "2026-01-01 02:00 +0000");
}

static void test_dst(void)
{
    /* Spring 2026-03-29 in Brussels: 02:00 CET does not exist; the job runs once at 03:00 CEST. */
    NEXT("0 2 * * *", "2026-03-27T12:00:00Z", "Europe/Brussels", 4,
         "2026-03-28 02:00 +0100 | 2026-03-29 03:00 +0200 | 2026-03-30 02:00 +0200 | 2026-03-31 02:00 +0200");
    NEXT("30 2 * * *", "2026-03-28T12:00:00Z", "Europe/Brussels", 2,
         "2026-03-29 03:00 +0200 | 2026-03-30 02:30 +0200");
    /* Skipped times and 03:00 itself coalesce into one firing at 03:00. */
    NEXT("*/30 2-3 * * *", "2026-03-29T00:00:00Z", "Europe/Brussels", 3,
         "2026-03-29 03:00 +0200 | 2026-03-29 03:30 +0200 | 2026-03-30 02:00 +0200");
    NEXT("0 * * * *", "2026-03-28T23:30:00Z", "Europe/Brussels", 3,
         "2026-03-29 01:00 +0100 | 2026-03-29 03:00 +0200 | 2026-03-29 04:00 +0200");
    /* Autumn 2026-10-25: 02:00-02:59 happens twice; the job runs once, in the first (CEST). */
    NEXT("0 2 * * *", "2026-10-23T12:00:00Z", "Europe/Brussels", 3,
         "2026-10-24 02:00 +0200 | 2026-10-25 02:00 +0200 | 2026-10-26 02:00 +0100");
    NEXT("30 2 * * *", "2026-10-25T00:30:00Z", "Europe/Brussels", 1, "2026-10-26 02:30 +0100");
    NEXT("30 2 * * *", "2026-10-25T01:15:00Z", "Europe/Brussels", 1, "2026-10-26 02:30 +0100");
    NEXT("0 * * * *", "2026-10-24T23:30:00Z", "Europe/Brussels", 3,
         "2026-10-25 02:00 +0200 | 2026-10-25 03:00 +0100 | 2026-10-25 04:00 +0100");
    NEXT("0 2 * * *", "2026-03-27T12:00:00Z", "UTC", 2, "2026-03-28 02:00 +0000 | 2026-03-29 02:00 +0000");
}

static void test_prev_fired(void)
{
    struct odbk_cron c;
    struct odbk_err err = {0};
    char buf[64];
    time_t t = 0;
    int fired = -1;

    odbk_cron_parse("0 2 * * *", &c, &err);
    ok(odbk_cron_prev(&c, T("2026-03-29T12:00:00Z"), "Europe/Brussels", &t, &err) == 0, "prev");
    fmt(t, "Europe/Brussels", buf);
    is_str(buf, "2026-03-29 03:00 +0200", "prev of 0 2 * * * on the spring day is 03:00 CEST");
    ok(odbk_cron_prev(&c, T("2026-03-29T01:00:00Z"), "Europe/Brussels", &t, &err) == 0 &&
           t == T("2026-03-29T01:00:00Z"), "prev at exactly a fire time is that time");
    odbk_cron_prev(&c, T("2026-10-25T12:00:00Z"), "Europe/Brussels", &t, &err);
    fmt(t, "Europe/Brussels", buf);
    is_str(buf, "2026-10-25 02:00 +0200", "prev on the autumn day is 02:00 CEST");
    odbk_cron_parse("0 0 29 2 *", &c, &err);
    odbk_cron_prev(&c, T("2027-06-01T00:00:00Z"), "UTC", &t, &err);
    fmt(t, "UTC", buf);
    is_str(buf, "2024-02-29 00:00 +0000", "prev of Feb 29 looks back years");
    odbk_cron_parse("* * * * *", &c, &err);
    odbk_cron_prev(&c, T("2026-01-01T10:00:30Z"), "UTC", &t, &err);
    ok(t == T("2026-01-01T10:00:00Z"), "prev of every minute");

    /* --due: @daily fired since the last scheduled backup? */
    odbk_cron_parse("@daily", &c, &err);
    ok(odbk_cron_fired(&c, T("2026-01-01T00:00:05Z"), T("2026-01-01T23:59:00Z"), "UTC", &fired, &err) == 0 &&
           !fired, "@daily: not due again the same day");
    ok(odbk_cron_fired(&c, T("2026-01-01T00:00:05Z"), T("2026-01-02T00:00:00Z"), "UTC", &fired, &err) == 0 &&
           fired, "@daily: due at midnight (inclusive)");
    ok(odbk_cron_fired(&c, T("2026-01-01T00:00:05Z"), T("2026-01-04T08:00:00Z"), "UTC", &fired, &err) == 0 &&
           fired, "@daily: missed days coalesce into one 'due'");
    ok(odbk_cron_fired(&c, T("2026-01-01T00:00:05Z"), T("2026-01-01T23:30:00Z"), "Europe/Brussels", &fired,
                       &err) == 0 && fired, "@daily in Brussels fires at 23:00 UTC");
    ok(odbk_cron_fired(&c, 0, 0, "Nowhere/Land", &fired, &err) == -1, "unknown zone refused");
    is_str(err.msg, "unknown time zone 'Nowhere/Land'", "  naming it");
}

static void test_bad(void)
{
    static const struct {
        const char *expr, *msg;
    } bad[] = {
        {"61 * * * *", "minute field: 61 is out of range 0-59"},
        {"* * *", "expected 5 fields, got 3 in '* * *'"},
        {"@sometimes", "unknown schedule '@sometimes'"},
        {"@reboot", "unknown schedule '@reboot'"},
        {"", "expected 5 fields, got 0 in ''"},
        {"0 0 * * * *", "expected 5 fields, got 6 in '0 0 * * * *'"},
        {"0 24 * * *", "hour field: 24 is out of range 0-23"},
        {"0 0 0 * *", "day-of-month field: 0 is out of range 1-31"},
        {"0 0 32 * *", "day-of-month field: 32 is out of range 1-31"},
        {"0 0 * 13 *", "month field: 13 is out of range 1-12"},
        {"0 0 * * 8", "day-of-week field: 8 is out of range 0-7"},
        {"0 0 * foo *", "month field: 'foo' is not a number or a month name (jan..dec)"},
        {"0 0 * * funday", "day-of-week field: 'funday' is not a number or a day name (sun..sat)"},
        {"x * * * *", "minute field: 'x' is not a number"},
        {"*/0 * * * *", "minute field: step 0 is out of range 1-59"},
        {"*/ * * * *", "minute field: missing step after '/'"},
        {"5-1 * * * *", "minute field: range 5-1 is reversed"},
        {"1,,2 * * * *", "minute field: empty list item"},
        {"-5 * * * *", "minute field: '-5' is not a number"},
        {"0 0 30 2 *", "schedule '0 0 30 2 *' never fires: no month allowed has that day"},
        {"0 0 31 4,6 *", "schedule '0 0 31 4,6 *' never fires: no month allowed has that day"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct odbk_cron c;
        struct odbk_err err = {0};
        int rc = odbk_cron_parse(bad[i].expr, &c, &err);
        char *desc = odbk_xasprintf("'%s' is refused", bad[i].expr);
        ok(rc == -1 && err.code == ODBK_E_CONFIG, desc);
        is_str(err.msg, bad[i].msg, "  with the field named");
        free(desc);
    }
    struct odbk_cron c;
    struct odbk_err err = {0};
    ok(odbk_cron_parse("  0 0 30 2 mon  ", &c, &err) == 0, "Feb 30 OR Monday is fine (OR rule)");
    is_str(c.text, "0 0 30 2 mon", "text is trimmed");
    ok(odbk_cron_parse("@DAILY", &c, &err) == 0 && !strcmp(c.text, "@daily"), "@DAILY: case-insensitive");
    ok(odbk_cron_parse("0 0 * JAN-mar Mon-FRI", &c, &err) == 0 && c.month == 0xE && c.wday == 0x3E,
       "names are case-insensitive and work in ranges");
}

int main(void)
{
    test_table();
    test_dst();
    test_prev_fired();
    test_bad();
    return done_testing();
}
