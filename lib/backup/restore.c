/* restore.c - restore a backup without ever leaving the target worse off.
 *
 * The backup is loaded into a new temporary database ("<db>_odbk_tmp_<pid>") and a temporary filestore
 * directory next to the target ("<dir>.odbk-tmp-<pid>"), streamed from storage through a SHA-256 check
 * and the decompressor into psql (ON_ERROR_STOP) and the untar writer, both at the same time.  Only
 * when both loaded and every checksum matched are they swapped in: the target database and directory
 * are renamed aside ("_odbk_old_<pid>"), the new ones renamed into place, the old ones dropped.  Before
 * that point any failure drops the temporaries and leaves the target exactly as it was; a run killed
 * outright is cleaned up by the next restore (its pid is in the temporaries' names). */
#include "backup/backup.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "io/exec.h"
#include "io/tar.h"
#include "pg/pg.h"

struct target {
    char *env;          /* NULL for a new database outside the config */
    char *pg;           /* conninfo of the target server */
    char *database;
    char *filestore;    /* NULL with --no-filestore or a backup without filestore */
    char *pg_bindir;
    int exists;
};

static void target_release(struct target *t)
{
    free(t->env);
    free(t->pg);
    free(t->database);
    free(t->filestore);
    free(t->pg_bindir);
    memset(t, 0, sizeof(*t));
}

static int find_backup(struct odbk_catalog *cat, const struct odbk_restore_opts *o, struct odbk_backup *b,
                       struct odbk_err *err)
{
    if (o->backup_id)
        return odbk_catalog_backup_get(cat, o->backup_id, b, err);
    {
        struct odbk_backup_filter f = {0};
        const char *envs[2] = {o->latest_env, NULL};
        struct odbk_backup *v = NULL;
        size_t n = 0;
        f.envs = envs;
        f.status = ODBK_STATUS_COMPLETED;
        f.limit = 1;
        if (odbk_catalog_backup_list(cat, &f, &v, &n, err) < 0)
            return -1;
        if (!n) {
            odbk_err_set(err, ODBK_E_NOINPUT, "environment '%s' has no completed backup", o->latest_env);
            odbk_err_hint(err, "odbk-list %s shows its backups", o->latest_env);
            return -1;
        }
        *b = v[0];
        free(v);
        return 0;
    }
}

static int resolve_target(const struct odbk_config *cfg, const struct odbk_restore_opts *o, const struct odbk_backup *b,
                          struct target *t, struct odbk_err *err)
{
    memset(t, 0, sizeof(*t));
    if (o->new_db) {
        struct odbk_env src = {0};
        struct odbk_err ignore;
        int have_src = odbk_config_env(cfg, b->env, &src, &ignore) == 0;
        if (!odbk_name_is_safe(o->new_db) || strlen(o->new_db) > 50)
            return odbk_err_set(err, ODBK_E_USAGE, "--new-db: '%s' is not a usable database name (at most 50 "
                                "characters, no '/')", o->new_db);
        t->database = odbk_xstrdup(o->new_db);
        t->pg = odbk_xstrdup(o->pg ? o->pg : have_src ? src.pg : "");
        if (have_src)
            t->pg_bindir = odbk_xstrdup(odbk_config_get(src.section, "pg-bindir"));
        if (!o->no_filestore && b->has_filestore) {
            if (o->filestore) {
                t->filestore = odbk_xstrdup(o->filestore);
            } else if (have_src) {
                char *parent = odbk_dirname(src.filestore);
                t->filestore = odbk_xasprintf("%s/%s", parent, o->new_db);
                free(parent);
            } else {
                odbk_env_release(&src);
                return odbk_err_set(err, ODBK_E_USAGE, "--new-db needs --filestore DIR (or --no-filestore) for a "
                                    "backup whose environment is not in the config");
            }
        }
        odbk_env_release(&src);
        return 0;
    }
    {
        struct odbk_env env;
        if (odbk_config_env(cfg, o->to_env ? o->to_env : b->env, &env, err) < 0)
            return -1;
        t->env = odbk_xstrdup(env.name);
        t->pg = odbk_xstrdup(env.pg);
        t->database = odbk_xstrdup(env.database);
        if (!o->no_filestore && b->has_filestore)
            t->filestore = odbk_xstrdup(env.filestore);
        t->pg_bindir = odbk_xstrdup(odbk_config_get(env.section, "pg-bindir"));
        odbk_env_release(&env);
    }
    return 0;
}

