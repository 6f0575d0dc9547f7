/* storage.h - where backups live: one interface, one driver per kind of store.
 *
 * A storage is opened from its `[storage NAME]` config section.  Paths given to every operation are keys
 * relative to the storage's root ("prod/20260102T030405Z-1a2b3c/backup-…-manifest.json"); the driver adds
 * its own root (`path`, `prefix`).  Nothing above this interface knows which store it talks to: callers
 * ask for features (odbk_storage_has), never for the type.
 *
 * Writes are streaming and atomic: odbk_storage_open_write() returns the sink of a writer chain
 * (io/writer.h); a reader never sees the object until the writer is finished (a store with directories:
 * temporary name, then rename, by the core; S3: single PUT or completed multipart upload).  An aborted or
 * freed-unfinished writer leaves nothing behind.
 *
 * Threads: the writers and readers of one storage may run in different threads at the same time (the
 * database and the filestore are written concurrently); drivers make that safe.  Other operations on one
 * storage are called from one thread at a time.
 *
 * Verification without a second download: once an object is written, odbk_storage_confirm() asks the
 * store what it holds under that name (its size; on S3 also its MD5s, the ETags) and compares it with what
 * was sent.  `verify =` of the section says whether odbk-create does that (store), reads every file back
 * (read) or neither (none).
 *
 * Adding a store: a driver file lib/storage/NAME.c defining `const struct odbk_storage_driver
 * odbk_storage_NAME_driver`, one line in registry.c, its config keys in man/odbk.conf.5, a test file.
 * A store with directories (local, sftp, ftp) sets ODBK_STORAGE_F_DIRS and gives the primitives (list one
 * directory, mkdir, rmdir, unlink, create, rename): the core (storage.c) does the rest.  A store of keys
 * (S3) gives open_write, list and remove itself; the core forces no directories on it.
 */
#ifndef ODBK_STORAGE_H
#define ODBK_STORAGE_H

#include <stdint.h>
#include <time.h>

#include "common/err.h"
#include "config/config.h"
#include "io/writer.h"

enum {
    ODBK_STORAGE_F_DIRS = 1 << 0,         /* real directories (mkdir/rmdir mean something) */
    ODBK_STORAGE_F_PRESIGN = 1 << 1,      /* can hand out expiring download URLs */
    ODBK_STORAGE_F_RANGE_READ = 1 << 2,   /* reads resume at an offset (read_at under the core, or its own read) */
    ODBK_STORAGE_F_MARKER = 1 << 3,       /* keeps the storage marker (below): a directory of a local disk,
                                           * whose unmounted mount point is an empty, writable directory */
};

/* `verify =` of a storage section (odbk_vocab_verify names them; 0: not given, the default store). */
enum odbk_verify_mode { ODBK_VERIFY_DEFAULT = 0, ODBK_VERIFY_STORE, ODBK_VERIFY_READ, ODBK_VERIFY_NONE };

/* What the store confirmed of an object just written (odbk_storage_confirm). */
enum odbk_confirm {
    ODBK_CONFIRM_NOTHING = 0,   /* the store said nothing usable */
    ODBK_CONFIRM_SIZE,          /* its size is the size written */
    ODBK_CONFIRM_CHECKSUM,      /* its size, and a checksum the store computed of it, are those of what was written */
};

struct odbk_storage_entry {
    char *path;       /* key relative to the storage root */
    uint64_t size;
    time_t mtime;     /* 0 when unknown */
};

/* Called once per object by list(); return non-zero to stop (list then returns that value). */
typedef int (*odbk_storage_list_cb)(void *ctx, const struct odbk_storage_entry *e);
/* A sweep's question about one unfinished upload (key as the storage names it, when it began): nonzero
 * keeps it. */
typedef int (*odbk_storage_sweep_keep_cb)(void *ctx, const char *key, time_t initiated);

struct odbk_storage;

/* One directory's entries, as a driver's list_dir() gives them to the core. */
struct odbk_storage_dirent {
    char *name;       /* a name within the directory (odbk_storage_entry_name_ok) */
    int dir;          /* a directory (else a regular file) */
    uint64_t size;
    time_t mtime;     /* 0 when unknown */
};

struct odbk_storage_dir {
    struct odbk_storage_dirent *e;
    size_t n, cap;
};

/* Add an entry; a name a hostile or broken listing gives (odbk_storage_entry_name_ok) is skipped. */
void odbk_storage_dir_add(struct odbk_storage_dir *d, const char *name, int dir, uint64_t size, time_t mtime);
/* Empty d (a listing that starts over); odbk_storage_dir_free() also releases its memory. */
void odbk_storage_dir_clear(struct odbk_storage_dir *d);
void odbk_storage_dir_free(struct odbk_storage_dir *d);

