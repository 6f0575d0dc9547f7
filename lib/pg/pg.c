/* pg.c - libpq connections, version-matched client tools, child environments, database DDL. */
#include "pg/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "io/exec.h"

char *odbk_pg_conninfo_of(PGconn *c)
{
    const char *host = PQhost(c), *port = PQport(c), *user = PQuser(c);
    return odbk_xasprintf("host=%s port=%s user=%s", host && *host ? host : "localhost", port && *port ? port : "5432",
                          user ? user : "");
}

int odbk_pg_connect(const char *conninfo, const char *dbname, PGconn **out, struct odbk_err *err)
{
    const char *keys[] = {"dbname", "fallback_application_name", "connect_timeout", NULL, NULL};
    const char *vals[] = {conninfo && *conninfo ? conninfo : "", "odbk", "15", NULL, NULL};
    PGconn *c;
    *out = NULL;
    /* expand_dbname: the first "dbname" is the conninfo; a second dbname key overrides its database */
    if (dbname) {
        keys[3] = "dbname";
        vals[3] = dbname;
    }
    if (!conninfo || !*conninfo) {
        /* libpq would take "" as a database name; use the PG* environment instead */
        keys[0] = "fallback_application_name";
        vals[0] = "odbk";
    }
    c = PQconnectdbParams(keys, vals, 1);
    if (!c)
        return odbk_err_set(err, ODBK_E_OSERR, "cannot allocate a PostgreSQL connection");
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[512];
        const char *m = PQerrorMessage(c);
        enum odbk_errcode k = ODBK_E_UNAVAILABLE;
        snprintf(msg, sizeof(msg), "%s", m);
        msg[strcspn(msg, "\n")] = '\0';
        if (strstr(m, "password authentication failed") || strstr(m, "no password supplied") ||
            strstr(m, "authentication failed") || strstr(m, "permission denied"))
            k = ODBK_E_PERM;
        else if (strstr(m, "does not exist") && strstr(m, "database"))
            k = ODBK_E_NOINPUT;
        odbk_err_set(err, k, "cannot connect to PostgreSQL%s%s%s: %s", dbname ? " database '" : "",
                     dbname ? dbname : "", dbname ? "'" : "", msg);
        if (k == ODBK_E_UNAVAILABLE)
            odbk_err_hint(err, "check the env's 'pg =' conninfo (host, port) and that the server runs");
        else if (k == ODBK_E_PERM)
            odbk_err_hint(err, "put the password in ~/.pgpass or $PGPASSFILE, never in the config");
        PQfinish(c);
        return -1;
    }
    *out = c;
    return 0;
}

void odbk_pg_version_string(int v, char buf[32])
{
    if (v >= 100000)
        snprintf(buf, 32, "%d.%d", v / 10000, v % 10000);
    else
        snprintf(buf, 32, "%d.%d.%d", v / 10000, (v / 100) % 100, v % 100);
}

static int major_of(int v)
{
    return v >= 100000 ? (v / 10000) * 100 : v / 100;   /* 15.4 → 1500, 9.6.3 → 906 */
}

char *odbk_pg_tool_version(const char *path)
{
    char *argv[] = {(char *)path, "--version", NULL}, *out = NULL;
    struct odbk_err err;
    if (odbk_exec_capture(argv, NULL, &out, 4096, &err) < 0)
        return NULL;
    out[strcspn(out, "\n")] = '\0';
    return out;
}

/* Major version number printed by `tool --version` ("pg_dump (PostgreSQL) 15.4 (Debian ...)"). */
static int tool_major(const char *path)
{
    char *v = odbk_pg_tool_version(path), *p;
    int maj = -1, min = 0;
    if (!v)
        return -1;
    p = strstr(v, ") ");
    if (p && sscanf(p + 2, "%d.%d", &maj, &min) >= 1)
        maj = maj >= 10 ? maj * 100 : maj * 100 + min;
    free(v);
    return maj;
}

