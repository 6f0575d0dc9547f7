/* format-odbk.c - the odbk format (format.h): the database as plain SQL (backup-ID-database.sql.gz) and
 * the filestore as a tar (backup-ID-filestore.tar.gz), each compressed with the codec asked for.
 *
 * pg_dump and the filestore tar run at the same time, each through its own chain.  The filestore is
 * started when pg_dump's first bytes arrive: by then pg_dump holds its snapshot, so every attachment row
 * in the dump was taken before the filestore is read while the two still overlap in time.  The rows of
 * each COPY block are counted on the way, for odbk-restore --test.  A restore loads the two at the same
 * time too; odbk-download --as zip makes an Odoo zip of them as they stream. */
#include "backup/format.h"


#include <pthread.h>
#include <stdlib.h>

#include "backup/incr.h"
#include "backup/run.h"
#include "backup/source.h"
#include "common/util.h"
#include "io/exec.h"
#include "io/tar.h"
#include "odoo/zip.h"

/* ---- the filestore thread ---- */

struct fs_thread {
    pthread_t th;
    int started;
    pthread_mutex_t mu;
    struct odbk_format_file *job;
    const char *dir;
    struct odbk_tar_stats stats;
    atomic_int *cancel;       /* set once the database has failed */
    int failed_first;         /* the filestore failed before that: its error is the backup's */
    const struct odbk_format_write *incremental;   /* packs and a list (incr.h) instead of job's tar */
    struct odbk_incr_result incr;
};

static void *fs_main(void *arg)
{
    struct fs_thread *f = arg;
    struct odbk_format_file *j = f->job;
    if (f->incremental) {   /* its own phase, its own files */
        j->rc = odbk_incr_write(f->incremental, f->cancel, &f->incr, &j->err);
        f->failed_first = j->rc != 0 && !atomic_load(f->cancel);
        return NULL;
    }
    j->rc = odbk_tar_write_dir(f->dir, j->head, &f->stats, &j->err);
    if (j->rc == 0)
        j->rc = odbk_writer_finish(j->head, &j->err);
    else
        odbk_writer_abort(j->head);
    f->failed_first = j->rc != 0 && !atomic_load(f->cancel);
    odbk_report_phase_end(&j->progress, j->rc == 0, j->err.msg);
    return NULL;
}

static void fs_start(void *ctx)
{
    struct fs_thread *f = ctx;
    pthread_mutex_lock(&f->mu);
    if (!f->started && f->job) {
        if (pthread_create(&f->th, NULL, fs_main, f) == 0)
            f->started = 1;
        else
            odbk_err_set(&f->job->err, ODBK_E_OSERR, "cannot start the filestore thread"), f->job->rc = -1;
    }
    pthread_mutex_unlock(&f->mu);
}

static int odbk_write(struct odbk_format_write *w, struct odbk_err *err)
{
    struct odbk_format_file db = {0}, fs = {0};
    struct fs_thread fst = {0};
    atomic_int cancel = 0;
    struct odbk_writer *counter;
    char *argv[] = {w->pg_dump, "--no-owner", "--format=plain", NULL};
    const char *suffix = odbk_compression_suffix(w->comp), *cname = odbk_compression_name(w->comp);
    int r;

    pthread_mutex_init(&fst.mu, NULL);
    /* the database, its size estimated from the previous backup's */
    r = odbk_format_file_open(&db, w, "database", odbk_xasprintf("backup-%s-database.sql%s", w->id, suffix), cname,
                              w->comp, w->db_hint + w->fs_hint, w->db_estimate, 1, NULL, err);
    /* the filestore, started by pg_dump's first bytes */
    if (r == 0 && w->filestore && w->incremental) {
        fst.job = &fs;       /* only its rc and err */
        fst.incremental = w;
        fst.cancel = &cancel;
    } else if (r == 0 && w->filestore) {
        r = odbk_format_file_open(&fs, w, "filestore", odbk_xasprintf("backup-%s-filestore.tar%s", w->id, suffix),
                                  cname, w->comp, w->fs_hint, w->fs_hint, 0, &cancel, err);
        fst.job = &fs;
        fst.dir = w->filestore;
        fst.cancel = &cancel;
    }
    if (r < 0)
        goto out;
    counter = odbk_filter_copycount_new(db.head);
    db.head = counter;
    r = odbk_exec_source(argv, w->child_env, db.head, w->filestore ? fs_start : NULL, &fst, err);
    if (r == 0 && w->filestore)
        fs_start(&fst);    /* an empty dump still gets its filestore */
    r = odbk_format_file_end(&db, r, w->m, err);
    if (r < 0)
        atomic_store(&cancel, 1);
    if (fst.started)
        pthread_join(fst.th, NULL);
    fst.started = 0;
    /* the first to fail names the cause: a filestore upload that failed on its own can make the database's
     * fail after it (its abort removes the folder the database's upload was to be stored in) */
    if (w->filestore && fs.rc < 0 && (r == 0 || fst.failed_first)) {
        *err = fs.err;
        r = -1;
    }
    if (r < 0)
        goto out;
    w->tables_json = odbk_format_tables_json(counter);
    if (w->filestore && w->incremental) {
        odbk_incr_result_add(&fst.incr, w->m);
    } else if (w->filestore) {
        odbk_format_file_add(&fs, w->m);
        w->m->fs_files = (int64_t)fst.stats.files;
        w->m->fs_bytes = (int64_t)fst.stats.bytes;
    }
out:
    if (r < 0) {
        odbk_writer_abort(db.head);
        odbk_writer_abort(fs.head);
    }
    pthread_mutex_destroy(&fst.mu);
    odbk_incr_result_release(&fst.incr);
    odbk_format_file_free(&db);
    odbk_format_file_free(&fs);
    return r;
}

