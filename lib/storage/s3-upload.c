/* s3-upload.c - the sink of a writer chain that stores an S3 object: streaming multipart upload of data
 * whose size is not known in advance.
 *
 * Bytes fill a part buffer.  If the stream ends within the first part, finish() stores it with one PUT.
 * Otherwise the first full buffer starts a multipart upload, and every full buffer becomes a part handed
 * to a small pool of worker threads (upload-concurrency, each with its own curl handle) while the next one
 * fills.  The part buffers come from the storage's pool (s3-pool.c): all the writers of one storage together
 * hold at most (upload-concurrency + 1) x part-size, and a buffer sent is reused for a later part.  Every part but the last has exactly the part
 * size (R2 refuses anything else).  A part is retried with backoff from its own buffer; the source is never
 * read twice.  When a part finally fails, the other transfers are cancelled and the next write() or
 * finish() reports the error; abort() (called by the chain on any failure, and by free() of an unfinished
 * writer) aborts the multipart upload so that nothing is left behind.  finish() completes the upload and
 * checks the body of a 200 answer for an <Error> (S3 can fail a CompleteMultipartUpload that way).
 *
 * Once stored, the object's record goes to s3-confirm.c: its size, the MD5 of the PUT or of each part
 * (computed from the buffer sent, as its SHA-256 for the signature is) and the ETags the store answered.
 *
 * Part size: odbk_s3_part_size() plans for twice the size hint.  If the stream still outgrows 10,000
 * parts, the writer refuses part 10,001 with an error naming the planned size, and the upload is aborted:
 * an honest failure rather than a corrupt object (odbk.conf(5), part-size). */
#include "storage/s3-internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/util.h"

#define MIB (1ULL << 20)

uint64_t odbk_s3_part_size(uint64_t size_hint, uint64_t configured)
{
    uint64_t floor = configured > ODBK_S3_MIN_PART ? configured : ODBK_S3_MIN_PART;
    uint64_t planned, part;
    if (floor > ODBK_S3_MAX_PART)
        floor = ODBK_S3_MAX_PART;
    planned = size_hint > ODBK_S3_MAX_OBJECT / 2 ? ODBK_S3_MAX_OBJECT : size_hint * 2;
    part = (planned + ODBK_S3_MAX_PARTS - 1) / ODBK_S3_MAX_PARTS;   /* ceil(planned / 10000) */
    part = (part + MIB - 1) / MIB * MIB;                            /* whole MiB */
    if (part < floor)
        part = floor;
    if (part > ODBK_S3_MAX_PART)
        part = ODBK_S3_MAX_PART;
    return part;
}

struct part {
    unsigned char *buf;
    size_t len;
    unsigned num;            /* 1-based part number */
};

struct s3_writer {
    struct odbk_writer w;
    struct odbk_s3 *s3;
    char *key;               /* full key */
    char *what;              /* "upload 'key'" for messages */
    uint64_t size_hint;
    size_t part_size;
    struct odbk_curl *ctl;     /* create, complete, abort, single PUT */
    unsigned char *cur;      /* the part being filled */
    size_t cur_len, cur_cap;
    char *upload_id;         /* set while a multipart upload is open */
    char *eid;               /* upload_id, uri-encoded */
    unsigned parts;          /* parts handed to the workers so far */

    pthread_mutex_t mu;      /* guards everything below */
    pthread_cond_t cv;
    pthread_t *threads;
    unsigned n_threads;
    struct part *queue;      /* FIFO of at most concurrency parts */
    unsigned q_head, q_len;
    unsigned busy;           /* parts queued or being uploaded */
    char **etags;            /* etags[num - 1] */
    unsigned char (*md5)[16];   /* md5[num - 1]: of the part sent (md5[0]: of a single PUT) */
    size_t etags_cap;
    int not_md5;             /* an answer said its ETag is no MD5 */
    uint64_t total;          /* bytes written */
    int closing;             /* workers leave when the queue is empty */
    int cancel;              /* atomic: stop every transfer now */
    int failed;
    struct odbk_err fail_err;
};

