/* backup.h - the operations the programs call: create, restore, verify, delete, rescan.  Each takes
 * the config and the catalog, does the whole job, and leaves either a finished result or nothing
 * (a failed backup has its row marked failed with the reason and its objects removed). */
#ifndef ODBK_BACKUP_H
#define ODBK_BACKUP_H

#include <stdint.h>

#include "catalog/catalog.h"
#include "config/config.h"
#include "io/writer.h"
#include "odoo/manifest.h"
#include "odoo/neutralize.h"
#include "storage/storage.h"

/* Progress of a create or a restore, as events.  A run (phase NULL) and each of its phases ("database",
 * "filestore", "verify database", "verify filestore"; in a restore "safety backup: database", ...,
 * "restore: database", "restore: filestore") is started, moves on (running: bytes so far against bytes
 * expected), and is finished or failed.  A run that fails may leave phases without their end: the
 * receiver ends them with it.  Called from several threads at once. */
enum odbk_progress_status { ODBK_PHASE_STARTED, ODBK_PHASE_RUNNING, ODBK_PHASE_FINISHED, ODBK_PHASE_FAILED };

struct odbk_progress_event {
    const char *env;           /* the environment, NULL when none (a restore into a new database) */
    const char *backup_id;     /* the backup made (create) or restored from, NULL until known */
    const char *phase;         /* NULL: the whole run */
    enum odbk_progress_status status;
    uint64_t bytes;            /* so far */
    uint64_t expected;         /* 0 when unknown */
    int estimated;             /* expected is a guess (the previous backup's size), not a known size */
    const char *error;         /* FAILED: why, or NULL */
    const char *unit;          /* NULL: bytes and expected count bytes; else things of that name, a static
                                * string ("manifests": a rescan's manifests read of those listed) */
};

typedef void (*odbk_backup_progress_cb)(void *ctx, const struct odbk_progress_event *ev);

struct odbk_create_opts {
    const char *type;          /* manual (default), scheduled, pre-restore, pre-upgrade, pre-destroy */
    const char *format;        /* odbk (default), zip, dump */
    enum odbk_compression compression;   /* default gzip */
    int level;                 /* -1: the codec's default */
    int jobs;                  /* compression threads (zstd); 0 = automatic */
    int no_filestore;
    int full_filestore;        /* --full-filestore: the filestore as one tar file even where the env's is
                                * incremental (`filestore-mode`) */
    const char *retention;     /* NULL/"" or daily, weekly, monthly, yearly, permanent */
    const char *comment;
    const char *storage;       /* override the env's storage */
    enum odbk_verify_mode verify;   /* after the upload: 0 the storage's `verify =` (default store), or
                                     * ODBK_VERIFY_STORE/_READ/_NONE */
    odbk_backup_progress_cb progress;
    void *progress_ctx;
    time_t due_since;          /* --due (odbk_backup_create_due sets it): the fire time the backup is for;
                                * another host's backup of it, running or made since, is a skip (2) */
};

/* Make one backup of env; on success (0) *out is its catalog row (release with odbk_backup_release), its
 * `verified` how the stored files were checked.  1: a backup made but not fully done, *out its row and err
 * (one line: the id, the cause, the fix) what is left: after its manifest was stored the verification
 * (the store's confirmation or the read-back) was ended by a stop signal or a store that did not answer
 * (ODBK_E_TEMPFAIL: completed, not verified), or the catalog could not record it (ODBK_E_IO: stored and
 * complete, its row left uploading for the reaper or odbk-list --rescan).  -1: failed, nothing kept.
 * With due_since, nothing made, err saying why: 2 skipped, a backup of the env runs (any host) or a
 * scheduled backup since due_since is there (another host made it); 3 deferred, a collection of the env's
 * packs holds it (odbk-prune; ODBK_E_TEMPFAIL): the env stays due.  Asked for by name, a held env is -1. */
int odbk_backup_create(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *env,
                       const struct odbk_create_opts *opts, struct odbk_backup *out, struct odbk_err *err);

