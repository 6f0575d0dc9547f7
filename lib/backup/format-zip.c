/* format-zip.c - the zip format (format.h): Odoo's own backup zip (odoo/zip.h), one file backup-ID.zip
 * made in one stream: pg_dump's plain SQL as dump.sql, manifest.json, then the filestore. */
#include "backup/format.h"

#include <stdlib.h>
#include <string.h>

#include "backup/source.h"
#include "common/util.h"
#include "io/exec.h"
#include "odoo/zip.h"

const struct odbk_format_ops odbk_format_zip;

/* pg_dump's plain SQL becomes the member dump.sql (size unknown: a data descriptor follows it), the rows
 * of its COPY blocks counted on the way (w->tables_json), then manifest.json, then the filestore, read once
 * the dump is complete (its files and bytes into w->m). */
static int write_zip(struct odbk_writer *dst, char *const argv[], struct odbk_format_write *w, struct odbk_err *err)
{
    struct odbk_zip *z = odbk_zip_new(dst);
    struct odbk_writer *member = odbk_zip_member_writer_new(z);
    struct odbk_writer *counter = odbk_filter_copycount_new(member);
    uint64_t files = 0, bytes = 0;
    int r = odbk_odoo_zip_begin_sql(z, -1, 0, err);
    if (r == 0)
        r = odbk_exec_source(argv, w->child_env, counter, NULL, NULL, err);
    if (r == 0)
        r = odbk_writer_finish(counter, err);
    if (r == 0)
        r = odbk_odoo_zip_add_manifest(z, w->m, err);
    if (r == 0 && w->filestore)
        r = odbk_odoo_zip_add_filestore(z, w->filestore, &files, &bytes, err);
    if (r == 0)
        r = odbk_zip_close(z, err);
    if (r == 0) {
        w->tables_json = odbk_format_tables_json(counter);
        if (w->filestore) {
            w->m->fs_files = (int64_t)files;
            w->m->fs_bytes = (int64_t)bytes;
        }
    }
    odbk_writer_free(counter);
    odbk_writer_free(member);
    odbk_zip_free(z);
    return r;
}

static int zip_write(struct odbk_format_write *w, struct odbk_err *err)
{
    struct odbk_format_file zf = {0};
    char *argv[] = {w->pg_dump, "--no-owner", "--format=plain", NULL};
    /* the total: the previous zip's, else the database and the filestore as they are (a guess too) */
    uint64_t expected = w->db_estimate ? w->db_estimate : w->db_hint + w->fs_hint;
    int r = odbk_format_file_open(&zf, w, "archive", odbk_xasprintf("backup-%s.zip", w->id), "zip",
                                  ODBK_COMPRESS_NONE, w->db_hint + w->fs_hint, expected, 1, NULL, err);
    if (r == 0)
        r = write_zip(zf.head, argv, w, err);
    r = odbk_format_file_end(&zf, r, w->m, err);
    odbk_format_file_free(&zf);
    return r;
}

/* dump.sql into psql, filestore/ into the directory, in whatever order the members come */
static int zip_load(struct odbk_format_load *l, struct odbk_err *err)
{
    struct odbk_source *s = l->src;
    struct odbk_writer *sink = NULL, *check = NULL, *unzip;
    struct odbk_odoo_zip_stats zs;
    int r;
    if (odbk_format_load_psql(l, ODBK_ODOO_ZIP_SQL, &sink, &check, err) < 0)
        return -1;
    unzip = odbk_odoo_zip_reader_new(check, l->tmpfs, l->tmpfs_id, &zs);
    r = odbk_format_load_file(l, s->kind == ODBK_SOURCE_FILE || s->kind == ODBK_SOURCE_URL ? NULL
                                                                                       : odbk_source_file(s, "archive"),
                              unzip, "restore: database", err);
    odbk_writer_free(unzip);
    l->fs_loaded = l->tmpfs && zs.files > 0;
    free(zs.manifest);
    odbk_writer_free(check);
    odbk_writer_free(sink);
    return r;
}

/* a local file header (its members may come in any order, so which one is first says nothing) */
static int zip_detect(const char *label, const unsigned char *head, size_t n, struct odbk_err *err)
{
    if (n < 30 || memcmp(head, odbk_format_zip.magic, 4))
        return odbk_err_set(err, ODBK_E_DATA, "'%s' is not a zip file%s", label, n < 30 ? " (too short)" : "");
    return 0;
}

const struct odbk_format_ops odbk_format_zip = {
    .name = "zip",
    .main_role = "archive",
    .filestore = ODBK_FORMAT_FS_INSIDE,
    .compression = "zip",
    .loader = "psql",
    .counts_rows = 1,
    .suffix = ".zip",
    .magic = "PK\003\004",
    .what = "a zip file",
    .write = zip_write,
    .load = zip_load,
    .detect = zip_detect,
    .is_odoo_zip = 1,
};