static char *query_of(struct s3_writer *sw, unsigned part)
{
    return part ? odbk_xasprintf("partNumber=%u&uploadId=%s", part, sw->eid) : odbk_xasprintf("uploadId=%s", sw->eid);
}

/* ---- workers ---- */

static int upload_part(struct s3_writer *sw, struct odbk_curl *c, const struct part *p, char **etag,
                       unsigned char md5[16], int *not_md5, struct odbk_err *err)
{
    struct odbk_s3_req req = {0};
    char sha[65], *q = query_of(sw, p->num), *what;
    int r;
    odbk_s3_sha256_hex(p->buf, p->len, sha);
    EVP_Digest(p->buf, p->len, md5, NULL, EVP_md5(), NULL);
    req.method = "PUT";
    req.key = sw->key;
    req.query = q;
    req.body = p->buf;
    req.body_len = p->len;
    req.body_sha256 = sha;
    req.cancel = &sw->cancel;
    what = odbk_xasprintf("upload part %u of '%s'", p->num, sw->key);
    r = odbk_s3_call(sw->s3, c, &req, -1, what, err);
    if (r == 0 && !req.etag)
        r = odbk_err_set(err, ODBK_E_IO, "storage '%s': cannot %s: no ETag in the answer", sw->s3->name, what);
    if (r == 0) {
        *etag = req.etag;
        req.etag = NULL;
        *not_md5 = req.etag_not_md5;
    }
    odbk_s3_req_reset(&req);
    free(what);
    free(q);
    return r;
}

static void *worker(void *arg)
{
    struct s3_writer *sw = arg;
    struct odbk_curl *c = odbk_curl_new();
    pthread_mutex_lock(&sw->mu);
    for (;;) {
        struct part p;
        struct odbk_err err = {0};
        char *etag = NULL;
        unsigned char md5[16];
        int r, not_md5 = 0;
        while (!sw->q_len && !sw->closing && !__atomic_load_n(&sw->cancel, __ATOMIC_ACQUIRE))
            pthread_cond_wait(&sw->cv, &sw->mu);
        if (!sw->q_len)
            break;
        p = sw->queue[sw->q_head];
        sw->q_head = (sw->q_head + 1) % sw->s3->concurrency;
        sw->q_len--;
        pthread_mutex_unlock(&sw->mu);

        if (__atomic_load_n(&sw->cancel, __ATOMIC_ACQUIRE))
            r = odbk_err_set(&err, ODBK_E_FAILED, "cancelled");
        else
            r = upload_part(sw, c, &p, &etag, md5, &not_md5, &err);

        pthread_mutex_lock(&sw->mu);
        if (r == 0) {
            sw->etags[p.num - 1] = etag;
            memcpy(sw->md5[p.num - 1], md5, 16);
            sw->not_md5 |= not_md5;
        } else if (!sw->failed) {
            sw->failed = 1;
            sw->fail_err = err;
            __atomic_store_n(&sw->cancel, 1, __ATOMIC_RELEASE);
        }
        odbk_s3_pool_put(&sw->s3->pool, p.buf, sw->part_size);
        sw->busy--;
        pthread_cond_broadcast(&sw->cv);
    }
    pthread_mutex_unlock(&sw->mu);
    odbk_curl_free(c);
    return NULL;
}

/* Let the workers drain the queue (or drop it when cancelled), and join them. */
static void stop_workers(struct s3_writer *sw)
{
    unsigned i;
    if (!sw->n_threads)
        return;
    pthread_mutex_lock(&sw->mu);
    sw->closing = 1;
    if (__atomic_load_n(&sw->cancel, __ATOMIC_ACQUIRE)) {
        while (sw->q_len) {   /* parts nobody will upload */
            odbk_s3_pool_put(&sw->s3->pool, sw->queue[sw->q_head].buf, sw->part_size);
            sw->q_head = (sw->q_head + 1) % sw->s3->concurrency;
            sw->q_len--;
            sw->busy--;
        }
    }
    pthread_cond_broadcast(&sw->cv);
    pthread_mutex_unlock(&sw->mu);
    for (i = 0; i < sw->n_threads; i++)
        pthread_join(sw->threads[i], NULL);
    sw->n_threads = 0;
}