int odbk_pg_tool(int server_version_num, const char *tool, const char *bindir, char **path, struct odbk_err *err)
{
    int want = major_of(server_version_num);
    char *cand[4] = {0};
    const char *envdir = odbk_getenv("ODBK_PG_BINDIR"), *pathenv = odbk_getenv("PATH");
    char majs[16];
    size_t i;
    int found_other = -1;
    if (want >= 1000)
        snprintf(majs, sizeof(majs), "%d", want / 100);
    else
        snprintf(majs, sizeof(majs), "%d.%d", want / 100, want % 100);
    if (envdir && *envdir)
        cand[0] = odbk_xasprintf("%s/%s", envdir, tool);
    if (bindir && *bindir)
        cand[1] = odbk_xasprintf("%s/%s", bindir, tool);
    cand[2] = odbk_xasprintf("/usr/lib/postgresql/%s/bin/%s", majs, tool);
    for (i = 0; i < 3; i++) {
        if (cand[i] && access(cand[i], X_OK) == 0) {
            int m = tool_major(cand[i]);
            if (m == want) {
                *path = cand[i];
                cand[i] = NULL;
                goto found;
            }
            found_other = m;
        }
    }
    /* PATH */
    if (pathenv) {
        char *copy = odbk_xstrdup(pathenv), *save = NULL, *dir;
        for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
            char *p = odbk_xasprintf("%s/%s", *dir ? dir : ".", tool);
            if (access(p, X_OK) == 0) {
                int m = tool_major(p);
                if (m == want) {
                    *path = p;
                    free(copy);
                    goto found;
                }
                found_other = m;
            }
            free(p);
        }
        free(copy);
    }
    for (i = 0; i < 3; i++)
        free(cand[i]);
    {
        char sv[32];
        odbk_pg_version_string(server_version_num, sv);
        if (found_other > 0)
            odbk_err_set(err, ODBK_E_UNAVAILABLE, "no %s %s found for PostgreSQL server %s (only %s %d.x, which "
                         "does not match the server's major version)", tool, majs, sv, tool,
                         found_other / 100);
        else
            odbk_err_set(err, ODBK_E_UNAVAILABLE, "no %s %s found for PostgreSQL server %s", tool, majs, sv);
        odbk_err_hint(err, "install it: apt-get install postgresql-client-%s (or set pg-bindir in the env)", majs);
    }
    return -1;
found:
    for (i = 0; i < 3; i++)
        free(cand[i]);
    return 0;
}

char **odbk_pg_child_env(const char *conninfo, const char *dbname)
{
    PQconninfoOption *opts = NULL, *o;
    char **env = odbk_xcalloc(64, sizeof(char *));
    size_t n = 0;
    if (conninfo && *conninfo)
        opts = PQconninfoParse(conninfo, NULL);
    for (o = opts; o && o->keyword; o++) {
        if (!o->val || !o->envvar || !strcmp(o->keyword, "dbname") || n >= 60)
            continue;
        env[n++] = odbk_xasprintf("%s=%s", o->envvar, o->val);
    }
    if (dbname)
        env[n++] = odbk_xasprintf("PGDATABASE=%s", dbname);
    env[n++] = odbk_xstrdup("PGAPPNAME=odbk");
    if (opts)
        PQconninfoFree(opts);
    return env;
}

char *odbk_pg_conninfo_public(const char *conninfo)
{
    PQconninfoOption *opts = conninfo && *conninfo ? PQconninfoParse(conninfo, NULL) : NULL, *o;
    size_t cap = 64, len = 0;
    char *out = odbk_xmalloc(cap);
    *out = '\0';
    for (o = opts; o && o->keyword; o++) {
        const char *v;
        if (!o->val || !strcmp(o->keyword, "password"))
            continue;
        /* keyword='value' with \ and ' escaped, as libpq reads it */
        if (len + strlen(o->keyword) + 2 * strlen(o->val) + 8 > cap) {
            cap = len + strlen(o->keyword) + 2 * strlen(o->val) + 64;
            out = odbk_xrealloc(out, cap);
        }
        len += (size_t)sprintf(out + len, "%s%s='", len ? " " : "", o->keyword);
        for (v = o->val; *v; v++) {
            if (*v == '\\' || *v == '\'')
                out[len++] = '\\';
            out[len++] = *v;
        }
        out[len++] = '\'';
        out[len] = '\0';
    }
    if (opts)
        PQconninfoFree(opts);
    return out;
}

