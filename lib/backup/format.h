/* format.h - the backup formats, one table of operations each, as storage drivers are (storage.h):
 *
 *     odbk   a database file (plain SQL, compressed) and a filestore tar, made at the same time
 *     zip    Odoo's own zip (odoo/zip.h): dump.sql, manifest.json, filestore/, in one stream
 *     dump   pg_dump's custom format, the database only
 *
 * create, restore, source and download ask the format's table, never its name.  Adding a format is one
 * file format-NAME.c defining its `struct odbk_format_ops` and one line in format.c. */
#ifndef ODBK_BACKUP_FORMAT_H
#define ODBK_BACKUP_FORMAT_H

#include <stdatomic.h>

#include "backup/backup.h"
#include "backup/report.h"

struct odbk_loadrole;

/* Where a format keeps the filestore. */
enum odbk_format_filestore {
    ODBK_FORMAT_FS_NONE,     /* nowhere: database only */
    ODBK_FORMAT_FS_FILE,     /* a file of its own, role "filestore" */
    ODBK_FORMAT_FS_INSIDE,   /* inside the one archive, perhaps empty: known only once it is read */
};

struct odbk_format_write;
struct odbk_format_load;
struct odbk_incr_parent;
struct odbk_source;

struct odbk_format_ops {
    const char *name;          /* the manifest's, the catalog's and --format's name */
    const char *main_role;     /* the role of the file that holds the database: "database" or "archive" */
    enum odbk_format_filestore filestore;
    const char *compression;   /* the row's compression; NULL: the codec asked for (odbk_compression_name) */
    const char *loader;        /* the PostgreSQL client that loads it: "psql" or "pg_restore" */
    int counts_rows;           /* its write records the rows of each COPY block (tables_json, restore --test) */
    /* A single file of this format (restore --from-file, --from-url): its extension, its first bytes and
     * what it is called in messages; suffix NULL when the format is a folder only. */
    const char *suffix, *magic, *what;
    /* Store the backup's files and add each to w->m (below); on failure nothing is left open (what was
     * stored is removed by the caller). */
    int (*write)(struct odbk_format_write *w, struct odbk_err *err);
    /* Load the source into the temporary database and directory (below). */
    int (*load)(struct odbk_format_load *l, struct odbk_err *err);
    /* 0 when the n first bytes of the single file called label can be this format, else ODBK_E_DATA
     * (set with suffix). */
    int (*detect)(const char *label, const unsigned char *head, size_t n, struct odbk_err *err);
    /* Write the backup as one Odoo zip into dst (not finished); NULL when it cannot be, or when
     * is_odoo_zip: its main file already is one. */
    int (*to_zip)(struct odbk_source *s, struct odbk_writer *dst, const struct odbk_report *report,
                  struct odbk_err *err);
    int is_odoo_zip;
};

/* The registry (format.c), NULL-terminated; the first is the default. */
extern const struct odbk_format_ops *const odbk_formats[];
/* The format called name, NULL when there is none. */
const struct odbk_format_ops *odbk_format_find(const char *name);
/* The format of a backup record (its index in odbk_formats: the order of odbk_vocab_format). */
const struct odbk_format_ops *odbk_format_of(enum odbk_backup_format f);

/* ---- writing (create.c calls fmt->write between the row and the manifest) ---- */

struct odbk_format_write {
    struct odbk_storage *st;
    const char *env, *id;          /* a file NAME of the backup is stored at odbk_backup_file_key(env, id, NAME) */
    char *pg_dump;                 /* the pg_dump matching the server */
    char **child_env;              /* its environment (odbk_pg_child_env) */
    const char *filestore;         /* the directory to back up, NULL for none */
    enum odbk_compression comp;
    int level, threads;
    uint64_t db_hint, fs_hint;     /* database and filestore sizes (0: unknown), to plan uploads and progress */
    uint64_t db_estimate;          /* the bytes of the main file before compression in the previous backup of
                                    * the env in this format (0: none), the database phase's estimated total */
    const struct odbk_report *report;   /* where the phases' progress goes */
    struct odbk_manifest *m;       /* in: the database and Odoo's keys; out: the files, fs_files, fs_bytes */
    char *tables_json;             /* out: rows of each COPY block (malloc'd, the caller frees it), or NULL */
    /* the filestore as packs and a list (incr.h) instead of one file, when the format has a file of its own */
    int incremental;
    const struct odbk_incr_parent *parent;   /* the backup it starts from (have 0: none) */
};

