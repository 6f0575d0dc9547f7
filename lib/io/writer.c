/* writer.c - the generic part of a writer chain, and the simple filters and sinks: size, sha256,
 * progress, fd, buffer, null.  Compression lives in compress.c. */
#include "io/writer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/util.h"

enum { W_OPEN = 0, W_FINISHED = 1, W_ABORTED = 2 };

void odbk_writer_init(struct odbk_writer *w, const struct odbk_writer_ops *ops, struct odbk_writer *next)
{
    w->ops = ops;
    w->next = next;
    w->state = W_OPEN;
    w->broken = NULL;
}

void odbk_writer_broken(struct odbk_writer *w, const char *why)
{
    w->broken = why;
}

static int broken_err(const struct odbk_writer *w, struct odbk_err *err)
{
    odbk_err_set(err, ODBK_E_SOFTWARE, "%s: %s", w->ops->name, w->broken);
    odbk_err_hint(err, "the system is short of memory or threads: try again, or with fewer --threads");
    return -1;
}

int odbk_writer_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    if (w->state != W_OPEN)
        return odbk_err_set(err, ODBK_E_SOFTWARE, "write to a %s stream that is already closed", w->ops->name);
    if (w->broken)
        return broken_err(w, err);
    if (!len)
        return 0;
    return w->ops->write(w, buf, len, err);
}

int odbk_writer_finish(struct odbk_writer *w, struct odbk_err *err)
{
    for (; w; w = w->next) {
        if (w->state != W_OPEN)
            return odbk_err_set(err, ODBK_E_SOFTWARE, "finish of a %s stream that is already closed",
                                w->ops->name);
        if (w->broken || (w->ops->finish && w->ops->finish(w, err) < 0)) {
            if (w->broken)
                broken_err(w, err);
            odbk_writer_abort(w);
            return -1;
        }
        w->state = W_FINISHED;
    }
    return 0;
}

void odbk_writer_abort(struct odbk_writer *w)
{
    for (; w; w = w->next) {
        if (w->state != W_OPEN)
            continue;
        w->state = W_ABORTED;
        if (w->ops->abort)
            w->ops->abort(w);
    }
}

void odbk_writer_free(struct odbk_writer *w)
{
    if (!w)
        return;
    if (w->state == W_OPEN) {
        w->state = W_ABORTED;
        if (w->ops->abort)
            w->ops->abort(w);
    }
    w->ops->free(w);
}

void odbk_writer_free_chain(struct odbk_writer *w)
{
    while (w) {
        struct odbk_writer *next = w->next;
        odbk_writer_free(w);
        w = next;
    }
}

static int pass(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    return w->next ? odbk_writer_write(w->next, buf, len, err) : 0;
}

/* ---- size ---- */

struct size_filter {
    struct odbk_writer w;
    uint64_t n;
};

static int size_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    ((struct size_filter *)w)->n += len;
    return pass(w, buf, len, err);
}

static void plain_free(struct odbk_writer *w)
{
    free(w);
}

static const struct odbk_writer_ops size_ops = {"size", size_write, NULL, NULL, plain_free};

struct odbk_writer *odbk_filter_size_new(struct odbk_writer *next)
{
    struct size_filter *f = odbk_xcalloc(1, sizeof(*f));
    odbk_writer_init(&f->w, &size_ops, next);
    return &f->w;
}

uint64_t odbk_filter_size_get(const struct odbk_writer *w)
{
    return ((const struct size_filter *)w)->n;
}

/* ---- sha256 ---- */

struct sha_filter {
    struct odbk_writer w;
    EVP_MD_CTX *ctx;
    char hex[65];
    char *expect;         /* verify: the expected digest and size, else NULL */
    uint64_t expect_size, n;
    char *what;
};

static int sha_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct sha_filter *f = (struct sha_filter *)w;
    if (EVP_DigestUpdate(f->ctx, buf, len) != 1)
        return odbk_err_set(err, ODBK_E_SOFTWARE, "sha256 update failed");
    f->n += len;
    return pass(w, buf, len, err);
}

static int sha_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct sha_filter *f = (struct sha_filter *)w;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    if (EVP_DigestFinal_ex(f->ctx, md, &n) != 1)
        return odbk_err_set(err, ODBK_E_SOFTWARE, "sha256 final failed");
    for (i = 0; i < n && i < 32; i++)
        snprintf(f->hex + 2 * i, 3, "%02x", md[i]);
    if (f->expect && f->n != f->expect_size) {
        odbk_err_set(err, ODBK_E_DATA, "'%s' has %llu bytes, the manifest says %llu", f->what ? f->what : "stream",
                     (unsigned long long)f->n, (unsigned long long)f->expect_size);
        odbk_err_hint(err, "the stored file is truncated or was changed; restore another backup");
        return -1;
    }
    if (f->expect && strcmp(f->expect, f->hex)) {
        odbk_err_set(err, ODBK_E_DATA, "checksum mismatch in '%s': expected sha256 %s, got %s",
                     f->what ? f->what : "stream", f->expect, f->hex);
        odbk_err_hint(err, "the stored file is damaged or was changed; restore another backup");
        return -1;
    }
    return 0;
}

static void sha_free(struct odbk_writer *w)
{
    struct sha_filter *f = (struct sha_filter *)w;
    EVP_MD_CTX_free(f->ctx);
    free(f->expect);
    free(f->what);
    free(f);
}

static const struct odbk_writer_ops sha_ops = {"sha256", sha_write, sha_finish, NULL, sha_free};