/* ---- the multipart upload ---- */

static int create_upload(struct s3_writer *sw, struct odbk_err *err)
{
    struct odbk_s3_req req = {0};
    const char *pos;
    unsigned i;
    int r;
    req.method = "POST";
    req.key = sw->key;
    req.query = "uploads=";
    r = odbk_s3_call(sw->s3, sw->ctl, &req, -1, sw->what, err);
    if (r == 0) {
        pos = req.resp ? req.resp : "";
        sw->upload_id = odbk_s3_xml_next(&pos, pos + req.resp_len, "UploadId");
        if (!sw->upload_id || !*sw->upload_id)
            r = odbk_err_set(err, ODBK_E_IO, "storage '%s': cannot %s: no UploadId in the answer to "
                             "CreateMultipartUpload", sw->s3->name, sw->what);
    }
    odbk_s3_req_reset(&req);
    if (r < 0) {
        free(sw->upload_id);
        sw->upload_id = NULL;
        return -1;
    }
    sw->eid = odbk_s3_uri_encode(sw->upload_id, 0);
    sw->queue = odbk_xcalloc(sw->s3->concurrency, sizeof(*sw->queue));
    sw->threads = odbk_xcalloc(sw->s3->concurrency, sizeof(*sw->threads));
    for (i = 0; i < sw->s3->concurrency; i++) {
        if (pthread_create(&sw->threads[i], NULL, worker, sw) != 0) {
            odbk_err_set(err, ODBK_E_OSERR, "storage '%s': cannot start an upload thread", sw->s3->name);
            sw->n_threads = i;
            return -1;   /* abort() stops the threads started and aborts the upload */
        }
        sw->n_threads = i + 1;
    }
    return 0;
}

static int failure(struct s3_writer *sw, struct odbk_err *err)
{
    *err = sw->fail_err;
    return -1;
}

/* Hand the filled buffer to the workers as the next part (waiting for a free slot); unless it is the last,
 * take another buffer to fill. */
static int dispatch(struct s3_writer *sw, int last, struct odbk_err *err)
{
    if (!sw->upload_id && create_upload(sw, err) < 0)
        return -1;
    if (sw->parts >= ODBK_S3_MAX_PARTS) {
        char ps[32], hint[32];
        odbk_fmt_size(sw->part_size, ps);
        odbk_fmt_size(sw->size_hint, hint);
        odbk_err_set(err, ODBK_E_FAILED, "storage '%s': cannot %s: larger than 10,000 parts of %s (planned "
                     "from an expected size of %s)", sw->s3->name, sw->what, ps, sw->size_hint ? hint : "unknown");
        odbk_err_hint(err, "set a larger 'part-size' in [storage %s] (at most 5GiB; memory used is "
                      "(upload-concurrency + 1) x part-size)", sw->s3->name);
        return -1;
    }
    pthread_mutex_lock(&sw->mu);
    while (sw->busy >= sw->s3->concurrency && !sw->failed)
        pthread_cond_wait(&sw->cv, &sw->mu);
    if (sw->failed) {
        pthread_mutex_unlock(&sw->mu);
        return failure(sw, err);
    }
    if (sw->parts + 1 > sw->etags_cap) {
        size_t cap = sw->etags_cap ? 2 * sw->etags_cap : 64;
        sw->etags = odbk_xrealloc(sw->etags, cap * sizeof(char *));
        memset(sw->etags + sw->etags_cap, 0, (cap - sw->etags_cap) * sizeof(char *));
        sw->md5 = odbk_xrealloc(sw->md5, cap * sizeof(*sw->md5));
        sw->etags_cap = cap;
    }
    sw->parts++;
    sw->queue[(sw->q_head + sw->q_len) % sw->s3->concurrency] = (struct part){sw->cur, sw->cur_len, sw->parts};
    sw->q_len++;
    sw->busy++;
    pthread_cond_broadcast(&sw->cv);
    pthread_mutex_unlock(&sw->mu);
    /* the next buffer, from the pool: this writer has a part in flight, which gives one back in the end */
    sw->cur = last ? NULL : odbk_s3_pool_get(&sw->s3->pool, sw->part_size);
    sw->cur_len = 0;
    sw->cur_cap = last ? 0 : sw->part_size;
    return 0;
}

