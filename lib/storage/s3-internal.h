/* s3-internal.h - what the files of the S3 driver share (s3.c: the driver operations; s3-http.c: requests,
 * SigV4 signing, retries, error mapping; s3-upload.c: the streaming multipart writer; s3-xml.c: the little
 * XML S3 answers with).  Not for use outside lib/storage/s3*.c. */
#ifndef ODBK_S3_INTERNAL_H
#define ODBK_S3_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"
#include "net/curl.h"
#include "storage/s3.h"
#include "storage/storage.h"

/* The part buffers of one storage's multipart writers: one byte budget for all of them (s3-pool.c). */
struct odbk_s3_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t budget;         /* (upload-concurrency + 1) x part-size */
    uint64_t used, peak;     /* bytes of part buffers alive (free ones included), and the most ever */
    struct { unsigned char *buf; size_t size; } *free;   /* buffers sent, kept for reuse */
    size_t n_free, free_cap;
};

void odbk_s3_pool_init(struct odbk_s3_pool *p, uint64_t budget);
void odbk_s3_pool_destroy(struct odbk_s3_pool *p);
/* A buffer of `size` bytes, a free one of that size if any; waits while the budget is spent (unless size
 * fits in twice itself: a part larger than the budget still gets two buffers). */
unsigned char *odbk_s3_pool_get(struct odbk_s3_pool *p, size_t size);
/* Give back a buffer of `size` bytes from odbk_s3_pool_get() (kept for reuse, still charged, while the pool is
 * within its budget; else freed and uncharged); NULL: none. */
void odbk_s3_pool_put(struct odbk_s3_pool *p, unsigned char *buf, size_t size);
/* A writer's own buffer grew or shrank (or was freed: new_size 0) by itself: charge it, never waiting. */
void odbk_s3_pool_resize(struct odbk_s3_pool *p, size_t old_size, size_t new_size);
uint64_t odbk_s3_pool_peak(struct odbk_s3_pool *p);

/* The state of one opened s3 storage; read-only after open except `misc` (under misc_mu). */
struct odbk_s3 {
    const char *name;        /* the storage name (owned by struct odbk_storage) */
    char *scheme;            /* "https" or "http" */
    char *endpoint_host;     /* "s3.eu-central-1.amazonaws.com", "127.0.0.1:9000" (with the port if any) */
    char *region;
    char *bucket;
    char *prefix;            /* "" or ending in '/' */
    int path_style;
    char *access_key;
    char *secret_key;        /* secret: never logged, never in a message */
    char *session_token;     /* secret, or NULL */
    int tls_verify;
    char *ca_file;
    uint64_t part_size;      /* configured override, 0 = planned from the size hint */
    unsigned concurrency;
    unsigned retries;
    long timeout;            /* seconds: connect timeout, and a transfer stalled this long is dropped */
    pthread_mutex_t misc_mu;
    struct odbk_curl *misc;  /* handle for stat/list/remove/confirm (one thread at a time) */
    pthread_mutex_t written_mu;
    struct odbk_s3_written *written;   /* objects written and not yet confirmed (s3-confirm.c) */
    struct odbk_s3_pool pool;          /* the part buffers of all its writers */
};

/* What the upload of one object learnt of it, for odbk_s3_confirm: the writer records it once the object is
 * stored (single PUT or completed multipart upload). */
struct odbk_s3_written {
    struct odbk_s3_written *next;
    char *key;               /* the full key */
    uint64_t size;           /* bytes sent */
    char expect[48];         /* the ETag a store of MD5 ETags gives it: MD5, or MD5 of the parts' MD5s "-N" */
    unsigned matched;        /* ETags of the PUT or of the parts that were the MD5 of the bytes sent */
    unsigned differ;         /* ... that had an MD5's form and were not */
    unsigned bad_part;       /* the first of those (0: the single PUT) */
    char *bad_etag;          /* its ETag */
    int not_md5;             /* an answer said the ETags are no MD5s (SSE-KMS, SSE-C) */
};

/* Called with the body of a 2xx response; return 0, or -1 to stop the transfer (the sink's own error). */
typedef int (*odbk_s3_sink_fn)(void *ctx, const char *p, size_t n);

