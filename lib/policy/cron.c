/* cron.c - parse 5-field cron expressions and find fire times in a zone (see cron.h). */
#include "policy/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/tz.h"

#define SEARCH_YEARS 30   /* Feb 29 needs up to 8 years; nothing sane needs 30 */

struct field {
    const char *name;
    int lo, hi;
    const char *const *names;   /* names[i] is value lo + i... see name_base */
    int name_base;
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
                                          "oct", "nov", "dec", NULL};
static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const struct field fields[5] = {
    {"minute", 0, 59, NULL, 0},
    {"hour", 0, 23, NULL, 0},
    {"day-of-month", 1, 31, NULL, 0},
    {"month", 1, 12, month_names, 1},
    {"day-of-week", 0, 7, day_names, 0},
};

static const struct {
    const char *name, *expr;
} shortcuts[] = {
    {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
};

static int parse_value(const struct field *f, const char *s, size_t len, int *out, struct odbk_err *err)
{
    if (len && isdigit((unsigned char)s[0])) {
        long v = 0;
        for (size_t i = 0; i < len; i++) {
            if (!isdigit((unsigned char)s[i]))
                return odbk_err_set(err, ODBK_E_CONFIG, "%s field: '%.*s' is not a number", f->name, (int)len, s);
            if (v < 1000)
                v = v * 10 + (s[i] - '0');
        }
        if (v < f->lo || v > f->hi)
            return odbk_err_set(err, ODBK_E_CONFIG, "%s field: %.*s is out of range %d-%d", f->name, (int)len, s,
                                f->lo, f->hi);
        *out = (int)v;
        return 0;
    }
    if (f->names && len == 3)
        for (int i = 0; f->names[i]; i++)
            if (!strncasecmp(s, f->names[i], 3)) {
                *out = f->name_base + i;
                return 0;
            }
    return odbk_err_set(err, ODBK_E_CONFIG, "%s field: '%.*s' is not a number%s", f->name, (int)len, s,
                        f->names == month_names ? " or a month name (jan..dec)"
                        : f->names == day_names ? " or a day name (sun..sat)" : "");
}

/* One comma-separated item: *, N, N-M, each with an optional /STEP. */
static int parse_item(const struct field *f, const char *s, size_t len, uint64_t *bits, struct odbk_err *err)
{
    const char *slash = memchr(s, '/', len);
    size_t rlen = slash ? (size_t)(slash - s) : len;
    int lo, hi, step = 1;

    if (!len)
        return odbk_err_set(err, ODBK_E_CONFIG, "%s field: empty list item", f->name);
    if (slash) {
        const char *st = slash + 1;
        size_t slen = len - rlen - 1;
        long v = 0;
        if (!slen)
            return odbk_err_set(err, ODBK_E_CONFIG, "%s field: missing step after '/'", f->name);
        for (size_t i = 0; i < slen; i++) {
            if (!isdigit((unsigned char)st[i]))
                return odbk_err_set(err, ODBK_E_CONFIG, "%s field: step '%.*s' is not a number", f->name,
                                    (int)slen, st);
            if (v < 1000)
                v = v * 10 + (st[i] - '0');
        }
        if (v < 1 || v > f->hi)
            return odbk_err_set(err, ODBK_E_CONFIG, "%s field: step %.*s is out of range 1-%d", f->name,
                                (int)slen, st, f->hi);
        step = (int)v;
    }
    if (rlen == 1 && s[0] == '*') {
        lo = f->lo;
        hi = f->hi;
    } else {
        const char *dash = memchr(s, '-', rlen);
        if (dash == s)
            return odbk_err_set(err, ODBK_E_CONFIG, "%s field: '%.*s' is not a number", f->name, (int)rlen, s);
        if (parse_value(f, s, dash ? (size_t)(dash - s) : rlen, &lo, err) < 0)
            return -1;
        if (dash) {
            if (parse_value(f, dash + 1, rlen - (size_t)(dash + 1 - s), &hi, err) < 0)
                return -1;
            if (hi < lo)
                return odbk_err_set(err, ODBK_E_CONFIG, "%s field: range %.*s is reversed", f->name, (int)rlen, s);
        } else {
            hi = slash ? f->hi : lo;
        }
    }
    for (int v = lo; v <= hi; v += step)
        *bits |= 1ULL << v;
    return 0;
}

static int parse_field(const struct field *f, const char *s, size_t len, uint64_t *bits, struct odbk_err *err)
{
    *bits = 0;
    while (1) {
        const char *comma = memchr(s, ',', len);
        size_t ilen = comma ? (size_t)(comma - s) : len;
        if (parse_item(f, s, ilen, bits, err) < 0)
            return -1;
        if (!comma)
            return 0;
        len -= ilen + 1;
        s = comma + 1;
    }
}

static int days_in_month(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

int odbk_cron_parse(const char *expr, struct odbk_cron *out, struct odbk_err *err)
{
    const char *p = expr ? expr : "";
    memset(out, 0, sizeof *out);
    while (isspace((unsigned char)*p))
        p++;
    size_t len = strlen(p);
    while (len && isspace((unsigned char)p[len - 1]))
        len--;
    snprintf(out->text, sizeof out->text, "%.*s", (int)len, p);

    if (*p == '@') {
        for (size_t i = 0; i < sizeof shortcuts / sizeof *shortcuts; i++)
            if (strlen(shortcuts[i].name) == len && !strncasecmp(p, shortcuts[i].name, len)) {
                int rc = odbk_cron_parse(shortcuts[i].expr, out, err);
                snprintf(out->text, sizeof out->text, "%s", shortcuts[i].name);
                return rc;
            }
        odbk_err_set(err, ODBK_E_CONFIG, "unknown schedule '%.*s'", (int)len, p);
        odbk_err_hint(err, "use a 5-field cron expression or @hourly, @daily, @weekly, @monthly, @yearly");
        return -1;
    }

    const char *start[5];
    size_t flen[5];
    int n = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && isspace((unsigned char)p[i]))
            i++;
        if (i >= len)
            break;
        size_t j = i;
        while (j < len && !isspace((unsigned char)p[j]))
            j++;
        if (n < 5) {
            start[n] = p + i;
            flen[n] = j - i;
        }
        n++;
        i = j;
    }
    if (n != 5) {
        odbk_err_set(err, ODBK_E_CONFIG, "expected 5 fields, got %d in '%.*s'", n, (int)len, p);
        odbk_err_hint(err, "minute hour day-of-month month day-of-week, e.g. '30 2 * * *' (02:30 every day)");
        return -1;
    }
    uint64_t bits[5];
    for (int i = 0; i < 5; i++)
        if (parse_field(&fields[i], start[i], flen[i], &bits[i], err) < 0)
            return -1;
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->mday = (uint32_t)bits[2];
    out->month = (uint16_t)bits[3];
    out->wday = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f);   /* 7 is Sunday */
    out->mday_star = start[2][0] == '*';
    out->wday_star = start[4][0] == '*';

    /* A day of month that no allowed month has (30 February) never fires when it alone picks the day. */
    if (!out->mday_star && out->wday_star) {
        int possible = 0;
        for (int m = 1; m <= 12 && !possible; m++)
            for (int d = 1; d <= days_in_month(2000, m) && !possible; d++)
                possible = (out->month >> m & 1) && (out->mday >> d & 1);
        if (!possible)
            return odbk_err_set(err, ODBK_E_CONFIG, "schedule '%s' never fires: no month allowed has that day",
                                out->text);
    }
    return 0;
}

