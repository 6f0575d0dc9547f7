/* storage.c - the driver-independent part of storage: lookup by type, config validation, the core of the
 * stores with directories (F_DIRS: recursive listing over the driver's one-directory listing, mkdir -p,
 * pruning of emptied directories, temporary-name-then-rename writes), and helpers built on the driver
 * table (put/get of small objects, removal of a prefix). */
#include "storage/storage.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/retry.h"
#include "common/util.h"
#include "common/vocab.h"
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
    keys[n++] = "verify";   /* every kind has it */
    keys[n++] = "encryption";
    keys[n++] = "passphrase-file";
    keys[n++] = "old-passphrase-files";
    for (i = 0; d->keys && d->keys[i] && n < 63; i++)
        keys[n++] = d->keys[i];
    keys[n] = NULL;
    return odbk_config_check_keys(sec, keys, err);
}

/* `verify = store | read | none` (default store). */
static int verify_mode(const struct odbk_config_section *sec, enum odbk_verify_mode *out, struct odbk_err *err)
{
    const struct odbk_config_kv *kv = odbk_config_get_kv(sec, "verify");
    int i;
    *out = ODBK_VERIFY_STORE;
    if (!kv)
        return 0;
    if ((i = odbk_vocab_find(&odbk_vocab_verify, kv->value)) < 0) {
        struct odbk_err e = {0};
        odbk_vocab_error(&odbk_vocab_verify, kv->value, ODBK_E_CONFIG, &e);
        odbk_config_error(err, sec, kv, "%s", e.msg);
        odbk_err_hint(err, "one of: store (the store confirms what it holds), read (read every file back), none");
        return -1;
    }
    *out = (enum odbk_verify_mode)(ODBK_VERIFY_STORE + i);
    return 0;
}

