/* create.c - make a backup: pg_dump and the filestore tar run at the same time, each through its own
 * writer chain (size → compress → sha256 → size → storage), straight into storage; then the manifest,
 * written last; then (unless told not to) every file is read back and checked.
 *
 * The filestore is started when pg_dump's first bytes arrive: by then pg_dump holds its snapshot, so
 * every attachment row in the dump was taken before the filestore is read (SPEC §4) while the two still
 * overlap in time.  Any failure aborts both chains, removes what was stored, and marks the row failed
 * with the reason; a failure before anything started (PostgreSQL down, database or filestore missing)
 * still records a failed row.  A stop signal (common/interrupt.h) is such a failure, found between two
 * chunks: "interrupted by SIGTERM".  Once the manifest is stored the backup is complete: a signal during
 * the read-back then leaves it completed, not verified. */
#include "backup/backup.h"

#include <cJSON.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/interrupt.h"
#include "common/util.h"
#include "io/exec.h"
#include "io/tar.h"
#include "io/zip.h"
#include "odoo/odoo.h"
#include "pg/pg.h"

/* ---- a link that fails once the run is cancelled (stops the other pipeline quickly) or a stop signal
 * arrived ---- */

struct cancel_filter {
    struct odbk_writer w;
    atomic_int *flag;
};

static int cancel_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct cancel_filter *c = (struct cancel_filter *)w;
    if (odbk_interrupted())
        return odbk_interrupt_err(err);
    if (atomic_load(c->flag))
        return odbk_err_set(err, ODBK_E_FAILED, "cancelled");
    return odbk_writer_write(w->next, buf, len, err);
}

static void cancel_free(struct odbk_writer *w)
{
    free(w);
}

static const struct odbk_writer_ops cancel_ops = {"cancel", cancel_write, NULL, NULL, cancel_free};

/* ---- one file of the backup: its writer chain and results ---- */

struct job {
    const char *role;
    char *name;
    char *key;
    const char *compression_name;
    struct odbk_writer *sink, *stored, *sha, *comp, *raw, *progress, *cancel, *head;
    odbk_backup_progress_cb cb;
    void *cb_ctx;
    uint64_t expected;
    int rc;
    struct odbk_err err;
};

static void job_progress(void *ctx, uint64_t bytes)
{
    struct job *j = ctx;
    if (j->cb)
        j->cb(j->cb_ctx, j->role, bytes, j->expected);
}

static int job_open(struct job *j, struct odbk_storage *st, enum odbk_compression c, int level, int threads,
                    uint64_t size_hint, atomic_int *cancel, struct odbk_err *err)
{
    if (odbk_storage_open_write(st, j->key, size_hint, &j->sink, err) < 0)
        return -1;
    j->stored = odbk_filter_size_new(j->sink);
    j->sha = odbk_filter_sha256_new(j->stored);
    j->comp = odbk_filter_compress_new(c, level, threads, j->sha);
    j->raw = odbk_filter_size_new(j->comp);
    j->head = j->raw;
    if (j->cb) {
        j->progress = odbk_filter_progress_new(j->head, job_progress, j, 250);
        j->head = j->progress;
    }
    if (cancel) {
        struct cancel_filter *cf = odbk_xcalloc(1, sizeof(*cf));
        cf->flag = cancel;
        odbk_writer_init(&cf->w, &cancel_ops, j->head);
        j->cancel = &cf->w;
        j->head = j->cancel;
    }
    return 0;
}

static void job_free(struct job *j)
{
    odbk_writer_free_chain(j->head);
    free(j->name);
    free(j->key);
    memset(j, 0, sizeof(*j));
}

/* ---- the filestore thread ---- */

struct fs_thread {
    pthread_t th;
    int started;
    pthread_mutex_t mu;
    struct job *job;
    const char *dir;
    struct odbk_tar_stats stats;
};