/* What one backup of a run of several gave (odbk_backup_create_each, odbk_backup_create_due). */
struct odbk_create_outcome {
    const char *env;
    const struct odbk_backup *backup;    /* the completed backup, or NULL when it failed */
    const struct odbk_err *err;          /* why it failed (backup NULL), or what a backup made left undone
                                          * (backup set: odbk_backup_create returned 1), or NULL */
    const struct odbk_err *notify_err;   /* the env's notification failed (a warning), or NULL */
    const struct odbk_err *record_err;   /* the failed attempt could not be recorded (a warning), or NULL */
    const struct odbk_err *skipped;      /* --due: not backed up, and why (another host has it), or NULL */
    /* with skipped: a collection of the env's packs held it (odbk_backup_create returned 3): no failure
     * (not counted, not notified, not recorded for the back-off); the env stays due, the next run makes it */
    int deferred;
};
typedef void (*odbk_create_outcome_cb)(void *ctx, const struct odbk_create_outcome *o);

/* Back up each of envs in turn until a stop signal, each with opts, and notify the env's channels of each result; cb hears every outcome and a failure
 * does not stop the run.  With `scheduled`, a failed attempt is recorded for the retry backoff, and an env
 * held by a collection of its packs is deferred (outcome.deferred), no failure.  Returns the number that
 * failed or were made but not fully done. */
size_t odbk_backup_create_each(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *const *envs,
                               size_t n, struct odbk_create_opts *opts, int scheduled, odbk_create_outcome_cb cb,
                               void *ctx);
/* odbk-create --due: one run at a time (a lock beside the catalog at catalog_path), a scheduled backup of
 * every env whose schedule fired since its last one (odbk-policy due), as odbk_backup_create_each with
 * opts->type set to scheduled.  Returns 1 when another run holds the lock (nothing done), 0 once the run
 * is over (*failed envs failed), -1 when the lock or the schedule states could not be had. */
int odbk_backup_create_due(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *catalog_path,
                           struct odbk_create_opts *opts, odbk_create_outcome_cb cb, void *ctx, size_t *failed,
                           struct odbk_err *err);

/* Restores killed outright, on this host only (the catalog's restore_temps rows whose process is gone):
 * one killed during its load has its temporaries dropped; one killed during its swap has the swap
 * completed, database and filestore together, and then the originals dropped; then the load roles of this
 * host's dead restores go.  Run at the start of the programs that write (odbk-create, odbk-restore,
 * odbk-prune, odbk-list --rescan/--verify; odbk_backup_retry_removals calls it); the programs that only
 * report leave it to them (odbk_restore_pending).  Returns the number recovered, -1 when one could not
 * be (its row stays for a later run).  Each row is claimed first, so two programs never act on one; the
 * server is the row's env's in cfg (NULL: the row's conninfo, kept without password). */
int odbk_restore_recover(const struct odbk_config *cfg, struct odbk_catalog *cat, struct odbk_err *err);
/* What odbk_restore_recover would act on, touched in no way (the programs that only report): the rows of
 * this host's restores whose process is gone, oldest first (*out NULL when none). */
int odbk_restore_pending(struct odbk_catalog *cat, struct odbk_restore_temp **out, size_t *n, struct odbk_err *err);

/* Find runs that died (same host and dead pid, or no heartbeat for 30 minutes).  One that had stored
 * its manifest and every file it lists becomes completed (not verified); any other is marked failed, its
 * partial objects removed and its unfinished multipart uploads aborted.  Returns the number reaped. */
int odbk_backup_reap_stale(const struct odbk_config *cfg, struct odbk_catalog *cat, struct odbk_err *err);
/* Is env's filestore directory there?  -1 (ODBK_E_NOINPUT, 66) naming it and the fix otherwise (odbk-create,
 * odbk-policy check --probe). */
int odbk_backup_filestore_check(const struct odbk_env *env, struct odbk_err *err);
/* Open storage name (odbk_storage_open) for a program that writes to it or judges what it holds, with
 * its marker checked (storage.h): a storage the catalog (NULL: none) knows completed backups in, whose
 * marker is missing and which shows no manifest is refused (74: not mounted, not odbk's); one that shows
 * manifests gets its marker now when may_write (a program that only reads or reports, may_write 0, writes
 * nothing to storage: download, restore's source, verify, prune --dry-run, probe).  A storage without
 * marker nor known backups has marker_due set: odbk_backup_storage_mark writes it with the first manifest.
 * Every open of a backup's storage goes through here. */
