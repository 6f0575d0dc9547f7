/* test-crypt.c - io/crypt.h: round trips, every tampering case, wrong and old passphrases, sizes. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "io/crypt.h"
#include "tap.h"

#define PATH "prod/20260102T030405Z-1a2b3c/backup-20260102T030405Z-1a2b3c-database.sql.gz"
#define HDR (44 + sizeof(PATH) - 1 + 24)   /* the header before the first chunk */
#define CC (ODBK_CRYPT_CHUNK + 17)

/* A keyring with cheap derivations (the figures only change the cost). */
static struct odbk_keyring *ring(const char *first, const char *second)
{
    struct odbk_keyring *kr = odbk_keyring_new(1, 8192);
    struct odbk_err err = {0};
    odbk_keyring_add(kr, first, strlen(first), first, &err);
    if (second)
        odbk_keyring_add(kr, second, strlen(second), second, &err);
    return kr;
}

/* Encrypt n bytes for path in writes of step bytes; malloc'd, its size in *len. */
static unsigned char *seal(struct odbk_keyring *kr, const char *path, const unsigned char *p, size_t n, size_t step,
                           size_t *len)
{
    struct odbk_writer *buf = odbk_sink_buffer_new(64 << 20);
    struct odbk_writer *enc = odbk_crypt_encrypt_new(kr, path, buf);
    struct odbk_err err = {0};
    const char *d;
    unsigned char *out;
    size_t i;
    for (i = 0; i < n; i += step)
        odbk_writer_write(enc, p + i, n - i < step ? n - i : step, &err);
    if (odbk_writer_finish(enc, &err) < 0)
        diag("seal: %s", err.msg);
    d = odbk_sink_buffer_data(buf, len);
    out = odbk_xmalloc(*len + 1);
    memcpy(out, d, *len);
    odbk_writer_free(enc);   /* frees buf with it */
    return out;
}

/* Decrypt c (in writes of step bytes) expecting path: 0 and the plaintext in *out, or -1 and err. */
static int open_(struct odbk_keyring *kr, const char *path, const unsigned char *c, size_t n, size_t step,
                 char **out, size_t *len, struct odbk_err *err)
{
    struct odbk_writer *buf = odbk_sink_buffer_new(64 << 20);
    struct odbk_writer *dec = odbk_crypt_decrypt_new(kr, path, "the file", buf);
    size_t i;
    int r = 0;
    for (i = 0; i < n && r == 0; i += step)
        r = odbk_writer_write(dec, c + i, n - i < step ? n - i : step, err);
    if (r == 0)
        r = odbk_writer_finish(dec, err);
    if (r == 0)
        r = odbk_writer_finish(buf, err);
    if (r == 0 && out) {
        const char *d = odbk_sink_buffer_data(buf, len);
        *out = odbk_xmalloc(*len + 1);
        memcpy(*out, d, *len);
    }
    odbk_writer_free(dec);
    odbk_writer_free(buf);
    return r;
}

static int refused(struct odbk_keyring *kr, const char *path, const unsigned char *c, size_t n, enum odbk_errcode code,
                   const char *needle, const char *desc)
{
    struct odbk_err err = {0};
    int r = open_(kr, path, c, n, 7000, NULL, NULL, &err);
    if (r == 0 || err.code != code || !strstr(err.msg, needle))
        diag("%s: r=%d code=%d msg=%s", desc, r, err.code, err.msg);
    return ok(r < 0 && err.code == code && strstr(err.msg, needle), desc);
}

