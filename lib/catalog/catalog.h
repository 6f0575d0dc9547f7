/* catalog.h - the local SQLite catalog: backups, their states, and the audit log.
 *
 * The catalog is an index of what is in storage; it can be rebuilt from the manifests there
 * (odbk-list --rescan).  Every SQL statement of odbk lives in catalog.c, so a second backend (a shared
 * PostgreSQL catalog) can slot in behind this header.  The database runs in WAL mode with a busy timeout
 * so that a cron run and an interactive odbk-list do not trip over each other; the schema carries a
 * version (PRAGMA user_version) and is migrated forward on open.
 */
#ifndef ODBK_CATALOG_H
#define ODBK_CATALOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"
#include "common/vocab.h"

struct odbk_catalog;

/* One backup: the catalog's row, the working state of the run that makes it, the source of its manifest
 * (odbk_backup_to_manifest, odbk_backup_from_manifest: lib/backup/backup.h) and of its JSON object.  Its
 * type, format, status and tier are enums of lib/common/vocab.h; the row and the manifest hold their
 * names (the catalog binds them, odbk_catalog_* refuse a name this version does not know).  A zeroed
 * record is a pending manual odbk-format backup without a tier. */
/* struct odbk_backup's `verified`, the catalog's column of that name: how the stored files were checked.
 * 1 is what every verified row meant before the store's confirmation existed (a read-back). */
enum odbk_verified {
    ODBK_VERIFIED_NO = 0,
    ODBK_VERIFIED_READ = 1,       /* every file read back: its size and SHA-256 matched the manifest */
    ODBK_VERIFIED_CHECKSUM = 2,   /* the store confirmed every file's size and MD5 (S3: part ETags and HEAD) */
    ODBK_VERIFIED_SIZE = 3,       /* the store confirmed every file's size (some or all without a checksum) */
};

struct odbk_backup {
    char *id;
    char *uuid;
    char *env;
    char *project;
    char *database;
    char *storage;
    enum odbk_backup_type type;
    enum odbk_backup_format format;   /* the index of its odbk_formats entry too (lib/backup/format.h) */
    char *compression;   /* gzip, zstd */
    enum odbk_backup_status status;
    int verified;        /* ODBK_VERIFIED_*: 0 not verified, else how (odbk_vocab_verified names them) */
    time_t created_at;
    time_t finished_at;  /* 0 while running */
    uint64_t db_size;    /* stored bytes of the database file */
    uint64_t fs_size;    /* stored bytes of the filestore file (0 without filestore) */
    uint64_t total_size; /* stored bytes of every file, manifest included (an incremental filestore: every
                          * pack it references too, what a restore reads) */
    uint64_t added_bytes; /* stored bytes it added: its files, manifest included, and the packs it made */
    int has_filestore;
    char *comment;
    enum odbk_retention_tier retention;
    char *error;         /* why it failed, or NULL */
    char *host;          /* host that made it */
    long pid;            /* process making it (while running) */
    time_t heartbeat_at;
    char *odoo_version;
    char *pg_version;
    char *manifest;      /* the manifest JSON, once written */
    char *key_id;        /* the key id its files were encrypted with (io/crypt.h), "" when they were not */
    char *warning;       /* not stored: what the run that made it warns of (odbk-create), or NULL */
};

/* The bit of one enum value in a filter's statuses or types. */
#define ODBK_ONLY(v) (1u << (unsigned)(v))

struct odbk_backup_filter {
    const char *const *envs; /* NULL-terminated, or NULL for every env */
    const char *project;
    unsigned statuses;       /* ODBK_ONLY(status) | ...: rows of these statuses; 0 for any */
    unsigned types;          /* ODBK_ONLY(type) | ...: rows of these types; 0 for any */
    const char *storage;
    const char *search;      /* substring of env, project or database */
    time_t since, until;     /* created_at within [since, until] (0: unbounded) */
    size_t limit;            /* 0: no limit */
    int no_manifest;         /* leave the manifest column unread (NULL): listings that plan, not restore */
    int by_status;           /* few rows of these statuses among an env's many (its rows not expired): read
                              * through the (env, status) index and sorted, not in the created_at index's
                              * order; the same order either way */
};

