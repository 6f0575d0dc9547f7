/* create.c - make a backup: prepare (storage, PostgreSQL, pg_dump, Odoo facts), the row, the format's
 * files (format.h: straight into storage, each through its writer chain), the manifest, written last, the
 * verification of every file (`verify =` of the storage, or --verify: what the store confirms of it, its
 * size and where it gives them its MD5s, by default; or the read-back of every byte; or none), the row
 * completed.
 *
 * Any failure before the manifest is stored aborts the chains, removes what was stored, and marks the
 * row failed with the reason; a failure before anything started (PostgreSQL down, database or filestore
 * missing) still records a failed row.  A stop signal (common/interrupt.h) is such a failure, found
 * between two chunks: "interrupted by SIGTERM".
 *
 * Once the manifest is stored the backup is complete (odbk(7), States), and only bytes in storage that are not
 * what was written (a size, SHA-256 or MD5 that differs, a file gone) still fail and remove it.  A
 * verification ended by a stop signal or a store that does not answer leaves it completed and not
 * verified; a catalog that cannot record it leaves it stored, its row uploading, for the reaper or a
 * rescan to complete.
 * Either is a backup made but not fully done: odbk_backup_create returns 1 and says what is left. */
#include "backup/format.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/incr.h"
#include "backup/run.h"
#include "common/interrupt.h"
#include "common/util.h"
#include "common/vocab.h"
#include "odoo/odoo.h"
#include "pg/pg.h"

/* ---- one file of the backup: its writer chain and results ---- */

int odbk_format_file_open(struct odbk_format_file *f, const struct odbk_format_write *w, const char *role,
                          char *name, const char *compression, enum odbk_compression c, uint64_t size_hint,
                          uint64_t expected, int estimated, atomic_int *cancel, struct odbk_err *err)
{
    f->role = role;
    f->name = name;
    if (!f->key)
        f->key = odbk_backup_file_key(w->env, w->id, name);
    f->compression = compression;
    f->progress.report = w->report;
    f->progress.phase = role;
    f->progress.expected = expected;
    f->progress.estimated = estimated;
    if (odbk_storage_open_write(w->st, f->key, size_hint, &f->sink, err) < 0)
        return -1;
    f->stored = odbk_filter_size_new(f->sink);
    f->sha = odbk_filter_sha256_new(f->stored);
    f->comp = odbk_filter_compress_new(c, w->level, w->threads, f->sha);
    f->raw = odbk_filter_size_new(f->comp);
    f->head = odbk_report_filter_new(&f->progress, f->raw);
    if (cancel) {
        f->cancel = odbk_filter_cancel_new(f->head, cancel);
        f->head = f->cancel;
    }
    return 0;
}

void odbk_format_file_add(const struct odbk_format_file *f, struct odbk_manifest *m)
{
    odbk_manifest_add_file(m, f->name, f->role, odbk_filter_size_get(f->stored), odbk_filter_sha256_hex(f->sha),
                           f->compression, odbk_filter_size_get(f->raw));
}

int odbk_format_file_end(struct odbk_format_file *f, int r, struct odbk_manifest *m, struct odbk_err *err)
{
    if (r == 0)
        r = odbk_writer_finish(f->head, err);
    if (r < 0)
        odbk_writer_abort(f->head);
    else
        odbk_format_file_add(f, m);
    odbk_report_phase_end(&f->progress, r == 0, err->msg);
    return r;
}

