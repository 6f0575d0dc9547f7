/* prune.c - an env's retention applied to its catalog rows and stored files (see prune.h). */
#include "backup/prune.h"

#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "backup/backup.h"
#include "backup/gc.h"
#include "common/util.h"
#include "policy/policy.h"
#include "storage/storage.h"

struct cJSON *odbk_prune_item_json(const struct odbk_prune_item *it)
{
    cJSON *o = cJSON_CreateObject();
    char t[32];
    cJSON_AddStringToObject(o, "id", it->b.id);
    cJSON_AddStringToObject(o, "env", it->b.env);
    cJSON_AddStringToObject(o, "storage", it->b.storage ? it->b.storage : "");
    odbk_time_rfc3339(it->b.created_at, t);
    cJSON_AddStringToObject(o, "created_at", t);
    cJSON_AddStringToObject(o, "status", odbk_status_name(it->b.status));
    cJSON_AddStringToObject(o, "retention", odbk_tier_name(it->b.retention));
    cJSON_AddStringToObject(o, "action", odbk_prune_action_name(it->action));
    cJSON_AddItemToObject(o, "reasons", odbk_retention_reasons_json(it->reasons, it->n_reasons));
    cJSON_AddBoolToObject(o, "done", it->done);
    if (it->error)
        cJSON_AddStringToObject(o, "error", it->error);
    else
        cJSON_AddNullToObject(o, "error");
    return o;
}

struct problems {
    char **msgs;
    size_t n;
    odbk_policy_report_cb report;
    void *ctx;
};

static void on_problem(void *ctx, const struct odbk_err *e)
{
    struct problems *p = ctx;
    size_t i;
    for (i = 0; i < p->n; i++)
        if (!strcmp(p->msgs[i], e->msg))
            return;
    p->msgs = odbk_xrealloc(p->msgs, (p->n + 1) * sizeof(char *));
    p->msgs[p->n++] = odbk_xstrdup(e->msg);
    p->report(p->ctx, e);
}

size_t odbk_prune_check_config(const struct odbk_config *cfg, odbk_policy_report_cb report, void *ctx)
{
    struct problems probs = {NULL, 0, report, ctx};
    const char **envs = NULL;
    size_t i, n;
    odbk_policy_check_config(cfg, on_problem, &probs);
    n = odbk_config_env_names(cfg, &envs);
    for (i = 0; i < n; i++) {
        struct odbk_retention_policy rules;
        struct odbk_err e = {0};
        if (odbk_prune_policy(cfg, envs[i], &rules, &e) < 0)
            on_problem(&probs, &e);
    }
    free(envs);
    for (i = 0; i < probs.n; i++)
        free(probs.msgs[i]);
    free(probs.msgs);
    return probs.n;
}

const char *odbk_prune_action_name(enum odbk_prune_action a)
{
    switch (a) {
    case ODBK_PRUNE_KEEP: return "keep";
    case ODBK_PRUNE_EXPIRE: return "expire";
    case ODBK_PRUNE_CLEAN: return "clean";
    }
    return "?";
}

int odbk_prune_policy(const struct odbk_config *cfg, const char *env, struct odbk_retention_policy *out,
                      struct odbk_err *err)
{
    struct odbk_env e;
    struct odbk_policy p;
    if (odbk_config_env(cfg, env, &e, err) < 0)
        return -1;
    odbk_env_release(&e);
    if (odbk_policy_load(cfg, env, &p, err) < 0)
        return -1;
    *out = p.retention;
    odbk_policy_release(&p);
    if (odbk_retention_policy_is_empty(out)) {
        odbk_err_set(err, ODBK_E_CONFIG, "the effective policy of '%s' has no retention rule: prune deletes nothing",
                     env);
        odbk_err_hint(err, "set keep-* keys in [policy] or [policy %s]; see odbk-policy show %s", env, env);
        return -1;
    }
    return 0;
}

size_t odbk_prune_policies(const struct odbk_config *cfg, const char *const *envs, size_t n,
                           struct odbk_retention_policy **rules, char ***text, odbk_prune_policy_cb report, void *ctx)
{
    struct odbk_retention_policy org;
    char *org_text = NULL;
    size_t i, bad = 0;
    int have_org = 0;
    *rules = odbk_xcalloc(n ? n : 1, sizeof(**rules));
    *text = odbk_xcalloc(n ? n : 1, sizeof(char *));
    for (i = 0; i < n; i++) {
        struct odbk_err e = {0};
        struct odbk_env env;
        int shared = !odbk_config_find(cfg, "policy", envs[i]);
        if (shared && have_org) {   /* the env's section still checked, as odbk_prune_policy does */
            if (odbk_config_env(cfg, envs[i], &env, &e) == 0) {
                odbk_env_release(&env);
                (*rules)[i] = org;
                (*text)[i] = odbk_xstrdup(org_text);
                continue;
            }
        } else if (odbk_prune_policy(cfg, envs[i], &(*rules)[i], &e) == 0) {
            (*text)[i] = odbk_retention_policy_describe(&(*rules)[i]);
            if (shared) {
                org = (*rules)[i];
                org_text = (*text)[i];
                have_org = 1;
            }
            continue;
        }
        bad++;
        if (report)
            report(ctx, envs[i], &e);
    }
    return bad;
}