int odbk_backup_storage_open(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *name, int may_write,
                             struct odbk_storage **out, struct odbk_err *err);
/* odbk-list --rescan --init-storage: give local storage name a marker when it has none (a storage whose
 * backups were moved or lost for good); an existing marker must be valid.  Other types: ODBK_E_USAGE. */
int odbk_backup_storage_init(const struct odbk_config *cfg, const char *name, struct odbk_err *err);
/* A manifest was stored: write the storage's marker when its open found none (marker_due; no second check). */
int odbk_backup_storage_mark(struct odbk_storage *st, struct odbk_err *err);
/* Remove a backup's folder and abort its unfinished uploads; when that fails (st NULL: the storage could
 * not be opened), record the removal so that later runs retry it. */
int odbk_backup_remove_objects(struct odbk_catalog *cat, struct odbk_storage *st, const char *storage,
                               const char *env, const char *id, struct odbk_err *err);
/* Retry every recorded removal (whatever the retention says: they are leftovers of failed runs);
 * returns the number done now.  The programs that write run it at their start (ODBK_SESSION_CLEANUP). */
int odbk_backup_retry_removals(const struct odbk_config *cfg, struct odbk_catalog *cat, struct odbk_err *err);

/* The storage key of a backup's folder ("env/id/") and of one of its files; malloc'd. */
char *odbk_backup_folder(const char *env, const char *id);
char *odbk_backup_file_key(const char *env, const char *id, const char *name);
/* The name of a backup's manifest file, "backup-ID-manifest.json"; malloc'd. */
char *odbk_backup_manifest_name(const char *id);
/* A new backup id: UTC time + random suffix, sortable and unique across hosts ("20260102T030405Z-1a2b3c"). */
void odbk_backup_new_id(char out[40]);
void odbk_backup_new_uuid(char out[40]);
/* Load the manifest of a backup row (from the catalog copy, else from storage). */
int odbk_backup_manifest(struct odbk_storage *st, const struct odbk_backup *b, struct odbk_manifest *m,
                         struct odbk_err *err);
/* The manifest of record b: its identity, type, format, tier, comment, host and times (m borrows b's
 * strings; the caller adds the versions, the Odoo keys and the files).  The one record-to-manifest mapping. */
void odbk_backup_to_manifest(const struct odbk_backup *b, struct odbk_manifest *m);
/* The record a manifest describes, in storage `storage` (status completed, not verified; json, the manifest
 * as stored, becomes its manifest).  The one manifest-to-record mapping. */
void odbk_backup_from_manifest(const struct odbk_manifest *m, char *json, const char *storage, struct odbk_backup *b);
/* b's sizes from the files m lists and its manifest's length: the filestore's (its tar, or its list and
 * every pack it references), the others' (the database), all of them with the manifest; the bytes it added
 * (its files, its manifest and the packs named after it); has_filestore is set when m lists a filestore
 * file or a file list. */
void odbk_backup_sizes(struct odbk_backup *b, const struct odbk_manifest *m, size_t manifest_len);
/* 0 when `env` is an [env] of cfg or has backups in the catalog (an env since removed from the configuration
 * keeps its history); else ODBK_E_CONFIG "unknown environment" with a did-you-mean. */
int odbk_backup_env_known(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *env,
                          struct odbk_err *err);
/* 0 when each of envs is known (odbk_backup_env_known) and project, when not NULL, is the project of an
 * [env] of cfg or of a backup in the catalog; else ODBK_E_CONFIG "unknown project" with a did-you-mean: a
 * name neither knows is a mistake, not an empty list. */
int odbk_backup_names_known(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *const *envs,
                            size_t n_envs, const char *project, struct odbk_err *err);

