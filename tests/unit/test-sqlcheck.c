/* test-sqlcheck: the psql-lexing filter refuses every meta-command psql would run and passes real dumps
 * through unchanged (pg_dump's \restrict lines become empty lines), whatever the chunking. */
#include <stdlib.h>
#include <string.h>

#include "io/writer.h"
#include "pg/sqlcheck.h"
#include "tap.h"

/* run text through the filter in chunks of `chunk` bytes (0: one write); returns 0 or -1 with err */
static int run_server(const char *text, size_t chunk, const char *key, int flags, int server,
                      struct odbk_sqlcheck_notes *notes, char **out, struct odbk_err *err)
{
    struct odbk_writer *buf = odbk_sink_buffer_new(1 << 20),
                       *f = odbk_filter_sqlcheck_for_server(buf, "dump.sql", key, flags, server, notes);
    size_t len = strlen(text), i;
    const char *data;
    int r = 0;
    memset(err, 0, sizeof(*err));
    for (i = 0; r == 0 && i < len; i += chunk ? chunk : len)
        r = odbk_writer_write(f, text + i, chunk && len - i > chunk ? chunk : len - i, err);
    if (r == 0)
        r = odbk_writer_finish(f, err);
    data = odbk_sink_buffer_data(buf, &len);
    *out = strdup(data ? data : "");
    odbk_writer_free(f);
    odbk_writer_free(buf);
    return r;
}

static int run_flags(const char *text, size_t chunk, const char *key, int flags, char **out, struct odbk_err *err)
{
    return run_server(text, chunk, key, flags, 0, NULL, out, err);
}

/* for a server of version `server`, text becomes expect and the notes read notes_expect, whatever the
 * chunking */
static void for_server(const char *text, int server, int flags, const char *expect, const char *notes_expect,
                       const char *desc)
{
    static const size_t chunks[] = {0, 1, 2, 7};
    size_t i;
    int all = 1;
    char *out;
    struct odbk_err err;
    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        struct odbk_sqlcheck_notes notes = {{0}};
        if (run_server(text, chunks[i], NULL, flags, server, &notes, &out, &err) != 0 || strcmp(out, expect) ||
            strcmp(notes.skipped, notes_expect)) {
            printf("# chunk %zu: %s | %s | %s\n", chunks[i], err.msg, out, notes.skipped);
            all = 0;
        }
        free(out);
    }
    ok(all, desc);
}

static int run(const char *text, size_t chunk, const char *key, char **out, struct odbk_err *err)
{
    return run_flags(text, chunk, key, 0, out, err);
}

/* with ODBK_SQLCHECK_NO_ACL, text becomes expect whatever the chunking */
static void no_acl(const char *text, const char *expect, const char *desc)
{
    for_server(text, 0, ODBK_SQLCHECK_NO_ACL, expect, "", desc);
}

static void passes(const char *text, const char *expect, const char *desc)
{
    for_server(text, 0, 0, expect ? expect : text, "", desc);
}

static void refused(const char *text, const char *msg, const char *desc)
{
    static const size_t chunks[] = {0, 1, 3};
    size_t i;
    int all = 1;
    char *out;
    struct odbk_err err;
    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        if (run(text, chunks[i], NULL, &out, &err) == 0 || err.code != ODBK_E_DATA || !strstr(err.msg, msg)) {
            printf("# chunk %zu: got '%s', want '%s'\n", chunks[i], err.msg, msg);
            all = 0;
        }
        free(out);
    }
    ok(all, desc);
}

