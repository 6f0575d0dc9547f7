/* gc.c - the collection of an env's unreferenced packs (see gc.h). */
#include "backup/gc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "backup/backup.h"
#include "backup/filelist.h"
#include "common/util.h"
#include "odoo/manifest.h"

/* a backup id's length (YYYYMMDDTHHMMSSZ-xxxxxx): a pack's name starts with its maker's */
#define ID_LEN 23
/* a pack of an id the catalog does not know is kept this long after the id's time: another host's run */
#define UNKNOWN_GRACE (24 * 3600)
/* the lock's heartbeat while deleting */
#define BEAT_SECONDS 60

/* ---- sorted sets of names ---- */

struct names {
    char **v;
    size_t n, cap;
};

static void names_add(struct names *s, const char *name, size_t len)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = odbk_xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = odbk_xstrndup(name, len);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_sort(struct names *s)
{
    size_t i, k = 0;
    if (!s->n)
        return;
    qsort(s->v, s->n, sizeof(*s->v), cmp_str);
    for (i = 1; i < s->n; i++) {
        if (!strcmp(s->v[i], s->v[k]))
            free(s->v[i]);
        else
            s->v[++k] = s->v[i];
    }
    s->n = k + 1;
}

static int names_has(const struct names *s, const char *name)
{
    return s->n && bsearch(&name, s->v, s->n, sizeof(*s->v), cmp_str) != NULL;
}

