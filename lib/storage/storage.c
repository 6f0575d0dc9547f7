/* storage.c - the driver-independent part of storage: lookup by type, config validation, and helpers
 * built on the driver table (put/get of small objects, removal of a prefix). */
#include "storage/storage.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "io/crypt.h"

extern const struct odbk_storage_driver *const odbk_storage_drivers[];

static const struct odbk_storage_driver *driver_for(const struct odbk_config_section *sec,
                                                    struct odbk_err *err)
{
    const struct odbk_config_kv *kv = odbk_config_get_kv(sec, "type");
    const char *types[16];
    size_t i, n = 0;
    if (!kv)
        return odbk_config_error(err, sec, NULL, "has no 'type' (local, s3, sftp or ftp)"), NULL;
    for (i = 0; odbk_storage_drivers[i]; i++) {
        if (!strcmp(odbk_storage_drivers[i]->type, kv->value))
            return odbk_storage_drivers[i];
        if (n < 15)
            types[n++] = odbk_storage_drivers[i]->type;
    }
    types[n] = NULL;
    {
        const char *dym = odbk_did_you_mean(kv->value, types);
        odbk_config_error(err, sec, kv, "unknown storage type '%s'%s%s%s", kv->value, dym ? " (did you mean '" : "",
                          dym ? dym : "", dym ? "'?)" : "");
    }
    return NULL;
}

static int check_keys(const struct odbk_storage_driver *d, const struct odbk_config_section *sec,
                      struct odbk_err *err)
{
    const char *keys[64];
    size_t n = 0, i;
    keys[n++] = "type";
    keys[n++] = "encryption";
    keys[n++] = "passphrase-file";
    keys[n++] = "old-passphrase-files";
    for (i = 0; d->keys && d->keys[i] && n < 63; i++)
        keys[n++] = d->keys[i];
    keys[n] = NULL;
    return odbk_config_check_keys(sec, keys, err);
}

int odbk_storage_check(const struct odbk_config_section *sec, struct odbk_err *err)
{
    const struct odbk_storage_driver *d = driver_for(sec, err);
    struct odbk_storage st = {0};
    if (!d || check_keys(d, sec, err) < 0)
        return -1;
    if (odbk_storage_keyring(sec, &st.keys, err) < 0) {
        odbk_keyring_free(st.keys);
        return -1;
    }
    odbk_keyring_free(st.keys);
    st.keys = NULL;
    st.driver = d;
    st.name = sec->name;
    if (d->open(&st, sec, err) < 0)
        return -1;
    d->close(&st);
    return 0;
}

/* Add the passphrase in the file path (named in the config by kv) to kr; an error keeps its kind (77 for
 * a file others may read) and its hint, and names the config line. */
static int add_passphrase(struct odbk_keyring *kr, const struct odbk_config_section *sec,
                          const struct odbk_config_kv *kv, const char *path, struct odbk_err *err)
{
    char *text = NULL;
    size_t len = 0;
    int r = odbk_config_check_private(path, "passphrase file", err);
    if (r == 0 && (r = odbk_read_small_file_len(path, 4096, &text, &len, err)) < 0)
        err->code = ODBK_E_CONFIG;
    if (r == 0) {
        while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
            len--;   /* the line end an editor leaves is not part of the passphrase */
        r = odbk_keyring_add(kr, text, len, path, err);
        odbk_crypt_wipe(text, len);
    }
    free(text);
    if (r < 0)
        odbk_err_prefix(err, "%s:%d: [%s %s] %s", sec->file ? sec->file : "config", kv->line, sec->kind,
                        sec->name ? sec->name : "", kv->key);
    return r;
}

int odbk_storage_keyring(const struct odbk_config_section *sec, struct odbk_keyring **kr, struct odbk_err *err)
{
    const struct odbk_config_kv *kv = odbk_config_get_kv(sec, "encryption");
    const struct odbk_config_kv *pf = odbk_config_get_kv(sec, "passphrase-file");
    const struct odbk_config_kv *old = odbk_config_get_kv(sec, "old-passphrase-files");
    if (!kv || !strcmp(kv->value, "none")) {
        if (pf || old)
            return odbk_config_error(err, sec, pf ? pf : old, "is set but 'encryption' is not 'passphrase'");
        return 0;
    }
    if (strcmp(kv->value, "passphrase"))
        return odbk_config_error(err, sec, kv, "unknown encryption '%s' (none or passphrase)", kv->value);
    if (!pf || !*pf->value)
        return odbk_config_error(err, sec, kv, "needs 'passphrase-file = PATH' (a file of mode 600)");
    if (!*kr && !(*kr = odbk_keyring_new(0, 0)))
        return odbk_err_set(err, ODBK_E_SOFTWARE, "libsodium cannot start");
    if (add_passphrase(*kr, sec, pf, pf->value, err) < 0)
        return -1;
    if (old) {   /* comma-separated: the passphrases of older backups, for reading only */
        char *list = odbk_xstrdup(old->value), *save = NULL, *tok;
        int r = 0;
        for (tok = strtok_r(list, ",", &save); tok && r == 0; tok = strtok_r(NULL, ",", &save)) {
            char *t = tok + strspn(tok, " \t"), *end = t + strlen(t);
            while (end > t && (end[-1] == ' ' || end[-1] == '\t'))
                *--end = '\0';
            if (*t)
                r = add_passphrase(*kr, sec, old, t, err);
        }
        free(list);
        if (r < 0)
            return -1;
    }
    return 0;
}