void odbk_format_file_free(struct odbk_format_file *f)
{
    odbk_writer_free_chain(f->head);
    free(f->name);
    free(f->key);
    memset(f, 0, sizeof(*f));
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

/* ---- one run ---- */

struct run {
    const struct odbk_create_opts *o;
    struct odbk_report *report;
    const struct odbk_format_ops *fmt;
    struct odbk_catalog *cat;
    struct odbk_env env;
    struct odbk_storage *st;
    struct odbk_odoo_info odoo;
    struct odbk_manifest m;        /* borrows every string but its files and packs */
    struct odbk_incr_parent parent;   /* an incremental filestore's parent (have 0: none) */
    struct odbk_backup b;
    struct odbk_heartbeat hb;
    enum odbk_compression comp;
    int with_fs, row_written;
    int incremental;               /* its filestore went into packs (a failure leaves the env's storage due) */
    struct odbk_err left;          /* after the manifest: what the read-back left undone (code 0: nothing) */
    char sv[32], odoo_pg[16];
    char *pg_dump, *dump_version, *tables_json, *manifest_json;
    uint64_t db_hint, fs_hint;
};

/* The options that need nothing but themselves: type, format, retention (none given: manual, the first
 * format, no tier), into the row. */
static int check_opts(const struct odbk_create_opts *o, struct odbk_backup *b, struct odbk_err *err)
{
    int type = ODBK_TYPE_MANUAL, format = 0;
    if ((o->type && *o->type && odbk_vocab_parse(&odbk_vocab_type, o->type, &type, ODBK_E_USAGE, err) < 0) ||
        (o->format && *o->format && odbk_vocab_parse(&odbk_vocab_format, o->format, &format, ODBK_E_USAGE, err) < 0) ||
        odbk_tier_parse(o->retention, &b->retention, ODBK_E_USAGE, err) < 0)
        return -1;
    b->type = (enum odbk_backup_type)type;
    b->format = (enum odbk_backup_format)format;
    return 0;
}

/* The row in memory: from here on every failure is recorded, even one before anything started. */
static void new_row(struct run *run)
{
    struct odbk_backup *b = &run->b;
    char id[40], uuid[40];
    odbk_backup_new_id(id);
    odbk_backup_new_uuid(uuid);
    b->id = odbk_xstrdup(id);
    odbk_report_set_backup(run->report, id);
    b->uuid = odbk_xstrdup(uuid);
    b->env = odbk_xstrdup(run->env.name);
    b->project = odbk_xstrdup(run->env.project);
    b->database = odbk_xstrdup(run->env.database);
    b->storage = odbk_xstrdup(run->o->storage ? run->o->storage : run->env.storage);
    b->compression = odbk_xstrdup(run->fmt->compression ? run->fmt->compression : odbk_compression_name(run->comp));
    b->status = ODBK_BACKUP_PENDING;
    b->created_at = odbk_now();
    b->has_filestore = run->with_fs;
    b->comment = odbk_xstrdup(run->o->comment);
    b->host = odbk_xstrdup(odbk_hostname());
    b->pid = (long)getpid();
    b->heartbeat_at = b->created_at;
}

/* Odoo's manifest keys, known before the dump starts (they go into a zip's manifest.json too). */
static void odoo_keys(struct run *run)
{
    /* Odoo's own quirk: "%d.%d" % divmod(server_version / 100, 100) */
    int v = atoi(run->sv) >= 10 ? atoi(run->sv) * 100 : 0;
    snprintf(run->odoo_pg, sizeof(run->odoo_pg), "%d.%d", v / 100, v % 100);
    run->m.odoo_version = run->odoo.series;
    run->m.odoo_major = run->odoo.series;
    run->m.odoo_pg_version = run->odoo_pg;
    run->m.modules_json = run->odoo.modules_json;
}

int odbk_backup_filestore_check(const struct odbk_env *env, struct odbk_err *err)
{
    struct stat sb;
    if (stat(env->filestore, &sb) == 0 && S_ISDIR(sb.st_mode))
        return 0;
    odbk_err_set(err, ODBK_E_NOINPUT, "filestore directory '%s' of environment '%s' is missing", env->filestore,
                 env->name);
    odbk_err_hint(err, "set 'filestore =' or 'data-dir =' in [env %s], or pass --no-filestore for a database-only "
                  "backup", env->name);
    return -1;
}

/* Everything the files need, found before the row is written: the storage, the filestore, the server,
 * its pg_dump, the Odoo facts, the sizes. */
static int prepare(const struct odbk_config *cfg, struct run *run, struct odbk_err *err)
{
    PGconn *pg = NULL;
    char *dbsize = NULL;
    int r = -1;
    if (odbk_backup_storage_open(cfg, run->cat, run->b.storage, 1, &run->st, err) < 0)   /* nothing written yet */
        return -1;
    {   /* an encrypted storage: the key is derived now, before anything is written */
        char kid[17];
        if (odbk_storage_key_id(run->st, kid, err) < 0)
            return -1;
        run->b.key_id = odbk_xstrdup(kid);
    }
    if (run->with_fs) {
        struct stat sb;
        if (run->fmt->filestore == ODBK_FORMAT_FS_INSIDE && lstat(run->env.filestore, &sb) != 0 &&
            errno == ENOENT) {
            /* Odoo's own zip of a database whose filestore folder does not exist holds dump.sql and
             * manifest.json only (service/db.py dump_db: "if os.path.exists(filestore)"); so does odbk's */
            run->with_fs = run->b.has_filestore = 0;
            run->b.warning = odbk_xasprintf("filestore directory '%s' does not exist: the zip holds the database "
                                            "only, as Odoo's own backup would", run->env.filestore);
        } else if (odbk_backup_filestore_check(&run->env, err) < 0) {
            return -1;
        } else {
            run->fs_hint = dir_size(run->env.filestore);
        }
    }
    if (odbk_pg_connect(run->env.pg, run->env.database, &pg, err) < 0)
        goto out;
    odbk_pg_version_string(PQserverVersion(pg), run->sv);
    if (odbk_pg_tool(PQserverVersion(pg), "pg_dump", odbk_config_get(run->env.section, "pg-bindir"), &run->pg_dump,
                     err) < 0)
        goto out;
    run->dump_version = odbk_pg_tool_version(run->pg_dump);
    if (odbk_odoo_info_read(pg, &run->odoo, err) < 0)
        goto out;
    if (odbk_pg_value(pg, "SELECT pg_database_size(current_database())", NULL, &dbsize, err) < 0)
        goto out;
    run->db_hint = dbsize ? strtoull(dbsize, NULL, 10) : 0;
    run->b.odoo_version = odbk_xstrdup(run->odoo.series);
    run->b.pg_version = odbk_xstrdup(run->sv);
    r = 0;
out:
    free(dbsize);
    if (pg)
        PQfinish(pg);
    if (r == 0 && odbk_interrupted())
        r = odbk_interrupt_err(err);
    return r;
}

/* Write the row, unless another backup of the env runs (1, not a failed backup: the running one goes on);
 * then the heartbeat, and the row in progress. */
static int insert_row(struct run *run, struct odbk_err *err)
{
    struct odbk_backup running;
    struct odbk_env_lock held;
    char since[32];
    int c = run->o->due_since ? odbk_catalog_backup_insert_due(run->cat, &run->b, run->o->due_since, &running, &held, err)
                              : odbk_catalog_backup_insert_exclusive(run->cat, &run->b, &running, &held, err);
    if (c < 0)
        return 1;
    if (c == 3) {
        odbk_time_rfc3339(run->o->due_since, since);
        odbk_err_set(err, ODBK_E_TEMPFAIL, "environment '%s' has its scheduled backup of %s already (another host)",
                     run->env.name, since);
        return 2;
    }
    if (c == 2) {
        odbk_time_rfc3339(held.acquired_at, since);
        odbk_err_set(err, ODBK_E_TEMPFAIL, "environment '%s' is held by odbk-prune collecting its unreferenced "
                     "packs (pid %ld on %s, since %s)", run->env.name, held.pid, held.host, since);
        odbk_err_hint(err, "try again once it is done; a holder that died is told by its pid (this host) or "
                      "after %d minutes without a heartbeat", ODBK_RUN_STALE_SECONDS / 60);
        odbk_env_lock_release(&held);
        return run->o->due_since ? 3 : 1;   /* --due: deferred (odbk_backup_create returns 3) */
    }
    if (c == 1) {
        odbk_time_rfc3339(running.created_at, since);
        odbk_err_set(err, ODBK_E_TEMPFAIL, "a backup of environment '%s' is already running (%s, pid %ld on %s, "
                     "since %s)", run->env.name, running.id, running.pid, running.host, since);
        odbk_err_hint(err, "wait for it to finish; a run that died is cleaned up after 30 minutes without a "
                      "heartbeat");
        odbk_backup_release(&running);
        return run->o->due_since ? 2 : 1;
    }
    run->row_written = 1;
    odbk_heartbeat_start(&run->hb, run->cat, run->b.id);
    run->b.status = ODBK_BACKUP_IN_PROGRESS;
    return odbk_catalog_backup_update(run->cat, &run->b, err);
}

/* The bytes before compression of the main file of the newest completed backup of env in format, the
 * estimate of the new one's (0: none): pg_database_size says little about a dump (indexes are not in it,
 * text is not the heap). */
static uint64_t estimate_dump(struct odbk_catalog *cat, const char *env, enum odbk_backup_format format)
{
    const char *envs[] = {env, NULL};
    struct odbk_backup_filter f = {0};
    struct odbk_backup *v = NULL;
    struct odbk_err ignored = {0};
    size_t n = 0, i, k;
    uint64_t bytes = 0;
    f.envs = envs;
    f.statuses = ODBK_ONLY(ODBK_BACKUP_COMPLETED);
    f.limit = 20;
    if (odbk_catalog_backup_list(cat, &f, &v, &n, &ignored) < 0)
        return 0;
    for (i = 0; i < n && !bytes; i++) {
        struct odbk_manifest m = {0};
        if (v[i].format != format || !v[i].manifest ||
            odbk_manifest_parse(v[i].manifest, "catalog", &m, &ignored) < 0)
            continue;
        for (k = 0; k < m.n_files && !bytes; k++)
            if (!strcmp(m.files[k].role, "database") || !strcmp(m.files[k].role, "archive"))
                bytes = m.files[k].raw_size ? m.files[k].raw_size : m.files[k].size;
        odbk_manifest_release(&m);
    }
    odbk_backup_list_free(v, n);
    return bytes;
}

/* The format's files, straight into storage. */
static int write_files(struct run *run, struct odbk_err *err)
{
    const struct odbk_create_opts *o = run->o;
    struct odbk_format_write w = {0};
    int r;
    w.st = run->st;
    w.env = run->env.name;
    w.id = run->b.id;
    w.pg_dump = run->pg_dump;
    w.child_env = odbk_pg_child_env(run->env.pg, run->env.database);
    w.filestore = run->with_fs ? run->env.filestore : NULL;
    w.comp = run->comp;
    w.level = o->level;
    w.threads = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (w.threads < 1)
        w.threads = 1;
    w.db_hint = run->db_hint;
    w.fs_hint = run->fs_hint;
    w.report = run->report;
    if (run->report->cb)
        w.db_estimate = estimate_dump(run->cat, run->env.name, run->b.format);
    if (run->with_fs && run->fmt->filestore == ODBK_FORMAT_FS_FILE && !o->full_filestore &&
        !run->env.filestore_full) {
        char *why = NULL;
        w.incremental = 1;
        run->incremental = 1;
        odbk_incr_parent_find(run->cat, run->st, run->env.name, run->b.storage, &run->parent, &why);
        if (why && !run->b.warning)
            run->b.warning = why;
        else
            free(why);
        w.parent = &run->parent;
        if (odbk_interrupted()) {   /* a stop signal during the parent's list read: stop now, nothing stored */
            odbk_pg_env_free(w.child_env);
            return odbk_interrupt_err(err);
        }
    }
    w.m = &run->m;
    run->m.database = run->b.database;
    odoo_keys(run);
    run->m.fs_files = run->m.fs_bytes = -1;
    r = run->fmt->write(&w, err);
    odbk_pg_env_free(w.child_env);
    run->tables_json = w.tables_json;
    if (r == 0 && odbk_interrupted())   /* the last chance to leave nothing: the manifest is not stored yet */
        r = odbk_interrupt_err(err);
    return r;
}

/* The manifest, last: once it is stored the backup exists. */
static int put_manifest(struct run *run, struct odbk_err *err)
{
    struct odbk_manifest *m = &run->m;
    const struct odbk_backup *b = &run->b;
    char *mname, *mkey;
    int r;
    odbk_backup_to_manifest(b, m);
    m->odbk_version = ODBK_VERSION;
    m->pg_server_version = run->sv;
    m->pg_dump_version = run->dump_version;
    m->finished_at = odbk_now();
    m->tables_json = run->tables_json;
    if (m->filestore_mode == ODBK_FILESTORE_INCREMENTAL) {
        m->parent = run->parent.have ? run->parent.m.id : "";
        m->added_bytes = odbk_incr_added_bytes(m);
        m->has_added_bytes = 1;
    }
    run->manifest_json = odbk_manifest_to_json(m);
    mname = odbk_backup_manifest_name(b->id);
    mkey = odbk_backup_file_key(b->env, b->id, mname);
    r = odbk_storage_put(run->st, mkey, run->manifest_json, strlen(run->manifest_json), err);
    free(mkey);
    free(mname);
    if (r == 0) {   /* the storage's first backup gives it its marker; the backup stands without it */
        struct odbk_err e2 = {0};
        if (odbk_backup_storage_mark(run->st, &e2) < 0 && !run->b.warning)
            run->b.warning = odbk_xstrdup(e2.msg);
    }
    return r;
}

/* ---- the read-back ---- */

/* The stored objects of the backup being made, for its verification: its files, then the packs it made
 * (an incremental filestore: the parent's were verified when they were made).  *key malloc'd; 0 past
 * the last. */
static int stored_object(const struct run *run, size_t i, const struct odbk_manifest_file **f,
                         struct odbk_manifest_file *pack, char **key)
{
    size_t k;
    if (i < run->m.n_files) {
        *f = &run->m.files[i];
        *key = odbk_backup_file_key(run->b.env, run->b.id, (*f)->name);
        return 1;
    }
    for (i -= run->m.n_files, k = 0; k < run->m.n_packs; k++)
        if (odbk_pack_of(run->m.packs[k].name, run->b.id) && i-- == 0) {
            memset(pack, 0, sizeof(*pack));
            pack->name = run->m.packs[k].name;
            pack->role = "pack";
            pack->size = run->m.packs[k].size;
            pack->sha256 = (char *)run->m.packs[k].sha256;
            *f = pack;
            *key = odbk_pack_key(run->b.env, pack->name);
            return 1;
        }
    return 0;
}

static int verify_file(struct odbk_storage *st, const char *key, const struct odbk_manifest_file *f,
                       const struct odbk_report *report, struct odbk_err *err)
{
    static atomic_int never;   /* the read-back is one chain: only a stop signal cancels it */
    struct odbk_writer *null = odbk_sink_null_new();
    struct odbk_writer *sha = odbk_filter_verify_new(null, f->sha256, f->size, key), *head;
    /* progress of the read-back, as "verify database", "verify filestore" */
    char *phase = odbk_xasprintf("verify %s", f->role);
    struct odbk_report_phase v = {report, phase, f->size, 0, 0};
    int r;
    head = odbk_filter_cancel_new(odbk_report_filter_new(&v, sha), &never);   /* a stop ends it at the next chunk */
    r = odbk_storage_read(st, key, head, err);
    if (r == 0)
        r = odbk_writer_finish(head, err);
    odbk_report_phase_end(&v, r == 0, err->msg);
    odbk_writer_free_chain(head);
    free(phase);
    return r;
}

/* What the store confirms of every file (odbk_storage_confirm): the backup's `verified` the least of them,
 * a note of why no more in its warning; -1 with the first file's error (or a stop signal's). */
static int confirm_files(struct run *run, struct odbk_err *err)
{
    enum odbk_confirm least = ODBK_CONFIRM_CHECKSUM;
    const struct odbk_manifest_file *f;
    struct odbk_manifest_file pack;
    char *key;
    size_t i;
    int more = 1;
    for (i = 0; !odbk_interrupted() && (more = stored_object(run, i, &f, &pack, &key)); i++) {
        char *note = NULL;
        enum odbk_confirm level;
        int r = odbk_storage_confirm(run->st, key, f->size, &level, &note, err);
        free(key);
        if (r < 0)
            return -1;
        if (level < least)
            least = level;
        if (note && !run->b.warning)
            run->b.warning = odbk_xasprintf("the store confirmed %s: %s; 'verify = read' in [storage %s] reads "
                                            "the files back", level ? "the size only" : "nothing", note,
                                            run->st->name);
        free(note);
    }
    if (more)
        return odbk_interrupt_err(err);
    run->b.verified = least == ODBK_CONFIRM_CHECKSUM ? ODBK_VERIFIED_CHECKSUM
                      : least == ODBK_CONFIRM_SIZE ? ODBK_VERIFIED_SIZE : ODBK_VERIFIED_NO;
    return 0;
}

/* Read every file back; -1 with the first file's error. */
static int read_files(struct run *run, struct odbk_err *err)
{
    const struct odbk_manifest_file *f;
    struct odbk_manifest_file pack;
    char *key;
    size_t i;
    for (i = 0; stored_object(run, i, &f, &pack, &key); i++) {
        int r = verify_file(run->st, key, f, run->report, err);
        free(key);
        if (r < 0)
            return -1;
    }
    run->b.verified = ODBK_VERIFIED_READ;
    return 0;
}

/* Verify the stored files as mode says.  -1 only when the bytes in storage are not what was written (a
 * size, SHA-256 or MD5 that differs, a file gone: the backup is failed).  A verification ended by a stop
 * signal or by a store that does not answer (a 503, a reset, a dropped connection) keeps the backup,
 * complete and not verified: run->left says so, naming the backup, the cause and the fix. */
static int verify(struct run *run, enum odbk_verify_mode mode, struct odbk_err *err)
{
    const char *what = mode == ODBK_VERIFY_READ ? "the read-back" : "the store's confirmation";
    struct odbk_err e = {0};
    odbk_crash_point("create-verify");
    if (odbk_failpoint("create-verify-sigterm"))
        raise(SIGTERM);   /* test-only: a stop request arriving now (the handler only records it) */
    if ((mode == ODBK_VERIFY_READ ? read_files(run, &e) : confirm_files(run, &e)) == 0) {
        return 0;
    } else if (odbk_interrupted()) {
        odbk_interrupt_err(&e);
        odbk_err_set(&run->left, ODBK_E_TEMPFAIL, "stopped during %s: backup %s is stored and complete, not "
                     "verified (%s); 'odbk-list --verify %s' reads it back", what, run->b.id, e.msg, run->b.env);
    } else if (e.code != ODBK_E_DATA && e.code != ODBK_E_NOINPUT) {
        odbk_err_set(&run->left, ODBK_E_TEMPFAIL, "backup %s is stored and complete, not verified: %s failed: %s; "
                     "'odbk-list --verify %s' reads it back once the storage answers", run->b.id, what, e.msg,
                     run->b.env);
    } else {
        *err = e;
        odbk_err_prefix(err, "verification after upload failed");
        return -1;
    }
    run->b.verified = ODBK_VERIFIED_NO;
    return 0;
}

/* The row completed, and on record. */
static int commit(struct run *run, struct odbk_err *err)
{
    struct odbk_backup *b = &run->b;
    struct odbk_audit a = {0};
    struct odbk_err e2;
    char detail[128];
    b->status = ODBK_BACKUP_COMPLETED;
    b->pid = 0;
    if (odbk_catalog_backup_update(run->cat, b, err) < 0) {
        /* the catalog keeps the row uploading with this pid: once it is gone, the reaper completes it */
        b->status = ODBK_BACKUP_UPLOADING;
        return -1;
    }
    snprintf(detail, sizeof(detail), "%llu bytes", (unsigned long long)b->total_size);
    a.action = "create";
    a.backup_id = b->id;
    a.env = b->env;
    a.source = b->database;
    a.target = b->storage;
    a.options = (char *)odbk_type_name(b->type);
    a.result = "ok";
    a.detail = detail;
    odbk_catalog_audit_add(run->cat, &a, &e2);
    return 0;
}

/* Record b as failed with the reason: its row is new (insert) when the run failed before it started,
 * and then nothing was stored (st NULL); otherwise its objects are removed first.  A run that wrote packs
 * (incremental) leaves its env's storage due for a collection first: what the removal misses (an upload
 * the store kept, a removal that failed) is then looked for by the next prune. */
static void fail_backup(struct odbk_catalog *cat, struct odbk_storage *st, struct odbk_backup *b,
                        const struct odbk_err *why, int new_row, int incremental)
{
    struct odbk_err e2 = {0};
    struct odbk_audit a = {0};
    if (st && incremental)
        odbk_catalog_gc_due_set(cat, b->env, b->storage, &e2);
    if (st)
        odbk_backup_remove_objects(cat, st, b->storage, b->env, b->id, &e2);
    b->status = ODBK_BACKUP_FAILED;
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

static void run_release(struct run *run)
{
    size_t i;
    odbk_heartbeat_stop(&run->hb);
    for (i = 0; i < run->m.n_files; i++) {
        free(run->m.files[i].name);
        free(run->m.files[i].role);
        free(run->m.files[i].sha256);
        free(run->m.files[i].compression);
    }
    for (i = 0; i < run->m.n_packs; i++)
        free(run->m.packs[i].name);
    free(run->m.packs);
    odbk_incr_parent_release(&run->parent);
    free(run->tables_json);
    free(run->manifest_json);
    free(run->dump_version);
    free(run->pg_dump);
    odbk_odoo_info_release(&run->odoo);
    odbk_backup_release(&run->b);
    odbk_storage_close(run->st);
    odbk_env_release(&run->env);
}

static int create(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *env_name,
                  const struct odbk_create_opts *o, struct odbk_report *report, struct odbk_backup *out,
                  struct odbk_err *err)
{
    struct run run = {0};
    enum odbk_verify_mode mode;
    int r = -1, c;

    memset(out, 0, sizeof(*out));
    if (check_opts(o, &run.b, err) < 0)
        return -1;
    if (odbk_config_env(cfg, env_name, &run.env, err) < 0)
        return -1;
    run.o = o;
    run.report = report;
    run.cat = cat;
    run.fmt = odbk_format_of(run.b.format);
    run.comp = o->compression ? o->compression : ODBK_COMPRESS_GZIP;
    run.with_fs = !o->no_filestore && run.fmt->filestore != ODBK_FORMAT_FS_NONE;
    if (!o->storage && !run.env.storage) {
        odbk_err_set(err, ODBK_E_CONFIG, "environment '%s' has no storage (state not_configured)", run.env.name);
        odbk_err_hint(err, "add 'storage = NAME' to [env %s], or pass --storage NAME", run.env.name);
        goto out;
    }
    if (o->due_since && (c = odbk_catalog_due_taken(cat, env_name, o->due_since, err)) != 0) {
        if (c > 0) {   /* another host runs it or made it: nothing to prepare (insert_row checks again) */
            char since[32];
            odbk_time_rfc3339(o->due_since, since);
            odbk_err_set(err, ODBK_E_TEMPFAIL, "environment '%s' has its scheduled backup of %s running or made "
                         "already (another host)", env_name, since);
            r = 2;
        }
        goto out;
    }
    new_row(&run);
    if (prepare(cfg, &run, err) < 0)
        goto fail;
    if ((c = insert_row(&run, err)) > 0) {
        if (c == 2 || c == 3)   /* --due: another host has it, or a collection holds it: not a failure */
            r = c;
        goto out;
    }
    if (c < 0 || write_files(&run, err) < 0)
        goto fail;

    /* uploading on record before the manifest is stored: the mark that tells the reaper to look for it (a
     * row left in progress is removed) */
    run.b.status = ODBK_BACKUP_UPLOADING;
    if (odbk_catalog_backup_update(cat, &run.b, err) < 0 || put_manifest(&run, err) < 0)
        goto fail;
    odbk_crash_point("create-after-manifest");
    odbk_backup_sizes(&run.b, &run.m, strlen(run.manifest_json));
    run.b.finished_at = run.m.finished_at;
    run.b.manifest = odbk_xstrdup(run.manifest_json);
    mode = o->verify ? o->verify : run.st->verify;
    if (mode != ODBK_VERIFY_NONE && verify(&run, mode, err) < 0)
        goto fail;
    /* from here the backup is stored and complete: nothing removes it */
    r = run.left.code ? 1 : 0;
    if (commit(&run, err) < 0) {
        struct odbk_err ce = *err;
        odbk_err_set(err, ODBK_E_IO, "backup %s is stored and complete, but the catalog cannot record it: %s; "
                     "the next odbk-create or 'odbk-list --rescan' records it", run.b.id, ce.msg);
        r = 1;
    } else {
        if (odbk_failpoint("create-committed-sigterm"))
            raise(SIGTERM);   /* test-only: a stop request once the row is completed */
        if (r) {
            *err = run.left;
        } else if (odbk_interrupted()) {   /* a stop that came once the work was done: say so, lose nothing */
            odbk_err_set(err, ODBK_E_TEMPFAIL, "%s arrived once backup %s was complete: it is kept, %s",
                         odbk_interrupt_name(), run.b.id, run.b.verified ? "verified" : "not verified");
            r = 1;
        }
    }
    *out = run.b;
    memset(&run.b, 0, sizeof(run.b));
    goto out;

fail:
    if (odbk_interrupted())   /* whatever broke first (a child may have had the signal too), this is why */
        odbk_interrupt_err(err);
    fail_backup(cat, run.row_written ? run.st : NULL, &run.b, err, !run.row_written, run.incremental);
out:
    run_release(&run);
    return r;
}

int odbk_backup_create(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *env_name,
                       const struct odbk_create_opts *o, struct odbk_backup *out, struct odbk_err *err)
{
    struct odbk_report report;
    int r;
    odbk_report_run_begin(&report, o->progress, o->progress_ctx, env_name, NULL);
    r = create(cfg, cat, env_name, o, &report, out, err);
    /* 1: made, stored; 2, 3: skipped, deferred (not failures) */
    odbk_report_run_end(&report, r < 0 ? -1 : 0, r == 0 || r == 1 ? out->total_size : 0, err);
    return r;
}
