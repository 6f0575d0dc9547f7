/* crypt.c - encrypted stored files (crypt.h): the header, the secretstream chunks, the keyring. */
#include "io/crypt.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/util.h"

#define SS_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define SS_HEADER crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define KEYBYTES crypto_secretstream_xchacha20poly1305_KEYBYTES
#define SALTBYTES 16
#define IDBYTES 8
#define MAGIC "ODBKENC1"
#define FIXED (8 + 1 + 1 + 4 + 4 + SALTBYTES + IDBYTES + 2)   /* the header before the path */
#define MAX_PATH 4096
#define MAX_OPS 64ULL                      /* a hostile header must not buy hours of Argon2id ... */
#define MAX_MEM_KIB (1024U * 1024U)        /* ... nor more than 1 GiB of memory */
#define CCHUNK (ODBK_CRYPT_CHUNK + SS_ABYTES)

/* The salt of every derivation this version makes (recorded in each header, which a reader follows):
 * one salt per passphrase keeps its key id the same from run to run, which is what tells a user which
 * passphrase a backup needs.  odbk.conf(5) says what that costs (a passphrase guessed once is guessed for
 * every storage using it) and asks for a long random passphrase. */
static const unsigned char odbk_salt[SALTBYTES] = "odbk-kdf-salt-v1";

/* ---- the keyring ---- */

struct derived {
    size_t pass;                      /* which passphrase */
    unsigned long long ops;
    size_t mem;
    unsigned char salt[SALTBYTES];
    unsigned char *key;               /* sodium_malloc'd */
    unsigned char id[IDBYTES];
};

struct passphrase {
    char *text;                       /* sodium_malloc'd */
    size_t len;
    char *what;
};

struct odbk_keyring {
    pthread_mutex_t mu;
    unsigned long long ops;
    size_t mem;
    struct passphrase *pass;
    size_t n_pass;
    struct derived *keys;
    size_t n_keys;
};

struct odbk_keyring *odbk_keyring_new(unsigned long long opslimit, size_t memlimit)
{
    struct odbk_keyring *kr;
    if (sodium_init() < 0)
        return NULL;
    kr = odbk_xcalloc(1, sizeof(*kr));
    pthread_mutex_init(&kr->mu, NULL);
    kr->ops = opslimit ? opslimit : ODBK_CRYPT_OPSLIMIT;
    kr->mem = memlimit ? memlimit : ODBK_CRYPT_MEMLIMIT;
    return kr;
}

int odbk_keyring_add(struct odbk_keyring *kr, const char *pass, size_t len, const char *what, struct odbk_err *err)
{
    struct passphrase *p;
    if (!len)
        return odbk_err_set(err, ODBK_E_CONFIG, "passphrase %s is empty", what);
    kr->pass = odbk_xrealloc(kr->pass, (kr->n_pass + 1) * sizeof(*kr->pass));
    p = &kr->pass[kr->n_pass];
    p->text = sodium_malloc(len);
    if (!p->text)
        return odbk_err_set(err, ODBK_E_OSERR, "cannot allocate locked memory for passphrase %s", what);
    memcpy(p->text, pass, len);
    p->len = len;
    p->what = odbk_xstrdup(what);
    kr->n_pass++;
    return 0;
}

size_t odbk_keyring_count(const struct odbk_keyring *kr)
{
    return kr ? kr->n_pass : 0;
}

void odbk_keyring_free(struct odbk_keyring *kr)
{
    size_t i;
    if (!kr)
        return;
    for (i = 0; i < kr->n_pass; i++) {
        sodium_free(kr->pass[i].text);
        free(kr->pass[i].what);
    }
    for (i = 0; i < kr->n_keys; i++)
        sodium_free(kr->keys[i].key);
    free(kr->pass);
    free(kr->keys);
    pthread_mutex_destroy(&kr->mu);
    free(kr);
}

void odbk_crypt_wipe(void *buf, size_t len)
{
    sodium_memzero(buf, len);
}

static void key_id(const unsigned char *key, unsigned char id[IDBYTES])
{
    static const char label[] = "odbk-key-id-v1";
    crypto_generichash(id, IDBYTES, (const unsigned char *)label, sizeof(label) - 1, key, KEYBYTES);
}

