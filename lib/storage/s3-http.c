/* s3-http.c - one S3 request over libcurl: signing, the attempt itself, retries with backoff, and the
 * mapping of what went wrong (HTTP status, S3 error code, curl code) to odbk's error kinds.
 *
 * Each thread uses its own curl handle (struct s3_conn); curl_global_init runs once, under pthread_once.
 * Transfers never use signals (CURLOPT_NOSIGNAL) and a transfer that moves nothing for `timeout` seconds is
 * dropped and retried, so a stalled server costs time, never a hang. */
#include "storage/s3-internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/util.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MAX_RESP (32u << 20)     /* a ListObjectsV2 page is ~300 KiB; errors are tiny */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct s3_conn *s3_conn_new(void)
{
    struct s3_conn *c;
    pthread_once(&global_once, global_init);
    c = odbk_xcalloc(1, sizeof(*c));
    c->h = curl_easy_init();
    if (!c->h)
        abort();   /* out of memory, as odbk_xmalloc would */
    return c;
}

void s3_conn_free(struct s3_conn *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->h);
    free(c);
}

void s3_req_reset(struct s3_req *req)
{
    free(req->resp);
    free(req->etag);
    req->resp = NULL;
    req->etag = NULL;
    req->resp_len = 0;
    req->status = 0;
    req->content_length = 0;
    req->has_length = 0;
    req->range_total = 0;
    req->last_modified = 0;
    req->sink_failed = 0;
}

/* ---- one attempt ---- */

struct xfer {
    struct s3_req *req;
    size_t sent;
    long timeout;
    curl_off_t up, down;     /* bytes moved when last seen */
    struct timespec moved;   /* when bytes last moved (monotonic) */
    int stalled;
};

static void append(struct s3_req *req, const char *p, size_t n)
{
    if (req->resp_len + n > MAX_RESP)
        n = MAX_RESP - req->resp_len;
    req->resp = odbk_xrealloc(req->resp, req->resp_len + n + 1);
    memcpy(req->resp + req->resp_len, p, n);
    req->resp_len += n;
    req->resp[req->resp_len] = '\0';
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    struct s3_req *req = x->req;
    size_t n = size * nmemb;
    if (req->sink && req->status >= 200 && req->status < 300) {
        if (req->sink(req->sink_ctx, p, n) < 0) {
            req->sink_failed = 1;
            return 0;
        }
        return n;
    }
    append(req, p, n);
    return n;
}

static size_t on_send(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb, left = x->req->body_len - x->sent;
    if (n > left)
        n = left;
    memcpy(p, (const char *)x->req->body + x->sent, n);
    x->sent += n;
    return n;
}

static int on_seek(void *ud, curl_off_t offset, int origin)
{
    struct xfer *x = ud;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > x->req->body_len)
        return CURL_SEEKFUNC_FAIL;
    x->sent = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static int header_is(const char *line, size_t n, const char *name, const char **val, size_t *vlen)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) || line[k] != ':')
        return 0;
    line += k + 1;
    n -= k + 1;
    while (n && (*line == ' ' || *line == '\t'))
        line++, n--;
    while (n && isspace((unsigned char)line[n - 1]))
        n--;
    *val = line;
    *vlen = n;
    return 1;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    struct s3_req *req = x->req;
    size_t n = size * nmemb, vlen;
    const char *v;
    if (n > 5 && !strncmp(p, "HTTP/", 5)) {
        /* a new response (after a 100 Continue, or the real one): forget the previous headers */
        const char *sp = memchr(p, ' ', n);
        req->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        free(req->etag);
        req->etag = NULL;
        req->has_length = 0;
        req->range_total = 0;
    } else if (header_is(p, n, "ETag", &v, &vlen)) {
        free(req->etag);
        req->etag = odbk_xstrndup(v, vlen);
    } else if (header_is(p, n, "Content-Length", &v, &vlen)) {
        req->content_length = strtoull(v, NULL, 10);
        req->has_length = 1;
    } else if (header_is(p, n, "Content-Range", &v, &vlen)) {
        const char *slash = memchr(v, '/', vlen);
        if (slash && slash[1] != '*')
            req->range_total = strtoull(slash + 1, NULL, 10);
    } else if (header_is(p, n, "Last-Modified", &v, &vlen)) {
        char *d = odbk_xstrndup(v, vlen);
        time_t t = curl_getdate(d, NULL);
        req->last_modified = t > 0 ? t : 0;
        free(d);
    }
    return n;
}

