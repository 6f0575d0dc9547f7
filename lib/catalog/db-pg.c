/* db-pg.c - db.h on PostgreSQL (libpq): a catalog shared by many hosts (catalog = postgresql://...).
 *
 * catalog.c's text is SQLite's and PostgreSQL's both; what this file changes of it: ?N becomes $N (a bare ?
 * the next number) once per statement, the statement then prepared once per connection and kept; the DDL
 * of a migration (CREATE TABLE, ALTER TABLE) gets PostgreSQL's types: INTEGER is BIGINT, INTEGER PRIMARY KEY
 * AUTOINCREMENT is BIGSERIAL PRIMARY KEY, TEXT is TEXT COLLATE "C" (byte order, as SQLite compares); and
 * after some steps it adds what SQLite has by itself (migration_extra: the rowid column that orders rows of
 * one second, instr()).  Parameters and columns travel as text. */
#include "catalog/db-impl.h"

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "common/util.h"

#define CACHE_MAX 256   /* prepared statements kept per connection; more run unnamed */

struct cached {
    char *sql;    /* catalog.c's text */
    char name[16];
    int nparams;
};

struct pdb {
    struct odbk_db base;   /* first */
    PGconn *c;
    char *msg;             /* the last failure's message (one line) */
    char state[6];         /* its SQLSTATE, "" when none */
    enum odbk_errcode kind;
    int64_t changes;
    struct cached *cache;
    size_t n_cache;
    int pending;           /* deferred statements sent, their results not read (pipeline mode) */
    int pipe_failed;       /* one of them failed: its message kept, the transaction aborted */
};

struct pstmt {
    struct odbk_db_stmt base;   /* first */
    const struct cached *prep;  /* NULL: run unnamed */
    char *sql;                  /* the translated text (unnamed) */
    int nparams;
    char **vals;
    PGresult *res;
    int row, rows;
    int ran;
};

static const struct odbk_db_ops ops;

#define P(db) ((struct pdb *)(db))
#define PC(db) ((const struct pdb *)(db))

static void set_fail(struct pdb *d, const char *msg, const char *state)
{
    size_t n;
    free(d->msg);
    d->msg = odbk_xstrdup(msg && *msg ? msg : "unknown error");
    n = strcspn(d->msg, "\n");   /* libpq's message: its first line */
    d->msg[n] = '\0';
    if (!strncmp(d->msg, "ERROR:  ", 8))
        memmove(d->msg, d->msg + 8, strlen(d->msg + 8) + 1);
    snprintf(d->state, sizeof(d->state), "%s", state ? state : "");
    if (!strcmp(d->state, "40001") || !strcmp(d->state, "40P01") || !strcmp(d->state, "55P03"))
        d->kind = ODBK_E_TEMPFAIL;   /* serialization failure, deadlock, lock not available */
    else if (!strcmp(d->state, "25006") || !strncmp(d->state, "42501", 5) || !strncmp(d->state, "28", 2))
        d->kind = ODBK_E_PERM;       /* read-only transaction, no privilege, authentication */
    else if (!strncmp(d->state, "08", 2) || !strncmp(d->state, "57P", 3) || PQstatus(d->c) != CONNECTION_OK)
        d->kind = ODBK_E_UNAVAILABLE;
    else if (!strncmp(d->state, "22", 2) || !strncmp(d->state, "23", 2))
        d->kind = ODBK_E_DATA;
    else
        d->kind = ODBK_E_IO;
}

static void fail_res(struct pdb *d, const PGresult *res)
{
    set_fail(d, res ? PQresultErrorMessage(res) : PQerrorMessage(d->c),
             res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL);
}