/* ---------------------------------------------------------------- fire times */

struct wall {
    int y, mo, d, h, mi;
};

static int day_matches(const struct odbk_cron *c, int y, int mo, int d)
{
    int wd = (int)(((odbk_days_from_civil(y, mo, d) % 7) + 11) % 7);   /* 1970-01-01 was a Thursday */
    int dom = c->mday >> d & 1, dow = c->wday >> wd & 1;
    return (c->mday_star || c->wday_star) ? (dom && dow) : (dom || dow);
}

/* Move w to the first matching wall-clock minute at or after w (naive calendar, no zone); -1 past limit. */
static int next_match(const struct odbk_cron *c, struct wall *w, int limit_year)
{
    for (;;) {
        if (w->y > limit_year)
            return -1;
        if (!(c->month >> w->mo & 1) || w->d > days_in_month(w->y, w->mo)) {
            w->d = 1;
            w->h = w->mi = 0;
            if (++w->mo > 12) {
                w->mo = 1;
                w->y++;
            }
            continue;
        }
        if (!day_matches(c, w->y, w->mo, w->d)) {
            w->d++;
            w->h = w->mi = 0;
            continue;
        }
        if (!(c->hour >> w->h & 1)) {
            w->mi = 0;
            if (++w->h > 23) {
                w->h = 0;
                w->d++;
            }
            continue;
        }
        if (!(c->minute >> w->mi & 1)) {
            if (++w->mi > 59) {
                w->mi = 0;
                w->h++;
                if (w->h > 23) {
                    w->h = 0;
                    w->d++;
                }
            }
            continue;
        }
        return 0;
    }
}

