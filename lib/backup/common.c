/* common.c - what create, restore, prune and download share: ids, keys, manifests, stale runs. */
#include "backup/backup.h"
#include "backup/filelist.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdio.h>
#include <cJSON.h>

#include "backup/filelist.h"
#include "backup/format.h"
#include "backup/report.h"
#include "common/util.h"
#include "common/vocab.h"

static void random_bytes(unsigned char *buf, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    if (fd >= 0) {
        while (got < n) {
            ssize_t r = read(fd, buf + got, n - got);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        close(fd);
    }
    for (; got < n; got++)   /* no /dev/urandom: still unique enough with the pid and time */
        buf[got] = (unsigned char)(rand() ^ getpid());
}

void odbk_backup_new_id(char out[40])
{
    unsigned char r[3];
    time_t t = odbk_now();
    struct tm tm;
    gmtime_r(&t, &tm);
    random_bytes(r, sizeof(r));
    strftime(out, 40, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out + strlen(out), 40 - strlen(out), "-%02x%02x%02x", r[0], r[1], r[2]);
}

void odbk_backup_new_uuid(char out[40])
{
    unsigned char r[16];
    random_bytes(r, sizeof(r));
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
             r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

char *odbk_backup_folder(const char *env, const char *id)
{
    return odbk_xasprintf("%s/%s/", env, id);
}

char *odbk_backup_manifest_name(const char *id)
{
    return odbk_xasprintf("backup-%s-manifest.json", id);
}

char *odbk_backup_file_key(const char *env, const char *id, const char *name)
{
    return odbk_xasprintf("%s/%s/%s", env, id, name);
}


int odbk_backup_manifest(struct odbk_storage *st, const struct odbk_backup *b, struct odbk_manifest *m,
                         struct odbk_err *err)
{
    char *json = NULL, *key, *name;
    int r;
    if (b->manifest && *b->manifest)
        return odbk_manifest_parse(b->manifest, b->id, m, err);
    name = odbk_backup_manifest_name(b->id);
    key = odbk_backup_file_key(b->env, b->id, name);
    r = odbk_storage_get(st, key, 16 << 20, &json, NULL, err);
    if (r == 0)
        r = odbk_manifest_parse(json, key, m, err);
    free(json);
    free(key);
    free(name);
    return r;
}

/* where a storage is, for the marker's messages: a local storage's path */
static const char *storage_where(const struct odbk_config *cfg, const char *name)
{
    const struct odbk_config_section *sec = odbk_config_find(cfg, "storage", name);
    const struct odbk_config_kv *kv = sec ? odbk_config_get_kv(sec, "path") : NULL;
    return kv ? kv->value : name;
}

int odbk_backup_storage_open(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *name, int may_write,
                             struct odbk_storage **out, struct odbk_err *err)
{
    const char *where = storage_where(cfg, name);
    size_t known = 0;
    int r;
    if (odbk_storage_open(cfg, name, out, err) < 0)
        return -1;
    /* a valid marker needs no word from the catalog; only a storage without one is judged by the
     * completed backups the catalog knows in it (counted by the database: it loaded them all, manifests
     * included, at every open: 120 MB for 100,000 backups, once per env in odbk-prune --all) */
    r = odbk_storage_marker_check(*out, where, 0, err);
    if (r == 1 && cat) {
        if (odbk_catalog_storage_completed(cat, name, &known, err) < 0)
            goto fail;
        if (known)
            r = odbk_storage_marker_check(*out, where, known, err);
    }
    (*out)->marker_due = r == 1;
    if (r == 2 && may_write) {   /* a storage of before the marker: it gets one, nobody is locked out */
        char id[40];
        odbk_backup_new_uuid(id);
        r = odbk_storage_marker_write(*out, id, err);
    }
    if (r >= 0)   /* read only, a storage of before the marker is judged as it is: its manifests are odbk's */
        return 0;
fail:
    odbk_storage_close(*out);
    *out = NULL;
    return -1;
}

int odbk_backup_storage_init(const struct odbk_config *cfg, const char *name, struct odbk_err *err)
{
    struct odbk_storage *st = NULL;
    int r;
    if (odbk_storage_open(cfg, name, &st, err) < 0)
        return -1;
    if (!odbk_storage_has(st, ODBK_STORAGE_F_MARKER)) {
        r = odbk_err_set(err, ODBK_E_USAGE, "storage '%s' is of type %s, which has no marker (local storage only)",
                         name, st->driver->type);
    } else if ((r = odbk_storage_marker_check(st, storage_where(cfg, name), 0, err)) == 1) {
        st->marker_due = 1;
        r = odbk_backup_storage_mark(st, err);
    }
    odbk_storage_close(st);
    return r < 0 ? -1 : 0;
}

int odbk_backup_storage_mark(struct odbk_storage *st, struct odbk_err *err)
{
    char id[40];
    if (!st->marker_due)   /* its open found the marker (or a kind without one) */
        return 0;
    odbk_backup_new_uuid(id);
    if (odbk_storage_marker_write(st, id, err) < 0)
        return -1;
    st->marker_due = 0;
    return 0;
}

/* Remove every object of a backup's folder and abort its unfinished multipart uploads (they belong to
 * this backup alone: its folder is its own); what cannot be removed now is recorded for later runs. */
int odbk_backup_remove_objects(struct odbk_catalog *cat, struct odbk_storage *st, const char *storage,
                               const char *env, const char *id, struct odbk_err *err)
{
    /* its folder, and the packs it made (an incremental filestore: env/packs/ID-*, named by it alone) */
    char *prefixes[2] = {odbk_backup_folder(env, id), odbk_xasprintf("%s/" ODBK_PACKS_DIR "/%s-", env, id)};
    struct odbk_err e2 = {0};
    int swept = 0, r = 0;
    size_t i;
    for (i = 0; i < 2; i++) {
        /* a future cut-off: every upload of the folder, whatever the store's clock says */
        if (st && odbk_storage_remove_prefix(st, prefixes[i], err) == 0 &&
            odbk_storage_sweep(st, prefixes[i], odbk_now() + 86400, &swept, err) == 0) {
            odbk_catalog_removal_done(cat, storage, prefixes[i], &e2);
        } else {
            if (!st && !err->code)
                odbk_err_set(err, ODBK_E_UNAVAILABLE, "storage '%s' cannot be opened", storage);
            odbk_catalog_removal_add(cat, storage, prefixes[i], id, err->msg, &e2);
            r = -1;
        }
        free(prefixes[i]);
    }
    return r;
}

/* A backup's folder (ENV/ID/) or its packs (ENV/packs/ID-) removed late: packs it referenced may be
 * garbage now, so its env's storage is due for a collection. */
static void due_after_removal(struct odbk_catalog *cat, const struct odbk_removal *r)
{
    const char *slash = strchr(r->prefix, '/');
    size_t len = strlen(r->prefix);
    struct odbk_err ignored = {0};
    char *env;
    if (!r->backup_id || !slash || slash == r->prefix || !len || (r->prefix[len - 1] != '/' && r->prefix[len - 1] != '-'))
        return;
    env = odbk_xstrndup(r->prefix, (size_t)(slash - r->prefix));
    odbk_catalog_gc_due_set(cat, env, r->storage, &ignored);
    free(env);
}

int odbk_backup_retry_removals(const struct odbk_config *cfg, struct odbk_catalog *cat, struct odbk_err *err)
{
    struct odbk_removal *v = NULL;
    size_t n = 0, i;
    int done = 0;
    {   /* the session-start chores of every program: killed restores first (not an error of this run) */
        struct odbk_err ignored = {0};
        odbk_restore_recover(cfg, cat, &ignored);
    }
    if (odbk_catalog_removal_list(cat, &v, &n, err) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        struct odbk_storage *st = NULL;
        struct odbk_err e2 = {0};
        int swept = 0;
        struct odbk_audit a = {0};
        if (odbk_backup_storage_open(cfg, cat, v[i].storage, 1, &st, &e2) == 0 && odbk_storage_remove_prefix(st, v[i].prefix, &e2) == 0 &&
            odbk_storage_sweep(st, v[i].prefix, odbk_now() + 86400, &swept, &e2) == 0) {
            odbk_catalog_removal_done(cat, v[i].storage, v[i].prefix, &e2);
            due_after_removal(cat, &v[i]);
            a.action = "remove";
            a.backup_id = v[i].backup_id;
            a.target = v[i].storage;
            a.source = v[i].prefix;
            a.result = "ok";
            odbk_catalog_audit_add(cat, &a, &e2);
            done++;
        } else {   /* the table counts the attempts and keeps the last error (no audit entry per run) */
            odbk_catalog_removal_add(cat, v[i].storage, v[i].prefix, v[i].backup_id, e2.msg, &e2);
        }
        odbk_storage_close(st);
    }
    odbk_removal_list_free(v, n);
    return done;
}

/* A run that died after storing its manifest made a complete backup: when the manifest is there and
 * every file it lists (and every pack, for an incremental filestore) is stored with its size, the row becomes completed (not verified: nothing was
 * read back; odbk-list --verify does that).  1 finished, 0 not complete, -1 the storage could not say. */
static int finish_complete(struct odbk_storage *st, struct odbk_catalog *cat, const struct odbk_backup *b,
                           struct odbk_err *err)
{
    char *name = odbk_backup_manifest_name(b->id), *key = odbk_backup_file_key(b->env, b->id, name);
    char *json = NULL;
    struct odbk_manifest m;
    struct odbk_backup done;
    int r = odbk_storage_get(st, key, 16 << 20, &json, NULL, err);
    size_t i;
    free(key);
    free(name);
    if (r < 0) {
        free(json);
        if (err->code != ODBK_E_NOINPUT)
            return -1;
        odbk_err_clear(err);
        return 0;
    }
    if (odbk_manifest_parse(json, b->id, &m, err) < 0) {   /* damaged: not a backup */
        odbk_err_clear(err);
        free(json);
        return 0;
    }
    if (strcmp(m.id, b->id) || strcmp(m.env, b->env))
        r = 1;
    for (i = 0; i < m.n_files && r == 0; i++) {
        struct odbk_storage_entry e = {0};
        char *fkey = odbk_backup_file_key(b->env, b->id, m.files[i].name);
        int s = odbk_storage_stat(st, fkey, &e, err);
        free(fkey);
        if (s < 0)
            r = -1;
        else if (s == 1 || e.size != m.files[i].size)
            r = 1;
        free(e.path);
    }
    for (i = 0; i < m.n_packs && r == 0; i++) {   /* an incremental filestore: every pack its list needs */
        struct odbk_storage_entry e = {0};
        char *pkey = odbk_pack_key(b->env, m.packs[i].name);
        int s = odbk_storage_stat(st, pkey, &e, err);
        free(pkey);
        if (s < 0)
            r = -1;
        else if (s == 1 || e.size != m.packs[i].size)
            r = 1;
        free(e.path);
    }
    if (r != 0) {
        free(json);
        odbk_manifest_release(&m);
        if (r == 1)
            odbk_err_clear(err);
        return r == 1 ? 0 : -1;
    }
    odbk_backup_from_manifest(&m, json, b->storage, &done);
    done.type = b->type;
    done.verified = 0;
    r = odbk_catalog_backup_update(cat, &done, err);
    odbk_backup_release(&done);
    odbk_manifest_release(&m);
    return r < 0 ? -1 : 1;
}

int odbk_backup_reap_stale(const struct odbk_config *cfg, struct odbk_catalog *cat, struct odbk_err *err)
{
    const enum odbk_backup_status states[] = {ODBK_BACKUP_PENDING, ODBK_BACKUP_IN_PROGRESS, ODBK_BACKUP_UPLOADING};
    time_t now = odbk_now();
    int reaped = 0;
    size_t s, i;
    for (s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
        struct odbk_backup_filter f = {0};
        struct odbk_backup *v = NULL;
        size_t n = 0;
        f.statuses = ODBK_ONLY(states[s]);
        if (odbk_catalog_backup_list(cat, &f, &v, &n, err) < 0)
            return -1;
        for (i = 0; i < n; i++) {
            struct odbk_backup *b = &v[i];
            int same_host = b->host && !strcmp(b->host, odbk_hostname());
            int dead = same_host && b->pid > 0 && kill((pid_t)b->pid, 0) != 0 && errno == ESRCH;
            /* a run of this host whose process is alive and started before it wrote its row is live, however
             * old its heartbeat (a suspended laptop, a paused VM, a catalog it could not write): the heartbeat
             * only tells about runs of other hosts, whose processes cannot be asked */
            time_t started = same_host && b->pid > 0 && !dead ? odbk_proc_started_at(b->pid) : 0;
            int live = started && started <= b->created_at + 2;
            time_t beat = b->heartbeat_at ? b->heartbeat_at : b->created_at;
            char *why;
            struct odbk_storage *st = NULL;
            struct odbk_err e2 = {0};
            struct odbk_audit a = {0};
            int complete = 0;
            if (live || (!dead && now - beat < ODBK_RUN_STALE_SECONDS))
                continue;
            why = dead ? odbk_xasprintf("interrupted: process %ld on %s is gone", b->pid, b->host)
                       : odbk_xasprintf("interrupted: no heartbeat since %ld minutes", (long)((now - beat) / 60));
            odbk_backup_storage_open(cfg, cat, b->storage, 1, &st, &e2);
            /* an uploading run may have stored its manifest: a storage that will not open now (a secret
             * unreadable, a section renamed) cannot tell, so decide at a later run, never fail it blind (its
             * removal would delete a complete backup once the storage is back) */
            if (!st && b->status == ODBK_BACKUP_UPLOADING) {
                free(why);
                continue;
            }
            if (st && b->status == ODBK_BACKUP_UPLOADING)   /* the manifest may be stored */
                complete = finish_complete(st, cat, b, &e2);
            if (complete < 0) {   /* the store cannot tell now: decide at a later run */
                odbk_storage_close(st);
                free(why);
                continue;
            }
            if (!complete) {   /* a killed run may have left packs, or debris the removal misses */
                odbk_catalog_gc_due_set(cat, b->env, b->storage, &e2);
                odbk_backup_remove_objects(cat, st, b->storage, b->env, b->id, &e2);
                odbk_catalog_backup_set_status(cat, b->id, ODBK_BACKUP_FAILED, why, &e2);
            }
            odbk_storage_close(st);
            a.action = "reap";
            a.backup_id = b->id;
            a.env = b->env;
            a.result = "ok";
            a.detail = complete ? odbk_xasprintf("%s after storing its manifest: completed, not verified", why)
                                : odbk_xstrdup(why);
            odbk_catalog_audit_add(cat, &a, &e2);
            free(a.detail);
            free(why);
            reaped++;
        }
        odbk_backup_list_free(v, n);
    }
    return reaped;
}

int odbk_backup_env_known(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *env,
                          struct odbk_err *err)
{
    const char **names = NULL;
    size_t n = odbk_config_env_names(cfg, &names), i, nv = 0;
    const char *one[2] = {env, NULL}, *dym;
    struct odbk_backup_filter f = {0};
    struct odbk_backup *v = NULL;
    for (i = 0; i < n && strcmp(names[i], env); i++)
        ;
    f.envs = one;
    f.limit = 1;
    if (i < n || odbk_catalog_backup_list(cat, &f, &v, &nv, err) < 0 || nv) {
        odbk_backup_list_free(v, nv);
        free(names);
        return i < n || nv ? 0 : -1;
    }
    dym = odbk_did_you_mean(env, names);
    odbk_err_set(err, ODBK_E_CONFIG, "unknown environment '%s'%s%s%s", env, dym ? " (did you mean '" : "",
                 dym ? dym : "", dym ? "'?)" : "");
    odbk_err_hint(err, "odbk-list --envs lists the environments");
    free(names);
    return -1;
}

int odbk_backup_names_known(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *const *envs,
                            size_t n_envs, const char *project, struct odbk_err *err)
{
    const char **names = NULL, **projects;
    size_t n, i, np = 0, k;
    int rc = 0, known = 0;
    for (k = 0; k < n_envs; k++)
        if (odbk_backup_env_known(cfg, cat, envs[k], err) < 0)
            return -1;
    if (!project)
        return 0;
    n = odbk_config_env_names(cfg, &names);
    projects = odbk_xcalloc(n + 1, sizeof(char *));
    for (i = 0; i < n; i++) {
        struct odbk_env e;
        struct odbk_err ee = {0};
        if (odbk_config_env(cfg, names[i], &e, &ee) < 0)
            continue;
        if (*e.project) {
            known |= !strcmp(e.project, project);
            projects[np++] = odbk_xstrdup(e.project);
        }
        odbk_env_release(&e);
    }
    if (!known) {
        struct odbk_backup_filter f = {0};
        struct odbk_backup *v = NULL;
        size_t nv = 0;
        f.project = project;
        f.limit = 1;
        if (odbk_catalog_backup_list(cat, &f, &v, &nv, err) < 0)
            rc = -1;
        odbk_backup_list_free(v, nv);
        if (rc == 0 && !nv) {
            const char *dym = odbk_did_you_mean(project, projects);
            odbk_err_set(err, ODBK_E_CONFIG, "unknown project '%s'%s%s%s", project, dym ? " (did you mean '" : "",
                         dym ? dym : "", dym ? "'?)" : "");
            odbk_err_hint(err, "the project key of [env] sections names the projects");
            rc = -1;
        }
    }
    for (i = 0; i < np; i++)
        free((char *)projects[i]);
    free(projects);
    free(names);
    return rc;
}

struct cJSON *odbk_backup_json(const struct odbk_backup *b)
{
    cJSON *o = cJSON_CreateObject();
    char t[32];
    cJSON_AddStringToObject(o, "id", b->id);
    cJSON_AddStringToObject(o, "uuid", b->uuid ? b->uuid : "");
    cJSON_AddStringToObject(o, "env", b->env);
    cJSON_AddStringToObject(o, "project", b->project ? b->project : "");
    cJSON_AddStringToObject(o, "database", b->database ? b->database : "");
    cJSON_AddStringToObject(o, "storage", b->storage ? b->storage : "");
    cJSON_AddStringToObject(o, "type", odbk_type_name(b->type));
    cJSON_AddStringToObject(o, "format", odbk_format_name(b->format));
    cJSON_AddStringToObject(o, "compression", b->compression ? b->compression : "");
    if (b->key_id && *b->key_id)
        cJSON_AddStringToObject(o, "key_id", b->key_id);
    cJSON_AddStringToObject(o, "status", odbk_status_name(b->status));
    cJSON_AddBoolToObject(o, "verified", b->verified);
    if (b->verified && odbk_vocab_name(&odbk_vocab_verified, b->verified))
        cJSON_AddStringToObject(o, "verified_by", odbk_vocab_name(&odbk_vocab_verified, b->verified));
    else
        cJSON_AddNullToObject(o, "verified_by");
    odbk_time_rfc3339(b->created_at, t);
    cJSON_AddStringToObject(o, "created_at", t);
    if (b->finished_at) {
        odbk_time_rfc3339(b->finished_at, t);
        cJSON_AddStringToObject(o, "finished_at", t);
    } else {
        cJSON_AddNullToObject(o, "finished_at");
    }
    cJSON_AddNumberToObject(o, "size", (double)b->total_size);
    /* what a restore reads (an incremental filestore: every pack it references), and what it added */
    cJSON_AddNumberToObject(o, "size_bytes", (double)b->total_size);
    cJSON_AddNumberToObject(o, "added_bytes", (double)b->added_bytes);
    cJSON_AddNumberToObject(o, "db_size", (double)b->db_size);
    cJSON_AddNumberToObject(o, "filestore_size", (double)b->fs_size);
    cJSON_AddBoolToObject(o, "has_filestore", b->has_filestore);
    cJSON_AddStringToObject(o, "retention", odbk_tier_name(b->retention));
    cJSON_AddStringToObject(o, "comment", b->comment ? b->comment : "");
    cJSON_AddStringToObject(o, "odoo_version", b->odoo_version ? b->odoo_version : "");
    if (b->error)
        cJSON_AddStringToObject(o, "error", b->error);
    else
        cJSON_AddNullToObject(o, "error");
    return o;
}

/* ---- rescan ---- */

#define RESCAN_BATCH 1000

/* What one storage's listing holds: every object with its size, sorted by key (to look files up). */
struct rescan {
    struct odbk_storage_entry *objs;
    size_t n, cap;
};

static int listing_cb(void *ctx, const struct odbk_storage_entry *e)
{
    struct rescan *r = ctx;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->objs = odbk_xrealloc(r->objs, r->cap * sizeof(*r->objs));
    }
    r->objs[r->n] = *e;
    r->objs[r->n++].path = odbk_xstrdup(e->path);
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct odbk_storage_entry *)a)->path, ((const struct odbk_storage_entry *)b)->path);
}

