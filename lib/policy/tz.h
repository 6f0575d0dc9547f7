/* tz.h - wall-clock conversions in a named IANA time zone (odbk.conf(5) `timezone`).
 *
 * Retention buckets and cron schedules are evaluated in the policy's zone, not the host's.  libc only
 * converts in the zone named by $TZ, so odbk_tz_enter() takes a process-wide mutex, points $TZ at the
 * zone and calls tzset(); odbk_tz_leave() restores the previous $TZ and releases the mutex.  Between the
 * two, localtime_r() and mktime() work in the zone.  Code elsewhere in the process that reads $TZ or calls
 * localtime() concurrently is not protected; the programs evaluate policies on one thread.
 */
#ifndef ODBK_POLICY_TZ_H
#define ODBK_POLICY_TZ_H

#include <time.h>

#include "common/err.h"

/* Is zone a time zone this host knows: "UTC" or an IANA name with a TZif file under $TZDIR or
 * /usr/share/zoneinfo?  (glibc silently treats an unknown zone as UTC, so this check is the only way
 * a typo such as "Europe/Bruxelles" is caught.)  ODBK_E_CONFIG naming the zone otherwise. */
int odbk_tz_check(const char *zone, struct odbk_err *err);

/* Switch libc to zone (NULL or "" = "UTC") until odbk_tz_leave(); not reentrant. */
void odbk_tz_enter(const char *zone);
void odbk_tz_leave(void);
/* Enter zone for a walk of many steps (the compliance window's year of cron steps): until odbk_tz_release,
 * this thread's odbk_tz_enter of the same zone and its odbk_tz_leave do nothing, so the walk reads the
 * zone's file once, not twice per step.  Another zone is not entered meanwhile (not reentrant). */
void odbk_tz_hold(const char *zone);
void odbk_tz_release(void);

/* Between enter and leave: the wall-clock fields of t in the zone (tm_gmtoff: seconds east of UTC). */
void odbk_tz_local(time_t t, struct tm *out);

/* Between enter and leave: the instant a wall-clock time (tm_year.. tm_sec, normalised like mktime,
 * tm_isdst ignored) first occurs.  A wall time that does not exist (the DST gap) yields the first instant
 * after the gap, i.e. the transition itself; a wall time that occurs twice yields its first occurrence. */
time_t odbk_tz_first_instant(const struct tm *wall);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12); no time zone involved. */
long long odbk_days_from_civil(long long y, int m, int d);

/* t in zone as RFC 3339 with its offset ("2026-03-29T03:00:00+02:00", "Z" for UTC). */
void odbk_tz_rfc3339(time_t t, const char *zone, char out[40]);

#endif
