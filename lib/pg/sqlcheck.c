/* sqlcheck.c - the psql-lexing filter of sqlcheck.h (psql's rules: src/fe_utils/psqlscan.l and
 * src/bin/psql/copy.c of PostgreSQL 15). */
#include "pg/sqlcheck.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

enum st {
    S_NORMAL,
    S_LINE_COMMENT,
    S_BLOCK_COMMENT,
    S_SQUOTE,      /* inside '...' (str_e: E'...') */
    S_SQUOTE_END,  /* a quote inside '...': doubled, or the end */
    S_DQUOTE,
    S_DQUOTE_END,
    S_DOLLAR_OPEN, /* after a $ that may open $tag$ */
    S_DOLLAR_BODY,
    S_META,        /* a backslash at the start of a line: collecting it */
    S_COPY_REST,   /* the rest of the line of a COPY ... FROM stdin; */
    S_COPY_DATA,
};

/* where a COPY statement is in "COPY name[.name] [(col, ...)] FROM stdin ;" */
enum copy_st { C_START, C_NOT, C_NAME, C_AFTER_NAME, C_COL, C_AFTER_COL, C_AFTER_COLS, C_FROM, C_STDIN };

enum tok { T_WORD, T_NAME, T_PUNCT, T_OTHER };

/* With ODBK_SQLCHECK_NO_ACL, what becomes of the statement being read: held back until its first words
 * tell whether it is GRANT, REVOKE or ALTER DEFAULT PRIVILEGES (left out) or anything else (passed). */
enum acl_st { A_PASS, A_HOLD, A_DROP };

/* the words of a held statement may be this far apart (comments); a file that does more is refused */
#define HOLD_MAX (64 * 1024)

struct sqlcheck {
    struct odbk_writer w;
    char *what, *key;
    int started;
    enum st st;
    unsigned long line;
    int col0;
    /* normal state */
    int ident, numrun, junk, word_junk, pending, hibyte;
    size_t ident_len;
    char word[40];   /* the identifier being read, lower-cased (longer ones are no word we look for) */
    /* the statement as psql splits it */
    int paren, begin_depth, idcount, idcount15, multi;
    char ids[4], ids15[4];   /* the first words as psql <= 14 and psql >= 15 count them (see track_identifier) */
    enum copy_st copy;
    /* strings, comments, dollar quotes */
    int str_e, str_bs, str_hi, cdepth, cprev;
    char tag[64];
    size_t taglen;
    long tagmatch;
    /* a meta-command line being collected */
    char meta[96];
    size_t metalen;
    int meta_mid;   /* not at the start of a line: refused once its name is read */
    /* COPY data: 0 line start, 1 "\", 2 "\.", 3 "\.\r", 4 within a line */
    int dline;
    /* ODBK_SQLCHECK_NO_ACL: the privilege statements are left out of the output */
    int no_acl;
    int server;          /* the server's version: SET of a setting it does not know is left out; 0: none */
    struct odbk_sqlcheck_notes *notes;
    int holding_set;     /* the held statement starts with SET: its second word decides */
    enum acl_st acl;
    int ntok;            /* tokens of the statement so far */
    int drop_this;       /* the byte being read belongs to a statement left out */
    char *hold;          /* the statement so far, while its first words are not known */
    size_t hold_len, hold_cap, word_at;
    /* output not yet written */
    char out[65536];
    size_t out_len;
};

