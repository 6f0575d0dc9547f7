/* format-dump.c - the dump format (format.h): pg_dump's custom format, as Odoo's "dump" backup, the
 * database only: one file backup-ID.dump, stored as pg_dump writes it and loaded by pg_restore. */
#include "backup/format.h"

#include "common/util.h"
#include "io/exec.h"

static int dump_write(struct odbk_format_write *w, struct odbk_err *err)
{
    struct odbk_format_file db = {0};
    char *argv[] = {w->pg_dump, "--no-owner", "--format=custom", NULL};
    int r = odbk_format_file_open(&db, w, "database", odbk_xasprintf("backup-%s.dump", w->id), "pg_custom",
                                  ODBK_COMPRESS_NONE, w->db_hint, w->db_estimate, 1, NULL, err);
    if (r == 0)
        r = odbk_exec_source(argv, w->child_env, db.head, NULL, NULL, err);
    r = odbk_format_file_end(&db, r, w->m, err);
    odbk_format_file_free(&db);
    return r;
}

const struct odbk_format_ops odbk_format_dump = {
    .name = "dump",
    .main_role = "database",
    .filestore = ODBK_FORMAT_FS_NONE,
    .compression = "none",
    .write = dump_write,
};