int odbk_storage_check(const struct odbk_config_section *sec, struct odbk_err *err)
{
    const struct odbk_storage_driver *d = driver_for(sec, err);
    struct odbk_storage st = {0};
    if (!d || check_keys(d, sec, err) < 0 || verify_mode(sec, &st.verify, err) < 0)
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

/* Is path a key object's (odbk-keys/...)? */
static int key_object(const char *path)
{
    return !strncmp(path, ODBK_STORAGE_KEYS "/", sizeof(ODBK_STORAGE_KEYS));
}

/* Is the object at path encrypted?  Everything of an encrypted storage but its marker and key objects. */
static int crypted(const struct odbk_storage *st, const char *path)
{
    return st->keys && strcmp(path, ODBK_STORAGE_MARKER) && !key_object(path);
}

static int raw_read(struct odbk_storage *st, const char *path, struct odbk_writer *dst, struct odbk_err *err);
static int raw_list(struct odbk_storage *st, const char *prefix, odbk_storage_list_cb cb, void *ctx,
                    struct odbk_err *err);

struct key_load {
    struct odbk_storage *st;
    struct odbk_keyring *kr;
    struct odbk_err *err;
};

static int key_load_cb(void *ctx, const struct odbk_storage_entry *e)
{
    struct key_load *kl = ctx;
    struct odbk_writer *b;
    const char *data;
    size_t n;
    int r;
    if (!key_object(e->path) || strlen(e->path) < 6 || strcmp(e->path + strlen(e->path) - 5, ".json"))
        return 0;   /* not a key object: a temporary name, or something not odbk's */
    b = odbk_sink_buffer_new(ODBK_STORAGE_KEY_MAX);
    r = raw_read(kl->st, e->path, b, kl->err);
    if (r == 0)
        r = odbk_writer_finish(b, kl->err);
    if (r == 0) {
        data = odbk_sink_buffer_data(b, &n);
        r = odbk_keyring_load_key(kl->kr, data, n, e->path, kl->err);
        if (r < 0)
            odbk_err_prefix(kl->err, "storage '%s'", kl->st->name);
    }
    odbk_writer_free(b);
    return r < 0 ? -1 : 0;
}

int odbk_storage_load_keys(struct odbk_storage *st, struct odbk_keyring *kr, struct odbk_err *err)
{
    struct key_load kl = {st, kr, err};
    return raw_list(st, ODBK_STORAGE_KEYS, key_load_cb, &kl, err);
}

static pthread_mutex_t keys_mu = PTHREAD_MUTEX_INITIALIZER;

/* The key objects of an encrypted storage, loaded once; for a write (want_write), a new key object when
 * none opens with the first passphrase (written plain, temporary name then rename, like the marker). */
static int storage_keys(struct odbk_storage *st, int want_write, struct odbk_err *err)
{
    char *json = NULL, *path, id[ODBK_CRYPT_KEYID_HEX];
    int r = 0;
    pthread_mutex_lock(&keys_mu);
    if (!odbk_keyring_loaded(st->keys)) {
        if ((r = odbk_storage_load_keys(st, st->keys, err)) == 0)
            odbk_keyring_set_loaded(st->keys);
    }
    if (r == 0 && want_write && !odbk_keyring_has_write_key(st->keys)) {
        if ((r = odbk_keyring_new_key(st->keys, &json, id, err)) == 0) {
            path = odbk_xasprintf("%s/%s.json", ODBK_STORAGE_KEYS, id);
            if ((r = odbk_storage_put(st, path, json, strlen(json), err)) < 0)
                odbk_err_prefix(err, "storage '%s': cannot write its key object %s", st->name, path);
            free(path);
        }
        free(json);
    }
    pthread_mutex_unlock(&keys_mu);
    return r;
}

int odbk_storage_key_id(struct odbk_storage *st, char id[17], struct odbk_err *err)
{
    *id = '\0';
    if (!st->keys)
        return 0;
    if (storage_keys(st, 1, err) < 0)
        return -1;
    return odbk_keyring_write_id(st->keys, id, err);
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
    if (verify_mode(sec, &st->verify, err) < 0 || odbk_storage_keyring(sec, &st->keys, err) < 0 ||
        d->open(st, sec, err) < 0) {
        odbk_keyring_free(st->keys);
        free(st->name);
        free(st);
        return -1;
    }
    *out = st;
    return 0;
}

struct odbk_storage *odbk_storage_new_bare(const struct odbk_storage_driver *d, const char *name, void *priv)
{
    struct odbk_storage *st = odbk_xcalloc(1, sizeof(*st));
    st->driver = d;
    st->name = odbk_xstrdup(name);
    st->priv = priv;
    st->bare = 1;
    return st;
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

/* ---- the core of the stores with directories (F_DIRS) ---- */

/* mkdir -p of the directory holding `file` (a driver path), one level at a time from the top. */
static int make_parents(struct odbk_storage *st, const char *file, struct odbk_err *err)
{
    char *dir = odbk_xstrdup(file), *p = strrchr(dir, '/');
    int r = 0;
    if (p && p != dir) {
        *p = '\0';
        for (p = dir + (dir[0] == '/'); r == 0; p++) {
            if (*p == '/' || *p == '\0') {
                char c = *p;
                *p = '\0';
                r = st->driver->mkdir(st, dir, err);
                *p = c;
                if (!c)
                    break;
            }
        }
    }
    free(dir);
    return r;
}

/* Remove the directories that removing `key` left empty, deepest first, up to (not including) the root. */
static void prune_empty_dirs(struct odbk_storage *st, const char *key)
{
    char *rel = odbk_xstrdup(key), *p;
    while ((p = strrchr(rel, '/')) && p != rel) {
        char *full;
        int r;
        *p = '\0';
        full = odbk_storage_join(st->root, rel);
        r = st->driver->rmdir(st, full);
        free(full);
        if (r != 0)
            break;
    }
    free(rel);
}

/* The writer of a store with directories: the driver's file at a temporary name, renamed over the final
 * name by finish(); an abort (or a free unfinished) stops the driver's writer and unlinks the temporary
 * file. */
struct dir_writer {
    struct odbk_writer w;
    struct odbk_storage *st;
    struct odbk_writer *file;   /* the driver's */
    char *key, *final;
    char *tmp;                  /* NULL once renamed or removed */
};

static int dw_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    return odbk_writer_write(((struct dir_writer *)w)->file, buf, len, err);
}

static int dw_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct dir_writer *dw = (struct dir_writer *)w;
    if (odbk_writer_finish(dw->file, err) < 0 || dw->st->driver->rename(dw->st, dw->tmp, dw->final, err) < 0)
        return -1;
    free(dw->tmp);
    dw->tmp = NULL;
    return 0;
}

