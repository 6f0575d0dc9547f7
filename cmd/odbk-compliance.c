/* odbk-compliance - backup compliance of the enabled environments, for people and for monitoring
 * (odbk-compliance(1)).  Exit codes are the monitoring plugins' (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN),
 * not sysexits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "backup/backup.h"
#include "cli/cli.h"
#include "common/util.h"
#include "policy/compliance.h"

enum { O_PROJECT = 1, O_WARN, O_CRIT, O_NAGIOS };
enum { EXIT_OK = 0, EXIT_WARNING = 1, EXIT_CRITICAL = 2, EXIT_UNKNOWN = 3 };

static const struct odbk_opt opts[] = {
    {"project", 'p', "PROJECT", "only environments of this project", O_PROJECT},
    {"warn-below", 'w', "PCT", "WARNING (exit 1) below this percentage (default 90)", O_WARN},
    {"crit-below", 'c', "PCT", "CRITICAL (exit 2) below this percentage (default 50)", O_CRIT},
    {"nagios", 0, NULL, "one line for Nagios, Icinga and the like: status, summary and perfdata", O_NAGIOS},
    {0},
};

static const struct odbk_cli cli = {
    "odbk-compliance", "[--project P] [--json | --nagios] [--warn-below PCT] [--crit-below PCT]",
    "Percentage of enabled environments with a recent completed backup, and each environment's state.", opts,
    ODBK_CLI_JSON};

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
    struct odbk_config *cfg = NULL;
    struct odbk_catalog *cat = NULL;
    struct odbk_env_status *v = NULL;
    size_t n = 0, i, enabled, compliant, counts[4] = {0}, disabled = 0;
    char *catpath = NULL;
    int arg0, rc, pct, status;
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
    if (odbk_config_load(common.config, 0, &cfg, &err) < 0)
        goto fail;
    catpath = odbk_config_catalog_path(common.catalog);
    if (odbk_catalog_open(catpath, &cat, &err) < 0)
        goto fail;
    {   /* killed restores of this host are completed or cleaned (not an error of this program) */
        struct odbk_err ignored = {0};
        odbk_restore_recover(cat, &ignored);
    }
    if (odbk_env_status_list(cfg, cat, c.project, odbk_now(), &v, &n, &err) < 0)
        goto fail;
    odbk_compliance_count(v, n, &enabled, &compliant);
    if (!enabled) {
        odbk_err_set(&err, ODBK_E_CONFIG, "no enabled environment%s%s%s", c.project ? " in project '" : "",
                     c.project ? c.project : "", c.project ? "'" : "");
        goto fail;
    }
    for (i = 0; i < n; i++) {
        const char *s = v[i].state;
        if (!v[i].enabled)
            disabled++;
        else
            counts[!strcmp(s, ODBK_ENV_NORMAL) ? 0 : !strcmp(s, ODBK_ENV_WARNING) ? 1
                   : !strcmp(s, ODBK_ENV_DANGER) ? 2 : 3]++;
    }
    pct = (int)(100 * compliant / enabled);   /* rounded down: never claim more than is true */
    status = (long)(100 * compliant) < c.crit * (long)enabled   ? EXIT_CRITICAL
             : (long)(100 * compliant) < c.warn * (long)enabled ? EXIT_WARNING
                                                                : EXIT_OK;
    if (c.nagios) {
        int first = 1;
        printf("ODBK COMPLIANCE %s - %d%% (%zu/%zu envs with a recent backup)", status_names[status], pct, compliant,
               enabled);
        for (i = 0; i < n; i++)
            if (v[i].enabled && !v[i].recent) {
                printf("%s%s", first ? "; not recent: " : ", ", v[i].env);
                first = 0;
            }
        printf(" | compliance=%d%%;%ld:;%ld:;0;100 envs=%zu compliant=%zu disabled=%zu normal=%zu warning=%zu "
               "danger=%zu not_configured=%zu\n", pct, c.warn, c.crit, enabled, compliant, disabled, counts[0],
               counts[1], counts[2], counts[3]);
    } else if (common.json) {
        cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
        char *s, lower[16];
        for (i = 0; status_names[status][i]; i++)
            lower[i] = (char)(status_names[status][i] | 0x20);
        lower[i] = 0;
        cJSON_AddStringToObject(o, "status", lower);
        cJSON_AddNumberToObject(o, "compliance", pct);
        cJSON_AddNumberToObject(o, "compliant", (double)compliant);
        cJSON_AddNumberToObject(o, "enabled", (double)enabled);
        cJSON_AddNumberToObject(o, "disabled", (double)disabled);
        cJSON_AddNumberToObject(o, "warn_below", (double)c.warn);
        cJSON_AddNumberToObject(o, "crit_below", (double)c.crit);
        for (i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, odbk_env_status_json(&v[i]));
        cJSON_AddItemToObject(o, "envs", arr);
        s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("compliance: %d%% (%zu/%zu enabled envs with a recent backup) %s\n\n", pct, compliant, enabled,
               status_names[status]);
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
    free(catpath);
    odbk_catalog_close(cat);
    odbk_config_free(cfg);
    if (fflush(stdout) != 0 || ferror(stdout))
        return EXIT_UNKNOWN;
    return status;

fail:
    rc = unknown(&c, common.json, &err);
    odbk_env_status_free(v, n);
    free(catpath);
    odbk_catalog_close(cat);
    odbk_config_free(cfg);
    return rc;
}