void odbk_pg_env_free(char **env)
{
    size_t i;
    if (!env)
        return;
    for (i = 0; env[i]; i++)
        free(env[i]);
    free(env);
}

static int res_error(PGconn *c, PGresult *r, const char *what, struct odbk_err *err)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    msg[strcspn(msg, "\n")] = '\0';
    PQclear(r);
    return odbk_err_set(err, PQstatus(c) == CONNECTION_OK ? ODBK_E_FAILED : ODBK_E_UNAVAILABLE, "%s: %s", what, msg);
}

int odbk_pg_exec(PGconn *c, const char *sql, struct odbk_err *err)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        return res_error(c, r, "PostgreSQL", err);
    PQclear(r);
    return 0;
}

int odbk_pg_value(PGconn *c, const char *sql, const char *param, char **out, struct odbk_err *err)
{
    const char *params[1] = {param};
    PGresult *r = PQexecParams(c, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
    *out = NULL;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return res_error(c, r, "PostgreSQL", err);
    if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        *out = odbk_xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

int odbk_pg_database_exists(PGconn *c, const char *name, int *exists, struct odbk_err *err)
{
    char *v = NULL;
    if (odbk_pg_value(c, "SELECT 1 FROM pg_database WHERE datname = $1", name, &v, err) < 0)
        return -1;
    *exists = v != NULL;
    free(v);
    return 0;
}

static char *ident(PGconn *c, const char *name)
{
    char *q = PQescapeIdentifier(c, name, strlen(name)), *r;
    r = odbk_xstrdup(q ? q : "\"?\"");
    PQfreemem(q);
    return r;
}

int odbk_pg_create_database(PGconn *c, const char *name, struct odbk_err *err)
{
    char *id = ident(c, name), *sql;
    int r;
    sql = odbk_xasprintf("CREATE DATABASE %s ENCODING 'UTF8' TEMPLATE template0 LC_COLLATE 'C'", id);
    r = odbk_pg_exec(c, sql, err);
    if (r < 0)
        odbk_err_prefix(err, "cannot create database '%s'", name);
    free(sql);
    free(id);
    return r;
}

int odbk_pg_terminate(PGconn *c, const char *name, struct odbk_err *err)
{
    const char *params[1] = {name};
    PGresult *r = PQexecParams(c,
                               "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = $1 AND pid <> pg_backend_pid()",
                               1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return res_error(c, r, "cannot terminate sessions", err);
    PQclear(r);
    return 0;
}

int odbk_pg_drop_database(PGconn *c, const char *name, struct odbk_err *err)
{
    char *id = ident(c, name), *sql;
    int r;
    if (odbk_pg_terminate(c, name, err) < 0) {
        free(id);
        return -1;
    }
    sql = odbk_xasprintf("DROP DATABASE IF EXISTS %s", id);
    r = odbk_pg_exec(c, sql, err);
    if (r < 0)
        odbk_err_prefix(err, "cannot drop database '%s'", name);
    free(sql);
    free(id);
    return r;
}

int odbk_pg_rename_database(PGconn *c, const char *from, const char *to, struct odbk_err *err)
{
    char *a = ident(c, from), *b = ident(c, to), *sql;
    int r;
    if (odbk_pg_terminate(c, from, err) < 0) {
        free(a);
        free(b);
        return -1;
    }
    sql = odbk_xasprintf("ALTER DATABASE %s RENAME TO %s", a, b);
    r = odbk_pg_exec(c, sql, err);
    if (r < 0)
        odbk_err_prefix(err, "cannot rename database '%s' to '%s'", from, to);
    free(sql);
    free(a);
    free(b);
    return r;
}