static int is_word(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* sql with ?N as $N (a bare ? the next number, as SQLite counts); *nparams the highest.  Quoted text is
 * left alone. */
static char *translate_params(const char *sql, int *nparams)
{
    size_t len = strlen(sql), o = 0;
    char *out = odbk_xmalloc(len * 2 + 16);
    const char *p = sql;
    int max = 0;
    char q = 0;
    while (*p) {
        if (q) {
            if (*p == q)
                q = 0;
            out[o++] = *p++;
        } else if (*p == '\'' || *p == '"') {
            q = *p;
            out[o++] = *p++;
        } else if (*p == '?') {
            int n;
            p++;
            if (*p >= '0' && *p <= '9') {
                n = (int)strtol(p, (char **)&p, 10);
            } else {
                n = max + 1;
            }
            if (n > max)
                max = n;
            o += (size_t)snprintf(out + o, 16, "$%d", n);
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    *nparams = max;
    return out;
}

/* A migration's DDL in PostgreSQL's types; other statements as they are. */
static char *translate_ddl(const char *sql)
{
    static const struct {
        const char *from, *to;
    } words[] = {
        {"INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY"},
        {"INTEGER", "BIGINT"},
        {"TEXT", "TEXT COLLATE \"C\""},
    };
    size_t len = strlen(sql), o = 0, i;
    char *out = odbk_xmalloc(len * 4 + 1);   /* TEXT (4 bytes at least) grows the most: to 16 */
    const char *p = sql, *stmt = sql;
    char q = 0;
    while (*p) {
        int ddl = !strncmp(stmt, "CREATE TABLE", 12) || !strncmp(stmt, "ALTER TABLE", 11);
        if (q) {
            if (*p == q)
                q = 0;
            out[o++] = *p++;
            continue;
        }
        if (*p == '\'' || *p == '"') {
            q = *p;
            out[o++] = *p++;
            continue;
        }
        if (*p == ';') {
            out[o++] = *p++;
            while (*p == ' ' || *p == '\n')
                out[o++] = *p++;
            stmt = p;
            continue;
        }
        if (ddl && (p == sql || !is_word(p[-1]))) {
            for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
                size_t n = strlen(words[i].from);
                if (!strncmp(p, words[i].from, n) && !is_word(p[n])) {
                    memcpy(out + o, words[i].to, strlen(words[i].to));
                    o += strlen(words[i].to);
                    p += n;
                    break;
                }
            }
            if (i < sizeof(words) / sizeof(words[0]))
                continue;
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
    return out;
}

/* Read the results of the deferred statements and leave pipeline mode: 0, or -1 when one failed (its
 * message kept; PostgreSQL aborted the transaction). */
static int drain(struct pdb *d)
{
    PGresult *res;
    int r = 0;
    if (!d->pending && PQpipelineStatus(d->c) == PQ_PIPELINE_OFF)
        return d->pipe_failed ? -1 : 0;
    if (PQpipelineSync(d->c) != 1) {
        set_fail(d, PQerrorMessage(d->c), NULL);
        r = -1;
    }
    while (r == 0) {
        if (!(res = PQgetResult(d->c))) {
            if (PQstatus(d->c) != CONNECTION_OK) {
                set_fail(d, PQerrorMessage(d->c), NULL);
                r = -1;
            }
            continue;   /* between two statements' results */
        }
        if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            break;
        }
        if (PQresultStatus(res) == PGRES_FATAL_ERROR && !d->pipe_failed) {
            fail_res(d, res);
            d->pipe_failed = 1;
        } else if (PQresultStatus(res) == PGRES_FATAL_ERROR && PQstatus(d->c) != CONNECTION_OK) {
            PQclear(res);
            r = -1;
            break;
        }
        PQclear(res);
    }
    d->pending = 0;
    if (PQexitPipelineMode(d->c) != 1 && r == 0) {
        set_fail(d, PQerrorMessage(d->c), NULL);
        r = -1;
    }
    if (d->pipe_failed) {
        d->pipe_failed = 0;   /* told once: the transaction's end says the rest */
        return -1;
    }
    return r;
}

#define DRAIN(d, fail)                                                                                        \
    do {                                                                                                      \
        if (drain(d) < 0)                                                                                     \
            return fail;                                                                                      \
    } while (0)

static void ignore_notice(void *arg, const char *message)
{
    (void)arg, (void)message;   /* "relation already exists, skipping" & co: never printed */
}

char *odbk_db_redact(const char *target)
{
    /* postgresql://user:secret@host/db?a=1&password=x -> postgresql://user@host/db?a=1: the user info's
     * password (before the host, so only up to the first '/') and every query parameter named password */
    char *s = odbk_xstrdup(target), *scheme = strstr(s, "://"), *auth, *end, *at, *colon, *q, *in, *o;
    if (!scheme)
        return s;
    auth = scheme + 3;
    end = auth + strcspn(auth, "/?");
    at = memchr(auth, '@', (size_t)(end - auth));
    colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon)
        memmove(colon, at, strlen(at) + 1);
    if (!(q = strchr(s, '?')))
        return s;
    for (in = o = q + 1; *in;) {
        size_t n = strcspn(in, "&");
        if (n >= 9 && !strncmp(in, "password=", 9)) {
            in += n + (in[n] == '&');
            continue;
        }
        if (o != q + 1)
            *o++ = '&';
        memmove(o, in, n);
        o += n;
        in += n + (in[n] == '&');
    }
    *o = '\0';
    if (o == q + 1)
        *q = '\0';
    return s;
}

int odbk_db_pg_open(const char *url, const char *password, struct odbk_db **out, struct odbk_err *err)
{
    struct pdb *d = odbk_xcalloc(1, sizeof(*d));
    const char *keys[6], *vals[6];
    int k = 0;
    char *shown;
    *out = NULL;
    d->base.ops = &ops;
    d->base.engine = ODBK_DB_PG;
    /* defaults first: what the URL says wins (expand_dbname) */
    keys[k] = "application_name", vals[k++] = "odbk";
    keys[k] = "connect_timeout", vals[k++] = "10";
    keys[k] = "client_encoding", vals[k++] = "UTF8";
    if (password)
        keys[k] = "password", vals[k++] = password;
    keys[k] = "dbname", vals[k++] = url;
    keys[k] = NULL, vals[k] = NULL;
    d->c = PQconnectdbParams(keys, vals, 1);
    if (!d->c || PQstatus(d->c) != CONNECTION_OK) {
        shown = odbk_db_redact(url);
        set_fail(d, d->c ? PQerrorMessage(d->c) : "out of memory", NULL);
        odbk_err_set(err, ODBK_E_UNAVAILABLE, "catalog '%s': cannot connect: %s", shown, d->msg);
        odbk_err_hint(err, "is the server up, and the URL right? a password goes in ~/.pgpass (PGPASSFILE) or "
                      "[catalog] password-file, never in --catalog");
        free(shown);
        odbk_db_close(&d->base);
        return -1;
    }
    PQsetNoticeProcessor(d->c, ignore_notice, NULL);
    *out = &d->base;
    return 0;
}

static void p_close(struct odbk_db *db)
{
    struct pdb *d = P(db);
    size_t i;
    if (d->c)
        PQfinish(d->c);
    for (i = 0; i < d->n_cache; i++)
        free(d->cache[i].sql);
    free(d->cache);
    free(d->msg);
    free(d);
}

static enum odbk_errcode p_errkind(const struct odbk_db *db)
{
    return PC(db)->kind ? PC(db)->kind : ODBK_E_IO;
}

static const char *p_errmsg(const struct odbk_db *db)
{
    return PC(db)->msg ? PC(db)->msg : "no error";
}

static int p_retryable(const struct odbk_db *db)
{
    return PC(db)->kind == ODBK_E_TEMPFAIL;
}

/* A statement's result: 0 command or rows, -1 failed (kept). */
static int check(struct pdb *d, PGresult *res)
{
    ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        const char *n = PQcmdTuples(res);
        if (n && *n)
            d->changes = strtoll(n, NULL, 10);
        return 0;
    }
    fail_res(d, res);
    return -1;
}

static int p_exec(struct odbk_db *db, const char *sql)
{
    struct pdb *d = P(db);
    char *t;
    PGresult *res;
    int r;
    DRAIN(d, -1);
    t = translate_ddl(sql);
    res = PQexec(d->c, t);
    r = check(d, res);
    PQclear(res);
    free(t);
    return r;
}

static int p_prepare(struct odbk_db *db, const char *sql, struct odbk_db_stmt **out)
{
    struct pdb *d = P(db);
    struct pstmt *s;
    size_t i;
    *out = NULL;
    s = odbk_xcalloc(1, sizeof(*s));
    s->base.db = db;
    for (i = 0; i < d->n_cache; i++)
        if (!strcmp(d->cache[i].sql, sql))
            break;
    if (i < d->n_cache) {
        s->prep = &d->cache[i];
        s->nparams = s->prep->nparams;
    } else {
        char *t = translate_params(sql, &s->nparams);
        if (drain(d) < 0) {
            free(t);
            free(s);
            return -1;
        }
        if (d->n_cache < CACHE_MAX) {
            struct cached *c;
            PGresult *res;
            if (!d->cache)
                d->cache = odbk_xcalloc(CACHE_MAX, sizeof(*d->cache));
            c = &d->cache[d->n_cache];
            snprintf(c->name, sizeof(c->name), "odbk_%zu", d->n_cache);
            res = PQprepare(d->c, c->name, t, s->nparams, NULL);
            if (check(d, res) < 0) {
                PQclear(res);
                free(t);
                free(s);
                return -1;
            }
            PQclear(res);
            c->sql = odbk_xstrdup(sql);
            c->nparams = s->nparams;
            d->n_cache++;
            s->prep = c;
            free(t);
        } else {
            s->sql = t;
        }
    }
    s->vals = odbk_xcalloc((size_t)s->nparams + 1, sizeof(char *));
    *out = &s->base;
    return 0;
}

static void p_bind_text(struct odbk_db_stmt *st, int i, const char *v)
{
    struct pstmt *s = (struct pstmt *)st;
    if (i < 1 || i > s->nparams)
        return;
    free(s->vals[i - 1]);
    s->vals[i - 1] = v ? odbk_xstrdup(v) : NULL;
}

static void p_bind_int64(struct odbk_db_stmt *st, int i, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%lld", (long long)v);
    p_bind_text(st, i, buf);
}

static int p_step(struct odbk_db_stmt *st)
{
    struct pstmt *s = (struct pstmt *)st;
    struct pdb *d = P(st->db);
    if (!s->ran) {
        const char *const *vals = (const char *const *)s->vals;
        s->ran = 1;
        DRAIN(d, -1);
        s->res = s->prep ? PQexecPrepared(d->c, s->prep->name, s->nparams, vals, NULL, NULL, 0)
                         : PQexecParams(d->c, s->sql, s->nparams, NULL, vals, NULL, NULL, 0);
        if (check(d, s->res) < 0)
            return -1;
        s->rows = PQresultStatus(s->res) == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
        s->row = -1;
    }
    if (!s->res || PQresultStatus(s->res) == PGRES_FATAL_ERROR)
        return -1;
    if (s->row + 1 < s->rows) {
        s->row++;
        return ODBK_DB_ROW;
    }
    s->row = s->rows;
    return ODBK_DB_DONE;
}

static int p_step_deferred(struct odbk_db_stmt *st)
{
    struct pstmt *s = (struct pstmt *)st;
    struct pdb *d = P(st->db);
    const char *const *vals = (const char *const *)s->vals;
    if (!s->prep || PQtransactionStatus(d->c) == PQTRANS_IDLE)   /* unnamed, or no transaction: at once */
        return p_step(st) == ODBK_DB_DONE ? 0 : -1;
    s->ran = 1;
    if (PQpipelineStatus(d->c) == PQ_PIPELINE_OFF && PQenterPipelineMode(d->c) != 1) {
        set_fail(d, PQerrorMessage(d->c), NULL);
        return -1;
    }
    if (PQsendQueryPrepared(d->c, s->prep->name, s->nparams, vals, NULL, NULL, 0) != 1) {
        set_fail(d, PQerrorMessage(d->c), NULL);
        drain(d);
        return -1;
    }
    /* a bounded pipeline: its results are read every thousand statements */
    if (++d->pending >= 1000)
        return drain(d);
    return 0;
}

static int in_row(const struct pstmt *s, int i)
{
    return s->res && s->row >= 0 && s->row < s->rows && i >= 0 && i < PQnfields(s->res);
}

static const char *p_column_text(struct odbk_db_stmt *st, int i)
{
    struct pstmt *s = (struct pstmt *)st;
    if (!in_row(s, i) || PQgetisnull(s->res, s->row, i))
        return NULL;
    return PQgetvalue(s->res, s->row, i);
}

static int64_t p_column_int64(struct odbk_db_stmt *st, int i)
{
    const char *v = p_column_text(st, i);
    if (!v)
        return 0;
    if (!strcmp(v, "t"))   /* a boolean */
        return 1;
    return strtoll(v, NULL, 10);
}

static void p_finalize(struct odbk_db_stmt *st)
{
    struct pstmt *s = (struct pstmt *)st;
    int i;
    for (i = 0; i < s->nparams; i++)
        free(s->vals[i]);
    free(s->vals);
    free(s->sql);
    PQclear(s->res);
    free(s);
}

static int64_t p_changes(struct odbk_db *db)
{
    return P(db)->changes;
}

static int p_begin(struct odbk_db *db)
{
    return p_exec(db, "BEGIN");
}

static int p_commit(struct odbk_db *db)
{
    struct pdb *d = P(db);
    PGresult *res;
    int r;
    if (drain(d) < 0) {
        PQclear(PQexec(d->c, "ROLLBACK"));
        return -1;
    }
    res = PQexec(d->c, "COMMIT");
    r = check(d, res);
    /* a transaction a failed statement aborted: PostgreSQL answers COMMIT with ROLLBACK */
    if (r == 0 && strcmp(PQcmdStatus(res), "COMMIT")) {
        set_fail(d, "the transaction was rolled back (a statement in it failed)", "25P02");
        r = -1;
    }
    PQclear(res);
    return r;
}

static void p_rollback(struct odbk_db *db)
{
    drain(P(db));
    PQclear(PQexec(P(db)->c, "ROLLBACK"));
}

static int p_in_tx(const struct odbk_db *db)
{
    /* statements in the pipeline: inside the transaction that sent them */
    return PC(db)->pending || PQtransactionStatus(PC(db)->c) != PQTRANS_IDLE;
}

/* SELECT pg_advisory_*(class, hashtext(key)): 0 or -1 (1868850795: "odbk") */
static int advisory(struct odbk_db *db, const char *sql, const char *key)
{
    struct odbk_db_stmt *st;
    int rc;
    if (p_prepare(db, sql, &st) < 0)
        return -1;
    p_bind_text(st, 1, key);
    rc = p_step(st);
    p_finalize(st);
    return rc == ODBK_DB_ROW ? 0 : -1;
}

static int p_lock_key(struct odbk_db *db, const char *key)
{
    struct odbk_db_stmt *st;
    int r;
    /* nothing to read back: pipelined, the statements after it run once the server granted it */
    if (p_prepare(db, "SELECT pg_advisory_xact_lock(1868850795, hashtext(?1))", &st) < 0)
        return -1;
    p_bind_text(st, 1, key);
    r = p_step_deferred(st);
    p_finalize(st);
    return r;
}

static int p_hold(struct odbk_db *db, const char *key, int on)
{
    return advisory(db, on ? "SELECT pg_advisory_lock(1868850795, hashtext(?1))"
                           : "SELECT pg_advisory_unlock(1868850795, hashtext(?1))", key);
}

static int p_schema_version(struct odbk_db *db, int *version)
{
    struct odbk_db_stmt *st;
    int rc, exists = 0;
    *version = 0;
    if (p_prepare(db, "SELECT to_regclass('schema_version') IS NOT NULL", &st) < 0)
        return -1;
    if ((rc = p_step(st)) == ODBK_DB_ROW)
        exists = p_column_int64(st, 0) != 0;
    p_finalize(st);
    if (rc != ODBK_DB_ROW)
        return -1;
    if (!exists)
        return 0;
    if (p_prepare(db, "SELECT max(version) FROM schema_version", &st) < 0)
        return -1;
    if ((rc = p_step(st)) == ODBK_DB_ROW)
        *version = (int)p_column_int64(st, 0);
    p_finalize(st);
    return rc == ODBK_DB_ROW ? 0 : -1;
}

static int p_set_schema_version(struct odbk_db *db, int version)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL); DELETE FROM "
             "schema_version; INSERT INTO schema_version VALUES (%d)", version);
    return p_exec(db, sql);
}

