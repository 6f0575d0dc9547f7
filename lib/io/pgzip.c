/* pgzip.c - parallel gzip, as pigz does it: the input is cut into blocks; worker threads deflate each
 * block as raw deflate primed with the last 32 KiB of the block before (so the ratio stays that of
 * plain gzip), ending every block but the last on a byte boundary (Z_SYNC_FLUSH); the blocks, written in
 * order, form one ordinary deflate stream inside one gzip member whose CRC-32 is combined from the
 * blocks' (crc32_combine).  Any gzip reader reads it.
 *
 * Data that does not compress (photos, PDFs' image streams, zip-based office files: much of a filestore)
 * is not compressed again: each 16 KiB segment is tried first, its first 1 KiB deflated at level 1 by a
 * small second stream, and a segment that saves less than 1/32 of its size goes in as stored deflate
 * blocks (deflateParams to level 0, back to the level for the next compressible segment).  The trial
 * costs about 1/16 of a level-1 pass; a stored segment costs a copy.  The output is still one standard
 * gzip member.  Segments of 16 KiB follow a filestore's files (100 KiB on average, a tar of them mixes
 * photos and text within 64 KiB): on the fixture's filestore tar (tests/bench/levels) the output at level
 * 1 is 5.1% smaller than with 64 KiB segments and a 4 KiB trial (2% above pigz -1, 7% before), at the
 * same CPU time; 8 KiB gains 1.4% more for 20% more CPU.
 *
 * Memory is bounded: at most 2 × threads blocks are in flight.  Only the calling thread writes to the
 * next link, so the chain below needs no locking. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "common/util.h"
#include "io/writer.h"

#define BLOCK (1024 * 1024)
#define DICT 32768
#define SEG 16384     /* the unit of the compress-or-store decision */
#define PROBE 1024    /* how much of a segment the trial deflates */
/* room for the level switches' block ends (at most a few bytes each, two per segment) */
#define SWITCH_SLACK (2 * (BLOCK / SEG) * 16 + 64)

struct job {
    unsigned char *in;
    size_t in_len;
    unsigned char dict[DICT];
    size_t dict_len;
    int last;
    unsigned char *out;
    size_t out_len;
    uLong crc;
    size_t stored;   /* bytes of in that went in as stored blocks */
    int state;   /* 0 queued, 1 taken, 2 done, -1 failed */
};

struct pgz {
    struct odbk_writer w;
    int level, nthreads, qcap;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    struct job **q;        /* ring of qcap jobs, oldest at head */
    size_t head, count;
    int stop;
    unsigned char *cur;    /* the block being filled */
    size_t cur_len;
    unsigned char dict[DICT];   /* the last DICT bytes of the previous block */
    size_t dict_len;
    uLong crc;
    uint64_t total, stored;
    int header_sent;
};

/* Does this segment compress?  Its first PROBE bytes at level 1, in a small window: data that saves less
 * than 1/32 there is taken for data that does not compress (JPEG, PNG, zip, already-deflated streams). */
static int compresses(z_stream *probe, const unsigned char *seg, size_t len)
{
    unsigned char out[2 * PROBE];
    size_t n = len < PROBE ? len : PROBE;
    if (n < 256)
        return 1;   /* too little to judge: compress, as before */
    deflateReset(probe);
    probe->next_in = (unsigned char *)seg;
    probe->avail_in = (uInt)n;
    probe->next_out = out;
    probe->avail_out = sizeof(out);
    if (deflate(probe, Z_FINISH) != Z_STREAM_END)
        return 1;
    return (size_t)(probe->next_out - out) < n - n / 32;
}

