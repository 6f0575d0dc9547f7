/* catalog.c - every SQL statement of odbk: schema, migrations, backups, audit log, through db.h (one SQL
 * text for SQLite and PostgreSQL). */
#include "catalog/catalog.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/db.h"
#include "common/util.h"

struct odbk_catalog {
    struct odbk_db *db;
    char *path;
    int batch;            /* inside odbk_catalog_batch_begin/end: env_state refreshed at its end */
    int batch_failed;     /* a statement of the batch failed: its end rolls back (as PostgreSQL's would) */
    char **dirty;         /* the envs written in the batch (repeats allowed), their env_state rows to refresh */
    size_t n_dirty, cap_dirty;
    int import_known;     /* the last import found its id known: the next tries the lookup first */
};

static int refresh_env_state(struct odbk_catalog *cat, const char *env, struct odbk_err *err);
static int sql_err(struct odbk_catalog *cat, struct odbk_err *err, const char *what);

/* env's key, until the transaction ends: one host at a time checks and writes an env's rows */
static int lock_env(struct odbk_catalog *cat, const char *env, struct odbk_err *err)
{
    char *key = odbk_xasprintf("env %s", env);
    int r = odbk_db_lock_key(cat->db, key);
    free(key);
    return r < 0 ? sql_err(cat, err, "cannot lock the env") : 0;
}
static void bind_text(struct odbk_db_stmt *st, int i, const char *s);

/* Forward migrations: migrations[i] brings the schema from version i to i + 1.  Never edit a released
 * step; append a new one. */
static const char *const migrations[] = {
    /* 0 → 1: the first release */
    "CREATE TABLE backups ("
    "  id TEXT PRIMARY KEY,"
    "  uuid TEXT NOT NULL,"
    "  env TEXT NOT NULL,"
    "  project TEXT NOT NULL DEFAULT '',"
    "  database TEXT NOT NULL,"
    "  storage TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  format TEXT NOT NULL,"
    "  compression TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  verified INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  finished_at INTEGER NOT NULL DEFAULT 0,"
    "  db_size INTEGER NOT NULL DEFAULT 0,"
    "  fs_size INTEGER NOT NULL DEFAULT 0,"
    "  total_size INTEGER NOT NULL DEFAULT 0,"
    "  has_filestore INTEGER NOT NULL DEFAULT 0,"
    "  comment TEXT NOT NULL DEFAULT '',"
    "  retention TEXT NOT NULL DEFAULT '',"
    "  error TEXT,"
    "  host TEXT NOT NULL DEFAULT '',"
    "  pid INTEGER NOT NULL DEFAULT 0,"
    "  heartbeat_at INTEGER NOT NULL DEFAULT 0,"
    "  odoo_version TEXT NOT NULL DEFAULT '',"
    "  pg_version TEXT NOT NULL DEFAULT '',"
    "  manifest TEXT"
    ");"
    "CREATE INDEX backups_env_created ON backups(env, created_at);"
    "CREATE INDEX backups_status ON backups(status);"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  at INTEGER NOT NULL,"
    "  \"user\" TEXT NOT NULL DEFAULT '',"
    "  host TEXT NOT NULL DEFAULT '',"
    "  action TEXT NOT NULL,"
    "  backup_id TEXT,"
    "  env TEXT,"
    "  source TEXT,"
    "  target TEXT,"
    "  options TEXT,"
    "  result TEXT NOT NULL,"
    "  detail TEXT"
    ");"
    "CREATE INDEX audit_env_at ON audit(env, at);",
    /* 1 → 2: objects a failed run could not remove (the store was down), retried by every later run */
    "CREATE TABLE removals ("
    "  storage TEXT NOT NULL,"
    "  prefix TEXT NOT NULL,"
    "  backup_id TEXT,"
    "  added_at INTEGER NOT NULL,"
    "  tried_at INTEGER NOT NULL DEFAULT 0,"
    "  attempts INTEGER NOT NULL DEFAULT 1,"
    "  error TEXT,"
    "  PRIMARY KEY (storage, prefix)"
    ");",
    /* 2 → 3: the temporaries of each restore (recorded before they are created) and its swap journal */
    "CREATE TABLE restore_temps ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  host TEXT NOT NULL,"
    "  pid INTEGER NOT NULL,"
    "  pid_start TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  pg TEXT NOT NULL DEFAULT '',"
    "  target_db TEXT NOT NULL,"
    "  target_dir TEXT,"
    "  tmp_db TEXT NOT NULL,"
    "  tmp_dir TEXT,"
    "  old_db TEXT,"
    "  old_dir TEXT,"
    "  step INTEGER NOT NULL DEFAULT 0"
    ");",
    /* 3 → 4: one env's figures (count, newest of a status) and the newest-first listing read through
     * indexes, not every row: states, compliance and --due at 10,000 envs */
    "CREATE INDEX backups_env_status ON backups(env, status, created_at);"
    "CREATE INDEX backups_created ON backups(created_at, id);",
    /* 4 → 5: the env a restore's server is re-resolved from (the stored conninfo keeps no password), and
     * the recovering process that claimed the row, so that two programs never act on one row */
    "ALTER TABLE restore_temps ADD COLUMN env TEXT;"
    "ALTER TABLE restore_temps ADD COLUMN claim_pid INTEGER;"
    "ALTER TABLE restore_temps ADD COLUMN claim_start TEXT;",
    /* 5 → 6: rows of one second in the order they were inserted (created_at DESC, rowid DESC), not by
     * their random id suffix; the listing index then serves that order whole (an index holds the rowid) */
    "DROP INDEX backups_created;"
    "CREATE INDEX backups_created ON backups(created_at);",
    /* 6 → 7: the device and inode of the restore's directory and of the original it set aside, so that
     * the next run renames and removes those, never a link or folder someone put in their place */
    "ALTER TABLE restore_temps ADD COLUMN tmp_dev INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE restore_temps ADD COLUMN tmp_ino INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE restore_temps ADD COLUMN old_dev INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE restore_temps ADD COLUMN old_ino INTEGER NOT NULL DEFAULT 0;",
    /* 7 → 8: the key id of an encrypted storage's backup (storage.h), which passphrase restores it */
    "ALTER TABLE backups ADD COLUMN key_id TEXT NOT NULL DEFAULT '';",
    /* 8 → 9 (ENV_STATE_STEP): each env's figures, kept up to date in the transaction of every write of its
     * backup rows and of its failed scheduled attempts (refresh_env_state), so that states, compliance and
     * --due over 10,000 envs read 10,000 small rows, not each env's backups; filled once by the migration */
    "CREATE TABLE env_state ("
    "  env TEXT PRIMARY KEY,"
    "  completed INTEGER NOT NULL DEFAULT 0,"
    "  latest_id TEXT,"
    "  latest_at INTEGER NOT NULL DEFAULT 0,"
    "  failed_id TEXT,"
    "  failed_at INTEGER NOT NULL DEFAULT 0,"
    "  failed_error TEXT,"
    "  running INTEGER NOT NULL DEFAULT 0,"
    "  scheduled_at INTEGER NOT NULL DEFAULT 0,"
    "  schedule_failures INTEGER NOT NULL DEFAULT 0,"
    "  schedule_failed_at INTEGER NOT NULL DEFAULT 0"
    ");",
    /* 9 → 10: the bytes a backup added to its storage (an incremental filestore shares the packs of the
     * env's backups: its total size says what a restore reads, not what it cost) */
    "ALTER TABLE backups ADD COLUMN added_bytes INTEGER NOT NULL DEFAULT 0;"
    "UPDATE backups SET added_bytes = total_size;",   /* every backup before it stored its own files only */
    /* 10 → 11: odbk-download's links to an incremental backup's filestore: a removal may be due later (the
     * assembled file, when its links expire); 0 = now, every removal before */
    "ALTER TABLE removals ADD COLUMN due_at INTEGER NOT NULL DEFAULT 0;",
    /* 11 → 12: who holds an env against its backups starting (the collection of its unreferenced packs):
     * one row per env while held, with the holder's process and heartbeat, so that one that died is told
     * from one at work as a running backup's row is (odbk_catalog_env_lock) */
    "CREATE TABLE env_locks ("
    "  env TEXT PRIMARY KEY,"
    "  holder TEXT NOT NULL,"
    "  host TEXT NOT NULL,"
    "  pid INTEGER NOT NULL,"
    "  pid_start TEXT NOT NULL DEFAULT '',"
    "  acquired_at INTEGER NOT NULL,"
    "  heartbeat_at INTEGER NOT NULL"
    ");",
    /* 12 → 13: the (env, storage) pairs whose storage holds something to collect or look at (a backup's
     * files deleted, an incremental create failed after writing packs): odbk-prune reads storage for those
     * only.  gen counts the times it was set, so that a collection clears only what it saw set before it
     * began.  Portable SQL (a PostgreSQL catalog runs the same statements).  The pairs of rows that are
     * failed or expired are due once: the runs before this collected at every prune. */
    "CREATE TABLE gc_due ("
    "  env TEXT NOT NULL,"
    "  storage TEXT NOT NULL,"
    "  gen INTEGER NOT NULL DEFAULT 1,"
    "  since INTEGER NOT NULL,"
    "  PRIMARY KEY (env, storage)"
    ");"
    "INSERT INTO gc_due (env, storage, gen, since) SELECT DISTINCT env, storage, 1, 0 FROM backups "
    "WHERE status IN ('failed', 'expired');",
    /* 13 → 14: each env's plan record (odbk_catalog_plan_record): the time span over which a real prune
     * found its retention clean under a policy (nothing to expire, nothing left over), so that a dry run of
     * --all plans only the envs whose record is stale; every write of the env's rows resets plan_until
     * (ENV_STATE_SQL) in the write's own transaction */
    "ALTER TABLE env_state ADD COLUMN plan_from INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE env_state ADD COLUMN plan_until INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE env_state ADD COLUMN plan_policy TEXT;",
    /* 14 → 15: the storages of an env's rows of a status from the index alone (prune asks where its expired
     * rows are, whose table rows, manifests inline, are most of the catalog's pages) */
    "CREATE INDEX IF NOT EXISTS backups_env_status_storage ON backups(env, status, storage);",
};

/* the migration that creates env_state: every env's row is computed as it runs */
#define ENV_STATE_STEP 8

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