static const char *p_migration_extra(const struct odbk_db *db, int step)
{
    (void)db;
    switch (step) {
    case 0:   /* SQLite's rowid: the order of rows inserted in one second; its instr() */
        return "ALTER TABLE backups ADD COLUMN rowid BIGSERIAL;"
               "DROP INDEX backups_env_created;"
               "CREATE INDEX backups_env_created ON backups (env, created_at, rowid);"
               "CREATE OR REPLACE FUNCTION instr(text, text) RETURNS integer LANGUAGE sql IMMUTABLE "
               "AS 'SELECT strpos($1, $2)';";
    case 3:   /* an index of SQLite holds the rowid: the newest of a status read from the index's end */
        return "DROP INDEX backups_env_status;"
               "CREATE INDEX backups_env_status ON backups (env, status, created_at, rowid);";
    case 5:
        return "DROP INDEX backups_created;"
               "CREATE INDEX backups_created ON backups (created_at, rowid);";
    default:
        return NULL;
    }
}

static void p_readonly(struct odbk_db *db)
{
    drain(P(db));
    PQclear(PQexec(P(db)->c, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"));
}

static const struct odbk_db_ops ops = {
    p_close, p_errkind, p_errmsg, p_retryable, p_exec, p_prepare, p_bind_text, p_bind_int64, p_step, p_step_deferred,
    p_column_text, p_column_int64, p_finalize, p_changes, p_begin, p_commit, p_rollback,
    p_in_tx, p_lock_key, p_hold, p_schema_version, p_set_schema_version, p_migration_extra, p_readonly,
};
