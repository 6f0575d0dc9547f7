/* tz.c - wall-clock conversions in a named time zone, through libc and $TZ (see tz.h). */
#include "policy/tz.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;
static char *saved_tz;
static int had_tz;

static int zone_name_ok(const char *zone)
{
    if (!*zone || zone[0] == '/' || strstr(zone, "..") || strlen(zone) > 200)
        return 0;
    for (const char *p = zone; *p; p++)
        if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') ||
              strchr("/_+-", *p)))
            return 0;
    return 1;
}

/* Zones already found good in this run: every cron step checks its zone, and an organization of 10,000
 * envs has a handful of zones, so the zoneinfo file is opened once per zone, not once per step. */
#define KNOWN_ZONES 32
static pthread_mutex_t known_lock = PTHREAD_MUTEX_INITIALIZER;
static char *known[KNOWN_ZONES];
static size_t n_known;

static int zone_known(const char *zone, int add)
{
    size_t i;
    int found = 0;
    pthread_mutex_lock(&known_lock);
    for (i = 0; i < n_known && !found; i++)
        found = !strcmp(known[i], zone);
    if (!found && add && n_known < KNOWN_ZONES)
        known[n_known++] = odbk_xstrdup(zone);
    pthread_mutex_unlock(&known_lock);
    return found;
}

int odbk_tz_check(const char *zone, struct odbk_err *err)
{
    if (!zone || !strcmp(zone, "UTC"))
        return 0;
    if (!zone_name_ok(zone))
        return odbk_err_set(err, ODBK_E_CONFIG, "'%s' is not a time zone name", zone);
    if (zone_known(zone, 0))
        return 0;
    const char *dir = odbk_getenv("TZDIR");
    char *path = odbk_xasprintf("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone);
    char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    int good = f && fread(magic, 1, 4, f) == 4 && !memcmp(magic, "TZif", 4);
    if (f)
        fclose(f);
    free(path);
    if (!good) {
        odbk_err_set(err, ODBK_E_CONFIG, "unknown time zone '%s'", zone);
        odbk_err_hint(err, "use an IANA name such as 'Europe/Brussels' or 'UTC' (see /usr/share/zoneinfo; "
                           "install tzdata if it is missing)");
        return -1;
    }
    zone_known(zone, 1);
    return 0;
}

/* the zone this thread holds (odbk_tz_hold), and how deep its enters inside the hold are */
static __thread char *held_zone;
static __thread int held_depth;

void odbk_tz_enter(const char *zone)
{
    if (held_zone && !strcmp(held_zone, zone && *zone ? zone : "UTC")) {
        held_depth++;
        return;
    }
    pthread_mutex_lock(&tz_lock);
    const char *old = odbk_getenv("TZ");
    had_tz = old != NULL;
    saved_tz = old ? odbk_xstrdup(old) : NULL;
    setenv("TZ", zone && *zone ? zone : "UTC", 1);
    tzset();
}

void odbk_tz_leave(void)
{
    if (held_depth > 0) {
        held_depth--;
        return;
    }
    if (had_tz)
        setenv("TZ", saved_tz, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved_tz);
    saved_tz = NULL;
    pthread_mutex_unlock(&tz_lock);
}

void odbk_tz_hold(const char *zone)
{
    odbk_tz_enter(zone);
    held_zone = odbk_xstrdup(zone && *zone ? zone : "UTC");
}

void odbk_tz_release(void)
{
    free(held_zone);
    held_zone = NULL;
    held_depth = 0;
    odbk_tz_leave();
}

void odbk_tz_local(time_t t, struct tm *out)
{
    localtime_r(&t, out);
}

long long odbk_days_from_civil(long long y, int m, int d)
{
    /* Howard Hinnant's days_from_civil. */
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The wall clock at t, as seconds since the epoch of a clock that has no zone. */
static long long wall_of(time_t t)
{
    struct tm tm;
    localtime_r(&t, &tm);
    return (long long)t + tm.tm_gmtoff;
}

time_t odbk_tz_first_instant(const struct tm *wall)
{
    long long mon = wall->tm_mon, year = wall->tm_year + 1900LL;
    year += mon >= 0 ? mon / 12 : -((11 - mon) / 12);
    mon = ((mon % 12) + 12) % 12;
    long long w = (odbk_days_from_civil(year, (int)mon + 1, 1) + wall->tm_mday - 1) * 86400LL +
                  wall->tm_hour * 3600LL + wall->tm_min * 60LL + wall->tm_sec;

    /* The offsets in effect around w; the instants of w are among w - offset. */
    long offs[3];
    for (int i = 0; i < 3; i++) {
        struct tm tm;
        time_t probe = (time_t)(w + (i - 1) * 86400LL);
        localtime_r(&probe, &tm);
        offs[i] = tm.tm_gmtoff;
    }
    long long best = 0, lo = 0, hi = 0;
    int found = 0;
    for (int i = 0; i < 3; i++) {
        long long c = w - offs[i];
        if (i == 0 || c < lo)
            lo = c;
        if (i == 0 || c > hi)
            hi = c;
        if (wall_of((time_t)c) == w && (!found || c < best)) {
            best = c;
            found = 1;
        }
    }
    if (found)
        return (time_t)best;
    /* In a gap: the first instant whose wall clock is past w. wall_of(lo) < w < wall_of(hi). */
    if (wall_of((time_t)hi) <= w)
        hi += 86400;
    while (hi - lo > 1) {
        long long mid = lo + (hi - lo) / 2;
        if (wall_of((time_t)mid) > w)
            hi = mid;
        else
            lo = mid;
    }
    return (time_t)hi;
}

void odbk_tz_rfc3339(time_t t, const char *zone, char out[40])
{
    struct tm tm;
    char z[8];
    odbk_tz_enter(zone);
    odbk_tz_local(t, &tm);
    strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    strftime(z, sizeof(z), "%z", &tm);
    odbk_tz_leave();
    if (!strcmp(z, "+0000"))
        strcat(out, "Z");
    else
        snprintf(out + strlen(out), 40 - strlen(out), "%.3s:%.2s", z, z + 3);
}