static void add_reason(struct odbk_prune_item *it, const char *r)
{
    it->reasons = odbk_xrealloc(it->reasons, (it->n_reasons + 1) * sizeof(char *));
    it->reasons[it->n_reasons++] = odbk_xstrdup(r);
}

void odbk_prune_item_release(struct odbk_prune_item *it)
{
    size_t i;
    if (!it)
        return;
    odbk_backup_release(&it->b);
    for (i = 0; i < it->n_reasons; i++)
        free(it->reasons[i]);
    free(it->reasons);
    free(it->error);
    memset(it, 0, sizeof(*it));
}

void odbk_prune_report_release(struct odbk_prune_report *r)
{
    size_t i;
    if (!r)
        return;
    for (i = 0; i < r->n; i++)
        odbk_prune_item_release(&r->items[i]);
    free(r->items);
    free(r->env);
    free(r->policy);
    free(r->skipped);
    free(r->sweep_warning);
    for (i = 0; i < r->n_gc; i++)
        odbk_gc_report_release(&r->gc[i]);
    free(r->gc);
    free(r->gc_warning);
    free(r->gc_error);
    memset(r, 0, sizeof(*r));
}

static int is_finished(const struct odbk_backup *b)
{
    return b->status == ODBK_BACKUP_COMPLETED || b->status == ODBK_BACKUP_FAILED || b->status == ODBK_BACKUP_EXPIRED;
}

/* ---- one storage of the env: opened once, its backup folders listed once ---- */

struct store {
    int swept, listed;
    const char *name;
    struct odbk_storage *st;
    struct odbk_err err;        /* why it could not be opened or listed */
    int failed;
    const char *env;
    char **folders;             /* backup ids with at least one object under env/ */
    size_t n_folders;
};

static int folder_cb(void *ctx, const struct odbk_storage_entry *e)
{
    struct store *s = ctx;
    size_t el = strlen(s->env), i;
    const char *id, *slash;
    if (strncmp(e->path, s->env, el) || e->path[el] != '/')
        return 0;
    id = e->path + el + 1;
    slash = strchr(id, '/');
    if (!slash || slash == id)
        return 0;
    for (i = 0; i < s->n_folders; i++)
        if (strlen(s->folders[i]) == (size_t)(slash - id) && !strncmp(s->folders[i], id, (size_t)(slash - id)))
            return 0;
    s->folders = odbk_xrealloc(s->folders, (s->n_folders + 1) * sizeof(char *));
    s->folders[s->n_folders++] = odbk_xstrndup(id, (size_t)(slash - id));
    return 0;
}

static struct store *store_get(const struct odbk_config *cfg, struct odbk_catalog *cat, int may_write,
                               struct store **stores, size_t *n, const char *env, const char *name)
{
    size_t i;
    struct store *s;
    for (i = 0; i < *n; i++)
        if (!strcmp((*stores)[i].name, name))
            return &(*stores)[i];
    *stores = odbk_xrealloc(*stores, (*n + 1) * sizeof(**stores));
    s = &(*stores)[(*n)++];
    memset(s, 0, sizeof(*s));
    s->name = name;
    s->env = env;
    if (odbk_backup_storage_open(cfg, cat, name, may_write, &s->st, &s->err) < 0)
        s->failed = 1;
    return s;
}

/* The env's folders in s, listed once (only where a row's leftovers are looked for). */
static void store_list(struct store *s)
{
    char *prefix;
    if (s->listed || s->failed)
        return;
    prefix = odbk_xasprintf("%s/", s->env);
    s->listed = 1;
    if (odbk_storage_list(s->st, prefix, folder_cb, s, &s->err) < 0)
        s->failed = 1;
    free(prefix);
}

static int store_has(const struct store *s, const char *id)
{
    size_t i;
    for (i = 0; i < s->n_folders; i++)
        if (!strcmp(s->folders[i], id))
            return 1;
    return 0;
}

static void stores_free(struct store *stores, size_t n)
{
    size_t i, j;
    for (i = 0; i < n; i++) {
        odbk_storage_close(stores[i].st);
        for (j = 0; j < stores[i].n_folders; j++)
            free(stores[i].folders[j]);
        free(stores[i].folders);
    }
    free(stores);
}

/* ---- carrying a decision out ---- */

static void audit(struct odbk_catalog *cat, const struct odbk_backup *b, const char *action, int force,
                  const char *result, const char *detail)
{
    struct odbk_audit a = {0};
    struct odbk_err e = {0};
    a.action = (char *)action;
    a.backup_id = b->id;
    a.env = b->env;
    a.source = b->storage;
    a.options = force ? "force" : NULL;
    a.result = (char *)result;
    a.detail = (char *)detail;
    odbk_catalog_audit_add(cat, &a, &e);
}

/* The manifest of b first: from then on the folder is no backup, whatever of it is left (a rescan does not
 * bring it back, a collection of packs does not keep its packs). */
static int remove_manifest(struct odbk_storage *st, const struct odbk_backup *b, struct odbk_err *err)
{
    char *name = odbk_backup_manifest_name(b->id), *key = odbk_backup_file_key(b->env, b->id, name);
    int r = odbk_storage_remove(st, key, err);
    if (r < 0 && err->code == ODBK_E_NOINPUT) {
        odbk_err_clear(err);
        r = 0;
    }
    free(key);
    free(name);
    return r;
}