/* ---- loading: the SQL into psql, the filestore tar into the directory by a thread of its own ---- */

struct fs_load {
    pthread_t th;
    const struct odbk_format_load *l;
    const struct odbk_manifest_file *file;
    struct odbk_tar_stats stats;
    int rc;
    struct odbk_err err;
};

static void *fs_load_main(void *arg)
{
    struct fs_load *f = arg;
    struct odbk_writer *untar = odbk_untar_writer_new(f->l->tmpfs, f->l->tmpfs_id, &f->stats);
    f->rc = odbk_format_load_file(f->l, f->file, untar, "restore: filestore", &f->err);
    odbk_writer_free(untar);
    return NULL;
}

static int odbk_load(struct odbk_format_load *l, struct odbk_err *err)
{
    struct odbk_writer *sink = NULL, *check = NULL;
    struct fs_load fl = {0};
    int r = -1, fs_started = 0;
    if (odbk_format_load_psql(l, l->src->label, &sink, &check, err) < 0)
        goto out;
    fl.file = l->tmpfs ? odbk_source_file(l->src, "filestore") : NULL;
    if (fl.file) {
        fl.l = l;
        if (pthread_create(&fl.th, NULL, fs_load_main, &fl) != 0) {
            odbk_err_set(err, ODBK_E_OSERR, "cannot start the filestore thread");
            goto out;
        }
        fs_started = 1;
    }
    r = odbk_format_load_file(l, odbk_source_file(l->src, "database"), check, "restore: database", err);
    if (fs_started) {
        pthread_join(fl.th, NULL);
        if (r == 0 && fl.rc < 0) {
            *err = fl.err;
            odbk_err_prefix(err, "restoring the filestore failed");
            r = -1;
        }
        l->fs_loaded = fl.rc == 0;
    }
out:
    odbk_writer_free(check);
    odbk_writer_free(sink);
    return r;
}

/* ---- as an Odoo zip, as it streams: the SQL gunzipped into dump.sql, the filestore tar into
 * filestore/ members ---- */

static int odbk_to_zip(struct odbk_source *s, struct odbk_writer *dst, const struct odbk_report *report,
                       struct odbk_err *err)
{
    const struct odbk_manifest_file *dbf = odbk_source_file(s, "database"), *fsf = odbk_source_file(s, "filestore");
    struct odbk_zip *z = odbk_zip_new(dst);
    struct odbk_writer *member = odbk_zip_member_writer_new(z), *dec = NULL, *untar = NULL;
    enum odbk_compression c = ODBK_COMPRESS_NONE;
    int r;
    odbk_compression_parse(dbf->compression, &c);
    dec = c == ODBK_COMPRESS_NONE ? NULL : odbk_filter_decompress_new(c, member);
    r = odbk_odoo_zip_begin_sql(z, dbf->raw_size ? (int64_t)dbf->raw_size : -1, s->m.created_at, err);
    if (r == 0)
        r = odbk_source_read_phase(s, dbf, dec ? dec : member, report, dbf->role, err);
    if (r == 0)
        r = odbk_odoo_zip_add_manifest(z, &s->m, err);
    if (r == 0 && fsf) {
        odbk_writer_free(dec);
        dec = NULL;
        c = ODBK_COMPRESS_NONE;
        odbk_compression_parse(fsf->compression, &c);
        untar = odbk_odoo_zip_filestore_writer_new(z);
        dec = c == ODBK_COMPRESS_NONE ? NULL : odbk_filter_decompress_new(c, untar);
        r = odbk_source_read_phase(s, fsf, dec ? dec : untar, report, fsf->role, err);
    }
    if (r == 0)
        r = odbk_zip_close(z, err);
    odbk_writer_free(dec);
    odbk_writer_free(untar);
    odbk_writer_free(member);
    odbk_zip_free(z);
    return r;
}

const struct odbk_format_ops odbk_format_odbk = {
    .name = "odbk",
    .main_role = "database",
    .filestore = ODBK_FORMAT_FS_FILE,
    .compression = NULL,
    .loader = "psql",
    .counts_rows = 1,
    .write = odbk_write,
    .load = odbk_load,
    .to_zip = odbk_to_zip,
};
