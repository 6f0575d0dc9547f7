/* db.c - db.h's calls, each through the engine of the connection (db-impl.h). */
#include "catalog/db-impl.h"

#include <string.h>

int odbk_db_is_pg(const char *target)
{
    return target && (!strncmp(target, "postgresql://", 13) || !strncmp(target, "postgres://", 11));
}

int odbk_db_open(const char *target, const char *password, struct odbk_db **out, struct odbk_err *err)
{
    return odbk_db_is_pg(target) ? odbk_db_pg_open(target, password, out, err) : odbk_db_sqlite_open(target, out, err);
}

void odbk_db_close(struct odbk_db *db)
{
    if (db)
        db->ops->close(db);
}

enum odbk_db_engine odbk_db_engine(const struct odbk_db *db) { return db->engine; }
enum odbk_errcode odbk_db_errkind(const struct odbk_db *db) { return db->ops->errkind(db); }
const char *odbk_db_errmsg(const struct odbk_db *db) { return db->ops->errmsg(db); }
int odbk_db_retryable(const struct odbk_db *db) { return db->ops->retryable(db); }
int odbk_db_exec(struct odbk_db *db, const char *sql) { return db->ops->exec(db, sql); }

int odbk_db_prepare(struct odbk_db *db, const char *sql, struct odbk_db_stmt **out)
{
    return db->ops->prepare(db, sql, out);
}

void odbk_db_bind_text(struct odbk_db_stmt *st, int i, const char *s) { st->db->ops->bind_text(st, i, s); }
void odbk_db_bind_int64(struct odbk_db_stmt *st, int i, int64_t v) { st->db->ops->bind_int64(st, i, v); }
int odbk_db_step(struct odbk_db_stmt *st) { return st->db->ops->step(st); }
int odbk_db_step_deferred(struct odbk_db_stmt *st) { return st->db->ops->step_deferred(st); }
const char *odbk_db_column_text(struct odbk_db_stmt *st, int i) { return st->db->ops->column_text(st, i); }
int64_t odbk_db_column_int64(struct odbk_db_stmt *st, int i) { return st->db->ops->column_int64(st, i); }

void odbk_db_finalize(struct odbk_db_stmt *st)
{
    if (st)
        st->db->ops->finalize(st);
}

int64_t odbk_db_changes(struct odbk_db *db) { return db->ops->changes(db); }
int odbk_db_begin(struct odbk_db *db) { return db->ops->begin(db); }
int odbk_db_commit(struct odbk_db *db) { return db->ops->commit(db); }
void odbk_db_rollback(struct odbk_db *db) { db->ops->rollback(db); }
int odbk_db_in_tx(const struct odbk_db *db) { return db->ops->in_tx(db); }
int odbk_db_lock_key(struct odbk_db *db, const char *key) { return db->ops->lock_key(db, key); }
int odbk_db_hold(struct odbk_db *db, const char *key) { return db->ops->hold(db, key, 1); }
void odbk_db_release(struct odbk_db *db, const char *key) { db->ops->hold(db, key, 0); }
int odbk_db_schema_version(struct odbk_db *db, int *version) { return db->ops->schema_version(db, version); }
int odbk_db_set_schema_version(struct odbk_db *db, int version) { return db->ops->set_schema_version(db, version); }

const char *odbk_db_migration_extra(const struct odbk_db *db, int step)
{
    return db->ops->migration_extra(db, step);
}

void odbk_db_readonly(struct odbk_db *db) { db->ops->readonly(db); }
