/* s3-pool.c - the part buffers of one S3 storage: a byte budget shared by all its multipart writers.
 *
 * Every part buffer alive (being filled, queued, being sent, or free for reuse) is charged to the budget
 * of its storage, (upload-concurrency + 1) x part-size, so that the database and filestore streams of a
 * backup together hold no more than one writer did alone.  A writer's first buffer (which grows from
 * 64 KiB, so that small files stay small) is charged without waiting: a writer can always start, and a
 * writer only waits for a further buffer while it has a part in flight, whose buffer comes back when that
 * part is sent or fails.  So waiting never deadlocks, even when one thread feeds several writers.  A buffer
 * that comes back is kept for reuse (the next part of any writer of that part size) rather than freed,
 * unless the pool is over its budget then (writers' first buffers, charged without waiting, or a part
 * larger than the budget): then it is freed, so that the buffers kept never exceed the budget however many
 * writers came and went (an incremental backup opens one writer per pack).  Free buffers of another size are freed to make room.  A part
 * larger than the budget may still have two buffers (one filling, one in flight). */
#include "storage/s3-internal.h"

#include <stdlib.h>

#include "common/util.h"

void odbk_s3_pool_init(struct odbk_s3_pool *p, uint64_t budget)
{
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->budget = budget;
    p->used = p->peak = 0;
    p->free = NULL;
    p->n_free = p->free_cap = 0;
}

void odbk_s3_pool_destroy(struct odbk_s3_pool *p)
{
    size_t i;
    for (i = 0; i < p->n_free; i++)
        free(p->free[i].buf);
    free(p->free);
    p->free = NULL;
    p->n_free = p->free_cap = 0;
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

static void charge(struct odbk_s3_pool *p, uint64_t add)
{
    p->used += add;
    if (p->used > p->peak)
        p->peak = p->used;
}

unsigned char *odbk_s3_pool_get(struct odbk_s3_pool *p, size_t size)
{
    uint64_t limit = p->budget > 2 * (uint64_t)size ? p->budget : 2 * (uint64_t)size;
    unsigned char *buf = NULL;
    size_t i;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        for (i = 0; i < p->n_free; i++)
            if (p->free[i].size == size)
                break;
        if (i < p->n_free) {   /* reuse: already charged */
            buf = p->free[i].buf;
            p->free[i] = p->free[--p->n_free];
            break;
        }
        while (p->n_free && p->used + size > limit) {   /* free buffers of another size make room */
            p->n_free--;
            free(p->free[p->n_free].buf);
            p->used -= p->free[p->n_free].size;
        }
        if (p->used + size <= limit) {
            charge(p, size);
            break;
        }
        pthread_cond_wait(&p->cv, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return buf ? buf : odbk_xmalloc(size);
}

void odbk_s3_pool_put(struct odbk_s3_pool *p, unsigned char *buf, size_t size)
{
    if (!buf)
        return;
    pthread_mutex_lock(&p->mu);
    if (p->used > p->budget) {
        /* over the budget (a part larger than it, or writers' first buffers charged without waiting):
         * keeping it would hold memory no later get may charge anew; free it */
        free(buf);
        p->used -= size;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        return;
    }
    if (p->n_free == p->free_cap) {
        p->free_cap = p->free_cap ? 2 * p->free_cap : 8;
        p->free = odbk_xrealloc(p->free, p->free_cap * sizeof(*p->free));
    }
    p->free[p->n_free].buf = buf;
    p->free[p->n_free].size = size;
    p->n_free++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void odbk_s3_pool_resize(struct odbk_s3_pool *p, size_t old_size, size_t new_size)
{
    pthread_mutex_lock(&p->mu);
    if (new_size >= old_size) {
        charge(p, new_size - old_size);
    } else {
        p->used -= old_size - new_size;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
}

uint64_t odbk_s3_pool_peak(struct odbk_s3_pool *p)
{
    uint64_t peak;
    pthread_mutex_lock(&p->mu);
    peak = p->peak;
    pthread_mutex_unlock(&p->mu);
    return peak;
}