static const struct odbk_storage_entry *listing_find(const struct rescan *r, const char *key)
{
    struct odbk_storage_entry k = {(char *)key, 0, 0};
    return r->n ? bsearch(&k, r->objs, r->n, sizeof(*r->objs), entry_cmp) : NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && !strcmp(s + n - k, suffix);
}

/* An id as odbk_backup_new_id makes it: YYYYMMDDTHHMMSSZ-xxxxxx. */
static int id_ok(const char *id)
{
    return odbk_backup_id_ok(id);
}

static int one_of(const char *s, const char *const *v)
{
    for (; *v; v++)
        if (!strcmp(s, *v))
            return 1;
    return 0;
}

/* Every field of a manifest found at key, and every file it lists against the listing. */
static int manifest_check(const struct odbk_manifest *m, const char *key, const struct rescan *rs,
                          struct odbk_err *err)
{
    static const char *const roles[] = {"database", "filestore", "archive", "filelist", NULL};
    static const char *const comps[] = {"gzip", "zstd", "none", "zip", "pg_custom", NULL};
    const char *slash = strchr(key, '/');
    const struct odbk_format_ops *fmt;
    char *expect;
    size_t i, j;
    int r = 0;
    if (!id_ok(m->id))
        return odbk_err_set(err, ODBK_E_DATA, "id '%s' is not an odbk backup id", m->id);
    if (!slash || (size_t)(slash - key) != strlen(m->env) || strncmp(key, m->env, strlen(m->env)))
        return odbk_err_set(err, ODBK_E_DATA, "its env '%s' is not the env of its folder", m->env);
    expect = odbk_xasprintf("%s/%s/backup-%s-manifest.json", m->env, m->id, m->id);
    if (strcmp(expect, key))
        r = odbk_err_set(err, ODBK_E_DATA, "its id '%s' does not match its name (expected %s)", m->id, expect);
    free(expect);
    if (r < 0)
        return r;
    fmt = odbk_format_of(m->format);   /* type, format and retention: odbk_manifest_parse checked them */
    if (!m->created_at || !m->finished_at || m->finished_at < m->created_at)
        return odbk_err_set(err, ODBK_E_DATA, "created_at and finished_at are missing or out of order");
    for (i = 0; i < m->n_files; i++) {
        const struct odbk_manifest_file *f = &m->files[i];
        const struct odbk_storage_entry *e;
        char *fkey;
        if (!one_of(f->role, roles))
            return odbk_err_set(err, ODBK_E_DATA, "file '%s' has an unknown role '%s'", f->name, f->role);
        if (!one_of(f->compression, comps))
            return odbk_err_set(err, ODBK_E_DATA, "file '%s' has an unknown compression '%s'", f->name,
                                f->compression);
        for (j = 0; j < i; j++)
            if (!strcmp(m->files[j].name, f->name) || !strcmp(m->files[j].role, f->role))
                return odbk_err_set(err, ODBK_E_DATA, "file '%s' or its role is listed twice", f->name);
        fkey = odbk_backup_file_key(m->env, m->id, f->name);
        e = listing_find(rs, fkey);
        free(fkey);
        if (!e)
            return odbk_err_set(err, ODBK_E_DATA, "file '%s' is missing from storage", f->name);
        if (e->size != f->size)
            return odbk_err_set(err, ODBK_E_DATA, "file '%s' has %llu bytes in storage, the manifest says %llu",
                                f->name, (unsigned long long)e->size, (unsigned long long)f->size);
    }
    if (!odbk_manifest_file_by_role(m, fmt->main_role))
        return odbk_err_set(err, ODBK_E_DATA, "it lists no %s file", fmt->main_role);
    /* an incremental filestore: its list, and every pack it references in the env's packs/ */
    if ((m->filestore_mode == ODBK_FILESTORE_INCREMENTAL) != (odbk_manifest_file_by_role(m, "filelist") != NULL))
        return odbk_err_set(err, ODBK_E_DATA, "its filestore_mode is %s but it lists %s file list",
                            odbk_filestore_mode_name(m->filestore_mode),
                            m->filestore_mode == ODBK_FILESTORE_INCREMENTAL ? "no" : "a");
    if (m->filestore_mode == ODBK_FILESTORE_INCREMENTAL && odbk_manifest_file_by_role(m, "filestore"))
        return odbk_err_set(err, ODBK_E_DATA, "it is incremental but lists a filestore tar");
    for (i = 0; i < m->n_packs; i++) {
        const struct odbk_manifest_pack *p = &m->packs[i];
        char *pkey = odbk_pack_key(m->env, p->name);
        const struct odbk_storage_entry *e = listing_find(rs, pkey);
        free(pkey);
        if (!e)
            return odbk_err_set(err, ODBK_E_DATA, "pack '%s' is missing from storage (%s/%s/)", p->name, m->env,
                                ODBK_PACKS_DIR);
        if (e->size != p->size)
            return odbk_err_set(err, ODBK_E_DATA, "pack '%s' has %llu bytes in storage, the manifest says %llu",
                                p->name, (unsigned long long)e->size, (unsigned long long)p->size);
    }
    return 0;
}