struct odbk_storage_driver {
    const char *type;        /* the `type =` value */
    unsigned features;
    const char *const *keys; /* config keys the driver accepts, besides `type` (NULL-terminated) */
    /* Parse the section, check credentials exist (not that they work), set st->priv. */
    int (*open)(struct odbk_storage *st, const struct odbk_config_section *sec, struct odbk_err *err);
    void (*close)(struct odbk_storage *st);
    /* size_hint: expected size in bytes (0 = unknown), used to plan multipart part sizes. */
    int (*open_write)(struct odbk_storage *st, const char *path, uint64_t size_hint,
                      struct odbk_writer **out, struct odbk_err *err);
    /* Push the whole object into dst (dst is written to, never finished or aborted here).
     * A missing object is ODBK_E_NOINPUT.  A driver with F_RANGE_READ may give read_at instead. */
    int (*read)(struct odbk_storage *st, const char *path, struct odbk_writer *dst, struct odbk_err *err);
    /* One attempt at pushing the object from *off on into dst, *off advanced by what dst took; -1 with
     * err and *again set when another attempt may cure the failure (a dropped connection; never what dst
     * or the server answered).  The core runs the attempts under common/retry.h with st->retries, the
     * budget starting again once an attempt moved ODBK_STORAGE_RETRY_PROGRESS bytes. */
    int (*read_at)(struct odbk_storage *st, const char *path, uint64_t *off, struct odbk_writer *dst, int *again,
                   struct odbk_err *err);
    /* 0 and *out filled; 1 when the object does not exist; -1 on error. */
    int (*stat)(struct odbk_storage *st, const char *path, struct odbk_storage_entry *out,
                struct odbk_err *err);
    /* Every object whose key starts with prefix (recursively), in no particular order. */
    int (*list)(struct odbk_storage *st, const char *prefix, odbk_storage_list_cb cb, void *ctx,
                struct odbk_err *err);
    /* Remove one object; a missing object is not an error.  Drivers with directories also remove the
     * directories the removal leaves empty, up to the root. */
    int (*remove)(struct odbk_storage *st, const char *path, struct odbk_err *err);
    /* Optional: remove the debris of uploads that never finished and that ordinary listing does not show
     * (S3: multipart uploads under prefix initiated before older_than, and that keep, when given, does not
     * keep: odbk_storage_sweep_keep); *n counts what was removed. */
    int (*sweep)(struct odbk_storage *st, const char *prefix, time_t older_than, odbk_storage_sweep_keep_cb keep,
                 void *keep_ctx, int *n, struct odbk_err *err);
    /* Optional (ODBK_STORAGE_F_PRESIGN): an URL valid for `seconds`, malloc'd into *url. */
    int (*presign)(struct odbk_storage *st, const char *path, long seconds, char **url, struct odbk_err *err);

    /* ---- the primitives of a driver with directories (ODBK_STORAGE_F_DIRS) ----
     * Such a driver leaves open_write, list and remove NULL and sets st->root in open(): the core
     * (storage.c) builds them on these, once for every such store: the recursive listing, mkdir -p, the
     * pruning of the directories a removal leaves empty, and the temporary-name-then-rename protocol of
     * writes with its abort path.  Paths here are the driver's own (st->root joined with a key). */
    /* The entries of one directory, added to *out with odbk_storage_dir_add() (a retry starts over with
     * odbk_storage_dir_clear()); a missing directory holds nothing (0). */
    int (*list_dir)(struct odbk_storage *st, const char *dir, struct odbk_storage_dir *out, struct odbk_err *err);
    /* Create one directory whose parent exists; one that exists already is no error. */
    int (*mkdir)(struct odbk_storage *st, const char *dir, struct odbk_err *err);
    /* Remove one directory if it is empty: 0 removed, -1 not (never an error: the core stops there). */
    int (*rmdir)(struct odbk_storage *st, const char *dir);
    /* Remove one file; a missing one is not an error. */
    int (*unlink)(struct odbk_storage *st, const char *path, struct odbk_err *err);
    /* A new file at path (the temporary name; its directory exists): the writer's finish makes what it
     * got durable there, its abort stops it (the core then unlinks path).  final names the object it
     * becomes, for messages. */
    int (*create)(struct odbk_storage *st, const char *path, const char *final, uint64_t size_hint,
                  struct odbk_writer **out, struct odbk_err *err);
    /* Rename from over to (replacing it), durably. */
    int (*rename)(struct odbk_storage *st, const char *from, const char *to, struct odbk_err *err);
    /* Optional: what the store confirms of `path`, which this storage's writer has just finished with
     * `size` bytes (see odbk_storage_confirm; without it, stat's size is compared). */
    int (*confirm)(struct odbk_storage *st, const char *path, uint64_t size, enum odbk_confirm *level, char **note,
                   struct odbk_err *err);
};

