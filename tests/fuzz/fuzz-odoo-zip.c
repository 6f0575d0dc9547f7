/* fuzz-odoo-zip.c - reading an Odoo zip (odbk_odoo_zip_reader_new), its member-name checks first:
 * dump.sql into a null sink, manifest.json kept, filestore/ members checked by name but not extracted
 * (fsdir NULL), so nothing is written outside the process whatever the input. */
#include "fuzz/fuzz.h"

#include "io/writer.h"
#include "io/zip.h"

FUZZ_TARGET(odoo_zip)
{
    struct odbk_writer *sql = odbk_sink_null_new();
    struct odbk_odoo_zip_stats stats = {0};
    struct odbk_writer *z = odbk_odoo_zip_reader_new(sql, NULL, NULL, &stats);
    fuzz_feed(z, data, size);
    odbk_writer_free(z);
    odbk_writer_free(sql);
    free(stats.manifest);
    return 0;
}