/* Is key in an env's packs/ folder ("ENV/packs/...")?  Never a backup's: a rescan reads no manifest there. */
static int in_packs(const char *key)
{
    const char *slash = strchr(key, '/');
    size_t n = strlen(ODBK_PACKS_DIR);
    return slash && !strncmp(slash + 1, ODBK_PACKS_DIR, n) && slash[1 + n] == '/';
}

static void note(struct odbk_rescan_result *res, const char *fmt, ...) ODBK_PRINTF(2, 3);
static void note(struct odbk_rescan_result *res, const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    res->msgs = odbk_xrealloc(res->msgs, (res->n_msgs + 1) * sizeof(char *));
    res->msgs[res->n_msgs++] = s;
}

/* One storage's rescan.  The listing is read first (one thread: storage.h); then RESCAN_READERS threads
 * read, parse and check the manifests (the readers of one storage may run in different threads), at most
 * RESCAN_WINDOW ahead of this thread, which imports them in key order, RESCAN_BATCH rows a transaction:
 * no storage request runs while the catalog's write lock is held, so another odbk process waits for a
 * batch at most, never for the network. */
#define RESCAN_READERS 8
#define RESCAN_WINDOW (2 * RESCAN_BATCH)

struct slot {
    int ready;                 /* read by a reader (under mu) */
    int ok;                    /* b holds the manifest's row; else why (malloc'd) says why it is skipped */
    struct odbk_backup b;
    char *why;
};

