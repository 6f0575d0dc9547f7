/* odbk-prune - apply each environment's retention: expire what no rule keeps, delete its files, then the
 * packs no remaining backup needs (odbk-prune(1)). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "backup/backup.h"
#include "backup/gc.h"
#include "backup/session.h"
#include "backup/prune.h"
#include "cli/cli.h"
#include "common/util.h"
#include "notify/notify.h"

enum { O_ALL = 1, O_DRY_RUN, O_BACKUP, O_FORCE, O_COLLECT, O_ENV, O_STORAGE, O_VERBOSE };

static const struct odbk_opt opts[] = {
    {"all", 'a', NULL, "prune every environment of the config", O_ALL, NULL},
    {"dry-run", 'n', NULL, "print the plan (what is kept and why, what would go) and delete nothing", O_DRY_RUN, NULL},
    {"backup", 'b', "ID", "delete this one backup by hand (a unique prefix of its id will do)", O_BACKUP,
     &odbk_vocab_backup},
    {"force", 'f', NULL, "prune even when the latest run failed; with --backup, delete a permanent or the newest "
     "backup", O_FORCE, NULL},
    {"collect", 0, NULL, "only collect the packs no backup needs, now, whether or not a deletion made it due",
     O_COLLECT, NULL},
    {"env", 'e', "ENV", "this environment (same as naming it as an operand)", O_ENV, &odbk_vocab_env},
    {"storage", 's', "NAME", "with --collect, only in this storage", O_STORAGE, &odbk_vocab_storage},
    {"verbose", 'v', NULL, "with --all --dry-run, every env's whole plan instead of one line an env", O_VERBOSE,
     NULL},
    {0},
};

static const struct odbk_cli cli = {
    "odbk-prune", "[options] ENV...\n[options] --all\n[options] --backup ID [--force]\n"
    "[options] --collect ENV...|--all [--storage NAME]",
    "Apply each environment's retention policy: mark expired what no rule keeps and delete its files, then the "
    "packs no remaining backup needs.", opts,
    ODBK_CLI_JSON, &odbk_vocab_env, NULL};

struct ctx {
    struct odbk_prune_opts o;
    int all, collect, verbose;
    const char *backup, *storage;
    const char **envs;   /* --env */
    size_t n_envs;
};

static int on_opt(void *p, int id, const char *arg, struct odbk_err *err)
{
    struct ctx *c = p;
    (void)err;
    switch (id) {
    case O_ALL: c->all = 1; break;
    case O_DRY_RUN: c->o.dry_run = 1; break;
    case O_BACKUP: c->backup = arg; break;
    case O_FORCE: c->o.force = 1; break;
    case O_COLLECT: c->collect = 1; break;
    case O_STORAGE: c->storage = arg; break;
    case O_ENV:
        c->envs = odbk_xrealloc(c->envs, (c->n_envs + 1) * sizeof(char *));
        c->envs[c->n_envs++] = arg;
        break;
    case O_VERBOSE: c->verbose = 1; break;
    }
    return 0;
}

static cJSON *report_json(const struct odbk_prune_report *r, int dry_run)
{
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    size_t i;
    cJSON_AddStringToObject(o, "env", r->env);
    cJSON_AddStringToObject(o, "policy", r->policy ? r->policy : "");
    cJSON_AddBoolToObject(o, "dry_run", dry_run);
    if (r->skipped)
        cJSON_AddStringToObject(o, "skipped", r->skipped);
    else
        cJSON_AddNullToObject(o, "skipped");
    cJSON_AddNumberToObject(o, "kept", (double)r->n_keep);
    cJSON_AddNumberToObject(o, "expired", (double)r->n_expire);
    cJSON_AddNumberToObject(o, "cleaned", (double)r->n_clean);
    for (i = 0; i < r->n; i++)
        cJSON_AddItemToArray(arr, odbk_prune_item_json(&r->items[i]));
    cJSON_AddItemToObject(o, "backups", arr);
    arr = cJSON_CreateArray();
    for (i = 0; i < r->n_gc; i++)
        cJSON_AddItemToArray(arr, odbk_gc_report_json(&r->gc[i]));
    cJSON_AddItemToObject(o, "packs", arr);
    return o;
}

/* What a collection of packs did (or, dry run, would do): stderr, one line a storage that holds packs; the
 * dry run's packs one a line on stdout, after the plan. */
