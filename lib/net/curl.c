/* curl.c - one easy-handle set-up, the stall watchdog and the outcome → error kind mapping (curl.h). */
#include "net/curl.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/interrupt.h"
#include "common/util.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode init_rc;

static void global_init(void)
{
    init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int odbk_curl_init(struct odbk_err *err)
{
    pthread_once(&once, global_init);
    if (init_rc != CURLE_OK)
        return odbk_err_set(err, ODBK_E_SOFTWARE, "cannot initialise libcurl: %s", curl_easy_strerror(init_rc));
    return 0;
}

struct odbk_curl *odbk_curl_new(void)
{
    struct odbk_curl *c;
    pthread_once(&once, global_init);
    c = odbk_xcalloc(1, sizeof(*c));
    c->h = curl_easy_init();
    if (!c->h)
        abort();   /* out of memory, as odbk_xmalloc would */
    return c;
}

void odbk_curl_free(struct odbk_curl *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->h);
    free(c);
}

static size_t discard(char *p, size_t size, size_t nmemb, void *ud)
{
    (void)p;
    (void)ud;
    return size * nmemb;
}

static int watchdog(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    struct odbk_curl *c = ud;
    struct timespec now;
    (void)dt;
    (void)ut;
    if (c->cancel && __atomic_load_n(c->cancel, __ATOMIC_ACQUIRE))
        return 1;
    if (c->interruptible && odbk_interrupted())
        return 1;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (dn != c->down || un != c->up || !c->moved.tv_sec || c->until_touch) {
        c->down = dn;
        c->up = un;
        c->moved = now;
        return 0;
    }
    /* in milliseconds: whole seconds would drop a transfer up to a second early */
    if (c->stall && (now.tv_sec - c->moved.tv_sec) * 1000 + (now.tv_nsec - c->moved.tv_nsec) / 1000000 >=
                        c->stall * 1000) {
        c->stalled = 1;
        return 1;
    }
    return 0;
}

void odbk_curl_setup(struct odbk_curl *c, const struct odbk_curl_opts *o)
{
    CURL *h = c->h;
    curl_easy_reset(h);   /* keeps the connection */
    c->errbuf[0] = '\0';
    c->stall = o->stall;
    c->cancel = o->cancel;
    c->interruptible = o->interruptible;
    c->until_touch = 0;
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, o->protocols);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (o->connect_timeout)
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, o->connect_timeout);
    if (o->timeout)
        curl_easy_setopt(h, CURLOPT_TIMEOUT, o->timeout);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, o->no_tls_verify ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, o->no_tls_verify ? 0L : 2L);
    if (o->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "odbk/" ODBK_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, discard);
    if (o->stall || o->cancel || o->interruptible) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, watchdog);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    }
}

void odbk_curl_touch(struct odbk_curl *c)
{
    c->until_touch = 0;
    clock_gettime(CLOCK_MONOTONIC, &c->moved);
}

void odbk_curl_stall_from_touch(struct odbk_curl *c)
{
    c->until_touch = 1;
}

CURLcode odbk_curl_perform(struct odbk_curl *c)
{
    CURLcode cc;
    c->errbuf[0] = '\0';
    c->up = c->down = 0;
    c->moved.tv_sec = c->moved.tv_nsec = 0;
    c->stalled = 0;
    cc = curl_easy_perform(c->h);
    if (cc == CURLE_ABORTED_BY_CALLBACK && c->stalled) {
        cc = CURLE_OPERATION_TIMEDOUT;
        snprintf(c->errbuf, sizeof(c->errbuf), "no data moved for %ld seconds", c->stall);
    }
    return cc;
}

const char *odbk_curl_why(const struct odbk_curl *c, CURLcode cc)
{
    if (cc == CURLE_ABORTED_BY_CALLBACK && !c->stalled)
        return "cancelled";
    return c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc);
}

long odbk_curl_status(const struct odbk_curl *c)
{
    long status = 0;
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

int odbk_curl_transient(CURLcode cc, long status)
{
    switch (cc) {
    case CURLE_OK:
        return status >= 500 || status == 429 || status == 408;
    case CURLE_COULDNT_RESOLVE_HOST:   /* a resolver that failed once */
    case CURLE_COULDNT_CONNECT:        /* a server restarting */
    case CURLE_OPERATION_TIMEDOUT:     /* stalled transfer, or connect timeout */
    case CURLE_SEND_ERROR:             /* connection reset */
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_FTP_ACCEPT_FAILED:      /* FTP data connections */
    case CURLE_FTP_ACCEPT_TIMEOUT:
    case CURLE_FTP_CANT_GET_HOST:
    case CURLE_FTP_WEIRD_PASV_REPLY:
    case CURLE_FTP_WEIRD_227_FORMAT:
        return 1;
    default:
        return 0;
    }
}

enum odbk_errcode odbk_curl_kind(CURLcode cc, long status)
{
    switch (cc) {
    case CURLE_OK:
        if (status == 401 || status == 403)
            return ODBK_E_PERM;
        if (status == 404 || status == 410)
            return ODBK_E_NOINPUT;
        if (status == 429 || status == 503)
            return ODBK_E_TEMPFAIL;
        if (status >= 500)
            return ODBK_E_UNAVAILABLE;
        return ODBK_E_IO;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_USE_SSL_FAILED:
        return ODBK_E_UNAVAILABLE;
    case CURLE_OPERATION_TIMEDOUT:
        return ODBK_E_TEMPFAIL;
    case CURLE_ABORTED_BY_CALLBACK:
        return ODBK_E_FAILED;
    case CURLE_LOGIN_DENIED:
    case CURLE_REMOTE_ACCESS_DENIED:
        return ODBK_E_PERM;
    case CURLE_REMOTE_FILE_NOT_FOUND:
        return ODBK_E_NOINPUT;
    default:
        return odbk_curl_transient(cc, 0) ? ODBK_E_UNAVAILABLE : ODBK_E_IO;
    }
}

enum odbk_errcode odbk_curl_ftp_kind(CURLcode cc, long reply)
{
    enum odbk_errcode kind = odbk_curl_kind(cc, 0);
    if (cc == CURLE_OK || kind != ODBK_E_IO)
        return kind;
    if (reply / 100 == 4)
        return ODBK_E_UNAVAILABLE;
    if (reply == 530)
        return ODBK_E_PERM;
    if (reply == 550)
        return ODBK_E_NOINPUT;
    return ODBK_E_IO;
}

int odbk_curl_ftp_transient(CURLcode cc, long reply)
{
    return cc != CURLE_OK && (odbk_curl_transient(cc, 0) || reply / 100 == 4);
}

int odbk_curl_fail(struct odbk_curl *c, CURLcode cc, struct odbk_err *err, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (cc == CURLE_OK) {
        long status = odbk_curl_status(c);
        return odbk_err_set(err, odbk_curl_kind(cc, status), "%s: HTTP %ld", what, status);
    }
    return odbk_err_set(err, odbk_curl_kind(cc, 0), "%s: %s", what, odbk_curl_why(c, cc));
}