/* Mark expired (EXPIRE only), remove the manifest, then the folder, audit.  0, or -1 with it->error and
 * err. */
static int carry_out(struct odbk_catalog *cat, struct odbk_storage *st, struct odbk_prune_item *it,
                     const char *action, const char *why, int force, struct odbk_err *err)
{
    struct odbk_err e = {0};
    char *folder = odbk_backup_folder(it->b.env, it->b.id);
    char *detail;
    int r = 0;
    if (it->action == ODBK_PRUNE_EXPIRE &&
        odbk_catalog_backup_set_status(cat, it->b.id, ODBK_BACKUP_EXPIRED, NULL, &e) < 0)
        r = -1;
    /* its storage due before anything goes (a crash from here on leaves it due) and again once gone (a
     * collection that read the pair's generation before the manifest went keeps it due) */
    if (r == 0 && odbk_catalog_gc_due_set(cat, it->b.env, it->b.storage, &e) < 0)
        r = -1;
    if (r == 0 && (remove_manifest(st, &it->b, &e) < 0 || odbk_storage_remove_prefix(st, folder, &e) < 0))
        r = -1;
    if (r == 0 && odbk_catalog_gc_due_set(cat, it->b.env, it->b.storage, &e) < 0)
        r = -1;
    if (r == 0) {
        it->done = 1;
        audit(cat, &it->b, action, force, "ok", why);
    } else {
        it->error = odbk_xstrdup(e.msg);
        detail = odbk_xasprintf("%s; %s", why, e.msg);
        audit(cat, &it->b, action, force, "failed", detail);
        free(detail);
        if (!err->code)
            *err = e;
    }
    free(folder);
    return r;
}

/* ---- the packs ---- */

/* Collect env's packs in storage s, into out's reports; touched: this run removed something there (a
 * storage that cannot be opened then fails the run; else it is a warning). */
static void collect_one(struct odbk_catalog *cat, struct store *s, const char *env, const struct odbk_gc_opts *go,
                        int touched, struct odbk_prune_report *out, struct odbk_err *err)
{
    struct odbk_gc_report g;
    struct odbk_err e = {0};
    if (s->failed) {
        if (!touched && !out->gc_warning)
            out->gc_warning = odbk_xasprintf("storage '%s': %s", s->name, s->err.msg);
        return;
    }
    odbk_crash_point("gc-after-manifests");
    int r = odbk_gc_env(cat, s->st, s->name, env, go, &g, &e);
    if (r < 0) {
        if (!err->code) {
            *err = e;
            odbk_err_prefix(err, "storage '%s'", s->name);
        }
        if (!out->gc_error)
            out->gc_error = odbk_xasprintf("storage '%s': %s", s->name, e.msg);
    }
    /* a collection refused or stopped before deleting says so in its error alone */
    if ((r == 0 && g.n_packs) || g.n_removed || g.n_failed || g.n_aborted) {
        out->gc = odbk_xrealloc(out->gc, (out->n_gc + 1) * sizeof(*out->gc));
        out->gc[out->n_gc++] = g;
    } else {
        odbk_gc_report_release(&g);
    }
}

/* name appended to v unless it is there already (or NULL) */
static void add_name(char ***v, size_t *n, const char *name)
{
    if (!name || odbk_str_in(*v, *n, name))
        return;
    *v = odbk_xrealloc(*v, (*n + 1) * sizeof(char *));
    (*v)[(*n)++] = odbk_xstrdup(name);
}

/* The storages of env to look at: those due (odbk_catalog_gc_due_list; a real run's removals made theirs
 * due), and in a dry run those its removals would touch; no repeats. */
static int storages_due(struct odbk_catalog *cat, const char *env, const struct odbk_prune_opts *opts,
                        const struct odbk_prune_item *items, size_t n, char ***out, size_t *n_out,
                        struct odbk_err *err)
{
    size_t i;
    if (odbk_catalog_gc_due_list(cat, env, out, n_out, err) < 0)
        return -1;
    for (i = 0; opts->dry_run && i < n; i++)
        if (items[i].action == ODBK_PRUNE_EXPIRE || items[i].action == ODBK_PRUNE_CLEAN)
            add_name(out, n_out, items[i].b.storage);
    return 0;
}

/* The debris of uploads that never finished, then the packs no remaining backup references, in each
 * storage of names (a dry run: the packs its removals would leave unreferenced, nothing swept). */
