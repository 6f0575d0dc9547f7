/* fuzz-manifest.c - the manifest parser (odbk_manifest_parse, a backup's manifest.json as read back from
 * storage or from an Odoo zip), and serialising what it accepted. */
#include "fuzz/fuzz.h"

#include "odoo/manifest.h"

FUZZ_TARGET(manifest)
{
    char *s = fuzz_cstr(data, size);
    struct odbk_manifest m = {0};
    struct odbk_err err = {0};
    if (odbk_manifest_parse(s, "fuzz manifest.json", &m, &err) == 0) {
        free(odbk_manifest_to_json(&m));
        free(odbk_manifest_odoo_json(&m));
        (void)odbk_manifest_file_by_role(&m, "database");
    }
    odbk_manifest_release(&m);
    free(s);
    return 0;
}
