/* odbk-policy - show, check and try policies (odbk-policy(1)).
 *
 * One subcommand per entry of the table at the end of this file; each is a small program of its own
 * (option table, parse, one call into libodbk, print), so adding one is a function and a table line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "backup/backup.h"
#include "backup/prune.h"
#include "cli/cli.h"
#include "common/util.h"
#include "policy/policy.h"
#include "policy/schedule.h"
#include "policy/tz.h"

#define PROG "odbk-policy"

static void print_json(cJSON *j)
{
    char *s = cJSON_Print(j);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(j);
}

static int no_options(void *ctx, int id, const char *arg, struct odbk_err *err)
{
    (void)ctx, (void)id, (void)arg, (void)err;
    return 0;
}

/* ---------------------------------------------------------------- show */

static const struct odbk_opt show_opts[] = {{0}};
static const struct odbk_cli show_cli = {
    PROG, "show [ENV] [--json]",
    "Show the effective policy of ENV (or the organization's) and where each key comes from: default, "
    "organization ([policy]) or custom ([policy ENV]).",
    show_opts, ODBK_CLI_JSON | ODBK_CLI_NOCATALOG};

static int cmd_show(int argc, char **argv)
{
    struct odbk_cli_common common;
    struct odbk_err err = {0};
    struct odbk_config *cfg = NULL;
    struct odbk_policy p;
    const char *env = NULL;
    int loaded = 0, arg0, rc = odbk_cli_parse(&show_cli, argc, argv, &common, no_options, NULL, &arg0, &err);
    size_t i;
    if (rc != 0)
        return rc > 0 ? 0 : odbk_cli_exit(&show_cli, -1, &err);
    if (argc - arg0 > 1) {
        odbk_err_set(&err, ODBK_E_USAGE, "show takes at most one environment");
        return odbk_cli_exit(&show_cli, -1, &err);
    }
    env = arg0 < argc ? argv[arg0] : NULL;
    rc = -1;
    if (odbk_config_load(common.config, env == NULL, &cfg, &err) < 0)
        goto out;
    if (env) {
        struct odbk_env e;
        if (odbk_config_env(cfg, env, &e, &err) < 0)
            goto out;
        odbk_env_release(&e);
    }
    if (odbk_policy_load(cfg, env, &p, &err) < 0)
        goto out;
    loaded = 1;
    if (common.json) {
        cJSON *o = cJSON_CreateObject(), *keys = cJSON_CreateArray();
        if (env)
            cJSON_AddStringToObject(o, "env", env);
        else
            cJSON_AddNullToObject(o, "env");
        cJSON_AddBoolToObject(o, "custom", p.custom);
        for (i = 0; i < p.n_values; i++) {
            const struct odbk_policy_value *v = &p.values[i];
            cJSON *k = cJSON_CreateObject();
            cJSON_AddStringToObject(k, "key", v->key);
            cJSON_AddStringToObject(k, "value", v->value);
            cJSON_AddStringToObject(k, "source", v->source);
            if (v->file) {
                cJSON_AddStringToObject(k, "file", v->file);
                cJSON_AddNumberToObject(k, "line", v->line);
            } else {
                cJSON_AddNullToObject(k, "file");
                cJSON_AddNullToObject(k, "line");
            }
            cJSON_AddItemToArray(keys, k);
        }
        cJSON_AddItemToObject(o, "keys", keys);
        print_json(o);
    } else {
        if (!env)
            printf("organization policy ([policy] over the defaults)\n");
        else if (p.custom)
            printf("policy of %s: custom ([policy %s] over [policy] over the defaults)\n", env, env);
        else
            printf("policy of %s: the organization's ([policy] over the defaults)\n", env);
        printf("%-20s %-20s %-13s %s\n", "KEY", "VALUE", "SOURCE", "SET AT");
        for (i = 0; i < p.n_values; i++) {
            const struct odbk_policy_value *v = &p.values[i];
            char at[600];
            if (v->file)
                snprintf(at, sizeof(at), "%s:%d", v->file, v->line);
            else
                snprintf(at, sizeof(at), "-");
            printf("%-20s %-20s %-13s %s\n", v->key, *v->value ? v->value : "-", v->source, at);
        }
    }
    rc = 0;
out:
    if (loaded)
        odbk_policy_release(&p);
    odbk_config_free(cfg);
    return odbk_cli_exit(&show_cli, rc, &err);
}