static void collect(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *env,
                    const struct odbk_prune_opts *opts, const struct odbk_prune_item *items, size_t n,
                    char *const *names, size_t n_names, struct store **stores, size_t *n_stores,
                    struct odbk_prune_report *out, struct odbk_err *err)
{
    const char **gone = odbk_xcalloc(n + 1, sizeof(char *));
    struct odbk_gc_opts go = {0};
    time_t now = opts->now ? opts->now : odbk_now();
    char *prefix = odbk_xasprintf("%s/", env);
    size_t i, k, m = 0;
    for (i = 0; i < n; i++)
        if (items[i].action == ODBK_PRUNE_EXPIRE || items[i].action == ODBK_PRUNE_CLEAN)
            gone[m++] = items[i].b.id;
    go.dry_run = opts->dry_run;
    go.gone = opts->dry_run ? gone : NULL;   /* a real run removed their manifests: storage says so */
    for (i = 0; i < n_names; i++) {
        int touched = 0;
        struct store *s = store_get(cfg, cat, !opts->dry_run, stores, n_stores, env, names[i]);
        for (k = 0; k < n; k++)
            touched |= !strcmp(items[k].b.storage, names[i]) &&
                       (items[k].action == ODBK_PRUNE_EXPIRE || items[k].action == ODBK_PRUNE_CLEAN);
        /* Debris no row knows of: uploads of this env that never finished (a run killed mid-upload, or an
         * upload whose creation answer was lost), older than a day so that no running upload is touched. */
        if (!opts->dry_run && !s->failed && !s->swept) {
            struct odbk_err se = {0};
            int swept = 0;
            s->swept = 1;
            if (odbk_storage_sweep(s->st, prefix, now - 86400, &swept, &se) < 0 && !out->sweep_warning)
                out->sweep_warning = odbk_xstrdup(se.msg);
            out->n_swept += (size_t)swept;
        }
        collect_one(cat, s, env, &go, touched, out, err);
    }
    free(prefix);
    free(gone);
}

/* ---- one env ---- */

static int latest_failed(const struct odbk_backup *rows, size_t n, const struct odbk_backup **out)
{
    size_t i;
    for (i = 0; i < n; i++)   /* newest first */
        if (is_finished(&rows[i])) {
            *out = &rows[i];
            return rows[i].status == ODBK_BACKUP_FAILED;
        }
    return 0;
}

/* rows of every status but expired (the history rows planning does not need) */
#define NOT_EXPIRED (ODBK_ONLY(ODBK_BACKUP_PENDING) | ODBK_ONLY(ODBK_BACKUP_IN_PROGRESS) |                      \
                     ODBK_ONLY(ODBK_BACKUP_UPLOADING) | ODBK_ONLY(ODBK_BACKUP_COMPLETED) |                       \
                     ODBK_ONLY(ODBK_BACKUP_FAILED))

/* Without the expired rows, the newest finished row read may be a failed one older than an expired row
 * (the newest completed backup deleted by hand): the newest finished row of every status decides. */
static int latest_failed_really(struct odbk_catalog *cat, const char *env, int *failed, struct odbk_err *err)
{
    struct odbk_backup_filter f = {0};
    const char *envs[2] = {env, NULL};
    struct odbk_backup *rows = NULL;
    size_t n = 0;
    f.envs = envs;
    f.statuses = ODBK_ONLY(ODBK_BACKUP_COMPLETED) | ODBK_ONLY(ODBK_BACKUP_FAILED) | ODBK_ONLY(ODBK_BACKUP_EXPIRED);
    f.limit = 1;
    f.no_manifest = 1;
    if (odbk_catalog_backup_list(cat, &f, &rows, &n, err) < 0)
        return -1;
    *failed = n && rows[0].status == ODBK_BACKUP_FAILED;
    odbk_backup_list_free(rows, n);
    return 0;
}

static int has_id(const struct odbk_backup *rows, size_t n, const char *id)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!strcmp(rows[i].id, id))
            return 1;
    return 0;
}

/* Does a storage of env's expired rows (names[0..n-1]) hold the folder of one (an interrupted deletion's
 * leftovers)?  Each is opened and listed once (stores); one that fails says so when the plan looks at it. */
static int expired_leftovers(const struct odbk_config *cfg, struct odbk_catalog *cat, int may_write, const char *env,
                             char **names, size_t n, const struct odbk_backup *rows, size_t n_rows,
                             struct store **stores, size_t *n_stores)
{
    size_t i, k;
    for (i = 0; i < n; i++) {
        struct store *s = store_get(cfg, cat, may_write, stores, n_stores, env, names[i]);
        store_list(s);
        for (k = 0; !s->failed && k < s->n_folders; k++) {
            struct odbk_backup b;
            struct odbk_err e = {0};
            int hit;
            if (has_id(rows, n_rows, s->folders[k]) || odbk_catalog_backup_get(cat, s->folders[k], &b, &e) < 0)
                continue;
            hit = !strcmp(b.id, s->folders[k]) && !strcmp(b.env, env) && b.status == ODBK_BACKUP_EXPIRED;
            odbk_backup_release(&b);
            if (hit)
                return 1;
        }
    }
    return 0;
}

/* The record key of a policy: its description, and restic 0.16's oldest clause when left out. */
static char *record_key(const struct odbk_retention_policy *rules, const char *described)
{
    return odbk_xasprintf("%s%s", described, rules->no_keep_oldest ? " [no keep-oldest]" : "");
}

/* After a real run: when nothing failed and every completed row left is kept by the plan at now, record
 * the env clean until its plan could change (the rows that are not expired are what the record checks). */
