/* loadrole.c - the restore's load role (loadrole.h). */
#include "pg/loadrole.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "pg/pg.h"
#include "pg/sqlcheck.h"

static char *ident(PGconn *c, const char *name)
{
    char *q = PQescapeIdentifier(c, name, strlen(name)), *s;
    s = odbk_xstrdup(q ? q : "\"?\"");
    PQfreemem(q);
    return s;
}

static int exec_fmt(PGconn *c, const char *what, struct odbk_err *err, const char *sql)
{
    if (odbk_pg_exec(c, sql, err) < 0) {
        odbk_err_prefix(err, "%s", what);
        return -1;
    }
    return 0;
}

int odbk_loadrole_create(PGconn *admin, struct odbk_loadrole *r, struct odbk_err *err)
{
    char suffix[17], *verifier, *lit, *sql, *id, *until = NULL, *super = NULL;
    int rc;
    memset(r, 0, sizeof(*r));
    odbk_random_alnum(suffix, 16);
    for (char *p = suffix; *p; p++)   /* role names are folded to lower case: keep them so */
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    snprintf(r->name, sizeof(r->name), "odbk_load_%s", suffix);
    odbk_random_alnum(r->password, 32);
    if (odbk_pg_value(admin, "SELECT CASE WHEN rolsuper OR rolcreaterole THEN 'y' ELSE 'n' END FROM pg_roles "
                      "WHERE rolname = current_user", NULL, &super, err) < 0)
        return -1;
    if (!super || *super != 'y') {
        free(super);
        odbk_err_set(err, ODBK_E_PERM, "the restore needs to create a role to load as, and the PostgreSQL user of "
                     "the connection may not create roles");
        odbk_err_hint(err, "grant it CREATEROLE (ALTER ROLE ... CREATEROLE) or use a superuser conninfo");
        return -1;
    }
    free(super);
    verifier = PQencryptPasswordConn(admin, r->password, r->name, NULL);
    if (!verifier)
        return odbk_err_set(err, ODBK_E_SOFTWARE, "cannot hash the load role's password: %s", PQerrorMessage(admin));
    lit = PQescapeLiteral(admin, verifier, strlen(verifier));
    PQfreemem(verifier);
    if (odbk_pg_value(admin, "SELECT (now() + interval '1 day')::text", NULL, &until, err) < 0) {
        PQfreemem(lit);
        return -1;
    }
    id = ident(admin, r->name);
    /* VALID UNTIL: a role left by a killed run cannot log in for long */
    sql = odbk_xasprintf("CREATE ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
                         "PASSWORD %s VALID UNTIL '%s'", id, lit ? lit : "NULL", until ? until : "infinity");
    PQfreemem(lit);
    free(until);
    rc = odbk_pg_exec(admin, sql, err);
    free(sql);
    if (rc < 0) {
        free(id);
        odbk_err_prefix(err, "cannot create the load role");
        odbk_err_hint(err, "grant the connection's user CREATEROLE or use a superuser conninfo");
        err->code = ODBK_E_PERM;
        return -1;
    }
    r->created = 1;
    /* who made it, for odbk_loadrole_cleanup after a run killed outright */
    {
        char *note = odbk_xasprintf("odbk restore %s %ld", odbk_hostname(), (long)getpid());
        char *nlit = PQescapeLiteral(admin, note, strlen(note));
        sql = odbk_xasprintf("COMMENT ON ROLE %s IS %s", id, nlit ? nlit : "NULL");
        rc = exec_fmt(admin, "cannot label the load role", err, sql);
        PQfreemem(nlit);
        free(note);
        free(sql);
        if (rc < 0) {
            free(id);
            odbk_loadrole_drop(admin, r);
            return -1;
        }
    }
    /* a CREATEROLE user acts for the role it made (database owner, REASSIGN) only as its member */
    sql = odbk_xasprintf("DO $odbk$ BEGIN IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN "
                         "EXECUTE 'GRANT %s TO ' || quote_ident(current_user); END IF; END $odbk$", id);
    rc = exec_fmt(admin, "cannot make the load role usable", err, sql);
    free(sql);
    free(id);
    if (rc < 0)
        odbk_loadrole_drop(admin, r);
    return rc;
}

