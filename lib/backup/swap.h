/* swap.h - a restore's temporaries, recorded before they exist, and the journaled swap that puts them in
 * place (database and filestore together), completed or undone by the next odbk run when it was killed. */
#ifndef ODBK_BACKUP_SWAP_H
#define ODBK_BACKUP_SWAP_H

#include <libpq-fe.h>

#include "catalog/catalog.h"

struct odbk_swap {
    struct odbk_catalog *cat;
    PGconn *pg;                   /* on the target's server, not owned */
    struct odbk_restore_temp row; /* the catalog row: its names are the temporaries' */
    int made_dir;                 /* row.tmp_dir was made by odbk_swap_make_dir (only then is it removed) */
};

/* Pick free names for the temporary database and (target_dir not NULL) directory of a restore into
 * target_db/target_dir and record them, with this process, before anything is created; env (NULL for a
 * new database) and conninfo without its password say how the next run reconnects. */
int odbk_swap_begin(struct odbk_catalog *cat, PGconn *pg, const char *env, const char *conninfo,
                    const char *target_db, const char *target_dir, struct odbk_swap *sw, struct odbk_err *err);
/* The same record for the scratch copy of odbk-restore --test: database "<db>_odbk_test_<pid>" and (dir_base
 * not NULL) directory "<dir_base>.odbk-test-<pid>", its own target (it is never swapped in).  The row stays
 * at LOADING: odbk_swap_abort drops both, and a run killed outright has them dropped by the next one. */
int odbk_swap_begin_scratch(struct odbk_catalog *cat, PGconn *pg, const char *env, const char *conninfo,
                            const char *db, const char *dir_base, struct odbk_swap *sw, struct odbk_err *err);
/* Make the temporary directory, mode 0700 (the Odoo user, who may own the folder holding it, stays out
 * until the restore hands it over), and record its device and inode: every later step (owners, the swap's
 * renames, its removal, the next run's recovery) checks it acts on this directory, never on a link or a
 * folder put in its place.  odbk_swap_dir_id gives that identity for odbk_same_file (NULL before). */
struct stat;
int odbk_swap_make_dir(struct odbk_swap *sw, struct odbk_err *err);
const struct stat *odbk_swap_dir_id(const struct odbk_swap *sw, struct stat *buf);
/* The temporary directory was removed and the target keeps its own (an Odoo zip without filestore). */
void odbk_swap_forget_dir(struct odbk_swap *sw);
/* The load finished: journal the swap, rename target → old and tmp → target (database, then directory),
 * then drop the originals and clear the row.  On failure the target is put back when it can be (the
 * temporaries are then the caller's to drop with odbk_swap_abort); when it cannot, the row stays for the
 * next run to complete. */
int odbk_swap_run(struct odbk_swap *sw, struct odbk_err *err);
/* The restore failed before or during the swap: drop the temporaries (the database only when
 * created_db) and clear the row, unless the swap is unfinished. */
void odbk_swap_abort(struct odbk_swap *sw, int created_db);
void odbk_swap_release(struct odbk_swap *sw);

#endif