static void record_plan(struct odbk_catalog *cat, const char *env, const struct odbk_retention_policy *rules,
                        const char *key, const struct odbk_prune_item *items, size_t n, time_t now,
                        struct odbk_prune_report *out)
{
    struct odbk_plan_row *rows = odbk_xcalloc(n ? n : 1, sizeof(*rows));
    struct odbk_retention_item *ri = odbk_xcalloc(n ? n : 1, sizeof(*ri));
    char **storages = odbk_xcalloc(n ? n : 1, sizeof(char *));
    struct odbk_retention_plan *plan = NULL;
    struct odbk_err e = {0};
    size_t i, j, k, m = 0, ns = 0;
    time_t until = ODBK_RETENTION_FOREVER;
    int clean = 1, written = 0;
    for (i = 0; i < n; i++) {
        const struct odbk_prune_item *it = &items[i];
        if (it->b.status == ODBK_BACKUP_COMPLETED && it->action == ODBK_PRUNE_EXPIRE) {
            clean &= it->done;
            continue;   /* expired now */
        }
        clean &= !it->error;
        if (it->b.status == ODBK_BACKUP_EXPIRED)
            continue;   /* history (its leftovers removed) */
        rows[m].id = it->b.id;
        rows[m++].status = it->b.status;
        if (it->b.status == ODBK_BACKUP_COMPLETED) {
            for (k = 0; k < ns && strcmp(storages[k], it->b.storage); k++)
                ;
            if (k == ns)
                storages[ns++] = it->b.storage;
        }
    }
    /* the plan of what is left, group by group, at now: every row kept, and how long that lasts */
    for (k = 0; clean && k < ns; k++) {
        size_t g = 0;
        for (i = 0; i < n; i++) {
            const struct odbk_backup *b = &items[i].b;
            if (b->status != ODBK_BACKUP_COMPLETED || items[i].action != ODBK_PRUNE_KEEP || strcmp(b->storage, storages[k]))
                continue;
            memset(&ri[g], 0, sizeof(ri[g]));
            ri[g].time = b->created_at;
            ri[g].completed = 1;
            ri[g].id = b->id;
            ri[g].tier = b->retention;
            g++;
        }
        if (odbk_retention_plan(rules, ri, g, now, &plan, &e) < 0) {
            clean = 0;
            break;
        }
        for (j = 0; j < plan->n; j++)
            clean &= plan->d[j].keep;
        odbk_retention_plan_free(plan);
        plan = NULL;
        time_t u = odbk_retention_stable_until(rules, ri, g, now);
        if (u < until)
            until = u;
    }
    if (clean && until > now && odbk_catalog_plan_record(cat, env, rows, m, now, until, key, &written, &e) == 0 &&
        written) {
        out->recorded = 1;
        out->recorded_until = until;
    }
    free(rows);
    free(ri);
    free(storages);
}

static int plan_group(const struct odbk_retention_policy *rules, struct odbk_prune_item *items, size_t n,
                      const char *storage, time_t now, struct odbk_err *err)
{
    struct odbk_retention_item *ri = odbk_xcalloc(n ? n : 1, sizeof(*ri));
    size_t *map = odbk_xcalloc(n ? n : 1, sizeof(*map));
    struct odbk_retention_plan *plan = NULL;
    size_t i, j, m = 0;
    for (i = 0; i < n; i++) {
        const struct odbk_backup *b = &items[i].b;
        if (b->status != ODBK_BACKUP_COMPLETED || strcmp(b->storage, storage))
            continue;
        ri[m].time = b->created_at;
        ri[m].completed = 1;
        ri[m].id = b->id;
        ri[m].tier = b->retention;
        map[m++] = i;
    }
    if (odbk_retention_plan(rules, ri, m, now, &plan, err) < 0) {
        free(ri);
        free(map);
        return -1;
    }
    for (i = 0; i < plan->n; i++) {
        const struct odbk_retention_decision *d = &plan->d[i];
        struct odbk_prune_item *it = &items[map[d->index]];
        it->action = d->keep ? ODBK_PRUNE_KEEP : ODBK_PRUNE_EXPIRE;
        for (j = 0; j < d->n_reasons; j++)
            add_reason(it, d->reasons[j]);
    }
    odbk_retention_plan_free(plan);
    free(ri);
    free(map);
    return 0;
}