int odbk_restore_describe(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct odbk_restore_opts *o,
                          char **description, struct odbk_err *err)
{
    struct odbk_backup b;
    struct target t;
    char when[32], size[32];
    if (find_backup(cat, o, &b, err) < 0)
        return -1;
    if (resolve_target(cfg, o, &b, &t, err) < 0) {
        odbk_backup_release(&b);
        return -1;
    }
    odbk_time_rfc3339(b.created_at, when);
    odbk_fmt_size(b.total_size, size);
    *description = odbk_xasprintf("Restore backup %s (env %s, %s, %s) into database '%s'%s%s%s.\n%s", b.id, b.env,
                                  when, size, t.database, t.filestore ? " and filestore '" : "",
                                  t.filestore ? t.filestore : "", t.filestore ? "'" : "",
                                  o->new_db ? "A new database is created." :
                                  "This REPLACES the current database and filestore of the target.");
    target_release(&t);
    odbk_backup_release(&b);
    return 0;
}

/* ---- leftovers of killed runs ---- */

static int pid_dead(const char *s)
{
    char *end;
    long pid = strtol(s, &end, 10);
    return pid > 0 && *end == '\0' && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static void cleanup_leftovers(PGconn *c, const char *filestore)
{
    PGresult *r = PQexec(c, "SELECT datname FROM pg_database WHERE datname ~ '_odbk_(tmp|old)_[0-9]+$'");
    struct odbk_err e;
    int i;
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        for (i = 0; i < PQntuples(r); i++) {
            const char *name = PQgetvalue(r, i, 0), *p = strrchr(name, '_');
            if (p && pid_dead(p + 1))
                odbk_pg_drop_database(c, name, &e);
        }
    }
    PQclear(r);
    if (filestore) {
        char *parent = odbk_dirname(filestore);
        const char *base = strrchr(filestore, '/') ? strrchr(filestore, '/') + 1 : filestore;
        DIR *d = opendir(parent);
        struct dirent *de;
        size_t bl = strlen(base);
        while (d && (de = readdir(d))) {
            const char *rest = de->d_name + bl;
            if (strncmp(de->d_name, base, bl) || (strncmp(rest, ".odbk-tmp-", 10) && strncmp(rest, ".odbk-old-", 10)))
                continue;
            if (pid_dead(rest + 10)) {
                char *p = odbk_xasprintf("%s/%s", parent, de->d_name);
                odbk_rmtree(p, &e);
                free(p);
            }
        }
        if (d)
            closedir(d);
        free(parent);
    }
}

/* ---- loading ---- */

struct fs_load {
    pthread_t th;
    struct odbk_storage *st;
    char *key;
    const struct odbk_manifest_file *file;
    enum odbk_compression comp;
    char *dir;
    struct odbk_tar_stats stats;
    int rc;
    struct odbk_err err;
};

static int load_file(struct odbk_storage *st, const char *key, const struct odbk_manifest_file *f,
                     enum odbk_compression comp, struct odbk_writer *sink, struct odbk_err *err)
{
    struct odbk_writer *dec = odbk_filter_decompress_new(comp, sink);
    struct odbk_writer *size = odbk_filter_size_new(dec);
    struct odbk_writer *sha = odbk_filter_sha256_check_new(size, f->sha256, key);
    int r = odbk_storage_read(st, key, sha, err);
    if (r == 0 && odbk_filter_size_get(size) != f->size)
        r = odbk_err_set(err, ODBK_E_DATA, "'%s' has %llu bytes in storage, the manifest says %llu", key,
                         (unsigned long long)odbk_filter_size_get(size), (unsigned long long)f->size);
    if (r == 0)
        r = odbk_writer_finish(sha, err);
    else
        odbk_writer_abort(sha);
    odbk_writer_free(sha);
    odbk_writer_free(size);
    odbk_writer_free(dec);
    return r;
}