static void dw_abort(struct odbk_writer *w)
{
    struct dir_writer *dw = (struct dir_writer *)w;
    struct odbk_err e2 = {0};
    odbk_writer_abort(dw->file);
    if (!dw->tmp)
        return;
    if (dw->st->driver->unlink(dw->st, dw->tmp, &e2) == 0)
        prune_empty_dirs(dw->st, dw->key);
    free(dw->tmp);
    dw->tmp = NULL;
}

static void dw_free(struct odbk_writer *w)
{
    struct dir_writer *dw = (struct dir_writer *)w;
    dw_abort(w);
    odbk_writer_free(dw->file);
    free(dw->key);
    free(dw->final);
    free(dw);
}

static const struct odbk_writer_ops dir_write_ops = {"storage file", dw_write, dw_finish, dw_abort, dw_free};

static int dir_open_write(struct odbk_storage *st, const char *path, uint64_t size_hint, struct odbk_writer **out,
                          struct odbk_err *err)
{
    struct dir_writer *dw;
    char *final = odbk_storage_join(st->root, path), *tmp;
    struct odbk_writer *file;
    if (make_parents(st, final, err) < 0) {
        free(final);
        return -1;
    }
    tmp = odbk_storage_temp_name(final);
    if (st->driver->create(st, tmp, final, size_hint, &file, err) < 0) {
        free(tmp);
        free(final);
        return -1;
    }
    dw = odbk_xcalloc(1, sizeof(*dw));
    dw->st = st;
    dw->file = file;
    dw->key = odbk_xstrdup(path);
    dw->final = final;
    dw->tmp = tmp;
    odbk_writer_init(&dw->w, &dir_write_ops, NULL);
    *out = &dw->w;
    return 0;
}

/* Every file under directory rel (a key) whose key starts with prefix, recursively, in listing order. */
static int walk(struct odbk_storage *st, const char *rel, const char *prefix, odbk_storage_list_cb cb, void *ctx,
                struct odbk_err *err)
{
    char *dir = odbk_storage_join(st->root, rel);
    struct odbk_storage_dir d = {0};
    size_t plen = strlen(prefix), i;
    int r = st->driver->list_dir(st, dir, &d, err);
    for (i = 0; r == 0 && i < d.n; i++) {
        const struct odbk_storage_dirent *de = &d.e[i];
        char *child = *rel ? odbk_xasprintf("%s/%s", rel, de->name) : odbk_xstrdup(de->name);
        size_t clen = strlen(child);
        /* prune subtrees that cannot match the prefix */
        if (!strncmp(child, prefix, clen < plen ? clen : plen)) {
            if (de->dir) {
                r = walk(st, child, prefix, cb, ctx, err);
            } else if (clen >= plen) {
                struct odbk_storage_entry e = {child, de->size, de->mtime};
                r = cb(ctx, &e);
            }
        }
        free(child);
    }
    odbk_storage_dir_free(&d);
    free(dir);
    return r;
}

static int dir_list(struct odbk_storage *st, const char *prefix, odbk_storage_list_cb cb, void *ctx,
                    struct odbk_err *err)
{
    /* start in the deepest directory the prefix names in full */
    const char *slash = strrchr(prefix, '/');
    char *start = slash ? odbk_xstrndup(prefix, (size_t)(slash - prefix)) : odbk_xstrdup("");
    int r = walk(st, start, prefix, cb, ctx, err);
    free(start);
    return r;
}