int odbk_prune_env(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *env,
                   const struct odbk_prune_opts *opts, struct odbk_prune_report *out, struct odbk_err *err)
{
    struct odbk_retention_policy rules;
    struct odbk_backup_filter f = {0};
    const char *envs[2] = {env, NULL};
    struct odbk_backup *rows = NULL;
    struct odbk_prune_item *items = NULL;
    struct store *stores = NULL;
    char **due = NULL;
    size_t n = 0, n_stores = 0, n_due = 0, i, k, n_xstorages = 0;
    const struct odbk_backup *latest = NULL;
    time_t now = opts->now ? opts->now : odbk_now();
    char **xstorages = NULL, *key = NULL;   /* the storages of the expired rows; the plan record's key */
    int r = -1, forced = 0;

    memset(out, 0, sizeof(*out));
    out->env = odbk_xstrdup(env);
    if (opts->rules) {
        rules = *opts->rules;
        if (!rules.timezone[0]) {
            struct odbk_policy p;
            if (odbk_policy_load(cfg, env, &p, err) < 0)
                return -1;
            snprintf(rules.timezone, sizeof(rules.timezone), "%s", p.timezone);
            odbk_policy_release(&p);
        }
        if (!opts->plan_only && odbk_retention_policy_is_empty(&rules))
            return odbk_err_set(err, ODBK_E_CONFIG, "no retention rule given: prune deletes nothing");
    } else if (opts->plan_only) {
        struct odbk_policy p;
        if (odbk_policy_load(cfg, env, &p, err) < 0)
            return -1;
        rules = p.retention;
        odbk_policy_release(&p);
    } else if (opts->policy) {
        rules = *opts->policy;
    } else if (odbk_prune_policy(cfg, env, &rules, err) < 0) {
        return -1;
    }
    out->policy = !opts->rules && !opts->plan_only && opts->policy && opts->policy_text
                      ? odbk_xstrdup(opts->policy_text) : odbk_retention_policy_describe(&rules);
    key = record_key(&rules, out->policy);

    /* a dry run of an env whose plan record covers now under this policy: the plan it stands for */
    if (opts->dry_run && opts->records && !opts->rules && !opts->plan_only) {
        const struct odbk_env_summary *rec = odbk_env_summaries_find(opts->records, env);
        if (rec && rec->plan_policy && !strcmp(rec->plan_policy, key) && rec->plan_from <= now &&
            now < rec->plan_until) {
            out->from_record = 1;
            out->n_keep = rec->completed;
            free(key);
            return 0;
        }
    }

    /* The rows that are not expired: the expired ones are history, unless a storage still holds one's
     * folder (then every row, as the plan lists those leftovers in their place). */
    f.envs = envs;
    f.no_manifest = opts->plan_only || opts->dry_run;   /* what is removed is read from storage, not planned */
    f.statuses = NOT_EXPIRED;
    f.by_status = 1;
    if (odbk_catalog_backup_list(cat, &f, &rows, &n, err) < 0)
        goto out;

    if (!opts->plan_only && latest_failed(rows, n, &latest)) {
        int failed = 0;
        char t[32];
        if (latest_failed_really(cat, env, &failed, err) < 0)
            goto out;
        forced = failed && opts->force;
        if (!failed || forced)
            goto not_failed;
        odbk_time_rfc3339(latest->created_at, t);
        out->skipped = odbk_xasprintf("the latest backup run of '%s' (%s, %s) failed%s%s", env, latest->id, t,
                                      latest->error ? ": " : "", latest->error ? latest->error : "");
        odbk_err_set(err, ODBK_E_FAILED, "%s; nothing pruned in '%s'", out->skipped, env);
        odbk_err_hint(err, "fix what makes backups fail first, or pass --force to prune anyway");
        goto out;
    }
not_failed:
    /* The storages due (a deletion or a failed run left something there): only they are read for leftovers, so
     * a prune that removes nothing reads no storage; of the storages of the expired rows (not read), those. */
    if (!opts->plan_only && odbk_catalog_gc_due_list(cat, env, &due, &n_due, err) < 0)
        goto out;
    if (!opts->plan_only) {
        if (odbk_catalog_env_storages(cat, env, ODBK_ONLY(ODBK_BACKUP_EXPIRED), &xstorages, &n_xstorages, err) < 0)
            goto out;
        for (i = 0, k = 0; i < n_xstorages; i++) {
            if (odbk_str_in(due, n_due, xstorages[i]))
                xstorages[k++] = xstorages[i];
            else
                free(xstorages[i]);
        }
        n_xstorages = k;
        if (expired_leftovers(cfg, cat, !opts->dry_run, env, xstorages, n_xstorages, rows, n, &stores, &n_stores)) {
            odbk_backup_list_free(rows, n);
            rows = NULL;
            n = 0;
            f.statuses = 0;
            f.by_status = 0;
            if (odbk_catalog_backup_list(cat, &f, &rows, &n, err) < 0)
                goto out;
        }
    }

    /* Every row becomes an item (rows are moved, not copied); unwanted ones are dropped at the end. */
    items = odbk_xcalloc(n ? n : 1, sizeof(*items));
    for (i = 0; i < n; i++) {
        items[i].b = rows[i];
        items[i].action = ODBK_PRUNE_KEEP;
    }
    free(rows);
    rows = NULL;

    /* The retention, one group per storage. */
    for (i = 0; i < n; i++) {
        int seen = 0;
        if (items[i].b.status != ODBK_BACKUP_COMPLETED)
            continue;
        for (k = 0; k < i && !seen; k++)
            seen = items[k].b.status == ODBK_BACKUP_COMPLETED && !strcmp(items[k].b.storage, items[i].b.storage);
        if (!seen && plan_group(&rules, items, n, items[i].b.storage, now, err) < 0)
            goto out;
    }
    /* The env's newest completed backup stays, whatever the groups say (rows are newest first). */
    for (i = 0; i < n; i++)
        if (items[i].b.status == ODBK_BACKUP_COMPLETED) {
            if (items[i].action != ODBK_PRUNE_KEEP) {
                items[i].action = ODBK_PRUNE_KEEP;
                add_reason(&items[i], "newest");
            }
            break;
        }

    /* Storage: which folders exist, the leftovers of failed and expired rows, looked for only in the
     * storages due. */
    if (!opts->plan_only) {
        for (i = 0; i < n; i++) {
            struct odbk_prune_item *it = &items[i];
            struct store *s;
            if (!is_finished(&it->b) || (it->b.status == ODBK_BACKUP_COMPLETED && it->action == ODBK_PRUNE_KEEP))
                continue;
            if (it->b.status != ODBK_BACKUP_COMPLETED && !odbk_str_in(due, n_due, it->b.storage))
                continue;
            s = store_get(cfg, cat, !opts->dry_run, &stores, &n_stores, env, it->b.storage);
            store_list(s);
            if (s->failed) {
                if (!err->code) {
                    *err = s->err;
                    odbk_err_prefix(err, "storage '%s'", s->name);
                }
                if (it->action == ODBK_PRUNE_EXPIRE)
                    it->error = odbk_xasprintf("storage '%s': %s", s->name, s->err.msg);
                continue;
            }
            if (it->b.status != ODBK_BACKUP_COMPLETED && store_has(s, it->b.id))
                it->action = ODBK_PRUNE_CLEAN;
        }
        /* the storages of the expired rows not read: one that could not be listed fails the run as if */
        for (i = 0; i < n_xstorages && !err->code; i++) {
            struct store *s = store_get(cfg, cat, !opts->dry_run, &stores, &n_stores, env, xstorages[i]);
            if (s->failed) {
                *err = s->err;
                odbk_err_prefix(err, "storage '%s'", s->name);
            }
        }
    }

    if (!opts->plan_only && !opts->dry_run) {
        for (i = 0; i < n; i++) {
            struct odbk_prune_item *it = &items[i];
            struct store *s;
            char *why;
            if (it->error || (it->action != ODBK_PRUNE_EXPIRE && it->action != ODBK_PRUNE_CLEAN))
                continue;
            s = store_get(cfg, cat, !opts->dry_run, &stores, &n_stores, env, it->b.storage);
            if (it->action == ODBK_PRUNE_EXPIRE)
                why = odbk_xasprintf("expired: no retention rule keeps it (%s)", out->policy);
            else
                why = odbk_xasprintf("leftovers of a%s %s backup", it->b.status == ODBK_BACKUP_FAILED ? "" : "n",
                                     odbk_status_name(it->b.status));
            carry_out(cat, s->st, it, "prune", why, opts->force, err);
            free(why);
        }
    }

    /* The storages due (a real run's removals made theirs due): unfinished uploads swept, then the packs no
     * remaining backup references collected (a dry run: those its removals would leave unreferenced). */
    if (!opts->plan_only) {
        odbk_catalog_gc_due_list_free(due, n_due);
        due = NULL;
        n_due = 0;
        if (storages_due(cat, env, opts, items, n, &due, &n_due, err) < 0)
            goto out;
        collect(cfg, cat, env, opts, items, n, due, n_due, &stores, &n_stores, out, err);
    }
    /* a removal that failed: its storage stays due (the collection may have cleared it meanwhile) */
    for (i = 0; !opts->plan_only && !opts->dry_run && i < n; i++) {
        struct odbk_err de = {0};
        if (items[i].error && (items[i].action == ODBK_PRUNE_EXPIRE || items[i].action == ODBK_PRUNE_CLEAN) &&
            odbk_catalog_gc_due_set(cat, env, items[i].b.storage, &de) < 0 && !err->code)
            *err = de;
    }

    /* a run the latest-run guard let through by --force is no record: a run without it would refuse */
    if (!opts->plan_only && !opts->dry_run && !opts->rules && !err->code && !out->gc_error && !out->gc_warning &&
        !out->sweep_warning && !forced)
        record_plan(cat, env, &rules, key, items, n, now, out);

    /* Keep completed rows and rows with leftovers, newest first. */
    for (i = 0, k = 0; i < n; i++) {
        if (items[i].b.status == ODBK_BACKUP_COMPLETED || items[i].action == ODBK_PRUNE_CLEAN) {
            if (k != i)
                items[k] = items[i];
            switch (items[k].action) {
            case ODBK_PRUNE_KEEP: out->n_keep++; break;
            case ODBK_PRUNE_EXPIRE: out->n_expire++; break;
            case ODBK_PRUNE_CLEAN: out->n_clean++; break;
            }
            out->n_failed += items[k].error != NULL;
            k++;
        } else {
            odbk_prune_item_release(&items[i]);
        }
    }
    out->items = items;
    out->n = k;
    items = NULL;
    r = err->code ? -1 : 0;
out:
    if (items) {
        for (i = 0; i < n; i++)
            odbk_prune_item_release(&items[i]);
        free(items);
    }
    if (rows)
        odbk_backup_list_free(rows, n);
    stores_free(stores, n_stores);
    odbk_catalog_gc_due_list_free(due, n_due);
    for (i = 0; i < n_xstorages; i++)
        free(xstorages[i]);
    free(xstorages);
    free(key);
    return r;
}

