/* sqlcheck.h - a restored plain-SQL dump is data, never a script: the filter in front of psql that lexes
 * the stream as psql does and refuses any psql meta-command.
 *
 * psql runs a backslash command wherever its lexer is outside a quoted string, a quoted identifier, a
 * dollar-quoted body, a comment, or the data of a COPY ... FROM stdin (up to its "\." line).  This
 * filter follows the same rules byte by byte, in bounded memory:
 *   - '...' and E'...' strings, "..." identifiers, $tag$...$tag$ bodies, -- comments (ended by CR or LF,
 *     as psql ends them) and nested / * * / comments;
 *   - statements split where psql splits them (";" outside parentheses and outside the BEGIN ... END of a
 *     CREATE FUNCTION/PROCEDURE, psql's own heuristic), so that the filter knows which statement is a
 *     COPY ... FROM stdin whose data psql reads from the following lines.
 * What cannot be read the same way whatever the server's settings is refused too: a backslash right
 * before a quote in a '...' string (standard_conforming_strings decides where it ends), a NUL byte (psql
 * drops the rest of its line), a COPY statement other than "COPY name [(columns)] FROM stdin;" alone on
 * its line (pg_dump's form), and COPY after a ";" that psql does not treat as the end of a statement.
 *
 * The only meta-commands accepted are pg_dump's "\restrict KEY" and "\unrestrict KEY" lines (pg_dump >=
 * 13.22/14.19/15.14/16.10/17.6); they are replaced by empty lines (line numbers stay the same), so the
 * file cannot lift a restriction.  With restrict_key set, the stream starts with "\restrict KEY": psql
 * (when it knows the command) then refuses any meta-command at all, a second line of defence.
 *
 * Refusals are ODBK_E_DATA: "WHAT: psql meta-command '\!' at line N is not allowed". */
#ifndef ODBK_SQLCHECK_H
#define ODBK_SQLCHECK_H

#include "io/writer.h"

/* With ODBK_SQLCHECK_NO_ACL (odbk-restore --no-acl) the statements whose first words are GRANT, REVOKE
 * or ALTER DEFAULT PRIVILEGES (pg_dump's ACL and DEFAULT ACL entries, what pg_restore --no-privileges
 * leaves out) do not reach psql: the filter holds each statement back until its first words are read
 * (comments before it pass at once; words further apart than 64 KiB are refused) and passes, of a left-out
 * statement, only its line ends.  The statement boundaries are the ones above (psql's), so a GRANT inside
 * a function body or a string is data and stays. */
#define ODBK_SQLCHECK_NO_ACL 1

/* what names the file in messages; restrict_key (letters and digits) may be NULL; flags ODBK_SQLCHECK_*. */
struct odbk_writer *odbk_filter_sqlcheck_new(struct odbk_writer *next, const char *what, const char *restrict_key,
                                             int flags);

/* What the filter left out of a dump for the server it loads into. */
struct odbk_sqlcheck_notes {
    char skipped[256];   /* "transaction_timeout (line 12), ..." or "" */
};

/* As odbk_filter_sqlcheck_new, for a server of server_version (PQserverVersion): a statement
 * "SET name ..." of a setting that pg_dump writes and that server does not know yet (transaction_timeout
 * before 17, default_table_access_method before 12, ...: a dump of a newer pg_dump) is left out, as
 * --no-acl leaves its statements out, and named in notes (may be NULL).  Any other statement, and any
 * error of the load, is the server's to judge. */
struct odbk_writer *odbk_filter_sqlcheck_for_server(struct odbk_writer *next, const char *what,
                                                    const char *restrict_key, int flags, int server_version,
                                                    struct odbk_sqlcheck_notes *notes);

/* Fill buf with n random letters and digits and a NUL (n+1 bytes). */
void odbk_random_alnum(char *buf, size_t n);

#endif
