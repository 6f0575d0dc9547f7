/* zip.h - the layout of Odoo's backup zip as odbk writes it (Odoo's web/database/backup): the SQL as
 * dump.sql first, then manifest.json with Odoo's keys of the manifest, then the filestore as
 * filestore/<xx>/<sha1>.  The zip itself (members, streaming) is io/zip.h, which also reads it back. */
#ifndef ODBK_ODOO_ZIP_H
#define ODBK_ODOO_ZIP_H

#include "io/zip.h"
#include "odoo/manifest.h"

/* The member holding the SQL (also the name the SQL check gives its errors). */
#define ODBK_ODOO_ZIP_SQL "dump.sql"

/* Start dump.sql (size < 0 when unknown: a data descriptor follows it); its bytes then go through
 * odbk_zip_member_writer_new(z). */
int odbk_odoo_zip_begin_sql(struct odbk_zip *z, int64_t size, time_t mtime, struct odbk_err *err);
/* manifest.json: Odoo's own keys of m (odbk_manifest_odoo_json). */
int odbk_odoo_zip_add_manifest(struct odbk_zip *z, const struct odbk_manifest *m, struct odbk_err *err);
/* The filestore: every file of dir (*files and *bytes, when not NULL, the files stored and their bytes), or
 * every file of a tar written into the returned writer. */
int odbk_odoo_zip_add_filestore(struct odbk_zip *z, const char *dir, uint64_t *files, uint64_t *bytes,
                                struct odbk_err *err);
struct odbk_writer *odbk_odoo_zip_filestore_writer_new(struct odbk_zip *z);

#endif
