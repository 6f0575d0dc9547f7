/* gc.h - the collection of an env's packs: delete every pack under <env>/packs/ that no backup needs.
 *
 * An incremental backup's filestore bytes live in packs shared by the env's backups (<env>/packs/ID-NNNNNN,
 * named by the backup that made them); its manifest lists every pack it references, its own and those it
 * took over from its parent.  Once prune (or odbk-prune --backup) has removed backups (their manifests
 * first), the packs only they referenced are garbage, and this collects them:
 *
 *   1. the env is locked in the catalog (odbk_catalog_env_lock): no backup of it runs meanwhile, and none
 *      starts (a backup starting from a parent whose packs are being deleted would lose them);
 *   2. <env>/packs/ is listed; none there: done, nothing else read;
 *   3. live = the packs of every manifest of the env in storage (read there: another host may have written
 *      them), of every completed row of the env in this storage (the catalog's copy), every pack of a
 *      backup still running, and every pack of an id the catalog does not know made in the last 24 hours
 *      (another host's backup in flight);
 *   4. every other pack is deleted; then the lock is given up, and the pair (env, storage) is no longer due
 *      (catalog.h's gc_due: cleared with the generation read before step 2, so that a deletion recorded
 *      meanwhile keeps it due for the next prune).
 * A pack partly referenced is kept whole.  Any manifest that cannot be read or checked stops the
 * collection before anything is deleted: the live set is not known without it.  A crash at any step
 * leaves garbage only, which the next collection deletes: a kept backup never loses a pack.
 */
#ifndef ODBK_BACKUP_GC_H
#define ODBK_BACKUP_GC_H

#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "common/err.h"
#include "storage/storage.h"

struct odbk_gc_pack {
    char *name;        /* under <env>/packs/ */
    uint64_t size;     /* stored bytes, as listed */
};

struct odbk_gc_report {
    char *storage;                 /* the storage's name */
    size_t n_manifests;            /* manifests of the env read from storage */
    size_t n_packs;                /* packs found under <env>/packs/ */
    size_t n_live;                 /* of them kept: referenced, or of a running or unknown recent backup */
    struct odbk_gc_pack *removed;  /* deleted (a dry run: would be), by name */
    size_t n_removed;
    uint64_t bytes_removed;
    size_t n_failed;               /* deletions that failed (kept, the next run tries again) */
    size_t n_foreign;              /* objects under <env>/packs/ that are no pack's: left alone */
};

struct odbk_gc_opts {
    int dry_run;               /* lock nothing, delete nothing: say what would go */
    /* backups to count as gone although their manifests are still stored (a dry run of a prune: those it
     * would remove), NULL-terminated, or NULL */
    const char *const *gone;
};

/* Collect env's packs in storage st (named storage in the catalog).  0 with *out filled (what was
 * deleted, or would be); -1 with err: ODBK_E_TEMPFAIL when a backup of env runs or another collection
 * holds the env (nothing deleted), the error of a manifest or a listing that cannot be read (nothing
 * deleted), or the first deletion that failed (*out says what was done). */
int odbk_gc_env(struct odbk_catalog *cat, struct odbk_storage *st, const char *storage, const char *env,
                const struct odbk_gc_opts *opts, struct odbk_gc_report *out, struct odbk_err *err);
void odbk_gc_report_release(struct odbk_gc_report *r);
/* A report as JSON (odbk-prune(1)): storage, found, kept, removed [{name, size}], bytes_removed, failed. */
struct cJSON;
struct cJSON *odbk_gc_report_json(const struct odbk_gc_report *r);

#endif