/* ---- by hand ---- */

int odbk_prune_backup(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *id,
                      const struct odbk_prune_opts *opts, struct odbk_prune_item *out, struct odbk_gc_report *gc,
                      struct odbk_err *err)
{
    struct odbk_backup_filter f = {0};
    const char *envs[2] = {NULL, NULL};
    struct odbk_backup *rows = NULL;
    struct odbk_storage *st = NULL;
    size_t n = 0;
    int r = -1, newest = 0;
    char *why = NULL;

    memset(out, 0, sizeof(*out));
    memset(gc, 0, sizeof(*gc));
    if (odbk_catalog_backup_get(cat, id, &out->b, err) < 0)
        return -1;
    if (!is_finished(&out->b)) {
        odbk_err_set(err, ODBK_E_TEMPFAIL, "backup '%s' is still running (%s)", out->b.id,
                     odbk_status_name(out->b.status));
        odbk_err_hint(err, "wait for it to finish; a run that died is marked failed after 30 minutes");
        return -1;
    }
    if (out->b.status == ODBK_BACKUP_COMPLETED) {
        envs[0] = out->b.env;
        f.envs = envs;
        f.statuses = ODBK_ONLY(ODBK_BACKUP_COMPLETED);
        f.limit = 1;
        if (odbk_catalog_backup_list(cat, &f, &rows, &n, err) < 0)
            return -1;
        newest = n && !strcmp(rows[0].id, out->b.id);
        odbk_backup_list_free(rows, n);
        if (out->b.retention == ODBK_TIER_PERMANENT) {
            add_reason(out, "permanent");
            if (!opts->force) {
                odbk_err_set(err, ODBK_E_USAGE, "backup '%s' is permanent: not deleted", out->b.id);
                odbk_err_hint(err, "pass --force to delete it anyway");
                return -1;
            }
        }
        if (newest) {
            add_reason(out, "newest");
            if (!opts->force) {
                odbk_err_set(err, ODBK_E_USAGE, "backup '%s' is the newest completed backup of '%s': not deleted",
                             out->b.id, out->b.env);
                odbk_err_hint(err, "pass --force to delete it anyway");
                return -1;
            }
        }
        out->action = ODBK_PRUNE_EXPIRE;
        why = odbk_xstrdup("deleted by hand");
    } else {
        out->action = ODBK_PRUNE_CLEAN;
        why = odbk_xasprintf("leftovers of a%s %s backup, deleted by hand",
                             out->b.status == ODBK_BACKUP_FAILED ? "" : "n", odbk_status_name(out->b.status));
    }
    if (odbk_backup_storage_open(cfg, cat, out->b.storage, !opts->dry_run, &st, err) < 0)
        goto out;
    if (!opts->dry_run && carry_out(cat, st, out, "delete", why, opts->force, err) < 0)
        goto out;
    {   /* the packs only it referenced (a dry run: that would be) */
        const char *gone[2] = {out->b.id, NULL};
        struct odbk_gc_opts go = {0};
        go.dry_run = opts->dry_run;
        go.gone = opts->dry_run ? gone : NULL;
        odbk_crash_point("gc-after-manifests");
        r = odbk_gc_env(cat, st, out->b.storage, out->b.env, &go, gc, err) < 0 ? (opts->dry_run ? -1 : 1) : 0;
    }
out:
    free(why);
    odbk_storage_close(st);
    return r;
}