static void id_hex(const unsigned char id[IDBYTES], char hex[ODBK_CRYPT_KEYID_HEX])
{
    sodium_bin2hex(hex, ODBK_CRYPT_KEYID_HEX, id, IDBYTES);
}

/* The key of passphrase i under (ops, mem, salt), derived once (kr->mu held). */
static const struct derived *derive(struct odbk_keyring *kr, size_t i, unsigned long long ops, size_t mem,
                                    const unsigned char *salt, struct odbk_err *err)
{
    struct derived *d;
    size_t k;
    for (k = 0; k < kr->n_keys; k++) {
        d = &kr->keys[k];
        if (d->pass == i && d->ops == ops && d->mem == mem && !memcmp(d->salt, salt, SALTBYTES))
            return d;
    }
    kr->keys = odbk_xrealloc(kr->keys, (kr->n_keys + 1) * sizeof(*kr->keys));
    d = &kr->keys[kr->n_keys];
    memset(d, 0, sizeof(*d));
    d->key = sodium_malloc(KEYBYTES);
    if (!d->key)
        return odbk_err_set(err, ODBK_E_OSERR, "cannot allocate locked memory for a key"), NULL;
    if (crypto_pwhash(d->key, KEYBYTES, kr->pass[i].text, kr->pass[i].len, salt, ops, mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        sodium_free(d->key);
        return odbk_err_set(err, ODBK_E_OSERR, "cannot derive the key of passphrase %s: Argon2id needs %zu MiB "
                            "of memory", kr->pass[i].what, mem >> 20), NULL;
    }
    d->pass = i;
    d->ops = ops;
    d->mem = mem;
    memcpy(d->salt, salt, SALTBYTES);
    key_id(d->key, d->id);
    kr->n_keys++;
    return d;
}

int odbk_keyring_id(struct odbk_keyring *kr, size_t i, char id[ODBK_CRYPT_KEYID_HEX], struct odbk_err *err)
{
    const struct derived *d;
    if (i >= kr->n_pass)
        return odbk_err_set(err, ODBK_E_CONFIG, "no passphrase is configured");
    pthread_mutex_lock(&kr->mu);
    d = derive(kr, i, kr->ops, kr->mem, odbk_salt, err);
    if (d)
        id_hex(d->id, id);
    pthread_mutex_unlock(&kr->mu);
    return d ? 0 : -1;
}

int odbk_keyring_write_id(struct odbk_keyring *kr, char id[ODBK_CRYPT_KEYID_HEX], struct odbk_err *err)
{
    return odbk_keyring_id(kr, 0, id, err);
}

/* Copy the key the header (ops, mem, salt, id) asks for into key; what names the file. */
static int find_key(struct odbk_keyring *kr, unsigned long long ops, size_t mem, const unsigned char *salt,
                    const unsigned char *id, unsigned char *key, const char *what, struct odbk_err *err)
{
    char hex[ODBK_CRYPT_KEYID_HEX], have[8 * ODBK_CRYPT_KEYID_HEX + 8] = "";
    size_t i;
    int found = 0;
    pthread_mutex_lock(&kr->mu);
    for (i = 0; i < kr->n_pass && !found; i++) {
        const struct derived *d = derive(kr, i, ops, mem, salt, err);
        if (!d) {
            pthread_mutex_unlock(&kr->mu);
            return -1;
        }
        if (!sodium_memcmp(d->id, id, IDBYTES)) {
            memcpy(key, d->key, KEYBYTES);
            found = 1;
        } else if (i < 8) {
            id_hex(d->id, hex);
            snprintf(have + strlen(have), sizeof(have) - strlen(have), "%s%s", i ? ", " : "", hex);
        }
    }
    pthread_mutex_unlock(&kr->mu);
    if (found)
        return 0;
    id_hex(id, hex);
    odbk_err_set(err, ODBK_E_CONFIG, "'%s' was encrypted with key id %s; the configured passphrases have key "
                 "id%s %s", what, hex, kr->n_pass > 1 ? "s" : "", kr->n_pass ? have : "(none)");
    odbk_err_hint(err, "add the file of the passphrase with key id %s to the storage's 'old-passphrase-files'",
                  hex);
    return -1;
}

/* ---- sizes ---- */

static uint64_t header_size(const char *path)
{
    return FIXED + strlen(path) + SS_HEADER;
}

uint64_t odbk_crypt_stored_size(const char *path, uint64_t plain)
{
    uint64_t chunks = plain ? (plain + ODBK_CRYPT_CHUNK - 1) / ODBK_CRYPT_CHUNK : 1;
    return header_size(path) + plain + chunks * SS_ABYTES;
}

int odbk_crypt_plain_size(const char *path, uint64_t stored, uint64_t *plain)
{
    uint64_t h = header_size(path), d, chunks;
    if (stored < h + SS_ABYTES)
        return -1;
    d = stored - h;
    chunks = (d + CCHUNK - 1) / CCHUNK;
    *plain = d - chunks * SS_ABYTES;
    return odbk_crypt_stored_size(path, *plain) == stored ? 0 : -1;
}

/* ---- encrypting ---- */

static void put_be(unsigned char *p, uint64_t v, int n)
{
    int i;
    for (i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

static uint64_t get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    int i;
    for (i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Move what fits of *p (*len bytes) into buf (holding *n of cap), advancing both. */
static void fill(unsigned char *buf, size_t *n, size_t cap, const unsigned char **p, size_t *len)
{
    size_t k = cap - *n < *len ? cap - *n : *len;
    memcpy(buf + *n, *p, k);
    *n += k;
    *p += k;
    *len -= k;
}

struct enc {
    struct odbk_writer w;
    struct odbk_writer *sink;
    struct odbk_keyring *kr;
    char *path;
    int started;
    crypto_secretstream_xchacha20poly1305_state ss;
    unsigned char *ad;                /* the header up to the path: every chunk's additional data */
    size_t adlen;
    unsigned char in[ODBK_CRYPT_CHUNK];
    size_t n;
    unsigned char out[CCHUNK];
};

static int enc_start(struct enc *e, struct odbk_err *err)
{
    unsigned char key[KEYBYTES], ssh[SS_HEADER];
    const struct derived *d;
    size_t plen = strlen(e->path);
    int r;
    pthread_mutex_lock(&e->kr->mu);
    d = e->kr->n_pass ? derive(e->kr, 0, e->kr->ops, e->kr->mem, odbk_salt, err) : NULL;
    if (!e->kr->n_pass)
        odbk_err_set(err, ODBK_E_CONFIG, "no passphrase to encrypt '%s' with", e->path);
    if (d) {
        memcpy(key, d->key, KEYBYTES);
        e->adlen = FIXED + plen;
        e->ad = odbk_xmalloc(e->adlen);
        memcpy(e->ad, MAGIC, 8);
        e->ad[8] = 1;
        e->ad[9] = 1;
        put_be(e->ad + 10, d->ops, 4);
        put_be(e->ad + 14, d->mem >> 10, 4);
        memcpy(e->ad + 18, d->salt, SALTBYTES);
        memcpy(e->ad + 18 + SALTBYTES, d->id, IDBYTES);
        put_be(e->ad + 18 + SALTBYTES + IDBYTES, plen, 2);
        memcpy(e->ad + FIXED, e->path, plen);
    }
    pthread_mutex_unlock(&e->kr->mu);
    if (!d)
        return -1;
    crypto_secretstream_xchacha20poly1305_init_push(&e->ss, ssh, key);
    sodium_memzero(key, sizeof(key));
    e->started = 1;
    r = odbk_writer_write(e->sink, e->ad, e->adlen, err);
    if (r == 0)
        r = odbk_writer_write(e->sink, ssh, sizeof(ssh), err);
    return r;
}

static int enc_chunk(struct enc *e, unsigned char tag, struct odbk_err *err)
{
    unsigned long long clen;
    crypto_secretstream_xchacha20poly1305_push(&e->ss, e->out, &clen, e->in, e->n, e->ad, e->adlen, tag);
    e->n = 0;
    return odbk_writer_write(e->sink, e->out, (size_t)clen, err);
}

static int enc_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct enc *e = (struct enc *)w;
    const unsigned char *p = buf;
    if (!e->started && enc_start(e, err) < 0)
        return -1;
    while (len) {
        if (e->n == ODBK_CRYPT_CHUNK && enc_chunk(e, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE, err) < 0)
            return -1;   /* a full chunk goes once more follows: the last one is tagged FINAL at finish */
        fill(e->in, &e->n, ODBK_CRYPT_CHUNK, &p, &len);
    }
    return 0;
}

static int enc_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct enc *e = (struct enc *)w;
    if (!e->started && enc_start(e, err) < 0)
        return -1;
    if (enc_chunk(e, crypto_secretstream_xchacha20poly1305_TAG_FINAL, err) < 0)
        return -1;
    return odbk_writer_finish(e->sink, err);
}

static void enc_abort(struct odbk_writer *w)
{
    odbk_writer_abort(((struct enc *)w)->sink);
}

static void enc_free(struct odbk_writer *w)
{
    struct enc *e = (struct enc *)w;
    odbk_writer_free(e->sink);
    free(e->path);
    free(e->ad);
    sodium_memzero(e, sizeof(*e));
    free(e);
}

static const struct odbk_writer_ops enc_ops = {"encrypt", enc_write, enc_finish, enc_abort, enc_free};

struct odbk_writer *odbk_crypt_encrypt_new(struct odbk_keyring *kr, const char *path, struct odbk_writer *sink)
{
    struct enc *e = odbk_xcalloc(1, sizeof(*e));
    odbk_writer_init(&e->w, &enc_ops, NULL);
    e->sink = sink;
    e->kr = kr;
    e->path = odbk_xstrdup(path);
    return &e->w;
}

/* ---- decrypting ---- */

struct dec {
    struct odbk_writer w;
    struct odbk_writer *dst;
    struct odbk_keyring *kr;
    char *path, *what, *found;        /* expected path (or NULL), the name in messages, the header's path */
    int phase;                        /* 0 fixed header, 1 path, 2 stream header, 3 chunks, 4 ended */
    size_t need;                      /* bytes phase 0-2 waits for in hdr */
    unsigned char hdr[FIXED + MAX_PATH + SS_HEADER];
    size_t hn;
    crypto_secretstream_xchacha20poly1305_state ss;
    unsigned char in[CCHUNK];
    size_t n;
    unsigned char out[ODBK_CRYPT_CHUNK];
    uint64_t chunks;
};

static int dec_bad(struct dec *d, struct odbk_err *err, const char *why)
{
    odbk_err_set(err, ODBK_E_DATA, "'%s' is damaged or was tampered with: %s", d->what, why);
    odbk_err_hint(err, "the file is not the one odbk wrote: use another copy of it, or another backup");
    return -1;
}

/* The fixed header is in: check it. */
static int dec_fixed(struct dec *d, struct odbk_err *err)
{
    if (memcmp(d->hdr, MAGIC, 8)) {
        odbk_err_set(err, ODBK_E_DATA, "'%s' is not an odbk encrypted file (no %s header)", d->what, MAGIC);
        odbk_err_hint(err, "an encrypted storage holds only encrypted files: a plain file in its place was "
                      "not written by odbk with this storage's encryption");
        return -1;
    }
    if (d->hdr[8] != 1 || d->hdr[9] != 1)
        return dec_bad(d, err, "unknown cipher or key derivation");
    {
        uint64_t ops = get_be(d->hdr + 10, 4), mem = get_be(d->hdr + 14, 4);
        if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > MAX_OPS || mem < (crypto_pwhash_MEMLIMIT_MIN >> 10)
            || mem > MAX_MEM_KIB)
            return dec_bad(d, err, "key derivation figures out of range");
    }
    d->need = FIXED + get_be(d->hdr + 18 + SALTBYTES + IDBYTES, 2);
    if (d->need == FIXED || d->need > FIXED + MAX_PATH)
        return dec_bad(d, err, "no path, or a path too long, in its header");
    return 0;
}

static int dec_path(struct dec *d, struct odbk_err *err)
{
    size_t plen = d->need - FIXED;
    d->found = odbk_xstrndup((const char *)d->hdr + FIXED, plen);
    if (strlen(d->found) != plen)
        return dec_bad(d, err, "a NUL in the path of its header");
    if (d->path && strcmp(d->path, d->found)) {
        odbk_err_set(err, ODBK_E_DATA, "'%s' is the encrypted file '%s', not this one: it was swapped", d->what,
                     d->found);
        odbk_err_hint(err, "the file is not the one odbk wrote: use another copy of it, or another backup");
        return -1;
    }
    d->need += SS_HEADER;
    return 0;
}

static int dec_stream(struct dec *d, struct odbk_err *err)
{
    unsigned char key[KEYBYTES];
    size_t adlen = d->need - SS_HEADER;
    int r;
    if (find_key(d->kr, get_be(d->hdr + 10, 4), (size_t)get_be(d->hdr + 14, 4) << 10, d->hdr + 18,
                 d->hdr + 18 + SALTBYTES, key, d->what, err) < 0)
        return -1;
    r = crypto_secretstream_xchacha20poly1305_init_pull(&d->ss, d->hdr + adlen, key);
    sodium_memzero(key, sizeof(key));
    if (r != 0)
        return dec_bad(d, err, "bad stream header");
    return 0;
}

static int dec_chunk(struct dec *d, int last, struct odbk_err *err)
{
    unsigned long long mlen;
    unsigned char tag;
    char why[96];
    size_t adlen = d->need - SS_HEADER;
    if (d->n < SS_ABYTES)
        return dec_bad(d, err, "cut short");
    if (crypto_secretstream_xchacha20poly1305_pull(&d->ss, d->out, &mlen, &tag, d->in, d->n, d->hdr, adlen) != 0) {
        snprintf(why, sizeof(why), "chunk %llu does not authenticate", (unsigned long long)d->chunks + 1);
        return dec_bad(d, err, why);
    }
    d->chunks++;
    d->n = 0;
    if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL && !last)
        return dec_bad(d, err, "bytes after its last chunk");
    if (tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL && last)
        return dec_bad(d, err, "cut short (no final chunk)");
    return mlen ? odbk_writer_write(d->dst, d->out, (size_t)mlen, err) : 0;
}

