/* zip.h - Odoo's backup zip (dump.sql, manifest.json, filestore/xx/sha1), both ways, streaming through
 * libarchive.  odbk writes dump.sql first, as Odoo does; it reads the members in whatever order they come.
 *
 * Writing: members are added one after the other into a writer chain; a member of unknown size (dump.sql
 * straight from pg_dump) is written with a data descriptor, so nothing is staged or seeked.  Only files get
 * members, as Odoo's zip_dir makes them.
 *
 * Reading: libarchive's streamable zip reader, fed through the pipe adapter: dump.sql goes into a writer
 * (psql's stdin), filestore/... into a directory, manifest.json into memory.  Member names are checked
 * before anything is written: absolute names, "..", links and anything but files and directories are
 * refused (ODBK_E_DATA); a stream that ends before the zip's central directory is refused as truncated. */
#ifndef ODBK_ZIP_H
#define ODBK_ZIP_H

#include <stdint.h>
#include <time.h>

#include "io/writer.h"

/* ---- writing ---- */

struct odbk_zip;

/* A zip written into dst (dst is neither finished nor aborted by the zip). */
struct odbk_zip *odbk_zip_new(struct odbk_writer *dst);
/* Start a member; size < 0 when unknown.  Its data is then written with odbk_zip_data. */
int odbk_zip_begin(struct odbk_zip *z, const char *name, int64_t size, time_t mtime, struct odbk_err *err);
int odbk_zip_data(struct odbk_zip *z, const void *buf, size_t len, struct odbk_err *err);
/* A writer whose bytes go into the current member (finish ends the member; it has no next). */
struct odbk_writer *odbk_zip_member_writer_new(struct odbk_zip *z);
/* A whole member from memory. */
int odbk_zip_add_buffer(struct odbk_zip *z, const char *name, const void *buf, size_t len, struct odbk_err *err);
/* Every file under dir (sorted, files only) as prefix + relative name; *files and *bytes (when not NULL)
 * the files stored and their bytes (a file that vanished before it was opened is not one). */
int odbk_zip_add_dir(struct odbk_zip *z, const char *dir, const char *prefix, uint64_t *files, uint64_t *bytes,
                     struct odbk_err *err);
/* A writer taking a tar stream whose files become members prefix + name (the filestore of an odbk backup
 * turned into Odoo's filestore/ members). */
struct odbk_writer *odbk_zip_from_tar_writer_new(struct odbk_zip *z, const char *prefix);
/* Write the central directory (dst is not finished). */
int odbk_zip_close(struct odbk_zip *z, struct odbk_err *err);
void odbk_zip_free(struct odbk_zip *z);

/* ---- reading Odoo's zip ---- */

struct odbk_odoo_zip_stats {
    uint64_t files;        /* filestore files written */
    uint64_t bytes;        /* their bytes */
    uint64_t sql_bytes;    /* bytes of dump.sql */
    char *manifest;        /* manifest.json (malloc'd, NULL when absent); the caller frees it */
};

/* A writer taking the bytes of an Odoo zip: dump.sql is written into sql (finished when the member ends,
 * aborted on failure; the caller frees it), filestore/<name> is extracted into fsdir/<name> (skipped when
 * fsdir is NULL; fsdir must be the directory fsdir_id when that is not NULL, see odbk_dir_open_made),
 * manifest.json kept in stats->manifest, other members ignored (as Odoo does).  Members may
 * come in any order (filestore/ before dump.sql, manifest.json anywhere), as Odoo's restore, which extracts
 * first, takes them: each is handled as it arrives, nothing is spooled.  A zip without dump.sql is refused
 * at its end. */
struct stat;
struct odbk_writer *odbk_odoo_zip_reader_new(struct odbk_writer *sql, const char *fsdir, const struct stat *fsdir_id,
                                             struct odbk_odoo_zip_stats *stats);

#endif
