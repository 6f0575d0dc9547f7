/* neutralize.h - what Odoo does to a restored copy so that it cannot act as production: neutralization
 * (Odoo 16+, research/odoo-facts.md §2) and what Odoo's "copy" changes (see odbk_odoo_copy).  odbk carries its own copy of the core statements, since it has no Odoo addons tree; each
 * runs only where its table and columns exist.  The statements run whatever the database defines for
 * them (triggers, rules, operators): call these only on a connection with no more rights than the one
 * that loaded it (a restore's load role on its temporary database), never as a superuser. */
#ifndef ODBK_NEUTRALIZE_H
#define ODBK_NEUTRALIZE_H

#include <libpq-fe.h>

#include "common/err.h"

/* Is an Odoo series ("16.0", "saas~17.2", "17.0+e") one that knows neutralization (16 and later)?
 * *major is set to its major number (0 when it cannot be read). */
int odbk_odoo_can_neutralize(const char *series, int *major);

/* Neutralize the database of c in one transaction, then set database.is_neutralized; *applied (may be
 * NULL) counts the statements that ran (the others' tables were absent). */
int odbk_odoo_neutralize(PGconn *c, int *applied, struct odbk_err *err);

/* What Odoo's copy does to the database of c: a new database.uuid, database.secret and
 * database.create_date, web.base.url reset to http://localhost:HTTP_PORT (odoo.conf's http_port, NULL for
 * Odoo's 8069) and the login cooldown keys to Odoo's defaults (10 failures, 60 s). */
int odbk_odoo_copy(PGconn *c, const char *http_port, struct odbk_err *err);

#endif
