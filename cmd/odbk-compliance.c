/* odbk-compliance - backup compliance of the enabled environments, for people and for monitoring
 * (odbk-compliance(1)).  Exit codes are the monitoring plugins' (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN),
 * not sysexits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "backup/session.h"
#include "cli/cli.h"
#include "common/util.h"
#include "policy/compliance.h"

enum { O_PROJECT = 1, O_WARN, O_CRIT, O_NAGIOS };
enum { EXIT_UNKNOWN = ODBK_COMPLIANCE_UNKNOWN };   /* the other exit codes are the status */

static const struct odbk_opt opts[] = {
    {"project", 'p', "PROJECT", "only environments of this project", O_PROJECT, NULL},
    {"warn-below", 'w', "PCT", "WARNING (exit 1) below this percentage (default 90)", O_WARN, NULL},
    {"crit-below", 'c', "PCT", "CRITICAL (exit 2) below this percentage (default 50)", O_CRIT, NULL},
    {"nagios", 0, NULL, "one line for Nagios, Icinga and the like: status, summary and perfdata", O_NAGIOS, NULL},
    {0},
};

static const struct odbk_cli cli = {
    "odbk-compliance", "[--project P] [--json | --nagios] [-w PCT] [-c PCT]",
    "Percentage of enabled environments with a recent completed backup, and each environment's state.", opts,
    ODBK_CLI_JSON, NULL, NULL};

static const char *const status_names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

struct ctx {
    const char *project;
    long warn, crit;
    int nagios;
};

static int on_opt(void *p, int id, const char *arg, struct odbk_err *err)
{
    struct ctx *c = p;
    switch (id) {
    case O_PROJECT: c->project = arg; break;
    case O_WARN: return odbk_cli_int("warn-below", arg, 0, 100, &c->warn, err);
    case O_CRIT: return odbk_cli_int("crit-below", arg, 0, 100, &c->crit, err);
    case O_NAGIOS: c->nagios = 1; break;
    }
    return 0;
}

/* UNKNOWN: the error once, in the form asked for. */
static int unknown(const struct ctx *c, int json, const struct odbk_err *err)
{
    if (c->nagios) {
        printf("ODBK COMPLIANCE UNKNOWN - %s\n", err->msg);
    } else if (json) {
        cJSON *o = cJSON_CreateObject();
        char *s;
        cJSON_AddStringToObject(o, "status", "unknown");
        cJSON_AddStringToObject(o, "error", err->msg);
        s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    }
    if (!c->nagios)
        odbk_err_print(err, cli.prog, stderr);
    fflush(stdout);
    return EXIT_UNKNOWN;
}

