/* odbk-policy - policies and schedules (odbk-policy(1)).  Subcommands: due, next (issue 6); show, check and
 * plan come from the retention work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cli/cli.h"
#include "common/util.h"
#include "policy/policy.h"
#include "policy/schedule.h"
#include "policy/tz.h"

enum { O_AT = 1, O_COUNT };

static const struct odbk_opt opts[] = {
    {"at", 0, "TIME", "due, next: evaluate at this RFC 3339 time instead of now", O_AT},
    {"count", 'n', "N", "next: how many fire times (default 5)", O_COUNT},
    {0},
};

static const struct odbk_cli cli = {
    "odbk-policy", "due [--at TIME]\nnext [ENV] [--count N] [--at TIME]",
    "Show policies and schedules: which environments are due, and when schedules fire next.", opts,
    ODBK_CLI_JSON};

struct ctx {
    time_t at;
    long count;
};

static int on_opt(void *p, int id, const char *arg, struct odbk_err *err)
{
    struct ctx *c = p;
    switch (id) {
    case O_AT:
        if (odbk_time_parse_rfc3339(arg, &c->at) < 0)
            return odbk_err_set(err, ODBK_E_USAGE, "--at: '%s' is not an RFC 3339 time (2026-03-01T10:00:00Z)", arg);
        break;
    case O_COUNT:
        return odbk_cli_int("count", arg, 1, 1000, &c->count, err);
    }
    return 0;
}

/* ---- due and next (issue 6) ---- */

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

/* due: the envs whose schedule fired since their last scheduled backup (the rules: policy/schedule.h). */
static int cmd_due(const struct odbk_cli_common *common, const struct ctx *c, int argc, char **argv,
                   struct odbk_err *err)
{
    struct odbk_config *cfg = NULL;
    struct odbk_catalog *cat = NULL;
    struct odbk_schedule_state *v = NULL;
    size_t n = 0, i;
    char *catpath = NULL;
    int r = -1;
    if (argc > 0) {
        odbk_err_set(err, ODBK_E_USAGE, "due takes no operand ('%s')", argv[0]);
        return -1;
    }
    if (odbk_config_load(common->config, 0, &cfg, err) < 0)
        goto out;
    catpath = odbk_config_catalog_path(common->catalog);
    if (odbk_catalog_open(catpath, &cat, err) < 0)
        goto out;
    if (odbk_schedule_states(cfg, cat, c->at ? c->at : odbk_now(), &v, &n, err) < 0)
        goto out;
    if (common->json) {
        cJSON *arr = cJSON_CreateArray();
        char *s;
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
        s = cJSON_Print(arr);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(arr);
    } else {
        for (i = 0; i < n; i++)
            if (v[i].due)
                printf("%s\n", v[i].env);
    }
    r = 0;
out:
    odbk_schedule_states_free(v, n);
    free(catpath);
    odbk_catalog_close(cat);
    odbk_config_free(cfg);
    return r;
}

/* next [ENV]: the next fire times of every enabled env's schedule (or of ENV's), in UTC and in its zone. */
static int cmd_next(const struct odbk_cli_common *common, const struct ctx *c, int argc, char **argv,
                    struct odbk_err *err)
{
    struct odbk_config *cfg = NULL;
    const char **names = NULL, *one[2] = {NULL, NULL};
    size_t n, i, k, count = c->count > 0 ? (size_t)c->count : 5;
    time_t *t = odbk_xcalloc(count, sizeof(time_t));
    cJSON *arr = common->json ? cJSON_CreateArray() : NULL;
    int r = -1;
    if (argc > 1) {
        odbk_err_set(err, ODBK_E_USAGE, "next takes at most one environment");
        goto out;
    }
    if (odbk_config_load(common->config, 0, &cfg, err) < 0)
        goto out;
    if (argc == 1) {
        struct odbk_env e;
        if (odbk_config_env(cfg, argv[0], &e, err) < 0)
            goto out;
        odbk_env_release(&e);
        one[0] = argv[0];
        n = 1;
    } else {
        n = odbk_config_env_names(cfg, &names);
    }
    for (i = 0; i < n; i++) {
        const char *env = names ? names[i] : one[0];
        struct odbk_policy p;
        if (odbk_policy_load(cfg, env, &p, err) < 0)
            goto out;
        if (!p.enabled || !p.has_schedule) {
            if (argc == 1 && !common->quiet)
                fprintf(stderr, "%s: environment '%s' %s: its schedule does not fire\n", cli.prog, env,
                        p.enabled ? "has no schedule" : "is disabled");
            odbk_policy_release(&p);
            continue;
        }
        if (odbk_schedule_next(&p, c->at ? c->at : odbk_now(), t, count, err) < 0) {
            odbk_err_prefix(err, "environment '%s'", env);
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
        char *s = cJSON_Print(arr);
        printf("%s\n", s);
        free(s);
    }
    r = 0;
out:
    cJSON_Delete(arr);
    free(t);
    free(names);
    odbk_config_free(cfg);
    return r;
}

/* ---- dispatch ---- */

static const struct {
    const char *name;
    int (*fn)(const struct odbk_cli_common *common, const struct ctx *c, int argc, char **argv,
              struct odbk_err *err);
} subcommands[] = {
    {"due", cmd_due},
    {"next", cmd_next},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    struct ctx c = {0};
    struct odbk_cli_common common;
    struct odbk_err err = {0};
    int arg0, i, r = odbk_cli_parse(&cli, argc, argv, &common, on_opt, &c, &arg0, &err);
    if (r != 0)
        return r > 0 ? 0 : odbk_cli_exit(&cli, -1, &err);
    if (arg0 >= argc) {
        odbk_err_set(&err, ODBK_E_USAGE, "name a subcommand");
        odbk_err_hint(&err, "see %s --help", cli.prog);
        return odbk_cli_exit(&cli, -1, &err);
    }
    for (i = 0; subcommands[i].name && strcmp(subcommands[i].name, argv[arg0]); i++)
        ;
    if (!subcommands[i].name) {
        odbk_err_set(&err, ODBK_E_USAGE, "unknown subcommand '%s'", argv[arg0]);
        odbk_err_hint(&err, "see %s --help", cli.prog);
        return odbk_cli_exit(&cli, -1, &err);
    }
    r = subcommands[i].fn(&common, &c, argc - arg0 - 1, argv + arg0 + 1, &err);
    return odbk_cli_exit(&cli, r, &err);
}
