/* db-sqlite.c - db.h on SQLite: the embedded catalog, a file of this host. */
#include "catalog/db-impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/util.h"

struct sdb {
    struct odbk_db base;   /* first */
    sqlite3 *h;
};

struct sstmt {
    struct odbk_db_stmt base;   /* first */
    sqlite3_stmt *st;
};

static const struct odbk_db_ops ops;

#define H(db) (((const struct sdb *)(db))->h)
#define ST(st) (((struct sstmt *)(st))->st)

static int mkdir_parents(const char *path, struct odbk_err *err)
{
    char *dir = odbk_xstrdup(path), *p;
    for (p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            odbk_err_sys(err, ODBK_E_IO, "cannot create directory '%s' for the catalog", dir);
            free(dir);
            return -1;
        }
        *p = '/';
    }
    free(dir);
    return 0;
}

int odbk_db_sqlite_open(const char *path, struct odbk_db **out, struct odbk_err *err)
{
    struct sdb *sd = odbk_xcalloc(1, sizeof(*sd));
    struct odbk_db *db = &sd->base;
    int fd;
    *out = NULL;
    db->ops = &ops;
    db->engine = ODBK_DB_SQLITE;
    if (mkdir_parents(path, err) < 0)
        goto fail;
    /* create it private before SQLite does (its default follows the umask) */
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        odbk_err_sys(err, ODBK_E_IO, "cannot open catalog '%s'", path);
        goto fail;
    }
    close(fd);
    if (sqlite3_open_v2(path, &sd->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        if (sd->h)
            odbk_err_set(err, odbk_db_errkind(db), "catalog '%s': cannot open: %s", path, sqlite3_errmsg(sd->h));
        else
            odbk_err_set(err, ODBK_E_IO, "cannot open catalog '%s'", path);
        goto fail;
    }
    sqlite3_busy_timeout(sd->h, 30000);
    if (odbk_db_exec(db, "PRAGMA journal_mode = WAL") < 0 || odbk_db_exec(db, "PRAGMA synchronous = NORMAL") < 0 ||
        odbk_db_exec(db, "PRAGMA foreign_keys = ON") < 0) {
        odbk_err_set(err, odbk_db_errkind(db), "catalog '%s': cannot run statement: %s", path, sqlite3_errmsg(H(db)));
        odbk_err_hint(err, "is '%s' an odbk catalog? (--catalog FILE, $ODBK_CATALOG)", path);
        goto fail;
    }
    *out = db;
    return 0;
fail:
    odbk_db_close(db);
    return -1;
}

static void s_close(struct odbk_db *db)
{
    sqlite3_close(H(db));
    free(db);
}

static enum odbk_errcode s_errkind(const struct odbk_db *db)
{
    int code = sqlite3_errcode(H(db));
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return ODBK_E_TEMPFAIL;
    if (code == SQLITE_READONLY || code == SQLITE_PERM || code == SQLITE_AUTH)
        return ODBK_E_PERM;
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
        return ODBK_E_DATA;
    return ODBK_E_IO;
}

static const char *s_errmsg(const struct odbk_db *db)
{
    return sqlite3_errmsg(H(db));
}

static int s_retryable(const struct odbk_db *db)
{
    int code = sqlite3_errcode(H(db));
    return code == SQLITE_BUSY || code == SQLITE_LOCKED;
}

static int s_exec(struct odbk_db *db, const char *sql)
{
    return sqlite3_exec(H(db), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int s_prepare(struct odbk_db *db, const char *sql, struct odbk_db_stmt **out)
{
    sqlite3_stmt *st;
    *out = NULL;
    if (sqlite3_prepare_v2(H(db), sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    {
        struct sstmt *ss = odbk_xcalloc(1, sizeof(*ss));
        ss->base.db = db;
        ss->st = st;
        *out = &ss->base;
    }
    return 0;
}

static void s_bind_text(struct odbk_db_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(ST(st), i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(ST(st), i);
}

static void s_bind_int64(struct odbk_db_stmt *st, int i, int64_t v)
{
    sqlite3_bind_int64(ST(st), i, (sqlite3_int64)v);
}

static int s_step(struct odbk_db_stmt *st)
{
    int rc = sqlite3_step(ST(st));
    return rc == SQLITE_ROW ? ODBK_DB_ROW : rc == SQLITE_DONE ? ODBK_DB_DONE : -1;
}

static int s_step_deferred(struct odbk_db_stmt *st)
{
    return s_step(st) == ODBK_DB_DONE ? 0 : -1;
}

static const char *s_column_text(struct odbk_db_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(ST(st), i);
}

static int64_t s_column_int64(struct odbk_db_stmt *st, int i)
{
    return (int64_t)sqlite3_column_int64(ST(st), i);
}

static void s_finalize(struct odbk_db_stmt *st)
{
    sqlite3_finalize(ST(st));
    free(st);
}

static int64_t s_changes(struct odbk_db *db)
{
    return sqlite3_changes(H(db));
}

static int s_in_tx(const struct odbk_db *db)
{
    return !sqlite3_get_autocommit(H(db));
}

static int s_schema_version(struct odbk_db *db, int *version)
{
    sqlite3_stmt *st;
    int rc;
    *version = 0;
    if (sqlite3_prepare_v2(H(db), "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

static int s_set_schema_version(struct odbk_db *db, int version)
{
    char pragma[64];
    snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", version);
    return s_exec(db, pragma);
}

static void s_readonly(struct odbk_db *db)
{
    /* SQLite's own "attempt to write a readonly database" from now on */
    sqlite3_exec(H(db), "PRAGMA query_only = ON", NULL, NULL, NULL);
}

static int s_begin(struct odbk_db *db)
{
    return s_exec(db, "BEGIN IMMEDIATE");
}

static int s_commit(struct odbk_db *db)
{
    return s_exec(db, "COMMIT");
}

static void s_rollback(struct odbk_db *db)
{
    sqlite3_exec(H(db), "ROLLBACK", NULL, NULL, NULL);
}

static int s_lock_key(struct odbk_db *db, const char *key)
{
    (void)db, (void)key;   /* BEGIN IMMEDIATE made this connection the one writer */
    return 0;
}

static int s_hold(struct odbk_db *db, const char *key, int on)
{
    (void)db, (void)key, (void)on;
    return 0;
}

static const char *s_migration_extra(const struct odbk_db *db, int step)
{
    (void)db, (void)step;
    return NULL;
}

static const struct odbk_db_ops ops = {
    s_close, s_errkind, s_errmsg, s_retryable, s_exec, s_prepare, s_bind_text, s_bind_int64, s_step, s_step_deferred,
    s_column_text, s_column_int64, s_finalize, s_changes, s_begin, s_commit, s_rollback,
    s_in_tx, s_lock_key, s_hold, s_schema_version, s_set_schema_version, s_migration_extra, s_readonly,
};