/* ---- a collection now ---- */

int odbk_prune_collect(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *env, const char *storage,
                       const struct odbk_prune_opts *opts, struct odbk_prune_report *out, struct odbk_err *err)
{
    struct odbk_backup_filter f = {0};
    const char *envs[2] = {env, NULL};
    struct odbk_backup *rows = NULL;
    struct store *stores = NULL;
    char **names = NULL;
    size_t n = 0, n_stores = 0, n_names = 0, i;
    struct odbk_env e;

    memset(out, 0, sizeof(*out));
    out->env = odbk_xstrdup(env);
    if (odbk_config_env(cfg, env, &e, err) < 0)
        return -1;
    if (storage) {
        add_name(&names, &n_names, storage);
    } else {
        if (odbk_catalog_gc_due_list(cat, env, &names, &n_names, err) < 0) {
            odbk_env_release(&e);
            return -1;
        }
        add_name(&names, &n_names, e.storage);
        f.envs = envs;
        f.no_manifest = 1;
        if (odbk_catalog_backup_list(cat, &f, &rows, &n, err) < 0) {
            odbk_env_release(&e);
            odbk_catalog_gc_due_list_free(names, n_names);
            return -1;
        }
        for (i = 0; i < n; i++)
            add_name(&names, &n_names, rows[i].storage);
        odbk_backup_list_free(rows, n);
    }
    odbk_env_release(&e);
    if (!n_names) {
        odbk_err_set(err, ODBK_E_CONFIG, "environment '%s' has no storage and no backup: nothing to collect", env);
        odbk_err_hint(err, "name the storage with --storage NAME");
        return -1;
    }
    collect(cfg, cat, env, opts, NULL, 0, names, n_names, &stores, &n_stores, out, err);
    /* a storage that would not open: collect_one made it a warning (nothing was removed from it) */
    if (out->gc_warning && !err->code) {
        odbk_err_set(err, ODBK_E_UNAVAILABLE, "packs of '%s' not collected: %s", env, out->gc_warning);
        free(out->gc_warning);
        out->gc_warning = NULL;
    }
    stores_free(stores, n_stores);
    odbk_catalog_gc_due_list_free(names, n_names);
    return err->code ? -1 : 0;
}
