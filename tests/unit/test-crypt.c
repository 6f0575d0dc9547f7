/* test-crypt.c - io/crypt.h: round trips, every tampering case, wrong and old passphrases, sizes, key
 * objects (random salts and master keys), files of the old fixed-salt scheme. */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "common/util.h"
#include "io/crypt.h"
#include "tap.h"

#define PATH "prod/20260102T030405Z-1a2b3c/backup-20260102T030405Z-1a2b3c-database.sql.gz"
#define HDR (44 + sizeof(PATH) - 1 + 24)   /* the header before the first chunk */
#define CC (ODBK_CRYPT_CHUNK + 17)

/* A keyring with cheap derivations (the figures only change the cost) and a new master key for first,
 * its key object in *json (malloc'd) unless json is NULL. */
static struct odbk_keyring *ring(const char *first, const char *second, char **json)
{
    struct odbk_keyring *kr = odbk_keyring_new(1, 8192);
    struct odbk_err err = {0};
    char *j = NULL, id[ODBK_CRYPT_KEYID_HEX];
    odbk_keyring_add(kr, first, strlen(first), first, &err);
    if (second)
        odbk_keyring_add(kr, second, strlen(second), second, &err);
    if (odbk_keyring_new_key(kr, &j, id, &err) < 0)
        diag("new key: %s", err.msg);
    if (json)
        *json = j;
    else
        free(j);
    return kr;
}

/* A file as odbk before key objects wrote it (header kdf 1: Argon2id of the passphrase and the fixed
 * salt "odbk-kdf-salt-v1", 1 pass over 8 MiB), of n <= one chunk of bytes: what old backups hold. */
static unsigned char *old_seal(const char *pass, const char *path, const unsigned char *p, size_t n, size_t *len)
{
    static const char label[] = "odbk-key-id-v1";
    unsigned char key[32], *out, *h;
    size_t plen = strlen(path), adlen = 44 + plen;
    unsigned long long clen;
    crypto_secretstream_xchacha20poly1305_state ss;
    out = odbk_xcalloc(1, adlen + 24 + n + 17);
    h = out;
    memcpy(h, "ODBKENC1", 8);
    h[8] = 1;
    h[9] = 1;
    h[13] = 1;                                        /* opslimit 1 */
    h[16] = 0x20;                                     /* memlimit 8192 KiB */
    memcpy(h + 18, "odbk-kdf-salt-v1", 16);
    if (crypto_pwhash(key, 32, pass, strlen(pass), h + 18, 1, 8192 << 10, crypto_pwhash_ALG_ARGON2ID13) != 0)
        diag("old_seal: no memory for Argon2id");
    crypto_generichash(h + 34, 8, (const unsigned char *)label, sizeof(label) - 1, key, 32);
    h[42] = (unsigned char)(plen >> 8);
    h[43] = (unsigned char)plen;
    memcpy(h + 44, path, plen);
    crypto_secretstream_xchacha20poly1305_init_push(&ss, out + adlen, key);
    crypto_secretstream_xchacha20poly1305_push(&ss, out + adlen + 24, &clen, p, n, out, adlen,
                                               crypto_secretstream_xchacha20poly1305_TAG_FINAL);
    sodium_memzero(key, sizeof(key));
    *len = adlen + 24 + (size_t)clen;
    return out;
}

/* The string field name of the key object json. */
static char *ko_field(const char *json, const char *name)
{
    cJSON *o = cJSON_Parse(json);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
    char *v = odbk_xstrdup(cJSON_IsString(f) ? f->valuestring : "");
    cJSON_Delete(o);
    return v;
}