struct odbk_s3_req {
    /* request */
    const char *method;      /* GET HEAD PUT POST DELETE */
    const char *key;         /* the full object key (driver prefix included), or NULL for the bucket */
    const char *query;       /* canonical query ("list-type=2&prefix=a%2F"): sorted, encoded; or NULL */
    const void *body;        /* PUT/POST body */
    size_t body_len;
    const char *body_sha256; /* hex SHA-256 of the body when already known */
    const char *range;       /* "bytes=N-" */
    const char *if_match;    /* an ETag */
    odbk_s3_sink_fn sink;    /* 2xx bodies go here instead of `resp` */
    void *sink_ctx;
    const int *cancel;       /* stop the transfer when *cancel becomes non-zero (atomic load) */
    /* response (reset by every attempt) */
    long status;
    char *resp;              /* body (of errors, or of everything when no sink), NUL-terminated */
    size_t resp_len;
    char *etag;
    uint64_t content_length;
    int has_length;
    uint64_t range_total;    /* from Content-Range ".../TOTAL" of a 206, 0 when none */
    time_t last_modified;
    int etag_not_md5;        /* x-amz-server-side-encryption aws:kms*, or SSE-C: the ETag is no MD5 */
    int sink_failed;         /* the sink refused data: its error is in the caller's hands */
};

/* One attempt; the CURLcode of the transfer (CURLE_OK even for an HTTP error: see req->status). */
CURLcode odbk_s3_perform(struct odbk_s3 *s, struct odbk_curl *c, struct odbk_s3_req *req);
/* odbk_s3_perform with retries (s->retries, or `retries` when >= 0) on what odbk_curl_transient() calls
 * transient; 0 on a 2xx, else -1 with err set by odbk_s3_fail(what) and the attempts (retry.h). */
int odbk_s3_call(struct odbk_s3 *s, struct odbk_curl *c, struct odbk_s3_req *req, int retries, const char *what,
                 struct odbk_err *err);
/* Fill err for a failed request: "storage 'NAME': cannot WHAT: S3CODE: message (HTTP n)" or the curl
 * error; the kind follows the HTTP status, the S3 error code and the curl code. */
int odbk_s3_fail(struct odbk_s3 *s, struct odbk_curl *c, struct odbk_s3_req *req, CURLcode cc, const char *what,
                 struct odbk_err *err);
void odbk_s3_req_reset(struct odbk_s3_req *req);   /* free the response fields */

/* SigV4 */
void odbk_s3_sha256_hex(const void *data, size_t len, char hex[65]);
/* Percent-encode as SigV4 wants: unreserved characters kept, '/' kept when keep_slash. malloc'd. */
char *odbk_s3_uri_encode(const char *s, int keep_slash);
/* The host and the encoded path of key (NULL: the bucket itself) for this storage's uri-style. */
void odbk_s3_locate(struct odbk_s3 *s, const char *key, char **host, char **path);
/* A presigned GET URL for key valid `seconds` from `now`. */
char *odbk_s3_presign_url(struct odbk_s3 *s, const char *key, long seconds, time_t now);
/* The Authorization header value for a request (headers host, x-amz-content-sha256, x-amz-date and
 * x-amz-security-token when there is a session token are signed). */
char *odbk_s3_authorization(struct odbk_s3 *s, const char *method, const char *host, const char *path,
                            const char *query, const char *payload_sha256, const char *amz_date);

/* XML: the unescaped text of the first <tag>…</tag> in [*pos, end), advancing *pos past it; NULL when
 * there is none.  malloc'd. */
char *odbk_s3_xml_next(const char **pos, const char *end, const char *tag);
/* The span [*start, *end) of the next <tag>…</tag> element's content; 0 when found, -1 when not. */
int odbk_s3_xml_element(const char **pos, const char *end, const char *tag, const char **start,
                        const char **stop);
/* XML-escape s for a request body. malloc'd. */
char *odbk_s3_xml_escape(const char *s);

/* HEAD key on the storage's shared handle ("cannot VERB 'key'" in errors): 0 with req's answer, 1 when
 * there is no such object, -1.  The caller resets req. */
int odbk_s3_head(struct odbk_s3 *s, const char *key, const char *verb, struct odbk_s3_req *req, struct odbk_err *err);
/* The full key of a storage path (prefix + path). malloc'd. */
char *odbk_s3_full_key(struct odbk_s3 *s, const char *path);

/* The streaming writer (s3-upload.c). */
int odbk_s3_open_write(struct odbk_storage *st, const char *path, uint64_t size_hint, struct odbk_writer **out,
                       struct odbk_err *err);

/* What the store confirms (s3-confirm.c): the writer's record of key (the key is taken over; md5: the 16
 * bytes of the MD5 of each of the n ETags, n = parts, or 1 for a single PUT), the driver's confirm
 * operation, and the records' end. */
void odbk_s3_written_add(struct odbk_s3 *s, char *key, uint64_t size, unsigned parts, const unsigned char *md5,
                         char *const *etags, int not_md5);
int odbk_s3_confirm(struct odbk_storage *st, const char *path, uint64_t size, enum odbk_confirm *level, char **note,
                    struct odbk_err *err);
void odbk_s3_written_free(struct odbk_s3 *s);

#endif