static int dir_remove(struct odbk_storage *st, const char *path, struct odbk_err *err)
{
    char *full = odbk_storage_join(st->root, path);
    int r = st->driver->unlink(st, full, err);
    if (r == 0)
        prune_empty_dirs(st, path);
    free(full);
    return r;
}

void odbk_storage_dir_add(struct odbk_storage_dir *d, const char *name, int dir, uint64_t size, time_t mtime)
{
    if (!odbk_storage_entry_name_ok(name))
        return;
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 16;
        d->e = odbk_xrealloc(d->e, d->cap * sizeof(*d->e));
    }
    d->e[d->n++] = (struct odbk_storage_dirent){odbk_xstrdup(name), dir, size, mtime};
}

void odbk_storage_dir_clear(struct odbk_storage_dir *d)
{
    size_t i;
    for (i = 0; i < d->n; i++)
        free(d->e[i].name);
    d->n = 0;
}

void odbk_storage_dir_free(struct odbk_storage_dir *d)
{
    odbk_storage_dir_clear(d);
    free(d->e);
    d->e = NULL;
    d->cap = 0;
}

/* ---- the interface ---- */

/* An operation a read-only storage (a restore's source) does not have. */
static int not_here(const struct odbk_storage *st, const char *what, struct odbk_err *err)
{
    return odbk_err_set(err, ODBK_E_USAGE, "'%s' is read-only: cannot %s there", st->name, what);
}

static int resumable_read(struct odbk_storage *st, const char *path, struct odbk_writer *dst, struct odbk_err *err);

/* The driver's operations, without encryption (the core's directory protocol for F_DIRS drivers) */
static int raw_open_write(struct odbk_storage *st, const char *path, uint64_t size_hint, struct odbk_writer **out,
                          struct odbk_err *err)
{
    if (odbk_storage_has(st, ODBK_STORAGE_F_DIRS))
        return dir_open_write(st, path, size_hint, out, err);
    return st->driver->open_write(st, path, size_hint, out, err);
}

static int raw_read(struct odbk_storage *st, const char *path, struct odbk_writer *dst, struct odbk_err *err)
{
    if (odbk_storage_has(st, ODBK_STORAGE_F_RANGE_READ) && st->driver->read_at)
        return resumable_read(st, path, dst, err);
    return st->driver->read(st, path, dst, err);
}

static int raw_list(struct odbk_storage *st, const char *prefix, odbk_storage_list_cb cb, void *ctx,
                    struct odbk_err *err)
{
    if (odbk_storage_has(st, ODBK_STORAGE_F_DIRS))
        return dir_list(st, prefix ? prefix : "", cb, ctx, err);
    if (!st->driver->list)
        return not_here(st, "list", err);
    return st->driver->list(st, prefix, cb, ctx, err);
}

int odbk_storage_open_write(struct odbk_storage *st, const char *path, uint64_t size_hint,
                            struct odbk_writer **out, struct odbk_err *err)
{
    if (st->bare)
        return not_here(st, "write", err);
    if (!crypted(st, path))
        return raw_open_write(st, path, size_hint, out, err);
    if (storage_keys(st, 1, err) < 0)
        return -1;
    if (raw_open_write(st, path, size_hint ? odbk_crypt_stored_size(path, size_hint) : 0, out, err) < 0)
        return -1;
    *out = odbk_crypt_encrypt_new(st->keys, path, *out);
    return 0;
}