/* json with the first occurrence of from replaced by to (same length), malloc'd. */
static char *ko_edit(const char *json, const char *from, const char *to)
{
    char *t = odbk_xstrdup(json), *at = strstr(t, from);
    if (at)
        memcpy(at, to, strlen(to));
    return t;
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
    char *kr_json = NULL;
    struct odbk_keyring *kr = ring("correct horse battery staple", NULL, &kr_json);
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

    /* keys: a wrong passphrase names the key id needed; an old one still reads (its key object opens) */
    {
        struct odbk_keyring *wrong = ring("another passphrase", NULL, NULL);
        struct odbk_keyring *both = ring("new passphrase", "correct horse battery staple", NULL);
        struct odbk_err e = {0};
        char *back = NULL;
        size_t blen = 0;
        odbk_keyring_write_id(kr, id, &e);
        odbk_keyring_write_id(wrong, id2, &e);
        ok(strlen(id) == 16 && strcmp(id, id2), "key ids differ by key");
        ok(odbk_keyring_load_key(wrong, kr_json, strlen(kr_json), "k", &e) == 1,
           "a key object of another passphrase does not open");
        ok(open_(wrong, PATH, c, clen, 7000, NULL, NULL, &e) < 0 && e.code == ODBK_E_CONFIG && strstr(e.msg, id)
               && strstr(e.msg, id2), "a wrong passphrase says which key id is needed and which are there");
        ok(odbk_keyring_load_key(both, kr_json, strlen(kr_json), "k", &e) == 0, "the old passphrase opens its key object");
        ok(open_(both, PATH, c, clen, 7000, &back, &blen, &e) == 0 && blen == n && !memcmp(back, plain, n),
           "a file of the old passphrase reads with it configured for reading");
        free(back);
        {
            size_t nlen;
            unsigned char *nc = seal(both, PATH, plain, 100, 4096, &nlen);
            ok(open_(kr, PATH, nc, nlen, 7000, NULL, NULL, &e) < 0 && e.code == ODBK_E_CONFIG,
               "a new file is written with the first passphrase's key (the old alone cannot read it)");
            free(nc);
        }
        ok(!memmem(c, clen, "correct horse", 13), "the passphrase is not in the file");
        ok(!memmem(c, clen, id, 16), "nor the key id in hex (it is binary)");
        odbk_keyring_free(wrong);
        odbk_keyring_free(both);
    }

    /* key objects: random per storage, a hash of the master key for id, tampering refused */
    {
        char *j1 = NULL, *j2 = NULL, *s1, *s2, *i1, *i2, *t1;
        struct odbk_keyring *a = ring("same passphrase", NULL, &j1), *b = ring("same passphrase", NULL, &j2);
        struct odbk_keyring *fresh = ring("same passphrase", NULL, NULL);
        struct odbk_err e = {0};
        char ida[ODBK_CRYPT_KEYID_HEX], idb[ODBK_CRYPT_KEYID_HEX], *back = NULL;
        size_t blen = 0, alen;
        unsigned char *ac = seal(a, PATH, plain, 3000, 4096, &alen);
        s1 = ko_field(j1, "salt");
        s2 = ko_field(j2, "salt");
        i1 = ko_field(j1, "id");
        i2 = ko_field(j2, "id");
        odbk_keyring_write_id(a, ida, &e);
        odbk_keyring_write_id(b, idb, &e);
        ok(strlen(s1) == 32 && strcmp(s1, s2), "two storages of one passphrase get different salts");
        ok(strcmp(ida, idb) && !strcmp(i1, ida) && !strcmp(i2, idb), "and different key ids (the object's own)");
        ok(strstr(j1, "\"argon2id13\"") && strstr(j1, "\"sealed\"") && !strstr(j1, "same passphrase"),
           "the key object is JSON naming its kdf, without the passphrase");
        ok(open_(b, PATH, ac, alen, 7000, NULL, NULL, &e) < 0 && e.code == ODBK_E_CONFIG && strstr(e.msg, ida),
           "the other storage's key does not read it (its key id named)");
        ok(odbk_keyring_load_key(fresh, j1, strlen(j1), "k", &e) == 0
               && open_(fresh, PATH, ac, alen, 7000, &back, &blen, &e) == 0 && blen == 3000
               && !memcmp(back, plain, 3000), "the passphrase and the key object read the file");
        free(back);
        memset(&e, 0, sizeof(e));
        t1 = ko_edit(j1, i1, i2);
        ok(odbk_keyring_load_key(fresh, t1, strlen(t1), "odbk-keys/x.json", &e) < 0 && e.code == ODBK_E_DATA
               && strstr(e.msg, "odbk-keys/x.json") && strstr(e.msg, "does not match"),
           "a key object with another id is refused (65)");
        free(t1);
        t1 = ko_edit(j1, s1, "zz");
        memset(&e, 0, sizeof(e));
        ok(odbk_keyring_load_key(fresh, t1, strlen(t1), "k", &e) < 0 && e.code == ODBK_E_DATA,
           "a key object with a bad salt is refused (65)");
        free(t1);
        memset(&e, 0, sizeof(e));
        ok(odbk_keyring_load_key(fresh, "{\"version\":2}", 13, "k", &e) < 0 && e.code == ODBK_E_DATA,
           "an unknown version is refused (65)");
        ok(odbk_keyring_load_key(fresh, "not json", 8, "k", &e) < 0 && e.code == ODBK_E_DATA, "not JSON: refused (65)");
        {
            struct odbk_keyring *g = ring("same passphrase", NULL, NULL);
            char *sealed = ko_field(j1, "sealed");
            char *kf = odbk_xstrdup(sealed);
            kf[0] = kf[0] == '0' ? '1' : '0';
            t1 = ko_edit(j1, sealed, kf);
            ok(strcmp(t1, j1) && odbk_keyring_load_key(g, t1, strlen(t1), "k", &e) == 1
                   && open_(g, PATH, ac, alen, 7000, NULL, NULL, &e) < 0 && e.code == ODBK_E_CONFIG
                   && strstr(e.msg, ida), "a changed sealed key opens with no passphrase: the file's key id is named");
            free(t1);
            free(kf);
            free(sealed);
            odbk_keyring_free(g);
        }
        free(ac);
        free(s1);
        free(s2);
        free(i1);
        free(i2);
        free(j1);
        free(j2);
        odbk_keyring_free(a);
        odbk_keyring_free(b);
        odbk_keyring_free(fresh);
    }

    /* files of the old fixed-salt scheme still read (read only), and name their key id when they do not */
    {
        struct odbk_keyring *w = ring("wrong", NULL, NULL);
        struct odbk_err e = {0};
        char *back = NULL;
        size_t olen, blen = 0;
        unsigned char *oc = old_seal("correct horse battery staple", PATH, plain, 5000, &olen);
        ok(open_(kr, PATH, oc, olen, 7000, &back, &blen, &e) == 0 && blen == 5000 && !memcmp(back, plain, 5000),
           "an old-scheme file reads with its passphrase");
        if (e.msg[0])
            diag("%s", e.msg);
        ok(open_(w, PATH, oc, olen, 7000, NULL, NULL, &e) < 0 && e.code == ODBK_E_CONFIG && strstr(e.msg, "key id"),
           "an old-scheme file with a wrong passphrase names its key id");
        oc[olen - 1] ^= 1;
        refused(kr, PATH, oc, olen, ODBK_E_DATA, "does not authenticate", "an old-scheme file changed");
        free(back);
        free(oc);
        odbk_keyring_free(w);
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
        memcpy(t, c, clen);
        t[10] = 0xff;
        refused(kr, PATH, t, clen, ODBK_E_DATA, "master-key header", "derivation figures in a master-key header");
        t[9] = 1;
        refused(kr, PATH, t, clen, ODBK_E_DATA, "out of range", "an absurd opslimit (old scheme)");
    }
    free(t);
    free(c);
    free(plain);
    odbk_keyring_free(kr);
    free(kr_json);
    return done_testing();
}