static int sw_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct s3_writer *sw = (struct s3_writer *)w;
    const unsigned char *p = buf;
    while (len) {
        size_t n;
        if (__atomic_load_n(&sw->cancel, __ATOMIC_ACQUIRE))   /* a part failed (fail_err is set first) */
            return failure(sw, err);
        if (sw->cur_len == sw->part_size && dispatch(sw, 0, err) < 0)
            return -1;
        if (sw->cur_len == sw->cur_cap) {   /* grow the first buffer gradually: small objects stay small */
            size_t cap = sw->cur_cap ? 2 * sw->cur_cap : 64 * 1024;
            if (cap > sw->part_size)
                cap = sw->part_size;
            sw->cur = odbk_xrealloc(sw->cur, cap);
            odbk_s3_pool_resize(&sw->s3->pool, sw->cur_cap, cap);
            sw->cur_cap = cap;
        }
        n = sw->cur_cap - sw->cur_len;
        if (n > len)
            n = len;
        memcpy(sw->cur + sw->cur_len, p, n);
        sw->cur_len += n;
        sw->total += n;
        p += n;
        len -= n;
    }
    return 0;
}

static int complete_upload(struct s3_writer *sw, struct odbk_err *err)
{
    struct odbk_s3_req req = {0};
    size_t cap = 128 + (size_t)sw->parts * 128, len = 0, i;
    char *xml = odbk_xmalloc(cap), *q = query_of(sw, 0);
    int r;
    len += (size_t)snprintf(xml + len, cap - len, "<CompleteMultipartUpload>");
    for (i = 0; i < sw->parts; i++) {
        char *etag = odbk_s3_xml_escape(sw->etags[i]);
        size_t need = strlen(etag) + 96;
        if (len + need >= cap) {
            cap = 2 * cap + need;
            xml = odbk_xrealloc(xml, cap);
        }
        len += (size_t)snprintf(xml + len, cap - len, "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>",
                                i + 1, etag);
        free(etag);
    }
    if (len + 32 >= cap)
        xml = odbk_xrealloc(xml, cap = len + 32);
    len += (size_t)snprintf(xml + len, cap - len, "</CompleteMultipartUpload>");
    req.method = "POST";
    req.key = sw->key;
    req.query = q;
    req.body = xml;
    req.body_len = len;
    r = odbk_s3_call(sw->s3, sw->ctl, &req, -1, sw->what, err);
    if (r == 0 && req.resp && strstr(req.resp, "<Error>")) {
        /* 200 OK with an error in the body: the upload did not complete */
        req.status = 500;
        r = odbk_s3_fail(sw->s3, sw->ctl, &req, CURLE_OK, sw->what, err);
    }
    odbk_s3_req_reset(&req);
    free(xml);
    free(q);
    return r;
}

static int put_single(struct s3_writer *sw, struct odbk_err *err)
{
    struct odbk_s3_req req = {0};
    unsigned char md5[16];
    int r;
    req.method = "PUT";
    req.key = sw->key;
    req.body = sw->cur;
    req.body_len = sw->cur_len;
    r = odbk_s3_call(sw->s3, sw->ctl, &req, -1, sw->what, err);
    if (r == 0) {
        EVP_Digest(sw->cur ? sw->cur : (unsigned char *)"", sw->cur_len, md5, NULL, EVP_md5(), NULL);
        odbk_s3_written_add(sw->s3, odbk_xstrdup(sw->key), sw->total, 0, md5, &req.etag, req.etag_not_md5);
    }
    odbk_s3_req_reset(&req);
    return r;
}