/* ---------------------------------------------------------------- check */

static const struct odbk_opt check_opts[] = {{0}};
static const struct odbk_cli check_cli = {
    PROG, "check",
    "Validate the whole configuration: print every problem, one per line with its file:line, or \"ok\".",
    check_opts, ODBK_CLI_NOCATALOG};

struct problems {
    char **msgs;
    size_t n;
};

static void on_problem(void *ctx, const struct odbk_err *e)
{
    struct problems *p = ctx;
    size_t i;
    for (i = 0; i < p->n; i++)   /* an organization problem is found once per env that inherits it */
        if (!strcmp(p->msgs[i], e->msg))
            return;
    p->msgs = odbk_xrealloc(p->msgs, (p->n + 1) * sizeof(char *));
    p->msgs[p->n++] = odbk_xstrdup(e->msg);
    printf("%s\n", e->msg);
}

static int cmd_check(int argc, char **argv)
{
    struct odbk_cli_common common;
    struct odbk_err err = {0};
    struct odbk_config *cfg = NULL;
    struct problems probs = {0};
    size_t i;
    int arg0, rc = odbk_cli_parse(&check_cli, argc, argv, &common, no_options, NULL, &arg0, &err);
    if (rc != 0)
        return rc > 0 ? 0 : odbk_cli_exit(&check_cli, -1, &err);
    if (arg0 < argc) {
        odbk_err_set(&err, ODBK_E_USAGE, "check takes no operand ('%s')", argv[arg0]);
        return odbk_cli_exit(&check_cli, -1, &err);
    }
    rc = -1;
    if (odbk_config_load(common.config, 0, &cfg, &err) < 0)
        goto out;
    odbk_policy_check_config(cfg, on_problem, &probs);
    {   /* an env whose policy has no rule: odbk-prune refuses it, so it is a problem here too */
        const char **envs = NULL;
        size_t n = odbk_config_env_names(cfg, &envs);
        for (i = 0; i < n; i++) {
            struct odbk_retention_policy rules;
            struct odbk_err e = {0};
            if (odbk_prune_policy(cfg, envs[i], &rules, &e) < 0)
                on_problem(&probs, &e);
        }
        free(envs);
    }
    if (probs.n) {
        odbk_err_set(&err, ODBK_E_CONFIG, "%zu problem%s in '%s'", probs.n, probs.n == 1 ? "" : "s", cfg->path);
        goto out;
    }
    printf("ok\n");
    rc = 0;
out:
    for (i = 0; i < probs.n; i++)
        free(probs.msgs[i]);
    free(probs.msgs);
    odbk_config_free(cfg);
    return odbk_cli_exit(&check_cli, rc, &err);
}

/* ---------------------------------------------------------------- plan */

enum { P_TIMES = 1, P_TZ, P_RULE };   /* P_RULE + i: odbk_retention_keys[i] */

