/* fuzz-duration.c - both duration parsers: calendar durations (keep-within, "1y6m") with their formatting
 * read back, and elapsed ones ("90m") in seconds. */
#include "fuzz/fuzz.h"

#include <stdio.h>

#include "policy/duration.h"

FUZZ_TARGET(duration)
{
    char *s = fuzz_cstr(data, size);
    struct odbk_duration d;
    struct odbk_err err = {0};
    if (odbk_duration_parse(s, &d, &err) == 0) {
        char buf[64];
        struct odbk_duration again;
        odbk_duration_format(&d, buf);
        /* what it prints it reads back as the same duration */
        if (odbk_duration_parse(buf, &again, &err) < 0 || memcmp(&d, &again, sizeof d) != 0) {
            fprintf(stderr, "duration '%s' formatted as '%s' does not read back\n", s, buf);
            abort();
        }
    }
    int64_t secs;
    if (odbk_duration_parse_seconds(s, &secs, &err) == 0 && secs <= 0) {
        fprintf(stderr, "elapsed duration '%s' parsed to %lld seconds\n", s, (long long)secs);
        abort();
    }
    free(s);
    return 0;
}