int main(void)
{
    char *out;
    struct odbk_err err;
    plan(65);

    /* what pg_dump writes */
    passes("--\n-- PostgreSQL database dump\n--\n\n\\restrict AbC123\n\nSET standard_conforming_strings = on;\n"
           "\\unrestrict AbC123\n",
           "--\n-- PostgreSQL database dump\n--\n\n\n\nSET standard_conforming_strings = on;\n\n",
           "\\restrict and \\unrestrict lines become empty lines");
    passes("COPY public.t (id, name, \"from\") FROM stdin;\n1\tC:\\\\path\\n\t\\N\n\\! not a command\n\\.x\n\\.\n"
           "SELECT 1;\n", NULL, "COPY data with backslashes and lines starting with a backslash");
    passes("COPY t FROM stdin;\r\n\\copy x\r\n\\.\r\nSELECT 1;\n", NULL, "COPY data ended by \\.\\r\\n");
    passes("COPY t FROM stdin;\n\\.", NULL, "COPY data at the end of the file");
    passes("SELECT 'a\\b', 'it''s \\ ', 'x\\\\', 'y\\\\''z';\n", NULL, "backslashes inside '...' strings");
    passes("SELECT E'it\\'s \\\\ \\! x', e'\\'';\n", NULL, "escapes inside E'...' strings");
    passes("SELECT \"we\"\"ird\\\", U&\"d\\0061t\";\n", NULL, "backslashes in quoted identifiers");
    passes("CREATE FUNCTION f() RETURNS text AS $$ select '\\! x' $$ LANGUAGE sql;\n", NULL, "$$ bodies");
    passes("DO $body$ BEGIN RAISE NOTICE '$$ \\! $'; END $body$;\nSELECT $a$ $b$ \\ $a$;\n", NULL,
           "tagged dollar quotes with other tags inside");
    passes("SELECT 1; -- comment \\! x\n/* a /* nested \\! */ still \\o | x */ SELECT 2;\n", NULL,
           "backslashes in comments, nested comments");
    passes("SELECT a$b$ FROM t$1;\n", NULL, "$ inside identifiers opens no quote");
    passes("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\nCOPY t FROM stdin;\n"
           "\\x\n\\.\n", NULL, "BEGIN ATOMIC bodies, then COPY");
    passes("SELECT 'caf\xc3\xa9', \"\xc3\xa9t\xc3\xa9\";\n", NULL, "UTF-8 in strings and identifiers");

    /* meta-commands */
    refused("SELECT 1;\n\\! touch /tmp/x\n", "psql meta-command '\\!' at line 2 is not allowed", "\\! at a line start");
    refused("SELECT 1; \\! touch /tmp/x\n", "'\\!' at line 1", "\\! after a statement");
    refused("\\copy (select 1) to program 'touch x'\n", "'\\copy' at line 1", "\\copy");
    refused("\\o |touch x\nSELECT 1;\n", "'\\o' at line 1", "\\o |cmd");
    refused("SELECT 1 \\g |touch x\n", "'\\g'", "\\g mid-line");
    refused("\\restrict abc; \\! x\n", "'\\restrict'", "\\restrict with more on its line");
    refused("\\restrict\n", "'\\restrict'", "\\restrict without key");
    refused("\\restrict ok\n\\unrestrict ok\n\\i /etc/passwd\n", "'\\i' at line 3", "\\i after pg_dump's lines");
    /* COPY data goes through in whole lines: the lines are still counted, its end is still "\." alone, and a
     * line that only starts like the end marker is data */
    refused("COPY t (a) FROM stdin;\n1\n\\.x\n\\N\n\n\\.\n\\! touch x\n", "'\\!' at line 7",
            "a meta-command right after COPY data: its line counted across the data");
    passes("COPY t (a) FROM stdin;\nabc\\.\n\\\\.\n \\.\n\\.\r\nSELECT 1;\n", NULL,
           "COPY data: only a line that is exactly \\. (or \\.\\r) ends it");
    refused("SELECT 1;\n\\!", "'\\!' at line 2", "\\! at the end of the file without newline");
    refused("SELECT 'a' \\! x\n", "'\\!'", "after a string");
    refused("SELECT 'it''s' \\gexec\n", "'\\gexec'", "after a doubled quote");
    refused("SELECT $$ x $$ \\! y\n", "'\\!'", "after a dollar quote");
    refused("SELECT $a$ x $b$ \\! y $a$ \\! z\n", "'\\!' at line 1", "after a tagged dollar quote");
    refused("SELECT 1 -- c\r\\! x\n", "'\\!'", "a -- comment ends at CR as in psql");
    refused("/* a /* b */ \\! c */ x */ \\! y\n", "'\\!'", "nested comments end where psql ends them");
    refused("SELECT E'\\'' \\! x\n", "'\\!'", "after an E'' string with an escaped quote");
    refused("SELECT 1E'x' \\! y\n", "'\\!'", "1E'...' is no E string");
    refused("SELECT $1E'\\' \\! x '\n", "backslash before a quote", "ambiguous strings refused");

    /* where psql and the lexer could disagree */
    refused("SELECT 'a\\' \\! x '\n", "backslash before a quote", "standard_conforming_strings ambiguity");
    refused("COPY (SELECT * FROM stdin) TO STDOUT;\n'\n\\.\n\\! x\n'\n", "COPY statement other than",
            "COPY other than FROM stdin");
    refused("COPY t FROM stdin; \\! x\n\\.\n", "text after", "text after COPY ... FROM stdin;");
    refused("COPY BINARY t FROM stdin;\n", "COPY statement other than", "COPY BINARY");
    passes("CREATE FUNCTION f(begin int) RETURNS int AS 'select 1' LANGUAGE sql; COPY t FROM stdin;\n'\n\\.\n",
           NULL, "BEGIN inside parentheses counts for nothing, as in psql");
    passes("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; END;\n"
           "COPY t FROM stdin;\n\\x\n\\.\n", NULL, "CASE ... END inside BEGIN ATOMIC");
    /* where the filter would end a statement psql goes on with, COPY data would hide psql's commands */
    refused("CREATE FUNCTION f() BEGIN (end);\nCOPY t FROM stdin;\n\\! touch x\n\\.\n", "COPY after",
            "END inside parentheses ends nothing (psql counts outside them only)");
    refused("CREATE FUNCTION f() BEGIN 1end;\nCOPY t FROM stdin;\n\\! touch x\n\\.\n", "COPY after",
            "1end is no END to psql 15");
    refused("CREATE 1x FUNCTION f() BEGIN;\nCOPY t FROM stdin;\n\\! touch x\n\\.\n", "COPY after",
            "junk between CREATE and FUNCTION: psql 15 still counts BEGIN");
    refused("SET client_encoding = 'SJIS';\nSELECT $\x81" "A$ $\x81" "B$\n\\! touch x\n$\x81" "A$;\n",
            "non-ASCII byte in a dollar-quote tag", "dollar-quote tags psql may read as one (SJIS)");
    refused("SET client_encoding = 'SJIS';\nSET standard_conforming_strings = off;\nSELECT '\x95\\\\', '\n\\! x\n';\n",
            "backslash right after a non-ASCII byte", "a backslash that is part of an SJIS character to psql");
    refused("SELECT \xe0; COPY t FROM stdin;\n", "non-ASCII", "; right after a non-ASCII byte");
    refused("SELECT E'\x95\\' \\! x'\n", "non-ASCII", "backslash after a non-ASCII byte in E''");

    {
        static const char nul[] = "SELECT 1 \0 '\n\\! x\n'\n";
        struct odbk_writer *f = odbk_filter_sqlcheck_new(odbk_sink_null_new(), "dump.sql", NULL, 0);
        memset(&err, 0, sizeof(err));
        ok(odbk_writer_write(f, nul, sizeof(nul) - 1, &err) < 0 && strstr(err.msg, "NUL byte"), "NUL bytes");
        odbk_writer_free_chain(f);
    }
    refused("SELECT 'a\\\\\\' \\! x '\n", "backslash before a quote", "an odd run of backslashes before a quote");

    /* --no-acl: pg_dump's ACL and DEFAULT ACL entries are left out, line ends kept, nothing else touched */
    no_acl("--\n-- Name: TABLE t; Type: ACL\n--\n\nGRANT SELECT ON TABLE public.t TO reader;\nSELECT 1;\n",
           "--\n-- Name: TABLE t; Type: ACL\n--\n\n\nSELECT 1;\n", "GRANT is left out, its comment stays");
    no_acl("REVOKE ALL ON SCHEMA public FROM PUBLIC;\ngrant\n  ALL ON SCHEMA public\n TO \"Odoo\";\nSELECT 2;",
           "\n\n\n\nSELECT 2;", "REVOKE and a GRANT over lines (case-insensitive)");
    no_acl("ALTER DEFAULT PRIVILEGES FOR ROLE r IN SCHEMA public GRANT SELECT ON TABLES TO x;\n"
           "ALTER /* c */ default\n privileges GRANT ALL ON SEQUENCES TO y;\nALTER TABLE t OWNER TO r;\n",
           "\n\n\nALTER TABLE t OWNER TO r;\n", "ALTER DEFAULT PRIVILEGES left out, ALTER TABLE kept");
    no_acl("ALTER DEFAULT ROLE;\nALTER default;\nalter;\n", "ALTER DEFAULT ROLE;\nALTER default;\nalter;\n",
           "ALTER statements that are not DEFAULT PRIVILEGES pass");
    no_acl("CREATE FUNCTION f() RETURNS void AS $$ GRANT ALL ON t TO x; $$ LANGUAGE sql;\nSELECT 'GRANT x;';\n",
           "CREATE FUNCTION f() RETURNS void AS $$ GRANT ALL ON t TO x; $$ LANGUAGE sql;\nSELECT 'GRANT x;';\n",
           "GRANT inside a body or a string is data");
    no_acl("COPY t (a) FROM stdin;\nGRANT ALL ON t TO x;\n\\.\nGRANT ALL ON t TO x;\nSELECT \"grant\";\n",
           "COPY t (a) FROM stdin;\nGRANT ALL ON t TO x;\n\\.\n\nSELECT \"grant\";\n",
           "COPY data that reads GRANT stays; the GRANT after it goes; a quoted \"grant\" stays");
    no_acl("SELECT 1;\n\\restrict k\nGRANT ALL ON t TO x", "SELECT 1;\n\n", "an unfinished last GRANT goes too");
    no_acl("SELECT 1; GRANT ALL ON t TO x; SELECT 2;\n", "SELECT 1;  SELECT 2;\n", "two statements on a line");
    {
        /* a long comment before GRANT: bounded memory, still left out */
        size_t n = 300000;
        char *big = malloc(n + 64), *want = malloc(n + 64);
        memcpy(big, "/*", 2);
        memset(big + 2, 'x', n);
        strcpy(big + 2 + n, "*/ GRANT ALL ON t TO x;\nSELECT 3;\n");
        memcpy(want, big, n + 5);
        strcpy(want + n + 5, "\nSELECT 3;\n");
        ok(run_flags(big, 0, NULL, ODBK_SQLCHECK_NO_ACL, &out, &err) == 0 && !strcmp(out, want),
           "a 300 kB comment before a GRANT passes, the GRANT does not");
        free(out);
        memset(big, 0, n + 64);
        strcpy(big, "ALTER /*");
        memset(big + 8, 'y', n);
        strcpy(big + 8 + n, "*/ DEFAULT PRIVILEGES GRANT ALL ON TABLES TO x;\n");
        ok(run_flags(big, 0, NULL, ODBK_SQLCHECK_NO_ACL, &out, &err) < 0 && strstr(err.msg, "64 KiB"),
           "ALTER words 300 kB apart are refused");
        free(out);
        free(big);
        free(want);
    }

    /* a newer pg_dump's settings, for an older server: left out (line ends kept) and named */
    {
        static const char head17[] = "SET statement_timeout = 0;\nSET lock_timeout = 0;\n"
                                     "SET idle_in_transaction_session_timeout = 0;\nSET transaction_timeout = 0;\n"
                                     "SET client_encoding = 'UTF8';\n";
        for_server(head17, 150018, 0,
                   "SET statement_timeout = 0;\nSET lock_timeout = 0;\nSET idle_in_transaction_session_timeout = 0;"
                   "\n\nSET client_encoding = 'UTF8';\n",
                   "transaction_timeout (line 4)", "pg_dump 17's transaction_timeout is left out for PostgreSQL 15");
        for_server(head17, 170002, 0, head17, "", "and kept for PostgreSQL 17");
        for_server(head17, 0, 0, head17, "", "and kept when the server is not known");
        for_server("SET default_table_access_method = heap;\nCREATE TABLE t (a int);\n"
                   "SET default_table_access_method = heap;\nSET transaction_timeout = 0;\n",
                   110000, 0, "\nCREATE TABLE t (a int);\n\n\n",
                   "default_table_access_method (line 1), transaction_timeout (line 4)",
                   "each setting named once, with its first line");
        for_server("SET SESSION transaction_timeout = 0;\nset /* c */ Transaction_Timeout to 0;\n"
                   "SELECT 'SET transaction_timeout = 0;';\n"
                   "CREATE FUNCTION f() RETURNS void AS $$ SET transaction_timeout = 0; $$ LANGUAGE sql;\n",
                   150000, 0,
                   "SET SESSION transaction_timeout = 0;\n\nSELECT 'SET transaction_timeout = 0;';\n"
                   "CREATE FUNCTION f() RETURNS void AS $$ SET transaction_timeout = 0; $$ LANGUAGE sql;\n",
                   "transaction_timeout (line 2)",
                   "only the plain SET form, any case; SET SESSION, strings and bodies are the server's");
        for_server("GRANT ALL ON t TO x;\nSET transaction_timeout = 0;\nSET search_path = x;\n", 150000,
                   ODBK_SQLCHECK_NO_ACL, "\n\nSET search_path = x;\n", "transaction_timeout (line 2)",
                   "with --no-acl both are left out");
    }

    /* the filter's own \restrict line */
    ok(run("\\restrict k1\nSELECT 1;\n\\unrestrict k1\n", 0, "OurKey9", &out, &err) == 0 &&
           !strcmp(out, "\\restrict OurKey9\n\nSELECT 1;\n\n"),
       "the stream starts with the filter's own \\restrict");
    free(out);
    return done_testing();
}