static const struct odbk_opt plan_opts[] = {
    {"times", 't', "FILE", "plan over these times (one RFC 3339 time per line, - for stdin) instead of the catalog",
     P_TIMES},
    {"tz", 0, "ZONE", "time zone of the periods and windows (default: the policy's timezone)", P_TZ},
    {"keep-last", 0, "N", "keep the N newest backups (N or unlimited)", P_RULE + 0},
    {"keep-hourly", 0, "N", "keep the newest backup of each of the last N hours that have one", P_RULE + 1},
    {"keep-daily", 0, "N", "... of each of the last N days", P_RULE + 2},
    {"keep-weekly", 0, "N", "... of each of the last N ISO weeks (Monday to Sunday)", P_RULE + 3},
    {"keep-monthly", 0, "N", "... of each of the last N months", P_RULE + 4},
    {"keep-yearly", 0, "N", "... of each of the last N years", P_RULE + 5},
    {"keep-within", 0, "DURATION", "keep every backup younger than DURATION before the newest (36h, 7d, 4w, 12m, 2y)",
     P_RULE + 6},
    {"keep-within-hourly", 0, "DURATION", "keep the newest backup of each hour within DURATION", P_RULE + 7},
    {"keep-within-daily", 0, "DURATION", "... of each day within DURATION", P_RULE + 8},
    {"keep-within-weekly", 0, "DURATION", "... of each ISO week within DURATION", P_RULE + 9},
    {"keep-within-monthly", 0, "DURATION", "... of each month within DURATION", P_RULE + 10},
    {"keep-within-yearly", 0, "DURATION", "... of each year within DURATION", P_RULE + 11},
    {0},
};
static const struct odbk_cli plan_cli = {
    PROG, "plan ENV [--json] [rule options] [--tz ZONE]\nplan --times FILE [--json] [rule options] [--tz ZONE]",
    "Show which backups the retention keeps and why, and which it would prune: the catalog's completed backups "
    "of ENV, or the times in FILE.  Rule options replace the policy's rules (without any: ENV's effective "
    "policy, or the organization's with --times).  The built-in policy is keep-last 7 with keep-within-daily 7d, "
    "keep-within-weekly 4w, keep-within-monthly 12m and keep-within-yearly 2y; windows count back from the newest "
    "backup not dated in the future.",
    plan_opts, ODBK_CLI_JSON};

struct plan_ctx {
    struct odbk_retention_policy rules;
    int n_rules;
    const char *times;
    const char *tz;
};

static int plan_opt(void *p, int id, const char *arg, struct odbk_err *err)
{
    struct plan_ctx *c = p;
    switch (id) {
    case P_TIMES: c->times = arg; break;
    case P_TZ:
        if (odbk_tz_check(arg, err) < 0) {
            err->code = ODBK_E_USAGE;
            odbk_err_prefix(err, "--tz");
            return -1;
        }
        c->tz = arg;
        break;
    default:
        if (odbk_retention_policy_set(&c->rules, odbk_retention_keys[id - P_RULE], arg, err) < 0) {
            char msg[sizeof(err->msg)], hint[sizeof(err->hint)];
            snprintf(msg, sizeof(msg), "%s", err->msg);   /* "keep-daily: ..." -> "--keep-daily: ..." */
            snprintf(hint, sizeof(hint), "%s", err->hint);
            odbk_err_set(err, ODBK_E_USAGE, "--%s", msg);
            if (*hint)
                odbk_err_hint(err, "%s", hint);
            return -1;
        }
        c->n_rules++;
    }
    return 0;
}

/* Read one RFC 3339 time per line; blank lines and # comments are skipped.  ODBK_E_DATA naming
 * FILE:LINE for anything else. */
static int read_times(const char *path, time_t **out, size_t *n, struct odbk_err *err)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    const char *name = strcmp(path, "-") ? path : "<stdin>";
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, r = 0;
    *out = NULL;
    *n = 0;
    if (!f)
        return odbk_err_sys(err, ODBK_E_NOINPUT, "cannot open '%s'", path);
    while (r == 0 && (len = getline(&line, &cap, f)) >= 0) {
        char *s = line, *e = line + len;
        time_t t;
        lineno++;
        while (*s == ' ' || *s == '\t')
            s++;
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (!*s || *s == '#')
            continue;
        if (odbk_time_parse_rfc3339(s, &t) < 0) {
            r = odbk_err_set(err, ODBK_E_DATA, "%s:%d: '%s' is not an RFC 3339 time", name, lineno, s);
            odbk_err_hint(err, "write times as 2026-01-02T03:04:05Z or 2026-01-02T04:04:05+01:00, one per line");
            break;
        }
        *out = odbk_xrealloc(*out, (*n + 1) * sizeof(time_t));
        (*out)[(*n)++] = t;
    }
    if (r == 0 && ferror(f))
        r = odbk_err_sys(err, ODBK_E_IO, "cannot read '%s'", path);
    free(line);
    if (f != stdin)
        fclose(f);
    if (r < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return r;
}

static cJSON *reasons_json(char *const *reasons, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    size_t j;
    for (j = 0; j < n; j++)
        cJSON_AddItemToArray(a, cJSON_CreateString(reasons[j]));
    return a;
}

