/* common.c - what create, restore, prune and download share: ids, keys, manifests, stale runs. */
#include "backup/backup.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdio.h>
#include <cJSON.h>

#include "backup/format.h"
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

int odbk_backup_valid_type(const char *s)
{
    return odbk_vocab_find(&odbk_vocab_type, s) >= 0;
}

int odbk_backup_valid_tier(const char *s)
{
    return odbk_vocab_find(&odbk_vocab_tier, s) >= 0;
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

int odbk_backup_storage_open(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *name,
                             struct odbk_storage **out, struct odbk_err *err)
{
    const struct odbk_config_section *sec;
    const struct odbk_config_kv *kv;
    struct odbk_backup_filter f = {0};
    struct odbk_backup *v = NULL;
    size_t known = 0;
    int r;
    if (odbk_storage_open(cfg, name, out, err) < 0)
        return -1;
    f.storage = name;
    f.status = ODBK_STATUS_COMPLETED;
    if (cat && odbk_catalog_backup_list(cat, &f, &v, &known, err) < 0)
        goto fail;
    odbk_backup_list_free(v, known);
    sec = odbk_config_find(cfg, "storage", name);
    kv = sec ? odbk_config_get_kv(sec, "path") : NULL;
    r = odbk_storage_marker_check(*out, kv ? kv->value : name, known, err);
    if (r == 2) {   /* a storage of before the marker: it gets one, nobody is locked out */
        char id[40];
        odbk_backup_new_uuid(id);
        r = odbk_storage_marker_write(*out, id, err);
    }
    if (r >= 0)
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
    if (strcmp(st->driver->type, "local")) {
        r = odbk_err_set(err, ODBK_E_USAGE, "storage '%s' is of type %s, which has no marker (local storage only)",
                         name, st->driver->type);
    } else {
        r = odbk_backup_storage_mark(st, err);
    }
    odbk_storage_close(st);
    return r;
}

int odbk_backup_storage_mark(struct odbk_storage *st, struct odbk_err *err)
{
    char id[40];
    int r = odbk_storage_marker_check(st, "", 0, err);
    if (r != 1)
        return r < 0 ? -1 : 0;
    odbk_backup_new_uuid(id);
    return odbk_storage_marker_write(st, id, err);
}

/* Remove every object of a backup's folder and abort its unfinished multipart uploads (they belong to
 * this backup alone: its folder is its own); what cannot be removed now is recorded for later runs. */
int odbk_backup_remove_objects(struct odbk_catalog *cat, struct odbk_storage *st, const char *storage,
                               const char *env, const char *id, struct odbk_err *err)
{
    char *folder = odbk_backup_folder(env, id);
    struct odbk_err e2 = {0};
    int swept = 0, r = -1;
    /* a future cut-off: every upload of the folder, whatever the store's clock says */
    if (st && odbk_storage_remove_prefix(st, folder, err) == 0 &&
        odbk_storage_sweep(st, folder, odbk_now() + 86400, &swept, err) == 0) {
        odbk_catalog_removal_done(cat, storage, folder, &e2);
        r = 0;
    } else {
        if (!st && !err->code)
            odbk_err_set(err, ODBK_E_UNAVAILABLE, "storage '%s' cannot be opened", storage);
        odbk_catalog_removal_add(cat, storage, folder, id, err->msg, &e2);
    }
    free(folder);
    return r;
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
        if (odbk_backup_storage_open(cfg, cat, v[i].storage, &st, &e2) == 0 && odbk_storage_remove_prefix(st, v[i].prefix, &e2) == 0 &&
            odbk_storage_sweep(st, v[i].prefix, odbk_now() + 86400, &swept, &e2) == 0) {
            odbk_catalog_removal_done(cat, v[i].storage, v[i].prefix, &e2);
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

/* The catalog row a manifest describes (status completed, not verified); json is kept as its manifest. */
static void backup_from_manifest(const struct odbk_manifest *m, char *json, const char *storage, struct odbk_backup *b)
{
    size_t k;
    memset(b, 0, sizeof(*b));
    b->id = odbk_xstrdup(m->id);
    b->uuid = odbk_xstrdup(m->uuid);
    b->env = odbk_xstrdup(m->env);
    b->project = odbk_xstrdup(m->project);
    b->database = odbk_xstrdup(m->database);
    b->storage = odbk_xstrdup(storage);
    b->type = odbk_xstrdup(m->type);
    b->format = odbk_xstrdup(m->format);
    b->compression = odbk_xstrdup(m->n_files ? m->files[0].compression : "");
    b->status = odbk_xstrdup(ODBK_STATUS_COMPLETED);
    b->created_at = m->created_at;
    b->finished_at = m->finished_at;
    for (k = 0; k < m->n_files; k++) {
        if (!strcmp(m->files[k].role, "filestore")) {
            b->fs_size = m->files[k].size;
            b->has_filestore = 1;
        } else {
            b->db_size += m->files[k].size;
        }
        b->total_size += m->files[k].size;
    }
    b->total_size += strlen(json);
    b->comment = odbk_xstrdup(m->comment);
    b->retention = odbk_xstrdup(m->retention);
    b->host = odbk_xstrdup(m->host);
    b->odoo_version = odbk_xstrdup(m->odoo_version);
    b->pg_version = odbk_xstrdup(m->pg_server_version);
    b->key_id = odbk_xstrdup(m->key_id ? m->key_id : "");
    b->manifest = json;
}

/* A run that died after storing its manifest made a complete backup: when the manifest is there and
 * every file it lists is stored with its size, the row becomes completed (not verified: nothing was
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
    if (r != 0) {
        free(json);
        odbk_manifest_release(&m);
        if (r == 1)
            odbk_err_clear(err);
        return r == 1 ? 0 : -1;
    }
    backup_from_manifest(&m, json, b->storage, &done);
    free(done.type);
    done.type = odbk_xstrdup(b->type);
    done.verified = 0;
    r = odbk_catalog_backup_update(cat, &done, err);
    odbk_backup_release(&done);
    odbk_manifest_release(&m);
    return r < 0 ? -1 : 1;
}

#define STALE_SECONDS (30 * 60)

int odbk_backup_reap_stale(const struct odbk_config *cfg, struct odbk_catalog *cat, struct odbk_err *err)
{
    const char *states[] = {ODBK_STATUS_PENDING, ODBK_STATUS_IN_PROGRESS, ODBK_STATUS_UPLOADING, NULL};
    time_t now = odbk_now();
    int reaped = 0;
    size_t s, i;
    for (s = 0; states[s]; s++) {
        struct odbk_backup_filter f = {0};
        struct odbk_backup *v = NULL;
        size_t n = 0;
        f.status = states[s];
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
            if (live || (!dead && now - beat < STALE_SECONDS))
                continue;
            why = dead ? odbk_xasprintf("interrupted: process %ld on %s is gone", b->pid, b->host)
                       : odbk_xasprintf("interrupted: no heartbeat since %ld minutes", (long)((now - beat) / 60));
            odbk_backup_storage_open(cfg, cat, b->storage, &st, &e2);
            /* an uploading run may have stored its manifest: a storage that will not open now (a secret
             * unreadable, a section renamed) cannot tell, so decide at a later run, never fail it blind (its
             * removal would delete a complete backup once the storage is back) */
            if (!st && !strcmp(b->status, ODBK_STATUS_UPLOADING)) {
                free(why);
                continue;
            }
            if (st && !strcmp(b->status, ODBK_STATUS_UPLOADING))   /* the manifest may be stored */
                complete = finish_complete(st, cat, b, &e2);
            if (complete < 0) {   /* the store cannot tell now: decide at a later run */
                odbk_storage_close(st);
                free(why);
                continue;
            }
            if (!complete) {
                odbk_backup_remove_objects(cat, st, b->storage, b->env, b->id, &e2);
                odbk_catalog_backup_set_status(cat, b->id, ODBK_STATUS_FAILED, why, &e2);
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
    cJSON_AddStringToObject(o, "type", b->type ? b->type : "");
    cJSON_AddStringToObject(o, "format", b->format ? b->format : "");
    cJSON_AddStringToObject(o, "compression", b->compression ? b->compression : "");
    if (b->key_id && *b->key_id)
        cJSON_AddStringToObject(o, "key_id", b->key_id);
    cJSON_AddStringToObject(o, "status", b->status ? b->status : "");
    cJSON_AddBoolToObject(o, "verified", b->verified);
    odbk_time_rfc3339(b->created_at, t);
    cJSON_AddStringToObject(o, "created_at", t);
    if (b->finished_at) {
        odbk_time_rfc3339(b->finished_at, t);
        cJSON_AddStringToObject(o, "finished_at", t);
    } else {
        cJSON_AddNullToObject(o, "finished_at");
    }
    cJSON_AddNumberToObject(o, "size", (double)b->total_size);
    cJSON_AddNumberToObject(o, "db_size", (double)b->db_size);
    cJSON_AddNumberToObject(o, "filestore_size", (double)b->fs_size);
    cJSON_AddBoolToObject(o, "has_filestore", b->has_filestore);
    cJSON_AddStringToObject(o, "retention", b->retention ? b->retention : "");
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
    size_t i;
    if (strlen(id) != 23 || id[8] != 'T' || id[15] != 'Z' || id[16] != '-')
        return 0;
    for (i = 0; i < 23; i++)
        if (i != 8 && i != 15 && i != 16 && !(i < 16 ? isdigit((unsigned char)id[i]) : isxdigit((unsigned char)id[i])))
            return 0;
    return 1;
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
    static const char *const roles[] = {"database", "filestore", "archive", NULL};
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
    if (!odbk_backup_valid_type(m->type))
        return odbk_vocab_error(&odbk_vocab_type, m->type, ODBK_E_DATA, err);
    if (!(fmt = odbk_format_find(m->format)))   /* the registry's names are odbk_vocab_format's */
        return odbk_vocab_error(&odbk_vocab_format, m->format, ODBK_E_DATA, err);
    if (*m->retention && !odbk_backup_valid_tier(m->retention))
        return odbk_vocab_error(&odbk_vocab_tier, m->retention, ODBK_E_DATA, err);
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
    return 0;
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

static int rescan_storage(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *name,
                          struct odbk_rescan_result *res, struct odbk_err *err)
{
    struct odbk_storage *st = NULL;
    struct rescan rs = {0};
    size_t i, batched = 0;
    int r, in_batch = 0, found = res->found;
    if (odbk_backup_storage_open(cfg, cat, name, &st, err) < 0)
        return -1;
    r = odbk_storage_list(st, "", listing_cb, &rs, err);
    if (r == 0 && rs.n)
        qsort(rs.objs, rs.n, sizeof(*rs.objs), entry_cmp);
    /* the imports go in batches of RESCAN_BATCH rows, each one transaction (a commit per row wrote the
     * WAL 15 times a row); a failure keeps the batches before it, which a new rescan finds known */
    if (r == 0 && (r = odbk_catalog_batch_begin(cat, err)) == 0)
        in_batch = 1;
    for (i = 0; i < rs.n && r == 0; i++) {
        const char *key = rs.objs[i].path;
        char *json = NULL;
        struct odbk_manifest m;
        struct odbk_backup b, old;
        struct odbk_err e2 = {0};
        if (!ends_with(key, "-manifest.json"))
            continue;
        if (rs.objs[i].size > (16 << 20)) {
            note(res, "skipping %s in storage '%s': a manifest of %llu bytes is not plausible", key, name,
                 (unsigned long long)rs.objs[i].size);
            res->skipped++;
            continue;
        }
        if (odbk_storage_get(st, key, 16 << 20, &json, NULL, &e2) < 0 || odbk_manifest_parse(json, key, &m, &e2) < 0) {
            /* a foreign or damaged file: report it and go on with the others */
            note(res, "skipping %s in storage '%s': %s", key, name, e2.msg);
            res->skipped++;
            free(json);
            continue;
        }
        if (manifest_check(&m, key, &rs, &e2) < 0) {
            note(res, "skipping %s in storage '%s': %s", key, name, e2.msg);
            res->skipped++;
            free(json);
            odbk_manifest_release(&m);
            continue;
        }
        if (odbk_catalog_backup_get(cat, m.id, &old, &e2) == 0 && !strcmp(old.id, m.id)) {
            /* a known id: the catalog's row stands (it keeps verified, expired); a copy elsewhere or with
             * other content is a conflict for a person to look at, never a silent re-pointing */
            if (strcmp(old.storage, name))
                note(res, "conflict: backup %s in storage '%s' (%s) is already known from storage '%s': not applied",
                     m.id, name, key, old.storage);
            else if (!old.manifest || strcmp(old.manifest, json))
                note(res, "conflict: backup %s in storage '%s' (%s) differs from the manifest the catalog holds: "
                     "not applied", m.id, name, key);
            else
                res->found++;
            if (strcmp(old.storage, name) || !old.manifest || strcmp(old.manifest, json))
                res->conflicts++;
            odbk_backup_release(&old);
            free(json);
            odbk_manifest_release(&m);
            continue;
        }
        backup_from_manifest(&m, json, name, &b);
        r = odbk_catalog_backup_upsert(cat, &b, err);
        res->found++;
        res->imported++;
        odbk_backup_release(&b);
        odbk_manifest_release(&m);
        if (r == 0 && ++batched == RESCAN_BATCH) {
            batched = 0;
            in_batch = 0;
            if ((r = odbk_catalog_batch_end(cat, 1, err)) == 0 && (r = odbk_catalog_batch_begin(cat, err)) == 0)
                in_batch = 1;
        }
    }
    if (in_batch) {
        struct odbk_err ignored = {0};
        if (odbk_catalog_batch_end(cat, r == 0, r == 0 ? err : &ignored) < 0)
            r = -1;
    }
    if (r == 0 && res->found > found)   /* it holds odbk backups: its marker, if it had none */
        r = odbk_backup_storage_mark(st, err);
    for (i = 0; i < rs.n; i++)
        free(rs.objs[i].path);
    free(rs.objs);
    odbk_storage_close(st);
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

int odbk_backup_rescan(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *storage,
                       struct odbk_rescan_result *res, struct odbk_err *err)
{
    size_t i;
    memset(res, 0, sizeof(*res));
    if (storage && !odbk_config_find(cfg, "storage", storage))
        return odbk_err_set(err, ODBK_E_CONFIG, "unknown storage '%s'", storage);
    for (i = 0; i < cfg->n_sections; i++) {
        const struct odbk_config_section *s = &cfg->sections[i];
        struct odbk_err e2 = {0};
        if (strcmp(s->kind, "storage") || (storage && strcmp(storage, s->name)))
            continue;
        /* a storage that fails (down, not mounted) fails the rescan, after the others were scanned */
        if (rescan_storage(cfg, cat, s->name, res, &e2) < 0) {
            if (e2.code != ODBK_E_IO && e2.code != ODBK_E_DATA) {
                *err = e2;
                return -1;
            }
            if (!err->code)
                *err = e2;
            else
                note(res, "%s", e2.msg);
        }
    }
    if (err->code)
        return -1;
    {
        struct odbk_audit a = {0};
        struct odbk_err e2;
        char detail[128];
        snprintf(detail, sizeof(detail), "%d backups found, %d imported, %d skipped, %d conflicts", res->found,
                 res->imported, res->skipped, res->conflicts);
        a.action = "rescan";
        a.target = (char *)storage;
        a.result = res->skipped || res->conflicts ? "partial" : "ok";
        a.detail = detail;
        odbk_catalog_audit_add(cat, &a, &e2);
    }
    return 0;
}