int odbk_storage_encrypted(const struct odbk_storage *st)
{
    return st->keys != NULL;
}

int odbk_storage_key_id(struct odbk_storage *st, char id[17], struct odbk_err *err)
{
    *id = '\0';
    return st->keys ? odbk_keyring_write_id(st->keys, id, err) : 0;
}

/* Is the object at path encrypted?  Everything of an encrypted storage but its marker. */
static int crypted(const struct odbk_storage *st, const char *path)
{
    return st->keys && strcmp(path, ODBK_STORAGE_MARKER);
}

int odbk_storage_open(const struct odbk_config *cfg, const char *name, struct odbk_storage **out,
                      struct odbk_err *err)
{
    const struct odbk_config_section *sec = odbk_config_find(cfg, "storage", name);
    const struct odbk_storage_driver *d;
    struct odbk_storage *st;
    *out = NULL;
    if (!sec) {
        odbk_err_set(err, ODBK_E_CONFIG, "unknown storage '%s'", name);
        odbk_err_hint(err, "add a [storage %s] section to %s", name, cfg->path ? cfg->path : "the config file");
        return -1;
    }
    d = driver_for(sec, err);
    if (!d || check_keys(d, sec, err) < 0)
        return -1;
    st = odbk_xcalloc(1, sizeof(*st));
    st->driver = d;
    st->name = odbk_xstrdup(name);
    if (odbk_storage_keyring(sec, &st->keys, err) < 0 || d->open(st, sec, err) < 0) {
        odbk_keyring_free(st->keys);
        free(st->name);
        free(st);
        return -1;
    }
    *out = st;
    return 0;
}

void odbk_storage_close(struct odbk_storage *st)
{
    if (!st)
        return;
    st->driver->close(st);
    odbk_keyring_free(st->keys);
    free(st->name);
    free(st);
}

int odbk_storage_has(const struct odbk_storage *st, unsigned feature)
{
    return (st->driver->features & feature) == feature;
}

int odbk_storage_open_write(struct odbk_storage *st, const char *path, uint64_t size_hint,
                            struct odbk_writer **out, struct odbk_err *err)
{
    if (!crypted(st, path))
        return st->driver->open_write(st, path, size_hint, out, err);
    if (st->driver->open_write(st, path, size_hint ? odbk_crypt_stored_size(path, size_hint) : 0, out, err) < 0)
        return -1;
    *out = odbk_crypt_encrypt_new(st->keys, path, *out);
    return 0;
}

int odbk_storage_read(struct odbk_storage *st, const char *path, struct odbk_writer *dst, struct odbk_err *err)
{
    struct odbk_writer *d;
    int r;
    if (!crypted(st, path))
        return st->driver->read(st, path, dst, err);
    d = odbk_crypt_decrypt_new(st->keys, path, path, dst);
    r = st->driver->read(st, path, d, err);
    if (r == 0)
        r = odbk_writer_finish(d, err);   /* the last chunk: a file cut short fails here */
    odbk_writer_free(d);
    return r;
}

/* An encrypted object's size as its plaintext's (what manifests record); one that cannot be an
 * encrypted file's keeps its own, and its read says what is wrong. */
static void plain_size(const struct odbk_storage *st, const char *path, uint64_t *size)
{
    uint64_t plain;
    if (crypted(st, path) && odbk_crypt_plain_size(path, *size, &plain) == 0)
        *size = plain;
}

int odbk_storage_stat(struct odbk_storage *st, const char *path, struct odbk_storage_entry *out,
                      struct odbk_err *err)
{
    int r = st->driver->stat(st, path, out, err);
    if (r == 0)
        plain_size(st, path, &out->size);
    return r;
}

