/* verify.c - reading a completed backup's stored files back (odbk-list --verify), to find bit rot later:
 * the same verifying read as a restore's (odbk_source_read: size and SHA-256 against the manifest), into
 * nothing, with the backup's `verified` set (read) or cleared by what it found.  An incremental backup's packs
 * are read too, every file of its list checked in them (backup/incr.h). */
#include <string.h>

#include "backup/backup.h"
#include "backup/incr.h"
#include "backup/source.h"
#include "catalog/catalog.h"
#include "common/util.h"
#include "io/writer.h"

int odbk_backup_verify(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *id,
                       struct odbk_err *err)
{
    struct odbk_restore_opts o = {0};
    struct odbk_source src;
    struct odbk_err e2 = {0};
    size_t i;
    int r;
    o.backup_id = id;
    r = odbk_source_open(cfg, cat, &o, &src, err);
    if (r < 0 && !src.b.id)
        goto out;                 /* no such backup: nothing to mark */
    for (i = 0; r == 0 && i < src.m.n_files; i++) {
        struct odbk_writer *null = odbk_sink_null_new();
        r = odbk_source_read(&src, &src.m.files[i], null, err);
        odbk_writer_free(null);
    }
    if (r == 0 && odbk_incr_is(&src)) {   /* an incremental filestore: every pack it names, every file in them */
        struct odbk_writer *null = odbk_sink_null_new();
        r = odbk_incr_write_tar(&src, null, NULL, NULL, NULL, err);
        odbk_writer_free(null);
    }
    /* a file that does not match, or is gone, means the backup is not what it says; a storage that
     * cannot be reached says nothing about it, so the flag is left as it was */
    if ((r == 0 || err->code == ODBK_E_DATA || err->code == ODBK_E_NOINPUT) &&
        src.b.status == ODBK_BACKUP_COMPLETED) {
        src.b.verified = r == 0 ? ODBK_VERIFIED_READ : ODBK_VERIFIED_NO;
        if (odbk_catalog_backup_update(cat, &src.b, &e2) < 0 && r == 0) {
            *err = e2;
            r = -1;
        }
    }
out:
    odbk_source_close(&src);
    return r;
}