struct scan {
    const char *name;
    struct odbk_storage *st;
    struct rescan rs;
    size_t *keys, n_keys;      /* the manifests: indexes into rs.objs, in key order */
    struct slot *slots;        /* RESCAN_WINDOW of them: key i in slots[i % RESCAN_WINDOW] */
    pthread_mutex_t mu;
    pthread_cond_t ready, room;
    size_t next;               /* the next key a reader takes */
    size_t taken;              /* keys this thread has taken out of their slots */
    int stop;
};

/* Read, parse and check one manifest into sl (a reader thread) */
static void read_manifest(struct scan *sc, const struct odbk_storage_entry *e, struct slot *sl)
{
    struct odbk_err e2 = {0};
    struct odbk_manifest m;
    char *json = NULL;
    if (e->size > (16 << 20)) {
        sl->why = odbk_xasprintf("a manifest of %llu bytes is not plausible", (unsigned long long)e->size);
        return;
    }
    /* a foreign or damaged file: reported, and the others go on */
    if (odbk_storage_get(sc->st, e->path, 16 << 20, &json, NULL, &e2) < 0 ||
        odbk_manifest_parse(json, e->path, &m, &e2) < 0) {
        sl->why = odbk_xstrdup(e2.msg);
        free(json);
        return;
    }
    if (manifest_check(&m, e->path, &sc->rs, &e2) < 0) {
        sl->why = odbk_xstrdup(e2.msg);
        free(json);
    } else {
        odbk_backup_from_manifest(&m, json, sc->name, &sl->b);   /* takes json */
        sl->ok = 1;
    }
    odbk_manifest_release(&m);
}

