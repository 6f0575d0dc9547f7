/* crypt.c - encrypted stored files (crypt.h): the header, the secretstream chunks, the keyring. */
#include "io/crypt.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
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

#define KDF_OLD 1      /* header kdf 1: the key is Argon2id(passphrase, the header's salt): read only */
#define KDF_MASTER 2   /* header kdf 2: the key is a storage's master key, named by the header's key id */
#define KO_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define KO_SEALED (KEYBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define KO_AD "odbk-key-v1"   /* the additional data of a key object's sealed master key */

/* ---- the keyring ---- */

struct derived {
    size_t pass;                      /* which passphrase */
    unsigned long long ops;
    size_t mem;
    unsigned char salt[SALTBYTES];
    unsigned char *key;               /* sodium_malloc'd */
    unsigned char id[IDBYTES];
};

struct master {
    size_t pass;                      /* the passphrase that opened it */
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
    struct master *masters;
    size_t n_masters;
    int loaded;                       /* a storage's key objects are in (odbk_keyring_set_loaded) */
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
    for (i = 0; i < kr->n_masters; i++)
        sodium_free(kr->masters[i].key);
    free(kr->masters);
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

/* The key-encryption key of passphrase i under (ops, mem, salt) into kek (KEYBYTES, locked). */
static int kek_of(const struct odbk_keyring *kr, size_t i, unsigned long long ops, size_t mem,
                  const unsigned char *salt, unsigned char *kek, struct odbk_err *err)
{
    if (crypto_pwhash(kek, KEYBYTES, kr->pass[i].text, kr->pass[i].len, salt, ops, mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return odbk_err_set(err, ODBK_E_OSERR, "cannot derive the key of passphrase %s: Argon2id needs %zu MiB "
                            "of memory", kr->pass[i].what, mem >> 20);
    return 0;
}

/* The old scheme's key of passphrase i under (ops, mem, salt), derived once (kr->mu held). */
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
    if (kek_of(kr, i, ops, mem, salt, d->key, err) < 0) {
        sodium_free(d->key);
        return NULL;
    }
    d->pass = i;
    d->ops = ops;
    d->mem = mem;
    memcpy(d->salt, salt, SALTBYTES);
    key_id(d->key, d->id);
    kr->n_keys++;
    return d;
}

/* The master key of id (kr->mu held), or NULL. */
static const struct master *master_of(const struct odbk_keyring *kr, const unsigned char *id)
{
    size_t i;
    for (i = 0; i < kr->n_masters; i++)
        if (!sodium_memcmp(kr->masters[i].id, id, IDBYTES))
            return &kr->masters[i];
    return NULL;
}

/* The master key new files are written with: the first the first passphrase opened (kr->mu held). */
static const struct master *write_master(const struct odbk_keyring *kr)
{
    size_t i;
    for (i = 0; i < kr->n_masters; i++)
        if (kr->masters[i].pass == 0)
            return &kr->masters[i];
    return NULL;
}

int odbk_keyring_write_id(struct odbk_keyring *kr, char id[ODBK_CRYPT_KEYID_HEX], struct odbk_err *err)
{
    const struct master *m;
    pthread_mutex_lock(&kr->mu);
    m = write_master(kr);
    if (m)
        id_hex(m->id, id);
    pthread_mutex_unlock(&kr->mu);
    if (!m)
        return odbk_err_set(err, ODBK_E_SOFTWARE, "no key object opens with passphrase %s",
                            kr->n_pass ? kr->pass[0].what : "(none)");
    return 0;
}

int odbk_keyring_has_write_key(struct odbk_keyring *kr)
{
    int r;
    pthread_mutex_lock(&kr->mu);
    r = write_master(kr) != NULL;
    pthread_mutex_unlock(&kr->mu);
    return r;
}

int odbk_keyring_loaded(struct odbk_keyring *kr)
{
    int r;
    pthread_mutex_lock(&kr->mu);
    r = kr->loaded;
    pthread_mutex_unlock(&kr->mu);
    return r;
}

void odbk_keyring_set_loaded(struct odbk_keyring *kr)
{
    pthread_mutex_lock(&kr->mu);
    kr->loaded = 1;
    pthread_mutex_unlock(&kr->mu);
}

/* Add a master key (copied) opened by passphrase pass, unless it is in (kr->mu held). */
static int add_master(struct odbk_keyring *kr, size_t pass, const unsigned char *key, const unsigned char *id,
                      struct odbk_err *err)
{
    struct master *m;
    if (master_of(kr, id))
        return 0;
    kr->masters = odbk_xrealloc(kr->masters, (kr->n_masters + 1) * sizeof(*kr->masters));
    m = &kr->masters[kr->n_masters];
    m->key = sodium_malloc(KEYBYTES);
    if (!m->key)
        return odbk_err_set(err, ODBK_E_OSERR, "cannot allocate locked memory for a key");
    memcpy(m->key, key, KEYBYTES);
    memcpy(m->id, id, IDBYTES);
    m->pass = pass;
    kr->n_masters++;
    return 0;
}

static void json_hex(cJSON *o, const char *name, const unsigned char *bin, size_t len)
{
    char hex[2 * KO_SEALED + 1];
    sodium_bin2hex(hex, sizeof(hex), bin, len);
    cJSON_AddStringToObject(o, name, hex);
}

int odbk_keyring_new_key(struct odbk_keyring *kr, char **json, char id[ODBK_CRYPT_KEYID_HEX], struct odbk_err *err)
{
    unsigned char *master = NULL, *kek = NULL, salt[SALTBYTES], nonce[KO_NONCE], sealed[KO_SEALED], mid[IDBYTES];
    unsigned long long slen;
    cJSON *o;
    int r = -1;
    *json = NULL;
    if (!kr->n_pass)
        return odbk_err_set(err, ODBK_E_CONFIG, "no passphrase to make a key with");
    master = sodium_malloc(KEYBYTES);
    kek = sodium_malloc(KEYBYTES);
    if (!master || !kek) {
        odbk_err_set(err, ODBK_E_OSERR, "cannot allocate locked memory for a key");
        goto out;
    }
    crypto_secretstream_xchacha20poly1305_keygen(master);
    randombytes_buf(salt, sizeof(salt));
    randombytes_buf(nonce, sizeof(nonce));
    if (kek_of(kr, 0, kr->ops, kr->mem, salt, kek, err) < 0)
        goto out;
    crypto_aead_xchacha20poly1305_ietf_encrypt(sealed, &slen, master, KEYBYTES, (const unsigned char *)KO_AD,
                                               sizeof(KO_AD) - 1, NULL, nonce, kek);
    key_id(master, mid);
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddStringToObject(o, "kdf", "argon2id13");
    cJSON_AddNumberToObject(o, "opslimit", (double)kr->ops);
    cJSON_AddNumberToObject(o, "memlimit", (double)kr->mem);
    json_hex(o, "salt", salt, sizeof(salt));
    json_hex(o, "nonce", nonce, sizeof(nonce));
    json_hex(o, "sealed", sealed, sizeof(sealed));
    json_hex(o, "id", mid, sizeof(mid));
    *json = cJSON_Print(o);
    cJSON_Delete(o);
    pthread_mutex_lock(&kr->mu);
    r = add_master(kr, 0, master, mid, err);
    pthread_mutex_unlock(&kr->mu);
    if (r == 0)
        id_hex(mid, id);
out:
    sodium_free(master);
    sodium_free(kek);
    return r;
}

static int ko_bad(const char *what, const char *why, struct odbk_err *err)
{
    odbk_err_set(err, ODBK_E_DATA, "key object '%s' is damaged or was tampered with: %s", what, why);
    odbk_err_hint(err, "restore it from a copy of the storage, or remove it if no backup names its key id");
    return -1;
}

/* The hex string field name of o as exactly len bytes into bin. */
static int ko_hex(const cJSON *o, const char *name, unsigned char *bin, size_t len)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
    size_t n = 0;
    if (!cJSON_IsString(f) || strlen(f->valuestring) != 2 * len)
        return -1;
    return sodium_hex2bin(bin, len, f->valuestring, 2 * len, NULL, &n, NULL) == 0 && n == len ? 0 : -1;
}

int odbk_keyring_load_key(struct odbk_keyring *kr, const char *json, size_t len, const char *what,
                          struct odbk_err *err)
{
    unsigned char salt[SALTBYTES], nonce[KO_NONCE], sealed[KO_SEALED], id[IDBYTES], check[IDBYTES];
    unsigned char *master = NULL, *kek = NULL;
    const cJSON *ver, *kdf, *ops, *mem;
    cJSON *o = cJSON_ParseWithLength(json, len);
    size_t i;
    int r = 1;
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return ko_bad(what, "not a JSON object", err);
    }
    ver = cJSON_GetObjectItemCaseSensitive(o, "version");
    kdf = cJSON_GetObjectItemCaseSensitive(o, "kdf");
    ops = cJSON_GetObjectItemCaseSensitive(o, "opslimit");
    mem = cJSON_GetObjectItemCaseSensitive(o, "memlimit");
    if (!cJSON_IsNumber(ver) || ver->valuedouble != 1 || !cJSON_IsString(kdf) || strcmp(kdf->valuestring, "argon2id13")) {
        r = ko_bad(what, "not version 1 with kdf argon2id13", err);
    } else if (!cJSON_IsNumber(ops) || !cJSON_IsNumber(mem) || ops->valuedouble < crypto_pwhash_OPSLIMIT_MIN
               || ops->valuedouble > (double)MAX_OPS || mem->valuedouble < crypto_pwhash_MEMLIMIT_MIN
               || mem->valuedouble > (double)MAX_MEM_KIB * 1024 || ops->valuedouble != (double)(uint64_t)ops->valuedouble
               || mem->valuedouble != (double)(uint64_t)mem->valuedouble) {
        r = ko_bad(what, "key derivation figures out of range", err);
    } else if (ko_hex(o, "salt", salt, sizeof(salt)) < 0 || ko_hex(o, "nonce", nonce, sizeof(nonce)) < 0
               || ko_hex(o, "sealed", sealed, sizeof(sealed)) < 0 || ko_hex(o, "id", id, sizeof(id)) < 0) {
        r = ko_bad(what, "a salt, nonce, sealed key or id that is not hex of its length", err);
    }
    if (r < 0)
        goto out;
    pthread_mutex_lock(&kr->mu);
    r = master_of(kr, id) ? 0 : 1;
    pthread_mutex_unlock(&kr->mu);
    master = sodium_malloc(KEYBYTES);
    kek = sodium_malloc(KEYBYTES);
    if (!master || !kek) {
        r = odbk_err_set(err, ODBK_E_OSERR, "cannot allocate locked memory for a key");
        goto out;
    }
    for (i = 0; r == 1 && i < kr->n_pass; i++) {
        if (kek_of(kr, i, (unsigned long long)ops->valuedouble, (size_t)mem->valuedouble, salt, kek, err) < 0) {
            r = -1;
            break;
        }
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(master, NULL, NULL, sealed, sizeof(sealed),
                                                       (const unsigned char *)KO_AD, sizeof(KO_AD) - 1, nonce,
                                                       kek) != 0)
            continue;   /* not this passphrase's (or tampered with: indistinguishable without it) */
        key_id(master, check);
        if (sodium_memcmp(check, id, IDBYTES)) {
            r = ko_bad(what, "its key does not match its key id", err);
            break;
        }
        pthread_mutex_lock(&kr->mu);
        r = add_master(kr, i, master, id, err);
        pthread_mutex_unlock(&kr->mu);
    }