static void reasons_text(char *const *reasons, size_t n, char *buf, size_t size)
{
    size_t j, len = 0;
    buf[0] = '\0';
    for (j = 0; j < n && len < size; j++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", j ? ", " : "", reasons[j]);
}

static int plan_times(const struct plan_ctx *c, const struct odbk_cli_common *common, struct odbk_err *err)
{
    struct odbk_retention_policy rules = c->rules;
    struct odbk_retention_item *items = NULL;
    struct odbk_retention_plan *plan = NULL;
    time_t *times = NULL, now = odbk_now();
    size_t n = 0, i;
    char *desc = NULL;
    int r = -1;
    if (!c->n_rules) {   /* the organization's policy */
        struct odbk_config *cfg = NULL;
        struct odbk_policy p;
        if (odbk_config_load(common->config, 1, &cfg, err) < 0)
            return -1;
        if (odbk_policy_load(cfg, NULL, &p, err) < 0) {
            odbk_config_free(cfg);
            return -1;
        }
        rules = p.retention;
        odbk_policy_release(&p);
        odbk_config_free(cfg);
    }
    if (c->tz)
        snprintf(rules.timezone, sizeof(rules.timezone), "%s", c->tz);
    if (read_times(c->times, &times, &n, err) < 0)
        return -1;
    items = odbk_xcalloc(n ? n : 1, sizeof(*items));
    for (i = 0; i < n; i++) {
        items[i].time = times[i];
        items[i].completed = 1;
        if (times[i] >= now)   /* plan as if run after the last time, so no window counts from "now" */
            now = times[i] + 1;
    }
    if (odbk_retention_plan(&rules, items, n, now, &plan, err) < 0)
        goto out;
    desc = odbk_retention_policy_describe(&rules);
    if (common->json) {
        cJSON *arr = cJSON_CreateArray();
        for (i = 0; i < plan->n; i++) {
            const struct odbk_retention_decision *d = &plan->d[i];
            cJSON *o = cJSON_CreateObject();
            char t[32];
            odbk_time_rfc3339(d->item->time, t);
            cJSON_AddStringToObject(o, "time", t);
            cJSON_AddBoolToObject(o, "keep", d->keep);
            cJSON_AddItemToObject(o, "reasons", reasons_json(d->reasons, d->n_reasons));
            cJSON_AddItemToArray(arr, o);
        }
        print_json(arr);
    } else {
        printf("policy: %s\n%-20s  %-6s %s\n", desc, "TIME", "ACTION", "REASONS");
        for (i = 0; i < plan->n; i++) {
            const struct odbk_retention_decision *d = &plan->d[i];
            char t[32], why[512];
            odbk_time_rfc3339(d->item->time, t);
            reasons_text(d->reasons, d->n_reasons, why, sizeof(why));
            printf("%-20s  %-6s %s\n", t, d->keep ? "keep" : "prune", why);
        }
        printf("%zu times: %zu kept, %zu pruned\n", plan->n, plan->n_keep, plan->n - plan->n_keep);
    }
    r = 0;
out:
    free(desc);
    odbk_retention_plan_free(plan);
    free(items);
    free(times);
    return r;
}

static int plan_env(const struct plan_ctx *c, const char *env, const struct odbk_cli_common *common,
                    struct odbk_err *err)
{
    struct odbk_config *cfg = NULL;
    struct odbk_catalog *cat = NULL;
    struct odbk_prune_opts o = {0};
    struct odbk_prune_report rep = {0};
    struct odbk_retention_policy rules = c->rules;
    char *catpath = NULL;
    size_t i;
    int r = -1;
    if (odbk_config_load(common->config, 0, &cfg, err) < 0)
        return -1;
    {
        struct odbk_env e;
        if (odbk_config_env(cfg, env, &e, err) < 0)
            goto out;
        odbk_env_release(&e);
    }
    if (c->n_rules || c->tz) {
        if (!c->n_rules) {   /* the env's rules in another zone */
            struct odbk_policy p;
            if (odbk_policy_load(cfg, env, &p, err) < 0)
                goto out;
            rules = p.retention;
            odbk_policy_release(&p);
        }
        snprintf(rules.timezone, sizeof(rules.timezone), "%s", c->tz ? c->tz : (c->n_rules ? "" : rules.timezone));
        o.rules = &rules;
    }
    o.plan_only = 1;
    catpath = odbk_config_catalog_path(common->catalog);
    if (odbk_catalog_open(catpath, &cat, err) < 0)
        goto out;
    {   /* killed restores of this host are completed or cleaned (not an error of this program) */
        struct odbk_err ignored = {0};
        odbk_restore_recover(cat, &ignored);
    }
    if (odbk_prune_env(cfg, cat, env, &o, &rep, err) < 0)
        goto out;
    if (common->json) {
        cJSON *arr = cJSON_CreateArray();
        for (i = 0; i < rep.n; i++) {
            const struct odbk_prune_item *it = &rep.items[i];
            cJSON *obj = cJSON_CreateObject();
            char t[32];
            odbk_time_rfc3339(it->b.created_at, t);
            cJSON_AddStringToObject(obj, "id", it->b.id);
            cJSON_AddStringToObject(obj, "time", t);
            cJSON_AddStringToObject(obj, "storage", it->b.storage);
            cJSON_AddStringToObject(obj, "retention", it->b.retention ? it->b.retention : "");
            cJSON_AddBoolToObject(obj, "keep", it->action == ODBK_PRUNE_KEEP);
            cJSON_AddItemToObject(obj, "reasons", reasons_json(it->reasons, it->n_reasons));
            cJSON_AddItemToArray(arr, obj);
        }
        print_json(arr);
    } else {
        printf("policy of %s: %s\n%-24s %-21s %-10s %-6s %s\n", env, rep.policy, "ID", "TIME", "STORAGE", "ACTION",
               "REASONS");
        for (i = 0; i < rep.n; i++) {
            const struct odbk_prune_item *it = &rep.items[i];
            char t[32], why[512];
            odbk_time_rfc3339(it->b.created_at, t);
            reasons_text(it->reasons, it->n_reasons, why, sizeof(why));
            printf("%-24s %-21s %-10s %-6s %s\n", it->b.id, t, it->b.storage,
                   it->action == ODBK_PRUNE_KEEP ? "keep" : "prune", why);
        }
        printf("%zu backups: %zu kept, %zu pruned\n", rep.n, rep.n_keep, rep.n_expire);
    }
    r = 0;
out:
    odbk_prune_report_release(&rep);
    free(catpath);
    odbk_catalog_close(cat);
    odbk_config_free(cfg);
    return r;
}

static int cmd_plan(int argc, char **argv)
{
    struct plan_ctx c = {0};
    struct odbk_cli_common common;
    struct odbk_err err = {0};
    int arg0, rc;
    odbk_retention_policy_init(&c.rules);
    rc = odbk_cli_parse(&plan_cli, argc, argv, &common, plan_opt, &c, &arg0, &err);
    if (rc != 0)
        return rc > 0 ? 0 : odbk_cli_exit(&plan_cli, -1, &err);
    if (argc - arg0 > 1 || (c.times && arg0 < argc) || (!c.times && arg0 >= argc)) {
        odbk_err_set(&err, ODBK_E_USAGE, "%s", c.times && arg0 < argc ? "plan takes an environment or --times, not both"
                     : arg0 >= argc ? "name an environment, or pass --times FILE" : "plan takes one environment");
        odbk_err_hint(&err, "see odbk-policy plan --help");
        return odbk_cli_exit(&plan_cli, -1, &err);
    }
    rc = c.times ? plan_times(&c, &common, &err) : plan_env(&c, argv[arg0], &common, &err);
    return odbk_cli_exit(&plan_cli, rc, &err);
}

/* ---------------------------------------------------------------- due, next (schedules) */

/* t in zone as RFC 3339 with its offset ("2026-03-29T03:00:00+02:00"). */
static void local_rfc3339(time_t t, const char *zone, char out[40])
{
    struct tm tm;
    char z[8];
    odbk_tz_enter(zone);
    odbk_tz_local(t, &tm);
    strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    strftime(z, sizeof(z), "%z", &tm);
    odbk_tz_leave();
    if (!strcmp(z, "+0000"))
        strcat(out, "Z");
    else
        snprintf(out + strlen(out), 40 - strlen(out), "%.3s:%.2s", z, z + 3);
}

static void add_time(cJSON *o, const char *key, time_t t)
{
    char buf[32];
    if (!t) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    odbk_time_rfc3339(t, buf);
    cJSON_AddStringToObject(o, key, buf);
}

enum { S_AT = 1, S_COUNT };

struct sched_ctx {
    time_t at;
    long count;
};

static int sched_opt(void *p, int id, const char *arg, struct odbk_err *err)
{
    struct sched_ctx *c = p;
    if (id == S_AT && odbk_time_parse_rfc3339(arg, &c->at) < 0)
        return odbk_err_set(err, ODBK_E_USAGE, "--at: '%s' is not an RFC 3339 time (2026-03-01T10:00:00Z)", arg);
    if (id == S_COUNT)
        return odbk_cli_int("count", arg, 1, 1000, &c->count, err);
    return 0;
}

static const struct odbk_opt due_opts[] = {
    {"at", 0, "TIME", "evaluate at this RFC 3339 time instead of now", S_AT},
    {0},
};
static const struct odbk_cli due_cli = {
    PROG, "due [--at TIME] [--json]",
    "Print the environments whose schedule fired since their last scheduled backup (what 'odbk-create --due' "
    "backs up), one per line; --json gives every environment with the reason.",
    due_opts, ODBK_CLI_JSON};

static int cmd_due(int argc, char **argv)
{
    struct odbk_cli_common common;
    struct odbk_err err = {0};
    struct sched_ctx c = {0};
    struct odbk_config *cfg = NULL;
    struct odbk_catalog *cat = NULL;
    struct odbk_schedule_state *v = NULL;
    size_t n = 0, i;
    char *catpath = NULL;
    int arg0, rc = odbk_cli_parse(&due_cli, argc, argv, &common, sched_opt, &c, &arg0, &err);
    if (rc != 0)
        return rc > 0 ? 0 : odbk_cli_exit(&due_cli, -1, &err);
    if (arg0 < argc) {
        odbk_err_set(&err, ODBK_E_USAGE, "due takes no operand ('%s')", argv[arg0]);
        return odbk_cli_exit(&due_cli, -1, &err);
    }
    rc = -1;
    if (odbk_config_load(common.config, 0, &cfg, &err) < 0)
        goto out;
    catpath = odbk_config_catalog_path(common.catalog);
    if (odbk_catalog_open(catpath, &cat, &err) < 0)
        goto out;
    {   /* killed restores of this host are completed or cleaned (not an error of this program) */
        struct odbk_err ignored = {0};
        odbk_restore_recover(cat, &ignored);
    }
    if (odbk_schedule_states(cfg, cat, c.at ? c.at : odbk_now(), &v, &n, &err) < 0)
        goto out;
    if (common.json) {
        cJSON *arr = cJSON_CreateArray();
        for (i = 0; i < n; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "env", v[i].env);
            cJSON_AddBoolToObject(o, "due", v[i].due);
            cJSON_AddStringToObject(o, "reason", v[i].reason);
            cJSON_AddBoolToObject(o, "enabled", v[i].enabled);
            add_time(o, "fired_at", v[i].fired_at);
            add_time(o, "next_at", v[i].next_at);
            add_time(o, "last_scheduled_backup_at", v[i].h.last_success);
            add_time(o, "last_failure_at", v[i].h.last_failure);
            cJSON_AddNumberToObject(o, "failures", v[i].h.failures);
            add_time(o, "retry_at", v[i].retry_at);
            cJSON_AddItemToArray(arr, o);
        }
        print_json(arr);
    } else {
        for (i = 0; i < n; i++)
            if (v[i].due)
                printf("%s\n", v[i].env);
    }
    rc = 0;
out:
    odbk_schedule_states_free(v, n);
    free(catpath);
    odbk_catalog_close(cat);
    odbk_config_free(cfg);
    return odbk_cli_exit(&due_cli, rc, &err);
}

