/* policy.c - effective policies: defaults ← [policy] ← [policy ENV], with each key's source. */
#include "policy/policy.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/duration.h"
#include "policy/tz.h"
#include "storage/storage.h"

struct def {
    const char *key;
    const char *value;
};

static const struct def defaults[] = {
    {"enabled", "true"},
    {"schedule", "@daily"},
    {"timezone", "UTC"},
    {"keep-last", "7"},        /* a floor always kept (odbk.conf(5)) */
    {"keep-hourly", ""},
    {"keep-daily", ""},
    {"keep-weekly", ""},
    {"keep-monthly", ""},
    {"keep-yearly", ""},
    {"keep-within", ""},
    {"keep-within-hourly", ""},
    {"keep-within-daily", "7d"},
    {"keep-within-weekly", "4w"},
    {"keep-within-monthly", "12m"},
    {"keep-within-yearly", "2y"},
    {"notify-on", "failure"},
    {"notify-command", ""},
    {"notify-url", ""},
    {"notify-timeout", "30s"},
    {"compliance-window", ""},
    {"warning-after", "1d"},
    {"danger-after", "5d"},
    {NULL, NULL},
};

const char *const odbk_policy_keys[] = {
    "enabled", "schedule", "timezone", "keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly",
    "keep-yearly", "keep-within", "keep-within-hourly", "keep-within-daily", "keep-within-weekly",
    "keep-within-monthly", "keep-within-yearly", "notify-on", "notify-command", "notify-url", "notify-timeout",
    "compliance-window", "warning-after", "danger-after", NULL,
};

void odbk_policy_release(struct odbk_policy *p)
{
    size_t i;
    for (i = 0; i < p->n_values; i++)
        free(p->values[i].value);
    free(p->env);
    memset(p, 0, sizeof(*p));
}

const struct odbk_policy_value *odbk_policy_value(const struct odbk_policy *p, const char *key)
{
    size_t i;
    for (i = 0; i < p->n_values; i++)
        if (!strcmp(p->values[i].key, key))
            return &p->values[i];
    return NULL;
}

static void overlay(struct odbk_policy *p, const struct odbk_config_section *sec, const char *source)
{
    size_t i, j;
    if (!sec)
        return;
    for (i = 0; i < sec->n_kv; i++)
        for (j = 0; j < p->n_values; j++)
            if (!strcmp(p->values[j].key, sec->kv[i].key)) {
                free(p->values[j].value);
                p->values[j].value = odbk_xstrdup(sec->kv[i].value);
                p->values[j].source = source;
                p->values[j].file = sec->file;
                p->values[j].line = sec->kv[i].line;
            }
}

/* An error about a key's value, as "file:line: [policy X] key: msg". */
static int value_error(struct odbk_err *err, const struct odbk_policy_value *v, const char *env, const char *msg)
{
    char where[512];
    if (v->file)
        snprintf(where, sizeof(where), "%s:%d: [policy%s%s] %s", v->file, v->line,
                 !strcmp(v->source, "custom") && env ? " " : "", !strcmp(v->source, "custom") && env ? env : "", v->key);
    else
        snprintf(where, sizeof(where), "built-in default %s", v->key);
    return odbk_err_set(err, ODBK_E_CONFIG, "%s: %s", where, msg);
}

static int seconds_of(const struct odbk_policy_value *v, const char *env, int64_t *out, struct odbk_err *err)
{
    struct odbk_err e = {0};
    *out = 0;
    if (!*v->value)
        return 0;
    if (odbk_duration_parse_seconds(v->value, out, &e) < 0)
        return value_error(err, v, env, e.msg);
    return 0;
}

const struct odbk_policy *odbk_policy_for(const struct odbk_config *cfg, const char *env, struct odbk_policy *shared,
                                          int *have_shared, struct odbk_policy *own, struct odbk_err *err)
{
    memset(own, 0, sizeof(*own));
    if (odbk_config_find(cfg, "policy", env))
        return odbk_policy_load(cfg, env, own, err) < 0 ? NULL : own;
    if (!*have_shared) {
        if (odbk_policy_load(cfg, env, shared, err) < 0)
            return NULL;
        *have_shared = 1;
    }
    return shared;
}

