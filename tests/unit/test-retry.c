/* test-retry.c - the backoff loop (common/retry.h): the budget, progress restoring it, the attempts in the
 * final message, a cancel flag and a stop signal ending the wait at once, the default classifier. */
#include <signal.h>
#include <string.h>
#include <time.h>

#include "common/interrupt.h"
#include "common/retry.h"
#include "tap.h"

struct op {
    int calls;
    int succeed_at;          /* the call that succeeds (0: never) */
    enum odbk_errcode kind;
};

static int op(void *ctx, struct odbk_err *err)
{
    struct op *o = ctx;
    o->calls++;
    if (o->succeed_at && o->calls >= o->succeed_at)
        return 7;
    return odbk_err_set(err, o->kind, "cannot reach 'x': attempt %d", o->calls > 2 ? 3 : o->calls);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    struct odbk_err err = {0};
    struct op o = {0, 3, ODBK_E_UNAVAILABLE};
    struct odbk_retry r = ODBK_RETRY_INIT(5);
    double t0;
    int cancel = 1;

    is_int(odbk_retry(&r, op, NULL, &o, &err), 7, "transient failures are retried until the operation succeeds");
    is_int(o.calls, 3, "three calls");
    is_str(err.msg, "", "a success clears what the failed attempts left");

    o = (struct op){0, 0, ODBK_E_UNAVAILABLE};
    r = (struct odbk_retry)ODBK_RETRY_INIT(2);
    is_int(odbk_retry(&r, op, NULL, &o, &err), -1, "a budget of 2 retries gives up");
    is_int(o.calls, 3, "after 1 + 2 attempts");
    is_str(err.msg, "cannot reach 'x': attempt 3 (after 3 attempts; earlier: cannot reach 'x': attempt 1; "
           "cannot reach 'x': attempt 2)", "the message is the last error, with the count and the earlier ones");
    is_int(err.code, ODBK_E_UNAVAILABLE, "of the last error's kind");

    o = (struct op){0, 0, ODBK_E_PERM};
    r = (struct odbk_retry)ODBK_RETRY_INIT(5);
    is_int(odbk_retry(&r, op, NULL, &o, &err), -1, "a permanent error is not retried");
    is_int(o.calls, 1, "one call");
    is_str(err.msg, "cannot reach 'x': attempt 1", "and its message is left as it is");

    r = (struct odbk_retry)ODBK_RETRY_INIT(1);
    odbk_err_set(&err, ODBK_E_TEMPFAIL, "same");
    ok(odbk_retry_again(&r, 1, &err), "one retry allowed");
    odbk_retry_progress(&r);
    ok(odbk_retry_again(&r, 1, &err), "progress restores the budget");
    ok(!odbk_retry_again(&r, 1, &err), "then it is used up");
    is_str(err.msg, "same (after 3 attempts)", "identical earlier errors are not repeated");

    r = (struct odbk_retry)ODBK_RETRY_INIT(5);
    r.cancel = &cancel;
    odbk_err_set(&err, ODBK_E_TEMPFAIL, "busy");
    ok(!odbk_retry_again(&r, 1, &err), "a set cancel flag stops the loop");

    odbk_interrupt_install();
    r = (struct odbk_retry)ODBK_RETRY_INIT(10);
    r.interruptible = 1;
    r.attempt = 8;   /* the next wait would be 10-20 s */
    odbk_err_set(&err, ODBK_E_UNAVAILABLE, "storage 's': cannot read 'k': HTTP 503");
    raise(SIGTERM);
    t0 = now_s();
    ok(!odbk_retry_again(&r, 1, &err), "a stop signal ends an interruptible loop");
    ok(now_s() - t0 < 1.0, "without waiting out the backoff");
    is_str(err.msg, "interrupted by SIGTERM while waiting to retry: storage 's': cannot read 'k': HTTP 503",
           "the message says why it stopped, and what it was retrying");
    is_int(err.code, ODBK_E_FAILED, "kind FAILED");

    r = (struct odbk_retry)ODBK_RETRY_INIT(1);
    odbk_err_set(&err, ODBK_E_UNAVAILABLE, "down");
    t0 = now_s();
    ok(odbk_retry_again(&r, 1, &err), "a loop that is not interruptible still retries after the signal");
    ok(now_s() - t0 >= 0.2, "after its backoff (0.25 to 0.5 s)");

    odbk_err_set(&err, ODBK_E_TEMPFAIL, "x");
    ok(odbk_retry_transient(&err), "TEMPFAIL is transient");
    odbk_err_set(&err, ODBK_E_IO, "x");
    ok(!odbk_retry_transient(&err), "IO is not");
    return done_testing();
}
