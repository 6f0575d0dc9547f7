/* odbk-policy - show, check and try policies (odbk-policy(1)).
 *
 * One subcommand per entry of the table at the end of this file; each is a small program of its own
 * (option table, parse, one call into libodbk, print), so adding one is a function and a table line;
 * lib/cli's odbk_cli_dispatch does the rest (--help, --version, completion, did-you-mean). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "backup/probe.h"
#include "backup/prune.h"
#include "backup/session.h"
#include "cli/cli.h"
#include "common/util.h"
#include "policy/policy.h"
#include "policy/schedule.h"
#include "policy/tz.h"

#define PROG "odbk-policy"

static const struct odbk_opt no_opts[] = {{0}};

/* ---------------------------------------------------------------- show */

static const struct odbk_cli show_cli = {
    PROG, "show [ENV] [--json]",
    "Show the effective policy of ENV (or the organization's) and where each key comes from: default, "
    "organization ([policy]) or custom ([policy ENV]).",
    no_opts, ODBK_CLI_JSON | ODBK_CLI_NOCATALOG, &odbk_vocab_env, NULL};

/* The env's connection settings and where each came from (odbk.conf, the env's odoo.conf, or a default). */
static void print_env_settings(const struct odbk_env *e)
{
    printf("\nenvironment %s%s%s\n", e->name, e->odoo_conf ? ", with odoo-conf " : "",
           e->odoo_conf ? e->odoo_conf : "");
    printf("%-20s %-41s %s\n", "SETTING", "VALUE", "SOURCE");
    printf("%-20s %-41s %s\n", "database", e->database, e->database_from);
    printf("%-20s %-41s %s\n", "pg", *e->pg ? e->pg : "-", e->pg_from);
    printf("%-20s %-41s %s\n", "filestore", e->filestore, e->filestore_from);
    if (e->addons_path)
        printf("%-20s %-41s %s\n", "addons-path", e->addons_path, e->addons_path_from);
    /* unset: odbk-restore's rules (odbk-restore(1) WHO OWNS WHAT) */
    printf("%-20s %-41s %s\n", "db-owner", e->db_owner ? e->db_owner : "-", e->db_owner ? "odbk.conf" : "default");
    printf("%-20s %-41s %s\n", "filestore-owner", e->filestore_owner ? e->filestore_owner : "-",
           e->filestore_owner ? "odbk.conf" : "default");
}

static int cmd_show(int argc, char **argv)
{
    struct odbk_cli_common common;
    struct odbk_err err = {0};
    struct odbk_session s = {0};
    struct odbk_policy p;
    struct odbk_env e;
    const char *env = NULL;
    int loaded = 0, have_env = 0, arg0, rc = odbk_cli_parse(&show_cli, argc, argv, &common, NULL, NULL, &arg0, &err);
    size_t i;
    if (rc != 0)
        return rc > 0 ? 0 : odbk_cli_exit(&show_cli, -1, &err);
    if (argc - arg0 > 1) {
        odbk_err_set(&err, ODBK_E_USAGE, "show takes at most one environment");
        return odbk_cli_exit(&show_cli, -1, &err);
    }
    env = arg0 < argc ? argv[arg0] : NULL;
    rc = -1;
    if (odbk_session_open(&s, common.config, NULL,
                          ODBK_SESSION_NO_CATALOG | (env ? 0 : ODBK_SESSION_CONFIG_OPTIONAL), &err) < 0)
        goto out;
    if (env && odbk_config_env(s.cfg, env, &e, &err) < 0)
        goto out;
    have_env = env != NULL;
    if (odbk_policy_load(s.cfg, env, &p, &err) < 0)
        goto out;
    loaded = 1;
    if (common.json) {
        odbk_cli_print_json(odbk_policy_json(&p, env), 0);
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
        if (have_env)
            print_env_settings(&e);
    }
    rc = 0;
out:
    if (have_env)
        odbk_env_release(&e);
    if (loaded)
        odbk_policy_release(&p);
    odbk_session_close(&s);
    return odbk_cli_exit(&show_cli, rc, &err);
}

/* ---------------------------------------------------------------- check */

enum { C_PROBE = 1 };
static const struct odbk_opt check_opts[] = {
    {"probe", 0, NULL, "also try each storage (one list call) and each environment's database and filestore",
     C_PROBE, NULL},
    {0},
};
static const struct odbk_cli check_cli = {
    PROG, "check [--probe]",
    "Validate the whole configuration: print every problem, one per line with its file:line, or \"ok\"; with "
    "--probe, then reach every storage and environment and print a line for each.",
    check_opts, ODBK_CLI_NOCATALOG, NULL, NULL};