static const struct odbk_opt next_opts[] = {
    {"count", 'n', "N", "how many fire times (default 5)", S_COUNT},
    {"at", 0, "TIME", "the fire times after this RFC 3339 time instead of now", S_AT},
    {0},
};
static const struct odbk_cli next_cli = {
    PROG, "next [ENV] [--count N] [--at TIME] [--json]",
    "Print the next fire times of the schedule of ENV (or of every enabled environment), in UTC and in the "
    "policy's time zone.",
    next_opts, ODBK_CLI_JSON | ODBK_CLI_NOCATALOG};

static int cmd_next(int argc, char **argv)
{
    struct odbk_cli_common common;
    struct odbk_err err = {0};
    struct sched_ctx c = {0};
    struct odbk_config *cfg = NULL;
    const char **names = NULL, *one = NULL;
    cJSON *arr = NULL;
    time_t *t = NULL;
    size_t n, i, k, count;
    int arg0, rc = odbk_cli_parse(&next_cli, argc, argv, &common, sched_opt, &c, &arg0, &err);
    if (rc != 0)
        return rc > 0 ? 0 : odbk_cli_exit(&next_cli, -1, &err);
    if (argc - arg0 > 1) {
        odbk_err_set(&err, ODBK_E_USAGE, "next takes at most one environment");
        return odbk_cli_exit(&next_cli, -1, &err);
    }
    count = c.count > 0 ? (size_t)c.count : 5;
    t = odbk_xcalloc(count, sizeof(time_t));
    arr = common.json ? cJSON_CreateArray() : NULL;
    rc = -1;
    if (odbk_config_load(common.config, 0, &cfg, &err) < 0)
        goto out;
    if (arg0 < argc) {
        struct odbk_env e;
        if (odbk_config_env(cfg, argv[arg0], &e, &err) < 0)
            goto out;
        odbk_env_release(&e);
        one = argv[arg0];
        n = 1;
    } else {
        n = odbk_config_env_names(cfg, &names);
    }
    for (i = 0; i < n; i++) {
        const char *env = names ? names[i] : one;
        struct odbk_policy p;
        if (odbk_policy_load(cfg, env, &p, &err) < 0)
            goto out;
        if (!p.enabled || !p.has_schedule) {   /* disabled policies never fire */
            if (one && !common.quiet)
                fprintf(stderr, "%s: environment '%s' %s: its schedule does not fire\n", PROG, env,
                        p.enabled ? "has no schedule" : "is disabled");
            odbk_policy_release(&p);
            continue;
        }
        if (odbk_schedule_next(&p, c.at ? c.at : odbk_now(), t, count, &err) < 0) {
            odbk_err_prefix(&err, "environment '%s'", env);
            odbk_policy_release(&p);
            goto out;
        }
        if (arr) {
            cJSON *o = cJSON_CreateObject(), *times = cJSON_CreateArray();
            cJSON_AddStringToObject(o, "env", env);
            cJSON_AddStringToObject(o, "schedule", p.cron.text);
            cJSON_AddStringToObject(o, "timezone", p.timezone);
            for (k = 0; k < count; k++) {
                cJSON *ti = cJSON_CreateObject();
                char local[40];
                add_time(ti, "utc", t[k]);
                local_rfc3339(t[k], p.timezone, local);
                cJSON_AddStringToObject(ti, "local", local);
                cJSON_AddItemToArray(times, ti);
            }
            cJSON_AddItemToObject(o, "next", times);
            cJSON_AddItemToArray(arr, o);
        } else {
            for (k = 0; k < count; k++) {
                char utc[32], local[40];
                odbk_time_rfc3339(t[k], utc);
                local_rfc3339(t[k], p.timezone, local);
                printf("%-12s %s  %s %s\n", env, utc, local, p.timezone);
            }
        }
        odbk_policy_release(&p);
    }
    if (arr) {
        print_json(arr);
        arr = NULL;
    }
    rc = 0;
out:
    cJSON_Delete(arr);
    free(t);
    free(names);
    odbk_config_free(cfg);
    return odbk_cli_exit(&next_cli, rc, &err);
}

