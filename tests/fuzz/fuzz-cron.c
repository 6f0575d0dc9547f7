/* fuzz-cron.c - the 5-field cron parser (odbk_cron_parse) and, on what it accepts, the next and previous
 * fire times in UTC and in a zone with DST. */
#include "fuzz/fuzz.h"

#include "policy/cron.h"

FUZZ_TARGET(cron)
{
    char *s = fuzz_cstr(data, size);
    struct odbk_cron c;
    struct odbk_err err = {0};
    if (odbk_cron_parse(s, &c, &err) == 0) {
        time_t t = 1700000000, next, prev;
        int fired;
        (void)odbk_cron_next(&c, t, NULL, &next, &err);
        (void)odbk_cron_prev(&c, t, "Europe/Brussels", &prev, &err);
        (void)odbk_cron_fired(&c, t - 86400, t, "UTC", &fired, &err);
    }
    free(s);
    return 0;
}
