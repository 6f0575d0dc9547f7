/* source.h - where restore and download read a backup from: a catalog backup in its storage, an odbk
 * backup folder on disk, or a single Odoo file (.zip or .dump) on disk or behind an http(s) URL.
 *
 * Opening a source decides its format and refuses anything else before any database is touched: a file
 * is recognised by its extension AND its first bytes (a zip's local header, a pg_dump
 * custom archive); a URL by its extension, its first bytes being checked as they stream in.  Files are
 * streamed in 1 MiB chunks; nothing is copied to a temporary file.
 *
 * Every source is a storage (storage.h) the reads go through: the backup's own for a catalog backup, a
 * read-only local storage rooted at the folder for a folder (odbk_storage_open_path), one of every path
 * for a single file, the read-only http storage of the URL (odbk_storage_open_url). */
#ifndef ODBK_BACKUP_SOURCE_H
#define ODBK_BACKUP_SOURCE_H

#include "backup/backup.h"

struct odbk_format_ops;
struct odbk_report;

/* Where the backup comes from (what the restore records and says); reads never ask it. */
enum odbk_source_kind { ODBK_SOURCE_CATALOG, ODBK_SOURCE_FOLDER, ODBK_SOURCE_FILE, ODBK_SOURCE_URL };

struct odbk_source {
    enum odbk_source_kind kind;
    char *label;            /* the backup id, the path, or the URL without its query (no secrets) */
    char *format;           /* odbk, zip, dump */
    const struct odbk_format_ops *fmt;   /* its operations (format.h), set with format */
    struct odbk_backup b;   /* a catalog backup's row */
    struct odbk_storage *st;   /* what every read goes through */
    char *files;            /* with a manifest: the key its files' names are under in st ("ENV/ID", "") */
    char *shown;            /* ... and what names them in messages (the key, or the folder's path) */
    char *key;              /* a single file's key in st */
    /* an incremental backup's packs (backup/incr.h): the key they are under ("ENV/packs", "packs"), in
     * pack_st (owned; NULL: st), and what names them in messages */
    struct odbk_storage *pack_st;
    char *packs, *packs_shown;
    struct odbk_manifest m; /* catalog and folder sources */
    int has_manifest;
    char *env;              /* the backup's environment, "" when unknown */
    char *id;               /* the backup's id, "" for a single file */
    char *odoo_series;      /* "17.0", "" when unknown before loading */
    int has_filestore;      /* the source may hold a filestore */
};

/* Open the source named by o (backup_id, latest_env, from_file or from_url). */
int odbk_source_open(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct odbk_restore_opts *o,
                     struct odbk_source *src, struct odbk_err *err);
void odbk_source_close(struct odbk_source *src);

/* Push the stored bytes of f (a file of the manifest; NULL for the single file of a FILE or URL source)
 * into dst, checking size and SHA-256 against the manifest as they stream, then finish dst (or abort it
 * on any failure).  dst is not freed. */
int odbk_source_read(struct odbk_source *src, const struct odbk_manifest_file *f, struct odbk_writer *dst,
                     struct odbk_err *err);

/* odbk_source_read, its progress reported (report.h) as the phase called phase, against f's size. */
int odbk_source_read_phase(struct odbk_source *src, const struct odbk_manifest_file *f, struct odbk_writer *dst,
                           const struct odbk_report *report, const char *phase, struct odbk_err *err);

/* The file of the manifest with that role, NULL when none. */
const struct odbk_manifest_file *odbk_source_file(const struct odbk_source *src, const char *role);

#endif