static void fmt_age(int64_t s, char buf[32])
{
    if (s < 0)
        snprintf(buf, 32, "-");
    else if (s < 3600)
        snprintf(buf, 32, "%lldm", (long long)(s / 60));
    else if (s < 2 * 86400)
        snprintf(buf, 32, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        snprintf(buf, 32, "%lldd%02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

int main(int argc, char **argv)
{
    struct ctx c = {.warn = 90, .crit = 50};
    struct odbk_cli_common common;
    struct odbk_err err = {0};
    struct odbk_session s = {0};
    struct odbk_env_status *v = NULL;
    struct odbk_compliance k;
    size_t n = 0, i;
    int arg0, rc;
    rc = odbk_cli_parse(&cli, argc, argv, &common, on_opt, &c, &arg0, &err);
    if (rc > 0)
        return 0;
    if (rc < 0 || arg0 < argc || c.crit > c.warn) {
        if (rc == 0 && arg0 < argc)
            odbk_err_set(&err, ODBK_E_USAGE, "unexpected operand '%s'", argv[arg0]);
        else if (rc == 0)
            odbk_err_set(&err, ODBK_E_USAGE, "--crit-below (%ld) must not be above --warn-below (%ld)", c.crit,
                         c.warn);
        return unknown(&c, common.json, &err);
    }
    /* a check changes nothing, whoever runs it: a killed restore or a pending removal is reported */
    if (odbk_session_open(&s, common.config, common.catalog, 0, &err) < 0)
        goto fail;
    odbk_session_warn_pending(&s, cli.prog);
    if (odbk_env_status_list(s.cfg, s.cat, c.project, odbk_now(), &v, &n, &err) < 0)
        goto fail;
    odbk_compliance_verdict(v, n, c.warn, c.crit, &k);
    /* a killed restore may have left its env's database or filestore set aside: at least WARNING (a pending
     * removal alone is storage kept too long, not a compliance fact: reported, status unchanged) */
    if (s.pending_restores && k.status == ODBK_COMPLIANCE_OK)
        k.status = ODBK_COMPLIANCE_WARNING;
    if (!k.enabled) {
        odbk_err_set(&err, ODBK_E_CONFIG, "no enabled environment%s%s%s", c.project ? " in project '" : "",
                     c.project ? c.project : "", c.project ? "'" : "");
        goto fail;
    }
    if (c.nagios) {
        int first = 1;
        printf("ODBK COMPLIANCE %s - %d%% (%zu/%zu envs with a recent backup)", status_names[k.status], k.percent,
               k.compliant, k.enabled);
        for (i = 0; i < n; i++)
            if (v[i].enabled && !v[i].recent) {
                printf("%s%s", first ? "; not recent: " : ", ", v[i].env);
                first = 0;
            }
        if (s.pending) {   /* '|' would start the perfdata */
            const char *q;
            printf("; ");
            for (q = s.pending; *q; q++)
                putchar(*q == '|' ? '/' : *q);
        }
        printf(" | compliance=%d%%;%ld:;%ld:;0;100 envs=%zu compliant=%zu disabled=%zu normal=%zu warning=%zu "
               "danger=%zu not_configured=%zu\n", k.percent, c.warn, c.crit, k.enabled, k.compliant, k.disabled,
               k.normal, k.warning, k.danger, k.not_configured);
    } else if (common.json) {
        cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
        char *js, lower[16];
        for (i = 0; status_names[k.status][i]; i++)
            lower[i] = (char)(status_names[k.status][i] | 0x20);
        lower[i] = 0;
        cJSON_AddStringToObject(o, "status", lower);
        cJSON_AddNumberToObject(o, "compliance", k.percent);
        cJSON_AddNumberToObject(o, "compliant", (double)k.compliant);
        cJSON_AddNumberToObject(o, "enabled", (double)k.enabled);
        cJSON_AddNumberToObject(o, "disabled", (double)k.disabled);
        cJSON_AddNumberToObject(o, "warn_below", (double)c.warn);
        cJSON_AddNumberToObject(o, "crit_below", (double)c.crit);
        for (i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, odbk_env_status_json(&v[i]));
        cJSON_AddItemToObject(o, "envs", arr);
        odbk_session_pending_json(&s, o);
        js = cJSON_Print(o);
        printf("%s\n", js);
        free(js);
        cJSON_Delete(o);
    } else {
        printf("compliance: %d%% (%zu/%zu enabled envs with a recent backup) %s\n\n", k.percent, k.compliant,
               k.enabled, status_names[k.status]);
        printf("%-12s %-10s %-14s %-7s %-6s %-20s %8s %8s\n", "ENV", "PROJECT", "STATE", "ENABLED", "RECENT",
               "LATEST_AT", "AGE", "WINDOW");
        for (i = 0; i < n; i++) {
            char t[32] = "-", age[32], win[32];
            if (v[i].latest_id)
                odbk_time_rfc3339(v[i].latest_at, t);
            fmt_age(v[i].age, age);
            fmt_age(v[i].window, win);
            printf("%-12s %-10s %-14s %-7s %-6s %-20s %8s %8s\n", v[i].env, *v[i].project ? v[i].project : "-",
                   v[i].state, v[i].enabled ? "yes" : "no", !v[i].enabled ? "-" : v[i].recent ? "yes" : "no", t, age,
                   win);
        }
    }
    odbk_env_status_free(v, n);
    odbk_session_close(&s);
    if (fflush(stdout) != 0 || ferror(stdout))
        return EXIT_UNKNOWN;
    return (int)k.status;

fail:
    rc = unknown(&c, common.json, &err);
    odbk_env_status_free(v, n);
    odbk_session_close(&s);
    return rc;
}
