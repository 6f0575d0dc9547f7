/* odooconf.h - read the connection, database and data-dir settings of an Odoo config file (odoo.conf).
 *
 * The file is what Odoo's odoo/tools/config.py reads with Python's RawConfigParser: `[SECTION]` headers,
 * `key = value` (or `key: value`) lines, whole-line comments starting with '#' or ';', no inline comments
 * (a ';' or '#' inside a value, e.g. a password, is part of it), indented continuation lines.  Only
 * `[options]` is read.  The values `False`, `false` and `None`, and empty values, mean unset (NULL here).
 * Refused: NUL bytes, malformed lines, a key set twice in a section (RawConfigParser's strict mode),
 * a db_name that is not one safe database name, a relative data_dir, a db_port or http_port that is no
 * port number.  Errors name `file:line`. */
#ifndef ODBK_ODOOCONF_H
#define ODBK_ODOOCONF_H

#include <stddef.h>

#include "common/err.h"

struct odbk_odooconf {
    char *db_host, *db_port, *db_user;
    char *db_password;  /* a secret: never put it in an argv, a message, the catalog or a conninfo stored */
    char *db_name;      /* one database name, or NULL (unset, or a list such as "a,b") */
    char *data_dir;     /* absolute, or NULL */
    char *addons_path;  /* as written, comma-separated */
    char *http_port;    /* 1-65535, or NULL: Odoo's default, 8069 */
};

/* Parse size bytes of odoo.conf text; `file` names it in messages. */
int odbk_odooconf_parse_text(const char *text, size_t size, const char *file, struct odbk_odooconf *out,
                             struct odbk_err *err);
/* Read and parse the file at path (at most 1 MiB).  *owner_home (may be NULL) receives the home
 * directory of the file's owner (malloc'd, NULL when unknown): Odoo's default data_dir is
 * ~/.local/share/Odoo of the user it runs as, taken to be the one owning its config. */
int odbk_odooconf_load(const char *path, struct odbk_odooconf *out, char **owner_home, struct odbk_err *err);
void odbk_odooconf_release(struct odbk_odooconf *c);
/* An addons path as Odoo splits it (config.py: on ',', each entry stripped; a continuation line of
 * odoo.conf adds a newline): "a,b", empty entries left out; NULL when none is left.  malloc'd. */
char *odbk_odooconf_addons_list(const char *v);

#endif