struct odbk_audit {
    time_t at;
    char *user;
    char *host;
    char *action;     /* create, restore, delete, prune, rescan */
    char *backup_id;
    char *env;
    char *source;
    char *target;
    char *options;
    char *result;     /* ok, failed */
    char *detail;
};

/* Open (creating the file and its directory, mode 0600/0700) and migrate the catalog at path: a file
 * (SQLite), or a postgresql:// URL (PostgreSQL: a catalog shared by many hosts), with password (NULL:
 * libpq's own, ~/.pgpass); messages name it without its password. */
int odbk_catalog_open(const char *path, struct odbk_catalog **out, struct odbk_err *err);
int odbk_catalog_open_secret(const char *path, const char *password, struct odbk_catalog **out,
                             struct odbk_err *err);
/* path names a catalog many hosts share (PostgreSQL), not a file of this host. */
int odbk_catalog_is_shared(const char *path);
void odbk_catalog_close(struct odbk_catalog *cat);
/* Many writes as one transaction (rescan's imports): begin, then end with commit = 1 (or 0 to roll the
 * writes since begin back).  Only plain writes in between: the calls that take their own transaction
 * (insert_exclusive, the restore journal) are not made inside one.  A plain insert (backup_insert,
 * audit_add) in a batch may be sent without waiting for its answer (PostgreSQL's pipeline): its error, a
 * duplicate id, then fails the batch's end instead.  On either engine a batch is all or nothing: after
 * any failed statement in it, its end rolls back and fails. */
int odbk_catalog_batch_begin(struct odbk_catalog *cat, struct odbk_err *err);
int odbk_catalog_batch_end(struct odbk_catalog *cat, int commit, struct odbk_err *err);

int odbk_catalog_backup_insert(struct odbk_catalog *cat, const struct odbk_backup *b, struct odbk_err *err);
/* A run with neither a heartbeat nor a live process for this long is dead (running backups, env locks). */
#define ODBK_RUN_STALE_SECONDS (30 * 60)

/* An env held against its backups starting: the collection of its packs (lib/backup/gc.h) holds it while it
 * decides what no backup references and deletes that, so that no backup starts from a pack being deleted. */
struct odbk_env_lock {
    char *env;
    char *holder;        /* what holds it: "gc" */
    char *host;          /* the host and process holding it, the process's start time (odbk_proc_start) */
    long pid;
    char *pid_start;
    time_t acquired_at;
    time_t heartbeat_at; /* odbk_catalog_env_lock_beat */
};
void odbk_env_lock_release(struct odbk_env_lock *l);
/* Is the holder alive: a process of this host that still runs (the same pid and start time), or another
 * host's lock with a heartbeat younger than ODBK_RUN_STALE_SECONDS? */
int odbk_env_lock_alive(const struct odbk_env_lock *l, time_t now);
/* Take env's lock for this process (holder names what for), one transaction: 0 taken; 1 refused, another
 * live holder has it (*held set, release it); 2 refused, a backup of env is pending, in progress or
 * uploading (*running set, release it); -1 error.  A dead holder's lock is taken over. */
int odbk_catalog_env_lock(struct odbk_catalog *cat, const char *env, const char *holder,
                          struct odbk_backup *running, struct odbk_env_lock *held, struct odbk_err *err);
/* This process still holds env's lock: its heartbeat, now.  ODBK_E_TEMPFAIL when it lost it (taken over
 * once its heartbeat was stale): the holder must stop. */
int odbk_catalog_env_lock_beat(struct odbk_catalog *cat, const char *env, struct odbk_err *err);
/* Give env's lock up (a lock this process does not hold is left alone). */
int odbk_catalog_env_unlock(struct odbk_catalog *cat, const char *env, struct odbk_err *err);

/* Collections due (gc_due): the (env, storage) pairs whose storage holds something odbk-prune is to look
 * at, packs no backup may need any more or a deleted backup's leftovers (a backup's files deleted, an
 * incremental create failed after writing packs).  A prune reads storage for the pairs due only.  Set
 * (again) bumps the pair's generation; a collection reads it before it lists anything and clears the
 * pair only if no one set it since (clear with the generation read: a later set survives). */