static int check_opt(void *p, int id, const char *arg, struct odbk_err *err)
{
    (void)arg;
    (void)err;
    if (id == C_PROBE)
        *(int *)p = 1;
    return 0;
}

static void on_problem(void *ctx, const struct odbk_err *e)
{
    (void)ctx;
    printf("%s\n", e->msg);
}

static void on_probe(void *ctx, const struct odbk_probe *p)
{
    ++*(size_t *)ctx;
    if (p->err)
        printf("%s %s: FAILED: %s\n", p->kind, p->name, p->err->msg);
    else
        printf("%s %s: ok (%s)\n", p->kind, p->name, p->detail);
}

static int cmd_check(int argc, char **argv)
{
    struct odbk_cli_common common;
    struct odbk_err err = {0};
    struct odbk_session s = {0};
    size_t n, tried = 0;
    int probe = 0, arg0, rc = odbk_cli_parse(&check_cli, argc, argv, &common, check_opt, &probe, &arg0, &err);
    if (rc != 0)
        return rc > 0 ? 0 : odbk_cli_exit(&check_cli, -1, &err);
    if (arg0 < argc) {
        odbk_err_set(&err, ODBK_E_USAGE, "check takes no operand ('%s')", argv[arg0]);
        return odbk_cli_exit(&check_cli, -1, &err);
    }
    rc = -1;
    if (odbk_session_open(&s, common.config, NULL, ODBK_SESSION_NO_CATALOG, &err) < 0)
        goto out;
    n = odbk_prune_check_config(s.cfg, on_problem, NULL);
    if (n) {
        odbk_err_set(&err, ODBK_E_CONFIG, "%zu problem%s in '%s'", n, n == 1 ? "" : "s", s.cfg->path);
        if (probe)
            odbk_err_hint(&err, "fix them first: --probe tries only a valid configuration");
        goto out;
    }
    printf("ok\n");
    if (probe && (n = odbk_probe_config(s.cfg, on_probe, &tried, &err)) > 0) {
        /* the first failure's kind gives the exit code (77 credentials, 69 unreachable, ...) */
        struct odbk_err first = err;
        odbk_err_set(&err, first.code, "%zu of %zu probe%s failed, the first: %s", n, tried, tried == 1 ? "" : "s",
                     first.msg);
        if (*first.hint)
            odbk_err_hint(&err, "%s", first.hint);
        goto out;
    }
    rc = 0;
out:
    odbk_session_close(&s);
    return odbk_cli_exit(&check_cli, rc, &err);
}

/* ---------------------------------------------------------------- plan */

enum { P_TIMES = 1, P_TZ, P_RULE };   /* P_RULE + i: odbk_retention_keys[i] */

