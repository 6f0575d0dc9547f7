/* fuzz-marker.c - the storage marker's parser (odbk_storage_marker_parse) on any bytes: it accepts only
 * what odbk_storage_marker_text writes, and what it accepts writes back byte for byte. */
#include "fuzz/fuzz.h"

#include <string.h>

#include "storage/storage.h"

FUZZ_TARGET(marker)
{
    char id[40];
    struct odbk_err err = {0};
    if (odbk_storage_marker_parse((const char *)data, size, id, &err) == 0) {
        char *text = odbk_storage_marker_text(id);
        if (strlen(text) != size || memcmp(text, data, size))
            abort();
        free(text);
    }
    return 0;
}
