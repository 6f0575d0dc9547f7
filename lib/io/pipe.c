/* pipe.c - a bounded ring buffer between a writer (this thread) and a consumer thread. */
#include "io/pipe.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

struct odbk_pipe {
    struct odbk_writer w;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *buf;
    size_t cap, head, len;   /* ring: data at [head, head+len) mod cap */
    int eof, aborted, done, started;
    int result;
    struct odbk_err cerr;
    odbk_pipe_consumer consume;
    void *ctx;
    void (*free_ctx)(void *);
    pthread_t th;
};

static void *consumer_main(void *arg)
{
    struct odbk_pipe *p = arg;
    int r = p->consume(p->ctx, p, &p->cerr);
    pthread_mutex_lock(&p->mu);
    p->result = r;
    p->done = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

ssize_t odbk_pipe_read(struct odbk_pipe *p, void *buf, size_t len)
{
    size_t n, first;
    pthread_mutex_lock(&p->mu);
    while (!p->len && !p->eof && !p->aborted)
        pthread_cond_wait(&p->cv, &p->mu);
    if (p->aborted) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    if (!p->len) {
        pthread_mutex_unlock(&p->mu);
        return 0;
    }
    n = len < p->len ? len : p->len;
    first = p->cap - p->head < n ? p->cap - p->head : n;
    memcpy(buf, p->buf + p->head, first);
    memcpy((char *)buf + first, p->buf, n - first);
    p->head = (p->head + n) % p->cap;
    p->len -= n;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return (ssize_t)n;
}

static int consumer_error(struct odbk_pipe *p, struct odbk_err *err)
{
    if (p->result < 0) {
        *err = p->cerr;
        return -1;
    }
    return odbk_err_set(err, ODBK_E_DATA, "the reader stopped before the end of the data (trailing bytes)");
}

static int pipe_write(struct odbk_writer *w, const void *data, size_t len, struct odbk_err *err)
{
    struct odbk_pipe *p = (struct odbk_pipe *)w;
    const char *s = data;
    pthread_mutex_lock(&p->mu);
    while (len) {
        size_t tail, n, first;
        while (p->len == p->cap && !p->done)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->done) {
            int r;
            pthread_mutex_unlock(&p->mu);
            r = consumer_error(p, err);
            return r;
        }
        tail = (p->head + p->len) % p->cap;
        n = p->cap - p->len < len ? p->cap - p->len : len;
        first = p->cap - tail < n ? p->cap - tail : n;
        memcpy(p->buf + tail, s, first);
        memcpy(p->buf, s + first, n - first);
        p->len += n;
        s += n;
        len -= n;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static void join(struct odbk_pipe *p)
{
    if (p->started) {
        pthread_join(p->th, NULL);
        p->started = 0;
    }
}

static int pipe_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct odbk_pipe *p = (struct odbk_pipe *)w;
    pthread_mutex_lock(&p->mu);
    p->eof = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    join(p);
    if (p->result < 0) {
        *err = p->cerr;
        return -1;
    }
    return 0;
}

static void pipe_abort(struct odbk_writer *w)
{
    struct odbk_pipe *p = (struct odbk_pipe *)w;
    pthread_mutex_lock(&p->mu);
    p->aborted = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    join(p);
}

static void pipe_free(struct odbk_writer *w)
{
    struct odbk_pipe *p = (struct odbk_pipe *)w;
    pipe_abort(w);
    if (p->free_ctx)
        p->free_ctx(p->ctx);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->buf);
    free(p);
}

static const struct odbk_writer_ops pipe_ops = {"pipe", pipe_write, pipe_finish, pipe_abort, pipe_free};

struct odbk_writer *odbk_pipe_writer_new(odbk_pipe_consumer consume, void *ctx, void (*free_ctx)(void *),
                                         size_t bufsize)
{
    struct odbk_pipe *p = odbk_xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->cap = bufsize ? bufsize : (1 << 20);
    p->buf = odbk_xmalloc(p->cap);
    p->consume = consume;
    p->ctx = ctx;
    p->free_ctx = free_ctx;
    odbk_writer_init(&p->w, &pipe_ops, NULL);
    if (pthread_create(&p->th, NULL, consumer_main, p) != 0)
        odbk_writer_broken(&p->w, "cannot start a thread");
    else
        p->started = 1;
    return &p->w;
}
