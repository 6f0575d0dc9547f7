/* s3.c - the S3-compatible storage driver (`type = s3`): AWS S3, Cloudflare R2, Backblaze B2, DigitalOcean
 * Spaces, MinIO, Ceph RGW.  Config keys in man/odbk.conf.5; this file opens the storage and implements
 * read (streaming GET, resumed with a Range request after a dropped connection), stat (HEAD), list
 * (ListObjectsV2 with continuation tokens), remove (DELETE) and presign (SigV4 query signing).  Writes are
 * in s3-upload.c, what the store confirms of them in s3-confirm.c, requests and signing in s3-http.c and
 * s3-sign.c.
 *
 * Compatibility rules (odbk.conf(5), type s3): no x-amz-checksum-* headers ever (B2 and R2 reject them);
 * x-amz-content-sha256 always, with the real digest of the body; path-style addressing on request
 * (`uri-style = path`) for MinIO and self-hosted stores. */
#include "storage/s3-internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/retry.h"
#include "common/util.h"

static const char *const s3_keys[] = {
    "endpoint", "region", "bucket", "prefix", "uri-style",
    "access-key-id", "access-key-id-file", "secret-access-key", "secret-access-key-file",
    "session-token", "session-token-file", "tls-verify", "ca-file",
    "part-size", "upload-concurrency", "retries", "timeout", NULL,
};

static void wipe_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

static void s3_destroy(struct odbk_s3 *s)
{
    if (!s)
        return;
    odbk_curl_free(s->misc);
    pthread_mutex_destroy(&s->misc_mu);
    odbk_s3_written_free(s);
    pthread_mutex_destroy(&s->written_mu);
    odbk_s3_pool_destroy(&s->pool);
    free(s->scheme);
    free(s->endpoint_host);
    free(s->region);
    free(s->bucket);
    free(s->prefix);
    free(s->access_key);
    wipe_free(s->secret_key);
    wipe_free(s->session_token);
    free(s->ca_file);
    free(s);
}

/* "https://host[:port][/]" → scheme and host[:port] (a default port dropped: it is not in the Host header). */
static int parse_endpoint(struct odbk_s3 *s, const struct odbk_config_section *sec, const struct odbk_config_kv *kv,
                          struct odbk_err *err)
{
    const char *v = kv->value, *host;
    size_t n;
    if (!strncmp(v, "https://", 8)) {
        s->scheme = odbk_xstrdup("https");
        host = v + 8;
    } else if (!strncmp(v, "http://", 7)) {
        s->scheme = odbk_xstrdup("http");
        host = v + 7;
    } else {
        return odbk_config_error(err, sec, kv, "'%s' is not an http:// or https:// URL", v);
    }
    n = strcspn(host, "/?#");
    if (!n || (host[n] && strcmp(host + n, "/")) || strchr(host, '@'))
        return odbk_config_error(err, sec, kv, "'%s' must be scheme://host[:port] with no path (the bucket goes "
                                 "in 'bucket =')", v);
    s->endpoint_host = odbk_xstrndup(host, n);
    if (n > 4 && !strcmp(s->scheme, "https") && !strcmp(s->endpoint_host + n - 4, ":443"))
        s->endpoint_host[n - 4] = '\0';
    else if (n > 3 && !strcmp(s->scheme, "http") && !strcmp(s->endpoint_host + n - 3, ":80"))
        s->endpoint_host[n - 3] = '\0';
    return 0;
}

