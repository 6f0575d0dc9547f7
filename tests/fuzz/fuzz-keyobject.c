/* fuzz-keyobject.c - the reader of a storage's key objects (io/crypt.h: odbk_keyring_load_key), hostile
 * JSON from odbk-keys/.  Its passphrase is "fuzz" with Argon2id's least figures; inputs asking for more
 * than 2 passes or 64 KiB are skipped, not to measure Argon2id.  A key object that opens must hold a key
 * whose id it names: a file encrypted under it reads back. */
#include "fuzz/fuzz.h"

#include <cJSON.h>

#include "io/crypt.h"

FUZZ_TARGET(keyobject)
{
    struct odbk_keyring *kr;
    struct odbk_err err = {0};
    cJSON *o = cJSON_ParseWithLength((const char *)data, size);
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(o, "opslimit");
    const cJSON *mem = cJSON_GetObjectItemCaseSensitive(o, "memlimit");
    int r, skip = cJSON_IsNumber(ops) && cJSON_IsNumber(mem) && (ops->valuedouble > 2 || mem->valuedouble > 65536);
    cJSON_Delete(o);
    if (skip)
        return 0;
    kr = odbk_keyring_new(1, 8192);
    if (!kr || odbk_keyring_add(kr, "fuzz", 4, "fuzz", &err) < 0)
        abort();
    r = odbk_keyring_load_key(kr, (const char *)data, size, "fuzz key object", &err);
    if (r < 0 && err.code != ODBK_E_DATA && err.code != ODBK_E_OSERR)
        abort();   /* a bad key object is data, never another kind of error */
    if (r == 0 && !odbk_keyring_has_write_key(kr))
        abort();   /* what opened with the first passphrase is the key new files are written with */
    odbk_keyring_free(kr);
    return 0;
}