/* Deflate one job's block, segment by segment, at p->level or stored. */
static int deflate_block(struct pgz *p, z_stream *z, z_stream *probe, int *cur_level, struct job *j)
{
    size_t off = 0;
    z->next_out = j->out;
    z->avail_out = (uInt)(deflateBound(z, (uLong)j->in_len) + SWITCH_SLACK);
    do {
        size_t n = j->in_len - off < SEG ? j->in_len - off : SEG;
        int want = p->level && !compresses(probe, j->in + off, n) ? 0 : p->level;
        int last_seg = off + n == j->in_len, rc;
        if (want != *cur_level) {
            if (deflateParams(z, want, Z_DEFAULT_STRATEGY) != Z_OK)
                return -1;
            *cur_level = want;
        }
        if (!want && p->level)
            j->stored += n;
        z->next_in = j->in + off;
        z->avail_in = (uInt)n;
        rc = deflate(z, !last_seg ? Z_NO_FLUSH : j->last ? Z_FINISH : Z_SYNC_FLUSH);
        if (z->avail_in || (last_seg && j->last ? rc != Z_STREAM_END : rc != Z_OK))
            return -1;
        off += n;
    } while (off < j->in_len);
    j->out_len = (size_t)(z->next_out - j->out);
    return 0;
}

