/* cron.h - schedules: 5-field cron expressions evaluated in a time zone (odbk.conf(5) `schedule`,
 * odbk-schedules(7)).
 *
 * Syntax (Vixie cron): minute hour day-of-month month day-of-week; each field a comma list of `*`, `N`,
 * `N-M`, with an optional `/STEP` (`0-59/15`, `9-17/2`, `*` with a step; `N/STEP` means N-max/STEP); month names jan..dec and
 * day names sun..sat (case-insensitive), day-of-week 0 and 7 both Sunday.  `@hourly`, `@daily` (`@midnight`),
 * `@weekly` (Sunday 00:00), `@monthly`, `@yearly` (`@annually`).  When both day-of-month and day-of-week
 * are restricted a day matches if EITHER matches; a field that begins with `*` (even with a step) counts as
 * unrestricted, and then both must match -- exactly Vixie cron's rule.
 *
 * Time zones and DST: the fields match the wall clock of the zone.  A wall time that does not exist (the
 * spring gap, e.g. 02:30 on 2026-03-29 in Europe/Brussels) fires once, at the first instant after the gap
 * (03:00 CEST); several skipped times coalesce into that one firing.  A wall time that happens twice (the
 * autumn overlap, 02:00-02:59 on 2026-10-25 in Brussels) fires once, at its first occurrence (CEST); so
 * `0 * * * *` does not fire at 02:00 CET, a two-hour gap that night.
 */
#ifndef ODBK_POLICY_CRON_H
#define ODBK_POLICY_CRON_H

#include <stdint.h>
#include <time.h>

#include "common/err.h"

struct odbk_cron {
    uint64_t minute;   /* bit m: minute m (0-59) */
    uint32_t hour;     /* bit h (0-23) */
    uint32_t mday;     /* bit d (1-31) */
    uint16_t month;    /* bit m (1-12) */
    uint8_t wday;      /* bit d (0-6, Sunday = 0) */
    int mday_star, wday_star;
    char text[128];    /* the expression as given (trimmed, possibly cut) */
};

/* Parse expr.  ODBK_E_CONFIG naming the field: "minute field: 61 is out of range 0-59", "expected 5
 * fields, got 3", "unknown schedule '@sometimes'"; also a schedule that can never fire ("0 0 30 2 *"). */
int odbk_cron_parse(const char *expr, struct odbk_cron *out, struct odbk_err *err);

/* The first fire time strictly after `after`, in zone tz (NULL or "" = UTC). */
int odbk_cron_next(const struct odbk_cron *c, time_t after, const char *tz, time_t *next, struct odbk_err *err);
/* The last fire time at or before `at`. */
int odbk_cron_prev(const struct odbk_cron *c, time_t at, const char *tz, time_t *prev, struct odbk_err *err);
/* Did it fire in (since, until]?  *fired = 0/1; for --due: since = the last scheduled backup's time. */
int odbk_cron_fired(const struct odbk_cron *c, time_t since, time_t until, const char *tz, int *fired,
                    struct odbk_err *err);

#endif