static void names_free(struct names *s)
{
    size_t i;
    for (i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* ---- the listing of <env>/ ---- */

struct listing {
    const char *env;
    size_t env_len;
    const char *packs_prefix;   /* "<env>/packs/" */
    size_t packs_len;
    struct names manifests;   /* ids whose folder holds backup-ID-manifest.json */
    struct odbk_gc_pack *packs;
    size_t n_packs, cap_packs;
    size_t n_foreign;
};

/* The pack name an object of packs/ stands for: itself, or the pack a killed writer left its temporary
 * of (odbk_storage_temp_name: NAME.odbk-tmp-PID-N); its length, 0 for no pack's. */
static size_t pack_part(const char *name)
{
    const char *t = strstr(name, ".odbk-tmp-");
    size_t len = t ? (size_t)(t - name) : strlen(name);
    char *p = odbk_xstrndup(name, len);
    int ok = odbk_pack_name_ok(p);
    free(p);
    return ok ? len : 0;
}

static int pack_cb(void *ctx, const struct odbk_storage_entry *e)
{
    struct listing *l = ctx;
    const char *name;
    if (strncmp(e->path, l->packs_prefix, l->packs_len))
        return 0;
    name = e->path + l->packs_len;
    if (strchr(name, '/') || !pack_part(name)) {
        l->n_foreign++;
        return 0;
    }
    if (l->n_packs == l->cap_packs) {
        l->cap_packs = l->cap_packs ? l->cap_packs * 2 : 64;
        l->packs = odbk_xrealloc(l->packs, l->cap_packs * sizeof(*l->packs));
    }
    l->packs[l->n_packs].name = odbk_xstrdup(name);
    l->packs[l->n_packs++].size = e->size;
    return 0;
}

/* <env>/ID/backup-ID-manifest.json, ID a backup id */
static int manifest_cb(void *ctx, const struct odbk_storage_entry *e)
{
    struct listing *l = ctx;
    const char *id, *slash;
    char *expect;
    if (strncmp(e->path, l->env, l->env_len) || e->path[l->env_len] != '/')
        return 0;
    id = e->path + l->env_len + 1;
    slash = strchr(id, '/');
    if (!slash || slash - id != ID_LEN)
        return 0;
    expect = odbk_xasprintf("backup-%.*s-manifest.json", ID_LEN, id);
    if (!strcmp(slash + 1, expect)) {
        char *one = odbk_xstrndup(id, ID_LEN);
        if (odbk_backup_id_ok(one))
            names_add(&l->manifests, one, ID_LEN);
        free(one);
    }
    free(expect);
    return 0;
}

/* ---- the live set ---- */

struct live {
    struct names packs;     /* referenced by a manifest */
    struct names running;   /* ids of the env's backups still running */
    struct names known;     /* every id of the env the catalog knows */
    const char *const *gone;
    const char *storage;
    const char *env;
    struct odbk_err err;    /* the first manifest of the catalog that did not parse */
};

static int is_gone(const struct live *lv, const char *id)
{
    const char *const *g;
    for (g = lv->gone; g && *g; g++)
        if (!strcmp(*g, id))
            return 1;
    return 0;
}

static void add_packs(struct live *lv, const struct odbk_manifest *m)
{
    size_t i;
    for (i = 0; i < m->n_packs; i++)
        names_add(&lv->packs, m->packs[i].name, strlen(m->packs[i].name));
}

static int row_cb(void *ctx, struct odbk_backup *b)
{
    struct live *lv = ctx;
    struct odbk_manifest m = {0};
    names_add(&lv->known, b->id, strlen(b->id));
    if (b->status == ODBK_BACKUP_PENDING || b->status == ODBK_BACKUP_IN_PROGRESS ||
        b->status == ODBK_BACKUP_UPLOADING) {
        names_add(&lv->running, b->id, strlen(b->id));
        return 0;
    }
    if (b->status != ODBK_BACKUP_COMPLETED || !b->manifest || strcmp(b->storage, lv->storage) || is_gone(lv, b->id))
        return 0;
    if (odbk_manifest_parse(b->manifest, b->id, &m, &lv->err) < 0) {
        odbk_err_prefix(&lv->err, "the catalog's manifest of backup %s", b->id);
        odbk_err_hint(&lv->err, "odbk-list --rescan %s reads it again from storage", lv->env);
        return 1;
    }
    add_packs(lv, &m);
    odbk_manifest_release(&m);
    return 0;
}

/* The manifest of backup id in storage, its packs into the live set. */
static int read_manifest(struct odbk_storage *st, const char *env, const char *id, struct live *lv,
                         struct odbk_err *err)
{
    char *name = odbk_backup_manifest_name(id), *key = odbk_backup_file_key(env, id, name), *json = NULL;
    struct odbk_manifest m = {0};
    int r = odbk_storage_get(st, key, 16 << 20, &json, NULL, err);
    if (r < 0 && err->code == ODBK_E_NOINPUT) {   /* removed since the listing: not a backup any more */
        odbk_err_clear(err);
        r = 0;
        goto out;
    }
    if (r == 0 && odbk_manifest_parse(json, key, &m, err) == 0) {
        if (strcmp(m.id, id) || strcmp(m.env, env))
            r = odbk_err_set(err, ODBK_E_DATA, "%s: its id '%s' or env '%s' is not its folder's", key, m.id, m.env);
        else
            add_packs(lv, &m);
        odbk_manifest_release(&m);
    } else {
        r = -1;
    }
    if (r < 0) {
        odbk_err_prefix(err, "packs of '%s' not collected", env);
        odbk_err_hint(err, "nothing was deleted: without every manifest the packs still needed are not known; "
                      "move the damaged backup's folder %s/%s/ away (or delete it: odbk-prune --backup %s --force)",
                      env, id, id);
    }
out:
    free(json);
    free(key);
    free(name);
    return r;
}

/* The time an id names (YYYYMMDDTHHMMSSZ), 0 when it names none. */
static time_t id_time(const char *id)
{
    struct tm tm;
    const char *p;
    memset(&tm, 0, sizeof(tm));
    p = strptime(id, "%Y%m%dT%H%M%SZ", &tm);
    return p ? timegm(&tm) : 0;
}

/* Is pack name (of the listing) live?  Its maker's id is its first ID_LEN characters. */
static int pack_live(const struct live *lv, const char *name, size_t len, time_t now)
{
    char *pack = odbk_xstrndup(name, len), id[ID_LEN + 1];
    int live = names_has(&lv->packs, pack);
    memcpy(id, name, ID_LEN);
    id[ID_LEN] = '\0';
    free(pack);
    if (live || names_has(&lv->running, id))
        return 1;
    return !names_has(&lv->known, id) && !is_gone(lv, id) && id_time(id) > now - UNKNOWN_GRACE;
}

void odbk_gc_report_release(struct odbk_gc_report *r)
{
    size_t i;
    if (!r)
        return;
    for (i = 0; i < r->n_removed; i++)
        free(r->removed[i].name);
    free(r->removed);
    free(r->storage);
    memset(r, 0, sizeof(*r));
}

static int locked_err(const char *env, const struct odbk_backup *running, const struct odbk_env_lock *held,
                      struct odbk_err *err)
{
    char since[32];
    if (running->id) {
        odbk_time_rfc3339(running->created_at, since);
        odbk_err_set(err, ODBK_E_TEMPFAIL, "packs of '%s' not collected: backup %s of it is running (pid %ld on "
                     "%s, since %s)", env, running->id, running->pid, running->host ? running->host : "?", since);
    } else {
        odbk_time_rfc3339(held->acquired_at, since);
        odbk_err_set(err, ODBK_E_TEMPFAIL, "packs of '%s' not collected: another odbk-prune holds it (pid %ld on "
                     "%s, since %s)", env, held->pid, held->host ? held->host : "?", since);
    }
    odbk_err_hint(err, "nothing of it is lost: the next odbk-prune %s collects them", env);
    return -1;
}

int odbk_gc_env(struct odbk_catalog *cat, struct odbk_storage *st, const char *storage, const char *env,
                const struct odbk_gc_opts *opts, struct odbk_gc_report *out, struct odbk_err *err)
{
    struct listing l = {0};
    struct live lv = {0};
    struct odbk_backup_filter f = {0};
    const char *envs[2] = {env, NULL};
    char *prefix = NULL, *folder = NULL;
    time_t now = odbk_now(), beat = now;
    int locked = 0, r = -1, due = 0;
    int64_t gen = 0;
    size_t i;

    memset(out, 0, sizeof(*out));
    out->storage = odbk_xstrdup(storage);
    l.env = env;
    l.env_len = strlen(env);
    lv.gone = opts->gone;
    lv.storage = storage;
    lv.env = env;
    prefix = odbk_packs_prefix(env);
    l.packs_prefix = prefix;
    l.packs_len = strlen(prefix);
    /* the pair's generation before anything is listed: a deletion recorded since keeps it due */
    if (!opts->dry_run && (due = odbk_catalog_gc_due_get(cat, env, storage, &gen, err)) < 0)
        goto out;
    if (odbk_storage_list(st, prefix, pack_cb, &l, err) < 0) {
        odbk_err_prefix(err, "packs of '%s' not collected: cannot list %s", env, prefix);
        goto out;
    }
    out->n_packs = l.n_packs;
    out->n_foreign = l.n_foreign;
    if (!l.n_packs) {   /* nothing to collect: no lock taken, no backup of the env kept waiting */
        r = 0;
        goto done;
    }
    /* The packs listed so far may be deleted once the env is held: any backup that could reference them
     * has finished (its manifest is read below) or still runs (the lock is refused). */
    if (!opts->dry_run) {
        struct odbk_backup running;
        struct odbk_env_lock held;
        int c = odbk_catalog_env_lock(cat, env, "gc", &running, &held, err);
        if (c > 0) {
            locked_err(env, &running, &held, err);
            odbk_backup_release(&running);
            odbk_env_lock_release(&held);
        }
        if (c != 0)
            goto out;
        locked = 1;
        odbk_pause_point("gc-locked");   /* test-only: a backup or a prune of the env started meanwhile */
    }

    /* what is live: the manifests in storage, then the catalog's rows */
    folder = odbk_xasprintf("%s/", env);
    if (odbk_storage_list(st, folder, manifest_cb, &l, err) < 0) {
        odbk_err_prefix(err, "packs of '%s' not collected: cannot list %s", env, folder);
        goto out;
    }
    names_sort(&l.manifests);
    for (i = 0; i < l.manifests.n; i++) {
        if (is_gone(&lv, l.manifests.v[i]))
            continue;
        if (read_manifest(st, env, l.manifests.v[i], &lv, err) < 0)
            goto out;
        out->n_manifests++;
    }
    f.envs = envs;
    if (odbk_catalog_backup_each(cat, &f, row_cb, &lv, err) != 0) {
        if (lv.err.code)
            *err = lv.err;
        odbk_err_prefix(err, "packs of '%s' not collected", env);
        goto out;
    }
    names_sort(&lv.packs);
    names_sort(&lv.running);
    names_sort(&lv.known);
    odbk_crash_point("gc-listed");

    for (i = 0; i < l.n_packs; i++) {
        struct odbk_gc_pack *p = &l.packs[i];
        struct odbk_err e = {0};
        char *key;
        if (pack_live(&lv, p->name, pack_part(p->name), now)) {
            out->n_live++;
            continue;
        }
        if (!opts->dry_run) {
            /* still the holder (a stall longer than the stale time lets another take over): else stop */
            if (odbk_now() - beat >= BEAT_SECONDS) {
                if (odbk_catalog_env_lock_beat(cat, env, err) < 0)
                    goto out;
                beat = odbk_now();
            }
            key = odbk_pack_key(env, p->name);
            if (odbk_storage_remove(st, key, &e) < 0 && e.code != ODBK_E_NOINPUT) {
                out->n_failed++;
                if (!err->code) {
                    *err = e;
                    odbk_err_prefix(err, "pack %s not deleted", key);
                }
                free(key);
                continue;
            }
            free(key);
            odbk_crash_point("gc-removing");
        }
        out->removed = odbk_xrealloc(out->removed, (out->n_removed + 1) * sizeof(*out->removed));
        out->removed[out->n_removed].name = p->name;
        out->removed[out->n_removed++].size = p->size;
        out->bytes_removed += p->size;
        p->name = NULL;
    }
    odbk_crash_point("gc-end");
    if (err->code)
        goto out;
    r = 0;
done:
    /* collected: no longer due, unless a deletion was recorded since the generation was read */
    if (due > 0 && odbk_catalog_gc_due_clear(cat, env, storage, gen, err) < 0)
        r = -1;
out:
    if (locked) {
        struct odbk_err ue = {0};
        odbk_catalog_env_unlock(cat, env, &ue);
    }
    for (i = 0; i < l.n_packs; i++)
        free(l.packs[i].name);
    free(l.packs);
    names_free(&l.manifests);
    names_free(&lv.packs);
    names_free(&lv.running);
    names_free(&lv.known);
    free(prefix);
    free(folder);
    return r;
}

struct cJSON *odbk_gc_report_json(const struct odbk_gc_report *r)
{
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    size_t i;
    cJSON_AddStringToObject(o, "storage", r->storage ? r->storage : "");
    cJSON_AddNumberToObject(o, "found", (double)r->n_packs);
    cJSON_AddNumberToObject(o, "kept", (double)r->n_live);
    for (i = 0; i < r->n_removed; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "name", r->removed[i].name);
        cJSON_AddNumberToObject(p, "size", (double)r->removed[i].size);
        cJSON_AddItemToArray(arr, p);
    }
    cJSON_AddItemToObject(o, "removed", arr);
    cJSON_AddNumberToObject(o, "bytes_removed", (double)r->bytes_removed);
    cJSON_AddNumberToObject(o, "failed", (double)r->n_failed);
    return o;
}