struct odbk_keyring;

struct odbk_storage {
    const struct odbk_storage_driver *driver;
    char *name;     /* the section name */
    void *priv;     /* the driver's state */
    const char *root;   /* F_DIRS: the driver's path of the root ("" = its login directory), set by open() */
    unsigned retries;   /* read_at: attempts after the first, set by open() */
    int bare;           /* opened on a path or an URL, not a config section: read-only, and its messages
                         * name the path (or URL) only */
    int marker_due; /* its marker check found none in a storage with nothing known: the first manifest
                     * stored writes it (odbk_backup_storage_mark) */
    enum odbk_verify_mode verify;   /* `verify =` (never ODBK_VERIFY_DEFAULT once opened) */
    struct odbk_keyring *keys;   /* `encryption = passphrase`: its passphrases (io/crypt.h), else NULL */
};

/* Open the storage named `name` of the config (ODBK_E_CONFIG when unknown or invalid). */
int odbk_storage_open(const struct odbk_config *cfg, const char *name, struct odbk_storage **out,
                      struct odbk_err *err);
/* Validate a storage section without opening it (odbk-policy check). */
int odbk_storage_check(const struct odbk_config_section *sec, struct odbk_err *err);
void odbk_storage_close(struct odbk_storage *st);
int odbk_storage_has(const struct odbk_storage *st, unsigned feature);

/* Encryption (`encryption`, `passphrase-file`, `old-passphrase-files` in any storage section, io/crypt.h)
 * is this common layer's: with it, every object written through open_write/put is encrypted for its
 * path and every read decrypts and authenticates it (a damaged, cut, reordered or swapped file is
 * ODBK_E_DATA naming it); stat and list give the plaintext sizes (what manifests record).  Only the
 * storage marker and the key objects (ODBK_STORAGE_KEYS) stay plain; list skips the key objects.  Drivers never see a key. */
int odbk_storage_encrypted(const struct odbk_storage *st);
/* The key id new files of st are encrypted with (17 bytes with the NUL), "" when st is not encrypted. */
int odbk_storage_key_id(struct odbk_storage *st, char id[17], struct odbk_err *err);
/* Add the passphrases of a storage section to *kr (made when NULL; left alone for `encryption = none` or
 * none given): the passphrase files are read and refused when group or others may read them.  On failure
 * the caller still frees *kr. */
int odbk_storage_keyring(const struct odbk_config_section *sec, struct odbk_keyring **kr, struct odbk_err *err);
/* The folder of an encrypted storage's key objects (io/crypt.h): plain JSON, written on the first
 * encrypted write for a passphrase no key object opens with, never listed, pruned or removed. */
#define ODBK_STORAGE_KEYS "odbk-keys"
#define ODBK_STORAGE_KEY_MAX 4096
/* Open st's key objects with kr's passphrases (their master keys are then in kr); a key object no
 * passphrase opens is left alone, a damaged one is ODBK_E_DATA naming it. */
int odbk_storage_load_keys(struct odbk_storage *st, struct odbk_keyring *kr, struct odbk_err *err);

int odbk_storage_open_write(struct odbk_storage *st, const char *path, uint64_t size_hint,
                            struct odbk_writer **out, struct odbk_err *err);
int odbk_storage_read(struct odbk_storage *st, const char *path, struct odbk_writer *dst, struct odbk_err *err);
int odbk_storage_stat(struct odbk_storage *st, const char *path, struct odbk_storage_entry *out,
                      struct odbk_err *err);
int odbk_storage_list(struct odbk_storage *st, const char *prefix, odbk_storage_list_cb cb, void *ctx,
                      struct odbk_err *err);
int odbk_storage_remove(struct odbk_storage *st, const char *path, struct odbk_err *err);
int odbk_storage_presign(struct odbk_storage *st, const char *path, long seconds, char **url,
                         struct odbk_err *err);
/* Does the store keep unfinished uploads a sweep can remove (S3)? */
int odbk_storage_has_sweep(const struct odbk_storage *st);
/* The driver's sweep, if it has one (else 0 and *n = 0). */
int odbk_storage_sweep_keep(struct odbk_storage *st, const char *prefix, time_t older_than,
                            odbk_storage_sweep_keep_cb keep, void *keep_ctx, int *n, struct odbk_err *err);
