/* heartbeat.c - the heartbeat thread of a running backup (run.h). */
#include "backup/run.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "common/util.h"

static void *heartbeat_main(void *arg)
{
    struct odbk_heartbeat *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        struct timespec ts;
        struct odbk_err e;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += h->seconds;
        if (pthread_cond_timedwait(&h->cv, &h->mu, &ts) == ETIMEDOUT && !h->stop) {
            pthread_mutex_unlock(&h->mu);
            odbk_catalog_heartbeat(h->cat, h->id, &e);
            pthread_mutex_lock(&h->mu);
        }
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

void odbk_heartbeat_start(struct odbk_heartbeat *h, struct odbk_catalog *cat, const char *id)
{
    h->cat = cat;
    h->id = id;
    h->stop = 0;
    h->seconds = odbk_getenv("ODBK_HEARTBEAT_SECONDS") ? atoi(odbk_getenv("ODBK_HEARTBEAT_SECONDS")) : 60;
    if (h->seconds < 1)
        h->seconds = 60;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->started = pthread_create(&h->th, NULL, heartbeat_main, h) == 0;
    if (!h->started) {
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->cv);
    }
}

void odbk_heartbeat_stop(struct odbk_heartbeat *h)
{
    if (!h->started)
        return;
    pthread_mutex_lock(&h->mu);
    h->stop = 1;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->th, NULL);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    h->started = 0;
}
