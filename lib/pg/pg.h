/* pg.h - PostgreSQL: connections (libpq), the client tools whose major version matches the server's,
 * and the environment that hands a connection to a child process without a secret on its command
 * line. */
#ifndef ODBK_PG_H
#define ODBK_PG_H

#include <libpq-fe.h>

#include "common/err.h"

/* Connect with conninfo, overriding its dbname.  Errors: unreachable 69, authentication 77,
 * no such database 66. */
int odbk_pg_connect(const char *conninfo, const char *dbname, PGconn **out, struct odbk_err *err);

/* The server a connection reached as a conninfo without secrets ("host=H port=P user=U"), for an [env]
 * block when the conninfo used was empty (libpq defaults, PG* environment); malloc'd. */
char *odbk_pg_conninfo_of(PGconn *c);

/* The server version as "15.4" (or "9.6.3") into buf. */
void odbk_pg_version_string(int server_version_num, char buf[32]);

/* Path of `tool` (pg_dump, pg_restore, psql) whose major version equals the server's: $ODBK_PG_BINDIR,
 * bindir (config pg-bindir), /usr/lib/postgresql/MAJOR/bin, then PATH.  The error names the Debian
 * package to install. */
int odbk_pg_tool(int server_version_num, const char *tool, const char *bindir, char **path, struct odbk_err *err);
/* The "pg_dump (PostgreSQL) 15.4" line of a tool, malloc'd. */
char *odbk_pg_tool_version(const char *path);

/* "NAME=value" strings (NULL-terminated) for a child: every conninfo key as its PG* variable, with
 * dbname overridden.  Free with odbk_pg_env_free. */
char **odbk_pg_child_env(const char *conninfo, const char *dbname);
void odbk_pg_env_free(char **env);
/* conninfo without its password (key=value or URI in, key='value' out; "" when it does not parse): what
 * may be written down (the catalog, odbk-restore's [env] block). */
char *odbk_pg_conninfo_public(const char *conninfo);

/* Run a statement with no result rows. */
int odbk_pg_exec(PGconn *c, const char *sql, struct odbk_err *err);
/* First column of the first row (NULL when no row), malloc'd. */
int odbk_pg_value(PGconn *c, const char *sql, const char *param, char **out, struct odbk_err *err);

int odbk_pg_database_exists(PGconn *c, const char *name, int *exists, struct odbk_err *err);
/* CREATE DATABASE as Odoo does it (TEMPLATE template0, UTF8, LC_COLLATE 'C'). */
int odbk_pg_create_database(PGconn *c, const char *name, struct odbk_err *err);
/* Terminate other sessions, then DROP DATABASE IF EXISTS. */
int odbk_pg_drop_database(PGconn *c, const char *name, struct odbk_err *err);
int odbk_pg_rename_database(PGconn *c, const char *from, const char *to, struct odbk_err *err);
int odbk_pg_terminate(PGconn *c, const char *name, struct odbk_err *err);

#endif