static void *reader(void *arg)
{
    struct scan *sc = arg;
    for (;;) {
        size_t i;
        struct slot *sl;
        pthread_mutex_lock(&sc->mu);
        while (!sc->stop && sc->next < sc->n_keys && sc->next >= sc->taken + RESCAN_WINDOW)
            pthread_cond_wait(&sc->room, &sc->mu);
        if (sc->stop || sc->next >= sc->n_keys) {
            pthread_mutex_unlock(&sc->mu);
            return NULL;
        }
        i = sc->next++;
        pthread_mutex_unlock(&sc->mu);
        sl = &sc->slots[i % RESCAN_WINDOW];
        read_manifest(sc, &sc->rs.objs[sc->keys[i]], sl);
        pthread_mutex_lock(&sc->mu);
        sl->ready = 1;
        pthread_cond_broadcast(&sc->ready);
        pthread_mutex_unlock(&sc->mu);
    }
}

/* The rows of one batch into the catalog, one transaction; a known id's row stands (it keeps verified,
 * expired): a copy elsewhere or with other content is a conflict for a person to look at, never a silent
 * re-pointing. */
static int import_batch(struct odbk_catalog *cat, const char *name, struct odbk_backup *rows, size_t n,
                        struct odbk_rescan_result *res, struct odbk_err *err)
{
    struct odbk_err ignored = {0};
    int found = 0, imported = 0, r = 0;
    size_t i;
    if (!n)
        return 0;
    if (odbk_catalog_batch_begin(cat, err) < 0)
        return -1;
    for (i = 0; i < n && r == 0; i++) {
        char *known = NULL, *mname, *key;
        int same = 0;
        r = odbk_catalog_backup_import(cat, &rows[i], &known, &same, err);
        if (r == 0) {
            found++;
            imported++;
        } else if (r == 1 && same && !strcmp(known, name)) {
            found++;
        } else if (r == 1) {
            mname = odbk_backup_manifest_name(rows[i].id);
            key = odbk_backup_file_key(rows[i].env, rows[i].id, mname);
            if (strcmp(known, name))
                note(res, "conflict: backup %s in storage '%s' (%s) is already known from storage '%s': not applied",
                     rows[i].id, name, key, known);
            else
                note(res, "conflict: backup %s in storage '%s' (%s) differs from the manifest the catalog holds: "
                     "not applied", rows[i].id, name, key);
            res->conflicts++;
            free(key);
            free(mname);
        }
        free(known);
        if (r == 1)
            r = 0;
    }
    if (r < 0) {
        odbk_catalog_batch_end(cat, 0, &ignored);
        return -1;
    }
    if (odbk_catalog_batch_end(cat, 1, err) < 0)
        return -1;
    res->found += found;
    res->imported += imported;
    return 0;
}

