/* notify.h - notifications of the policy's `notify-on`, `notify-command`, `notify-url`, `notify-timeout`
 * (odbk-schedules(7), odbk.conf(5)).
 *
 * An event is sent when the policy asks for it: `notify-on = failure` (default) sends failure events,
 * `success` success events, `both` both, `none` nothing.  Success events: backup.completed,
 * restore.completed, prune.deleted; failure events: backup.failed, restore.failed, prune.failed.
 *
 * notify-command is executed directly (no shell, no arguments), with stdin and stdout on /dev/null, in its own
 * process group, with our environment plus
 *   ODBK_EVENT ODBK_ENV ODBK_PROJECT ODBK_BACKUP_ID ODBK_STATUS ODBK_ERROR ODBK_SIZE ODBK_DURATION
 * (size in bytes, duration in whole seconds; for prune.deleted ODBK_BACKUP_ID lists the deleted ids separated
 * by spaces).  After notify-timeout (default 30s) the whole process group is killed (SIGKILL).  A non-zero exit
 * is a failed notification, reported with the end of the command's stderr.
 *
 * notify-url receives an HTTP POST (libcurl, Content-Type: application/json) of
 *   {"event", "env", "project", "backup_id", "status", "error", "size", "duration", "host", "time"}
 * with notify-timeout as the whole-transfer timeout; a transport error, HTTP 429 or 5xx is retried twice
 * (after 1 s and 2 s); another 4xx is not retried.  Messages name the URL by scheme and host only, as the
 * path of a webhook URL is often its secret.
 *
 * A notification never changes the outcome of the operation it reports: these functions return -1 with err
 * describing what failed (both channels are always tried), and the program prints it as a warning. */
#ifndef ODBK_NOTIFY_H
#define ODBK_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "catalog/catalog.h"
#include "config/config.h"
#include "policy/policy.h"

struct odbk_notify_event {
    const char *event;       /* "backup.completed", "backup.failed", "restore.completed", ... */
    int failure;             /* a failure event (for notify-on) */
    const char *env;
    const char *project;
    const char *backup_id;   /* NULL: "" */
    const char *status;      /* completed, failed, deleted */
    const char *error;       /* NULL: "" */
    uint64_t size;           /* bytes */
    int64_t duration;        /* seconds */
};

/* Send ev through the channels of policy p, if p's notify-on selects it.  0 when sent (or not selected). */
int odbk_notify_send(const struct odbk_policy *p, const struct odbk_notify_event *ev, struct odbk_err *err);

/* After odbk_backup_create(): b is the backup made (NULL when it failed, then `failure` says why); started is
 * when the attempt began (for the duration of a failed one).  Loads env's policy from cfg. */
int odbk_notify_backup(const struct odbk_config *cfg, const char *env, const struct odbk_backup *b,
                       const struct odbk_err *failure, time_t started, struct odbk_err *err);

/* After odbk_backup_restore(): env is the target env (the policy used; NULL or an env not in the config,
 * e.g. --new-db: the organization policy), backup_id the restored backup, failure NULL on success. */
int odbk_notify_restore(const struct odbk_config *cfg, const char *env, const char *backup_id,
                        const struct odbk_err *failure, time_t started, struct odbk_err *err);

/* After a prune of env: the n ids deleted and their stored bytes (prune.deleted; nothing is sent when n is 0
 * and failure is NULL), or failure (prune.failed). */
int odbk_notify_prune(const struct odbk_config *cfg, const char *env, const char *const *ids, size_t n,
                      uint64_t bytes, const struct odbk_err *failure, time_t started, struct odbk_err *err);

#endif