int odbk_catalog_gc_due_set(struct odbk_catalog *cat, const char *env, const char *storage, struct odbk_err *err);
/* 1 due (*gen its generation), 0 not, -1 error. */
int odbk_catalog_gc_due_get(struct odbk_catalog *cat, const char *env, const char *storage, int64_t *gen,
                            struct odbk_err *err);
int odbk_catalog_gc_due_clear(struct odbk_catalog *cat, const char *env, const char *storage, int64_t gen,
                              struct odbk_err *err);
/* The storages of env due, sorted; free with odbk_catalog_gc_due_list_free. */
int odbk_catalog_gc_due_list(struct odbk_catalog *cat, const char *env, char ***storages, size_t *n,
                             struct odbk_err *err);
void odbk_catalog_gc_due_list_free(char **storages, size_t n);

/* Insert b unless its env already has a backup pending, in progress or uploading, or a live holder has
 * its lock (odbk_catalog_env_lock; a dead holder's is removed); the checks and the insert are one
 * transaction, so two processes cannot both start, nor a backup and a collection of the env's packs.  On
 * a running backup returns 1 with *running set to its row, on a live lock 2 with *held set (release
 * them). */
/* The same for --due's backup of a schedule that fired at `since`: also 3 when a scheduled backup of the
 * env made since then is completed (or expired since) -- another host made it.  On PostgreSQL the checks
 * and the insert hold the env's advisory lock: hosts take turns. */
int odbk_catalog_backup_insert_due(struct odbk_catalog *cat, const struct odbk_backup *b, time_t since,
                                   struct odbk_backup *running, struct odbk_env_lock *held, struct odbk_err *err);
/* Without a lock, before the work that precedes the insert: 1 when insert_due would refuse env now for a
 * backup running or one made since `since` (another host took it), 0 when not, -1 error. */
int odbk_catalog_due_taken(struct odbk_catalog *cat, const char *env, time_t since, struct odbk_err *err);
int odbk_catalog_backup_insert_exclusive(struct odbk_catalog *cat, const struct odbk_backup *b,
                                         struct odbk_backup *running, struct odbk_env_lock *held,
                                         struct odbk_err *err);
/* Write every field of b over the row with b->id. */
int odbk_catalog_backup_update(struct odbk_catalog *cat, const struct odbk_backup *b, struct odbk_err *err);
/* Rescan's import of a row read from a manifest: inserted (0) when its id is new; a known id's row is left as
 * it is (1), *storage (malloc'd) its storage and *same whether its manifest is b->manifest. */
int odbk_catalog_backup_import(struct odbk_catalog *cat, const struct odbk_backup *b, char **storage, int *same,
                               struct odbk_err *err);
int odbk_catalog_backup_set_status(struct odbk_catalog *cat, const char *id, enum odbk_backup_status status,
                                   const char *error, struct odbk_err *err);
int odbk_catalog_heartbeat(struct odbk_catalog *cat, const char *id, struct odbk_err *err);
/* ODBK_E_NOINPUT when there is no such backup (a unique prefix of an id is accepted). */
int odbk_catalog_backup_get(struct odbk_catalog *cat, const char *id, struct odbk_backup *out,
                            struct odbk_err *err);
/* Newest first. */
int odbk_catalog_backup_list(struct odbk_catalog *cat, const struct odbk_backup_filter *f,
                             struct odbk_backup **out, size_t *n, struct odbk_err *err);
/* The storages env's rows of these statuses (ODBK_ONLY masks; 0 any) are in, each once, sorted: *out and
 * its strings are the caller's. */
int odbk_catalog_env_storages(struct odbk_catalog *cat, const char *env, unsigned statuses, char ***out, size_t *n,
                              struct odbk_err *err);
/* How many completed backups the catalog knows in storage (the storage marker's check). */
int odbk_catalog_storage_completed(struct odbk_catalog *cat, const char *storage, size_t *n, struct odbk_err *err);
/* The same rows, one at a time as the database returns them (memory independent of their number): cb gets
 * each row, released after it returns (cb may move it out, leaving *b zeroed); a non-zero return stops the
 * listing and is returned. */