int odbk_storage_sweep(struct odbk_storage *st, const char *prefix, time_t older_than, int *n,
                       struct odbk_err *err);
/* Ask the store what it holds under path, just written with `size` bytes by this process, and compare:
 * 0 with *level what it confirmed (and *note, malloc'd or NULL, why it confirmed no more, e.g. "the
 * store's ETags are not MD5s"); -1 with ODBK_E_DATA when the store holds other bytes (a size, or an MD5
 * where the store gives them, that differs), ODBK_E_NOINPUT when the object is gone, or the error of a
 * store that does not answer. */
int odbk_storage_confirm(struct odbk_storage *st, const char *path, uint64_t size, enum odbk_confirm *level,
                         char **note, struct odbk_err *err);
/* Write a small buffer as one object (manifests). */
int odbk_storage_put(struct odbk_storage *st, const char *path, const void *buf, size_t len,
                     struct odbk_err *err);
/* Read a small object into memory (≤ max bytes), NUL-terminated. */
int odbk_storage_get(struct odbk_storage *st, const char *path, size_t max, char **out, size_t *len,
                     struct odbk_err *err);
/* Remove every object under prefix. */
int odbk_storage_remove_prefix(struct odbk_storage *st, const char *prefix, struct odbk_err *err);

/* ---- read-only storages of a path or an URL (restore's and download's sources) ---- */

/* The files under dir as a local storage ("" = every path as given), read-only (local.c). */
int odbk_storage_open_path(const char *dir, struct odbk_storage **out);
/* The one object at an http(s) URL, key "", read-only (http.c, on net/curl.h: redirects followed to
 * http(s) only, an HTTP error is its status).  Its name is the URL without its query (no secrets). */
int odbk_storage_open_url(const char *url, struct odbk_storage **out);

/* The temporary name a driver writes `final` under until it is complete: "FINAL.odbk-tmp-PID-N",
 * unique within the process (malloc'd).  Listing shows such names; removing a backup's folder removes
 * them with the rest, which is how the leftovers of a killed run go. */
char *odbk_storage_temp_name(const char *final);

/* Join a base ("a/b", "a/b/", "" or NULL) and a key with exactly one '/'; malloc'd. */
char *odbk_storage_join(const char *base, const char *key);

/* ---- the storage marker (marker.c) ---- */

/* A local storage's root holds ".odbk-storage" ("odbk-storage 1\nid UUID\n"), written with the first
 * manifest: without it, a storage the catalog knows backups in is an unmounted disk or a wrong path. */
#define ODBK_STORAGE_MARKER ".odbk-storage"
#define ODBK_STORAGE_MARKER_VERSION 1
/* Parse a marker's contents (len bytes, hostile): 0 and id (36 characters) set, or -1 saying why. */
int odbk_storage_marker_parse(const char *buf, size_t len, char id[40], struct odbk_err *err);
/* The contents of a marker with id; malloc'd. */
char *odbk_storage_marker_text(const char *id);
int odbk_storage_marker_write(struct odbk_storage *st, const char *id, struct odbk_err *err);
/* May st be written to and judged?  where names it in messages (a local path).  0: its marker is there
 * and valid, or it is of a kind without one; 1: no marker and nothing known in it (a new storage: the
 * first manifest writes one); 2: no marker, but the catalog's backups are there (odbk manifests: a storage
 * of before the marker; write one now); -1 (ODBK_E_IO, 74) no marker while the catalog knows `known`
 * backups in it and none is there (not mounted, not odbk's), or (ODBK_E_DATA) a file that is no marker.
 */
int odbk_storage_marker_check(struct odbk_storage *st, const char *where, size_t known, struct odbk_err *err);

/* ---- for drivers ---- */

/* A read-only storage of driver d opened on a path or an URL, not a config section (st->bare): the
 * constructors of restore's sources (odbk_storage_open_path, _url).  name is copied; priv is owned. */
struct odbk_storage *odbk_storage_new_bare(const struct odbk_storage_driver *d, const char *name, void *priv);

/* Bytes an interrupted read must have moved since its last attempt for its retry budget to start again:
 * the budget is per stall, not per object, and a server that drops every answer after a few bytes uses
 * it up as one that is down does. */
#define ODBK_STORAGE_RETRY_PROGRESS (1024 * 1024)

/* May a name a server lists in a directory be taken as an entry of it?  Not "", "." or "..", nor a
 * name holding a '/' (a hostile or broken listing must not name objects outside the directory). */
int odbk_storage_entry_name_ok(const char *name);

#endif
