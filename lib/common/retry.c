/* retry.c - jittered, cancellable backoff and the message of the attempts (retry.h). */
#include "common/retry.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/interrupt.h"

#define FIRST_MS 500UL
#define MAX_MS 20000UL
#define SLICE_MS 50UL

static int cancelled(const struct odbk_retry *r)
{
    return r->cancel && __atomic_load_n(r->cancel, __ATOMIC_ACQUIRE);
}

/* Sleep before the next attempt: 0 when slept out, 1 when cancelled, 2 when interrupted. */
static int backoff(struct odbk_retry *r)
{
    unsigned long ms = FIRST_MS << (r->attempt > 6 ? 6 : r->attempt), slept = 0;
    if (!r->seed)
        r->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)r ^ (unsigned)getpid();
    if (ms > MAX_MS)
        ms = MAX_MS;
    ms = ms / 2 + (unsigned long)rand_r(&r->seed) % (ms / 2 + 1);
    for (;;) {
        struct timespec ts = {0, 0};
        unsigned long step;
        if (cancelled(r))
            return 1;
        if (r->interruptible && odbk_interrupted())
            return 2;
        if (slept >= ms)
            return 0;
        step = ms - slept < SLICE_MS ? ms - slept : SLICE_MS;
        ts.tv_nsec = (long)step * 1000000L;
        nanosleep(&ts, NULL);   /* a signal cuts it short: the checks above run again */
        slept += step;
    }
}

static int same(const char *a, const char *b)
{
    return !strncmp(a, b, sizeof(((struct odbk_retry *)0)->seen[0]) - 1);
}

static void remember(struct odbk_retry *r, const char *msg)
{
    unsigned i;
    for (i = 0; i < r->n_seen; i++)
        if (same(r->seen[i], msg))
            return;
    if (r->n_seen < ODBK_RETRY_SEEN)
        snprintf(r->seen[r->n_seen++], sizeof(r->seen[0]), "%s", msg);
}

/* err->msg becomes "LAST (after N attempts; earlier: A; B)"; the count survives any truncation. */
static void conclude(struct odbk_retry *r, struct odbk_err *err)
{
    char tail[sizeof(err->msg)];
    size_t n, len, room;
    unsigned i, k = 0;
    if (r->failures < 2)
        return;
    n = (size_t)snprintf(tail, sizeof(tail), " (after %u attempts", r->failures);
    for (i = 0; i < r->n_seen && n < sizeof(tail) / 2; i++)
        if (!same(r->seen[i], err->msg))
            n += (size_t)snprintf(tail + n, sizeof(tail) - n, "%s%s", k++ ? "; " : "; earlier: ", r->seen[i]);
    if (n >= sizeof(tail) / 2) {
        n = sizeof(tail) / 2;
        memcpy(tail + n - 3, "...", 3);
    }
    tail[n++] = ')';
    tail[n] = '\0';
    len = strlen(err->msg);
    room = sizeof(err->msg) - 1 - n;
    if (len > room) {
        len = room;
        memcpy(err->msg + len - 3, "...", 3);
    }
    memcpy(err->msg + len, tail, n + 1);
}

int odbk_retry_again(struct odbk_retry *r, int transient, struct odbk_err *err)
{
    int w;
    r->failures++;
    if (!transient || r->attempt >= r->retries || cancelled(r)) {
        conclude(r, err);
        return 0;
    }
    remember(r, err->msg);
    w = backoff(r);
    if (w == 0) {
        r->attempt++;
        return 1;
    }
    conclude(r, err);
    if (w == 2) {
        char last[sizeof(err->msg)];
        size_t n;
        memcpy(last, err->msg, sizeof(last));
        odbk_interrupt_err(err);
        n = strlen(err->msg);
        snprintf(err->msg + n, sizeof(err->msg) - n, " while waiting to retry: %s", last);
    }
    return 0;
}

void odbk_retry_progress(struct odbk_retry *r)
{
    r->attempt = 0;
}

int odbk_retry_transient(const struct odbk_err *err)
{
    return err->code == ODBK_E_UNAVAILABLE || err->code == ODBK_E_TEMPFAIL;
}

int odbk_retry(struct odbk_retry *r, odbk_retry_op op, odbk_retry_classify classify, void *ctx,
               struct odbk_err *err)
{
    for (;;) {
        int rc = op(ctx, err);
        if (rc >= 0) {
            if (r->failures)
                odbk_err_clear(err);
            return rc;
        }
        if (!odbk_retry_again(r, classify ? classify(ctx, err) : odbk_retry_transient(err), err))
            return -1;
    }
}