/* One stored file of a backup being made, its chain and its figures:
 * head → [cancel] → [progress] → raw size → compress → sha256 → stored size → storage. */
struct odbk_format_file {
    const char *role;
    char *name, *key;
    const char *compression;
    struct odbk_writer *sink, *stored, *sha, *comp, *raw, *cancel, *head;
    struct odbk_report_phase progress;   /* the phase called role, counting the bytes before compression */
    int rc;                        /* for a file written by a thread of its own */
    struct odbk_err err;
};

/* Open f, the file called name (taken over) with that role (stored at f->key when the caller set it, taken
 * over too; else the backup's file name), compressed with c and recorded as
 * compression; size_hint plans the upload; expected (0: unknown; estimated: a guess) is the phase's total
 * for the progress percentage; cancel (or NULL) makes it fail once set (run.h).  Its phase starts. */
int odbk_format_file_open(struct odbk_format_file *f, const struct odbk_format_write *w, const char *role,
                          char *name, const char *compression, enum odbk_compression c, uint64_t size_hint,
                          uint64_t expected, int estimated, atomic_int *cancel, struct odbk_err *err);
/* r 0: finish f and add it to m; r < 0 (or the finish failing): abort it.  Its phase ends either way.
 * Returns the result. */
int odbk_format_file_end(struct odbk_format_file *f, int r, struct odbk_manifest *m, struct odbk_err *err);
/* Add f's name, role, sizes, checksum and compression to m. */
void odbk_format_file_add(const struct odbk_format_file *f, struct odbk_manifest *m);
void odbk_format_file_free(struct odbk_format_file *f);
/* {"public.res_partner": 12, ...}: the rows of each COPY block a copycount filter saw (malloc'd), for the
 * manifest's tables (what odbk-restore --test compares with). */
char *odbk_format_tables_json(const struct odbk_writer *counter);

/* ---- loading (restore.c calls fmt->load into its temporaries) ---- */

struct odbk_sqlcheck_notes;

struct odbk_format_load {
    struct odbk_source *src;
    const char *tool;              /* the loader (fmt->loader) matching the server */
    char **child_env;              /* its environment: the load role on tmpdb (server parameters, password) */
    const struct odbk_loadrole *role;   /* the load role: given to the loader as --username */
    const char *tmpdb;             /* the temporary database, created, owned by the load role */
    const char *tmpfs;             /* the temporary filestore directory, NULL for none */
    const struct stat *tmpfs_id;   /* its device and inode, as made (odbk_swap_dir_id) */
    const struct odbk_report *report;   /* where the phases' progress goes */
    int no_acl;                    /* leave out GRANT, REVOKE, ALTER DEFAULT PRIVILEGES (--no-acl) */
    int server_version;            /* of the target server: the SQL check leaves out settings it lacks */
    struct odbk_sqlcheck_notes *notes;   /* out: what the SQL check left out (pg/sqlcheck.h), or NULL */
    int fs_loaded;                 /* out: a filestore came */
};

/* Stream f (a file of the manifest; NULL for the single file of a FILE or URL source) into sink,
 * decompressing it, its progress reported as the phase called phase ("restore: database").  sink is
 * finished, not freed. */
int odbk_format_load_file(const struct odbk_format_load *l, const struct odbk_manifest_file *f,
                          struct odbk_writer *sink, const char *phase, struct odbk_err *err);
/* psql into the temporary database behind the SQL check (pg/sqlcheck.h) naming label in its errors:
 * the SQL goes into *check; free *check, then *sink. */
int odbk_format_load_psql(const struct odbk_format_load *l, const char *label, struct odbk_writer **sink,
                          struct odbk_writer **check, struct odbk_err *err);

#endif