int odbk_loadrole_own(PGconn *admin, const struct odbk_loadrole *r, const char *db, struct odbk_err *err)
{
    char *d = ident(admin, db), *role = ident(admin, r->name);
    char *sql = odbk_xasprintf("ALTER DATABASE %s OWNER TO %s", d, role);
    int rc = exec_fmt(admin, "cannot give the temporary database to the load role", err, sql);
    free(sql);
    free(d);
    free(role);
    return rc;
}

int odbk_loadrole_connect(const struct odbk_loadrole *r, const char *conninfo, const char *db, PGconn **out,
                          struct odbk_err *err)
{
    const char *keys[] = {"dbname", "dbname", "user", "password", "passfile", "fallback_application_name",
                          "connect_timeout", NULL};
    const char *vals[] = {conninfo && *conninfo ? conninfo : "", db, r->name, r->password, "/dev/null", "odbk",
                          "15", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    *out = NULL;
    if (!c)
        return odbk_err_set(err, ODBK_E_OSERR, "cannot allocate a PostgreSQL connection");
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
        msg[strcspn(msg, "\n")] = '\0';
        PQfinish(c);
        odbk_err_set(err, ODBK_E_PERM, "PostgreSQL refused the restore's load role %s: %s", r->name, msg);
        odbk_err_hint(err, "the load runs as a role odbk creates (odbk_load_*), logging in with a password: let "
                           "pg_hba.conf accept password logins (scram-sha-256) for all users from this host");
        return -1;
    }
    *out = c;
    return 0;
}

char **odbk_loadrole_child_env(const struct odbk_loadrole *r, PGconn *admin, const char *db)
{
    /* the admin connection's parameters as libpq resolved them (a service already read), less everything
     * that says who logs in: the role's own name and password are the only ones the child sees, and
     * neither a service nor a password file of our environment can name another */
    static const char *const skip[] = {"dbname", "user", "password", "passfile", "service", NULL};
    PQconninfoOption *opts = PQconninfo(admin), *o;
    char **env = odbk_xcalloc(80, sizeof(char *));
    size_t n = 0, k;
    for (o = opts; o && o->keyword && n < 64; o++) {
        int skipped = 0;
        if (!o->val || !*o->val || !o->envvar)
            continue;
        for (k = 0; skip[k]; k++)
            skipped |= !strcmp(o->keyword, skip[k]);
        if (!skipped)
            env[n++] = odbk_xasprintf("%s=%s", o->envvar, o->val);
    }
    if (opts)
        PQconninfoFree(opts);
    env[n++] = odbk_xasprintf("PGDATABASE=%s", db);
    env[n++] = odbk_xstrdup("PGAPPNAME=odbk");
    env[n++] = odbk_xasprintf("PGUSER=%s", r->name);
    env[n++] = odbk_xasprintf("PGPASSWORD=%s", r->password);
    env[n++] = odbk_xstrdup("PGPASSFILE=/dev/null");
    env[n++] = odbk_xstrdup("PGSERVICE");       /* removed from the inherited environment */
    env[n++] = odbk_xstrdup("PGSERVICEFILE");
    env[n] = NULL;
    return env;
}

int odbk_loadrole_owner_check(PGconn *admin, const char *owner, struct odbk_err *err)
{
    char *super = NULL;
    if (odbk_pg_value(admin, "SELECT rolsuper::text FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) $1",
                      owner, &super, err) < 0)
        return -1;
    if (!super) {
        odbk_err_set(err, ODBK_E_NOUSER, "role '%s', to own the restored database, does not exist", owner);
        odbk_err_hint(err, "create it (CREATE ROLE %s) or name another with --db-owner", owner);
        return -1;
    }
    if (!strcmp(super, "true")) {
        free(super);
        odbk_err_set(err, ODBK_E_USAGE, "role '%s' is a superuser: it may not own the restored database, whose "
                     "functions and views would then run with superuser rights", owner);
        odbk_err_hint(err, "name a role without superuser (the role Odoo connects as) with --db-owner");
        return -1;
    }
    free(super);
    return 0;
}

