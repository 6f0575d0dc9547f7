/* db.h - the catalog's statement interface: catalog.c's one SQL text run by SQLite (db-sqlite.c) or
 * PostgreSQL (db-pg.c).
 *
 * Statements are written once in the SQL both engines accept: numbered parameters ?1.. (a bare ? is the
 * next number, as SQLite counts), ON CONFLICT ... DO UPDATE/NOTHING, RETURNING, "user" quoted, integer
 * columns as INTEGER (PostgreSQL's are BIGINT: the DDL of a migration is translated, see db-pg.c), text
 * compared byte-wise (PostgreSQL's text columns are COLLATE "C").  What truly differs is a hook here: the
 * schema version, the engine's additions after a migration step, the cross-host lock of a key, the
 * read-only failpoint.  The functions do not take an odbk_err: a failure is kept (odbk_db_errkind,
 * odbk_db_errmsg) and catalog.c words it. */
#ifndef ODBK_CATALOG_DB_H
#define ODBK_CATALOG_DB_H

#include <stdint.h>

#include "common/err.h"

struct odbk_db;
struct odbk_db_stmt;

enum odbk_db_engine { ODBK_DB_SQLITE, ODBK_DB_PG };

/* odbk_db_step's answers (SQLite's own numbers); anything else is an error */
#define ODBK_DB_ROW 100
#define ODBK_DB_DONE 101

/* A catalog's target is PostgreSQL's when it is a postgresql:// or postgres:// URL. */
int odbk_db_is_pg(const char *target);

/* Open target (a file, or a PostgreSQL URL with password, NULL: libpq's own, ~/.pgpass): 0, or -1 with err
 * set (never naming a password). */
int odbk_db_open(const char *target, const char *password, struct odbk_db **out, struct odbk_err *err);
/* target as messages may show it: a URL without its password (malloc'd). */
char *odbk_db_redact(const char *target);
void odbk_db_close(struct odbk_db *db);
enum odbk_db_engine odbk_db_engine(const struct odbk_db *db);

/* What the last failure was: an error kind (busy: ODBK_E_TEMPFAIL) and the engine's message. */
enum odbk_errcode odbk_db_errkind(const struct odbk_db *db);
const char *odbk_db_errmsg(const struct odbk_db *db);
/* The last failure is worth running the transaction again (SQLite busy, PostgreSQL's serialization
 * failure or deadlock). */
int odbk_db_retryable(const struct odbk_db *db);

/* Statements without parameters, ';'-separated: 0 or -1. */
int odbk_db_exec(struct odbk_db *db, const char *sql);

int odbk_db_prepare(struct odbk_db *db, const char *sql, struct odbk_db_stmt **out);
void odbk_db_bind_text(struct odbk_db_stmt *st, int i, const char *s);   /* NULL binds NULL */
void odbk_db_bind_int64(struct odbk_db_stmt *st, int i, int64_t v);
int odbk_db_step(struct odbk_db_stmt *st);   /* ODBK_DB_ROW, ODBK_DB_DONE, or another value: an error */
/* Inside a transaction, a statement whose answer the caller does not read (no rows, no changes): the
 * engine may send it without waiting (PostgreSQL: libpq's pipeline, drained by the next statement that
 * waits, or by the commit, which then fails with the first error).  0, or -1. */
int odbk_db_step_deferred(struct odbk_db_stmt *st);
const char *odbk_db_column_text(struct odbk_db_stmt *st, int i);   /* NULL when NULL; valid until the next step */
int64_t odbk_db_column_int64(struct odbk_db_stmt *st, int i);     /* 0 when NULL */
void odbk_db_finalize(struct odbk_db_stmt *st);   /* NULL is a no-op */
/* The rows the last INSERT/UPDATE/DELETE changed. */
int64_t odbk_db_changes(struct odbk_db *db);

/* A write transaction (SQLite: BEGIN IMMEDIATE, the one writer; PostgreSQL: BEGIN, with odbk_db_lock_key
 * where writers of one thing must take turns). */
int odbk_db_begin(struct odbk_db *db);
int odbk_db_commit(struct odbk_db *db);
void odbk_db_rollback(struct odbk_db *db);
int odbk_db_in_tx(const struct odbk_db *db);

/* Until the transaction ends, key is this connection's: other hosts' transactions asking for it wait.
 * PostgreSQL: pg_advisory_xact_lock on a hash of key; SQLite: nothing (its write transaction already
 * excludes every other writer).  0 or -1. */
int odbk_db_lock_key(struct odbk_db *db, const char *key);

/* key held by this connection until odbk_db_release, across transactions (PostgreSQL: pg_advisory_lock,
 * taken before the migration's transaction begins, so that the transaction sees what the holder before
 * committed, its catalog too; SQLite: nothing, BEGIN IMMEDIATE is the lock). */
int odbk_db_hold(struct odbk_db *db, const char *key);
void odbk_db_release(struct odbk_db *db, const char *key);

/* The schema version (0: a new catalog) and its update (inside the migration's transaction, with
 * odbk_db_hold of the schema: two hosts opening a new catalog at once do not both migrate). */
int odbk_db_schema_version(struct odbk_db *db, int *version);
int odbk_db_set_schema_version(struct odbk_db *db, int version);
/* SQL the engine runs after migration step i (what it needs that the other has by itself), or NULL. */
const char *odbk_db_migration_extra(const struct odbk_db *db, int step);

/* test-only (the catalog-readonly failpoint): every later write is refused */
void odbk_db_readonly(struct odbk_db *db);

#endif
