/* storage.c - the driver-independent part of storage: lookup by type, config validation, and helpers
 * built on the driver table (put/get of small objects, removal of a prefix). */
#include "storage/storage.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "common/vocab.h"

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
    st.driver = d;
    st.name = sec->name;
    if (d->open(&st, sec, err) < 0)
        return -1;
    d->close(&st);
    return 0;
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
    if (verify_mode(sec, &st->verify, err) < 0 || d->open(st, sec, err) < 0) {
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
    return st->driver->open_write(st, path, size_hint, out, err);
}

int odbk_storage_read(struct odbk_storage *st, const char *path, struct odbk_writer *dst, struct odbk_err *err)
{
    return st->driver->read(st, path, dst, err);
}

int odbk_storage_stat(struct odbk_storage *st, const char *path, struct odbk_storage_entry *out,
                      struct odbk_err *err)
{
    return st->driver->stat(st, path, out, err);
}

int odbk_storage_confirm(struct odbk_storage *st, const char *path, uint64_t size, enum odbk_confirm *level,
                         char **note, struct odbk_err *err)
{
    struct odbk_storage_entry e = {0};
    int r;
    *level = ODBK_CONFIRM_NOTHING;
    *note = NULL;
    if (st->driver->confirm)
        return st->driver->confirm(st, path, size, level, note, err);
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
    return st->driver->list(st, prefix, cb, ctx, err);
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