static time_t fire_instant(const struct wall *w)
{
    struct tm tm = {0};
    tm.tm_year = w->y - 1900;
    tm.tm_mon = w->mo - 1;
    tm.tm_mday = w->d;
    tm.tm_hour = w->h;
    tm.tm_min = w->mi;
    return odbk_tz_first_instant(&tm);
}

/* With the zone entered. */
static int next_in_zone(const struct odbk_cron *c, time_t after, time_t *next)
{
    struct tm tm;
    odbk_tz_local(after, &tm);
    struct wall w = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min};
    int limit = w.y + SEARCH_YEARS;
    for (;;) {
        if (next_match(c, &w, limit) < 0)
            return -1;
        time_t t = fire_instant(&w);
        if (t > after) {
            *next = t;
            return 0;
        }
        w.mi++;
        if (w.mi > 59) {
            w.mi = 0;
            if (++w.h > 23) {
                w.h = 0;
                w.d++;
            }
        }
    }
}

static int enter(const char *tz, struct odbk_err *err)
{
    const char *zone = tz && *tz ? tz : "UTC";
    if (odbk_tz_check(zone, err) < 0)
        return -1;
    odbk_tz_enter(zone);
    return 0;
}

static int never(const struct odbk_cron *c, struct odbk_err *err)
{
    return odbk_err_set(err, ODBK_E_CONFIG, "schedule '%s' does not fire within %d years", c->text,
                        SEARCH_YEARS);
}

int odbk_cron_next(const struct odbk_cron *c, time_t after, const char *tz, time_t *next, struct odbk_err *err)
{
    if (enter(tz, err) < 0)
        return -1;
    int rc = next_in_zone(c, after, next);
    odbk_tz_leave();
    return rc < 0 ? never(c, err) : 0;
}

int odbk_cron_prev(const struct odbk_cron *c, time_t at, const char *tz, time_t *prev, struct odbk_err *err)
{
    if (enter(tz, err) < 0)
        return -1;
    /* Look back 1 h, 2 h, 4 h ... for the fires in (at - span, at]; keep the last. */
    int found = 0;
    for (long long span = 3600; !found && span < (SEARCH_YEARS + 1) * 366LL * 86400; span *= 2) {
        time_t t;
        for (time_t from = at - (time_t)span; next_in_zone(c, from, &t) == 0 && t <= at; from = t) {
            *prev = t;
            found = 1;
        }
    }
    odbk_tz_leave();
    return found ? 0 : never(c, err);
}

int odbk_cron_fired(const struct odbk_cron *c, time_t since, time_t until, const char *tz, int *fired,
                    struct odbk_err *err)
{
    time_t t;
    if (enter(tz, err) < 0)
        return -1;
    *fired = next_in_zone(c, since, &t) == 0 && t <= until;
    odbk_tz_leave();
    return 0;
}