static double seconds_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* -1 with err: the storage could not be scanned (*catalog_failed 0), or the catalog not written (1) */
static int rescan_storage(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *name,
                          const struct odbk_report *report, struct odbk_rescan_result *res, int *catalog_failed,
                          struct odbk_err *err)
{
    struct scan sc = {0};
    struct odbk_backup *batch = odbk_xcalloc(RESCAN_BATCH, sizeof(*batch));
    pthread_t threads[RESCAN_READERS];
    size_t i, n_batch = 0, n_threads = 0;
    struct timespec shown;
    char *phase = odbk_xasprintf("rescan %s", name);
    int r, found = res->found;
    *catalog_failed = 0;
    sc.name = name;
    pthread_mutex_init(&sc.mu, NULL);
    pthread_cond_init(&sc.ready, NULL);
    pthread_cond_init(&sc.room, NULL);
    odbk_report_count(report, phase, ODBK_PHASE_STARTED, 0, 0, "manifests", NULL);
    r = odbk_backup_storage_open(cfg, cat, name, 1, &sc.st, err);
    if (r == 0)
        r = odbk_storage_list(sc.st, "", listing_cb, &sc.rs, err);
    if (r == 0 && sc.rs.n)
        qsort(sc.rs.objs, sc.rs.n, sizeof(*sc.rs.objs), entry_cmp);
    if (r == 0) {
        sc.keys = odbk_xcalloc(sc.rs.n ? sc.rs.n : 1, sizeof(*sc.keys));
        for (i = 0; i < sc.rs.n; i++)
            if (ends_with(sc.rs.objs[i].path, "-manifest.json") && !in_packs(sc.rs.objs[i].path))
                sc.keys[sc.n_keys++] = i;
        odbk_report_count(report, phase, ODBK_PHASE_RUNNING, 0, sc.n_keys, "manifests", NULL);   /* listed */
        sc.slots = odbk_xcalloc(RESCAN_WINDOW, sizeof(*sc.slots));
        for (i = 0; i < RESCAN_READERS && i < sc.n_keys; i++, n_threads++)
            if (pthread_create(&threads[i], NULL, reader, &sc) != 0)
                break;
        if (sc.n_keys && !n_threads)
            r = odbk_err_set(err, ODBK_E_OSERR, "storage '%s': cannot start a thread to read its manifests", name);
    }
    clock_gettime(CLOCK_MONOTONIC, &shown);
    for (i = 0; r == 0 && i < sc.n_keys; i++) {
        const struct odbk_storage_entry *e = &sc.rs.objs[sc.keys[i]];
        struct slot *sl = &sc.slots[i % RESCAN_WINDOW];
        pthread_mutex_lock(&sc.mu);
        while (!sl->ready)
            pthread_cond_wait(&sc.ready, &sc.mu);
        pthread_mutex_unlock(&sc.mu);
        if (sl->ok) {
            batch[n_batch++] = sl->b;
        } else {
            note(res, "skipping %s in storage '%s': %s", e->path, name, sl->why);
            res->skipped++;
            free(sl->why);
        }
        memset(sl, 0, sizeof(*sl));
        pthread_mutex_lock(&sc.mu);
        sc.taken = i + 1;
        pthread_cond_broadcast(&sc.room);
        pthread_mutex_unlock(&sc.mu);
        if (n_batch == RESCAN_BATCH || i + 1 == sc.n_keys) {
            r = import_batch(cat, name, batch, n_batch, res, err);
            *catalog_failed = r < 0;
            while (n_batch)
                odbk_backup_release(&batch[--n_batch]);
        }
        if (report && seconds_since(&shown) >= 0.2) {   /* a redraw per manifest would cost more than its read */
            odbk_report_count(report, phase, ODBK_PHASE_RUNNING, i + 1, sc.n_keys, "manifests", NULL);
            clock_gettime(CLOCK_MONOTONIC, &shown);
        }
    }
    pthread_mutex_lock(&sc.mu);
    sc.stop = 1;
    pthread_cond_broadcast(&sc.room);
    pthread_mutex_unlock(&sc.mu);
    for (i = 0; i < n_threads; i++)
        pthread_join(threads[i], NULL);
    while (n_batch)
        odbk_backup_release(&batch[--n_batch]);
    for (i = 0; sc.slots && i < RESCAN_WINDOW; i++) {   /* read ahead of a failure */
        odbk_backup_release(&sc.slots[i].b);
        free(sc.slots[i].why);
    }
    if (r == 0 && res->found > found)   /* it holds odbk backups: its marker, if its open found none */
        r = odbk_backup_storage_mark(sc.st, err);
    odbk_report_count(report, phase, r == 0 ? ODBK_PHASE_FINISHED : ODBK_PHASE_FAILED, sc.taken, sc.n_keys,
                      "manifests", r == 0 ? NULL : err->msg);
    for (i = 0; i < sc.rs.n; i++)
        free(sc.rs.objs[i].path);
    free(sc.rs.objs);
    free(sc.keys);
    free(sc.slots);
    free(batch);
    free(phase);
    pthread_cond_destroy(&sc.room);
    pthread_cond_destroy(&sc.ready);
    pthread_mutex_destroy(&sc.mu);
    odbk_storage_close(sc.st);
    return r;
}