static const struct odbk_opt plan_opts[] = {
    {"times", 't', "FILE", "plan over these times (one RFC 3339 time per line, - for stdin) instead of the catalog",
     P_TIMES, &odbk_vocab_file},
    {"tz", 0, "ZONE", "time zone of the periods and windows (default: the policy's timezone)", P_TZ, NULL},
    {"keep-last", 0, "N", "keep the N newest backups (N or unlimited)", P_RULE + 0, NULL},
    {"keep-hourly", 0, "N", "keep the newest backup of each of the last N hours that have one", P_RULE + 1, NULL},
    {"keep-daily", 0, "N", "... of each of the last N days", P_RULE + 2, NULL},
    {"keep-weekly", 0, "N", "... of each of the last N ISO weeks (Monday to Sunday)", P_RULE + 3, NULL},
    {"keep-monthly", 0, "N", "... of each of the last N months", P_RULE + 4, NULL},
    {"keep-yearly", 0, "N", "... of each of the last N years", P_RULE + 5, NULL},
    {"keep-within", 0, "DURATION", "keep every backup younger than DURATION before the newest (36h, 7d, 4w, 12m, 2y)",
     P_RULE + 6, NULL},
    {"keep-within-hourly", 0, "DURATION", "keep the newest backup of each hour within DURATION", P_RULE + 7, NULL},
    {"keep-within-daily", 0, "DURATION", "... of each day within DURATION", P_RULE + 8, NULL},
    {"keep-within-weekly", 0, "DURATION", "... of each ISO week within DURATION", P_RULE + 9, NULL},
    {"keep-within-monthly", 0, "DURATION", "... of each month within DURATION", P_RULE + 10, NULL},
    {"keep-within-yearly", 0, "DURATION", "... of each year within DURATION", P_RULE + 11, NULL},
    {0},
};
static const struct odbk_cli plan_cli = {
    PROG, "plan ENV [--json] [rule options] [--tz ZONE]\nplan --times FILE [--json] [rule options] [--tz ZONE]",
    "Show which backups the retention keeps and why, and which it would prune: the catalog's completed backups "
    "of ENV, or the times in FILE.  Rule options replace the policy's rules (without any: ENV's effective "
    "policy, or the organization's with --times).  The built-in policy is keep-last 7 with keep-within-daily 7d, "
    "keep-within-weekly 4w, keep-within-monthly 12m and keep-within-yearly 2y; windows count back from the newest "
    "backup not dated in the future.",
    plan_opts, ODBK_CLI_JSON, &odbk_vocab_env, NULL};

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
        struct odbk_session s;
        struct odbk_policy p;
        if (odbk_session_open(&s, common->config, NULL, ODBK_SESSION_NO_CATALOG | ODBK_SESSION_CONFIG_OPTIONAL,
                              err) < 0)
            return -1;
        r = odbk_policy_load(s.cfg, NULL, &p, err);
        odbk_session_close(&s);
        if (r < 0)
            return -1;
        rules = p.retention;
        odbk_policy_release(&p);
        r = -1;
    }
    if (c->tz)
        snprintf(rules.timezone, sizeof(rules.timezone), "%s", c->tz);
    if (odbk_retention_read_times(c->times, &times, &n, err) < 0)
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
            cJSON_AddStringToObject(o, "created_at", t);
            cJSON_AddStringToObject(o, "action", odbk_prune_action_name(d->keep ? ODBK_PRUNE_KEEP : ODBK_PRUNE_EXPIRE));
            cJSON_AddItemToObject(o, "reasons", odbk_retention_reasons_json(d->reasons, d->n_reasons));
            cJSON_AddItemToArray(arr, o);
        }
        odbk_cli_print_json(arr, 0);
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
    struct odbk_session s;
    struct odbk_prune_opts o = {0};
    struct odbk_prune_report rep = {0};
    struct odbk_retention_policy rules = c->rules;
    struct odbk_env e;
    size_t i;
    int r = -1;
    if (odbk_session_open(&s, common->config, common->catalog, ODBK_SESSION_RECOVER, err) < 0)
        return -1;
    if (odbk_config_env(s.cfg, env, &e, err) < 0)
        goto out;
    odbk_env_release(&e);
    if (c->n_rules || c->tz) {
        if (!c->n_rules) {   /* the env's rules in another zone */
            struct odbk_policy p;
            if (odbk_policy_load(s.cfg, env, &p, err) < 0)
                goto out;
            rules = p.retention;
            odbk_policy_release(&p);
        }
        snprintf(rules.timezone, sizeof(rules.timezone), "%s", c->tz ? c->tz : (c->n_rules ? "" : rules.timezone));
        o.rules = &rules;
    }
    o.plan_only = 1;
    if (odbk_prune_env(s.cfg, s.cat, env, &o, &rep, err) < 0)
        goto out;
    if (common->json) {
        cJSON *arr = cJSON_CreateArray();
        for (i = 0; i < rep.n; i++)
            cJSON_AddItemToArray(arr, odbk_prune_item_json(&rep.items[i]));
        odbk_cli_print_json(arr, 0);
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
    odbk_session_close(&s);
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
    {"at", 0, "TIME", "evaluate at this RFC 3339 time instead of now", S_AT, NULL},
    {0},
};
static const struct odbk_cli due_cli = {
    PROG, "due [--at TIME] [--json]",
    "Print the environments whose schedule fired since their last scheduled backup (what 'odbk-create --due' "
    "backs up), one per line; --json gives every environment with the reason.",
    due_opts, ODBK_CLI_JSON, NULL, NULL};