static void *fs_load_main(void *arg)
{
    struct fs_load *l = arg;
    struct odbk_writer *untar = odbk_untar_writer_new(l->dir, &l->stats);
    l->rc = load_file(l->st, l->key, l->file, l->comp, untar, &l->err);
    odbk_writer_free(untar);
    return NULL;
}

static enum odbk_compression comp_of(const struct odbk_manifest_file *f)
{
    enum odbk_compression c = ODBK_COMPRESS_NONE;
    if (f->compression)
        odbk_compression_parse(f->compression, &c);
    return c;
}

void odbk_restore_result_release(struct odbk_restore_result *res)
{
    free(res->database);
    free(res->filestore);
    free(res->safety_backup_id);
    free(res->env_block);
    memset(res, 0, sizeof(*res));
}

static void audit(struct odbk_catalog *cat, const struct odbk_backup *b, const struct target *t,
                  const struct odbk_restore_opts *o, const char *result, const char *detail)
{
    struct odbk_audit a = {0};
    struct odbk_err e;
    char target[512], opts[256];
    snprintf(target, sizeof(target), "%s%s%s", t->database ? t->database : "?", t->filestore ? " + " : "",
             t->filestore ? t->filestore : "");
    snprintf(opts, sizeof(opts), "%s%s%s%s%s", o->new_db ? "new-db" : o->to_env ? "to-env" : "rollback",
             o->no_filestore ? " no-filestore" : "", o->no_safety_backup ? " no-safety-backup" : "",
             o->neutralize ? " neutralize" : "", o->copy ? " copy" : "");
    a.action = "restore";
    a.backup_id = b ? b->id : NULL;
    a.env = t->env ? t->env : b ? b->env : NULL;
    a.source = b ? b->id : NULL;
    a.target = target;
    a.options = opts;
    a.result = (char *)result;
    a.detail = (char *)detail;
    odbk_catalog_audit_add(cat, &a, &e);
}

int odbk_backup_restore(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct odbk_restore_opts *o,
                        struct odbk_restore_result *res, struct odbk_err *err)
{
    struct odbk_backup b = {0};
    struct target t = {0};
    struct odbk_storage *st = NULL;
    struct odbk_manifest m = {0};
    struct fs_load fl = {0};
    PGconn *pg = NULL;
    char *psql = NULL, *tmpdb = NULL, *olddb = NULL, *tmpfs = NULL, *oldfs = NULL, *dbkey = NULL;
    char **child_env = NULL;
    const struct odbk_manifest_file *dbf, *fsf = NULL;
    int r = -1, created_db = 0, fs_started = 0, swapped_db = 0;
    pid_t me = getpid();

    memset(res, 0, sizeof(*res));
    if (find_backup(cat, o, &b, err) < 0)
        return -1;
    if (strcmp(b.status, ODBK_STATUS_COMPLETED)) {
        odbk_err_set(err, ODBK_E_DATA, "backup '%s' is %s; only completed backups can be restored", b.id, b.status);
        goto out;
    }
    if (resolve_target(cfg, o, &b, &t, err) < 0)
        goto out;
    if (odbk_storage_open(cfg, b.storage, &st, err) < 0 || odbk_backup_manifest(st, &b, &m, err) < 0)
        goto out;
    if (strcmp(m.format, "odbk")) {
        odbk_err_set(err, ODBK_E_DATA, "backup '%s' has format '%s'; this odbk restores the odbk format", b.id,
                     m.format);
        goto out;
    }
    dbf = odbk_manifest_file_by_role(&m, "database");
    if (!dbf) {
        odbk_err_set(err, ODBK_E_DATA, "the manifest of backup '%s' lists no database file", b.id);
        goto out;
    }
    if (t.filestore) {
        fsf = odbk_manifest_file_by_role(&m, "filestore");
        if (!fsf) {
            free(t.filestore);
            t.filestore = NULL;
        }
    }

