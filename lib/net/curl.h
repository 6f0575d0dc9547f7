/* curl.h - the one libcurl set-up of odbk: S3 requests, FTP transfers, restores from a URL and webhooks.
 *
 * A struct odbk_curl is one easy handle with its error buffer and its stall watchdog; a thread uses its
 * own.  odbk_curl_setup() resets the handle (keeping its connection) and sets what every transfer shares:
 * the allowed protocols, no signals (CURLOPT_NOSIGNAL: a library must not touch SIGALRM), TCP keep-alive,
 * the connect timeout, TLS verification and a CA file, the user agent, and output discarded unless the
 * caller sets CURLOPT_WRITEFUNCTION after.  The watchdog is curl's transfer-progress callback
 * (CURLOPT_XFERINFOFUNCTION, curl_easy_setopt(3)), about once a second: it stops the transfer when the
 * cancel flag is set (or, for an interruptible transfer, a stop signal arrives: common/interrupt.h), and
 * drops one that moved no byte for `stall` seconds (curl's own low-speed check,
 * CURLOPT_LOW_SPEED_TIME, averages over several seconds of history and reacts late when socket buffers
 * hide a stopped server).
 *
 * What went wrong maps to odbk's error kinds in one place: odbk_curl_kind() for a CURLcode and an HTTP
 * status, odbk_curl_transient() for what a new attempt may cure (retry.h); odbk_curl_ftp_kind() and
 * odbk_curl_ftp_transient() the same with an FTP reply code (RFC 959) in place of the HTTP status. */
#ifndef ODBK_NET_CURL_H
#define ODBK_NET_CURL_H

#include <time.h>

#include <curl/curl.h>

#include "common/err.h"

struct odbk_curl_opts {
    const char *protocols;   /* CURLOPT_PROTOCOLS_STR: "http,https", "ftp,ftps" */
    long connect_timeout;    /* seconds (0: curl's default) */
    long stall;              /* seconds without a byte moved before the transfer is dropped (0: never) */
    long timeout;            /* seconds for the whole transfer (0: no limit) */
    int no_tls_verify;       /* skip the peer's certificate and name checks (tls-verify = false) */
    const char *ca_file;     /* CURLOPT_CAINFO, or NULL for the system's */
    const int *cancel;       /* stop the transfer when *cancel becomes non-zero (atomic load), or NULL */
    int interruptible;       /* stop the transfer when a stop signal arrives (odbk_interrupted) */
};

struct odbk_curl {
    CURL *h;
    char errbuf[CURL_ERROR_SIZE];
    /* the watchdog of the current transfer */
    long stall;
    const int *cancel;
    int interruptible;
    curl_off_t up, down;     /* bytes moved when last seen */
    struct timespec moved;   /* when bytes last moved (monotonic) */
    int stalled;
    int until_touch;         /* the watchdog counts no stall before the first odbk_curl_touch */
};

/* curl_global_init, once per process (thread-safe); -1 with err when libcurl cannot start. */
int odbk_curl_init(struct odbk_err *err);
/* A handle (libcurl initialised first); aborts when out of memory, as odbk_xmalloc does. */
struct odbk_curl *odbk_curl_new(void);
void odbk_curl_free(struct odbk_curl *c);
/* Reset the handle for a new transfer and apply opts (see above). */
void odbk_curl_setup(struct odbk_curl *c, const struct odbk_curl_opts *o);
/* curl_easy_perform; a transfer the watchdog dropped returns CURLE_OPERATION_TIMEDOUT with "no data moved
 * for N seconds" in errbuf. */
CURLcode odbk_curl_perform(struct odbk_curl *c);
/* Time spent waiting for our own data (an upload fed by a slower source) is no stall: restart the clock.
 * Call it from the transfer's own callbacks. */
void odbk_curl_touch(struct odbk_curl *c);
/* For this transfer, count no stall until the first odbk_curl_touch: an FTP upload, whose commands
 * before the data (login, STOR and its reply) have the server's reply timeout, and whose data starts
 * with curl's first read. */
void odbk_curl_stall_from_touch(struct odbk_curl *c);
/* What to say about a failed transfer: curl's error buffer, else curl_easy_strerror(). */
const char *odbk_curl_why(const struct odbk_curl *c, CURLcode cc);
/* The HTTP status (or FTP reply code) of the last response, 0 when none. */
long odbk_curl_status(const struct odbk_curl *c);

/* The error kind of an outcome: a CURLcode, else (CURLE_OK) an HTTP status that is not 2xx. */
enum odbk_errcode odbk_curl_kind(CURLcode cc, long status);
/* May another attempt cure it?  Refused or reset connections, timeouts, truncated answers, a TLS
 * handshake cut short, unusable FTP data connections; HTTP 408, 429 and 5xx. */
int odbk_curl_transient(CURLcode cc, long status);
/* The same for an FTP transfer that failed with cc after the server's last reply code `reply` (0: none):
 * a 4xx reply (421 closing, 425 no data connection, 426 aborted, 450-452) is transient, any other reply
 * is not; 530 (not logged in) is PERM, 550 (no such file) NOINPUT, others as odbk_curl_kind(cc, 0). */
enum odbk_errcode odbk_curl_ftp_kind(CURLcode cc, long reply);
int odbk_curl_ftp_transient(CURLcode cc, long reply);
/* Fill err for a failed transfer: "<what>: <why>" (or "<what>: HTTP <status>" for an answer that is not
 * 2xx), of kind odbk_curl_kind(). */
int odbk_curl_fail(struct odbk_curl *c, CURLcode cc, struct odbk_err *err, const char *fmt, ...)
    ODBK_PRINTF(4, 5);

#endif