static int dec_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct dec *d = (struct dec *)w;
    const unsigned char *p = buf;
    while (len) {
        if (d->phase < 3) {
            fill(d->hdr, &d->hn, d->need, &p, &len);
            if (d->hn < d->need)
                continue;
            if ((d->phase == 0 ? dec_fixed(d, err) : d->phase == 1 ? dec_path(d, err) : dec_stream(d, err)) < 0)
                return -1;
            d->phase++;
            continue;
        }
        if (d->n == CCHUNK && dec_chunk(d, 0, err) < 0)
            return -1;
        fill(d->in, &d->n, CCHUNK, &p, &len);
    }
    return 0;
}

static int dec_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct dec *d = (struct dec *)w;
    if (d->phase < 3)
        return d->phase == 0 && d->hn == 0 ? dec_bad(d, err, "empty") : dec_bad(d, err, "cut short in its header");
    return dec_chunk(d, 1, err);
}

static void dec_free(struct odbk_writer *w)
{
    struct dec *d = (struct dec *)w;
    free(d->path);
    free(d->what);
    free(d->found);
    sodium_memzero(d, sizeof(*d));
    free(d);
}

static const struct odbk_writer_ops dec_ops = {"decrypt", dec_write, dec_finish, NULL, dec_free};

struct odbk_writer *odbk_crypt_decrypt_new(struct odbk_keyring *kr, const char *path, const char *what,
                                           struct odbk_writer *dst)
{
    struct dec *d = odbk_xcalloc(1, sizeof(*d));
    odbk_writer_init(&d->w, &dec_ops, NULL);
    d->dst = dst;
    d->kr = kr;
    d->path = path ? odbk_xstrdup(path) : NULL;
    d->what = odbk_xstrdup(what);
    d->need = FIXED;
    return &d->w;
}

const char *odbk_crypt_decrypt_path(const struct odbk_writer *w)
{
    return ((const struct dec *)w)->found;
}
