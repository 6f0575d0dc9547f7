/* zip.c - the layout of Odoo's backup zip (zip.h). */
#include "odoo/zip.h"

#include <stdlib.h>
#include <string.h>

#define FILESTORE_PREFIX "filestore/"

int odbk_odoo_zip_begin_sql(struct odbk_zip *z, int64_t size, time_t mtime, struct odbk_err *err)
{
    return odbk_zip_begin(z, ODBK_ODOO_ZIP_SQL, size, mtime, err);
}

int odbk_odoo_zip_add_manifest(struct odbk_zip *z, const struct odbk_manifest *m, struct odbk_err *err)
{
    char *json = odbk_manifest_odoo_json(m);
    int r = odbk_zip_add_buffer(z, "manifest.json", json, strlen(json), err);
    free(json);
    return r;
}

int odbk_odoo_zip_add_filestore(struct odbk_zip *z, const char *dir, uint64_t *files, uint64_t *bytes,
                                struct odbk_err *err)
{
    return odbk_zip_add_dir(z, dir, FILESTORE_PREFIX, files, bytes, err);
}

struct odbk_writer *odbk_odoo_zip_filestore_writer_new(struct odbk_zip *z)
{
    return odbk_zip_from_tar_writer_new(z, FILESTORE_PREFIX);
}