typedef int (*odbk_backup_cb)(void *ctx, struct odbk_backup *b);
int odbk_catalog_backup_each(struct odbk_catalog *cat, const struct odbk_backup_filter *f, odbk_backup_cb cb,
                             void *ctx, struct odbk_err *err);
void odbk_backup_release(struct odbk_backup *b);
void odbk_backup_list_free(struct odbk_backup *v, size_t n);

/* One env's figures, kept in the catalog's env_state with every write of the env's rows (not read from its
 * rows): what env states, compliance and --due need. */
struct odbk_env_summary {
    char *env;                     /* odbk_catalog_env_summaries' rows: whose figures */
    size_t completed;              /* completed backups */
    char *latest_id;               /* the newest completed backup, or NULL */
    time_t latest_at;
    char *failed_id;               /* the newest failed row at or after latest_at, or NULL */
    time_t failed_at;
    char *failed_error;
    int running;                   /* a backup is pending, in progress or uploading */
    time_t last_scheduled_success; /* the newest scheduled backup completed (or expired since), or 0 */
    size_t schedule_failures;      /* failed scheduled attempts (audit) after last_scheduled_success */
    time_t schedule_failed_at;     /* the newest of them, or 0 */
    /* The plan record (odbk_catalog_plan_record): a real prune found the env's retention clean under the
     * policy plan_policy (odbk_retention_policy_describe()) for every time in [plan_from, plan_until);
     * plan_until is 0 (stale) from any write of the env's rows on. */
    time_t plan_from, plan_until;
    char *plan_policy;
};
int odbk_catalog_env_summary(struct odbk_catalog *cat, const char *env, struct odbk_env_summary *s,
                             struct odbk_err *err);
void odbk_env_summary_release(struct odbk_env_summary *s);
/* Every env's figures in one read (the all-env commands: 10,000 envs in one statement), sorted by env
 * name; odbk_env_summaries_find gives one env's, or NULL for an env without rows (no figures). */
struct odbk_env_summaries {
    struct odbk_env_summary *v;
    size_t n;
};
int odbk_catalog_env_summaries(struct odbk_catalog *cat, struct odbk_env_summaries *out, struct odbk_err *err);
const struct odbk_env_summary *odbk_env_summaries_find(const struct odbk_env_summaries *all, const char *env);
void odbk_env_summaries_release(struct odbk_env_summaries *all);
/* One row of an env as a plan record checks it: id and status. */
struct odbk_plan_row {
    const char *id;
    enum odbk_backup_status status;
};
/* Record that env's retention is clean under policy for every time in [from, until) (odbk-prune after a
 * run that left nothing to expire or clean), in one transaction, and only when the env's rows that are not
 * expired are still exactly rows[0..n-1] (ids and statuses): a row another process wrote since the prune
 * read them leaves the record stale (*written 0).  Any later write of the env's rows makes it stale. */
int odbk_catalog_plan_record(struct odbk_catalog *cat, const char *env, const struct odbk_plan_row *rows,
                             size_t n, time_t from, time_t until, const char *policy, int *written,
                             struct odbk_err *err);
/* The failed scheduled attempts of env (audit action "schedule", result "failed") after `after`: how many,
 * and the newest one's time (0 if none). */
int odbk_catalog_schedule_failures(struct odbk_catalog *cat, const char *env, time_t after, size_t *count,
                                   time_t *last, struct odbk_err *err);

int odbk_catalog_audit_add(struct odbk_catalog *cat, const struct odbk_audit *a, struct odbk_err *err);
/* Newest first; env NULL for all. */
int odbk_catalog_audit_list(struct odbk_catalog *cat, const char *env, struct odbk_audit **out, size_t *n,
                            struct odbk_err *err);
void odbk_audit_list_free(struct odbk_audit *v, size_t n);

/* Objects a failed run could not remove (its storage was down): every later run retries them; and objects
 * due for removal later (odbk-download's assembled filestore, when its links expire). */
struct odbk_removal {
    char *storage;    /* the storage section's name */
    char *prefix;     /* the folder to empty ("env/id/") */
    char *backup_id;
    time_t added_at;
    int attempts;
    char *error;      /* why the last attempt failed */
};

