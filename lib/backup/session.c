/* session.c - the start of every program's work (session.h). */
#include "backup/session.h"

#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"
#include "common/interrupt.h"

int odbk_session_open(struct odbk_session *s, const char *config, const char *catalog, unsigned flags,
                      struct odbk_err *err)
{
    struct odbk_err ignored = {0};
    memset(s, 0, sizeof(*s));
    if (odbk_config_load(config, !!(flags & ODBK_SESSION_CONFIG_OPTIONAL), &s->cfg, err) < 0)
        goto fail;
    if (flags & ODBK_SESSION_NO_CATALOG)
        return 0;
    s->catalog_path = odbk_config_catalog_path(catalog);
    if (odbk_catalog_open(s->catalog_path, &s->cat, err) < 0)
        goto fail;
    if (flags & ODBK_SESSION_INTERRUPT)
        odbk_interrupt_install();
    /* the leftovers of failed runs that could not be removed then, and killed restores: not errors of this
     * program, which goes on whatever they give */
    if (flags & ODBK_SESSION_CLEANUP)
        odbk_backup_retry_removals(s->cfg, s->cat, &ignored);
    else if (flags & ODBK_SESSION_RECOVER)
        odbk_restore_recover(s->cfg, s->cat, &ignored);
    if ((flags & ODBK_SESSION_REAP) && odbk_backup_reap_stale(s->cfg, s->cat, err) < 0)
        goto fail;
    return 0;
fail:
    odbk_session_close(s);
    return -1;
}

void odbk_session_close(struct odbk_session *s)
{
    odbk_catalog_close(s->cat);
    odbk_config_free(s->cfg);
    free(s->catalog_path);
    memset(s, 0, sizeof(*s));
}