static int sw_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct s3_writer *sw = (struct s3_writer *)w;
    if (!sw->upload_id)
        return put_single(sw, err);
    if (dispatch(sw, 1, err) < 0)   /* the last part (never empty: a part is only sent when more data came) */
        return -1;
    pthread_mutex_lock(&sw->mu);
    while (sw->busy && !sw->failed)
        pthread_cond_wait(&sw->cv, &sw->mu);
    pthread_mutex_unlock(&sw->mu);
    stop_workers(sw);
    if (sw->failed)
        return failure(sw, err);
    if (complete_upload(sw, err) < 0)
        return -1;
    odbk_s3_written_add(sw->s3, odbk_xstrdup(sw->key), sw->total, sw->parts, sw->md5[0], sw->etags, sw->not_md5);
    free(sw->upload_id);
    sw->upload_id = NULL;
    return 0;
}

static void sw_abort(struct odbk_writer *w)
{
    struct s3_writer *sw = (struct s3_writer *)w;
    __atomic_store_n(&sw->cancel, 1, __ATOMIC_RELEASE);
    stop_workers(sw);
    if (sw->upload_id) {
        /* a longer budget than a part's: the last chance to leave nothing behind */
        struct odbk_s3_req req = {0};
        struct odbk_err err = {0};
        char *q = query_of(sw, 0);
        req.method = "DELETE";
        req.key = sw->key;
        req.query = q;
        odbk_s3_call(sw->s3, sw->ctl, &req, (int)sw->s3->retries + 3, "abort the multipart upload", &err);
        odbk_s3_req_reset(&req);
        free(q);
        free(sw->upload_id);
        sw->upload_id = NULL;
    }
}

static void sw_free(struct odbk_writer *w)
{
    struct s3_writer *sw = (struct s3_writer *)w;
    size_t i;
    sw_abort(w);
    for (i = 0; i < sw->etags_cap; i++)
        free(sw->etags[i]);
    free(sw->etags);
    free(sw->md5);
    free(sw->queue);
    free(sw->threads);
    if (sw->cur_cap == sw->part_size) {
        odbk_s3_pool_put(&sw->s3->pool, sw->cur, sw->part_size);
    } else {
        free(sw->cur);
        odbk_s3_pool_resize(&sw->s3->pool, sw->cur_cap, 0);
    }
    free(sw->eid);
    free(sw->key);
    free(sw->what);
    odbk_curl_free(sw->ctl);
    pthread_mutex_destroy(&sw->mu);
    pthread_cond_destroy(&sw->cv);
    free(sw);
}

static const struct odbk_writer_ops s3_write_ops = {"s3 object", sw_write, sw_finish, sw_abort, sw_free};

int odbk_s3_open_write(struct odbk_storage *st, const char *path, uint64_t size_hint, struct odbk_writer **out,
                       struct odbk_err *err)
{
    struct odbk_s3 *s = st->priv;
    struct s3_writer *sw = odbk_xcalloc(1, sizeof(*sw));
    sw->s3 = s;
    sw->key = odbk_s3_full_key(s, path);
    sw->what = odbk_xasprintf("upload '%s'", sw->key);
    sw->size_hint = size_hint;
    sw->part_size = (size_t)odbk_s3_part_size(size_hint, s->part_size);
    sw->ctl = odbk_curl_new();
    pthread_mutex_init(&sw->mu, NULL);
    pthread_cond_init(&sw->cv, NULL);
    odbk_writer_init(&sw->w, &s3_write_ops, NULL);
    *out = &sw->w;
    return 0;
}
