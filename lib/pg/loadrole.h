/* loadrole.h - the role a restore loads as: created for one load, owner of the temporary database only,
 * without any right beyond it (no superuser, CREATEDB, CREATEROLE, REPLICATION, BYPASSRLS), so that SQL in
 * a restored file cannot run programs (COPY ... PROGRAM), read server files, use untrusted languages, ALTER
 * SYSTEM, create roles or touch another database.  odbk, connected as the env's user (superuser or
 * CREATEROLE), creates it with a random password (sent as a SCRAM verifier, never in clear; handed to the
 * loader through PGPASSWORD in its environment only), and after the load hands everything it owns to the
 * final owner and drops it, on every path. */
#ifndef ODBK_LOADROLE_H
#define ODBK_LOADROLE_H

#include <libpq-fe.h>

#include "common/err.h"

struct odbk_loadrole {
    char name[40];      /* odbk_load_<random> */
    char password[33];
    int created;
};

/* CREATE ROLE on the admin connection; refused (77) when the connected user may create no role. */
int odbk_loadrole_create(PGconn *admin, struct odbk_loadrole *r, struct odbk_err *err);
/* ALTER DATABASE db OWNER TO the role. */
int odbk_loadrole_own(PGconn *admin, const struct odbk_loadrole *r, const char *db, struct odbk_err *err);
/* Connect to db as the role (the conninfo's host, port, TLS settings); a refusal (pg_hba.conf, password
 * method) is 77 with the hint. */
int odbk_loadrole_connect(const struct odbk_loadrole *r, const char *conninfo, const char *db, PGconn **out,
                          struct odbk_err *err);
/* The environment for psql/pg_restore connecting to db as the role (free with odbk_pg_env_free): the
 * server parameters of the admin connection as libpq resolved them (host, port, TLS), the role's name
 * and password, no password file, and PGSERVICE/PGSERVICEFILE removed from the inherited environment, so
 * that nothing of the caller's environment (PGUSER, a service naming another user or a password) makes
 * the load run as anyone else.  The loader is also given --username. */
char **odbk_loadrole_child_env(const struct odbk_loadrole *r, PGconn *admin, const char *db);
/* Whether role may own restored objects: 0 when it exists and is no superuser; 64 naming it otherwise
 * (a superuser owning them would run the backup's SECURITY DEFINER functions and views as itself). */
int odbk_loadrole_owner_check(PGconn *admin, const char *owner, struct odbk_err *err);
/* In db (connected with conninfo, as the admin): REASSIGN OWNED BY the role TO owner (the database
 * itself included; refused when owner is a superuser, odbk_loadrole_owner_check), DROP OWNED BY the
 * role; then DROP ROLE. */
int odbk_loadrole_hand_over(struct odbk_loadrole *r, const char *conninfo, const char *db, const char *owner,
                            PGconn *admin, struct odbk_err *err);
/* DROP ROLE when it still exists (failure paths: after its database was dropped). Best effort. */
void odbk_loadrole_drop(PGconn *admin, struct odbk_loadrole *r);

/* Drop the load roles of this host's dead restores (each role's comment names its host and pid; run after
 * their temporary databases are gone: such a role owns nothing else). */
void odbk_loadrole_cleanup(PGconn *admin);

#endif