void odbk_random_alnum(char *buf, size_t n)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char raw[128];
    size_t i, got = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (n > sizeof(raw))
        n = sizeof(raw);
    while (fd >= 0 && got < n) {
        ssize_t r = read(fd, raw + got, n - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (fd >= 0)
        close(fd);
    for (i = got; i < n; i++)   /* /dev/urandom unreadable: still different per run */
        raw[i] = (unsigned char)(rand() ^ (int)getpid() ^ (int)i);
    for (i = 0; i < n; i++)
        buf[i] = set[raw[i] % (sizeof(set) - 1)];
    buf[n] = '\0';
}

static int refuse(struct sqlcheck *c, struct odbk_err *err, const char *fmt, const char *arg)
{
    char msg[256];
    snprintf(msg, sizeof(msg), fmt, arg);
    odbk_err_set(err, ODBK_E_DATA, "%s: %s at line %lu is not allowed", c->what, msg, c->line);
    odbk_err_hint(err, "a dump is loaded as data, never run as a script: this file was not written by pg_dump "
                       "or was changed; restore it only after removing that line if you trust it");
    return -1;
}

static int is_ident_start(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch >= 0x80;
}

static int is_letter(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

static int emit(struct sqlcheck *c, const char *p, size_t n, struct odbk_err *err)
{
    if (n == 0)
        return 0;
    if (c->out_len + n > sizeof(c->out)) {
        if (c->out_len && odbk_writer_write(c->w.next, c->out, c->out_len, err) < 0)
            return -1;
        c->out_len = 0;
        if (n > sizeof(c->out))
            return odbk_writer_write(c->w.next, p, n, err);
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

static int flush_out(struct sqlcheck *c, struct odbk_err *err)
{
    size_t n = c->out_len;
    c->out_len = 0;
    return n ? odbk_writer_write(c->w.next, c->out, n, err) : 0;
}

/* the held statement is passed on: what was held goes out, and the rest as it comes */
static int hold_release(struct sqlcheck *c, struct odbk_err *err)
{
    size_t n = c->hold_len;
    c->hold_len = 0;
    c->acl = A_PASS;
    return n ? emit(c, c->hold, n, err) : 0;
}

/* the held statement is left out from its first word on: the comments before it go out, and of the
 * statement only its line ends (psql's line numbers stay those of the file) */
static int hold_drop(struct sqlcheck *c, struct odbk_err *err)
{
    size_t i;
    if (emit(c, c->hold, c->word_at, err) < 0)
        return -1;
    for (i = c->word_at; i < c->hold_len; i++)
        if (c->hold[i] == '\n' && emit(c, "\n", 1, err) < 0)
            return -1;
    c->hold_len = 0;
    c->acl = A_DROP;
    c->drop_this = 1;
    return 0;
}

static int statement_reset(struct sqlcheck *c, struct odbk_err *err)
{
    int r = 0;
    c->paren = c->begin_depth = c->idcount = c->idcount15 = c->multi = 0;
    memset(c->ids, 0, sizeof(c->ids));
    memset(c->ids15, 0, sizeof(c->ids15));
    c->copy = C_START;
    if (c->acl == A_DROP)
        c->drop_this = 1;   /* its ";" too */
    else if (c->acl == A_HOLD)
        r = hold_release(c, err);
    c->acl = c->no_acl || c->server ? A_HOLD : A_PASS;
    c->holding_set = 0;
    c->ntok = 0;
    return r;
}

/* The settings pg_dump writes at the top of a dump (pg_backup_archiver.c, _doSetFixedOutputState) and
 * before each table, with the server version that first knows each: a newer pg_dump's dump loaded into
 * an older server fails on them ("unrecognized configuration parameter"), while Odoo's restore, which
 * ignores errors, goes on. */
static const struct {
    const char *name;
    int since;
} newer_settings[] = {
    {"lock_timeout", 90300},
    {"row_security", 90500},
    {"idle_in_transaction_session_timeout", 90600},
    {"default_table_access_method", 120000},
    {"transaction_timeout", 170000},
};

static int unknown_setting(const struct sqlcheck *c, const char *w)
{
    size_t i;
    for (i = 0; i < sizeof(newer_settings) / sizeof(newer_settings[0]); i++)
        if (!strcmp(w, newer_settings[i].name))
            return c->server < newer_settings[i].since;
    return 0;
}

static void note_skipped(struct sqlcheck *c, const char *w)
{
    struct odbk_sqlcheck_notes *n = c->notes;
    size_t len;
    if (!n || strstr(n->skipped, w))
        return;
    len = strlen(n->skipped);
    snprintf(n->skipped + len, sizeof(n->skipped) - len, "%s%s (line %lu)", len ? ", " : "", w, c->line);
}

/* The statement's first words decide: with --no-acl GRANT, REVOKE, ALTER DEFAULT PRIVILEGES are left
 * out (pg_dump's ACL and DEFAULT ACL entries, what pg_restore --no-privileges skips); with a server
 * version, SET of a setting that server does not know; anything else passes. */
static int acl_token(struct sqlcheck *c, enum tok t, const char *w, struct odbk_err *err)
{
    int n = ++c->ntok;
    if (c->acl != A_HOLD)
        return 0;
    if (t != T_WORD)
        return hold_release(c, err);
    if (n == 1) {
        /* the word's bytes are the last ones held (the byte that ended it is not held yet) */
        c->word_at = c->hold_len >= c->ident_len ? c->hold_len - c->ident_len : 0;
        if (c->no_acl && (!strcmp(w, "grant") || !strcmp(w, "revoke")))
            return hold_drop(c, err);
        if (c->server && !strcmp(w, "set"))
            return c->holding_set = 1, 0;
        return c->no_acl && !strcmp(w, "alter") ? 0 : hold_release(c, err);
    }
    if (c->holding_set) {
        if (!unknown_setting(c, w))
            return hold_release(c, err);
        note_skipped(c, w);
        return hold_drop(c, err);
    }
    if (n == 2)
        return strcmp(w, "default") ? hold_release(c, err) : 0;
    return strcmp(w, "privileges") ? hold_release(c, err) : hold_drop(c, err);
}

/* psql's BEGIN ... END heuristic for CREATE [OR REPLACE] FUNCTION|PROCEDURE (psqlscan.l {identifier}): in a
 * statement that starts so, BEGIN (and CASE inside it) count up and END down, outside parentheses only, and
 * ";" ends the statement only at depth 0.  psql <= 14 lexes "1end" as a number and the identifier "end";
 * psql >= 15 as one junk token, no identifier.  The filter must never end a statement psql goes on with
 * (COPY data would then hide lines psql reads as commands), so its depth is at least either psql's: BEGIN
 * counts when either psql would count it, END only when both would.  A statement where they disagree never
 * ends for the filter, and a COPY after it is refused. */
static int function_start(const char *ids)
{
    return ids[0] == 'c' &&
           (ids[1] == 'f' || ids[1] == 'p' || (ids[1] == 'o' && ids[2] == 'r' && (ids[3] == 'f' || ids[3] == 'p')));
}

static void note_identifier(char *ids, int *count, const char *w)
{
    if (*count == 0)
        memset(ids, 0, 4);
    if (!strcmp(w, "create") || !strcmp(w, "function") || !strcmp(w, "procedure") || !strcmp(w, "or") ||
        !strcmp(w, "replace")) {
        if (*count < 4)
            ids[*count] = w[0];
    }
    (*count)++;
}

static void track_identifier(struct sqlcheck *c, const char *w, int junk)
{
    int in14, in15;
    note_identifier(c->ids, &c->idcount, w);
    if (!junk)
        note_identifier(c->ids15, &c->idcount15, w);
    in14 = function_start(c->ids) && c->paren == 0;
    in15 = function_start(c->ids15) && c->paren == 0 && !junk;
    if (!strcmp(w, "begin")) {
        if (in14 || in15)
            c->begin_depth++;
    } else if (!strcmp(w, "case")) {
        if (c->begin_depth && (in14 || in15))
            c->begin_depth++;
    } else if (!strcmp(w, "end")) {
        if (c->begin_depth > 0 && in14 && in15)
            c->begin_depth--;
    }
}

static int bad_copy(struct sqlcheck *c, struct odbk_err *err)
{
    return refuse(c, err, "%sa COPY statement other than \"COPY table (columns) FROM stdin;\"", "");
}

/* One token of a statement (whitespace and comments are none). */
static int token(struct sqlcheck *c, enum tok t, const char *w, int ch, struct odbk_err *err)
{
    int word = t == T_WORD, name = t == T_WORD || t == T_NAME;
    if (acl_token(c, t, w, err) < 0)
        return -1;
    switch (c->copy) {
    case C_START:
        c->copy = word && !strcmp(w, "copy") ? C_NAME : C_NOT;
        break;
    case C_NOT:
        if (word && c->multi && !strcmp(w, "copy"))
            return refuse(c, err, "%sCOPY after a \";\" that psql does not end the statement at", "");
        break;
    case C_NAME:
        if (!name || (word && !strcmp(w, "binary")))
            return bad_copy(c, err);
        c->copy = C_AFTER_NAME;
        return 0;
    case C_AFTER_NAME:
        if (t == T_PUNCT && ch == '.')
            c->copy = C_NAME;
        else if (t == T_PUNCT && ch == '(')
            c->copy = C_COL;
        else if (word && !strcmp(w, "from"))
            c->copy = C_FROM;
        else
            return bad_copy(c, err);
        break;
    case C_COL:
        if (!name)
            return bad_copy(c, err);
        c->copy = C_AFTER_COL;
        break;
    case C_AFTER_COL:
        if (t == T_PUNCT && ch == ',')
            c->copy = C_COL;
        else if (t == T_PUNCT && ch == ')')
            c->copy = C_AFTER_COLS;
        else
            return bad_copy(c, err);
        break;
    case C_AFTER_COLS:
        if (!word || strcmp(w, "from"))
            return bad_copy(c, err);
        c->copy = C_FROM;
        break;
    case C_FROM:
        if (!word || strcmp(w, "stdin"))
            return bad_copy(c, err);
        c->copy = C_STDIN;
        break;
    case C_STDIN:
        if (t != T_PUNCT || ch != ';')
            return bad_copy(c, err);
        break;
    }
    if (word)
        track_identifier(c, w, c->word_junk);
    if (t == T_PUNCT && ch == '(')
        c->paren++;
    else if (t == T_PUNCT && ch == ')' && c->paren > 0)
        c->paren--;
    else if (t == T_PUNCT && ch == ';') {
        if (c->paren || c->begin_depth) {
            c->multi = 1;
        } else {
            int copy_in = c->copy == C_STDIN;
            if (statement_reset(c, err) < 0)
                return -1;
            if (copy_in) {
                c->st = S_COPY_REST;
                c->acl = A_PASS;   /* the data is not held; the next statement after its end */
            }
        }
    }
    return 0;
}

/* the identifier being read ends */
static int end_ident(struct sqlcheck *c, struct odbk_err *err)
{
    if (!c->ident)
        return 0;
    c->ident = 0;
    c->word[c->ident_len < sizeof(c->word) ? c->ident_len : sizeof(c->word) - 1] = '\0';
    c->word_junk = c->junk;
    return token(c, T_WORD, c->ident_len < sizeof(c->word) ? c->word : "", 0, err);
}

/* a '-' or '/' seen last that turned out not to open a comment is an operator */
static int end_pending(struct sqlcheck *c, struct odbk_err *err)
{
    if (!c->pending)
        return 0;
    c->pending = 0;
    return token(c, T_OTHER, NULL, 0, err);
}

/* "\\name" of the meta-command at m: letters, or the one character after the backslash */
static int refuse_meta(struct sqlcheck *c, const char *m, size_t len, struct odbk_err *err)
{
    char name[40];
    size_t i = 1, n = 0;
    name[n++] = '\\';
    if (len > 1 && !((m[1] >= 'a' && m[1] <= 'z') || (m[1] >= 'A' && m[1] <= 'Z')))
        name[n++] = m[1];
    else
        while (i < len && n < sizeof(name) - 1 && ((m[i] >= 'a' && m[i] <= 'z') || (m[i] >= 'A' && m[i] <= 'Z')))
            name[n++] = m[i++];
    name[n] = '\0';
    return refuse(c, err, "psql meta-command '%s'", name);
}

/* the line collected in c->meta: pg_dump's "\\restrict KEY" or "\\unrestrict KEY", or refused */
static int accept_meta(struct sqlcheck *c, struct odbk_err *err)
{
    const char *m = c->meta, *arg;
    size_t i;
    c->meta[c->metalen] = '\0';
    if (c->metalen && m[c->metalen - 1] == '\r')
        c->meta[--c->metalen] = '\0';
    if (!strncmp(m, "\\restrict ", 10) || !strncmp(m, "\\unrestrict ", 12)) {
        arg = m + (m[1] == 'r' ? 10 : 12);
        for (i = 0; (arg[i] >= 'a' && arg[i] <= 'z') || (arg[i] >= 'A' && arg[i] <= 'Z') || is_digit(arg[i]); i++)
            ;
        if (i > 0 && arg[i] == '\0')
            return 0;
    }
    return refuse_meta(c, m, c->metalen, err);
}

/* A backslash outside quotes: at the start of a line it may be pg_dump's \\restrict (collected up to the
 * end of the line); elsewhere it is refused at once. */
static int start_meta(struct sqlcheck *c)
{
    c->st = S_META;
    c->meta_mid = !c->col0;
    c->meta[0] = '\\';
    c->metalen = 1;
    return 0;
}

/* One byte in the normal state. */
static int normal(struct sqlcheck *c, const unsigned char *p, size_t left, struct odbk_err *err)
{
    int ch = *p;
    if (c->pending) {
        int pend = c->pending;
        if (pend == '-' && ch == '-') {
            c->pending = 0;
            c->st = S_LINE_COMMENT;
            return 0;
        }
        if (pend == '/' && ch == '*') {
            c->pending = 0;
            c->st = S_BLOCK_COMMENT;
            c->cdepth = 1;
            c->cprev = 0;
            return 0;
        }
        if (end_pending(c, err) < 0)
            return -1;
    }
    if (c->ident && (is_ident_start(ch) || is_digit(ch) || ch == '$')) {
        if (c->ident_len < sizeof(c->word))
            c->word[c->ident_len] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
        c->ident_len++;
        c->hibyte = ch >= 0x80;
        return 0;
    }
    if (ch == '\'') {
        /* E'...' when the identifier was just that letter (not the exponent of a number) */
        int e = c->ident && c->ident_len == 1 && c->word[0] == 'e' && !c->junk;
        if (e)
            c->ident = 0;
        else if (end_ident(c, err) < 0)
            return -1;
        c->numrun = 0;
        c->hibyte = 0;
        c->st = S_SQUOTE;
        c->str_e = e;
        c->str_bs = c->str_hi = 0;
        return token(c, T_OTHER, NULL, 0, err);
    }
    if (end_ident(c, err) < 0)
        return -1;
    if (ch == ';' && c->hibyte)
        return refuse(c, err, "%sa \";\" right after a non-ASCII byte (its meaning depends on the client encoding)",
                      "");
    c->hibyte = ch >= 0x80;
    if (is_ident_start(ch)) {
        c->ident = 1;
        c->junk = c->numrun;
        c->numrun = 0;
        c->ident_len = 1;
        c->word[0] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
        return 0;
    }
    if (is_digit(ch) || (ch == '.' && c->numrun)) {
        if (!c->numrun && token(c, T_OTHER, NULL, 0, err) < 0)
            return -1;
        c->numrun = 1;
        return 0;
    }
    c->numrun = 0;
    switch (ch) {
    case '"':
        c->st = S_DQUOTE;
        return 0;
    case '$':
        c->st = S_DOLLAR_OPEN;
        c->taglen = 0;
        return 0;
    case '-':
    case '/':
        c->pending = ch;
        return 0;
    case '\\':
        return start_meta(c);
    case '\0':
        return refuse(c, err, "%sa NUL byte", "");
    case ' ':
    case '\t':
    case '\n':
    case '\r':
    case '\f':
    case '\v':
        return 0;
    case '(':
    case ')':
    case ',':
    case '.':
    case ';':
        return token(c, T_PUNCT, NULL, ch, err);
    default:
        return token(c, T_OTHER, NULL, ch, err);
    }
}

/* Process one byte; *consumed tells whether it also belongs to the state it left (re-run otherwise). */
static int step(struct sqlcheck *c, const unsigned char *p, size_t left, int *again, struct odbk_err *err)
{
    int ch = *p;
    *again = 0;
    if (ch == '\0' && c->st != S_COPY_DATA)
        return refuse(c, err, "%sa NUL byte", "");
    switch (c->st) {
    case S_NORMAL:
        return normal(c, p, left, err);
    case S_LINE_COMMENT:
        if (ch == '\n' || ch == '\r')   /* psql's comment ends at either */
            c->st = S_NORMAL;
        return 0;
    case S_BLOCK_COMMENT:
        if (c->cprev == '*' && ch == '/') {
            c->cprev = 0;
            if (--c->cdepth == 0)
                c->st = S_NORMAL;
            return 0;
        }
        if (c->cprev == '/' && ch == '*') {
            c->cprev = 0;
            c->cdepth++;
            return 0;
        }
        c->cprev = ch;
        return 0;
    case S_SQUOTE:
        if (c->str_e) {
            if (c->str_bs) {
                c->str_bs = 0;
            } else if (ch == '\\') {
                if (c->str_hi)
                    return refuse(c, err, "%sa backslash right after a non-ASCII byte in an E'' string", "");
                c->str_bs = 1;
            } else if (ch == '\'') {
                c->st = S_SQUOTE_END;
            }
            c->str_hi = ch >= 0x80;
            return 0;
        }
        if (ch == '\'') {
            /* an odd run of backslashes: where it ends depends on standard_conforming_strings */
            if (c->str_bs)
                return refuse(c, err, "%sa backslash before a quote in a '...' string", "");
            c->st = S_SQUOTE_END;
        }
        /* with standard_conforming_strings off a backslash escapes, and in a client encoding such as SJIS
         * one right after a non-ASCII byte is part of that character to psql: which it is, the filter
         * cannot know */
        if (ch == '\\' && c->str_hi)
            return refuse(c, err, "%sa backslash right after a non-ASCII byte in a '...' string", "");
        c->str_bs = ch == '\\' ? !c->str_bs : 0;
        c->str_hi = ch >= 0x80;
        return 0;
    case S_SQUOTE_END:
        if (ch == '\'') {
            c->st = S_SQUOTE;
            c->str_bs = 0;
            return 0;
        }
        c->st = S_NORMAL;
        *again = 1;
        return 0;
    case S_DQUOTE:
        if (ch == '"')
            c->st = S_DQUOTE_END;
        return 0;
    case S_DQUOTE_END:
        if (ch == '"') {
            c->st = S_DQUOTE;
            return 0;
        }
        c->st = S_NORMAL;
        *again = 1;
        return token(c, T_NAME, NULL, 0, err);
    case S_DOLLAR_OPEN:
        if (ch == '$') {
            c->st = S_DOLLAR_BODY;
            c->tagmatch = -1;
            return token(c, T_OTHER, NULL, 0, err);
        }
        if (is_ident_start(ch) || (c->taglen > 0 && is_digit(ch))) {
            /* psql compares tags as it sees them: in a client encoding such as SJIS the bytes after a
             * non-ASCII one are masked, so two tags different here may be one tag there */
            if (ch >= 0x80)
                return refuse(c, err, "%sa non-ASCII byte in a dollar-quote tag", "");
            if (c->taglen >= sizeof(c->tag))
                return refuse(c, err, "%sa dollar-quote tag this long", "");
            c->tag[c->taglen++] = (char)ch;
            return 0;
        }
        /* not a dollar quote: "$" alone, then the tag's letters as an identifier (psql's dolqfailed) */
        if (token(c, T_OTHER, NULL, 0, err) < 0)
            return -1;
        c->st = S_NORMAL;
        if (c->taglen > 0) {
            size_t i;
            c->ident = 1;
            c->junk = 0;
            c->ident_len = c->taglen;
            for (i = 0; i < c->taglen && i < sizeof(c->word); i++)
                c->word[i] = (char)(c->tag[i] >= 'A' && c->tag[i] <= 'Z' ? c->tag[i] + 32 : c->tag[i]);
            c->hibyte = (unsigned char)c->tag[c->taglen - 1] >= 0x80;
        } else {
            c->hibyte = 0;
        }
        *again = 1;
        return 0;
    case S_DOLLAR_BODY:
        if (c->tagmatch >= 0 && (size_t)c->tagmatch == c->taglen && ch == '$') {
            c->st = S_NORMAL;
            c->hibyte = 0;
            return 0;
        }
        if (c->tagmatch >= 0 && (size_t)c->tagmatch < c->taglen && ch == c->tag[c->tagmatch])
            c->tagmatch++;
        else
            c->tagmatch = ch == '$' ? 0 : -1;
        return 0;
    case S_META:
        if (c->meta_mid && c->metalen >= 2 && (!is_letter(ch) || !is_letter(c->meta[1])))
            return refuse_meta(c, c->meta, c->metalen, err);
        if (ch == '\n') {
            if (accept_meta(c, err) < 0)
                return -1;
            c->st = S_NORMAL;
            return 0;
        }
        if (c->metalen >= sizeof(c->meta) - 1)
            return refuse_meta(c, c->meta, c->metalen, err);
        c->meta[c->metalen++] = (char)ch;
        return 0;
    case S_COPY_REST:
        if (ch == '\n') {
            c->st = S_COPY_DATA;
            c->dline = 0;
            return 0;
        }
        if (ch != ' ' && ch != '\t' && ch != '\r')
            return refuse(c, err, "%stext after \"COPY ... FROM stdin;\" on its line", "");
        return 0;
    case S_COPY_DATA:
        /* psql ends the data at a line that is exactly "\." (copy.c handleCopyIn) */
        if (ch == '\n') {
            if (c->dline == 2 || c->dline == 3) {
                c->st = S_NORMAL;
                c->acl = c->no_acl || c->server ? A_HOLD : A_PASS;
            }
            c->dline = 0;
        } else if (c->dline == 0 && ch == '\\') {
            c->dline = 1;
        } else if (c->dline == 1 && ch == '.') {
            c->dline = 2;
        } else if (c->dline == 2 && ch == '\r') {
            c->dline = 3;
        } else {
            c->dline = 4;
        }
        return 0;
    }
    return 0;
}

static int start(struct sqlcheck *c, struct odbk_err *err)
{
    char *line;
    int r;
    if (c->started || !c->key)
        return c->started = 1, 0;
    c->started = 1;
    line = odbk_xasprintf("\\restrict %s\n", c->key);
    r = odbk_writer_write(c->w.next, line, strlen(line), err);
    free(line);
    return r;
}

/* One byte that reaches psql (or would, but for --no-acl): out, held with its statement, or left out. */
static int put(struct sqlcheck *c, char ch, struct odbk_err *err)
{
    if (c->drop_this || c->acl == A_DROP) {
        c->drop_this = 0;
        return ch == '\n' ? emit(c, "\n", 1, err) : 0;
    }
    if (c->acl == A_PASS)
        return emit(c, &ch, 1, err);
    if (c->hold_len == c->hold_cap) {
        if (c->hold_len && c->ntok == 0 && !(c->ident && c->ident_len <= sizeof(c->word))) {
            /* only blanks and comments so far (or a word too long to be GRANT): nothing to decide yet */
            if (emit(c, c->hold, c->hold_len, err) < 0)
                return -1;
            c->hold_len = 0;
        } else if (c->hold_cap >= HOLD_MAX) {
            return refuse(c, err, "%sa statement whose first words are over 64 KiB apart", "");
        } else {
            c->hold_cap = c->hold_cap ? c->hold_cap * 2 : 4096;
            c->hold = odbk_xrealloc(c->hold, c->hold_cap);
        }
    }
    c->hold[c->hold_len++] = ch;
    return 0;
}

/* COPY data passed on (the bulk of a dump): whole lines at a time, as step() would take them byte by byte
 * (only a line that starts with a backslash, the end marker's candidate, goes the slow way).  The bytes
 * taken from p; 0 when the slow way must take the next one. */
static size_t copy_run(struct sqlcheck *c, const unsigned char *p, size_t left, struct odbk_err *err, int *failed)
{
    size_t done = 0;
    *failed = 0;
    while (done < left) {
        const unsigned char *nl;
        size_t n;
        if (c->dline == 0) {
            if (p[done] == '\\')
                break;            /* maybe "\.": step() decides */
            c->dline = 4;
        } else if (c->dline != 4) {
            break;
        }
        nl = memchr(p + done, '\n', left - done);
        n = nl ? (size_t)(nl - (p + done)) + 1 : left - done;
        if (emit(c, (const char *)p + done, n, err) < 0) {
            *failed = 1;
            return done;
        }
        done += n;
        if (nl) {
            c->line++;
            c->dline = 0;
        }
        c->col0 = nl != NULL;
    }
    return done;
}

static int sqlcheck_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct sqlcheck *c = (struct sqlcheck *)w;
    const unsigned char *p = buf;
    size_t i = 0;
    if (start(c, err) < 0)
        return -1;
    while (i < len) {
        int again = 0, r = 0;
        enum st before = c->st;
        if (c->st == S_COPY_DATA && c->acl == A_PASS && !c->drop_this) {
            int failed;
            size_t n = copy_run(c, p + i, len - i, err, &failed);
            if (failed)
                return -1;
            if (n) {
                i += n;
                continue;
            }
        }
        if (step(c, p + i, len - i, &again, err) < 0)
            return -1;
        if (again)
            continue;
        if (before == S_META) {
            /* pg_dump's \restrict lines do not reach psql: an empty line instead */
            if (c->st != S_META)
                r = put(c, '\n', err);
        } else if (c->st != S_META) {
            r = put(c, (char)p[i], err);
        }
        if (r < 0)
            return -1;
        if (p[i] == '\n') {
            c->line++;
            c->col0 = 1;
        } else {
            c->col0 = 0;
        }
        i++;
    }
    return flush_out(c, err);
}

static int sqlcheck_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct sqlcheck *c = (struct sqlcheck *)w;
    if (start(c, err) < 0)
        return -1;
    if (c->st == S_META && (c->meta_mid ? refuse_meta(c, c->meta, c->metalen, err) : accept_meta(c, err)) < 0)
        return -1;
    /* an unfinished last statement: psql runs it at the end of its input, so it is decided the same way */
    if (c->acl == A_HOLD && hold_release(c, err) < 0)
        return -1;
    return flush_out(c, err);
}

static void sqlcheck_free(struct odbk_writer *w)
{
    struct sqlcheck *c = (struct sqlcheck *)w;
    free(c->what);
    free(c->key);
    free(c->hold);
    free(c);
}

static const struct odbk_writer_ops sqlcheck_ops = {"sqlcheck", sqlcheck_write, sqlcheck_finish, NULL, sqlcheck_free};

struct odbk_writer *odbk_filter_sqlcheck_new(struct odbk_writer *next, const char *what, const char *restrict_key,
                                             int flags)
{
    return odbk_filter_sqlcheck_for_server(next, what, restrict_key, flags, 0, NULL);
}

struct odbk_writer *odbk_filter_sqlcheck_for_server(struct odbk_writer *next, const char *what,
                                                    const char *restrict_key, int flags, int server_version,
                                                    struct odbk_sqlcheck_notes *notes)
{
    struct sqlcheck *c = odbk_xcalloc(1, sizeof(*c));
    c->no_acl = (flags & ODBK_SQLCHECK_NO_ACL) != 0;
    c->server = server_version;
    c->notes = notes;
    c->what = odbk_xstrdup(what);
    c->key = restrict_key ? odbk_xstrdup(restrict_key) : NULL;
    c->line = 1;
    c->col0 = 1;
    c->acl = c->no_acl || c->server ? A_HOLD : A_PASS;
    odbk_writer_init(&c->w, &sqlcheck_ops, next);
    return &c->w;
}
