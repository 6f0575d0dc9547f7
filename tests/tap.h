/* tap.h - a tiny TAP emitter for the C unit tests, run by prove.
 *
 *   int main(void) { plan(3); ok(1 + 1 == 2, "adds"); is_int(f(), 4, "f"); is_str(s, "x", "s");
 *                    return done_testing(); }
 */
#ifndef ODBK_TAP_H
#define ODBK_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed, tap_planned = -1;

static inline void plan(int n) { tap_planned = n; printf("1..%d\n", n); }

static inline int tap_ok(int cond, const char *file, int line, const char *desc)
{
    tap_n++;
    printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, desc);
    if (!cond) {
        tap_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
    return cond;
}

#define ok(cond, desc) tap_ok(!!(cond), __FILE__, __LINE__, desc)
#define is_int(got, want, desc)                                                                    \
    do {                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                   \
        if (!tap_ok(g_ == w_, __FILE__, __LINE__, desc))                                           \
            printf("#          got: %lld\n#     expected: %lld\n", g_, w_);                       \
    } while (0)
#define is_str(got, want, desc)                                                                    \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        if (!tap_ok(g_ && w_ ? !strcmp(g_, w_) : g_ == w_, __FILE__, __LINE__, desc))              \
            printf("#          got: '%s'\n#     expected: '%s'\n", g_ ? g_ : "(null)",             \
                   w_ ? w_ : "(null)");                                                            \
    } while (0)
#define diag(...) (printf("# "), printf(__VA_ARGS__), printf("\n"))

static inline int done_testing(void)
{
    if (tap_planned < 0)
        printf("1..%d\n", tap_n);
    else if (tap_planned != tap_n)
        printf("# planned %d tests but ran %d\n", tap_planned, tap_n);
    return tap_failed || (tap_planned >= 0 && tap_planned != tap_n);
}

#endif
