/* session.h - what every program opens before its work: the config, the catalog, and the chores of a
 * session start (killed restores recovered, recorded removals retried, dead runs reaped).
 *
 *   struct odbk_session s;
 *   if (odbk_session_open(&s, common.config, common.catalog, ODBK_SESSION_CLEANUP, &err) < 0)
 *       goto out;
 *   ... s.cfg, s.cat ...
 *   out: odbk_session_close(&s);
 */
#ifndef ODBK_BACKUP_SESSION_H
#define ODBK_BACKUP_SESSION_H

#include "catalog/catalog.h"
#include "config/config.h"

struct odbk_session {
    struct odbk_config *cfg;
    struct odbk_catalog *cat;   /* NULL with ODBK_SESSION_NO_CATALOG */
    char *catalog_path;         /* NULL with ODBK_SESSION_NO_CATALOG */
    /* a session that neither recovers nor cleans (a program that only reports): what awaits a writing
     * program, left as found; pending is the one-line warning saying so (NULL when nothing awaits) */
    size_t pending_restores, pending_removals;
    char *pending;
};

enum {
    ODBK_SESSION_CONFIG_OPTIONAL = 1 << 0,  /* no config file found: an empty config, not an error */
    ODBK_SESSION_NO_CATALOG = 1 << 1,       /* the config only */
    ODBK_SESSION_RECOVER = 1 << 2,          /* killed restores of this host completed or cleaned (errors ignored) */
    ODBK_SESSION_CLEANUP = 1 << 3,          /* RECOVER, and the recorded removals retried (errors ignored) */
    ODBK_SESSION_INTERRUPT = 1 << 4,        /* once the catalog is open a stop signal ends the run cleanly
                                             * (odbk_interrupt_install) */
    ODBK_SESSION_REAP = 1 << 5,             /* after CLEANUP, runs that died become failed or completed
                                             * (odbk_backup_reap_stale; an error fails the open) */
};

/* Open the config (explicit path or the search of odbk_config_load) and, unless NO_CATALOG, the catalog
 * (explicit path or odbk_config_catalog_path), then do the chores the flags ask for.  Without RECOVER or
 * CLEANUP nothing is changed (no database, directory, object or row): the killed restores and recorded
 * removals are only counted into pending_* and pending.  On error every
 * member is NULL (and -1 returned); odbk_session_close is safe on a session never opened or zeroed. */
int odbk_session_open(struct odbk_session *s, const char *config, const char *catalog, unsigned flags,
                      struct odbk_err *err);
void odbk_session_close(struct odbk_session *s);

/* The pending warning, "PROG: warning: ..." on stderr (nothing when none). */
void odbk_session_warn_pending(const struct odbk_session *s, const char *prog);
/* Add "pending": {"restores": N, "removals": N, "message": "..."} to the object o when something awaits. */
struct cJSON;
void odbk_session_pending_json(const struct odbk_session *s, struct cJSON *o);

#endif