struct plain_list {
    const struct odbk_storage *st;
    odbk_storage_list_cb cb;
    void *ctx;
};

static int plain_list_cb(void *ctx, const struct odbk_storage_entry *e)
{
    struct plain_list *pl = ctx;
    struct odbk_storage_entry copy = *e;
    plain_size(pl->st, e->path, &copy.size);
    return pl->cb(pl->ctx, &copy);
}

int odbk_storage_list(struct odbk_storage *st, const char *prefix, odbk_storage_list_cb cb, void *ctx,
                      struct odbk_err *err)
{
    struct plain_list pl = {st, cb, ctx};
    if (!st->keys)
        return st->driver->list(st, prefix, cb, ctx, err);
    return st->driver->list(st, prefix, plain_list_cb, &pl, err);
}

int odbk_storage_remove(struct odbk_storage *st, const char *path, struct odbk_err *err)
{
    return st->driver->remove(st, path, err);
}

int odbk_storage_presign(struct odbk_storage *st, const char *path, long seconds, char **url,
                         struct odbk_err *err)
{
    if (!st->driver->presign || !odbk_storage_has(st, ODBK_STORAGE_F_PRESIGN)) {
        odbk_err_set(err, ODBK_E_USAGE, "storage '%s' (type %s) cannot make download links", st->name,
                     st->driver->type);
        odbk_err_hint(err, "only S3 storage makes expiring links; use --output DIR to fetch the files instead");
        return -1;
    }
    return st->driver->presign(st, path, seconds, url, err);
}

int odbk_storage_sweep(struct odbk_storage *st, const char *prefix, time_t older_than, int *n,
                       struct odbk_err *err)
{
    *n = 0;
    return st->driver->sweep ? st->driver->sweep(st, prefix, older_than, n, err) : 0;
}

int odbk_storage_put(struct odbk_storage *st, const char *path, const void *buf, size_t len,
                     struct odbk_err *err)
{
    struct odbk_writer *w;
    int r;
    if (odbk_storage_open_write(st, path, len, &w, err) < 0)
        return -1;
    r = odbk_writer_write(w, buf, len, err);
    if (r == 0)
        r = odbk_writer_finish(w, err);
    odbk_writer_free(w);
    return r;
}

int odbk_storage_get(struct odbk_storage *st, const char *path, size_t max, char **out, size_t *len,
                     struct odbk_err *err)
{
    struct odbk_writer *b = odbk_sink_buffer_new(max);
    size_t n;
    const char *d;
    int r = odbk_storage_read(st, path, b, err);
    if (r == 0)
        r = odbk_writer_finish(b, err);
    if (r == 0) {
        d = odbk_sink_buffer_data(b, &n);
        *out = odbk_xmalloc(n + 1);
        memcpy(*out, d, n);
        (*out)[n] = '\0';
        if (len)
            *len = n;
    }
    odbk_writer_free(b);
    return r;
}

struct collect {
    char **paths;
    size_t n;
};

static int collect_cb(void *ctx, const struct odbk_storage_entry *e)
{
    struct collect *c = ctx;
    c->paths = odbk_xrealloc(c->paths, (c->n + 1) * sizeof(char *));
    c->paths[c->n++] = odbk_xstrdup(e->path);
    return 0;
}

int odbk_storage_remove_prefix(struct odbk_storage *st, const char *prefix, struct odbk_err *err)
{
    struct collect c = {0};
    size_t i;
    int r = odbk_storage_list(st, prefix, collect_cb, &c, err);
    for (i = 0; i < c.n; i++) {
        if (r == 0)
            r = odbk_storage_remove(st, c.paths[i], err);
        free(c.paths[i]);
    }
    free(c.paths);
    return r;
}

char *odbk_storage_temp_name(const char *final)
{
    static unsigned counter;
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    unsigned n;
    pthread_mutex_lock(&mu);
    n = ++counter;
    pthread_mutex_unlock(&mu);
    return odbk_xasprintf("%s.odbk-tmp-%ld-%u", final, (long)getpid(), n);
}

char *odbk_storage_join(const char *base, const char *key)
{
    size_t bl;
    if (!base || !*base)
        return odbk_xstrdup(key ? key : "");
    if (!key || !*key)
        return odbk_xstrdup(base);
    while (*key == '/')
        key++;
    bl = strlen(base);
    while (bl > 1 && base[bl - 1] == '/')
        bl--;
    return odbk_xasprintf("%.*s/%s", (int)bl, base, key);
}

int odbk_storage_entry_name_ok(const char *name)
{
    return *name && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/');
}
