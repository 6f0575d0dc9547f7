/* neutralize.h - what Odoo does to a restored copy so that it cannot act as production: neutralization
 * (Odoo 16+, odoo/modules/neutralize.py) and what Odoo's "copy" changes (see odbk_odoo_copy).
 *
 * Odoo neutralizes by running the data/neutralize.sql of every module in state installed, to upgrade or
 * to remove (odoo/modules/neutralize.py).  With the addons path of the Odoo that runs the database, odbk
 * runs those files; a module the path does not hold, and every module without one, gets odbk's built-in
 * statements (written from Odoo 16.0, 17.0 and 18.0's files), each run only where its module is installed
 * and its tables and columns exist.  The statements run whatever the database defines for them (triggers,
 * rules, operators): call these only on a connection with no more rights than the one that loaded it (a
 * restore's load role on its temporary database), never as a superuser. */
#ifndef ODBK_NEUTRALIZE_H
#define ODBK_NEUTRALIZE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "common/err.h"

/* Is an Odoo series ("16.0", "saas~17.2", "17.0+e") one that knows neutralization (16 and later)?
 * *major is set to its major number (0 when it cannot be read). */
int odbk_odoo_can_neutralize(const char *series, int *major);

/* What a neutralization did. */
struct odbk_neutralized {
    char *addons;               /* the addons directories searched, in order, comma-separated; NULL: none */
    char **files;               /* modules whose own data/neutralize.sql ran */
    size_t n_files;
    char **builtin;             /* modules neutralized with odbk's built-in statements */
    size_t n_builtin;
    char **skipped;             /* installed module names that are no Odoo module name (shown escaped) */
    size_t n_skipped;
    int statements;             /* built-in statements that ran */
};

/* Neutralize the database of c in one transaction (nothing of it stays when it fails).  addons_path
 * (comma-separated absolute directories, may be NULL) is Odoo's addons_path: see
 * odbk_odoo_addons_dirs.  A neutralize.sql over 256 KiB, with a NUL byte or a psql meta-command is
 * refused (ODBK_E_DATA), as is one that fails, runs COPY with client data or ends the transaction. */
int odbk_odoo_neutralize(PGconn *c, const char *addons_path, struct odbk_neutralized *out, struct odbk_err *err);
void odbk_neutralized_release(struct odbk_neutralized *r);
/* "neutralized: 3 modules with their own neutralize.sql from DIRS (a, b, c), 2 not in the addons path,
 * with odbk's built-in statements (base, mail)"; malloc'd. */
char *odbk_neutralized_summary(const struct odbk_neutralized *r);

/* Odoo module names are [a-z0-9_]: 1 for one (at most ODBK_ODOO_MODULE_MAX bytes), 0 for anything else
 * (a name from the database never becomes a path that leaves the addons directories). */
#define ODBK_ODOO_MODULE_MAX 128
int odbk_odoo_module_name_ok(const char *name);
/* The directories Odoo looks for modules in, as odoo.addons.__path__ orders them: Odoo's own odoo/addons
 * first (an entry that holds the base module, or the odoo/addons beside an entry, as in a source tree
 * <root>/addons + <root>/odoo/addons), then addons_path's entries in order, each by its real path, each
 * once.  *dirs is NULL-terminated (odbk_odoo_dirs_free).  A relative entry or one that is no directory:
 * ODBK_E_CONFIG. */
int odbk_odoo_addons_dirs(const char *addons_path, char ***dirs, struct odbk_err *err);
/* The addons path an Odoo of series runs with: <data_dir>/addons/<series> (config.addons_data_dir, where
 * Odoo installs modules from the app store; initialize_sys_path puts it before addons_path's entries) when
 * it is a readable directory, then addons_path.  NULL when addons_path is NULL (odbk does not know that
 * Odoo); addons_path alone for a series that is not one (odbk_odoo_series_ok).  malloc'd. */
/* The series of the Odoo whose addons path this is (its odoo/release.py beside the directory holding
 * base: version_info = (17, 0, ...) or ('saas~17', 2, ...)) against the database's: 0 when they are
 * the same or either is unknown; -1 (ODBK_E_CONFIG naming both) when that Odoo is of another series, whose
 * neutralize.sql files are not this database's. */
int odbk_odoo_addons_series_check(const char *addons_path, const char *series, struct odbk_err *err);
char *odbk_odoo_addons_path_of(const char *addons_path, const char *data_dir, const char *series);
void odbk_odoo_dirs_free(char **dirs);
/* Where module's data/neutralize.sql is, as Odoo 17/18's file_path() finds it: the first of dirs that has
 * it.  1 and *path (malloc'd) when found; 0 when a directory holds the module (its __manifest__.py) but
 * no such file; -1 when none holds it or the name is no module name. */
int odbk_odoo_neutralize_file(char *const *dirs, const char *module, char **path);

/* What Odoo's copy does to the database of c: a new database.uuid, database.secret and
 * database.create_date, web.base.url reset to http://localhost:HTTP_PORT (odoo.conf's http_port, NULL for
 * Odoo's 8069) and the login cooldown keys to Odoo's defaults (10 failures, 60 s). */
int odbk_odoo_copy(PGconn *c, const char *http_port, struct odbk_err *err);

#endif
