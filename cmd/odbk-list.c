/* odbk-list - list backups, newest first (odbk-list(1)). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "backup/backup.h"
#include "cli/cli.h"
#include "common/util.h"
#include "policy/compliance.h"

enum { O_PROJECT = 1, O_STATUS, O_TYPE, O_STORAGE, O_SEARCH, O_RESCAN, O_AUDIT, O_ENV, O_ENVS, O_VERIFY };

static const struct odbk_opt opts[] = {
    {"env", 'e', "ENV", "only this environment (same as naming it as an operand)", O_ENV},
    {"project", 'p', "PROJECT", "only environments of this project", O_PROJECT},
    {"status", 0, "STATUS", "only backups in this state: pending, in_progress, uploading, completed, failed, expired",
     O_STATUS},
    {"type", 't', "TYPE", "only backups of this type: manual, scheduled, pre-restore, pre-upgrade, pre-destroy",
     O_TYPE},
    {"storage", 's', "NAME", "only backups in this storage", O_STORAGE},
    {"search", 0, "TEXT", "only backups whose env, project or database name contains TEXT", O_SEARCH},
    {"rescan", 0, NULL, "import the manifests in storage first (each checked; bad ones and conflicts: exit 65)", O_RESCAN},
    {"verify", 0, NULL, "read every stored file of the selected completed backups back and check its size and "
     "SHA-256 (exit 65 naming the file, and verified cleared, on a mismatch)", O_VERIFY},
    {"audit", 0, NULL, "show the audit log (creates, restores, deletions) instead", O_AUDIT},
    {"envs", 0, NULL, "one row per environment instead: state, backup count, latest backup, policy", O_ENVS},
    {0},
};

static const struct odbk_cli cli = {
    "odbk-list", "[options] [ENV...]",
    "List backups from the catalog, newest first.  --verify first reads the selected completed backups back "
    "from storage (size and SHA-256 of every file): exit 0 and verified set when all match, exit 65 naming the "
    "file and verified cleared on a mismatch.", opts, ODBK_CLI_JSON};

struct ctx {
    struct odbk_backup_filter f;
    const char *envs[101];
    int n_envs;
    int rescan, audit, envs_mode, verify;
};

static const char *const statuses[] = {"pending", "in_progress", "uploading", "completed", "failed", "expired", NULL};

static int on_opt(void *p, int id, const char *arg, struct odbk_err *err)
{
    struct ctx *c = p;
    size_t i;
    switch (id) {
    case O_ENV:
        if (c->n_envs >= 100)
            return odbk_err_set(err, ODBK_E_USAGE, "too many environments");
        c->envs[c->n_envs++] = arg;
        break;
    case O_PROJECT: c->f.project = arg; break;
    case O_STATUS:
        for (i = 0; statuses[i] && strcmp(statuses[i], arg); i++)
            ;
        if (!statuses[i])
            return odbk_err_set(err, ODBK_E_USAGE, "--status: unknown state '%s' (pending, in_progress, uploading, "
                                "completed, failed, expired)", arg);
        c->f.status = arg;
        break;
    case O_TYPE:
        if (!odbk_backup_valid_type(arg))
            return odbk_err_set(err, ODBK_E_USAGE, "--type: unknown type '%s'", arg);
        c->f.type = arg;
        break;
    case O_STORAGE: c->f.storage = arg; break;
    case O_SEARCH: c->f.search = arg; break;
    case O_RESCAN: c->rescan = 1; break;
    case O_AUDIT: c->audit = 1; break;
    case O_ENVS: c->envs_mode = 1; break;
    case O_VERIFY: c->verify = 1; break;
    }
    return 0;
}

static void print_table(const struct odbk_backup *v, size_t n)
{
    size_t i;
    printf("%-24s %-12s %-10s %-11s %-11s %-8s %-20s %9s %-10s %s\n", "ID", "ENV", "PROJECT", "TYPE", "STATUS",
           "VERIFIED", "CREATED", "SIZE_MB", "STORAGE", "COMMENT");
    for (i = 0; i < n; i++) {
        char t[32];
        odbk_time_rfc3339(v[i].created_at, t);
        printf("%-24s %-12s %-10s %-11s %-11s %-8s %-20s %9.1f %-10s %s\n", v[i].id, v[i].env,
               v[i].project && *v[i].project ? v[i].project : "-", v[i].type, v[i].status, v[i].verified ? "yes" : "no",
               t, (double)v[i].total_size / 1e6, v[i].storage, v[i].comment ? v[i].comment : "");
    }
}

static int list_audit(struct odbk_catalog *cat, const struct ctx *c, int json, struct odbk_err *err)
{
    struct odbk_audit *v = NULL;
    size_t n = 0, i;
    if (odbk_catalog_audit_list(cat, c->n_envs == 1 ? c->envs[0] : NULL, &v, &n, err) < 0)
        return -1;
    if (json) {
        cJSON *arr = cJSON_CreateArray();
        char *s;
        for (i = 0; i < n; i++) {
            cJSON *o = cJSON_CreateObject();
            char t[32];
            odbk_time_rfc3339(v[i].at, t);
            cJSON_AddStringToObject(o, "at", t);
            cJSON_AddStringToObject(o, "user", v[i].user ? v[i].user : "");
            cJSON_AddStringToObject(o, "host", v[i].host ? v[i].host : "");
            cJSON_AddStringToObject(o, "action", v[i].action ? v[i].action : "");
            cJSON_AddStringToObject(o, "backup_id", v[i].backup_id ? v[i].backup_id : "");
            cJSON_AddStringToObject(o, "env", v[i].env ? v[i].env : "");
            cJSON_AddStringToObject(o, "source", v[i].source ? v[i].source : "");
            cJSON_AddStringToObject(o, "target", v[i].target ? v[i].target : "");
            cJSON_AddStringToObject(o, "options", v[i].options ? v[i].options : "");
            cJSON_AddStringToObject(o, "result", v[i].result ? v[i].result : "");
            cJSON_AddStringToObject(o, "detail", v[i].detail ? v[i].detail : "");
            cJSON_AddItemToArray(arr, o);
        }
        s = cJSON_Print(arr);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(arr);
    } else {
        printf("%-20s %-10s %-8s %-24s %-12s %-7s %s\n", "AT", "USER", "ACTION", "BACKUP", "ENV", "RESULT", "DETAIL");
        for (i = 0; i < n; i++) {
            char t[32];
            odbk_time_rfc3339(v[i].at, t);
            printf("%-20s %-10s %-8s %-24s %-12s %-7s %s%s%s%s%s\n", t, v[i].user, v[i].action,
                   v[i].backup_id ? v[i].backup_id : "-", v[i].env ? v[i].env : "-", v[i].result,
                   v[i].source ? v[i].source : "", v[i].target ? " -> " : "", v[i].target ? v[i].target : "",
                   v[i].detail ? "  " : "", v[i].detail ? v[i].detail : "");
        }
    }
    odbk_audit_list_free(v, n);
    return 0;
}

/* --envs: the state of each env (SPEC §5), from the config and the catalog. */
static int list_envs(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct ctx *c, int json,
                     struct odbk_err *err)
{
    struct odbk_env_status *v = NULL;
    size_t n = 0, i;
    int k;
    if (odbk_env_status_list(cfg, cat, c->f.project, odbk_now(), &v, &n, err) < 0)
        return -1;
    if (json) {
        cJSON *arr = cJSON_CreateArray();
        char *s;
        for (i = 0; i < n; i++) {
            for (k = 0; k < c->n_envs && strcmp(c->envs[k], v[i].env); k++)
                ;
            if (!c->n_envs || k < c->n_envs)
                cJSON_AddItemToArray(arr, odbk_env_status_json(&v[i]));
        }
        s = cJSON_Print(arr);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(arr);
    } else {
        printf("%-12s %-10s %-14s %7s %-24s %-20s %-7s %s\n", "ENV", "PROJECT", "STATE", "BACKUPS", "LATEST",
               "LATEST_AT", "POLICY", "ENABLED");
        for (i = 0; i < n; i++) {
            char t[32] = "-";
            for (k = 0; k < c->n_envs && strcmp(c->envs[k], v[i].env); k++)
                ;
            if (c->n_envs && k == c->n_envs)
                continue;
            if (v[i].latest_id)
                odbk_time_rfc3339(v[i].latest_at, t);
            printf("%-12s %-10s %-14s %7zu %-24s %-20s %-7s %s\n", v[i].env, *v[i].project ? v[i].project : "-",
                   v[i].state, v[i].backups, v[i].latest_id ? v[i].latest_id : "-", t, v[i].policy_source,
                   v[i].enabled ? "yes" : "no");
        }
    }
    odbk_env_status_free(v, n);
    return 0;
}