static struct odbk_writer *sha_new(struct odbk_writer *next, const char *expect_hex, uint64_t size,
                                   const char *what)
{
    struct sha_filter *f = odbk_xcalloc(1, sizeof(*f));
    f->ctx = EVP_MD_CTX_new();
    f->expect = expect_hex ? odbk_xstrdup(expect_hex) : NULL;
    f->expect_size = size;
    f->what = what ? odbk_xstrdup(what) : NULL;
    odbk_writer_init(&f->w, &sha_ops, next);
    if (!f->ctx || EVP_DigestInit_ex(f->ctx, EVP_sha256(), NULL) != 1)
        odbk_writer_broken(&f->w, "cannot initialise SHA-256");
    return &f->w;
}

struct odbk_writer *odbk_filter_sha256_new(struct odbk_writer *next)
{
    return sha_new(next, NULL, 0, NULL);
}

struct odbk_writer *odbk_filter_verify_new(struct odbk_writer *next, const char *expect_hex, uint64_t size,
                                           const char *what)
{
    return sha_new(next, expect_hex, size, what);
}

const char *odbk_filter_sha256_hex(const struct odbk_writer *w)
{
    return ((const struct sha_filter *)w)->hex;
}

/* ---- progress ---- */

struct progress_filter {
    struct odbk_writer w;
    odbk_progress_cb cb;
    void *ctx;
    unsigned interval_ms;
    uint64_t n;
    struct timespec last;
};

static int progress_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct progress_filter *f = (struct progress_filter *)w;
    struct timespec now;
    f->n += len;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - f->last.tv_sec) * 1000 + (now.tv_nsec - f->last.tv_nsec) / 1000000 >= f->interval_ms) {
        f->last = now;
        f->cb(f->ctx, f->n);
    }
    return pass(w, buf, len, err);
}

static int progress_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct progress_filter *f = (struct progress_filter *)w;
    f->cb(f->ctx, f->n);
    return 0;
}

static const struct odbk_writer_ops progress_ops = {"progress", progress_write, progress_finish, NULL,
                                                    plain_free};

struct odbk_writer *odbk_filter_progress_new(struct odbk_writer *next, odbk_progress_cb cb, void *ctx,
                                             unsigned interval_ms)
{
    struct progress_filter *f = odbk_xcalloc(1, sizeof(*f));
    f->cb = cb;
    f->ctx = ctx;
    f->interval_ms = interval_ms;
    clock_gettime(CLOCK_MONOTONIC, &f->last);
    odbk_writer_init(&f->w, &progress_ops, next);
    return &f->w;
}

/* ---- fd sink ---- */

struct fd_sink {
    struct odbk_writer w;
    int fd;
    char *what;
};

static int fd_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct fd_sink *s = (struct fd_sink *)w;
    const char *p = buf;
    while (len) {
        ssize_t n = write(s->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return odbk_err_sys(err, ODBK_E_IO, "cannot write to %s", s->what);
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void fd_free(struct odbk_writer *w)
{
    struct fd_sink *s = (struct fd_sink *)w;
    free(s->what);
    free(s);
}

static const struct odbk_writer_ops fd_ops = {"fd", fd_write, NULL, NULL, fd_free};

struct odbk_writer *odbk_sink_fd_new(int fd, const char *what)
{
    struct fd_sink *s = odbk_xcalloc(1, sizeof(*s));
    s->fd = fd;
    s->what = odbk_xstrdup(what);
    odbk_writer_init(&s->w, &fd_ops, NULL);
    return &s->w;
}

/* ---- buffer sink ---- */

struct buffer_sink {
    struct odbk_writer w;
    char *data;
    size_t len, cap, max;
};

static int buffer_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct buffer_sink *s = (struct buffer_sink *)w;
    if (s->len + len > s->max)
        return odbk_err_set(err, ODBK_E_DATA, "object larger than the %zu bytes expected", s->max);
    if (s->len + len + 1 > s->cap) {
        s->cap = (s->len + len + 1) * 2;
        if (s->cap > s->max + 1)
            s->cap = s->max + 1;
        s->data = odbk_xrealloc(s->data, s->cap);
    }
    memcpy(s->data + s->len, buf, len);
    s->len += len;
    s->data[s->len] = '\0';
    return 0;
}

static void buffer_free(struct odbk_writer *w)
{
    struct buffer_sink *s = (struct buffer_sink *)w;
    free(s->data);
    free(s);
}

static const struct odbk_writer_ops buffer_ops = {"buffer", buffer_write, NULL, NULL, buffer_free};

struct odbk_writer *odbk_sink_buffer_new(size_t max)
{
    struct buffer_sink *s = odbk_xcalloc(1, sizeof(*s));
    s->max = max;
    s->cap = 1;
    s->data = odbk_xcalloc(1, 1);
    odbk_writer_init(&s->w, &buffer_ops, NULL);
    return &s->w;
}

const char *odbk_sink_buffer_data(const struct odbk_writer *w, size_t *len)
{
    const struct buffer_sink *s = (const struct buffer_sink *)w;
    if (len)
        *len = s->len;
    return s->data;
}

/* ---- null sink ---- */

static int null_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    return 0;
}

static const struct odbk_writer_ops null_ops = {"null", null_write, NULL, NULL, plain_free};

struct odbk_writer *odbk_sink_null_new(void)
{
    struct odbk_writer *w = odbk_xcalloc(1, sizeof(*w));
    odbk_writer_init(w, &null_ops, NULL);
    return w;
}