/* Called about once a second: cancel, and drop a transfer that moved no byte for `timeout` seconds (curl's
 * own low-speed check averages over several seconds and reacts late). */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    struct xfer *x = ud;
    struct timespec now;
    if (x->req->cancel && __atomic_load_n(x->req->cancel, __ATOMIC_ACQUIRE))
        return 1;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (dn != x->down || un != x->up || !x->moved.tv_sec) {
        x->down = dn;
        x->up = un;
        x->moved = now;
        return 0;
    }
    if (now.tv_sec - x->moved.tv_sec >= x->timeout) {
        x->stalled = 1;
        return 1;
    }
    return 0;
}

CURLcode s3_perform(struct s3 *s, struct s3_conn *c, struct s3_req *req)
{
    struct xfer x = {req, 0, s->timeout, 0, 0, {0, 0}, 0};
    struct curl_slist *hdr = NULL;
    char amz_date[17], body_hash[65], *host, *path, *url, *line, *auth;
    const char *payload = EMPTY_SHA256;
    struct tm tm;
    time_t now = odbk_now();
    CURL *h = c->h;
    CURLcode cc;

    s3_req_reset(req);
    gmtime_r(&now, &tm);
    strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
    if (req->body_sha256) {
        payload = req->body_sha256;
    } else if (req->body_len) {
        s3_sha256_hex(req->body, req->body_len, body_hash);
        payload = body_hash;
    }
    s3_locate(s, req->key, &host, &path);
    url = odbk_xasprintf("%s://%s%s%s%s", s->scheme, host, path, req->query ? "?" : "",
                         req->query ? req->query : "");
    auth = s3_authorization(s, req->method, host, path, req->query, payload, amz_date);

#define ADD(...) (line = odbk_xasprintf(__VA_ARGS__), hdr = curl_slist_append(hdr, line), free(line))
    ADD("Host: %s", host);
    ADD("x-amz-date: %s", amz_date);
    ADD("x-amz-content-sha256: %s", payload);
    if (s->session_token)
        ADD("x-amz-security-token: %s", s->session_token);
    ADD("Authorization: %s", auth);
    if (req->range)
        ADD("Range: %s", req->range);
    if (req->if_match)
        ADD("If-Match: %s", req->if_match);
    if (!strcmp(req->method, "POST"))
        ADD("Content-Type: application/xml");
    ADD("Expect:");
#undef ADD

    curl_easy_reset(h);
    c->errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, s->timeout);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, s->tls_verify ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, s->tls_verify ? 2L : 0L);
    if (s->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "odbk/" ODBK_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
    if (!strcmp(req->method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(req->method, "PUT")) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_send);
        curl_easy_setopt(h, CURLOPT_READDATA, &x);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, &x);
    } else if (!strcmp(req->method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body_len ? (const char *)req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    } else if (strcmp(req->method, "GET")) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }
    cc = curl_easy_perform(h);
    if (cc == CURLE_ABORTED_BY_CALLBACK && x.stalled) {
        cc = CURLE_OPERATION_TIMEDOUT;
        snprintf(c->errbuf, sizeof(c->errbuf), "no data moved for %ld seconds", s->timeout);
    }
    if (cc == CURLE_OK || !req->status)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &req->status);
    /* the handle keeps pointers to these until the next reset: clear them now */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdr);
    free(url);
    free(auth);
    free(host);
    free(path);
    return cc;
}

