/* db-impl.h - what an engine of db.h gives (db-sqlite.c, db-pg.c); db.c calls through it. */
#ifndef ODBK_CATALOG_DB_IMPL_H
#define ODBK_CATALOG_DB_IMPL_H

#include "catalog/db.h"

struct odbk_db_ops {
    void (*close)(struct odbk_db *db);
    enum odbk_errcode (*errkind)(const struct odbk_db *db);
    const char *(*errmsg)(const struct odbk_db *db);
    int (*retryable)(const struct odbk_db *db);
    int (*exec)(struct odbk_db *db, const char *sql);
    int (*prepare)(struct odbk_db *db, const char *sql, struct odbk_db_stmt **out);
    void (*bind_text)(struct odbk_db_stmt *st, int i, const char *s);
    void (*bind_int64)(struct odbk_db_stmt *st, int i, int64_t v);
    int (*step)(struct odbk_db_stmt *st);
    int (*step_deferred)(struct odbk_db_stmt *st);
    const char *(*column_text)(struct odbk_db_stmt *st, int i);
    int64_t (*column_int64)(struct odbk_db_stmt *st, int i);
    void (*finalize)(struct odbk_db_stmt *st);
    int64_t (*changes)(struct odbk_db *db);
    int (*begin)(struct odbk_db *db);
    int (*commit)(struct odbk_db *db);
    void (*rollback)(struct odbk_db *db);
    int (*in_tx)(const struct odbk_db *db);
    int (*lock_key)(struct odbk_db *db, const char *key);
    int (*hold)(struct odbk_db *db, const char *key, int on);
    int (*schema_version)(struct odbk_db *db, int *version);
    int (*set_schema_version)(struct odbk_db *db, int version);
    const char *(*migration_extra)(const struct odbk_db *db, int step);
    void (*readonly)(struct odbk_db *db);
};

/* the head of each engine's connection and statement */
struct odbk_db {
    const struct odbk_db_ops *ops;
    enum odbk_db_engine engine;
};

struct odbk_db_stmt {
    struct odbk_db *db;
};

int odbk_db_sqlite_open(const char *path, struct odbk_db **out, struct odbk_err *err);
int odbk_db_pg_open(const char *url, const char *password, struct odbk_db **out, struct odbk_err *err);

#endif