int odbk_loadrole_hand_over(struct odbk_loadrole *r, const char *conninfo, const char *db, const char *owner,
                            PGconn *admin, struct odbk_err *err)
{
    PGconn *c = NULL;
    char *role, *to, *sql;
    int rc;
    if (odbk_loadrole_owner_check(admin, owner, err) < 0)
        return -1;
    if (odbk_pg_connect(conninfo, db, &c, err) < 0)
        return -1;
    /* the loaded database's own settings (search_path) do not apply to what follows */
    if (odbk_pg_exec(c, "SET search_path = pg_catalog, pg_temp", err) < 0) {
        PQfinish(c);
        return -1;
    }
    role = ident(c, r->name);
    to = ident(c, owner);
    sql = odbk_xasprintf("REASSIGN OWNED BY %s TO %s", role, to);
    rc = exec_fmt(c, "cannot hand the restored database over from the load role", err, sql);
    free(sql);
    if (rc == 0) {
        sql = odbk_xasprintf("DROP OWNED BY %s", role);
        rc = exec_fmt(c, "cannot drop the load role's privileges", err, sql);
        free(sql);
    }
    free(role);
    free(to);
    PQfinish(c);
    if (rc == 0) {
        role = ident(admin, r->name);
        sql = odbk_xasprintf("DROP ROLE %s", role);
        rc = exec_fmt(admin, "cannot drop the load role", err, sql);
        free(sql);
        free(role);
        if (rc == 0)
            r->created = 0;
    }
    return rc;
}

void odbk_loadrole_drop(PGconn *admin, struct odbk_loadrole *r)
{
    struct odbk_err e;
    char *role, *sql;
    if (!r->created || !admin)
        return;
    role = ident(admin, r->name);
    sql = odbk_xasprintf("DROP ROLE IF EXISTS %s", role);
    if (odbk_pg_exec(admin, sql, &e) == 0)
        r->created = 0;
    free(sql);
    free(role);
}

void odbk_loadrole_cleanup(PGconn *admin)
{
    /* only a role as odbk makes them: its name's form, its label, none of the rights it never has (a
     * comment alone is no proof: any CREATEROLE role can write it, and the role would go with what it owns) */
    PGresult *res = PQexec(admin, "SELECT rolname, shobj_description(oid, 'pg_authid') FROM pg_roles "
                                  "WHERE rolname ~ '^odbk_load_[A-Za-z0-9]{16}$' AND NOT rolsuper AND NOT "
                                  "rolcreaterole AND NOT rolcreatedb AND NOT rolreplication AND NOT rolbypassrls "
                                  "AND starts_with(shobj_description(oid, 'pg_authid'), 'odbk restore ')");
    char *prefix = odbk_xasprintf("odbk restore %s ", odbk_hostname());
    int i;
    for (i = 0; PQresultStatus(res) == PGRES_TUPLES_OK && i < PQntuples(res); i++) {
        const char *note = PQgetvalue(res, i, 1), *p;
        char *end;
        long pid;
        struct odbk_loadrole r = {0};
        if (strncmp(note, prefix, strlen(prefix)))
            continue;
        p = note + strlen(prefix);
        pid = strtol(p, &end, 10);
        if (pid <= 0 || *end || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        snprintf(r.name, sizeof(r.name), "%s", PQgetvalue(res, i, 0));
        r.created = 1;
        odbk_loadrole_drop(admin, &r);
    }
    PQclear(res);
    free(prefix);
}