out:
    cJSON_Delete(o);
    sodium_free(master);
    sodium_free(kek);
    return r;
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

/* Copy the master key of id into key; what names the file. */
static int find_master(struct odbk_keyring *kr, const unsigned char *id, unsigned char *key, const char *what,
                       struct odbk_err *err)
{
    char hex[ODBK_CRYPT_KEYID_HEX], have[8 * ODBK_CRYPT_KEYID_HEX + 8] = "";
    const struct master *m;
    size_t i;
    pthread_mutex_lock(&kr->mu);
    if ((m = master_of(kr, id)))
        memcpy(key, m->key, KEYBYTES);
    for (i = 0; !m && i < kr->n_masters && i < 8; i++) {
        id_hex(kr->masters[i].id, hex);
        snprintf(have + strlen(have), sizeof(have) - strlen(have), "%s%s", i ? ", " : "", hex);
    }
    i = kr->n_masters;
    pthread_mutex_unlock(&kr->mu);
    if (m)
        return 0;
    id_hex(id, hex);
    odbk_err_set(err, ODBK_E_CONFIG, "'%s' was encrypted with key id %s; the configured passphrases open key "
                 "id%s %s", what, hex, i > 1 ? "s" : "", i ? have : "(none)");
    odbk_err_hint(err, "the storage's key object odbk-keys/%s.json opens with the passphrase that wrote it: add "
                  "that passphrase's file to the storage's 'old-passphrase-files'", hex);
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
    const struct master *d;
    size_t plen = strlen(e->path);
    int r;
    pthread_mutex_lock(&e->kr->mu);
    d = write_master(e->kr);
    if (!d)
        odbk_err_set(err, ODBK_E_SOFTWARE, "no key to encrypt '%s' with (no key object was loaded or made)",
                     e->path);
    if (d) {   /* kdf 2: opslimit, memlimit and salt stay zero, the key id names the master key */
        memcpy(key, d->key, KEYBYTES);
        e->adlen = FIXED + plen;
        e->ad = odbk_xcalloc(1, e->adlen);
        memcpy(e->ad, MAGIC, 8);
        e->ad[8] = 1;
        e->ad[9] = KDF_MASTER;
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
    if (d->hdr[8] != 1 || (d->hdr[9] != KDF_OLD && d->hdr[9] != KDF_MASTER))
        return dec_bad(d, err, "unknown cipher or key derivation");
    if (d->hdr[9] == KDF_OLD) {
        uint64_t ops = get_be(d->hdr + 10, 4), mem = get_be(d->hdr + 14, 4);
        if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > MAX_OPS || mem < (crypto_pwhash_MEMLIMIT_MIN >> 10)
            || mem > MAX_MEM_KIB)
            return dec_bad(d, err, "key derivation figures out of range");
    } else {
        static const unsigned char zero[8 + SALTBYTES];
        if (memcmp(d->hdr + 10, zero, sizeof(zero)))
            return dec_bad(d, err, "key derivation figures in a master-key header");
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
    if (d->hdr[9] == KDF_MASTER ? find_master(d->kr, d->hdr + 18 + SALTBYTES, key, d->what, err) < 0
        : find_key(d->kr, get_be(d->hdr + 10, 4), (size_t)get_be(d->hdr + 14, 4) << 10, d->hdr + 18,
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