static int sql_err(struct odbk_catalog *cat, struct odbk_err *err, const char *what)
{
    enum odbk_errcode k = odbk_db_errkind(cat->db);
    odbk_err_set(err, k, "catalog '%s': %s: %s", cat->path, what, odbk_db_errmsg(cat->db));
    cat->batch_failed |= cat->batch;
    if (k == ODBK_E_TEMPFAIL)
        odbk_err_hint(err, "another odbk process holds the catalog; try again");
    return -1;
}

static int exec(struct odbk_catalog *cat, const char *sql, struct odbk_err *err)
{
    if (odbk_db_exec(cat->db, sql) < 0)
        return sql_err(cat, err, "cannot run statement");
    return 0;
}

static int begin(struct odbk_catalog *cat, struct odbk_err *err)
{
    if (odbk_db_begin(cat->db) < 0)
        return sql_err(cat, err, "cannot begin a transaction");
    return 0;
}

static int commit(struct odbk_catalog *cat, struct odbk_err *err)
{
    if (odbk_db_commit(cat->db) < 0)
        return sql_err(cat, err, "cannot commit");
    return 0;
}

int odbk_catalog_batch_begin(struct odbk_catalog *cat, struct odbk_err *err)
{
    if (begin(cat, err) < 0)
        return -1;
    cat->batch = 1;
    cat->batch_failed = 0;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The env_state rows of the envs the batch wrote, each once; the list is emptied either way. */
static int refresh_dirty(struct odbk_catalog *cat, int refresh, struct odbk_err *err)
{
    size_t i;
    int r = 0;
    if (refresh && cat->n_dirty)
        qsort(cat->dirty, cat->n_dirty, sizeof(*cat->dirty), cmp_str);
    for (i = 0; refresh && r == 0 && i < cat->n_dirty; i++)
        if (i == 0 || strcmp(cat->dirty[i], cat->dirty[i - 1]))
            r = refresh_env_state(cat, cat->dirty[i], err);
    for (i = 0; i < cat->n_dirty; i++)   /* freed after: the loop above compares each with the one before */
        free(cat->dirty[i]);
    cat->n_dirty = 0;
    return r;
}

int odbk_catalog_batch_end(struct odbk_catalog *cat, int keep, struct odbk_err *err)
{
    int r = 0;
    cat->batch = 0;
    if (keep && cat->batch_failed) {   /* SQLite answered at once; the batch is all or nothing on both */
        odbk_err_set(err, ODBK_E_IO, "catalog '%s': a write of the batch failed: nothing of it kept", cat->path);
        keep = 0, r = -1;
    }
    if (keep && refresh_dirty(cat, 1, err) < 0)
        keep = 0, r = -1;
    refresh_dirty(cat, 0, NULL);
    if (!keep) {
        odbk_db_rollback(cat->db);
        return r;
    }
    return commit(cat, err);
}

/* A write and the env_state it changes as one transaction: begin one unless already inside one (a batch,
 * insert_exclusive's); end it with the write's outcome r (0 commit, -1 roll back). */
static int tx_begin(struct odbk_catalog *cat, int *own, struct odbk_err *err)
{
    *own = !odbk_db_in_tx(cat->db);
    return *own ? begin(cat, err) : 0;
}

static int tx_end(struct odbk_catalog *cat, int own, int r, struct odbk_err *err)
{
    if (!own)
        return r;
    if (r < 0) {
        odbk_db_rollback(cat->db);
        return -1;
    }
    return commit(cat, err);
}

/* env's rows changed: its env_state row is refreshed now, or at the end of the batch */
static int env_written(struct odbk_catalog *cat, const char *env, struct odbk_err *err)
{
    if (!env)
        return 0;
    if (!cat->batch)
        return refresh_env_state(cat, env, err);
    if (cat->n_dirty && !strcmp(cat->dirty[cat->n_dirty - 1], env))
        return 0;
    if (cat->n_dirty == cat->cap_dirty) {
        cat->cap_dirty = cat->cap_dirty ? cat->cap_dirty * 2 : 64;
        cat->dirty = odbk_xrealloc(cat->dirty, cat->cap_dirty * sizeof(*cat->dirty));
    }
    cat->dirty[cat->n_dirty++] = odbk_xstrdup(env);
    return 0;
}

/* One env's figures (or, env NULL, every env's: the migration), from its rows through the indexes, in
 * the words SQLite and PostgreSQL share: the count of completed backups, the newest completed (created_at,
 * then insertion order), the newest failure at or after it, whether one runs, the newest scheduled
 * success (completed or expired since) and the failed scheduled attempts after it. */
#define ENV_STATE_SQL(ENVS, RESET)                                                                            \
    "INSERT INTO env_state (env, completed, latest_id, latest_at, failed_id, failed_at, failed_error, "        \
    "running, scheduled_at, schedule_failures, schedule_failed_at) "                                            \
    "SELECT s.env, s.completed, l.id, coalesce(l.created_at, 0), f.id, coalesce(f.created_at, 0), f.error, "   \
    "s.running, s.scheduled_at, "                                                                               \
    "(SELECT count(*) FROM audit WHERE env = s.env AND at > s.scheduled_at AND action = 'schedule' "            \
    "AND result = 'failed'), "                                                                                  \
    "coalesce((SELECT max(at) FROM audit WHERE env = s.env AND at > s.scheduled_at AND action = 'schedule' "    \
    "AND result = 'failed'), 0) "                                                                               \
    "FROM (SELECT e.env, "                                                                                      \
    "(SELECT count(*) FROM backups WHERE env = e.env AND status = 'completed') AS completed, "                  \
    "(SELECT rowid FROM backups WHERE env = e.env AND status = 'completed' "                                    \
    "ORDER BY created_at DESC, rowid DESC LIMIT 1) AS latest, "                                                 \
    "CASE WHEN EXISTS (SELECT 1 FROM backups WHERE env = e.env AND status IN ('pending', 'in_progress', "      \
    "'uploading')) THEN 1 ELSE 0 END AS running, "                                                              \
    "coalesce((SELECT created_at FROM backups WHERE env = e.env AND type = 'scheduled' AND status IN "          \
    "('completed', 'expired') ORDER BY created_at DESC, rowid DESC LIMIT 1), 0) AS scheduled_at "               \
    "FROM (" ENVS ") e) s "                                                                                     \
    "LEFT JOIN backups l ON l.rowid = s.latest "                                                                \
    "LEFT JOIN backups f ON f.rowid = (SELECT rowid FROM backups WHERE env = s.env AND status = 'failed' AND "  \
    "created_at >= coalesce(l.created_at, 0) ORDER BY created_at DESC, rowid DESC LIMIT 1) "                    \
    "WHERE true ON CONFLICT (env) DO UPDATE SET completed = excluded.completed, latest_id = excluded.latest_id, " \
    "latest_at = excluded.latest_at, failed_id = excluded.failed_id, failed_at = excluded.failed_at, "          \
    "failed_error = excluded.failed_error, running = excluded.running, scheduled_at = excluded.scheduled_at, "  \
    "schedule_failures = excluded.schedule_failures, schedule_failed_at = excluded.schedule_failed_at" RESET

static int refresh_env_state(struct odbk_catalog *cat, const char *env, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    /* the writers of one env's figures take turns (PostgreSQL: each reads the rows the one before
     * committed; SQLite's write transaction is the only one already) */
    if (env && lock_env(cat, env, err) < 0)
        return -1;
    if (odbk_db_prepare(cat->db,
                        /* a write resets the env's plan record; the migration that fills the table (every
                         * env, env NULL) runs before the record's columns exist */
                        env ? ENV_STATE_SQL("SELECT CAST(?1 AS TEXT) AS env", ", plan_until = 0")
                            : ENV_STATE_SQL("SELECT env FROM backups UNION SELECT env FROM audit WHERE env IS NOT "
                                            "NULL AND action = 'schedule'", ""), &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    if (env)
        bind_text(st, 1, env);
    /* one env's: in the write's transaction, nothing read back (PostgreSQL pipelines it with the lock
     * before it: a batch's end sends its envs' refreshes without waiting for each; the commit tells) */
    rc = env ? (odbk_db_step_deferred(st) < 0 ? -1 : ODBK_DB_DONE) : odbk_db_step(st);
    odbk_db_finalize(st);
    return rc == ODBK_DB_DONE ? 0 : sql_err(cat, err, "cannot update the env's figures");
}

/* The steps from the catalog's version on, in one transaction holding the schema's key (two hosts opening a
 * new catalog at once: the second waits, then finds it migrated). */
static int migrate_held(struct odbk_catalog *cat, int *versionp, struct odbk_err *err);

static int migrate(struct odbk_catalog *cat, struct odbk_err *err)
{
    int version = 0, r;
    if (odbk_db_schema_version(cat->db, &version) < 0)
        return sql_err(cat, err, "cannot read the schema version");
    if (version == SCHEMA_VERSION)
        return 0;
    if (odbk_db_hold(cat->db, "odbk schema") < 0)
        return sql_err(cat, err, "cannot lock the schema");
    r = migrate_held(cat, &version, err);
    odbk_db_release(cat->db, "odbk schema");
    return r;
}

static int migrate_held(struct odbk_catalog *cat, int *versionp, struct odbk_err *err)
{
    int version, i;
    const char *extra;
    if (begin(cat, err) < 0)
        return -1;
    if (odbk_db_schema_version(cat->db, versionp) < 0) {
        sql_err(cat, err, "cannot read the schema version");
        odbk_db_rollback(cat->db);
        return -1;
    }
    version = *versionp;
    if (version == SCHEMA_VERSION) {   /* another host migrated it meanwhile */
        odbk_db_rollback(cat->db);
        return 0;
    }
    if (version > SCHEMA_VERSION) {
        odbk_db_rollback(cat->db);
        odbk_err_set(err, ODBK_E_CONFIG, "catalog '%s' has schema version %d, newer than this odbk knows (%d)",
                     cat->path, version, SCHEMA_VERSION);
        odbk_err_hint(err, "upgrade odbk on this host");
        return -1;
    }
    for (i = version; i < SCHEMA_VERSION; i++) {
        if (exec(cat, migrations[i], err) < 0 || ((extra = odbk_db_migration_extra(cat->db, i)) && exec(cat, extra, err) < 0) ||
            (i == ENV_STATE_STEP && refresh_env_state(cat, NULL, err) < 0)) {
            odbk_db_rollback(cat->db);
            odbk_err_prefix(err, "schema migration %d to %d", i, i + 1);
            return -1;
        }
    }
    if (odbk_db_set_schema_version(cat->db, SCHEMA_VERSION) < 0) {
        sql_err(cat, err, "cannot write the schema version");
        odbk_db_rollback(cat->db);
        return -1;
    }
    return commit(cat, err);
}

int odbk_catalog_open(const char *path, struct odbk_catalog **out, struct odbk_err *err)
{
    return odbk_catalog_open_secret(path, NULL, out, err);
}

int odbk_catalog_open_secret(const char *path, const char *password, struct odbk_catalog **out,
                             struct odbk_err *err)
{
    struct odbk_catalog *cat = odbk_xcalloc(1, sizeof(*cat));
    *out = NULL;
    cat->path = odbk_db_redact(path);
    if (odbk_db_open(path, password, &cat->db, err) < 0 || migrate(cat, err) < 0) {
        odbk_catalog_close(cat);
        return -1;
    }
    *out = cat;
    return 0;
}

int odbk_catalog_is_shared(const char *path)
{
    return odbk_db_is_pg(path);
}

void odbk_catalog_close(struct odbk_catalog *cat)
{
    if (!cat)
        return;
    refresh_dirty(cat, 0, NULL);
    free(cat->dirty);
    odbk_db_close(cat->db);
    free(cat->path);
    free(cat);
}

/* ---- backups ---- */

#define BACKUP_COLUMNS                                                                                     \
    "id, uuid, env, project, database, storage, type, format, compression, status, verified, created_at, " \
    "finished_at, db_size, fs_size, total_size, has_filestore, comment, retention, error, host, pid, "     \
    "heartbeat_at, odoo_version, pg_version, manifest, key_id, added_bytes"

/* BACKUP_COLUMNS with NULL in the manifest's place (read_backup reads it as NULL) */
#define BACKUP_COLUMNS_NO_MANIFEST                                                                         \
    "id, uuid, env, project, database, storage, type, format, compression, status, verified, created_at, " \
    "finished_at, db_size, fs_size, total_size, has_filestore, comment, retention, error, host, pid, "     \
    "heartbeat_at, odoo_version, pg_version, NULL, key_id, added_bytes"

static void bind_text(struct odbk_db_stmt *st, int i, const char *s)
{
    odbk_db_bind_text(st, i, s);
}

static void bind_backup(struct odbk_db_stmt *st, const struct odbk_backup *b)
{
    bind_text(st, 1, b->id);
    bind_text(st, 2, b->uuid);
    bind_text(st, 3, b->env);
    bind_text(st, 4, b->project ? b->project : "");
    bind_text(st, 5, b->database);
    bind_text(st, 6, b->storage);
    bind_text(st, 7, odbk_type_name(b->type));
    bind_text(st, 8, odbk_format_name(b->format));
    bind_text(st, 9, b->compression);
    bind_text(st, 10, odbk_status_name(b->status));
    odbk_db_bind_int64(st, 11, b->verified);
    odbk_db_bind_int64(st, 12, (int64_t)b->created_at);
    odbk_db_bind_int64(st, 13, (int64_t)b->finished_at);
    odbk_db_bind_int64(st, 14, (int64_t)b->db_size);
    odbk_db_bind_int64(st, 15, (int64_t)b->fs_size);
    odbk_db_bind_int64(st, 16, (int64_t)b->total_size);
    odbk_db_bind_int64(st, 17, b->has_filestore);
    bind_text(st, 18, b->comment ? b->comment : "");
    bind_text(st, 19, odbk_tier_name(b->retention));
    bind_text(st, 20, b->error);
    bind_text(st, 21, b->host ? b->host : "");
    odbk_db_bind_int64(st, 22, b->pid);
    odbk_db_bind_int64(st, 23, (int64_t)b->heartbeat_at);
    bind_text(st, 24, b->odoo_version ? b->odoo_version : "");
    bind_text(st, 25, b->pg_version ? b->pg_version : "");
    bind_text(st, 26, b->manifest);
    bind_text(st, 27, b->key_id ? b->key_id : "");
    odbk_db_bind_int64(st, 28, (int64_t)b->added_bytes);
}

static char *col_text(struct odbk_db_stmt *st, int i)
{
    const char *t = odbk_db_column_text(st, i);
    return t ? odbk_xstrdup(t) : NULL;
}

/* A name column into an enum: a name this version does not know (a newer odbk wrote the row) is an error. */
static int col_enum(struct odbk_db_stmt *st, int i, const struct odbk_vocab *v, int *out, struct odbk_err *err)
{
    return odbk_vocab_parse(v, odbk_db_column_text(st, i), out, ODBK_E_DATA, err);
}

/* The row at st into b (released on failure). */
static int read_backup(struct odbk_db_stmt *st, struct odbk_backup *b, struct odbk_err *err)
{
    int type = 0, format = 0, status = 0;
    memset(b, 0, sizeof(*b));
    b->id = col_text(st, 0);
    b->uuid = col_text(st, 1);
    b->env = col_text(st, 2);
    b->project = col_text(st, 3);
    b->database = col_text(st, 4);
    b->storage = col_text(st, 5);
    b->compression = col_text(st, 8);
    b->verified = (int)odbk_db_column_int64(st, 10);
    b->created_at = (time_t)odbk_db_column_int64(st, 11);
    b->finished_at = (time_t)odbk_db_column_int64(st, 12);
    b->db_size = (uint64_t)odbk_db_column_int64(st, 13);
    b->fs_size = (uint64_t)odbk_db_column_int64(st, 14);
    b->total_size = (uint64_t)odbk_db_column_int64(st, 15);
    b->has_filestore = (int)odbk_db_column_int64(st, 16);
    b->comment = col_text(st, 17);

    b->error = col_text(st, 19);
    b->host = col_text(st, 20);
    b->pid = (long)odbk_db_column_int64(st, 21);
    b->heartbeat_at = (time_t)odbk_db_column_int64(st, 22);
    b->odoo_version = col_text(st, 23);
    b->pg_version = col_text(st, 24);
    b->manifest = col_text(st, 25);
    b->key_id = col_text(st, 26);
    b->added_bytes = (uint64_t)odbk_db_column_int64(st, 27);
    if (col_enum(st, 6, &odbk_vocab_type, &type, err) < 0 || col_enum(st, 7, &odbk_vocab_format, &format, err) < 0 ||
        col_enum(st, 9, &odbk_vocab_status, &status, err) < 0 ||
        odbk_tier_parse(odbk_db_column_text(st, 18), &b->retention, ODBK_E_DATA, err) < 0) {
        odbk_err_prefix(err, "backup '%s' in the catalog", b->id ? b->id : "");
        odbk_err_hint(err, "a newer odbk wrote it: upgrade odbk");
        odbk_backup_release(b);
        return -1;
    }
    b->type = (enum odbk_backup_type)type;
    b->format = (enum odbk_backup_format)format;
    b->status = (enum odbk_backup_status)status;
    return 0;
}

void odbk_backup_release(struct odbk_backup *b)
{
    if (!b)
        return;
    free(b->id);
    free(b->uuid);
    free(b->env);
    free(b->project);
    free(b->database);
    free(b->storage);
    free(b->compression);
    free(b->comment);
    free(b->error);
    free(b->host);
    free(b->odoo_version);
    free(b->pg_version);
    free(b->manifest);
    free(b->key_id);
    free(b->warning);
    memset(b, 0, sizeof(*b));
}

void odbk_backup_list_free(struct odbk_backup *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        odbk_backup_release(&v[i]);
    free(v);
}

/* The env of the row with id, or NULL (malloc'd). */
static char *env_of(struct odbk_catalog *cat, const char *id)
{
    struct odbk_db_stmt *st;
    char *env = NULL;
    if (odbk_db_prepare(cat->db, "SELECT env FROM backups WHERE id = ?1", &st) < 0)
        return NULL;
    bind_text(st, 1, id);
    if (odbk_db_step(st) == ODBK_DB_ROW)
        env = col_text(st, 0);
    odbk_db_finalize(st);
    return env;
}

/* Run sql with b's columns, and refresh the env_state of the env it wrote (and of the env an update moved
 * the row from) in the same transaction; returns the rows changed, or -1. */
static int write_backup(struct odbk_catalog *cat, const char *sql, const struct odbk_backup *b,
                        struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc, own, r = -1;
    int defer = cat->batch && !strncmp(sql, "INSERT", 6) && !strstr(sql, "ON CONFLICT");
    char *old_env = NULL;
    /* test-only: from the first write of a completed row on, the catalog refuses every write (SQLite's
     * own "attempt to write a readonly database"), as a full disk or a lock held for too long would */
    if (b->status == ODBK_BACKUP_COMPLETED && odbk_failpoint("catalog-readonly"))
        odbk_db_readonly(cat->db);
    if (tx_begin(cat, &own, err) < 0)
        return -1;
    if (!strncmp(sql, "UPDATE", 6))
        old_env = env_of(cat, b->id);
    if (odbk_db_prepare(cat->db, sql, &st) < 0) {
        sql_err(cat, err, "cannot prepare");
        goto out;
    }
    bind_backup(st, b);
    if (defer) {   /* a batch's plain insert: its error, if any, fails the batch's end */
        rc = odbk_db_step_deferred(st) < 0 ? -1 : ODBK_DB_DONE;
    } else {
        rc = odbk_db_step(st);
    }
    odbk_db_finalize(st);
    if (rc != ODBK_DB_DONE) {
        sql_err(cat, err, "cannot write backup row");
        goto out;
    }
    r = defer ? 1 : (int)odbk_db_changes(cat->db);
    if (r > 0 && (env_written(cat, b->env, err) < 0 ||
                  (old_env && b->env && strcmp(old_env, b->env) && env_written(cat, old_env, err) < 0)))
        r = -1;
out:
    free(old_env);
    if (tx_end(cat, own, r < 0 ? -1 : 0, err) < 0)
        return -1;
    return r;
}

int odbk_catalog_backup_insert(struct odbk_catalog *cat, const struct odbk_backup *b, struct odbk_err *err)
{
    return write_backup(cat, "INSERT INTO backups (" BACKUP_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                        "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)",
                        b, err) < 0 ? -1 : 0;
}

/* ---- env locks ---- */

void odbk_env_lock_release(struct odbk_env_lock *l)
{
    if (!l)
        return;
    free(l->env);
    free(l->holder);
    free(l->host);
    free(l->pid_start);
    memset(l, 0, sizeof(*l));
}

int odbk_env_lock_alive(const struct odbk_env_lock *l, time_t now)
{
    /* a holder of this host is asked (its pid, and the start time against a pid reused); another host's
     * cannot be: its heartbeat tells, as a running backup's does (odbk_backup_reap_stale) */
    if (l->host && !strcmp(l->host, odbk_hostname()))
        return !odbk_pid_gone(l->pid, l->pid_start);
    return now - l->heartbeat_at < ODBK_RUN_STALE_SECONDS;
}

/* env's lock row into *l: 1 found, 0 none, -1 error.  Inside the caller's transaction. */
static int lock_read(struct odbk_catalog *cat, const char *env, struct odbk_env_lock *l, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    memset(l, 0, sizeof(*l));
    if (odbk_db_prepare(cat->db, "SELECT env, holder, host, pid, pid_start, acquired_at, heartbeat_at FROM "
                           "env_locks WHERE env = ?1", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, env);
    rc = odbk_db_step(st);
    if (rc == ODBK_DB_ROW) {
        l->env = col_text(st, 0);
        l->holder = col_text(st, 1);
        l->host = col_text(st, 2);
        l->pid = (long)odbk_db_column_int64(st, 3);
        l->pid_start = col_text(st, 4);
        l->acquired_at = (time_t)odbk_db_column_int64(st, 5);
        l->heartbeat_at = (time_t)odbk_db_column_int64(st, 6);
    }
    odbk_db_finalize(st);
    if (rc == ODBK_DB_ROW)
        return 1;
    return rc == ODBK_DB_DONE ? 0 : sql_err(cat, err, "cannot read the env's lock");
}

/* A live lock of env: 1 with *held set; a dead holder's row is removed (0); -1 error. */
static int lock_live(struct odbk_catalog *cat, const char *env, struct odbk_env_lock *held, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc = lock_read(cat, env, held, err);
    if (rc <= 0)
        return rc;
    if (odbk_env_lock_alive(held, odbk_now()))
        return 1;
    odbk_env_lock_release(held);
    if (odbk_db_prepare(cat->db, "DELETE FROM env_locks WHERE env = ?1", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, env);
    rc = odbk_db_step(st);
    odbk_db_finalize(st);
    return rc == ODBK_DB_DONE ? 0 : sql_err(cat, err, "cannot remove a dead holder's lock");
}

/* The newest backup of env pending, in progress or uploading: 1 with *running set, 0 none, -1 error. */
static int running_of(struct odbk_catalog *cat, const char *env, struct odbk_backup *running, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc, found = 0;
    if (odbk_db_prepare(cat->db,
                           "SELECT " BACKUP_COLUMNS " FROM backups WHERE env = ?1 AND status IN ('pending', "
                           "'in_progress', 'uploading') ORDER BY created_at DESC, rowid DESC LIMIT 1", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, env);
    rc = odbk_db_step(st);
    if (rc == ODBK_DB_ROW) {
        if (read_backup(st, running, err) < 0) {
            odbk_db_finalize(st);
            return -1;
        }
        found = 1;
    }
    odbk_db_finalize(st);
    if (rc != ODBK_DB_ROW && rc != ODBK_DB_DONE)
        return sql_err(cat, err, "cannot read running backups");
    return found;
}

int odbk_catalog_env_lock(struct odbk_catalog *cat, const char *env, const char *holder,
                          struct odbk_backup *running, struct odbk_env_lock *held, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    char *start;
    int rc;
    memset(running, 0, sizeof(*running));
    memset(held, 0, sizeof(*held));
    if (begin(cat, err) < 0)
        return -1;
    if ((rc = lock_env(cat, env, err)) != 0 || (rc = lock_live(cat, env, held, err)) != 0)
        goto end;
    if ((rc = running_of(cat, env, running, err)) != 0) {
        rc = rc < 0 ? -1 : 2;
        goto end;
    }
    if (odbk_db_prepare(cat->db, "INSERT INTO env_locks (env, holder, host, pid, pid_start, acquired_at, "
                           "heartbeat_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)", &st) < 0) {
        rc = sql_err(cat, err, "cannot prepare");
        goto end;
    }
    start = odbk_proc_start((long)getpid());
    bind_text(st, 1, env);
    bind_text(st, 2, holder);
    bind_text(st, 3, odbk_hostname());
    odbk_db_bind_int64(st, 4, (int64_t)getpid());
    bind_text(st, 5, start);
    odbk_db_bind_int64(st, 6, (int64_t)odbk_now());
    rc = odbk_db_step(st) == ODBK_DB_DONE ? 0 : sql_err(cat, err, "cannot take the env's lock");
    odbk_db_finalize(st);
    free(start);
end:
    if (rc < 0 || commit(cat, err) < 0) {
        odbk_db_rollback(cat->db);
        odbk_backup_release(running);
        odbk_env_lock_release(held);
        return -1;
    }
    if (rc != 2)
        odbk_backup_release(running);
    if (rc != 1)
        odbk_env_lock_release(held);
    return rc;
}

/* The statements of this process's lock of env: a heartbeat (UPDATE) or the release (DELETE). */
static int lock_own(struct odbk_catalog *cat, const char *sql, int beat, const char *env, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    if (odbk_db_prepare(cat->db, sql, &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, env);
    bind_text(st, 2, odbk_hostname());
    odbk_db_bind_int64(st, 3, (int64_t)getpid());
    if (beat)
        odbk_db_bind_int64(st, 4, (int64_t)odbk_now());
    rc = odbk_db_step(st);
    odbk_db_finalize(st);
    if (rc != ODBK_DB_DONE)
        return sql_err(cat, err, "cannot write the env's lock");
    return odbk_db_changes(cat->db) > 0;
}

int odbk_catalog_env_lock_beat(struct odbk_catalog *cat, const char *env, struct odbk_err *err)
{
    int r = lock_own(cat, "UPDATE env_locks SET heartbeat_at = ?4 WHERE env = ?1 AND host = ?2 AND pid = ?3",
                     1, env, err);
    if (r == 0)
        return odbk_err_set(err, ODBK_E_TEMPFAIL, "the lock of environment '%s' was taken over (no heartbeat "
                            "for %d minutes): stopped", env, ODBK_RUN_STALE_SECONDS / 60);
    return r < 0 ? -1 : 0;
}

int odbk_catalog_env_unlock(struct odbk_catalog *cat, const char *env, struct odbk_err *err)
{
    return lock_own(cat, "DELETE FROM env_locks WHERE env = ?1 AND host = ?2 AND pid = ?3", 0, env, err) < 0 ? -1
                                                                                                           : 0;
}

/* A scheduled backup of env made at or after since, completed or expired: 1, 0 none, -1 error. */
static int done_since(struct odbk_catalog *cat, const char *env, time_t since, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    if (odbk_db_prepare(cat->db, "SELECT 1 FROM backups WHERE env = ?1 AND status IN ('completed', 'expired') AND "
                        "type = 'scheduled' AND created_at >= ?2 LIMIT 1", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, env);
    odbk_db_bind_int64(st, 2, (int64_t)since);
    rc = odbk_db_step(st);
    odbk_db_finalize(st);
    if (rc == ODBK_DB_ROW)
        return 1;
    return rc == ODBK_DB_DONE ? 0 : sql_err(cat, err, "cannot read the env's backups");
}

int odbk_catalog_due_taken(struct odbk_catalog *cat, const char *env, time_t since, struct odbk_err *err)
{
    struct odbk_backup running;
    int rc = running_of(cat, env, &running, err);
    if (rc == 1)
        odbk_backup_release(&running);
    if (rc == 0 && since)
        rc = done_since(cat, env, since, err);
    return rc;
}

int odbk_catalog_backup_insert_exclusive(struct odbk_catalog *cat, const struct odbk_backup *b,
                                         struct odbk_backup *running, struct odbk_env_lock *held,
                                         struct odbk_err *err)
{
    return odbk_catalog_backup_insert_due(cat, b, 0, running, held, err);
}

static int insert_due(struct odbk_catalog *cat, const struct odbk_backup *b, time_t since,
                      struct odbk_backup *running, struct odbk_env_lock *held, struct odbk_err *err);

int odbk_catalog_backup_insert_due(struct odbk_catalog *cat, const struct odbk_backup *b, time_t since,
                                   struct odbk_backup *running, struct odbk_env_lock *held, struct odbk_err *err)
{
    int rc, attempt;
    /* a deadlock or serialization failure PostgreSQL chose this transaction for: run it again (SQLite's
     * busy waits are its busy timeout's) */
    for (attempt = 0;; attempt++) {
        rc = insert_due(cat, b, since, running, held, err);
        if (rc >= 0 || attempt == 4 || odbk_db_engine(cat->db) != ODBK_DB_PG || !odbk_db_retryable(cat->db))
            return rc;
        odbk_err_clear(err);
        usleep(20000u << attempt);
    }
}

static int insert_due(struct odbk_catalog *cat, const struct odbk_backup *b, time_t since,
                      struct odbk_backup *running, struct odbk_env_lock *held, struct odbk_err *err)
{
    int rc;
    memset(running, 0, sizeof(*running));
    memset(held, 0, sizeof(*held));
    if (begin(cat, err) < 0)
        return -1;
    if ((rc = lock_env(cat, b->env, err)) == 0 && (rc = running_of(cat, b->env, running, err)) == 0 &&
        (rc = lock_live(cat, b->env, held, err)) == 1)
        rc = 2;
    if (rc == 0 && since && (rc = done_since(cat, b->env, since, err)) == 1)
        rc = 3;
    if (rc < 0)
        goto fail;
    if (!rc && odbk_catalog_backup_insert(cat, b, err) < 0)
        goto fail;
    if (commit(cat, err) < 0)
        goto fail;
    return rc;
fail:
    odbk_db_rollback(cat->db);
    odbk_backup_release(running);
    odbk_env_lock_release(held);
    return -1;
}

/* A known id's storage and whether its manifest is b's: 1 found, 0 no such row, -1 error. */
static int import_known(struct odbk_catalog *cat, const struct odbk_backup *b, char **storage, int *same,
                        struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    if (odbk_db_prepare(cat->db, "SELECT storage, CASE WHEN manifest IS NOT DISTINCT FROM ?2 THEN 1 ELSE 0 END "
                        "FROM backups WHERE id = ?1", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, b->id);
    bind_text(st, 2, b->manifest);
    rc = odbk_db_step(st);
    if (rc == ODBK_DB_ROW) {
        *storage = col_text(st, 0);
        *same = (int)odbk_db_column_int64(st, 1);
    }
    odbk_db_finalize(st);
    if (rc == ODBK_DB_ROW)
        return 1;
    return rc == ODBK_DB_DONE ? 0 : sql_err(cat, err, "cannot read backup");
}

int odbk_catalog_backup_import(struct odbk_catalog *cat, const struct odbk_backup *b, char **storage, int *same,
                               struct odbk_err *err)
{
    int rc;
    *storage = NULL;
    *same = 0;
    /* One statement in the common case, whichever it is: the ids of one rescan are mostly all new (an empty
     * catalog) or mostly all known (a rescan again), so the statement that answered the last import is
     * tried first: the lookup after a known id, the insert (which ignores a known id) after a new one. */
    if (cat->import_known && (rc = import_known(cat, b, storage, same, err)) != 0)
        return rc;
    if ((rc = write_backup(cat, "INSERT INTO backups (" BACKUP_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, "
                           "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, "
                           "?24, ?25, ?26, ?27, ?28) ON CONFLICT DO NOTHING",
                           b, err)) < 0)
        return -1;
    if (rc == 1) {
        cat->import_known = 0;
        return 0;
    }
    if ((rc = import_known(cat, b, storage, same, err)) == 1) {
        cat->import_known = 1;
        return 1;
    }
    if (rc == 0)   /* ignored for another constraint than its id's */
        return odbk_err_set(err, ODBK_E_DATA, "catalog '%s': backup row '%s' refused", cat->path, b->id);
    return -1;
}

int odbk_catalog_backup_update(struct odbk_catalog *cat, const struct odbk_backup *b, struct odbk_err *err)
{
    return write_backup(cat, "UPDATE backups SET uuid = ?2, env = ?3, project = ?4, database = ?5, storage = ?6, "
                        "type = ?7, format = ?8, compression = ?9, status = ?10, verified = ?11, created_at = ?12, "
                        "finished_at = ?13, db_size = ?14, fs_size = ?15, total_size = ?16, has_filestore = ?17, "
                        "comment = ?18, retention = ?19, error = ?20, host = ?21, pid = ?22, heartbeat_at = ?23, "
                        "odoo_version = ?24, pg_version = ?25, manifest = ?26, key_id = ?27, "
                        "added_bytes = ?28 WHERE id = ?1",
                        b, err) < 0 ? -1 : 0;
}

int odbk_catalog_backup_set_status(struct odbk_catalog *cat, const char *id, enum odbk_backup_status status,
                                   const char *error, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc, own, r = -1;
    char *env = NULL;
    if (tx_begin(cat, &own, err) < 0)
        return -1;
    if (odbk_db_prepare(cat->db,
                           "UPDATE backups SET status = ?2, error = COALESCE(?3, error), "
                           "finished_at = CASE WHEN ?2 IN ('completed', 'failed') AND finished_at = 0 "
                           "THEN ?4 ELSE finished_at END WHERE id = ?1", &st) < 0) {
        sql_err(cat, err, "cannot prepare");
        goto out;
    }
    bind_text(st, 1, id);
    bind_text(st, 2, odbk_status_name(status));
    bind_text(st, 3, error);
    odbk_db_bind_int64(st, 4, (int64_t)odbk_now());
    rc = odbk_db_step(st);
    odbk_db_finalize(st);
    if (rc != ODBK_DB_DONE) {
        sql_err(cat, err, "cannot update backup status");
        goto out;
    }
    r = 0;
    if (odbk_db_changes(cat->db) > 0 && (env = env_of(cat, id)) && env_written(cat, env, err) < 0)
        r = -1;
out:
    free(env);
    return tx_end(cat, own, r, err);
}

int odbk_catalog_heartbeat(struct odbk_catalog *cat, const char *id, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    if (odbk_db_prepare(cat->db, "UPDATE backups SET heartbeat_at = ?2 WHERE id = ?1", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, id);
    odbk_db_bind_int64(st, 2, (int64_t)odbk_now());
    rc = odbk_db_step(st);
    odbk_db_finalize(st);
    return rc == ODBK_DB_DONE ? 0 : sql_err(cat, err, "cannot write heartbeat");
}

int odbk_catalog_backup_get(struct odbk_catalog *cat, const char *id, struct odbk_backup *out,
                            struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc, n = 0, pass, bad = 0;
    char *upper = odbk_xasprintf("%s\x7f", id);   /* ids are ASCII: [id, id DEL) holds every id starting so */
    memset(out, 0, sizeof(*out));
    /* the id itself (the primary key), then, for a prefix of 8 characters or more, the ids it starts: both
     * through the index (an "id LIKE" or an OR read the whole table, once per call: rescan was quadratic) */
    for (pass = 0; pass < 2 && n == 0; pass++) {
        if (pass == 1 && strlen(id) < 8)
            break;
        if (odbk_db_prepare(cat->db,
                               pass ? "SELECT " BACKUP_COLUMNS " FROM backups WHERE id >= ?1 AND id < ?2 ORDER BY id "
                                      "LIMIT 2"
                                    : "SELECT " BACKUP_COLUMNS " FROM backups WHERE id = ?1", &st) < 0) {
            free(upper);
            return sql_err(cat, err, "cannot prepare");
        }
        bind_text(st, 1, id);
        if (pass)
            bind_text(st, 2, upper);
        while ((rc = odbk_db_step(st)) == ODBK_DB_ROW) {
            if (n++ == 0 && read_backup(st, out, err) < 0) {
                bad = 1;
                break;
            }
        }
        odbk_db_finalize(st);
        if (bad) {
            free(upper);
            return -1;
        }
        if (rc != ODBK_DB_DONE) {
            if (n)
                odbk_backup_release(out);
            free(upper);
            return sql_err(cat, err, "cannot read backup");
        }
    }
    free(upper);
    if (n == 0)
        return odbk_err_set(err, ODBK_E_NOINPUT, "no backup '%s' in the catalog", id),
               odbk_err_hint(err, "odbk-list shows the backups; odbk-list --rescan reads them from storage"), -1;
    if (n > 1) {
        odbk_backup_release(out);
        return odbk_err_set(err, ODBK_E_USAGE, "backup id prefix '%s' is ambiguous", id);
    }
    return 0;
}

/* " AND column IN (?, ?)": one placeholder per bit of mask that names a word of v. */
static size_t in_names(char *sql, size_t size, size_t len, const char *column, unsigned mask,
                       const struct odbk_vocab *v)
{
    int i, k = 0;
    len += (size_t)snprintf(sql + len, size - len, " AND %s IN (", column);
    for (i = 0; odbk_vocab_name(v, i); i++)
        if (mask & ODBK_ONLY(i))
            len += (size_t)snprintf(sql + len, size - len, "%s?", k++ ? ", " : "");
    return len + (size_t)snprintf(sql + len, size - len, ")");
}

/* The names of in_names' placeholders, from index bi; returns the next index. */
static int bind_names(struct odbk_db_stmt *st, int bi, unsigned mask, const struct odbk_vocab *v)
{
    int i;
    for (i = 0; odbk_vocab_name(v, i); i++)
        if (mask & ODBK_ONLY(i))
            bind_text(st, bi++, odbk_vocab_name(v, i));
    return bi;
}

/* One page of backup_each: the rows of f after (at, rowid) when after is set, at most limit (0: all), to
 * cb; *n the rows read, *at and *rowid the last one's.  Returns 0, cb's stop value, or -1. */
static int each_page(struct odbk_catalog *cat, const struct odbk_backup_filter *f, int after, int64_t *at,
                     int64_t *rowid, size_t limit, size_t *n, odbk_backup_cb cb, void *ctx, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    char sql[2048];
    size_t len, i;
    int rc, bi = 1, stop = 0;
    *n = 0;
    /* without the manifest (2 KB a row, most of the table's pages) when not wanted: the same columns */
    len = (size_t)snprintf(sql, sizeof(sql), "SELECT %s, rowid FROM backups WHERE true",
                           f && f->no_manifest ? BACKUP_COLUMNS_NO_MANIFEST : BACKUP_COLUMNS);
    if (f && f->envs && f->envs[0]) {
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND env IN (");
        for (i = 0; f->envs[i] && i < 100; i++)
            len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s?", i ? ", " : "");
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, ")");
    }
    if (f && f->project)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND project = ?");
    if (f && f->statuses)
        len = in_names(sql, sizeof(sql), len, "status", f->statuses, &odbk_vocab_status);
    if (f && f->types)
        len = in_names(sql, sizeof(sql), len, "type", f->types, &odbk_vocab_type);
    if (f && f->storage)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND storage = ?");
    if (f && f->search)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len,
                                " AND (instr(lower(env), lower(?)) > 0 OR instr(lower(project), lower(?)) > 0 "
                                "OR instr(lower(database), lower(?)) > 0)");
    if (f && f->since)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND created_at >= ?");
    if (f && f->until)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND created_at <= ?");
    if (after)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND (created_at, rowid) < (?, ?)");
    /* the index on created_at gives this order: no sort, rows come as they are read; by_status: the same
     * order of an expression no index gives, so that the (env, status) index finds the few rows and they
     * are sorted (an env's history would be read through (env, created_at) only to be filtered out) */
    len += (size_t)snprintf(sql + len, sizeof(sql) - len, " ORDER BY created_at%s DESC, rowid DESC",
                            f && f->by_status ? " + 0" : "");
    if (limit)
        snprintf(sql + len, sizeof(sql) - len, " LIMIT ?");
    if (odbk_db_prepare(cat->db, sql, &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    if (f && f->envs)
        for (i = 0; f->envs[i] && i < 100; i++)
            bind_text(st, bi++, f->envs[i]);
    if (f && f->project)
        bind_text(st, bi++, f->project);
    if (f && f->statuses)
        bi = bind_names(st, bi, f->statuses, &odbk_vocab_status);
    if (f && f->types)
        bi = bind_names(st, bi, f->types, &odbk_vocab_type);
    if (f && f->storage)
        bind_text(st, bi++, f->storage);
    if (f && f->search) {
        bind_text(st, bi++, f->search);
        bind_text(st, bi++, f->search);
        bind_text(st, bi++, f->search);
    }
    if (f && f->since)
        odbk_db_bind_int64(st, bi++, (int64_t)f->since);
    if (f && f->until)
        odbk_db_bind_int64(st, bi++, (int64_t)f->until);
    if (after) {
        odbk_db_bind_int64(st, bi++, *at);
        odbk_db_bind_int64(st, bi++, *rowid);
    }
    if (limit)
        odbk_db_bind_int64(st, bi++, (int64_t)limit);
    while (!stop && (rc = odbk_db_step(st)) == ODBK_DB_ROW) {
        struct odbk_backup b;
        if (read_backup(st, &b, err) < 0) {
            odbk_db_finalize(st);
            return -1;
        }
        *at = (int64_t)b.created_at;
        *rowid = odbk_db_column_int64(st, 28);
        (*n)++;
        stop = cb(ctx, &b);
        odbk_backup_release(&b);
    }
    odbk_db_finalize(st);
    if (stop)
        return stop;
    return rc == ODBK_DB_DONE ? 0 : sql_err(cat, err, "cannot list backups");
}

int odbk_catalog_backup_each(struct odbk_catalog *cat, const struct odbk_backup_filter *f, odbk_backup_cb cb,
                             void *ctx, struct odbk_err *err)
{
    /* SQLite steps through its rows as they are read; libpq holds a statement's whole answer, so on
     * PostgreSQL the rows come in pages of PAGE, each from where the one before ended (the order's index) */
    const size_t PAGE = 5000;
    size_t want = f && f->limit ? f->limit : 0, got = 0, n;
    int64_t at = 0, rowid = 0;
    int r, after = 0;
    if (odbk_db_engine(cat->db) != ODBK_DB_PG)
        return each_page(cat, f, 0, &at, &rowid, want, &n, cb, ctx, err);
    for (;;) {
        size_t lim = want && want - got < PAGE ? want - got : PAGE;
        if ((r = each_page(cat, f, after, &at, &rowid, lim, &n, cb, ctx, err)) != 0)
            return r;
        got += n;
        if (n < lim || (want && got >= want))
            return 0;
        after = 1;
    }
}

int odbk_catalog_storage_completed(struct odbk_catalog *cat, const char *storage, size_t *n, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    *n = 0;
    if (odbk_db_prepare(cat->db, "SELECT count(*) FROM backups WHERE storage = ?1 AND status = 'completed'", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, storage);
    if ((rc = odbk_db_step(st)) == ODBK_DB_ROW)
        *n = (size_t)odbk_db_column_int64(st, 0);
    odbk_db_finalize(st);
    return rc == ODBK_DB_ROW ? 0 : sql_err(cat, err, "cannot count backups");
}

int odbk_catalog_env_storages(struct odbk_catalog *cat, const char *env, unsigned statuses, char ***out, size_t *n,
                              struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    char sql[512];
    size_t len;
    int rc;
    *out = NULL;
    *n = 0;
    len = (size_t)snprintf(sql, sizeof(sql), "SELECT DISTINCT storage FROM backups WHERE env = ?1");
    if (statuses)
        len = in_names(sql, sizeof(sql), len, "status", statuses, &odbk_vocab_status);
    snprintf(sql + len, sizeof(sql) - len, " ORDER BY storage");
    if (odbk_db_prepare(cat->db, sql, &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, env);
    if (statuses)
        bind_names(st, 2, statuses, &odbk_vocab_status);
    while ((rc = odbk_db_step(st)) == ODBK_DB_ROW) {
        *out = odbk_xrealloc(*out, (*n + 1) * sizeof(char *));
        (*out)[(*n)++] = col_text(st, 0);
    }
    odbk_db_finalize(st);
    if (rc != ODBK_DB_DONE) {
        while (*n)
            free((*out)[--*n]);
        free(*out);
        *out = NULL;
        *n = 0;
        return sql_err(cat, err, "cannot list the env's storages");
    }
    return 0;
}

struct collect {
    struct odbk_backup *v;
    size_t n, cap;
};

static int collect_one(void *ctx, struct odbk_backup *b)
{
    struct collect *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = odbk_xrealloc(c->v, c->cap * sizeof(*c->v));
    }
    c->v[c->n++] = *b;
    memset(b, 0, sizeof(*b));
    return 0;
}

int odbk_catalog_backup_list(struct odbk_catalog *cat, const struct odbk_backup_filter *f,
                             struct odbk_backup **out, size_t *n, struct odbk_err *err)
{
    struct collect c = {NULL, 0, 0};
    *out = NULL;
    *n = 0;
    if (odbk_catalog_backup_each(cat, f, collect_one, &c, err) < 0) {
        odbk_backup_list_free(c.v, c.n);
        return -1;
    }
    *out = c.v;
    *n = c.n;
    return 0;
}

/* ---- audit ---- */

int odbk_catalog_audit_add(struct odbk_catalog *cat, const struct odbk_audit *a, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc, own, r = -1;
    const char *user = a->user;
    if (!user) {
        struct passwd *pw = getpwuid(geteuid());
        user = pw ? pw->pw_name : "?";
    }
    if (tx_begin(cat, &own, err) < 0)
        return -1;
    if (odbk_db_prepare(cat->db,
                           "INSERT INTO audit (at, \"user\", host, action, backup_id, env, source, target, options, "
                           "result, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", &st) < 0) {
        sql_err(cat, err, "cannot prepare");
        return tx_end(cat, own, -1, err);
    }
    odbk_db_bind_int64(st, 1, (int64_t)(a->at ? a->at : odbk_now()));
    bind_text(st, 2, user);
    bind_text(st, 3, a->host ? a->host : odbk_hostname());
    bind_text(st, 4, a->action);
    bind_text(st, 5, a->backup_id);
    bind_text(st, 6, a->env);
    bind_text(st, 7, a->source);
    bind_text(st, 8, a->target);
    bind_text(st, 9, a->options);
    bind_text(st, 10, a->result ? a->result : "ok");
    bind_text(st, 11, a->detail);
    rc = cat->batch ? (odbk_db_step_deferred(st) < 0 ? -1 : ODBK_DB_DONE) : odbk_db_step(st);   /* as write_backup */
    odbk_db_finalize(st);
    if (rc != ODBK_DB_DONE)
        sql_err(cat, err, "cannot write audit entry");
    else   /* a failed scheduled attempt counts in its env's figures */
        r = a->action && !strcmp(a->action, "schedule") ? env_written(cat, a->env, err) : 0;
    return tx_end(cat, own, r, err);
}

/* The integer columns of one row (0 when NULL or no row): out[0..n-1]; ?1 is env, ?2 (if any) arg. */
static int query_ints(struct odbk_catalog *cat, const char *sql, const char *env, int64_t arg, int64_t *out,
                      int n, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc, i;
    for (i = 0; i < n; i++)
        out[i] = 0;
    if (odbk_db_prepare(cat->db, sql, &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, env);
    odbk_db_bind_int64(st, 2, arg);
    rc = odbk_db_step(st);
    for (i = 0; rc == ODBK_DB_ROW && i < n; i++)
        out[i] = odbk_db_column_int64(st, i);
    odbk_db_finalize(st);
    if (rc != ODBK_DB_ROW && rc != ODBK_DB_DONE)
        return sql_err(cat, err, "cannot read");
    return 0;
}

#define ENV_STATE_COLUMNS                                                                                     \
    "env, completed, latest_id, latest_at, failed_id, failed_at, failed_error, running, scheduled_at, "        \
    "schedule_failures, schedule_failed_at, plan_from, plan_until, plan_policy"

static void read_env_state(struct odbk_db_stmt *st, struct odbk_env_summary *s)
{
    s->env = col_text(st, 0);
    s->completed = (size_t)odbk_db_column_int64(st, 1);
    s->latest_id = col_text(st, 2);
    s->latest_at = (time_t)odbk_db_column_int64(st, 3);
    s->failed_id = col_text(st, 4);
    s->failed_at = (time_t)odbk_db_column_int64(st, 5);
    s->failed_error = col_text(st, 6);
    s->running = odbk_db_column_int64(st, 7) != 0;
    s->last_scheduled_success = (time_t)odbk_db_column_int64(st, 8);
    s->schedule_failures = (size_t)odbk_db_column_int64(st, 9);
    s->schedule_failed_at = (time_t)odbk_db_column_int64(st, 10);
    s->plan_from = (time_t)odbk_db_column_int64(st, 11);
    s->plan_until = (time_t)odbk_db_column_int64(st, 12);
    s->plan_policy = col_text(st, 13);
}

static int cmp_id_status(const void *a, const void *b)
{
    return strcmp(((const struct odbk_plan_row *)a)->id, ((const struct odbk_plan_row *)b)->id);
}

int odbk_catalog_plan_record(struct odbk_catalog *cat, const char *env, const struct odbk_plan_row *rows,
                             size_t n, time_t from, time_t until, const char *policy, int *written,
                             struct odbk_err *err)
{
    struct odbk_plan_row *want;
    struct odbk_db_stmt *st = NULL;
    size_t seen = 0;
    int rc, r = -1, same = 1;
    *written = 0;
    if (odbk_db_in_tx(cat->db))   /* inside another transaction: it could not be undone alone */
        return 0;
    if (begin(cat, err) < 0)
        return -1;
    want = odbk_xcalloc(n ? n : 1, sizeof(*want));
    memcpy(want, rows, n * sizeof(*want));
    qsort(want, n, sizeof(*want), cmp_id_status);
    /* The record first: its row is then this transaction's, so a writer of the env's rows that refreshes it
     * comes after (and resets it) or came before, and its rows are seen below. */
    if (odbk_db_prepare(cat->db, "UPDATE env_state SET plan_from = ?2, plan_until = ?3, plan_policy = ?4 "
                                 "WHERE env = ?1", &st) < 0) {
        sql_err(cat, err, "cannot prepare");
        goto out;
    }
    bind_text(st, 1, env);
    odbk_db_bind_int64(st, 2, (int64_t)from);
    odbk_db_bind_int64(st, 3, (int64_t)until);
    bind_text(st, 4, policy);
    if (odbk_db_step(st) != ODBK_DB_DONE) {
        sql_err(cat, err, "cannot write the env's plan record");
        goto out;
    }
    odbk_db_finalize(st);
    st = NULL;
    if (odbk_db_changes(cat->db) <= 0) {   /* no env_state row: nothing to record */
        r = 0;
        goto out;
    }
    if (odbk_db_prepare(cat->db, "SELECT id, status FROM backups WHERE env = ?1 AND status <> 'expired'", &st) < 0) {
        sql_err(cat, err, "cannot prepare");
        goto out;
    }
    bind_text(st, 1, env);
    while (same && (rc = odbk_db_step(st)) == ODBK_DB_ROW) {
        struct odbk_plan_row key = {odbk_db_column_text(st, 0), 0}, *hit;
        const char *name = odbk_db_column_text(st, 1);
        hit = key.id ? bsearch(&key, want, n, sizeof(*want), cmp_id_status) : NULL;
        same = hit && name && (int)hit->status == odbk_vocab_find(&odbk_vocab_status, name);
        seen++;
    }
    if (same && rc != ODBK_DB_DONE) {
        sql_err(cat, err, "cannot read the env's rows");
        goto out;
    }
    r = 0;
    if (!same || seen != n)   /* a row came, went or changed since the prune read them: no record */
        goto out;
    odbk_db_finalize(st);
    st = NULL;
    free(want);
    if (commit(cat, err) < 0)
        return -1;
    *written = 1;
    return 0;
out:
    odbk_db_finalize(st);
    free(want);
    odbk_db_rollback(cat->db);
    return r;
}

int odbk_catalog_env_summary(struct odbk_catalog *cat, const char *env, struct odbk_env_summary *s,
                             struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    memset(s, 0, sizeof(*s));
    if (odbk_db_prepare(cat->db, "SELECT " ENV_STATE_COLUMNS " FROM env_state WHERE env = ?1", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, env);
    if ((rc = odbk_db_step(st)) == ODBK_DB_ROW)
        read_env_state(st, s);
    odbk_db_finalize(st);
    if (rc != ODBK_DB_ROW && rc != ODBK_DB_DONE)
        return sql_err(cat, err, "cannot read the env's figures");
    return 0;
}

static int cmp_summary(const void *a, const void *b)
{
    return strcmp(((const struct odbk_env_summary *)a)->env, ((const struct odbk_env_summary *)b)->env);
}

int odbk_catalog_env_summaries(struct odbk_catalog *cat, struct odbk_env_summaries *out, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    size_t cap = 0;
    int rc;
    memset(out, 0, sizeof(*out));
    if (odbk_db_prepare(cat->db, "SELECT " ENV_STATE_COLUMNS " FROM env_state", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    while ((rc = odbk_db_step(st)) == ODBK_DB_ROW) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 256;
            out->v = odbk_xrealloc(out->v, cap * sizeof(*out->v));
        }
        memset(&out->v[out->n], 0, sizeof(out->v[0]));
        read_env_state(st, &out->v[out->n]);
        if (out->v[out->n].env)
            out->n++;
        else
            odbk_env_summary_release(&out->v[out->n]);
    }
    odbk_db_finalize(st);
    if (rc != ODBK_DB_DONE) {
        odbk_env_summaries_release(out);
        return sql_err(cat, err, "cannot read the envs' figures");
    }
    /* sorted here, not by the database: its collation need not be strcmp's */
    if (out->n)
        qsort(out->v, out->n, sizeof(*out->v), cmp_summary);
    return 0;
}

const struct odbk_env_summary *odbk_env_summaries_find(const struct odbk_env_summaries *all, const char *env)
{
    struct odbk_env_summary key;
    if (!all->n)
        return NULL;
    key.env = (char *)env;
    return bsearch(&key, all->v, all->n, sizeof(*all->v), cmp_summary);
}

void odbk_env_summaries_release(struct odbk_env_summaries *all)
{
    size_t i;
    for (i = 0; i < all->n; i++)
        odbk_env_summary_release(&all->v[i]);
    free(all->v);
    memset(all, 0, sizeof(*all));
}

void odbk_env_summary_release(struct odbk_env_summary *s)
{
    if (!s)
        return;
    free(s->env);
    free(s->latest_id);
    free(s->failed_id);
    free(s->failed_error);
    free(s->plan_policy);
    memset(s, 0, sizeof(*s));
}

int odbk_catalog_schedule_failures(struct odbk_catalog *cat, const char *env, time_t after, size_t *count,
                                   time_t *last, struct odbk_err *err)
{
    int64_t v[2];
    if (query_ints(cat, "SELECT count(*), max(at) FROM audit WHERE env = ?1 AND at > ?2 AND action = 'schedule' "
                        "AND result = 'failed'", env, (int64_t)after, v, 2, err) < 0)
        return -1;
    *count = (size_t)v[0];
    *last = (time_t)v[1];
    return 0;
}

int odbk_catalog_audit_list(struct odbk_catalog *cat, const char *env, struct odbk_audit **out, size_t *n,
                            struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    size_t cap = 0;
    int rc;
    struct odbk_audit *v = NULL;
#define AUDIT_COLUMNS "SELECT at, \"user\", host, action, backup_id, env, source, target, options, result, detail "
    if (odbk_db_prepare(cat->db,
                           env ? AUDIT_COLUMNS "FROM audit WHERE env = ?1 ORDER BY at DESC, id DESC" /* audit_env_at */
                               : AUDIT_COLUMNS "FROM audit WHERE CAST(?1 AS TEXT) IS NULL ORDER BY at DESC, id DESC", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, env);
    *n = 0;
    while ((rc = odbk_db_step(st)) == ODBK_DB_ROW) {
        struct odbk_audit *a;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            v = odbk_xrealloc(v, cap * sizeof(*v));
        }
        a = &v[(*n)++];
        a->at = (time_t)odbk_db_column_int64(st, 0);
        a->user = col_text(st, 1);
        a->host = col_text(st, 2);
        a->action = col_text(st, 3);
        a->backup_id = col_text(st, 4);
        a->env = col_text(st, 5);
        a->source = col_text(st, 6);
        a->target = col_text(st, 7);
        a->options = col_text(st, 8);
        a->result = col_text(st, 9);
        a->detail = col_text(st, 10);
    }
    odbk_db_finalize(st);
    if (rc != ODBK_DB_DONE) {
        odbk_audit_list_free(v, *n);
        *n = 0;
        return sql_err(cat, err, "cannot list the audit log");
    }
    *out = v;
    return 0;
}

void odbk_audit_list_free(struct odbk_audit *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        free(v[i].user);
        free(v[i].host);
        free(v[i].action);
        free(v[i].backup_id);
        free(v[i].env);
        free(v[i].source);
        free(v[i].target);
        free(v[i].options);
        free(v[i].result);
        free(v[i].detail);
    }
    free(v);
}

/* ---- collections due ---- */

int odbk_catalog_gc_due_set(struct odbk_catalog *cat, const char *env, const char *storage, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    if (odbk_db_prepare(cat->db, "INSERT INTO gc_due (env, storage, gen, since) VALUES (?1, ?2, 1, ?3) "
                           "ON CONFLICT (env, storage) DO UPDATE SET gen = gc_due.gen + 1", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, env);
    bind_text(st, 2, storage);
    odbk_db_bind_int64(st, 3, (int64_t)odbk_now());
    rc = odbk_db_step(st);
    odbk_db_finalize(st);
    return rc == ODBK_DB_DONE ? 0 : sql_err(cat, err, "cannot record a collection due");
}

int odbk_catalog_gc_due_get(struct odbk_catalog *cat, const char *env, const char *storage, int64_t *gen,
                            struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    *gen = 0;
    if (odbk_db_prepare(cat->db, "SELECT gen FROM gc_due WHERE env = ?1 AND storage = ?2", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, env);
    bind_text(st, 2, storage);
    rc = odbk_db_step(st);
    if (rc == ODBK_DB_ROW)
        *gen = odbk_db_column_int64(st, 0);
    odbk_db_finalize(st);
    if (rc == ODBK_DB_ROW)
        return 1;
    return rc == ODBK_DB_DONE ? 0 : sql_err(cat, err, "cannot read the collections due");
}

int odbk_catalog_gc_due_clear(struct odbk_catalog *cat, const char *env, const char *storage, int64_t gen,
                              struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    if (odbk_db_prepare(cat->db, "DELETE FROM gc_due WHERE env = ?1 AND storage = ?2 AND gen = ?3", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, env);
    bind_text(st, 2, storage);
    odbk_db_bind_int64(st, 3, (int64_t)gen);
    rc = odbk_db_step(st);
    odbk_db_finalize(st);
    return rc == ODBK_DB_DONE ? 0 : sql_err(cat, err, "cannot clear a collection due");
}

int odbk_catalog_gc_due_list(struct odbk_catalog *cat, const char *env, char ***storages, size_t *n,
                             struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    *storages = NULL;
    *n = 0;
    if (odbk_db_prepare(cat->db, "SELECT storage FROM gc_due WHERE env = ?1 ORDER BY storage", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, env);
    while ((rc = odbk_db_step(st)) == ODBK_DB_ROW) {
        *storages = odbk_xrealloc(*storages, (*n + 1) * sizeof(char *));
        (*storages)[(*n)++] = col_text(st, 0);
    }
    odbk_db_finalize(st);
    if (rc == ODBK_DB_DONE)
        return 0;
    odbk_catalog_gc_due_list_free(*storages, *n);
    *storages = NULL;
    *n = 0;
    return sql_err(cat, err, "cannot read the collections due");
}

void odbk_catalog_gc_due_list_free(char **storages, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        free(storages[i]);
    free(storages);
}

/* ---- removals still owed ---- */

int odbk_catalog_removal_add(struct odbk_catalog *cat, const char *storage, const char *prefix,
                             const char *backup_id, const char *error, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    if (odbk_db_prepare(cat->db,
                           "INSERT INTO removals (storage, prefix, backup_id, added_at, tried_at, error) "
                           "VALUES (?1, ?2, ?3, ?4, ?4, ?5) ON CONFLICT (storage, prefix) DO UPDATE SET "
                           "tried_at = ?4, attempts = removals.attempts + 1, error = ?5", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, storage);
    bind_text(st, 2, prefix);
    bind_text(st, 3, backup_id);
    odbk_db_bind_int64(st, 4, (int64_t)odbk_now());
    bind_text(st, 5, error);
    rc = odbk_db_step(st);
    odbk_db_finalize(st);
    return rc == ODBK_DB_DONE ? 0 : sql_err(cat, err, "cannot record a removal to retry");
}

int odbk_catalog_removal_due(struct odbk_catalog *cat, const char *storage, const char *prefix,
                             const char *backup_id, time_t due_at, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    /* a later due time wins: a link made earlier must not lose its file before it expires */
    if (odbk_db_prepare(cat->db,
                           "INSERT INTO removals (storage, prefix, backup_id, added_at, attempts, due_at) "
                           "VALUES (?1, ?2, ?3, ?4, 0, ?5) ON CONFLICT (storage, prefix) DO UPDATE SET "
                           "due_at = CASE WHEN removals.due_at < ?5 THEN ?5 ELSE removals.due_at END", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, storage);
    bind_text(st, 2, prefix);
    bind_text(st, 3, backup_id);
    odbk_db_bind_int64(st, 4, (int64_t)odbk_now());
    odbk_db_bind_int64(st, 5, (int64_t)due_at);
    rc = odbk_db_step(st);
    odbk_db_finalize(st);
    return rc == ODBK_DB_DONE ? 0 : sql_err(cat, err, "cannot record a removal");
}

int odbk_catalog_removal_done(struct odbk_catalog *cat, const char *storage, const char *prefix,
                              struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    if (odbk_db_prepare(cat->db, "DELETE FROM removals WHERE storage = ?1 AND prefix = ?2", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, storage);
    bind_text(st, 2, prefix);
    rc = odbk_db_step(st);
    odbk_db_finalize(st);
    return rc == ODBK_DB_DONE ? 0 : sql_err(cat, err, "cannot clear a removal");
}

int odbk_catalog_removal_list(struct odbk_catalog *cat, struct odbk_removal **out, size_t *n, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    size_t cap = 0;
    int rc;
    struct odbk_removal *v = NULL;
    if (odbk_db_prepare(cat->db,
                           "SELECT storage, prefix, backup_id, added_at, attempts, error FROM removals "
                           "WHERE due_at <= ?1 ORDER BY added_at, storage, prefix", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    odbk_db_bind_int64(st, 1, (int64_t)odbk_now());
    *n = 0;
    while ((rc = odbk_db_step(st)) == ODBK_DB_ROW) {
        struct odbk_removal *r;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            v = odbk_xrealloc(v, cap * sizeof(*v));
        }
        r = &v[(*n)++];
        r->storage = col_text(st, 0);
        r->prefix = col_text(st, 1);
        r->backup_id = col_text(st, 2);
        r->added_at = (time_t)odbk_db_column_int64(st, 3);
        r->attempts = (int)odbk_db_column_int64(st, 4);
        r->error = col_text(st, 5);
    }
    odbk_db_finalize(st);
    if (rc != ODBK_DB_DONE) {
        odbk_removal_list_free(v, *n);
        *n = 0;
        return sql_err(cat, err, "cannot list the removals to retry");
    }
    *out = v;
    return 0;
}

void odbk_removal_list_free(struct odbk_removal *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        free(v[i].storage);
        free(v[i].prefix);
        free(v[i].backup_id);
        free(v[i].error);
    }
    free(v);
}

/* ---- temporaries of restores and their swap journal ---- */

int odbk_catalog_temp_add(struct odbk_catalog *cat, struct odbk_restore_temp *t, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    if (odbk_db_prepare(cat->db,
                           "INSERT INTO restore_temps (host, pid, pid_start, created_at, pg, target_db, target_dir, "
                           "tmp_db, tmp_dir, old_db, old_dir, step, env) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                           "?10, ?11, ?12, ?13) RETURNING id", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, t->host);
    odbk_db_bind_int64(st, 2, t->pid);
    bind_text(st, 3, t->pid_start ? t->pid_start : "");
    odbk_db_bind_int64(st, 4, (int64_t)(t->created_at ? t->created_at : odbk_now()));
    bind_text(st, 5, t->pg ? t->pg : "");
    bind_text(st, 6, t->target_db);
    bind_text(st, 7, t->target_dir);
    bind_text(st, 8, t->tmp_db);
    bind_text(st, 9, t->tmp_dir);
    bind_text(st, 10, t->old_db);
    bind_text(st, 11, t->old_dir);
    odbk_db_bind_int64(st, 12, t->step);
    bind_text(st, 13, t->env);
    if ((rc = odbk_db_step(st)) == ODBK_DB_ROW)
        t->id = (long long)odbk_db_column_int64(st, 0);
    odbk_db_finalize(st);
    if (rc != ODBK_DB_ROW)
        return sql_err(cat, err, "cannot record the restore's temporaries");
    return 0;
}

int odbk_catalog_temp_update(struct odbk_catalog *cat, const struct odbk_restore_temp *t, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    if (odbk_db_prepare(cat->db,
                           "UPDATE restore_temps SET target_dir = ?2, tmp_dir = ?3, old_db = ?4, old_dir = ?5, "
                           "step = ?6, tmp_dev = ?7, tmp_ino = ?8, old_dev = ?9, old_ino = ?10 WHERE id = ?1", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    odbk_db_bind_int64(st, 1, t->id);
    bind_text(st, 2, t->target_dir);
    bind_text(st, 3, t->tmp_dir);
    bind_text(st, 4, t->old_db);
    bind_text(st, 5, t->old_dir);
    odbk_db_bind_int64(st, 6, t->step);
    odbk_db_bind_int64(st, 7, (int64_t)t->tmp_dev);
    odbk_db_bind_int64(st, 8, (int64_t)t->tmp_ino);
    odbk_db_bind_int64(st, 9, (int64_t)t->old_dev);
    odbk_db_bind_int64(st, 10, (int64_t)t->old_ino);
    rc = odbk_db_step(st);
    odbk_db_finalize(st);
    return rc == ODBK_DB_DONE ? 0 : sql_err(cat, err, "cannot record the swap's progress");
}

int odbk_catalog_temp_delete(struct odbk_catalog *cat, long long id, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    if (odbk_db_prepare(cat->db, "DELETE FROM restore_temps WHERE id = ?1", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    odbk_db_bind_int64(st, 1, id);
    rc = odbk_db_step(st);
    odbk_db_finalize(st);
    return rc == ODBK_DB_DONE ? 0 : sql_err(cat, err, "cannot clear the restore's temporaries");
}

int odbk_catalog_temp_list(struct odbk_catalog *cat, const char *host, struct odbk_restore_temp **out, size_t *n,
                           struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    size_t cap = 0;
    int rc;
    struct odbk_restore_temp *v = NULL;
    if (odbk_db_prepare(cat->db,
                           "SELECT id, host, pid, pid_start, created_at, pg, target_db, target_dir, tmp_db, tmp_dir, "
                           "old_db, old_dir, step, env, claim_pid, claim_start, tmp_dev, tmp_ino, old_dev, old_ino "
                           "FROM restore_temps WHERE host = ?1 "
                           "ORDER BY id", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    bind_text(st, 1, host);
    *n = 0;
    while ((rc = odbk_db_step(st)) == ODBK_DB_ROW) {
        struct odbk_restore_temp *t;
        if (*n == cap) {
            cap = cap ? cap * 2 : 4;
            v = odbk_xrealloc(v, cap * sizeof(*v));
        }
        t = &v[(*n)++];
        t->id = (long long)odbk_db_column_int64(st, 0);
        t->host = col_text(st, 1);
        t->pid = (long)odbk_db_column_int64(st, 2);
        t->pid_start = col_text(st, 3);
        t->created_at = (time_t)odbk_db_column_int64(st, 4);
        t->pg = col_text(st, 5);
        t->target_db = col_text(st, 6);
        t->target_dir = col_text(st, 7);
        t->tmp_db = col_text(st, 8);
        t->tmp_dir = col_text(st, 9);
        t->old_db = col_text(st, 10);
        t->old_dir = col_text(st, 11);
        t->step = (int)odbk_db_column_int64(st, 12);
        t->env = col_text(st, 13);
        t->claim_pid = (long)odbk_db_column_int64(st, 14);
        t->claim_start = col_text(st, 15);
        t->tmp_dev = (unsigned long long)odbk_db_column_int64(st, 16);
        t->tmp_ino = (unsigned long long)odbk_db_column_int64(st, 17);
        t->old_dev = (unsigned long long)odbk_db_column_int64(st, 18);
        t->old_ino = (unsigned long long)odbk_db_column_int64(st, 19);
    }
    odbk_db_finalize(st);
    if (rc != ODBK_DB_DONE) {
        odbk_restore_temp_list_free(v, *n);
        *n = 0;
        return sql_err(cat, err, "cannot list the restores' temporaries");
    }
    *out = v;
    return 0;
}

int odbk_catalog_temp_claim(struct odbk_catalog *cat, const struct odbk_restore_temp *t, long pid,
                            const char *pid_start, struct odbk_err *err)
{
    struct odbk_db_stmt *st;
    int rc;
    /* compare and set in one statement: of two programs that saw the same claim, one changes the row */
    if (odbk_db_prepare(cat->db,
                           "UPDATE restore_temps SET claim_pid = ?2, claim_start = ?3 WHERE id = ?1 AND "
                           "coalesce(claim_pid, 0) = ?4 AND coalesce(claim_start, '') = ?5", &st) < 0)
        return sql_err(cat, err, "cannot prepare");
    odbk_db_bind_int64(st, 1, t->id);
    odbk_db_bind_int64(st, 2, pid);
    bind_text(st, 3, pid_start ? pid_start : "");
    odbk_db_bind_int64(st, 4, t->claim_pid);
    bind_text(st, 5, t->claim_start ? t->claim_start : "");
    rc = odbk_db_step(st);
    odbk_db_finalize(st);
    if (rc != ODBK_DB_DONE)
        return sql_err(cat, err, "cannot claim the restore's temporaries");
    return odbk_db_changes(cat->db) == 1;
}

void odbk_catalog_temp_unclaim(struct odbk_catalog *cat, long long id, long pid)
{
    struct odbk_db_stmt *st;
    if (odbk_db_prepare(cat->db, "UPDATE restore_temps SET claim_pid = NULL, claim_start = NULL WHERE id = ?1 "
                           "AND claim_pid = ?2", &st) < 0)
        return;
    odbk_db_bind_int64(st, 1, id);
    odbk_db_bind_int64(st, 2, pid);
    odbk_db_step(st);
    odbk_db_finalize(st);
}

void odbk_restore_temp_release(struct odbk_restore_temp *t)
{
    free(t->env);
    free(t->claim_start);
    free(t->host);
    free(t->pid_start);
    free(t->pg);
    free(t->target_db);
    free(t->target_dir);
    free(t->tmp_db);
    free(t->tmp_dir);
    free(t->old_db);
    free(t->old_dir);
    memset(t, 0, sizeof(*t));
}

void odbk_restore_temp_list_free(struct odbk_restore_temp *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        odbk_restore_temp_release(&v[i]);
    free(v);
}