static int s3_open(struct odbk_storage *st, const struct odbk_config_section *sec, struct odbk_err *err)
{
    struct odbk_s3 *s = odbk_xcalloc(1, sizeof(*s));
    const struct odbk_config_kv *kv;
    const char *v;
    pthread_mutex_init(&s->misc_mu, NULL);
    pthread_mutex_init(&s->written_mu, NULL);
    odbk_s3_pool_init(&s->pool, 0);
    s->name = st->name;

    s->region = odbk_xstrdup((v = odbk_config_get(sec, "region")) && *v ? v : "us-east-1");
    if ((kv = odbk_config_get_kv(sec, "endpoint")) && *kv->value) {
        if (parse_endpoint(s, sec, kv, err) < 0)
            goto fail;
    } else {
        s->scheme = odbk_xstrdup("https");
        s->endpoint_host = odbk_xasprintf("s3.%s.amazonaws.com", s->region);
    }
    kv = odbk_config_get_kv(sec, "bucket");
    if (!kv || !*kv->value) {
        odbk_config_error(err, sec, NULL, "type s3 needs 'bucket = NAME'");
        goto fail;
    }
    if (strchr(kv->value, '/')) {
        odbk_config_error(err, sec, kv, "'%s' is not a bucket name (put a path in 'prefix =')", kv->value);
        goto fail;
    }
    s->bucket = odbk_xstrdup(kv->value);
    v = odbk_config_get(sec, "prefix");
    while (v && *v == '/')
        v++;
    s->prefix = v && *v ? odbk_xasprintf("%s%s", v, v[strlen(v) - 1] == '/' ? "" : "/") : odbk_xstrdup("");

    kv = odbk_config_get_kv(sec, "uri-style");
    if (!kv || !strcmp(kv->value, "host")) {
        s->path_style = 0;
    } else if (!strcmp(kv->value, "path")) {
        s->path_style = 1;
    } else {
        odbk_config_error(err, sec, kv, "'%s' is not a uri-style (host or path)", kv->value);
        goto fail;
    }
    if (!s->path_style && strchr(s->bucket, '.') && !strcmp(s->scheme, "https")) {
        odbk_config_error(err, sec, kv, "bucket '%s' has dots, which TLS host names cannot carry: set "
                          "'uri-style = path'", s->bucket);
        goto fail;
    }

    if (odbk_config_bool(sec, "tls-verify", 1, &s->tls_verify, err) < 0)
        goto fail;
    if ((v = odbk_config_get(sec, "ca-file")) && *v)
        s->ca_file = odbk_xstrdup(v);
    if (odbk_config_size(sec, "part-size", 0, ODBK_S3_MIN_PART, ODBK_S3_MAX_PART, &s->part_size, err) < 0 ||
        odbk_config_uint(sec, "upload-concurrency", 4, 1, 64, &s->concurrency, err) < 0 ||
        odbk_config_uint(sec, "retries", 5, 0, 100, &s->retries, err) < 0 ||
        odbk_config_seconds(sec, "timeout", 60, 1, 3600, &s->timeout, err) < 0)
        goto fail;
    s->pool.budget = (s->concurrency + 1) * odbk_s3_part_size(0, s->part_size);

    if (odbk_config_secret(sec, "access-key-id", "AWS_ACCESS_KEY_ID", &s->access_key, err) < 0 ||
        odbk_config_secret(sec, "secret-access-key", "AWS_SECRET_ACCESS_KEY", &s->secret_key, err) < 0 ||
        odbk_config_secret(sec, "session-token", "AWS_SESSION_TOKEN", &s->session_token, err) < 0)
        goto fail;
    if (!s->access_key || !*s->access_key || !s->secret_key || !*s->secret_key) {
        odbk_config_error(err, sec, NULL, "storage '%s' has no S3 credentials: no %s", st->name,
                          !s->access_key || !*s->access_key ? "access key id" : "secret access key");
        odbk_err_hint(err, "set 'access-key-id-file' and 'secret-access-key-file' in [storage %s], or "
                      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment", st->name);
        goto fail;
    }
    if (s->session_token && !*s->session_token) {
        free(s->session_token);
        s->session_token = NULL;
    }
    s->misc = odbk_curl_new();
    st->priv = s;
    return 0;
fail:
    s3_destroy(s);
    return -1;
}

static void s3_close(struct odbk_storage *st)
{
    s3_destroy(st->priv);
    st->priv = NULL;
}

char *odbk_s3_full_key(struct odbk_s3 *s, const char *path)
{
    while (path && *path == '/')
        path++;
    return odbk_xasprintf("%s%s", s->prefix, path ? path : "");
}

/* ---- read ---- */

struct reader {
    struct odbk_writer *dst;
    struct odbk_err *err;
    struct odbk_s3_req *req;
    uint64_t delivered;      /* bytes passed on to dst */
    uint64_t start;          /* the offset asked for (Range) */
    uint64_t seen;           /* bytes of this answer received */
};

/* Pass on only the bytes dst does not have yet: a 206 answer starts at `start`, a 200 (a server that
 * ignored Range) at 0. */
static int read_sink(void *ctx, const char *p, size_t n)
{
    struct reader *rd = ctx;
    uint64_t at = (rd->req->status == 206 ? rd->start : 0) + rd->seen;
    rd->seen += n;
    if (at < rd->delivered) {
        uint64_t k = rd->delivered - at;
        if (k >= n)
            return 0;
        p += k;
        n -= (size_t)k;
    } else if (at > rd->delivered) {
        return odbk_err_set(rd->err, ODBK_E_IO, "range answer starts at %llu, expected %llu",
                            (unsigned long long)at, (unsigned long long)rd->delivered);
    }
    if (odbk_writer_write(rd->dst, p, n, rd->err) < 0)
        return -1;
    rd->delivered += n;
    return 0;
}

static int s3_read(struct odbk_storage *st, const char *path, struct odbk_writer *dst, struct odbk_err *err)
{
    struct odbk_s3 *s = st->priv;
    struct odbk_curl *c = odbk_curl_new();   /* reads may run beside other operations */
    struct odbk_s3_req req = {0};
    struct reader rd = {dst, err, &req, 0, 0, 0};
    char *key = odbk_s3_full_key(s, path), *what = odbk_xasprintf("read '%s'", key), *etag = NULL, *range = NULL;
    uint64_t total = 0;
    int have_total = 0, r = -1;
    struct odbk_retry retry = ODBK_RETRY_INIT(s->retries);
    CURLcode cc;
    retry.interruptible = 1;   /* a restore told to stop does not wait out the backoff */
    for (;;) {
        uint64_t before = rd.delivered;
        int cut, transient;
        free(range);
        range = rd.delivered ? odbk_xasprintf("bytes=%llu-", (unsigned long long)rd.delivered) : NULL;
        memset(&req, 0, sizeof(req));
        req.method = "GET";
        req.key = key;
        req.range = range;
        req.if_match = rd.delivered ? etag : NULL;   /* resume only the same object */
        req.sink = read_sink;
        req.sink_ctx = &rd;
        rd.start = rd.delivered;
        rd.seen = 0;
        cc = odbk_s3_perform(s, c, &req);
        if (req.sink_failed) {   /* dst refused the data (or a bad range answer): err is set */
            odbk_s3_req_reset(&req);
            break;
        }
        if (req.status == 200 || req.status == 206) {
            if (!etag && req.etag)
                etag = odbk_xstrdup(req.etag);
            if (!have_total && req.status == 206 && req.range_total) {
                total = req.range_total;
                have_total = 1;
            } else if (!have_total && req.status == 200 && req.has_length) {
                total = req.content_length;
                have_total = 1;
            }
        }
        if (cc == CURLE_OK && (req.status == 200 || req.status == 206) && (!have_total || rd.delivered == total)) {
            r = 0;
            odbk_s3_req_reset(&req);
            break;
        }
        if (cc == CURLE_OK && req.status == 404) {
            char *code = NULL;
            if (req.resp) {
                const char *pos = req.resp;
                code = odbk_s3_xml_next(&pos, req.resp + req.resp_len, "Code");
            }
            if (code && !strcmp(code, "NoSuchBucket"))
                odbk_s3_fail(s, c, &req, cc, what, err);
            else
                odbk_err_set(err, ODBK_E_NOINPUT, "storage '%s': no such object '%s'", s->name, key);
            free(code);
            odbk_s3_req_reset(&req);
            break;
        }
        if (cc == CURLE_OK && req.status == 412) {
            odbk_err_set(err, ODBK_E_DATA, "storage '%s': '%s' changed while it was being read", s->name, key);
            odbk_s3_req_reset(&req);
            break;
        }
        /* real progress (a MiB or more) restores the retry budget, which is per stall, not per object; a
         * server that drops every answer after a few bytes uses it up as if it were down */
        if (rd.delivered - before >= ODBK_STORAGE_RETRY_PROGRESS)
            odbk_retry_progress(&retry);
        cut = cc == CURLE_OK && req.status / 100 == 2;   /* a 2xx that ended early */
        if (cut)
            odbk_err_set(err, ODBK_E_IO, "storage '%s': cannot %s: the answer ended after %llu of %llu bytes",
                         s->name, what, (unsigned long long)rd.delivered, (unsigned long long)total);
        else
            odbk_s3_fail(s, c, &req, cc, what, err);
        transient = cut || odbk_curl_transient(cc, req.status);
        odbk_s3_req_reset(&req);
        if (!odbk_retry_again(&retry, transient, err))
            break;
    }
    free(range);
    free(etag);
    free(what);
    free(key);
    odbk_curl_free(c);
    return r;
}

/* ---- stat, list, remove ---- */

int odbk_s3_head(struct odbk_s3 *s, const char *key, const char *verb, struct odbk_s3_req *req, struct odbk_err *err)
{
    char *what = odbk_xasprintf("%s '%s'", verb, key);
    int r;
    req->method = "HEAD";
    req->key = key;
    pthread_mutex_lock(&s->misc_mu);
    r = odbk_s3_call(s, s->misc, req, -1, what, err);
    pthread_mutex_unlock(&s->misc_mu);
    free(what);
    if (r < 0 && req->status == 404) {
        odbk_err_clear(err);
        r = 1;
    }
    return r;
}

static int s3_stat(struct odbk_storage *st, const char *path, struct odbk_storage_entry *out,
                   struct odbk_err *err)
{
    struct odbk_s3 *s = st->priv;
    struct odbk_s3_req req = {0};
    char *key = odbk_s3_full_key(s, path);
    int r = odbk_s3_head(s, key, "stat", &req, err);
    if (r == 0) {
        out->path = NULL;
        out->size = req.content_length;
        out->mtime = req.last_modified;
    }
    odbk_s3_req_reset(&req);
    free(key);
    return r;
}

/* One page of ListObjectsV2: report its objects; *token gets the continuation token or NULL at the end. */
static int list_page(struct odbk_s3 *s, const char *resp, size_t len, char **token, odbk_storage_list_cb cb, void *ctx)
{
    const char *pos = resp, *end = resp + len, *a, *b;
    size_t plen = strlen(s->prefix);
    char *trunc;
    int r = 0;
    while (r == 0 && odbk_s3_xml_element(&pos, end, "Contents", &a, &b) == 0) {
        const char *p2 = a;
        char *key = odbk_s3_xml_next(&p2, b, "Key"), *size, *mod;
        p2 = a;
        size = odbk_s3_xml_next(&p2, b, "Size");
        p2 = a;
        mod = odbk_s3_xml_next(&p2, b, "LastModified");
        if (key && strlen(key) > plen && !strncmp(key, s->prefix, plen) && key[strlen(key) - 1] != '/') {
            struct odbk_storage_entry e = {key + plen, size ? strtoull(size, NULL, 10) : 0, 0};
            if (mod)
                odbk_time_parse_rfc3339(mod, &e.mtime);
            r = cb(ctx, &e);
        }
        free(key);
        free(size);
        free(mod);
    }
    pos = resp;
    trunc = odbk_s3_xml_next(&pos, end, "IsTruncated");
    *token = NULL;
    if (r == 0 && trunc && !strcmp(trunc, "true")) {
        pos = resp;
        *token = odbk_s3_xml_next(&pos, end, "NextContinuationToken");
    }
    free(trunc);
    return r;
}

static int s3_list(struct odbk_storage *st, const char *prefix, odbk_storage_list_cb cb, void *ctx,
                   struct odbk_err *err)
{
    struct odbk_s3 *s = st->priv;
    char *full = odbk_s3_full_key(s, prefix ? prefix : ""), *eprefix = odbk_s3_uri_encode(full, 0), *token = NULL;
    char *what = *full ? odbk_xasprintf("list '%s'", full) : odbk_xasprintf("list bucket '%s'", s->bucket);
    int r = 0;
    pthread_mutex_lock(&s->misc_mu);
    do {
        struct odbk_s3_req req = {0};
        char *etoken = token ? odbk_s3_uri_encode(token, 0) : NULL, *query;
        /* parameters in byte order (canonical query) */
        query = odbk_xasprintf("%s%s%slist-type=2&prefix=%s", etoken ? "continuation-token=" : "",
                               etoken ? etoken : "", etoken ? "&" : "", eprefix);
        req.method = "GET";
        req.query = query;
        free(token);
        token = NULL;
        r = odbk_s3_call(s, s->misc, &req, -1, what, err);
        if (r == 0 && req.resp) {
            r = list_page(s, req.resp, req.resp_len, &token, cb, ctx);
            if (r == 0 && req.resp_len >= (32u << 20))
                r = odbk_err_set(err, ODBK_E_IO, "storage '%s': cannot %s: answer too large", s->name, what);
        }
        odbk_s3_req_reset(&req);
        free(query);
        free(etoken);
    } while (r == 0 && token);
    pthread_mutex_unlock(&s->misc_mu);
    free(token);
    free(what);
    free(eprefix);
    free(full);
    return r;
}

static int s3_remove(struct odbk_storage *st, const char *path, struct odbk_err *err)
{
    struct odbk_s3 *s = st->priv;
    struct odbk_s3_req req = {0};
    char *key = odbk_s3_full_key(s, path), *what = odbk_xasprintf("remove '%s'", key);
    int r;
    req.method = "DELETE";
    req.key = key;
    pthread_mutex_lock(&s->misc_mu);
    r = odbk_s3_call(s, s->misc, &req, -1, what, err);
    pthread_mutex_unlock(&s->misc_mu);
    if (r < 0 && req.status == 404 && err->code == ODBK_E_NOINPUT) {   /* already gone (not NoSuchBucket) */
        odbk_err_clear(err);
        r = 0;
    }
    odbk_s3_req_reset(&req);
    free(what);
    free(key);
    return r;
}

/* Abort the multipart uploads under prefix that were initiated before older_than.  Such uploads are left
 * when a run dies or the answer to CreateMultipartUpload was lost (the writer never learnt the upload's
 * id); the store keeps, and bills, their parts until they are aborted. */
static int s3_sweep(struct odbk_storage *st, const char *prefix, time_t older_than, odbk_storage_sweep_keep_cb keep,
                    void *keep_ctx, int *n, struct odbk_err *err)
{
    struct odbk_s3 *s = st->priv;
    char *full = odbk_s3_full_key(s, prefix ? prefix : ""), *eprefix = odbk_s3_uri_encode(full, 0);
    size_t base = strlen(full) - strlen(prefix ? prefix : "");   /* the storage's own prefix in a full key */
    char *key_marker = NULL, *id_marker = NULL;
    int r = 0, more;
    pthread_mutex_lock(&s->misc_mu);
    do {
        struct odbk_s3_req req = {0};
        char *ek = key_marker ? odbk_s3_uri_encode(key_marker, 0) : NULL;
        char *eu = id_marker ? odbk_s3_uri_encode(id_marker, 0) : NULL;
        /* parameters in byte order (canonical query) */
        char *query = odbk_xasprintf("%s%s%sprefix=%s%s%s%suploads=", ek ? "key-marker=" : "", ek ? ek : "",
                                     ek ? "&" : "", eprefix, eu ? "&upload-id-marker=" : "", eu ? eu : "",
                                     "&");
        const char *pos, *end;
        const char *u0, *u1;
        more = 0;
        req.method = "GET";
        req.query = query;
        r = odbk_s3_call(s, s->misc, &req, -1, "list unfinished uploads", err);
        free(key_marker);
        free(id_marker);
        key_marker = id_marker = NULL;
        if (r == 0 && req.resp) {
            char *trunc;
            pos = req.resp;
            end = req.resp + req.resp_len;
            while (r == 0 && odbk_s3_xml_element(&pos, end, "Upload", &u0, &u1) == 0) {
                const char *q = u0;
                char *key = odbk_s3_xml_next(&q, u1, "Key"), *id, *when;
                time_t t = 0;
                q = u0;
                id = odbk_s3_xml_next(&q, u1, "UploadId");
                q = u0;
                when = odbk_s3_xml_next(&q, u1, "Initiated");
                if (key && id && when && odbk_time_parse_rfc3339(when, &t) == 0 && t < older_than &&
                    !(keep && strlen(key) >= base && keep(keep_ctx, key + base, t))) {
                    struct odbk_s3_req del = {0};
                    char *eid = odbk_s3_uri_encode(id, 0), *dq = odbk_xasprintf("uploadId=%s", eid);
                    del.method = "DELETE";
                    del.key = key;
                    del.query = dq;
                    r = odbk_s3_call(s, s->misc, &del, -1, "abort an unfinished upload", err);
                    if (r < 0 && del.status == 404) {   /* gone meanwhile */
                        odbk_err_clear(err);
                        r = 0;
                    } else if (r == 0) {
                        (*n)++;
                    }
                    odbk_s3_req_reset(&del);
                    free(dq);
                    free(eid);
                }
                free(key);
                free(id);
                free(when);
            }
            pos = req.resp;
            trunc = odbk_s3_xml_next(&pos, end, "IsTruncated");
            if (trunc && !strcmp(trunc, "true")) {
                pos = req.resp;
                key_marker = odbk_s3_xml_next(&pos, end, "NextKeyMarker");
                pos = req.resp;
                id_marker = odbk_s3_xml_next(&pos, end, "NextUploadIdMarker");
                more = key_marker != NULL;
            }
            free(trunc);
        }
        odbk_s3_req_reset(&req);
        free(query);
        free(ek);
        free(eu);
    } while (r == 0 && more);
    pthread_mutex_unlock(&s->misc_mu);
    free(key_marker);
    free(id_marker);
    free(eprefix);
    free(full);
    return r;
}

static int s3_presign(struct odbk_storage *st, const char *path, long seconds, char **url, struct odbk_err *err)
{
    struct odbk_s3 *s = st->priv;
    char *key;
    if (seconds < 1 || seconds > ODBK_S3_MAX_PRESIGN) {
        odbk_err_set(err, ODBK_E_USAGE, "storage '%s': a download link lasts from 1 second to 7 days, not %ld "
                     "seconds", s->name, seconds);
        return -1;
    }
    key = odbk_s3_full_key(s, path);
    *url = odbk_s3_presign_url(s, key, seconds, odbk_now());
    free(key);
    return 0;
}

const struct odbk_storage_driver odbk_storage_s3_driver = {
    .type = "s3",
    .features = ODBK_STORAGE_F_PRESIGN | ODBK_STORAGE_F_RANGE_READ,
    .keys = s3_keys,
    .open = s3_open,
    .close = s3_close,
    .open_write = odbk_s3_open_write,
    .read = s3_read,
    .stat = s3_stat,
    .list = s3_list,
    .remove = s3_remove,
    .sweep = s3_sweep,
    .presign = s3_presign,
    .confirm = odbk_s3_confirm,
};