static void *worker(void *arg)
{
    struct pgz *p = arg;
    z_stream z, probe;
    int initialised = 0, cur_level = p->level;
    memset(&z, 0, sizeof(z));
    memset(&probe, 0, sizeof(probe));
    for (;;) {
        struct job *j = NULL;
        size_t i;
        pthread_mutex_lock(&p->mu);
        for (;;) {
            for (i = 0; i < p->count; i++) {
                struct job *c = p->q[(p->head + i) % (size_t)p->qcap];
                if (c->state == 0) {
                    j = c;
                    break;
                }
            }
            if (j || p->stop)
                break;
            pthread_cond_wait(&p->work, &p->mu);
        }
        if (!j) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        j->state = 1;
        pthread_mutex_unlock(&p->mu);

        if (!initialised) {
            if (deflateInit2(&z, p->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
                j->state = -1;
                goto signal;
            }
            if (deflateInit2(&probe, 1, Z_DEFLATED, -12, 6, Z_DEFAULT_STRATEGY) != Z_OK) {
                deflateEnd(&z);
                j->state = -1;
                goto signal;
            }
            initialised = 1;
        } else {
            deflateReset(&z);   /* keeps the level deflateParams set last: cur_level still says it */
        }
        if (j->dict_len)
            deflateSetDictionary(&z, j->dict, (uInt)j->dict_len);
        j->out = odbk_xmalloc(deflateBound(&z, (uLong)j->in_len) + SWITCH_SLACK);
        if (deflate_block(p, &z, &probe, &cur_level, j) < 0) {
            j->state = -1;
            goto signal;
        }
        j->crc = crc32(0L, j->in, (uInt)j->in_len);
        j->state = 2;
    signal:
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
    if (initialised) {
        deflateEnd(&z);
        deflateEnd(&probe);
    }
    return NULL;
}

static void job_free(struct job *j)
{
    if (!j)
        return;
    free(j->in);
    free(j->out);
    free(j);
}

/* Write out finished jobs in order; with `all`, wait for every queued job. */
static int drain(struct pgz *p, int all, struct odbk_err *err)
{
    pthread_mutex_lock(&p->mu);
    while (p->count) {
        struct job *j = p->q[p->head];
        if (j->state == 0 || j->state == 1) {
            if (!all && p->count < (size_t)p->qcap)
                break;
            pthread_cond_wait(&p->done, &p->mu);
            continue;
        }
        p->q[p->head] = NULL;
        p->head = (p->head + 1) % (size_t)p->qcap;
        p->count--;
        pthread_mutex_unlock(&p->mu);
        if (j->state < 0) {
            job_free(j);
            return odbk_err_set(err, ODBK_E_SOFTWARE, "gzip: deflate failed");
        }
        p->crc = crc32_combine(p->crc, j->crc, (z_off_t)j->in_len);
        p->stored += j->stored;
        if (p->w.next && odbk_writer_write(p->w.next, j->out, j->out_len, err) < 0) {
            job_free(j);
            return -1;
        }
        job_free(j);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static int submit(struct pgz *p, int last, struct odbk_err *err)
{
    struct job *j = odbk_xcalloc(1, sizeof(*j));
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    if (!p->header_sent) {
        if (p->w.next && odbk_writer_write(p->w.next, header, sizeof(header), err) < 0) {
            free(j);
            return -1;
        }
        p->header_sent = 1;
    }
    j->in = p->cur;
    j->in_len = p->cur_len;
    memcpy(j->dict, p->dict, p->dict_len);
    j->dict_len = p->dict_len;
    j->last = last;
    /* the next block's dictionary: the last 32 KiB seen so far */
    if (p->cur_len >= DICT) {
        memcpy(p->dict, p->cur + p->cur_len - DICT, DICT);
        p->dict_len = DICT;
    } else if (p->cur_len) {
        size_t keep = p->dict_len + p->cur_len > DICT ? DICT - p->cur_len : p->dict_len;
        memmove(p->dict, p->dict + p->dict_len - keep, keep);
        memcpy(p->dict + keep, p->cur, p->cur_len);
        p->dict_len = keep + p->cur_len;
    }
    p->total += p->cur_len;
    p->cur = odbk_xmalloc(BLOCK);
    p->cur_len = 0;
    if (drain(p, 0, err) < 0) {   /* makes room: waits while the queue is full */
        job_free(j);
        return -1;
    }
    pthread_mutex_lock(&p->mu);
    p->q[(p->head + p->count) % (size_t)p->qcap] = j;
    p->count++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static int pgz_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct pgz *p = (struct pgz *)w;
    const unsigned char *s = buf;
    while (len) {
        size_t n = BLOCK - p->cur_len < len ? BLOCK - p->cur_len : len;
        memcpy(p->cur + p->cur_len, s, n);
        p->cur_len += n;
        s += n;
        len -= n;
        if (p->cur_len == BLOCK && submit(p, 0, err) < 0)
            return -1;
    }
    return drain(p, 0, err);
}

static int pgz_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct pgz *p = (struct pgz *)w;
    unsigned char trailer[8];
    int i;
    if (submit(p, 1, err) < 0 || drain(p, 1, err) < 0)
        return -1;
    for (i = 0; i < 4; i++) {
        trailer[i] = (unsigned char)(p->crc >> (8 * i));
        trailer[4 + i] = (unsigned char)((p->total & 0xffffffffu) >> (8 * i));
    }
    return p->w.next ? odbk_writer_write(p->w.next, trailer, sizeof(trailer), err) : 0;
}

static void pgz_stop(struct pgz *p)
{
    int i;
    if (!p->threads)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    /* queued jobs are dropped: workers skip nothing taken, so wait for those */
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    p->threads = NULL;
}

static void pgz_free(struct odbk_writer *w)
{
    struct pgz *p = (struct pgz *)w;
    size_t i;
    pgz_stop(p);
    for (i = 0; i < p->count; i++)
        job_free(p->q[(p->head + i) % (size_t)p->qcap]);
    free(p->q);
    free(p->cur);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    free(p);
}

static const struct odbk_writer_ops pgz_ops = {"gzip", pgz_write, pgz_finish, NULL, pgz_free};

uint64_t odbk_filter_gzip_stored(const struct odbk_writer *w)
{
    return w && w->ops == &pgz_ops ? ((const struct pgz *)w)->stored : 0;
}

struct odbk_writer *odbk_filter_pgzip_new(int level, int threads, struct odbk_writer *next)
{
    struct pgz *p = odbk_xcalloc(1, sizeof(*p));
    int i;
    p->level = level < 0 ? ODBK_GZIP_LEVEL : level > 9 ? 9 : level;
    p->nthreads = threads < 1 ? 1 : threads;
    threads = p->nthreads;
    p->qcap = 2 * threads;
    p->q = odbk_xcalloc((size_t)p->qcap, sizeof(*p->q));
    p->cur = odbk_xmalloc(BLOCK);
    p->crc = crc32(0L, Z_NULL, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    p->threads = odbk_xcalloc((size_t)threads, sizeof(pthread_t));
    odbk_writer_init(&p->w, &pgz_ops, next);
    for (i = 0; i < threads; i++)
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            p->nthreads = i;   /* the ones started: pgz_free stops and joins them */
            odbk_writer_broken(&p->w, "cannot start a compression thread");
            break;
        }
    return &p->w;
}