    if (odbk_pg_connect(t.pg, "postgres", &pg, err) < 0)
        goto out;
    cleanup_leftovers(pg, t.filestore);
    if (odbk_pg_database_exists(pg, t.database, &t.exists, err) < 0)
        goto out;
    if (o->new_db && t.exists) {
        odbk_err_set(err, ODBK_E_USAGE, "database '%s' already exists", t.database);
        odbk_err_hint(err, "pick another --new-db name, or restore over an environment with --to ENV");
        goto out;
    }
    if (o->new_db && t.filestore) {
        DIR *d = opendir(t.filestore);
        struct dirent *de;
        int nonempty = 0;
        while (d && (de = readdir(d)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                nonempty = 1;
        if (d)
            closedir(d);
        if (nonempty) {
            odbk_err_set(err, ODBK_E_USAGE, "filestore directory '%s' already exists and is not empty", t.filestore);
            odbk_err_hint(err, "pick another --filestore DIR");
            goto out;
        }
    }
    if (odbk_pg_tool(PQserverVersion(pg), "psql", t.pg_bindir, &psql, err) < 0)
        goto out;

    /* the safety backup of what is about to be replaced */
    if (t.env && t.exists && !o->no_safety_backup) {
        struct odbk_create_opts co = {0};
        struct odbk_backup sb;
        co.type = "pre-restore";
        co.level = -1;
        co.no_filestore = t.filestore == NULL;
        co.comment = b.id;
        co.progress = o->progress;
        co.progress_ctx = o->progress_ctx;
        if (odbk_backup_create(cfg, cat, t.env, &co, &sb, err) < 0) {
            odbk_err_prefix(err, "the safety backup of '%s' failed, nothing was restored", t.env);
            odbk_err_hint(err, "fix the cause, or pass --no-safety-backup to restore without one");
            goto out;
        }
        res->safety_backup_id = odbk_xstrdup(sb.id);
        odbk_backup_release(&sb);
    }

    /* load into temporaries */
    tmpdb = odbk_xasprintf("%.40s_odbk_tmp_%ld", t.database, (long)me);
    olddb = odbk_xasprintf("%.40s_odbk_old_%ld", t.database, (long)me);
    if (odbk_pg_create_database(pg, tmpdb, err) < 0)
        goto fail;
    created_db = 1;
    if (t.filestore) {
        char *parent = odbk_dirname(t.filestore);
        struct stat sb;
        if (stat(parent, &sb) != 0 && mkdir(parent, 0750) != 0) {
            odbk_err_sys(err, ODBK_E_IO, "cannot create '%s'", parent);
            free(parent);
            goto fail;
        }
        free(parent);
        tmpfs = odbk_xasprintf("%s.odbk-tmp-%ld", t.filestore, (long)me);
        oldfs = odbk_xasprintf("%s.odbk-old-%ld", t.filestore, (long)me);
        if (mkdir(tmpfs, 0750) != 0) {
            odbk_err_sys(err, ODBK_E_IO, "cannot create the filestore directory '%s'", tmpfs);
            free(tmpfs);
            tmpfs = NULL;
            goto fail;
        }
        fl.st = st;
        fl.key = odbk_backup_file_key(b.env, b.id, fsf->name);
        fl.file = fsf;
        fl.comp = comp_of(fsf);
        fl.dir = tmpfs;
        if (pthread_create(&fl.th, NULL, fs_load_main, &fl) != 0) {
            odbk_err_set(err, ODBK_E_OSERR, "cannot start the filestore thread");
            goto fail;
        }
        fs_started = 1;
    }
    {
        char *argv[] = {psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--no-psqlrc", NULL};
        struct odbk_writer *sink;
        child_env = odbk_pg_child_env(t.pg, tmpdb);
        dbkey = odbk_backup_file_key(b.env, b.id, dbf->name);
        if (odbk_exec_sink_new(argv, child_env, &sink, err) < 0)
            goto fail;
        r = load_file(st, dbkey, dbf, comp_of(dbf), sink, err);
        odbk_writer_free(sink);
        if (r < 0) {
            odbk_err_prefix(err, "loading the database failed, the target is unchanged");
            goto fail;
        }
    }
    if (fs_started) {
        pthread_join(fl.th, NULL);
        fs_started = 0;
        if (fl.rc < 0) {
            *err = fl.err;
            odbk_err_prefix(err, "restoring the filestore failed, the target is unchanged");
            goto fail;
        }
    }

    /* swap */
    if (t.exists) {
        if (odbk_pg_rename_database(pg, t.database, olddb, err) < 0)
            goto fail;
        swapped_db = 1;
    }
    if (odbk_pg_rename_database(pg, tmpdb, t.database, err) < 0) {
        struct odbk_err e2;
        if (swapped_db)
            odbk_pg_rename_database(pg, olddb, t.database, &e2);
        goto fail;
    }
    created_db = 0;
    if (tmpfs) {
        struct stat sb;
        int had = lstat(t.filestore, &sb) == 0;
        if (had && rename(t.filestore, oldfs) != 0) {
            odbk_err_sys(err, ODBK_E_IO, "cannot move the old filestore '%s' aside", t.filestore);
            goto fail_after_db_swap;
        }
        if (rename(tmpfs, t.filestore) != 0) {
            odbk_err_sys(err, ODBK_E_IO, "cannot move the restored filestore into '%s'", t.filestore);
            if (had)
                rename(oldfs, t.filestore);
            goto fail_after_db_swap;
        }
        free(tmpfs);
        tmpfs = NULL;
        if (had)
            odbk_rmtree(oldfs, err);
    }
    if (swapped_db) {
        struct odbk_err e2;
        odbk_pg_drop_database(pg, olddb, &e2);
    }
    res->database = odbk_xstrdup(t.database);
    res->filestore = t.filestore ? odbk_xstrdup(t.filestore) : NULL;
    if (o->new_db)
        res->env_block = odbk_xasprintf("[env %s]\ndatabase = %s\n%s%s%s%s%s%sstorage = %s\n", t.database,
                                        t.database, t.filestore ? "filestore = " : "", t.filestore ? t.filestore : "",
                                        t.filestore ? "\n" : "", *t.pg ? "pg = " : "", t.pg, *t.pg ? "\n" : "",
                                        b.storage);
    audit(cat, &b, &t, o, "ok", res->safety_backup_id ? res->safety_backup_id : NULL);
    r = 0;
    goto out;

fail_after_db_swap:
    {
        /* put the old database back: the target must be as it was */
        struct odbk_err e2;
        if (odbk_pg_rename_database(pg, t.database, tmpdb, &e2) == 0) {
            created_db = 1;
            if (swapped_db)
                odbk_pg_rename_database(pg, olddb, t.database, &e2);
        }
    }
fail:
    r = -1;
    if (fs_started) {
        pthread_join(fl.th, NULL);
        fs_started = 0;
    }
    if (created_db && pg) {
        struct odbk_err e2;
        odbk_pg_drop_database(pg, tmpdb, &e2);
    }
    if (tmpfs) {
        struct odbk_err e2;
        odbk_rmtree(tmpfs, &e2);
    }
    audit(cat, &b, &t, o, "failed", err->msg);
out:
    if (r < 0 && res->safety_backup_id && !strstr(err->hint, "safety"))
        odbk_err_hint(err, "the safety backup %s holds the state before this restore", res->safety_backup_id);
    odbk_pg_env_free(child_env);
    free(fl.key);
    free(dbkey);
    free(psql);
    free(tmpdb);
    free(olddb);
    free(tmpfs);
    free(oldfs);
    if (pg)
        PQfinish(pg);
    odbk_manifest_release(&m);
    odbk_storage_close(st);
    target_release(&t);
    odbk_backup_release(&b);
    return r;
}
