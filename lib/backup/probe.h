/* probe.h - odbk-policy check --probe: what the configuration points at, tried before the first night.
 *
 * Each [storage NAME] is opened as every program opens it (odbk_backup_storage_open: a local storage's
 * marker is checked) and listed (one small list call, ended at the first object: a wrong secret, a
 * missing bucket or folder, an unreachable server shows here); each [env NAME] connects to its
 * database as odbk-create would (its conninfo, odoo.conf's password), finds the pg_dump matching the
 * server, reads the Odoo facts and checks that the filestore directory is there as odbk-create does
 * (odbk_backup_filestore_check).  Nothing is written. */
#ifndef ODBK_PROBE_H
#define ODBK_PROBE_H

#include <stddef.h>

#include "common/err.h"
#include "config/config.h"

struct odbk_probe {
    const char *kind;     /* "storage" or "env" */
    const char *name;
    const char *detail;   /* what was found, when it worked: "local /srv/backups", "PostgreSQL 15.4, Odoo 17.0" */
    const struct odbk_err *err;   /* why it did not, or NULL */
};
typedef void (*odbk_probe_cb)(void *ctx, const struct odbk_probe *p);

/* Probe every storage, then every env, in file order; cb hears each.  Returns the number that failed;
 * *first (may be NULL) receives the first failure. */
size_t odbk_probe_config(const struct odbk_config *cfg, odbk_probe_cb cb, void *ctx, struct odbk_err *first);

#endif