/* ---------------------------------------------------------------- subcommands */

struct subcommand {
    const char *name;
    const struct odbk_cli *cli;          /* its options, for the completion of `odbk-policy --<TAB>` */
    int (*run)(int argc, char **argv);   /* argv[0] is the subcommand's name */
    const char *summary;
};

static const struct subcommand subcommands[] = {
    {"show", &show_cli, cmd_show, "the effective policy of an environment and each key's source"},
    {"check", &check_cli, cmd_check, "validate the whole configuration"},
    {"plan", &plan_cli, cmd_plan, "which backups the retention keeps and why"},
    {"due", &due_cli, cmd_due, "the environments whose schedule fired since their last scheduled backup"},
    {"next", &next_cli, cmd_next, "the next fire times of the schedules"},
    {NULL, NULL, NULL, NULL},
};

static const struct odbk_opt top_opts[] = {{0}};
static const struct odbk_cli top_cli = {
    PROG, "SUBCOMMAND [options]", "Show, check and try backup policies (retention, schedules).", top_opts,
    ODBK_CLI_NOCATALOG};

static void top_help(FILE *f)
{
    size_t i;
    fprintf(f, "usage: %s SUBCOMMAND [options]\n\n%s\n\nsubcommands:\n", PROG, top_cli.summary);
    for (i = 0; subcommands[i].name; i++)
        fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(f, "\n'%s SUBCOMMAND --help' shows a subcommand's options.  See %s(1).\n", PROG, PROG);
}