static int cmd_due(int argc, char **argv)
{
    struct odbk_cli_common common;
    struct odbk_err err = {0};
    struct sched_ctx c = {0};
    struct odbk_session s = {0};
    struct odbk_schedule_state *v = NULL;
    size_t n = 0, i;
    int arg0, rc = odbk_cli_parse(&due_cli, argc, argv, &common, sched_opt, &c, &arg0, &err);
    if (rc != 0)
        return rc > 0 ? 0 : odbk_cli_exit(&due_cli, -1, &err);
    if (arg0 < argc) {
        odbk_err_set(&err, ODBK_E_USAGE, "due takes no operand ('%s')", argv[arg0]);
        return odbk_cli_exit(&due_cli, -1, &err);
    }
    rc = -1;
    if (odbk_session_open(&s, common.config, common.catalog, ODBK_SESSION_RECOVER, &err) < 0)
        goto out;
    if (odbk_schedule_states(s.cfg, s.cat, c.at ? c.at : odbk_now(), &v, &n, &err) < 0)
        goto out;
    if (common.json) {
        cJSON *arr = cJSON_CreateArray();
        for (i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, odbk_schedule_state_json(&v[i]));
        odbk_cli_print_json(arr, 0);
    } else {
        for (i = 0; i < n; i++)
            if (v[i].due)
                printf("%s\n", v[i].env);
    }
    rc = 0;
out:
    odbk_schedule_states_free(v, n);
    odbk_session_close(&s);
    return odbk_cli_exit(&due_cli, rc, &err);
}

static const struct odbk_opt next_opts[] = {
    {"count", 'n', "N", "how many fire times (default 5)", S_COUNT, NULL},
    {"at", 0, "TIME", "the fire times after this RFC 3339 time instead of now", S_AT, NULL},
    {0},
};
static const struct odbk_cli next_cli = {
    PROG, "next [ENV] [--count N] [--at TIME] [--json]",
    "Print the next fire times of the schedule of ENV (or of every enabled environment), in UTC and in the "
    "policy's time zone.",
    next_opts, ODBK_CLI_JSON | ODBK_CLI_NOCATALOG, &odbk_vocab_env, NULL};

static int cmd_next(int argc, char **argv)
{
    struct odbk_cli_common common;
    struct odbk_err err = {0};
    struct sched_ctx c = {0};
    struct odbk_session s = {0};
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
    if (odbk_session_open(&s, common.config, NULL, ODBK_SESSION_NO_CATALOG, &err) < 0)
        goto out;
    if (arg0 < argc) {
        struct odbk_env e;
        if (odbk_config_env(s.cfg, argv[arg0], &e, &err) < 0)
            goto out;
        odbk_env_release(&e);
        one = argv[arg0];
        n = 1;
    } else {
        n = odbk_config_env_names(s.cfg, &names);
    }
    for (i = 0; i < n; i++) {
        const char *env = names ? names[i] : one;
        struct odbk_policy p;
        if (odbk_policy_load(s.cfg, env, &p, &err) < 0)
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
        if (arr)
            cJSON_AddItemToArray(arr, odbk_schedule_next_json(&p, env, t, count));
        for (k = 0; !arr && k < count; k++) {
            char utc[32], local[40];
            odbk_time_rfc3339(t[k], utc);
            odbk_tz_rfc3339(t[k], p.timezone, local);
            printf("%-12s %s  %s %s\n", env, utc, local, p.timezone);
        }
        odbk_policy_release(&p);
    }
    if (arr) {
        odbk_cli_print_json(arr, 0);
        arr = NULL;
    }
    rc = 0;
out:
    cJSON_Delete(arr);
    free(t);
    free(names);
    odbk_session_close(&s);
    return odbk_cli_exit(&next_cli, rc, &err);
}

/* ---------------------------------------------------------------- subcommands */

static const struct odbk_cli_sub subcommands[] = {
    {"show", &show_cli, cmd_show, "the effective policy of an environment and each key's source"},
    {"check", &check_cli, cmd_check, "validate the whole configuration"},
    {"plan", &plan_cli, cmd_plan, "which backups the retention keeps and why"},
    {"due", &due_cli, cmd_due, "the environments whose schedule fired since their last scheduled backup"},
    {"next", &next_cli, cmd_next, "the next fire times of the schedules"},
    {0},
};

static const struct odbk_cli top_cli = {
    PROG, "SUBCOMMAND [options]", "Show, check and try backup policies (retention, schedules).", no_opts,
    ODBK_CLI_NOCATALOG, NULL, subcommands};

int main(int argc, char **argv)
{
    return odbk_cli_dispatch(&top_cli, argc, argv);
}