struct odbk_restore_opts {
    const char *backup_id;     /* a catalog id, or NULL with latest_env */
    const char *latest_env;    /* --latest ENV */
    const char *latest_type;   /* --type with --latest: only backups of this type, or NULL for any */
    const char *from_file;     /* --from-file PATH: an Odoo .zip or .dump, or an odbk backup folder */
    const char *from_url;      /* --from-url URL: an Odoo .zip or .dump over http(s) */
    const char *to_env;        /* --to ENV (rollback when it is the backup's env) */
    const char *new_db;        /* --new-db NAME */
    const char *filestore;     /* --filestore DIR (with new_db) */
    const char *pg;            /* --pg CONNINFO (with new_db) */
    const char *db_owner;      /* --db-owner ROLE: owner of the restored database (never a superuser) */
    const char *filestore_owner; /* --filestore-owner USER[:GROUP]: owner of the restored files */
    int no_filestore;
    int no_acl;                /* --no-acl: leave the backup's GRANT/REVOKE/ALTER DEFAULT PRIVILEGES out */
    int no_safety_backup;
    int neutralize;
    int copy;
    int force;                 /* --force: replace a target that runs another Odoo series than the backup */
    int jobs;
    odbk_backup_progress_cb progress;
    void *progress_ctx;
};

struct odbk_restore_result {
    char *database;            /* the restored database */
    char *filestore;           /* the restored filestore directory, or NULL */
    char *safety_backup_id;    /* the pre-restore backup made, or NULL */
    char *env_block;           /* for a new database: the [env] block to add, or NULL */
    char *env;                 /* the target environment (NULL for a new database), set even on failure */
    char *source;              /* the backup id, path or URL restored from, set even on failure */
    char *skipped_settings;    /* SET statements of a newer pg_dump left out for this server, or NULL */
    int neutralize_done;       /* --neutralize ran: what it did is in neutralized */
    struct odbk_neutralized neutralized;
};

/* Resolve the source and target of opts (for the confirmation prompt) without changing anything. */
int odbk_restore_describe(const struct odbk_config *cfg, struct odbk_catalog *cat,
                          const struct odbk_restore_opts *opts, char **description, struct odbk_err *err);
int odbk_backup_restore(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct odbk_restore_opts *opts,
                        struct odbk_restore_result *res, struct odbk_err *err);
void odbk_restore_result_release(struct odbk_restore_result *res);

/* odbk-restore --test: one table's rows, as the backup recorded them and as the scratch copy has them. */
struct odbk_test_table {
    char *table;               /* as pg_dump names it ("public.res_partner") */
    int64_t expected;          /* rows of its COPY block when the backup was made */
    int64_t restored;          /* rows in the scratch copy; -1 when the table is not there */
};

struct odbk_test_result {
    char *source;              /* the backup id (or path) */
    char *env;                 /* the backup's environment */
    char *format;              /* odbk, zip, dump */
    char *database;            /* the environment's database: never touched */
    char *scratch_db;          /* "<db>_odbk_test_<pid>", dropped before the call returns */
    char *scratch_dir;         /* "$TMPDIR/<db>.odbk-test-<pid>", removed likewise; NULL without filestore */
    struct odbk_test_table *tables;
    size_t n_tables;
    int fs_compared;           /* the filestore was restored and compared */
    int64_t fs_files_expected, fs_bytes_expected;   /* what the backup recorded */
    int64_t fs_files, fs_bytes;                     /* what the scratch directory holds */
    uint64_t fs_named;         /* files named by the SHA-1 of their content (Odoo's layout), each checked */
    uint64_t fs_bad;           /* of those, files whose content does not match their name */
    char *fs_first_bad;        /* the first of them (relative name), NULL when none */
    size_t mismatches;         /* tables and filestore figures that differ */
    int compared;              /* the comparison ran (the figures above are complete) */
    int cleaned;               /* the scratch database and directory are gone */
};

/* Restore the backup of opts (backup_id or latest_env) into a scratch database on its environment's server,
 * loaded as a normal restore loads its temporary one (a load role, the SQL stream check), and a scratch
 * directory under $TMPDIR; compare each table's rows and the filestore's files, bytes and content (a file
 * named by its SHA-1) with what the backup recorded; drop both, also on failure or interruption (recorded in
 * restore_temps first: a run killed outright has them dropped by the next one).  The environment's database
 * and filestore are never touched.  0 when everything matches; ODBK_E_DATA naming the first table or file
 * that differs (res complete, res->compared set), or when the backup recorded no row counts. */
int odbk_backup_test(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct odbk_restore_opts *opts,
                     struct odbk_test_result *res, struct odbk_err *err);
void odbk_test_result_release(struct odbk_test_result *res);

