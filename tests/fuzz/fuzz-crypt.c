/* fuzz-crypt.c - the reader of encrypted stored files (io/crypt.h: odbk_crypt_decrypt_new), the header
 * and the chunks of a hostile file, in writes of every shape.  Its passphrase is "fuzz" with Argon2id's
 * least figures (1 pass over 8 KiB); inputs whose header asks for more are skipped, not to measure
 * Argon2id. */
#include "fuzz/fuzz.h"

#include "io/crypt.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

FUZZ_TARGET(crypt)
{
    static struct odbk_keyring *kr;
    struct odbk_err err = {0};
    struct odbk_writer *null, *dec;
    size_t step, i;
    int r = 0;
    if (!kr) {
        kr = odbk_keyring_new(1, 8192);
        if (!kr || odbk_keyring_add(kr, "fuzz", 4, "fuzz", &err) < 0)
            abort();
    }
    if (size < 1 || (size >= 19 && (be32(data + 11) > 2 || be32(data + 15) > 64)))
        return 0;
    step = (size_t)data[0] * 97 + 1;   /* the first byte picks the writes' size; the rest is the file */
    data++;
    size--;
    null = odbk_sink_null_new();
    dec = odbk_crypt_decrypt_new(kr, NULL, "fuzz file", null);
    for (i = 0; i < size && r == 0; i += step)
        r = odbk_writer_write(dec, data + i, size - i < step ? size - i : step, &err);
    if (r == 0 && odbk_writer_finish(dec, &err) == 0 && !odbk_crypt_decrypt_path(dec))
        abort();   /* a file that decrypted has named its path */
    odbk_writer_free(dec);
    odbk_writer_free(null);
    return 0;
}