/* A read that resumes at the offset reached after a failure another attempt may cure. */
static int resumable_read(struct odbk_storage *st, const char *path, struct odbk_writer *dst, struct odbk_err *err)
{
    struct odbk_retry r = ODBK_RETRY_INIT(st->retries);
    uint64_t off = 0;
    r.interruptible = 1;   /* a stop signal ends the backoff */
    for (;;) {
        uint64_t before = off;
        int again = 0;
        if (st->driver->read_at(st, path, &off, dst, &again, err) == 0) {
            if (r.failures)
                odbk_err_clear(err);   /* what was overcome */
            return 0;
        }
        if (off - before >= ODBK_STORAGE_RETRY_PROGRESS)   /* real progress */
            odbk_retry_progress(&r);
        if (!odbk_retry_again(&r, again, err))
            return -1;
    }
}

int odbk_storage_read(struct odbk_storage *st, const char *path, struct odbk_writer *dst, struct odbk_err *err)
{
    struct odbk_writer *d;
    int r;
    if (!crypted(st, path))
        return raw_read(st, path, dst, err);
    if (!st->bare && storage_keys(st, 0, err) < 0)
        return -1;
    d = odbk_crypt_decrypt_new(st->keys, path, path, dst);
    r = raw_read(st, path, d, err);
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
    int r;
    if (!st->driver->stat)
        return not_here(st, "stat", err);
    r = st->driver->stat(st, path, out, err);
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
    if (key_object(e->path))
        return 0;   /* a storage's key objects are no backup's: listing, rescan and prune never see them */
    plain_size(pl->st, e->path, &copy.size);
    return pl->cb(pl->ctx, &copy);
}

int odbk_storage_confirm(struct odbk_storage *st, const char *path, uint64_t size, enum odbk_confirm *level,
                         char **note, struct odbk_err *err)
{
    struct odbk_storage_entry e = {0};
    int r;
    *level = ODBK_CONFIRM_NOTHING;
    *note = NULL;
    if (st->driver->confirm)   /* the store's count is of the bytes stored: encrypted, their own */
        return st->driver->confirm(st, path, crypted(st, path) ? odbk_crypt_stored_size(path, size) : size, level,
                                   note, err);
    /* local (written, fsync'd and renamed), SFTP and FTP (renamed): the size under the final name */
    if ((r = odbk_storage_stat(st, path, &e, err)) < 0)
        return -1;
    if (r == 1)
        return odbk_err_set(err, ODBK_E_NOINPUT, "storage '%s': '%s' is gone right after it was written", st->name,
                            path);
    if (e.size != size)
        return odbk_err_set(err, ODBK_E_DATA, "storage '%s' holds %llu bytes of '%s', %llu were written", st->name,
                            (unsigned long long)e.size, path, (unsigned long long)size);
    *level = ODBK_CONFIRM_SIZE;
    return 0;
}

int odbk_storage_list(struct odbk_storage *st, const char *prefix, odbk_storage_list_cb cb, void *ctx,
                      struct odbk_err *err)
{
    struct plain_list pl = {st, cb, ctx};
    return raw_list(st, prefix, plain_list_cb, &pl, err);
}

int odbk_storage_remove(struct odbk_storage *st, const char *path, struct odbk_err *err)
{
    if (st->bare)
        return not_here(st, "remove", err);
    if (odbk_storage_has(st, ODBK_STORAGE_F_DIRS))
        return dir_remove(st, path, err);
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

int odbk_storage_has_sweep(const struct odbk_storage *st)
{
    return st->driver->sweep && !st->bare;
}

int odbk_storage_sweep_keep(struct odbk_storage *st, const char *prefix, time_t older_than,
                            odbk_storage_sweep_keep_cb keep, void *keep_ctx, int *n, struct odbk_err *err)
{
    *n = 0;
    return st->driver->sweep && !st->bare ? st->driver->sweep(st, prefix, older_than, keep, keep_ctx, n, err) : 0;
}

int odbk_storage_sweep(struct odbk_storage *st, const char *prefix, time_t older_than, int *n,
                       struct odbk_err *err)
{
    return odbk_storage_sweep_keep(st, prefix, older_than, NULL, NULL, n, err);
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