static void print_gc(const char *env, const struct odbk_gc_report *g, size_t n, int dry_run, int quiet)
{
    size_t i, k;
    for (i = 0; i < n; i++) {
        if (dry_run)
            for (k = 0; k < g[i].n_removed; k++)
                printf("  %-7s %-24s %-21s %-10s %s\n", "delete", g[i].removed[k].name, "", g[i].storage,
                       "pack no remaining backup references");
        if (!quiet)
            fprintf(stderr, "%s: %s: %s: %zu unreferenced pack%s %s (%.1f MB), %zu kept%s\n", cli.prog, env,
                    g[i].storage, g[i].n_removed, g[i].n_removed == 1 ? "" : "s",
                    dry_run ? "would be deleted" : "deleted", (double)g[i].bytes_removed / 1e6, g[i].n_live,
                    g[i].n_failed ? ", some deletions failed" : "");
    }
}

static const char *why(const struct odbk_prune_item *it, char *buf, size_t size)
{
    size_t j, len = 0;
    if (it->error)
        return it->error;
    if (it->action == ODBK_PRUNE_EXPIRE)
        return "no rule keeps it";
    if (it->action == ODBK_PRUNE_CLEAN)
        return it->b.status == ODBK_BACKUP_FAILED ? "leftovers of a failed backup" : "leftovers of an expired backup";
    buf[0] = '\0';
    for (j = 0; j < it->n_reasons && len < size; j++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", j ? ", " : "", it->reasons[j]);
    return buf;
}

/* The plan as a table (dry run). */
static void print_plan(const struct odbk_prune_report *r)
{
    size_t i;
    printf("%s: %s%s\n", r->env, r->policy ? r->policy : "", r->skipped ? " [skipped]" : "");
    if (r->skipped)
        printf("  %s\n", r->skipped);
    if (!r->n)
        return;
    printf("  %-7s %-24s %-21s %-10s %s\n", "ACTION", "ID", "CREATED", "STORAGE", "WHY");
    for (i = 0; i < r->n; i++) {
        const struct odbk_prune_item *it = &r->items[i];
        char t[32], buf[512];
        odbk_time_rfc3339(it->b.created_at, t);
        printf("  %-7s %-24s %-21s %-10s %s\n", odbk_prune_action_name(it->action), it->b.id, t, it->b.storage,
               why(it, buf, sizeof(buf)));
    }
}

/* The plan of --all --dry-run, one line an env: what it would do, not each backup.  An env answered from
 * its plan record prints what its plan would: every completed backup kept, nothing else. */
static void print_summary(const struct odbk_prune_report *r)
{
    size_t i, packs = 0;
    uint64_t bytes = 0;
    for (i = 0; i < r->n_gc; i++) {
        packs += r->gc[i].n_removed;
        bytes += r->gc[i].bytes_removed;
    }
    if (r->skipped) {
        printf("%s: %s [skipped]\n  %s\n", r->env, r->policy ? r->policy : "", r->skipped);
        return;
    }
    printf("%s: %zu kept, %zu to expire, %zu to clean, %zu pack%s to delete (%.1f MB)\n", r->env, r->n_keep,
           r->n_expire, r->n_clean, packs, packs == 1 ? "" : "s", (double)bytes / 1e6);
}

/* Tell the env's notification channels what this run deleted (or that it failed); a notification that
 * fails is a warning and never changes prune's result. */
static void notify_prune(const struct odbk_config *cfg, const char *env, const struct odbk_prune_report *r,
                         const struct odbk_err *failure, time_t started)
{
    const char **ids = odbk_xcalloc(r->n + 1, sizeof(char *));
    struct odbk_err ne = {0};
    uint64_t bytes = 0;
    size_t k, n = 0;
    for (k = 0; k < r->n; k++)
        if (r->items[k].done && r->items[k].action == ODBK_PRUNE_EXPIRE) {
            ids[n++] = r->items[k].b.id;
            bytes += r->items[k].b.total_size;
        }
    if (odbk_notify_prune(cfg, env, ids, n, bytes, failure, started, &ne) < 0)
        fprintf(stderr, "%s: warning: %s: notification failed: %s\n", cli.prog, env, ne.msg);
    free(ids);
}

/* The first failure of a run over envs is its error; the later ones are printed as they come. */
static void keep_first(struct odbk_err *first, const struct odbk_err *e)
{
    if (!first->code)
        *first = *e;
    else
        odbk_err_print(e, cli.prog, stderr);
}

/* the first problem becomes the run's error, the others are printed as they come */
static void on_policy_problem(void *ctx, const char *env, const struct odbk_err *e)
{
    (void)env;
    keep_first(ctx, e);
}

/* --collect: each env's packs collected now (no retention), what went printed as a prune's are. */
static void collect_envs(struct odbk_session *ss, const struct ctx *c, const struct odbk_cli_common *common,
                         const char **envs, size_t n, cJSON **json, struct odbk_err *err)
{
    struct odbk_err first = {0};
    size_t i, k;
    if (common->json)
        *json = cJSON_CreateArray();
    for (i = 0; i < n; i++) {
        struct odbk_prune_report r;
        struct odbk_err e = {0};
        int ok = odbk_prune_collect(ss->cfg, ss->cat, envs[i], c->storage, &c->o, &r, &e) == 0;
        if (common->json) {
            cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
            cJSON_AddStringToObject(o, "env", envs[i]);
            cJSON_AddBoolToObject(o, "dry_run", c->o.dry_run);
            cJSON_AddNumberToObject(o, "swept", (double)r.n_swept);
            for (k = 0; k < r.n_gc; k++)
                cJSON_AddItemToArray(arr, odbk_gc_report_json(&r.gc[k]));
            cJSON_AddItemToObject(o, "packs", arr);
            if (ok)
                cJSON_AddNullToObject(o, "error");
            else
                cJSON_AddStringToObject(o, "error", e.msg);
            cJSON_AddItemToArray(*json, o);
        } else {
            print_gc(envs[i], r.gc, r.n_gc, c->o.dry_run, common->quiet);
            if (!common->quiet && !r.n_gc && ok)
                fprintf(stderr, "%s: %s: no packs\n", cli.prog, envs[i]);
            if (!common->quiet && r.n_swept)
                fprintf(stderr, "%s: %s: %zu unfinished uploads aborted\n", cli.prog, envs[i], r.n_swept);
            if (r.sweep_warning)
                fprintf(stderr, "%s: warning: %s: unfinished uploads not swept: %s\n", cli.prog, envs[i],
                        r.sweep_warning);
            fflush(stdout);
        }
        odbk_prune_report_release(&r);
        if (!ok)
            keep_first(&first, &e);
    }
    *err = first;
}

int main(int argc, char **argv)
{
    struct ctx c = {0};
    struct odbk_cli_common common;
    struct odbk_err err = {0}, first = {0};
    struct odbk_session ss = {0};
    const char **envs = NULL;
    struct odbk_env_summaries records = {0};
    struct odbk_retention_policy *policies = NULL;
    char **policy_texts = NULL;
    cJSON *json = NULL;
    size_t n = 0, i;
    int summary = 0, arg0, bad = 0, rc = odbk_cli_parse(&cli, argc, argv, &common, on_opt, &c, &arg0, &err);
    if (rc != 0) {
        free(c.envs);
        return rc > 0 ? 0 : odbk_cli_exit(&cli, -1, &err);
    }
    for (; arg0 < argc; arg0++) {   /* operands and --env alike */
        c.envs = odbk_xrealloc(c.envs, (c.n_envs + 1) * sizeof(char *));
        c.envs[c.n_envs++] = argv[arg0];
    }
    if (c.collect && (c.backup || c.o.force)) {
        odbk_err_set(&err, ODBK_E_USAGE, "--collect deletes no backup: it takes no --backup and no --force");
        goto usage;
    }
    if (c.storage && !c.collect) {
        odbk_err_set(&err, ODBK_E_USAGE, "--storage selects where --collect looks: pass --collect too");
        goto usage;
    }
    if (c.backup && (c.all || c.n_envs)) {
        odbk_err_set(&err, ODBK_E_USAGE, "--backup deletes one backup: it takes no environment and no --all");
        goto usage;
    }
    if (!c.backup && !c.all && !c.n_envs) {
        odbk_err_set(&err, ODBK_E_USAGE, "name the environments to prune, or pass --all");
        goto usage;
    }
    if (c.all && c.n_envs) {
        odbk_err_set(&err, ODBK_E_USAGE, "--all and environment names exclude each other");
        goto usage;
    }
    /* a dry run changes nothing; else runs that died become failed first, so that their leftovers go and the
     * latest-run guard sees them */
    if (odbk_session_open(&ss, common.config, common.catalog,
                          c.o.dry_run ? 0 : ODBK_SESSION_CLEANUP | ODBK_SESSION_REAP, &err) < 0)
        goto out;
    odbk_session_warn_pending(&ss, cli.prog);   /* a dry run: what a real one would finish first */

    if (c.backup) {
        struct odbk_prune_item it;
        struct odbk_gc_report gc;
        /* 1: deleted, its packs not collected (err says why) */
        rc = odbk_prune_backup(ss.cfg, ss.cat, c.backup, &c.o, &it, &gc, &err);
        if (rc >= 0) {
            if (common.json) {
                json = odbk_prune_item_json(&it);
                cJSON_AddItemToObject(json, "packs", odbk_gc_report_json(&gc));
            } else if (c.o.dry_run) {
                printf("would delete %s (%s, %s, %s)\n", it.b.id, it.b.env, it.b.storage,
                       odbk_status_name(it.b.status));
            } else {
                printf("%s\n", it.b.id);
            }
            if (!common.json && (gc.n_packs || gc.n_failed))
                print_gc(it.b.env, &gc, 1, c.o.dry_run, common.quiet);
        }
        odbk_gc_report_release(&gc);
        odbk_prune_item_release(&it);
        goto out;
    }

    if (odbk_config_select_envs(ss.cfg, c.all, (char *const *)c.envs, c.n_envs, &envs, &n, &err) < 0)
        goto out;
    if (c.collect) {
        collect_envs(&ss, &c, &common, envs, n, &json, &err);
        goto out;
    }
    /* Every policy first: a config problem anywhere deletes nothing anywhere. */
    bad = (int)odbk_prune_policies(ss.cfg, envs, n, &policies, &policy_texts, on_policy_problem, &first);
    if (bad) {
        err = first;
        if (bad > 1)
            odbk_err_hint(&err, "%d environments have policy problems; nothing was pruned", bad);
        goto out;
    }

    /* --all --dry-run prints one line an env and answers clean envs from their plan records (read at once) */
    summary = c.all && c.o.dry_run && !common.json && !c.verbose;
    if (summary) {
        if (odbk_catalog_env_summaries(ss.cat, &records, &err) < 0)
            goto out;
        c.o.records = &records;
    }
    if (common.json)
        json = cJSON_CreateArray();
    for (i = 0; i < n; i++) {
        struct odbk_prune_report r;
        struct odbk_err e = {0};
        size_t k;
        time_t started = odbk_now();
        int ok;
        c.o.policy = &policies[i];
        c.o.policy_text = policy_texts[i];
        ok = odbk_prune_env(ss.cfg, ss.cat, envs[i], &c.o, &r, &e) == 0;
        if (!c.o.dry_run)
            notify_prune(ss.cfg, envs[i], &r, ok ? NULL : &e, started);
        if (r.env && (r.policy || r.skipped)) {
            if (common.json) {
                cJSON_AddItemToArray(json, report_json(&r, c.o.dry_run));
            } else if (summary) {
                print_summary(&r);
            } else if (c.o.dry_run) {
                print_plan(&r);
                print_gc(r.env, r.gc, r.n_gc, 1, common.quiet);
            } else {
                size_t expired = 0, cleaned = 0;
                for (k = 0; k < r.n; k++)
                    if (r.items[k].done) {
                        if (!common.quiet)
                            printf("%s\n", r.items[k].b.id);
                        expired += r.items[k].action == ODBK_PRUNE_EXPIRE;
                        cleaned += r.items[k].action == ODBK_PRUNE_CLEAN;
                    }
                if (!common.quiet && !r.skipped)
                    fprintf(stderr, "%s: %s: %zu kept, %zu expired and deleted, %zu leftovers removed%s\n", cli.prog,
                            r.env, r.n_keep, expired, cleaned, r.n_failed ? ", some deletions failed" : "");
                if (!common.quiet && r.n_swept)
                    fprintf(stderr, "%s: %s: %zu unfinished uploads older than a day aborted\n", cli.prog, r.env,
                            r.n_swept);
                if (r.sweep_warning)
                    fprintf(stderr, "%s: warning: %s: unfinished uploads not swept: %s\n", cli.prog, r.env,
                            r.sweep_warning);
                print_gc(r.env, r.gc, r.n_gc, 0, common.quiet);
            }
            fflush(stdout);
        }
        if (r.gc_warning && !common.json)
            fprintf(stderr, "%s: warning: %s: packs not collected: %s\n", cli.prog, envs[i], r.gc_warning);
        odbk_prune_report_release(&r);
        if (!ok)
            keep_first(&first, &e);
    }
    err = first;
out:
    if (json) {
        char *s = cJSON_Print(json);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(json);
    }
    for (i = 0; policy_texts && i < n; i++)
        free(policy_texts[i]);
    free(policy_texts);
    free(policies);
    free(envs);
    free(c.envs);
    odbk_env_summaries_release(&records);
    odbk_session_close(&ss);
    return odbk_cli_exit(&cli, err.code ? -1 : 0, &err);
usage:
    free(c.envs);
    if (!err.hint[0])
        odbk_err_hint(&err, "see odbk-prune --help");
    return odbk_cli_exit(&cli, -1, &err);
}