struct odbk_download_opts {
    const char *backup_id;
    long expires;              /* seconds a link stays valid (1 .. 7 days) */
    const char *output;        /* fetch into this directory instead of making links */
    int as_zip;                /* with output: one Odoo-style zip */
    odbk_backup_progress_cb progress;   /* with output: each file fetched is a phase, called by its role */
    void *progress_ctx;
};

struct odbk_download_file {
    char *name;                /* file name in the backup's folder (or the zip made) */
    char *role;                /* database, filestore, archive, manifest, zip */
    uint64_t size;             /* -1 (max) when unknown */
    char *sha256;              /* "" when unknown */
    char *url;                 /* the link (without --output) */
    char *path;                /* the file written (with --output) */
};

struct odbk_download_result {
    char *backup_id;
    time_t expires_at;         /* links only */
    int encrypted;             /* links only: the storage is encrypted, a linked file needs odbk_backup_decrypt */
    struct odbk_download_file *files;
    size_t n_files;
};

/* Expiring links to every file of a backup (storage with ODBK_STORAGE_F_PRESIGN), or, with output, the
 * files themselves, each checked against the manifest's size and SHA-256 before it gets its name. */
int odbk_backup_download(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct odbk_download_opts *o,
                         struct odbk_download_result *res, struct odbk_err *err);
void odbk_download_result_release(struct odbk_download_result *res);
/* Decrypt a file of an encrypted storage (one fetched through a link, or copied out of the storage) into
 * fd: the plain file odbk would have stored without encryption (.sql.gz, .tar.gz, the manifest).  The
 * passphrases of every encrypted storage of cfg are tried.  On failure (ODBK_E_DATA: damaged, cut or
 * not an encrypted file; ODBK_E_CONFIG: no configured passphrase has its key id) what was written to fd
 * must be discarded. */
int odbk_backup_decrypt(const struct odbk_config *cfg, const char *path, int fd, struct odbk_err *err);

/* ---- presentation shared by the programs ---- */
struct cJSON;
/* The backup as a JSON object (stable keys: id, uuid, env, project, database, storage, type, format,
 * compression, status, verified, created_at, finished_at, size, db_size, filestore_size, retention,
 * comment, error). */
struct cJSON *odbk_backup_json(const struct odbk_backup *b);

/* Read every stored file of the completed backup `id` back from its storage and check its size and SHA-256
 * against the manifest: 0 and `verified` set when all match; on a mismatch or a missing file -1
 * (ODBK_E_DATA naming the file, or ODBK_E_NOINPUT) and `verified` cleared. */
int odbk_backup_verify(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *id,
                       struct odbk_err *err);

/* What a rescan did: each skipped manifest, each conflict and each storage not scanned has one line in msgs
 * (naming the file, and for a conflict both storages). */
struct odbk_rescan_result {
    int found;        /* valid manifests: imported, or already in the catalog as they are */
    int imported;     /* new rows (completed, not verified) */
    int skipped;      /* manifests refused: unreadable, a field out of range, a listed file missing or of
                       * another size, env or id not those of its folder */
    int conflicts;    /* ids known from another storage or with other content: not applied */
    int failed;       /* storages that could not be opened or listed */
    char **msgs;
    size_t n_msgs;
};

struct odbk_rescan_opts {
    const char *storage;                 /* only this storage (NULL: every storage of the config) */
    odbk_backup_progress_cb progress;    /* each storage is a phase "rescan NAME": its manifests read of
                                          * those listed (unit "manifests") */
    void *progress_ctx;
};

/* Rebuild the catalog from the manifests in every storage of the config (or only opts->storage).  Every
 * field of a manifest is checked and every file it lists must exist in the storage with its size; a known
 * id is never re-pointed or rewritten.  The manifests are read in parallel, outside any transaction, and
 * imported a batch a transaction.  A storage that cannot be opened or listed is noted in res and the others
 * are scanned: -1 then, err of the first failure's kind, after the audit entry; -1 at once when the catalog
 * cannot be written (res->failed 0). */
int odbk_backup_rescan(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct odbk_rescan_opts *opts,
                       struct odbk_rescan_result *res, struct odbk_err *err);
void odbk_rescan_result_release(struct odbk_rescan_result *res);

#endif
