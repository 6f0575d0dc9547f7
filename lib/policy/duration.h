/* duration.h - the two kinds of durations odbk reads.
 *
 * Calendar durations (retention: odbk.conf(5) [policy]): `36h`, `7d`, `4w`, `12m`, `2y`, combinable as `1y6m`; here
 * `m` means MONTHS, as in restic's --keep-within.  They are subtracted on the wall clock of the policy's
 * zone, so "1m" before 15 April 10:00 is 15 March 10:00 whatever the DST state.
 *
 * Elapsed durations (`odbk-download --expires 15m`, timeouts): `90s`, `15m`, `1h30m`, `2d`, `1w`; here `m`
 * means MINUTES, as everywhere outside retention.  They are a number of seconds.
 *
 * Both parsers are strict: empty text, a bare number, a negative or unknown unit, a repeated unit or an
 * overflow is an error naming the value.
 */
#ifndef ODBK_POLICY_DURATION_H
#define ODBK_POLICY_DURATION_H

#include <stdint.h>
#include <time.h>

#include "common/err.h"

struct odbk_duration {
    int years, months, weeks, days, hours;
};

/* Parse a calendar duration (units y, m = months, w, d, h).  All-zero ("0d") is valid and means "not
 * set", as in restic. */
int odbk_duration_parse(const char *s, struct odbk_duration *out, struct odbk_err *err);
/* "1y6m", units in the order y m w d h; "0d" for the zero duration. */
void odbk_duration_format(const struct odbk_duration *d, char buf[64]);
int odbk_duration_is_zero(const struct odbk_duration *d);

/* t - d, between odbk_tz_enter() and odbk_tz_leave(): years, months, weeks and days are taken off the
 * wall clock and the date normalised as Go's time.AddDate (and mktime) do, so 31 March - 1m = "31
 * February" = 3 March (2 March in a leap year), exactly what restic computes; a resulting wall time in a
 * DST gap becomes the end of the gap.  Hours are then subtracted as elapsed time (3600 s each). */
time_t odbk_duration_before(time_t t, const struct odbk_duration *d);

/* Parse an elapsed duration (units s, m = minutes, h, d, w) into seconds, > 0. */
int odbk_duration_parse_seconds(const char *s, int64_t *out, struct odbk_err *err);

#endif
