/* duration.c - calendar durations for retention and elapsed durations for links and timeouts. */
#include "policy/duration.h"

#include <stdio.h>
#include <string.h>

#include "policy/tz.h"

#define DURATION_MAX 1000000  /* per unit; a million years is not a retention period */

/* Split s into (number, unit) pairs; units must come from `units`, each at most once.  values[i] gets the
 * number of units[i].  what names the kind of duration in messages. */
static int parse_units(const char *s, const char *units, const char *unit_help, long long *values,
                       struct odbk_err *err)
{
    int seen[8] = {0};
    const char *p = s;

    if (!s || !*s)
        return odbk_err_set(err, ODBK_E_CONFIG, "empty duration (%s)", unit_help);
    while (*p) {
        if (*p == '-')
            return odbk_err_set(err, ODBK_E_CONFIG, "invalid duration '%s': negative values are not allowed", s);
        if (*p < '0' || *p > '9')
            return odbk_err_set(err, ODBK_E_CONFIG, "invalid duration '%s': expected a number at '%s' (%s)",
                                s, p, unit_help);
        long long n = 0;
        while (*p >= '0' && *p <= '9') {
            n = n * 10 + (*p++ - '0');
            if (n > DURATION_MAX)
                return odbk_err_set(err, ODBK_E_CONFIG, "invalid duration '%s': number too large", s);
        }
        if (!*p)
            return odbk_err_set(err, ODBK_E_CONFIG, "invalid duration '%s': missing unit after %lld (%s)", s,
                                n, unit_help);
        const char *u = strchr(units, *p);
        if (!u)
            return odbk_err_set(err, ODBK_E_CONFIG, "invalid duration '%s': unknown unit '%c' (%s)", s, *p,
                                unit_help);
        if (seen[u - units]++)
            return odbk_err_set(err, ODBK_E_CONFIG, "invalid duration '%s': unit '%c' given twice", s, *p);
        values[u - units] = n;
        p++;
    }
    return 0;
}

int odbk_duration_parse(const char *s, struct odbk_duration *out, struct odbk_err *err)
{
    long long v[5] = {0};
    if (parse_units(s, "ymwdh", "units: h, d, w, m = months, y; e.g. '7d', '1y6m'", v, err) < 0)
        return -1;
    out->years = (int)v[0];
    out->months = (int)v[1];
    out->weeks = (int)v[2];
    out->days = (int)v[3];
    out->hours = (int)v[4];
    return 0;
}

void odbk_duration_format(const struct odbk_duration *d, char buf[64])
{
    int vals[5] = {d->years, d->months, d->weeks, d->days, d->hours};
    const char *units = "ymwdh";
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < 5; i++)
        if (vals[i])
            len += (size_t)snprintf(buf + len, 64 - len, "%d%c", vals[i], units[i]);
    if (!len)
        snprintf(buf, 64, "0d");
}

int odbk_duration_is_zero(const struct odbk_duration *d)
{
    return !d->years && !d->months && !d->weeks && !d->days && !d->hours;
}

time_t odbk_duration_before(time_t t, const struct odbk_duration *d)
{
    struct tm tm;
    odbk_tz_local(t, &tm);
    tm.tm_year -= d->years;
    tm.tm_mon -= d->months;
    tm.tm_mday -= d->days + 7 * d->weeks;
    time_t r = (d->years || d->months || d->days || d->weeks) ? odbk_tz_first_instant(&tm) : t;
    return r - (time_t)d->hours * 3600;
}

int odbk_duration_parse_seconds(const char *s, int64_t *out, struct odbk_err *err)
{
    static const long long mult[5] = {1, 60, 3600, 86400, 604800};
    long long v[5] = {0};
    if (parse_units(s, "smhdw", "units: s, m = minutes, h, d, w; e.g. '15m', '1h30m'", v, err) < 0)
        return -1;
    int64_t total = 0;
    for (int i = 0; i < 5; i++)
        total += v[i] * mult[i];
    if (total <= 0)
        return odbk_err_set(err, ODBK_E_CONFIG, "invalid duration '%s': must be longer than zero", s);
    *out = total;
    return 0;
}