int s3_retryable(CURLcode cc, long status)
{
    switch (cc) {
    case CURLE_OK:
        return status >= 500 || status == 429 || status == 408;
    case CURLE_COULDNT_CONNECT:      /* a server restarting */
    case CURLE_OPERATION_TIMEDOUT:   /* stalled transfer, or connect timeout */
    case CURLE_SEND_ERROR:           /* connection reset */
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

int s3_backoff(unsigned attempt, const int *cancel)
{
    /* 0.5 s, 1 s, 2 s, ... capped at 20 s; each between half and all of that (jitter) */
    unsigned long ms = 500UL << (attempt > 6 ? 6 : attempt - 1), slept = 0;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&ms;
    if (ms > 20000)
        ms = 20000;
    ms = ms / 2 + (unsigned long)rand_r(&seed) % (ms / 2 + 1);
    while (slept < ms) {
        if (cancel && __atomic_load_n(cancel, __ATOMIC_ACQUIRE))
            return 1;
        usleep(50 * 1000);
        slept += 50;
    }
    return 0;
}

int s3_call(struct s3 *s, struct s3_conn *c, struct s3_req *req, int retries, const char *what,
            struct odbk_err *err)
{
    unsigned attempt, max = retries >= 0 ? (unsigned)retries : s->retries;
    CURLcode cc = CURLE_OK;
    for (attempt = 0;; attempt++) {
        if (attempt && s3_backoff(attempt, req->cancel))
            break;
        cc = s3_perform(s, c, req);
        if (cc == CURLE_OK && req->status >= 200 && req->status < 300)
            return 0;
        if (req->sink_failed || !s3_retryable(cc, req->status) || attempt >= max)
            break;
    }
    return s3_fail(s, c, req, cc, what, err);
}

/* ---- errors ---- */

int s3_fail(struct s3 *s, struct s3_conn *c, struct s3_req *req, CURLcode cc, const char *what,
            struct odbk_err *err)
{
    char *code = NULL, *msg = NULL;
    enum odbk_errcode kind = ODBK_E_IO;
    if (cc != CURLE_OK) {
        const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc);
        switch (cc) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
            kind = ODBK_E_UNAVAILABLE;
            break;
        case CURLE_OPERATION_TIMEDOUT:
            kind = ODBK_E_TEMPFAIL;
            break;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CONNECT_ERROR:
            kind = ODBK_E_UNAVAILABLE;
            break;
        case CURLE_ABORTED_BY_CALLBACK:
            kind = ODBK_E_FAILED;
            detail = "cancelled";
            break;
        default:
            kind = s3_retryable(cc, 0) ? ODBK_E_UNAVAILABLE : ODBK_E_IO;
        }
        odbk_err_set(err, kind, "storage '%s': cannot %s: %s", s->name, what, detail);
        if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE)
            odbk_err_hint(err, "check 'endpoint', or name the server's CA with 'ca-file =' in [storage %s]",
                          s->name);
        else if (kind == ODBK_E_UNAVAILABLE || kind == ODBK_E_TEMPFAIL)
            odbk_err_hint(err, "check 'endpoint = %s://%s' in [storage %s] and the network", s->scheme,
                          s->endpoint_host, s->name);
        return -1;
    }
    if (req->resp) {
        const char *pos = req->resp, *end = req->resp + req->resp_len;
        code = s3_xml_next(&pos, end, "Code");
        pos = req->resp;
        msg = s3_xml_next(&pos, end, "Message");
    }
    if (req->status == 403 || req->status == 401)
        kind = ODBK_E_PERM;
    else if (req->status == 404)
        kind = ODBK_E_NOINPUT;
    else if (req->status == 429 || req->status == 503)
        kind = ODBK_E_TEMPFAIL;
    else if (req->status >= 500)
        kind = ODBK_E_UNAVAILABLE;
    if (code && (!strcmp(code, "NoSuchBucket") || !strcmp(code, "AuthorizationHeaderMalformed") ||
                 !strcmp(code, "InvalidBucketName") || !strcmp(code, "PermanentRedirect") ||
                 !strcmp(code, "IllegalLocationConstraintException")))
        kind = ODBK_E_CONFIG;
    if (code)
        odbk_err_set(err, kind, "storage '%s': cannot %s: %s%s%s (HTTP %ld)", s->name, what, code,
                     msg && *msg ? ": " : "", msg && *msg ? msg : "", req->status);
    else
        odbk_err_set(err, kind, "storage '%s': cannot %s: HTTP %ld%s", s->name, what, req->status,
                     req->status == 403 ? " (access denied)" : req->status == 404 ? " (not found)" : "");
    if (code && (!strcmp(code, "RequestTimeTooSkewed") || !strcmp(code, "RequestExpired")))
        odbk_err_hint(err, "this host's clock is off from the storage's by more than 15 minutes: set it right "
                      "(timedatectl; an NTP client such as systemd-timesyncd or chrony)");
    else if (kind == ODBK_E_PERM)
        odbk_err_hint(err, "check the access key id and secret of [storage %s] (access-key-id-file, "
                      "secret-access-key-file, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and what they may do "
                      "on bucket '%s'", s->name, s->bucket);
    else if (code && !strcmp(code, "NoSuchBucket"))
        odbk_err_hint(err, "create bucket '%s' or fix 'bucket =' (and 'endpoint', 'uri-style') of [storage %s]",
                      s->bucket, s->name);
    else if (kind == ODBK_E_CONFIG)
        odbk_err_hint(err, "check 'region', 'endpoint' and 'bucket' of [storage %s]", s->name);
    free(code);
    free(msg);
    return -1;
}
