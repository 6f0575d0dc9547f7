/* progress.c - the progress bar and JSON progress lines. */
#include "cli/progress.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#define MAX_PHASES 6

struct phase {
    char name[32];
    uint64_t bytes, expected;
};

struct odbk_progress {
    enum odbk_progress_mode mode;
    pthread_mutex_t mu;
    struct timespec start;
    struct phase ph[MAX_PHASES];
    int n;
    int drawn;
};

static double elapsed(const struct odbk_progress *p)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - p->start.tv_sec) + (double)(now.tv_nsec - p->start.tv_nsec) / 1e9;
}

struct odbk_progress *odbk_progress_new(enum odbk_progress_mode mode, int quiet)
{
    struct odbk_progress *p;
    if (mode == ODBK_PROGRESS_AUTO)
        mode = !quiet && isatty(2) ? ODBK_PROGRESS_BAR : ODBK_PROGRESS_NONE;
    if (mode == ODBK_PROGRESS_NONE)
        return NULL;
    p = odbk_xcalloc(1, sizeof(*p));
    p->mode = mode;
    pthread_mutex_init(&p->mu, NULL);
    clock_gettime(CLOCK_MONOTONIC, &p->start);
    return p;
}

void odbk_progress_update(void *ctx, const char *phase, uint64_t bytes, uint64_t expected)
{
    struct odbk_progress *p = ctx;
    struct phase *ph = NULL;
    double t;
    int i;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    for (i = 0; i < p->n; i++)
        if (!strcmp(p->ph[i].name, phase))
            ph = &p->ph[i];
    if (!ph && p->n < MAX_PHASES) {
        ph = &p->ph[p->n++];
        snprintf(ph->name, sizeof(ph->name), "%s", phase);
    }
    if (ph) {
        ph->bytes = bytes;
        ph->expected = expected;
    }
    t = elapsed(p);
    if (p->mode == ODBK_PROGRESS_JSON) {
        fprintf(stderr, "{\"phase\": \"%s\", \"bytes\": %llu, \"expected\": %llu, \"elapsed\": %.1f}\n", phase,
                (unsigned long long)bytes, (unsigned long long)expected, t);
    } else {
        char line[512];
        size_t len = 0;
        for (i = 0; i < p->n; i++) {
            char sz[32], rate[32];
            odbk_fmt_size(p->ph[i].bytes, sz);
            odbk_fmt_size(t > 0 ? (uint64_t)((double)p->ph[i].bytes / t) : 0, rate);
            len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s %s %s/s", i ? " | " : "", p->ph[i].name,
                                    sz, rate);
            if (p->ph[i].expected && p->ph[i].bytes <= p->ph[i].expected && p->ph[i].bytes > 0) {
                double frac = (double)p->ph[i].bytes / (double)p->ph[i].expected;
                len += (size_t)snprintf(line + len, sizeof(line) - len, " %3.0f%% ETA %.0fs", frac * 100,
                                        t / frac - t);
            }
            if (len >= sizeof(line) - 1)
                break;
        }
        fprintf(stderr, "\r\033[K%s", line);
        p->drawn = 1;
    }
    fflush(stderr);
    pthread_mutex_unlock(&p->mu);
}

void odbk_progress_free(struct odbk_progress *p)
{
    if (!p)
        return;
    if (p->drawn && p->mode == ODBK_PROGRESS_BAR)
        fprintf(stderr, "\r\033[K");
    pthread_mutex_destroy(&p->mu);
    free(p);
}