static void *fs_main(void *arg)
{
    struct fs_thread *f = arg;
    struct job *j = f->job;
    j->rc = odbk_tar_write_dir(f->dir, j->head, &f->stats, &j->err);
    if (j->rc == 0)
        j->rc = odbk_writer_finish(j->head, &j->err);
    else
        odbk_writer_abort(j->head);
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

/* ---- heartbeat ---- */

struct heartbeat {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    struct odbk_catalog *cat;
    const char *id;
    int seconds;
};

static void *heartbeat_main(void *arg)
{
    struct heartbeat *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        struct timespec ts;
        struct odbk_err e;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += h->seconds;
        if (pthread_cond_timedwait(&h->cv, &h->mu, &ts) == ETIMEDOUT && !h->stop) {
            pthread_mutex_unlock(&h->mu);
            odbk_catalog_heartbeat(h->cat, h->id, &e);
            pthread_mutex_lock(&h->mu);
        }
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* ---- sizes, for planning uploads and progress ---- */

static int size_entry(void *ctx, const char *rel, const char *full, const struct stat *sb, struct odbk_err *err)
{
    if (sb && S_ISREG(sb->st_mode))
        *(uint64_t *)ctx += (uint64_t)sb->st_size;
    return 0;
}

/* The filestore's size, to plan S3 part sizes and show progress (0 when it cannot be read). */
static uint64_t dir_size(const char *path)
{
    uint64_t total = 0;
    struct odbk_err ignored;
    odbk_walk(path, size_entry, &total, &ignored);
    return total;
}

/* ---- Odoo's own zip (format zip): dump.sql, manifest.json, filestore/xx/sha1, in one stream ---- */

/* Odoo's manifest keys of m, known before the dump starts (they go into the zip's manifest.json). */
static void odoo_keys(struct odbk_manifest *m, const struct odbk_odoo_info *odoo, const char *sv, char pg[16])
{
    /* Odoo's own quirk: "%d.%d" % divmod(server_version / 100, 100) */
    int v = atoi(sv) >= 10 ? atoi(sv) * 100 : 0;
    snprintf(pg, 16, "%d.%d", v / 100, v % 100);
    m->odoo_version = odoo->series;
    m->odoo_major = odoo->series;
    m->odoo_pg_version = pg;
    m->modules_json = odoo->modules_json;
}

/* pg_dump's plain SQL becomes the member dump.sql (size unknown: a data descriptor follows it), then
 * manifest.json, then the filestore, read once the dump is complete. */
static int write_zip(struct job *j, char *const argv[], char *const env[], const struct odbk_manifest *m,
                     const char *filestore, struct odbk_err *err)
{
    struct odbk_zip *z = odbk_zip_new(j->head);
    struct odbk_writer *member = odbk_zip_member_writer_new(z);
    char *odoo_json = odbk_manifest_odoo_json(m);
    int r = odbk_zip_begin(z, "dump.sql", -1, 0, err);
    if (r == 0)
        r = odbk_exec_source(argv, env, member, NULL, NULL, err);
    if (r == 0)
        r = odbk_writer_finish(member, err);
    if (r == 0)
        r = odbk_zip_add_buffer(z, "manifest.json", odoo_json, strlen(odoo_json), err);
    if (r == 0 && filestore)
        r = odbk_zip_add_dir(z, filestore, "filestore/", err);
    if (r == 0)
        r = odbk_zip_close(z, err);
    odbk_writer_free(member);
    odbk_zip_free(z);
    free(odoo_json);
    return r;
}

/* ---- create ---- */

static int verify_file(struct odbk_storage *st, const struct odbk_backup *b, const struct odbk_manifest_file *f,
                       odbk_backup_progress_cb cb, void *cb_ctx, struct odbk_err *err)
{
    char *key = odbk_backup_file_key(b->env, b->id, f->name);
    struct odbk_writer *null = odbk_sink_null_new();
    struct odbk_writer *sha = odbk_filter_verify_new(null, f->sha256, f->size, key), *head = sha;
    struct job v = {0};
    char *phase = NULL;
    int r;
    if (cb) {   /* progress of the read-back, as "verify database", "verify filestore" */
        phase = odbk_xasprintf("verify %s", f->role);
        v.role = phase;
        v.cb = cb;
        v.cb_ctx = cb_ctx;
        v.expected = f->size;
        head = odbk_filter_progress_new(sha, job_progress, &v, 250);
    }
    r = odbk_storage_read(st, key, head, err);
    if (r == 0)
        r = odbk_writer_finish(head, err);
    odbk_writer_free_chain(head);
    free(phase);
    free(key);
    return r;
}

static int verify_all(struct odbk_storage *st, const struct odbk_backup *b, const struct odbk_manifest *m,
                      odbk_backup_progress_cb cb, void *cb_ctx, struct odbk_err *err)
{
    size_t i;
    for (i = 0; i < m->n_files; i++)
        if (verify_file(st, b, &m->files[i], cb, cb_ctx, err) < 0)
            return -1;
    return 0;
}

/* Record b as failed with the reason: its row is new (insert) when the run failed before it started,
 * and then nothing was stored (st NULL); otherwise its objects are removed first. */
static void fail_backup(struct odbk_catalog *cat, struct odbk_storage *st, struct odbk_backup *b,
                        const struct odbk_err *why, int new_row)
{
    struct odbk_err e2 = {0};
    struct odbk_audit a = {0};
    if (st)
        odbk_backup_remove_objects(cat, st, b->storage, b->env, b->id, &e2);
    free(b->status);
    b->status = odbk_xstrdup(ODBK_STATUS_FAILED);
    free(b->error);
    b->error = odbk_xstrdup(why->msg);
    b->finished_at = odbk_now();
    b->pid = 0;
    if (new_row)
        odbk_catalog_backup_insert(cat, b, &e2);
    else
        odbk_catalog_backup_update(cat, b, &e2);
    a.action = "create";
    a.backup_id = b->id;
    a.env = b->env;
    a.target = b->storage;
    a.result = "failed";
    a.detail = (char *)why->msg;
    odbk_catalog_audit_add(cat, &a, &e2);
}

int odbk_backup_create(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *env_name,
                       const struct odbk_create_opts *o, struct odbk_backup *out, struct odbk_err *err)
{
    struct odbk_env env = {0};
    struct odbk_storage *st = NULL;
    struct odbk_odoo_info odoo = {0};
    struct odbk_manifest m = {0};
    struct odbk_backup b = {0};
    struct job dbj = {0}, fsj = {0};
    struct fs_thread fst = {0};
    struct heartbeat hb = {0};
    atomic_int cancel = 0;
    PGconn *pg = NULL;
    struct odbk_writer *counter = NULL;
    char *tables_json = NULL;
    char id[40], uuid[40], sv[32], *pg_dump = NULL, *dbsize = NULL, *manifest_json = NULL, *dump_version = NULL;
    char **child_env = NULL;
    const char *format = o->format && *o->format ? o->format : "odbk";
    const char *type = o->type && *o->type ? o->type : "manual";
    enum odbk_compression comp = o->compression ? o->compression : ODBK_COMPRESS_GZIP;
    int with_fs, zip, zip_fs, r = -1, threads, hb_started = 0, row_written = 0;
    char odoo_pg[16];
    uint64_t db_hint = 0, fs_hint = 0;

    memset(out, 0, sizeof(*out));
    pthread_mutex_init(&fst.mu, NULL);
    if (!odbk_backup_valid_type(type))
        return odbk_err_set(err, ODBK_E_USAGE, "unknown backup type '%s' (manual, scheduled, pre-restore, "
                            "pre-upgrade, pre-destroy)", type);
    if (strcmp(format, "odbk") && strcmp(format, "dump") && strcmp(format, "zip"))
        return odbk_err_set(err, ODBK_E_USAGE, "format '%s' is not supported (odbk, zip, dump)", format);
    if (o->retention && *o->retention && !odbk_backup_valid_tier(o->retention))
        return odbk_err_set(err, ODBK_E_USAGE, "unknown retention '%s' (daily, weekly, monthly, yearly, permanent)",
                            o->retention);
    if (odbk_config_env(cfg, env_name, &env, err) < 0)
        return -1;
    zip = !strcmp(format, "zip");
    with_fs = !o->no_filestore && !strcmp(format, "odbk");
    zip_fs = !o->no_filestore && zip;
    if (!o->storage && !env.storage) {
        odbk_err_set(err, ODBK_E_CONFIG, "environment '%s' has no storage (state not_configured)", env.name);
        odbk_err_hint(err, "add 'storage = NAME' to [env %s], or pass --storage NAME", env.name);
        goto out;
    }

    /* the row: from here on every failure is recorded, even one before anything started */
    odbk_backup_new_id(id);
    odbk_backup_new_uuid(uuid);
    b.id = odbk_xstrdup(id);
    b.uuid = odbk_xstrdup(uuid);
    b.env = odbk_xstrdup(env.name);
    b.project = odbk_xstrdup(env.project);
    b.database = odbk_xstrdup(env.database);
    b.storage = odbk_xstrdup(o->storage ? o->storage : env.storage);
    b.type = odbk_xstrdup(type);
    b.format = odbk_xstrdup(format);
    b.compression = odbk_xstrdup(!strcmp(format, "odbk") ? odbk_compression_name(comp) : zip ? "zip" : "none");
    b.status = odbk_xstrdup(ODBK_STATUS_PENDING);
    b.created_at = odbk_now();
    b.has_filestore = with_fs || zip_fs;
    b.comment = odbk_xstrdup(o->comment);
    b.retention = odbk_xstrdup(o->retention);
    b.host = odbk_xstrdup(odbk_hostname());
    b.pid = (long)getpid();
    b.heartbeat_at = b.created_at;

    if (odbk_storage_open(cfg, b.storage, &st, err) < 0)
        goto fail;
    if (with_fs || zip_fs) {
        struct stat sb;
        if (stat(env.filestore, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            odbk_err_set(err, ODBK_E_NOINPUT, "filestore directory '%s' of environment '%s' is missing",
                         env.filestore, env.name);
            odbk_err_hint(err, "set 'filestore =' in [env %s], or pass --no-filestore for a database-only backup",
                          env.name);
            goto fail;
        }
        fs_hint = dir_size(env.filestore);
    }
    if (odbk_pg_connect(env.pg, env.database, &pg, err) < 0)
        goto fail;
    odbk_pg_version_string(PQserverVersion(pg), sv);
    if (odbk_pg_tool(PQserverVersion(pg), "pg_dump", odbk_config_get(env.section, "pg-bindir"), &pg_dump, err) < 0)
        goto fail;
    dump_version = odbk_pg_tool_version(pg_dump);
    if (odbk_odoo_info_read(pg, &odoo, err) < 0)
        goto fail;
    if (odbk_pg_value(pg, "SELECT pg_database_size(current_database())", NULL, &dbsize, err) < 0)
        goto fail;
    db_hint = dbsize ? strtoull(dbsize, NULL, 10) : 0;
    PQfinish(pg);
    pg = NULL;
    b.odoo_version = odbk_xstrdup(odoo.series);
    b.pg_version = odbk_xstrdup(sv);
    if (odbk_interrupted()) {
        odbk_interrupt_err(err);
        goto fail;
    }
    {
        struct odbk_backup running;
        int c = odbk_catalog_backup_insert_exclusive(cat, &b, &running, err);
        if (c < 0)
            goto out;
        if (c == 1) {
            char since[32];
            odbk_time_rfc3339(running.created_at, since);
            odbk_err_set(err, ODBK_E_TEMPFAIL, "a backup of environment '%s' is already running (%s, pid %ld on %s, "
                         "since %s)", env.name, running.id, running.pid, running.host, since);
            odbk_err_hint(err, "wait for it to finish; a run that died is cleaned up after 30 minutes without a "
                          "heartbeat");
            odbk_backup_release(&running);
            goto out;   /* not a failed backup: the running one goes on */
        }
    }
    row_written = 1;

    hb.cat = cat;
    hb.id = b.id;
    hb.seconds = getenv("ODBK_HEARTBEAT_SECONDS") ? atoi(getenv("ODBK_HEARTBEAT_SECONDS")) : 60;
    if (hb.seconds < 1)
        hb.seconds = 60;
    pthread_mutex_init(&hb.mu, NULL);
    pthread_cond_init(&hb.cv, NULL);
    if (pthread_create(&hb.th, NULL, heartbeat_main, &hb) == 0)
        hb_started = 1;

    free(b.status);
    b.status = odbk_xstrdup(ODBK_STATUS_IN_PROGRESS);
    if (odbk_catalog_backup_update(cat, &b, err) < 0)
        goto fail;

    threads = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;

    /* the database */
    dbj.role = "database";
    dbj.cb = o->progress;
    dbj.cb_ctx = o->progress_ctx;
    dbj.expected = 0;   /* pg_database_size overstates a dump: no percentage rather than a wrong one */
    if (!strcmp(format, "dump")) {
        dbj.name = odbk_xasprintf("backup-%s.dump", id);
        dbj.compression_name = "pg_custom";
    } else if (zip) {
        dbj.name = odbk_xasprintf("backup-%s.zip", id);
        dbj.compression_name = "zip";
        dbj.role = "archive";
        dbj.expected = db_hint + fs_hint;
    } else {
        dbj.name = odbk_xasprintf("backup-%s-database.sql%s", id, odbk_compression_suffix(comp));
        dbj.compression_name = odbk_compression_name(comp);
    }
    dbj.key = odbk_backup_file_key(env.name, id, dbj.name);
    if (job_open(&dbj, st, !strcmp(format, "odbk") ? comp : ODBK_COMPRESS_NONE, o->level, threads,
                 db_hint + fs_hint, NULL, err) < 0)
        goto fail;

    /* the filestore, started by pg_dump's first bytes */
    if (with_fs) {
        fsj.role = "filestore";
        fsj.cb = o->progress;
        fsj.cb_ctx = o->progress_ctx;
        fsj.expected = fs_hint;
        fsj.name = odbk_xasprintf("backup-%s-filestore.tar%s", id, odbk_compression_suffix(comp));
        fsj.key = odbk_backup_file_key(env.name, id, fsj.name);
        fsj.compression_name = odbk_compression_name(comp);
        if (job_open(&fsj, st, comp, o->level, threads, fs_hint, &cancel, err) < 0)
            goto fail;
        fst.job = &fsj;
        fst.dir = env.filestore;
    }

    {
        char *argv[] = {pg_dump, "--no-owner", strcmp(format, "dump") ? "--format=plain" : "--format=custom", NULL};
        child_env = odbk_pg_child_env(env.pg, env.database);
        if (zip) {
            m.database = b.database;
            odoo_keys(&m, &odoo, sv, odoo_pg);
            r = write_zip(&dbj, argv, child_env, &m, zip_fs ? env.filestore : NULL, err);
        } else {
            /* plain SQL: the rows of each COPY block are counted on the way, for odbk-restore --test */
            counter = strcmp(format, "dump") ? odbk_filter_copycount_new(dbj.head) : NULL;
            r = odbk_exec_source(argv, child_env, counter ? counter : dbj.head, with_fs ? fs_start : NULL, &fst, err);
        }
        if (r == 0 && with_fs)
            fs_start(&fst);    /* an empty dump still gets its filestore */
        if (r == 0)
            r = odbk_writer_finish(counter ? counter : dbj.head, err);
        if (r < 0) {
            odbk_writer_abort(counter ? counter : dbj.head);
            atomic_store(&cancel, 1);
        }
        if (fst.started)
            pthread_join(fst.th, NULL);
        fst.started = 0;
        if (r == 0 && with_fs && fsj.rc < 0) {
            *err = fsj.err;
            r = -1;
        }
        if (r < 0)
            goto fail;
    }
    if (odbk_interrupted()) {   /* the last chance to leave nothing: the manifest is not stored yet */
        odbk_interrupt_err(err);
        goto fail;
    }

    free(b.status);
    b.status = odbk_xstrdup(ODBK_STATUS_UPLOADING);
    odbk_catalog_backup_update(cat, &b, err);

    /* the manifest, last */
    m.version = ODBK_MANIFEST_VERSION;
    m.id = b.id;
    m.uuid = b.uuid;
    m.env = b.env;
    m.project = b.project;
    m.database = b.database;
    m.type = b.type;
    m.format = b.format;
    m.retention = b.retention;
    m.comment = b.comment;
    m.host = b.host;
    m.odbk_version = ODBK_VERSION;
    m.pg_server_version = sv;
    m.pg_dump_version = dump_version;
    m.created_at = b.created_at;
    m.finished_at = odbk_now();
    odoo_keys(&m, &odoo, sv, odoo_pg);
    odbk_manifest_add_file(&m, dbj.name, zip ? "archive" : "database", odbk_filter_size_get(dbj.stored), odbk_filter_sha256_hex(dbj.sha),
                           dbj.compression_name, odbk_filter_size_get(dbj.raw));
    if (with_fs)
        odbk_manifest_add_file(&m, fsj.name, "filestore", odbk_filter_size_get(fsj.stored),
                               odbk_filter_sha256_hex(fsj.sha), fsj.compression_name, odbk_filter_size_get(fsj.raw));
    m.fs_files = m.fs_bytes = -1;
    if (with_fs && !zip) {
        m.fs_files = (int64_t)fst.stats.files;
        m.fs_bytes = (int64_t)fst.stats.bytes;
    }
    if (counter) {
        const struct odbk_copy_count *cv;
        size_t k, nc = odbk_filter_copycount_get(counter, &cv);
        cJSON *t = cJSON_CreateObject();
        for (k = 0; k < nc; k++)
            cJSON_AddNumberToObject(t, cv[k].table, (double)cv[k].rows);
        tables_json = cJSON_PrintUnformatted(t);
        cJSON_Delete(t);
        m.tables_json = tables_json;
    }
    manifest_json = odbk_manifest_to_json(&m);
    {
        char *mname = odbk_backup_manifest_name(id);
        char *mkey = odbk_backup_file_key(env.name, id, mname);
        r = odbk_storage_put(st, mkey, manifest_json, strlen(manifest_json), err);
        free(mkey);
        free(mname);
        if (r < 0)
            goto fail;
    }
    odbk_crash_point("create-after-manifest");
    b.db_size = odbk_filter_size_get(dbj.stored);
    b.fs_size = with_fs ? odbk_filter_size_get(fsj.stored) : 0;
    b.total_size = b.db_size + b.fs_size + strlen(manifest_json);
    b.finished_at = m.finished_at;
    b.manifest = odbk_xstrdup(manifest_json);
    if (!o->no_verify) {
        odbk_crash_point("create-verify");
        if (verify_all(st, &b, &m, o->progress, o->progress_ctx, err) == 0)
            b.verified = 1;
        else if (odbk_interrupted())   /* stopped, but the backup is complete: kept, not verified */
            odbk_err_clear(err);
        else {
            odbk_err_prefix(err, "verification after upload failed");
            r = -1;
            goto fail;
        }
    }
    free(b.status);
    b.status = odbk_xstrdup(ODBK_STATUS_COMPLETED);
    b.pid = 0;
    if (odbk_catalog_backup_update(cat, &b, err) < 0)
        goto fail;
    {
        struct odbk_audit a = {0};
        struct odbk_err e2;
        char detail[128];
        snprintf(detail, sizeof(detail), "%llu bytes", (unsigned long long)b.total_size);
        a.action = "create";
        a.backup_id = b.id;
        a.env = b.env;
        a.source = b.database;
        a.target = b.storage;
        a.options = b.type;
        a.result = "ok";
        a.detail = detail;
        odbk_catalog_audit_add(cat, &a, &e2);
    }
    *out = b;
    memset(&b, 0, sizeof(b));
    r = 0;
    goto out;

fail:
    r = -1;
    if (fst.started) {
        atomic_store(&cancel, 1);
        pthread_join(fst.th, NULL);
        fst.started = 0;
    }
    if (dbj.head)
        odbk_writer_abort(dbj.head);
    if (fsj.head)
        odbk_writer_abort(fsj.head);
    if (odbk_interrupted())   /* whatever broke first (a child may have had the signal too), this is why */
        odbk_interrupt_err(err);
    if (b.id)
        fail_backup(cat, row_written ? st : NULL, &b, err, !row_written);
out:
    if (hb_started) {
        pthread_mutex_lock(&hb.mu);
        hb.stop = 1;
        pthread_cond_signal(&hb.cv);
        pthread_mutex_unlock(&hb.mu);
        pthread_join(hb.th, NULL);
        pthread_mutex_destroy(&hb.mu);
        pthread_cond_destroy(&hb.cv);
    }
    pthread_mutex_destroy(&fst.mu);
    job_free(&dbj);
    job_free(&fsj);
    /* m borrows every string but its files */
    {
        size_t i;
        for (i = 0; i < m.n_files; i++) {
            free(m.files[i].name);
            free(m.files[i].role);
            free(m.files[i].sha256);
            free(m.files[i].compression);
        }
    }
    odbk_pg_env_free(child_env);
    odbk_writer_free(counter);
    free(tables_json);
    free(manifest_json);
    free(dump_version);
    free(dbsize);
    free(pg_dump);
    if (pg)
        PQfinish(pg);
    odbk_odoo_info_release(&odoo);
    odbk_backup_release(&b);
    odbk_storage_close(st);
    odbk_env_release(&env);
    return r;
}

