/* odoo.h - what odbk knows about an Odoo database: its series (from the base module) and its installed
 * modules, read over a libpq connection; absent tables mean "not an Odoo database" (still backed up). */
#ifndef ODBK_ODOO_H
#define ODBK_ODOO_H

#include <libpq-fe.h>

#include "common/err.h"

struct odbk_odoo_info {
    int is_odoo;          /* public.ir_module_module exists */
    char *base_version;   /* "17.0.1.3", or "" */
    char *series;         /* "17.0", or "" */
    int major;            /* 17, or 0 */
    char *modules_json;   /* {"base": "17.0.1.3", ...} */
};

/* Reads only catalogs and a plain public.ir_module_module of built-in column types, so that nothing the
 * database defines (view, rule, trigger, operator, function, policy, search_path) runs on c; leaves c with
 * search_path = pg_catalog, pg_temp and row_security = off.  An ir_module_module of any other kind: an
 * Odoo database of unknown series (is_odoo set, series ""). */
int odbk_odoo_info_read(PGconn *c, struct odbk_odoo_info *out, struct odbk_err *err);
void odbk_odoo_info_release(struct odbk_odoo_info *info);
/* The series of a base module version: "17.0.1.3" → "17.0", "saas~17.2.1.0" → "saas~17.2". */
char *odbk_odoo_series(const char *base_version);
/* A series as Odoo's release.series writes it: "17.0" or "saas~17.2" (digits only around the dot, so a
 * series read from a database can name a folder) */
int odbk_odoo_series_ok(const char *series);

#endif