void odbk_rescan_result_release(struct odbk_rescan_result *res)
{
    size_t i;
    for (i = 0; i < res->n_msgs; i++)
        free(res->msgs[i]);
    free(res->msgs);
    memset(res, 0, sizeof(*res));
}

int odbk_backup_rescan(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct odbk_rescan_opts *opts,
                       struct odbk_rescan_result *res, struct odbk_err *err)
{
    const char *storage = opts ? opts->storage : NULL;
    struct odbk_report report = {0};
    struct odbk_err first = {0};
    size_t i, tried = 0;
    int catalog_failed = 0;
    memset(res, 0, sizeof(*res));
    if (storage && !odbk_config_find(cfg, "storage", storage))
        return odbk_err_set(err, ODBK_E_CONFIG, "unknown storage '%s'", storage);
    if (opts && opts->progress)
        odbk_report_run_begin(&report, opts->progress, opts->progress_ctx, NULL, NULL);
    for (i = 0; i < cfg->n_sections && !catalog_failed; i++) {
        const struct odbk_config_section *s = &cfg->sections[i];
        struct odbk_err e2 = {0};
        if (strcmp(s->kind, "storage") || (storage && strcmp(storage, s->name)))
            continue;
        tried++;
        /* a storage that fails (down, not mounted) is reported, and the others are scanned */
        if (rescan_storage(cfg, cat, s->name, opts && opts->progress ? &report : NULL, res, &catalog_failed,
                           &e2) < 0) {
            if (catalog_failed) {
                first = e2;
                break;
            }
            {
                char *own = odbk_xasprintf("storage '%s'", s->name);
                if (!strncmp(e2.msg, own, strlen(own)))   /* the message names it already */
                    note(res, "%s (not scanned)", e2.msg);
                else
                    note(res, "%s not scanned: %s", own, e2.msg);
                free(own);
            }
            if (!res->failed++)
                first = e2;
        }
    }
    if (catalog_failed) {   /* nothing more can be written: not even the audit entry */
        *err = first;
        odbk_report_run_end(&report, -1, 0, err);
        return -1;
    }
    {
        struct odbk_audit a = {0};
        struct odbk_err e2;
        char detail[160];
        snprintf(detail, sizeof(detail), "%d backups found, %d imported, %d skipped, %d conflicts, %d storages failed",
                 res->found, res->imported, res->skipped, res->conflicts, res->failed);
        a.action = "rescan";
        a.target = (char *)storage;
        a.result = res->failed == (int)tried && tried ? "failed"
                   : res->failed || res->skipped || res->conflicts ? "partial" : "ok";
        a.detail = detail;
        odbk_catalog_audit_add(cat, &a, &e2);
    }
    if (res->failed) {   /* the first failure's kind gives the exit code (69 unreachable, 74 not mounted...) */
        odbk_err_set(err, first.code, "%d of %zu storage%s could not be scanned, the first: %s", res->failed, tried,
                     tried == 1 ? "" : "s", first.msg);
        if (*first.hint)
            odbk_err_hint(err, "%s", first.hint);
        odbk_report_run_end(&report, -1, 0, err);
        return -1;
    }
    odbk_report_run_end(&report, 0, 0, err);
    return 0;
}