/* --verify: read back each selected completed backup; every failure is printed, the first one is returned. */
static int verify_selected(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct ctx *c, int quiet,
                           struct odbk_err *err)
{
    struct odbk_backup_filter f = c->f;
    struct odbk_backup *v = NULL;
    size_t n = 0, i, bad = 0;
    if (f.status && strcmp(f.status, "completed"))
        return odbk_err_set(err, ODBK_E_USAGE, "--verify reads completed backups; --status %s selects none", f.status);
    f.status = "completed";
    if (odbk_catalog_backup_list(cat, &f, &v, &n, err) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        struct odbk_err e = {0};
        if (odbk_backup_verify(cfg, cat, v[i].id, &e) == 0) {
            if (!quiet)
                fprintf(stderr, "odbk-list: %s: backup %s verified\n", v[i].env, v[i].id);
            continue;
        }
        if (bad++ == 0)
            *err = e;
        else
            odbk_err_print(&e, "odbk-list", stderr);
    }
    odbk_backup_list_free(v, n);
    return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
    struct ctx c = {0};
    struct odbk_cli_common common;
    struct odbk_err err = {0};
    struct odbk_config *cfg = NULL;
    struct odbk_catalog *cat = NULL;
    struct odbk_backup *v = NULL;
    size_t n = 0, i;
    char *catpath = NULL;
    int skipped = 0, arg0, r = odbk_cli_parse(&cli, argc, argv, &common, on_opt, &c, &arg0, &err);
    if (r != 0)
        return r > 0 ? 0 : odbk_cli_exit(&cli, -1, &err);
    for (; arg0 < argc && c.n_envs < 100; arg0++)
        c.envs[c.n_envs++] = argv[arg0];
    c.f.envs = c.n_envs ? c.envs : NULL;
    r = -1;
    if (odbk_config_load(common.config, !c.rescan, &cfg, &err) < 0)
        goto out;
    catpath = odbk_config_catalog_path(common.catalog);
    if (odbk_catalog_open(catpath, &cat, &err) < 0)
        goto out;
    {   /* leftovers of failed runs that could not be removed then (not an error of this program) */
        struct odbk_err ignored = {0};
        odbk_backup_retry_removals(cfg, cat, &ignored);
    }
    if (c.rescan) {
        struct odbk_rescan_result rr;
        size_t k;
        if (odbk_backup_rescan(cfg, cat, c.f.storage, &rr, &err) < 0) {
            odbk_rescan_result_release(&rr);
            goto out;
        }
        for (k = 0; k < rr.n_msgs; k++)
            fprintf(stderr, "odbk-list: warning: %s\n", rr.msgs[k]);
        if (!common.quiet)
            fprintf(stderr, "odbk-list: %d backups found in storage (%d new), %d manifests skipped, %d conflicts\n",
                    rr.found, rr.imported, rr.skipped, rr.conflicts);
        skipped = rr.skipped + rr.conflicts;
        odbk_rescan_result_release(&rr);
    }
    if (c.audit) {
        r = list_audit(cat, &c, common.json, &err);
        goto out;
    }
    if (c.envs_mode) {
        r = list_envs(cfg, cat, &c, common.json, &err);
        goto out;
    }
    if (c.verify) {
        if (verify_selected(cfg, cat, &c, common.quiet, &err) < 0)
            goto out;   /* the list is not printed: the errors are the answer */
    }
    if (odbk_catalog_backup_list(cat, &c.f, &v, &n, &err) < 0)
        goto out;
    if (common.json) {
        cJSON *arr = cJSON_CreateArray();
        char *s;
        for (i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, odbk_backup_json(&v[i]));
        s = cJSON_Print(arr);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(arr);
    } else {
        print_table(v, n);
    }
    r = 0;
    if (skipped) {
        /* the listing is printed; the exit code says that storage holds manifests the catalog did not take */
        r = odbk_err_set(&err, ODBK_E_DATA, "--rescan: %d manifests were skipped or in conflict (see the warnings "
                         "above)", skipped);
        odbk_err_hint(&err, "a skipped manifest is damaged or lists files missing from storage; a conflict is a "
                      "backup id already known from another storage or with other content");
    }
out:
    odbk_backup_list_free(v, n);
    free(catpath);
    odbk_catalog_close(cat);
    odbk_config_free(cfg);
    return odbk_cli_exit(&cli, r, &err);
}