/* Record (or, when already recorded, count another failed attempt at) the removal of prefix. */
int odbk_catalog_removal_add(struct odbk_catalog *cat, const char *storage, const char *prefix,
                             const char *backup_id, const char *error, struct odbk_err *err);
/* Record that prefix is to be removed at due_at (not before; a removal already recorded keeps the later
 * of the two times): what odbk-download writes into storage for links, removed once they expire. */
int odbk_catalog_removal_due(struct odbk_catalog *cat, const char *storage, const char *prefix,
                             const char *backup_id, time_t due_at, struct odbk_err *err);
/* The removal is done: forget it. */
int odbk_catalog_removal_done(struct odbk_catalog *cat, const char *storage, const char *prefix,
                              struct odbk_err *err);
/* The removals due now, oldest first. */
int odbk_catalog_removal_list(struct odbk_catalog *cat, struct odbk_removal **out, size_t *n, struct odbk_err *err);
void odbk_removal_list_free(struct odbk_removal *v, size_t n);


/* The temporaries of one restore, recorded before they are created, and the journal of its swap. */
enum odbk_swap_step {
    ODBK_SWAP_LOADING = 0,   /* tmp_db/tmp_dir being loaded: a dead run's are dropped */
    ODBK_SWAP_JOURNALED,     /* loaded; old_db/old_dir named: the swap may begin, a dead run's is completed */
    ODBK_SWAP_DB_ASIDE,      /* target_db renamed to old_db */
    ODBK_SWAP_DB_IN,         /* tmp_db renamed to target_db */
    ODBK_SWAP_DIR_ASIDE,     /* target_dir renamed to old_dir */
    ODBK_SWAP_DONE           /* tmp_dir renamed to target_dir: the originals may go */
};
struct odbk_restore_temp {
    long long id;
    char *host;
    long pid;
    char *pid_start;   /* the process's start time (/proc/PID/stat), against pid reuse */
    time_t created_at;
    char *pg;          /* conninfo of the server, without its password (odbk_pg_conninfo_public) */
    char *env;         /* the target env (its conninfo is re-resolved from the config), NULL for --new-db */
    char *target_db, *target_dir;
    char *tmp_db, *tmp_dir;   /* tmp_dir, target_dir NULL without filestore */
    char *old_db, *old_dir;   /* where the targets go aside; NULL when there is none to set aside */
    int step;                 /* enum odbk_swap_step */
    long claim_pid;           /* the recovering process that claimed the row (0: none), and its start */
    char *claim_start;
    /* device and inode of tmp_dir once made, and of the target directory set aside as old_dir (0: none) */
    unsigned long long tmp_dev, tmp_ino, old_dev, old_ino;
};
/* Sets t->id. */
int odbk_catalog_temp_add(struct odbk_catalog *cat, struct odbk_restore_temp *t, struct odbk_err *err);
/* Stores target_dir, tmp_dir, old_db, old_dir, step and the directories' device and inode of row t->id. */
int odbk_catalog_temp_update(struct odbk_catalog *cat, const struct odbk_restore_temp *t, struct odbk_err *err);
int odbk_catalog_temp_delete(struct odbk_catalog *cat, long long id, struct odbk_err *err);
/* The rows of host, oldest first. */
int odbk_catalog_temp_list(struct odbk_catalog *cat, const char *host, struct odbk_restore_temp **out, size_t *n,
                           struct odbk_err *err);
/* Claim row t for this process (pid, pid_start) when its claim is still the one t was read with: 1 when
 * claimed, 0 when another process changed it first (atomic: one statement). */
int odbk_catalog_temp_claim(struct odbk_catalog *cat, const struct odbk_restore_temp *t, long pid,
                            const char *pid_start, struct odbk_err *err);
/* Give up pid's claim of row id (recovery failed: a later run tries again). */
void odbk_catalog_temp_unclaim(struct odbk_catalog *cat, long long id, long pid);
void odbk_restore_temp_release(struct odbk_restore_temp *t);
void odbk_restore_temp_list_free(struct odbk_restore_temp *v, size_t n);

#endif