int main(int argc, char **argv)
{
    struct odbk_err err = {0};
    const char *names[16];
    const char *dym;
    size_t i;
    if (argc >= 2 && argv[1][0] != '-') {
        for (i = 0; subcommands[i].name; i++)
            if (!strcmp(argv[1], subcommands[i].name))
                return subcommands[i].run(argc - 1, argv + 1);
        for (i = 0; subcommands[i].name && i < 15; i++)
            names[i] = subcommands[i].name;
        names[i] = NULL;
        dym = odbk_did_you_mean(argv[1], names);
        odbk_err_set(&err, ODBK_E_USAGE, "unknown subcommand '%s'%s%s%s", argv[1], dym ? " (did you mean '" : "",
                     dym ? dym : "", dym ? "'?)" : "");
        odbk_err_hint(&err, "see %s --help", PROG);
        return odbk_cli_exit(&top_cli, -1, &err);
    }
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        top_help(stdout);
        return odbk_cli_exit(&top_cli, 0, &err);
    }
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
        printf("%s %s\n", PROG, ODBK_VERSION);
        return odbk_cli_exit(&top_cli, 0, &err);
    }
    if (argc >= 2 && !strcmp(argv[1], "--completion-helper")) {
        /* every option of every subcommand, once, and the common ones */
        static const char *const common[] = {"--config=", "--catalog=", "--json", "--quiet", "--help", "--version",
                                             NULL};
        const char *seen[256];
        size_t n_seen = 0, k;
        for (i = 0; subcommands[i].name; i++) {
            const struct odbk_opt *o;
            for (o = subcommands[i].cli->opts; o && o->name; o++) {
                for (k = 0; k < n_seen && strcmp(seen[k], o->name); k++)
                    ;
                if (k < n_seen || !o->help || n_seen >= 256)
                    continue;
                seen[n_seen++] = o->name;
                printf("--%s%s\n", o->name, o->arg ? "=" : "");
            }
        }
        for (i = 0; common[i]; i++)
            printf("%s\n", common[i]);
        return 0;
    }
    if (argc >= 2) {
        static const char *const common[] = {"config", "catalog", "json", "quiet", "help", "version", NULL};
        char word[64];
        snprintf(word, sizeof(word), "%s", argv[1] + strspn(argv[1], "-"));
        word[strcspn(word, "=")] = '\0';
        dym = odbk_did_you_mean(word, common);
        odbk_err_set(&err, ODBK_E_USAGE, "unknown option '%s'%s%s%s: options come after the subcommand", argv[1],
                     dym ? " (did you mean '--" : "", dym ? dym : "", dym ? "'?)" : "");
    } else {
        char list[256] = "";
        size_t len = 0;
        for (i = 0; subcommands[i].name; i++)
            len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", subcommands[i].name);
        odbk_err_set(&err, ODBK_E_USAGE, "a subcommand is needed: %s", list);
    }
    odbk_err_hint(&err, "see %s --help", PROG);
    return odbk_cli_exit(&top_cli, -1, &err);
}
