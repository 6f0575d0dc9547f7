/* retry.h - one backoff loop for every transient failure (a dropped connection, a 503, a stall).
 *
 * Waits grow from 0.5 s, doubling, to at most 20 s, each a random time between half and all of that so
 * that parallel transfers do not retry in step.  A wait ends early when the caller's cancel flag is set
 * (another part of the same upload failed) or, for an interruptible loop, when a stop signal arrives
 * (interrupt.h): a restore told to stop does not sleep out its backoff first.  The final error is the
 * last attempt's, and says how many attempts were made and what the earlier ones met when that differed
 * ("... (after 3 attempts; earlier: ...)").
 *
 * Two ways to use it: odbk_retry() runs an operation under a policy; a loop that must do more between
 * attempts (reopen a file at the offset reached, rebuild a request) drives a struct odbk_retry itself:
 *
 *     struct odbk_retry r = ODBK_RETRY_INIT(retries);
 *     for (;;) {
 *         if (attempt(...) == 0)
 *             break;
 *         if (!odbk_retry_again(&r, is_transient, err))
 *             return -1;   // err: the last error, with the attempts
 *     }
 */
#ifndef ODBK_RETRY_H
#define ODBK_RETRY_H

#include "common/err.h"

#define ODBK_RETRY_SEEN 4

struct odbk_retry {
    /* policy */
    unsigned retries;        /* attempts after the first (per stall: see odbk_retry_progress) */
    const int *cancel;       /* atomic flag: no more attempts once set (may be NULL) */
    int interruptible;       /* a stop signal (odbk_interrupted) ends the wait and the loop */
    /* state */
    unsigned attempt;        /* failed attempts since the start or the last progress */
    unsigned failures;       /* every failed attempt */
    unsigned seed;
    unsigned n_seen;
    char seen[ODBK_RETRY_SEEN][256];   /* distinct messages of the earlier attempts */
};

#define ODBK_RETRY_INIT(n) {.retries = (n)}

/* After a failed attempt whose error is in err: when `transient` and the budget allows, wait (backoff)
 * and return 1 for another attempt; otherwise return 0 with err completed by the attempts.  A wait cut
 * by the cancel flag returns 0 with the last error; one cut by a stop signal returns 0 with "interrupted
 * by SIGTERM while waiting to retry: ..." (kind FAILED). */
int odbk_retry_again(struct odbk_retry *r, int transient, struct odbk_err *err);
/* The last attempt moved the work on (bytes delivered): the budget starts again, so a long transfer
 * survives several separate stalls. */
void odbk_retry_progress(struct odbk_retry *r);

/* Is this error worth another attempt?  The default (classify NULL): kinds UNAVAILABLE and TEMPFAIL. */
typedef int (*odbk_retry_classify)(void *ctx, const struct odbk_err *err);
/* One attempt: >= 0 when done (odbk_retry returns it), -1 with err set. */
typedef int (*odbk_retry_op)(void *ctx, struct odbk_err *err);

/* Run op until it succeeds, fails for good, or the policy in r gives up; err is cleared on a success
 * after failures. */
int odbk_retry(struct odbk_retry *r, odbk_retry_op op, odbk_retry_classify classify, void *ctx,
               struct odbk_err *err);
/* The default classifier as a plain test. */
int odbk_retry_transient(const struct odbk_err *err);

#endif