int odbk_policy_load(const struct odbk_config *cfg, const char *env, struct odbk_policy *p, struct odbk_err *err)
{
    const struct odbk_config_section *org = odbk_config_find(cfg, "policy", NULL);
    const struct odbk_config_section *custom = env ? odbk_config_find(cfg, "policy", env) : NULL;
    const struct odbk_policy_value *v;
    size_t i;
    memset(p, 0, sizeof(*p));
    p->env = env ? odbk_xstrdup(env) : NULL;
    p->custom = custom != NULL;
    for (i = 0; defaults[i].key; i++) {
        p->values[i].key = defaults[i].key;
        p->values[i].value = odbk_xstrdup(defaults[i].value);
        p->values[i].source = "default";
    }
    p->n_values = i;
    if ((org && odbk_config_check_keys(org, odbk_policy_keys, err) < 0) ||
        (custom && odbk_config_check_keys(custom, odbk_policy_keys, err) < 0))
        goto fail;
    overlay(p, org, "organization");
    overlay(p, custom, "custom");

    v = odbk_policy_value(p, "enabled");
    if (!*v->value || !strcasecmp(v->value, "true") || !strcasecmp(v->value, "yes") || !strcmp(v->value, "1") ||
        !strcasecmp(v->value, "on"))
        p->enabled = 1;
    else if (!strcasecmp(v->value, "false") || !strcasecmp(v->value, "no") || !strcmp(v->value, "0") ||
             !strcasecmp(v->value, "off"))
        p->enabled = 0;
    else {
        value_error(err, v, env, "not a boolean (use true or false)");
        goto fail;
    }
    v = odbk_policy_value(p, "timezone");
    snprintf(p->timezone, sizeof(p->timezone), "%s", *v->value ? v->value : "UTC");
    {
        struct odbk_err e = {0};
        if (odbk_tz_check(p->timezone, &e) < 0) {
            value_error(err, v, env, e.msg);
            goto fail;
        }
    }
    v = odbk_policy_value(p, "schedule");
    if (*v->value) {
        struct odbk_err e = {0};
        if (odbk_cron_parse(v->value, &p->cron, &e) < 0) {
            value_error(err, v, env, e.msg);
            goto fail;
        }
        p->has_schedule = 1;
    }
    odbk_retention_policy_init(&p->retention);
    snprintf(p->retention.timezone, sizeof(p->retention.timezone), "%s", p->timezone);
    for (i = 0; odbk_retention_keys[i]; i++) {
        struct odbk_err e = {0};
        v = odbk_policy_value(p, odbk_retention_keys[i]);
        if (!v || !*v->value)
            continue;
        if (odbk_retention_policy_set(&p->retention, v->key, v->value, &e) < 0) {
            value_error(err, v, env, e.msg);
            goto fail;
        }
    }
    v = odbk_policy_value(p, "notify-on");
    if (!*v->value || !strcmp(v->value, "failure"))
        p->notify_failure = 1;
    else if (!strcmp(v->value, "success"))
        p->notify_success = 1;
    else if (!strcmp(v->value, "both"))
        p->notify_success = p->notify_failure = 1;
    else if (strcmp(v->value, "none")) {
        value_error(err, v, env, "must be success, failure, both or none");
        goto fail;
    }
    p->notify_command = odbk_policy_value(p, "notify-command")->value;
    p->notify_url = odbk_policy_value(p, "notify-url")->value;
    if (*p->notify_command && p->notify_command[0] != '/') {
        value_error(err, odbk_policy_value(p, "notify-command"), env, "must be an absolute path (it is run without a shell)");
        goto fail;
    }
    if (*p->notify_url && strncmp(p->notify_url, "http://", 7) && strncmp(p->notify_url, "https://", 8)) {
        value_error(err, odbk_policy_value(p, "notify-url"), env, "must be an http:// or https:// URL");
        goto fail;
    }
    if (seconds_of(odbk_policy_value(p, "notify-timeout"), env, &p->notify_timeout, err) < 0 ||
        seconds_of(odbk_policy_value(p, "compliance-window"), env, &p->compliance_window, err) < 0 ||
        seconds_of(odbk_policy_value(p, "warning-after"), env, &p->warning_after, err) < 0 ||
        seconds_of(odbk_policy_value(p, "danger-after"), env, &p->danger_after, err) < 0)
        goto fail;
    if (!p->notify_timeout)
        p->notify_timeout = 30;
    if (!p->warning_after)
        p->warning_after = 86400;
    if (!p->danger_after)
        p->danger_after = 5 * 86400;
    if (p->danger_after < p->warning_after) {
        value_error(err, odbk_policy_value(p, "danger-after"), env, "must not be shorter than warning-after");
        goto fail;
    }
    return 0;
fail:
    odbk_policy_release(p);
    return -1;
}

int odbk_policy_check_config(const struct odbk_config *cfg, odbk_policy_report_cb report, void *ctx)
{
    int problems = 0;
    size_t i;
    for (i = 0; i < cfg->n_sections; i++) {
        const struct odbk_config_section *s = &cfg->sections[i];
        struct odbk_err e = {0};
        if (!strcmp(s->kind, "storage")) {
            if (odbk_storage_check(s, &e) < 0) {
                report(ctx, &e);
                problems++;
            }
        } else if (!strcmp(s->kind, "env")) {
            struct odbk_env env;
            struct odbk_policy p;
            if (odbk_config_env(cfg, s->name, &env, &e) < 0) {
                report(ctx, &e);
                problems++;
                continue;
            }
            odbk_env_release(&env);
            if (odbk_policy_load(cfg, s->name, &p, &e) < 0) {
                report(ctx, &e);
                problems++;
            } else {
                odbk_policy_release(&p);
            }
        } else if (!strcmp(s->kind, "policy")) {
            if (s->name && !odbk_config_find(cfg, "env", s->name)) {
                const char **names;
                const char *dym;
                odbk_config_env_names(cfg, &names);
                dym = odbk_did_you_mean(s->name, names);
                odbk_config_error(&e, s, NULL, "is the custom policy of an environment that does not exist%s%s%s",
                                  dym ? " (did you mean '" : "", dym ? dym : "", dym ? "'?)" : "");
                free(names);
                report(ctx, &e);
                problems++;
            } else if (!s->name) {
                struct odbk_policy p;
                if (odbk_policy_load(cfg, NULL, &p, &e) < 0) {
                    report(ctx, &e);
                    problems++;
                } else {
                    odbk_policy_release(&p);
                }
            }
        }
    }
    return problems;
}
