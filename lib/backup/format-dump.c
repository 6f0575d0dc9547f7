/* format-dump.c - the dump format (format.h): pg_dump's custom format, as Odoo's "dump" backup, the
 * database only: one file backup-ID.dump, stored as pg_dump writes it and loaded by pg_restore. */
#include "backup/format.h"

#include <stdlib.h>
#include <string.h>

#include "backup/source.h"

#include "common/util.h"
#include "io/exec.h"
#include "pg/loadrole.h"

const struct odbk_format_ops odbk_format_dump;

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

static int dump_load(struct odbk_format_load *l, struct odbk_err *err)
{
    struct odbk_writer *sink = NULL;
    char *dbarg = odbk_xasprintf("--dbname=%s", l->tmpdb), *userarg = odbk_xasprintf("--username=%s", l->role->name);
    char *argv[] = {(char *)l->tool, "--no-owner", "--exit-on-error", "--no-password", userarg, dbarg,
                    l->no_acl ? "--no-privileges" : NULL, NULL};
    int r = odbk_exec_sink_new(argv, l->child_env, &sink, err);
    free(dbarg);
    free(userarg);
    if (r == 0)
        r = odbk_format_load_file(l, odbk_source_file(l->src, "database"), sink, "restore: database", err);
    odbk_writer_free(sink);
    return r;
}

/* pg_dump's magic */
static int dump_detect(const char *label, const unsigned char *head, size_t n, struct odbk_err *err)
{
    if (n < 5 || memcmp(head, odbk_format_dump.magic, 5))
        return odbk_err_set(err, ODBK_E_DATA, "'%s' is not a pg_dump custom-format archive", label);
    return 0;
}

const struct odbk_format_ops odbk_format_dump = {
    .name = "dump",
    .main_role = "database",
    .filestore = ODBK_FORMAT_FS_NONE,
    .compression = "none",
    .loader = "pg_restore",
    .suffix = ".dump",
    .magic = "PGDMP",
    .what = "a pg_dump custom archive",
    .write = dump_write,
    .load = dump_load,
    .detect = dump_detect,
};