int main(void)
{
    struct odbk_keyring *kr = ring("correct horse battery staple", NULL);
    size_t sizes[] = {0, 1, 1000, ODBK_CRYPT_CHUNK, ODBK_CRYPT_CHUNK + 1, 3 * ODBK_CRYPT_CHUNK, 200001};
    size_t n = 3 * ODBK_CRYPT_CHUNK + 500, clen, i;
    unsigned char *plain = odbk_xmalloc(256 * 1024), *c, *t;
    struct odbk_err err = {0};
    char id[ODBK_CRYPT_KEYID_HEX], id2[ODBK_CRYPT_KEYID_HEX];
    for (i = 0; i < 256 * 1024; i++)
        plain[i] = (unsigned char)("odbk plaintext marker "[i % 22]);

    /* round trips: every size, in writes of every shape; the stored size is what stored_size says */
    for (i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
        size_t steps[] = {1, 4096, ODBK_CRYPT_CHUNK, 1 << 20}, s;
        for (s = 0; s < 4; s++) {
            char *back = NULL, desc[128];
            size_t blen = 0;
            uint64_t p = 0;
            if (sizes[i] > 1000 && steps[s] == 1)
                continue;
            c = seal(kr, PATH, plain, sizes[i], steps[s], &clen);
            snprintf(desc, sizeof(desc), "round trip of %zu bytes in writes of %zu", sizes[i], steps[s]);
            ok(open_(kr, PATH, c, clen, steps[s] == 1 ? 3 : steps[s], &back, &blen, &err) == 0 && blen == sizes[i]
                   && !memcmp(back, plain, sizes[i]), desc);
            if (s == 1) {
                is_int((long long)clen, (long long)odbk_crypt_stored_size(PATH, sizes[i]), "stored size predicted");
                ok(odbk_crypt_plain_size(PATH, clen, &p) == 0 && p == sizes[i], "plain size from the stored size");
            }
            free(back);
            free(c);
        }
    }
    ok(odbk_crypt_plain_size(PATH, 10, &(uint64_t){0}) < 0, "a size too small for a header is no encrypted file");

    c = seal(kr, PATH, plain, n, 4096, &clen);
    ok(!memmem(c, clen, "plaintext marker", 16), "the plaintext does not show in the stored bytes");
    ok(memmem(c, clen, PATH, strlen(PATH)) != NULL, "the header names the path in plain");

    /* tampering: every byte position class */
    t = odbk_xmalloc(clen);
    memcpy(t, c, clen);
    t[0] ^= 1;
    refused(kr, PATH, t, clen, ODBK_E_DATA, "not an odbk encrypted file", "a changed magic");
    memcpy(t, c, clen);
    t[20] ^= 1;   /* the salt: the key id does not match, or the chunk does not authenticate */
    {
        struct odbk_err e = {0};
        int r = open_(kr, PATH, t, clen, 7000, NULL, NULL, &e);
        ok(r < 0 && (e.code == ODBK_E_DATA || e.code == ODBK_E_CONFIG), "a changed salt");
    }
    memcpy(t, c, clen);
    t[44] ^= 1;   /* the first byte of the path */
    refused(kr, PATH, t, clen, ODBK_E_DATA, "swapped", "a changed path in the header");
    memcpy(t, c, clen);
    t[HDR - 1] ^= 1;
    refused(kr, PATH, t, clen, ODBK_E_DATA, "chunk 1 does not authenticate", "a changed stream header");
    memcpy(t, c, clen);
    t[HDR + 100] ^= 0x80;
    refused(kr, PATH, t, clen, ODBK_E_DATA, "chunk 1 does not authenticate", "a changed byte in chunk 1");
    memcpy(t, c, clen);
    t[clen - 1] ^= 1;
    refused(kr, PATH, t, clen, ODBK_E_DATA, "chunk 4 does not authenticate", "a changed byte in the last chunk");
    refused(kr, PATH, c, clen - 1, ODBK_E_DATA, "does not authenticate", "one byte cut off");
    refused(kr, PATH, c, HDR + 3 * CC, ODBK_E_DATA, "no final chunk", "cut at a chunk boundary");
    refused(kr, PATH, c, HDR + 10, ODBK_E_DATA, "cut short", "cut inside the first chunk");
    refused(kr, PATH, c, 30, ODBK_E_DATA, "cut short in its header", "cut inside the header");
    refused(kr, PATH, c, 0, ODBK_E_DATA, "empty", "an empty file");
    memcpy(t, c, clen);   /* chunks 1 and 2 swapped */
    memcpy(t + HDR, c + HDR + CC, CC);
    memcpy(t + HDR + CC, c + HDR, CC);
    refused(kr, PATH, t, clen, ODBK_E_DATA, "chunk 1 does not authenticate", "two chunks swapped");
    memcpy(t, c, clen);   /* chunk 2 dropped */
    memmove(t + HDR + CC, c + HDR + 2 * CC, clen - HDR - 2 * CC);
    refused(kr, PATH, t, clen - CC, ODBK_E_DATA, "chunk 2 does not authenticate", "a chunk dropped");
    {
        unsigned char *more = odbk_xmalloc(clen + CC);   /* a chunk repeated */
        memcpy(more, c, HDR + CC);
        memcpy(more + HDR + CC, c + HDR, clen - HDR);
        refused(kr, PATH, more, clen + CC, ODBK_E_DATA, "chunk 2 does not authenticate", "a chunk repeated");
        memcpy(more, c, clen);   /* bytes after the final chunk */
        memset(more + clen, 0, 40);
        refused(kr, PATH, more, clen + 40, ODBK_E_DATA, "does not authenticate", "bytes after the end");
        free(more);
    }
    refused(kr, "prod/20260103T030405Z-ffffff/backup-20260103T030405Z-ffffff-database.sql.gz", c, clen, ODBK_E_DATA,
            "swapped", "a file of another backup in its place");
    {
        /* the same path, another backup's bytes: a file written for another path with the header's path
         * rewritten to this one fails authentication */
        const char *other = "prod/20260102T030405Z-999999/backup-20260102T030405Z-999999-database.sql.gz";
        size_t olen;
        unsigned char *o = seal(kr, other, plain, 1000, 4096, &olen);
        ok(strlen(other) == strlen(PATH), "(same path length)");
        memcpy(o + 44, PATH, strlen(PATH));
        refused(kr, PATH, o, olen, ODBK_E_DATA, "chunk 1 does not authenticate", "another backup's file with its header rewritten");
        free(o);
    }
    refused(kr, PATH, plain, 5000, ODBK_E_DATA, "not an odbk encrypted file", "a plain file in its place");

    /* keys: a wrong passphrase names the key id needed; an old one still reads */
    {
        struct odbk_keyring *wrong = ring("another passphrase", NULL), *both = ring("new passphrase", "correct horse battery staple");
        struct odbk_err e = {0};
        char *back = NULL;
        size_t blen = 0;
        odbk_keyring_write_id(kr, id, &e);
        odbk_keyring_write_id(wrong, id2, &e);
        ok(strlen(id) == 16 && strcmp(id, id2), "key ids differ by passphrase");
        ok(open_(wrong, PATH, c, clen, 7000, NULL, NULL, &e) < 0 && e.code == ODBK_E_CONFIG && strstr(e.msg, id)
               && strstr(e.msg, id2), "a wrong passphrase says which key id is needed and which are there");
        ok(open_(both, PATH, c, clen, 7000, &back, &blen, &e) == 0 && blen == n && !memcmp(back, plain, n),
           "a file of the old passphrase reads with it configured for reading");
        free(back);
        {
            size_t nlen;
            unsigned char *nc = seal(both, PATH, plain, 100, 4096, &nlen);
            ok(open_(kr, PATH, nc, nlen, 7000, NULL, NULL, &e) < 0 && e.code == ODBK_E_CONFIG,
               "a new file is written with the first passphrase (the old alone cannot read it)");
            free(nc);
        }
        ok(!memmem(c, clen, "correct horse", 13), "the passphrase is not in the file");
        ok(!memmem(c, clen, id, 16), "nor the key id in hex (it is binary)");
        odbk_keyring_free(wrong);
        odbk_keyring_free(both);
    }
    {
        struct odbk_keyring *none = odbk_keyring_new(1, 8192);
        struct odbk_err e = {0};
        ok(open_(none, PATH, c, clen, 7000, NULL, NULL, &e) < 0 && e.code == ODBK_E_CONFIG && strstr(e.msg, "(none)"),
           "no passphrase at all says which key id is needed");
        ok(odbk_keyring_add(none, "", 0, "empty", &e) < 0 && e.code == ODBK_E_CONFIG, "an empty passphrase is refused");
        odbk_keyring_free(none);
    }
    {   /* a hostile header asking for an absurd derivation is refused before any work */
        struct odbk_err e = {0};
        memcpy(t, c, clen);
        t[10] = 0xff;
        refused(kr, PATH, t, clen, ODBK_E_DATA, "out of range", "an absurd opslimit");
        (void)e;
    }
    free(t);
    free(c);
    free(plain);
    odbk_keyring_free(kr);
    return done_testing();
}
