/* run.h - what goes with a running backup besides its data: the heartbeat that tells other hosts it is
 * alive (heartbeat.c), and the link that stops one of its pipelines once another failed or a stop signal
 * arrived (cancel.c). */
#ifndef ODBK_BACKUP_RUN_H
#define ODBK_BACKUP_RUN_H

#include <pthread.h>
#include <stdatomic.h>

#include "catalog/catalog.h"
#include "io/writer.h"

/* A thread that refreshes the row's heartbeat every ODBK_HEARTBEAT_SECONDS (default 60) seconds, best
 * effort: when the thread cannot start the row just has none, and a reaper takes it after 30 minutes. */
struct odbk_heartbeat {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, started;
    struct odbk_catalog *cat;
    const char *id;
    int seconds;
};

/* id is borrowed until odbk_heartbeat_stop. */
void odbk_heartbeat_start(struct odbk_heartbeat *h, struct odbk_catalog *cat, const char *id);
/* Stop and join the thread (nothing when it did not start). */
void odbk_heartbeat_stop(struct odbk_heartbeat *h);

/* A link that fails between two chunks once *flag is set ("cancelled": the other pipeline of the run
 * failed) or a stop signal arrived (common/interrupt.h: "interrupted by SIGTERM"). */
struct odbk_writer *odbk_filter_cancel_new(struct odbk_writer *next, atomic_int *flag);

#endif
