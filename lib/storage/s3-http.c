/* s3-http.c - one S3 request: signing, the attempt itself (on net/curl.h, which drops a transfer that moves
 * nothing for `timeout` seconds, so a stalled server costs time, never a hang), retries (common/retry.h),
 * and what S3 adds to the error mapping of net/curl.h (its error codes and hints).
 *
 * Each thread uses its own handle (struct odbk_curl). */
#include "storage/s3-internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/retry.h"
#include "common/util.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MAX_RESP (32u << 20)     /* a ListObjectsV2 page is ~300 KiB; errors are tiny */

void odbk_s3_req_reset(struct odbk_s3_req *req)
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
    req->etag_not_md5 = 0;
    req->sink_failed = 0;
}

/* ---- one attempt ---- */

struct xfer {
    struct odbk_s3_req *req;
    size_t sent;
};

static void append(struct odbk_s3_req *req, const char *p, size_t n)
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
    struct odbk_s3_req *req = x->req;
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
    struct odbk_s3_req *req = x->req;
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
        req->etag_not_md5 = 0;
    } else if (header_is(p, n, "x-amz-server-side-encryption", &v, &vlen)) {
        req->etag_not_md5 |= vlen >= 7 && !strncasecmp(v, "aws:kms", 7);   /* aws:kms, aws:kms:dsse */
    } else if (header_is(p, n, "x-amz-server-side-encryption-customer-algorithm", &v, &vlen)) {
        req->etag_not_md5 = 1;
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

CURLcode odbk_s3_perform(struct odbk_s3 *s, struct odbk_curl *c, struct odbk_s3_req *req)
{
    struct xfer x = {req, 0};
    const struct odbk_curl_opts opts = {
        .protocols = "http,https",
        .connect_timeout = s->timeout,
        .stall = s->timeout,
        .no_tls_verify = !s->tls_verify,
        .ca_file = s->ca_file,
        .cancel = req->cancel,
    };
    struct curl_slist *hdr = NULL;
    char amz_date[17], body_hash[65], *host, *path, *url, *line, *auth;
    const char *payload = EMPTY_SHA256;
    struct tm tm;
    time_t now = odbk_now();
    CURL *h = c->h;
    CURLcode cc;

    odbk_s3_req_reset(req);
    gmtime_r(&now, &tm);
    strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
    if (req->body_sha256) {
        payload = req->body_sha256;
    } else if (req->body_len) {
        odbk_s3_sha256_hex(req->body, req->body_len, body_hash);
        payload = body_hash;
    }
    odbk_s3_locate(s, req->key, &host, &path);
    url = odbk_xasprintf("%s://%s%s%s%s", s->scheme, host, path, req->query ? "?" : "",
                         req->query ? req->query : "");
    auth = odbk_s3_authorization(s, req->method, host, path, req->query, payload, amz_date);

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

    odbk_curl_setup(c, &opts);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
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
    cc = odbk_curl_perform(c);
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

/* A body the store received otherwise than it was sent (its SHA-256 is not the signed one, or its MD5):
 * damaged on the way, worth sending again from its buffer. */
static int body_damaged(const struct odbk_s3_req *req)
{
    return req->status == 400 && req->resp && (strstr(req->resp, "<Code>XAmzContentSHA256Mismatch</Code>") ||
                                               strstr(req->resp, "<Code>BadDigest</Code>"));
}

int odbk_s3_call(struct odbk_s3 *s, struct odbk_curl *c, struct odbk_s3_req *req, int retries, const char *what,
                 struct odbk_err *err)
{
    struct odbk_retry r = ODBK_RETRY_INIT(retries >= 0 ? (unsigned)retries : s->retries);
    r.cancel = req->cancel;
    for (;;) {
        CURLcode cc = odbk_s3_perform(s, c, req);
        if (cc == CURLE_OK && req->status >= 200 && req->status < 300)
            return 0;
        odbk_s3_fail(s, c, req, cc, what, err);
        if (!odbk_retry_again(&r, !req->sink_failed && (odbk_curl_transient(cc, req->status) || body_damaged(req)),
                              err))
            return -1;
    }
}

/* ---- errors ---- */

int odbk_s3_fail(struct odbk_s3 *s, struct odbk_curl *c, struct odbk_s3_req *req, CURLcode cc, const char *what,
                 struct odbk_err *err)
{
    char *code = NULL, *msg = NULL;
    enum odbk_errcode kind = odbk_curl_kind(cc, req->status);
    if (cc != CURLE_OK) {
        odbk_err_set(err, kind, "storage '%s': cannot %s: %s", s->name, what, odbk_curl_why(c, cc));
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
        code = odbk_s3_xml_next(&pos, end, "Code");
        pos = req->resp;
        msg = odbk_s3_xml_next(&pos, end, "Message");
    }
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
