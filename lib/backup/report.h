/* report.h - how create and restore send their progress events (odbk_backup_progress_cb): one record
 * per run saying to whom and about what (env, backup id), and per phase a counter that a progress filter
 * of the writer chain drives.  Every call is a no-op when the program asked for no progress. */
#ifndef ODBK_BACKUP_REPORT_H
#define ODBK_BACKUP_REPORT_H

#include "backup/backup.h"

struct odbk_report {
    odbk_backup_progress_cb cb;   /* NULL: nothing is reported */
    void *ctx;
    char *env;                    /* owned; NULL when unknown */
    char *backup_id;              /* owned; NULL until known */
};

/* Set what the following events name (copied; NULL or "" clears it). */
void odbk_report_set_env(struct odbk_report *r, const char *env);
void odbk_report_set_backup(struct odbk_report *r, const char *backup_id);
void odbk_report_release(struct odbk_report *r);

/* A run begins: r set up (env and backup_id may be NULL, as cb) and its started event sent. */
void odbk_report_run_begin(struct odbk_report *r, odbk_backup_progress_cb cb, void *ctx, const char *env,
                           const char *backup_id);
/* The run ends with rc (0: finished, with bytes; else failed with err's message); r is released.
 * Returns rc. */
int odbk_report_run_end(struct odbk_report *r, int rc, uint64_t bytes, const struct odbk_err *err);

/* One event of the run (phase NULL) or of a phase. */
void odbk_report_event(const struct odbk_report *r, const char *phase, enum odbk_progress_status status,
                       uint64_t bytes, uint64_t expected, int estimated, const char *error);

/* The same, counting things of unit (a static string, "manifests"), not bytes. */
void odbk_report_count(const struct odbk_report *r, const char *phase, enum odbk_progress_status status,
                       uint64_t done, uint64_t total, const char *unit, const char *error);

/* A phase fed by a writer chain: started when the filter is made, running as bytes pass it. */
struct odbk_report_phase {
    const struct odbk_report *report;
    const char *phase;
    uint64_t expected;
    int estimated;
    uint64_t bytes;               /* the last count reported */
};

/* Start ph and return a progress filter in front of next that reports the bytes written through it;
 * next itself when nothing is reported (ph->report NULL or without a callback). */
struct odbk_writer *odbk_report_filter_new(struct odbk_report_phase *ph, struct odbk_writer *next);
/* The phase ends: finished (ok) with the bytes counted, or failed. */
void odbk_report_phase_end(const struct odbk_report_phase *ph, int ok, const char *error);

/* A callback that passes every event on to the odbk_report_prefix it is given as ctx, the phases named
 * "PREFIX: phase" and the run itself as the phase PREFIX (a restore's safety backup: "safety backup",
 * "safety backup: database"). */
struct odbk_report_prefix {
    odbk_backup_progress_cb cb;
    void *ctx;
    const char *prefix;
};
void odbk_report_prefixed(void *ctx, const struct odbk_progress_event *ev);

#endif
