/* odbk-list - list backups, newest first (odbk-list(1)). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "backup/backup.h"
#include "backup/session.h"
#include "cli/cli.h"
#include "cli/progress.h"
#include "common/util.h"
#include "odoo/manifest.h"
#include "policy/compliance.h"

enum { O_PROJECT = 1, O_STATUS, O_TYPE, O_STORAGE, O_SEARCH, O_RESCAN, O_INIT_STORAGE, O_AUDIT, O_ENV, O_ENVS,
       O_VERIFY, O_BACKUP, O_LIMIT, O_NO_HEADER, O_SINCE, O_UNTIL };

static const struct odbk_opt opts[] = {
    {"env", 'e', "ENV", "only this environment (same as naming it as an operand)", O_ENV, &odbk_vocab_env},
    {"project", 'p', "PROJECT", "only environments of this project", O_PROJECT, NULL},
    {"status", 0, "STATUS", "only backups in this state: {}", O_STATUS, &odbk_vocab_status},
    {"type", 't', "TYPE", "only backups of this type: {}", O_TYPE, &odbk_vocab_type},
    {"storage", 's', "NAME", "only backups in this storage", O_STORAGE, &odbk_vocab_storage},
    {"search", 0, "TEXT", "only backups whose env, project or database name contains TEXT", O_SEARCH, NULL},
    {"rescan", 0, NULL, "import the manifests in storage first (each checked; bad ones and conflicts: exit 65)", O_RESCAN, NULL},
    {"init-storage", 0, "NAME", "with --rescan: write the .odbk-storage marker of local storage NAME first "
     "(its backups were moved or are gone: odbk.conf(5))", O_INIT_STORAGE, &odbk_vocab_storage},
    {"verify", 0, NULL, "read every stored file of the selected completed backups back and check its size and "
     "SHA-256 (exit 65 naming the file, and verified cleared, on a mismatch)", O_VERIFY, NULL},
    {"audit", 0, NULL, "show the audit log (creates, restores, deletions) instead", O_AUDIT, NULL},
    {"envs", 0, NULL, "one row per environment instead: state, backup count, latest backup, policy", O_ENVS, NULL},
    {"backup", 'b', "ID", "one backup in full instead: every field, its error, its files", O_BACKUP,
     &odbk_vocab_backup},
    {"limit", 'n', "N", "at most N backups (the newest)", O_LIMIT, NULL},
    {"since", 0, "TIME", "only backups made at or after TIME (RFC 3339, or an age such as 36h or 7d)", O_SINCE, NULL},
    {"until", 0, "TIME", "only backups made at or before TIME (RFC 3339, or an age)", O_UNTIL, NULL},
    {"no-header", 0, NULL, "no header line in tables", O_NO_HEADER, NULL},
    {0},
};

static const struct odbk_cli cli = {
    "odbk-list", "[options] [ENV...]",
    "List backups from the catalog, newest first.  --verify first reads the selected completed backups back "
    "from storage (size and SHA-256 of every file): exit 0 and verified set when all match, exit 65 naming the "
    "file and verified cleared on a mismatch.", opts, ODBK_CLI_JSON | ODBK_CLI_PROGRESS, &odbk_vocab_env, NULL};

struct ctx {
    struct odbk_backup_filter f;
    const char *envs[101];
    int n_envs;
    int rescan, audit, envs_mode, verify, no_header;
    const char *backup, *init_storage, *status;   /* status: --status as given */
};

/* --since/--until: an RFC 3339 time, or an age counted back from now ("36h", "7d", "2w") */
static int when(const char *opt, const char *arg, time_t *out, struct odbk_err *err)
{
    int64_t age;
    struct odbk_err e = {0};
    if (odbk_time_parse_rfc3339(arg, out) == 0 && *out > 0)
        return 0;
    if (odbk_duration_parse_seconds(arg, &age, &e) == 0) {
        *out = odbk_now() - (time_t)age;
        return 0;
    }
    odbk_err_set(err, ODBK_E_USAGE, "--%s: '%s' is neither an RFC 3339 time nor an age", opt, arg);
    odbk_err_hint(err, "write 2026-03-01T00:00:00Z, or an age such as 36h, 7d or 2w");
    return -1;
}

static int on_opt(void *p, int id, const char *arg, struct odbk_err *err)
{
    struct ctx *c = p;
    int word;
    switch (id) {
    case O_ENV:
        if (c->n_envs >= 100)
            return odbk_err_set(err, ODBK_E_USAGE, "too many environments: at most 100");
        c->envs[c->n_envs++] = arg;
        break;
    case O_PROJECT: c->f.project = arg; break;
    case O_STATUS:
        if (odbk_vocab_parse(&odbk_vocab_status, arg, &word, ODBK_E_USAGE, err) < 0)
            return -1;
        c->f.statuses = ODBK_ONLY(word);
        c->status = arg;
        break;
    case O_TYPE:
        if (odbk_vocab_parse(&odbk_vocab_type, arg, &word, ODBK_E_USAGE, err) < 0)
            return -1;
        c->f.types = ODBK_ONLY(word);
        break;
    case O_STORAGE: c->f.storage = arg; break;
    case O_SEARCH: c->f.search = arg; break;
    case O_RESCAN: c->rescan = 1; break;
    case O_INIT_STORAGE: c->init_storage = arg; break;
    case O_AUDIT: c->audit = 1; break;
    case O_ENVS: c->envs_mode = 1; break;
    case O_VERIFY: c->verify = 1; break;
    case O_BACKUP: c->backup = arg; break;
    case O_LIMIT: {
        long v;
        if (odbk_cli_int("limit", arg, 1, 100000000, &v, err) < 0)
            return -1;
        c->f.limit = (size_t)v;
        break;
    }
    case O_NO_HEADER: c->no_header = 1; break;
    case O_SINCE:
    case O_UNTIL: return when(id == O_SINCE ? "since" : "until", arg, id == O_SINCE ? &c->f.since : &c->f.until, err);
    }
    return 0;
}

/* The listing is written as the catalog returns its rows, one at a time: memory does not grow with them. */
struct printer {
    int json, header;
    size_t n;
};

/* How b was verified: no, read, checksum, size ("?" for a value this odbk does not know). */
static const char *verified_name(const struct odbk_backup *b)
{
    const char *n = odbk_vocab_name(&odbk_vocab_verified, b->verified);
    return n ? n : "?";
}

static void print_header(void)
{
    printf("%-24s %-12s %-10s %-11s %-11s %-8s %-20s %9s %9s %-10s %s\n", "ID", "ENV", "PROJECT", "TYPE", "STATUS",
           "VERIFIED", "CREATED", "SIZE_MB", "ADDED_MB", "STORAGE", "COMMENT");
}

/* A row of the table (the COMMENT column of a failed backup also says why it failed), or an element of
 * the JSON array. */
static int print_row(void *p, struct odbk_backup *b)
{
    struct printer *pr = p;
    if (pr->json) {
        cJSON *o = odbk_backup_json(b);
        char *s = cJSON_Print(o);
        printf("%s%s", pr->n ? ",\n" : "[\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        char t[32];
        const char *comment = b->comment ? b->comment : "";
        if (!pr->n && pr->header)
            print_header();
        odbk_time_rfc3339(b->created_at, t);
        printf("%-24s %-12s %-10s %-11s %-11s %-8s %-20s %9.1f %9.1f %-10s %s%s%s%s\n", b->id, b->env,
               b->project && *b->project ? b->project : "-", odbk_type_name(b->type), odbk_status_name(b->status),
               verified_name(b), t,
               (double)b->total_size / 1e6, (double)b->added_bytes / 1e6, b->storage, comment, b->error && *comment ? "  " : "",
               b->error ? "error: " : "", b->error ? b->error : "");
    }
    pr->n++;
    return ferror(stdout) ? 1 : 0;   /* a closed pipe (odbk-list | head): stop reading */
}

static int print_list(struct odbk_catalog *cat, const struct ctx *c, int json, struct odbk_err *err)
{
    struct printer pr = {json, !c->no_header, 0};
    int r = odbk_catalog_backup_each(cat, &c->f, print_row, &pr, err);
    if (r < 0)
        return -1;
    if (json)
        printf(pr.n ? "\n]\n" : "[]\n");
    else if (!pr.n && pr.header)
        print_header();
    return 0;
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

/* --envs: the state of each env (odbk(7), States), from the config and the catalog. */
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
    if (f.statuses && f.statuses != ODBK_ONLY(ODBK_BACKUP_COMPLETED))
        return odbk_err_set(err, ODBK_E_USAGE, "--verify reads completed backups; --status %s selects none", c->status);
    f.statuses = ODBK_ONLY(ODBK_BACKUP_COMPLETED);
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

static void field(const char *k, const char *v)
{
    printf("%-13s %s\n", k, v && *v ? v : "-");
}

/* --backup ID: one backup, every field of its row and the files of its manifest. */
static int show_backup(struct odbk_catalog *cat, const char *id, int json, struct odbk_err *err)
{
    struct odbk_backup b = {0};
    struct odbk_manifest m = {0};
    struct odbk_err me = {0};
    int have_m;
    size_t i;
    if (odbk_catalog_backup_get(cat, id, &b, err) < 0) {
        odbk_err_hint(err, "odbk-list shows the ids; odbk-list --rescan finds backups in storage");
        return -1;
    }
    have_m = b.manifest && odbk_manifest_parse(b.manifest, b.id, &m, &me) == 0;
    if (json) {
        cJSON *o = odbk_backup_json(&b), *mj = b.manifest ? cJSON_Parse(b.manifest) : NULL;
        char *s, t[32];
        cJSON_AddStringToObject(o, "host", b.host ? b.host : "");
        cJSON_AddStringToObject(o, "pg_version", b.pg_version ? b.pg_version : "");
        if (b.heartbeat_at) {
            odbk_time_rfc3339(b.heartbeat_at, t);
            cJSON_AddStringToObject(o, "heartbeat_at", t);
        } else {
            cJSON_AddNullToObject(o, "heartbeat_at");
        }
        if (mj)
            cJSON_AddItemToObject(o, "manifest", mj);
        else
            cJSON_AddNullToObject(o, "manifest");
        s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        char t[32], size[32];
        field("id", b.id);
        field("env", b.env);
        field("project", b.project);
        field("database", b.database);
        field("storage", b.storage);
        field("type", odbk_type_name(b.type));
        field("format", odbk_format_name(b.format));
        field("compression", b.compression);
        field("status", odbk_status_name(b.status));
        field("verified", verified_name(&b));
        odbk_time_rfc3339(b.created_at, t);
        field("created", t);
        if (b.finished_at)
            odbk_time_rfc3339(b.finished_at, t);
        field("finished", b.finished_at ? t : NULL);
        odbk_fmt_size(b.total_size, size);
        field("size", size);
        odbk_fmt_size(b.added_bytes, size);
        field("added", size);
        field("retention", odbk_tier_name(b.retention));
        field("comment", b.comment);
        field("host", b.host);
        field("odoo", b.odoo_version);
        field("postgresql", b.pg_version);
        field("error", b.error);
        if (have_m) {
            printf("files:\n");
            for (i = 0; i < m.n_files; i++) {
                odbk_fmt_size(m.files[i].size, size);
                printf("  %-10s %10s  sha256:%s  %s\n", m.files[i].role, size, m.files[i].sha256,
                       m.files[i].name);
            }
            for (i = 0; i < m.n_packs; i++) {   /* an incremental filestore's packs, ENV/packs/NAME */
                odbk_fmt_size(m.packs[i].size, size);
                printf("  %-10s %10s  sha256:%s  packs/%s\n", "pack", size, m.packs[i].sha256, m.packs[i].name);
            }
        } else {
            printf("files:        - (%s)\n", b.manifest ? me.msg : "no manifest written");
        }
    }
    if (have_m)
        odbk_manifest_release(&m);
    odbk_backup_release(&b);
    return 0;
}

int main(int argc, char **argv)
{
    struct ctx c = {0};
    struct odbk_cli_common common;
    struct odbk_err err = {0}, rescan_err = {0};
    struct odbk_session ss = {0};
    int skipped = 0, rescanned = 0, arg0, r = odbk_cli_parse(&cli, argc, argv, &common, on_opt, &c, &arg0, &err);
    if (r != 0)
        return r > 0 ? 0 : odbk_cli_exit(&cli, -1, &err);
    for (; arg0 < argc; arg0++) {
        if (c.n_envs >= 100) {   /* never a listing of some of the envs named */
            odbk_err_set(&err, ODBK_E_USAGE, "too many environments: at most 100");
            odbk_err_hint(&err, "select them with --project, or list every environment");
            return odbk_cli_exit(&cli, -1, &err);
        }
        c.envs[c.n_envs++] = argv[arg0];
    }
    c.f.envs = c.n_envs ? c.envs : NULL;
    r = -1;
    if (c.init_storage && !c.rescan) {
        odbk_err_set(&err, ODBK_E_USAGE, "--init-storage goes with --rescan");
        goto out;
    }
    /* a listing changes nothing (a killed restore or a pending removal is only reported); --rescan and
     * --verify write the catalog, and finish those first; --rescan also finishes the runs that died (a
     * backup whose catalog could not record it stays uploading until then: the reaper completes it), then
     * imports what no row knows */
    if (odbk_session_open(&ss, common.config, common.catalog,
                          (c.rescan || c.verify ? ODBK_SESSION_CLEANUP : 0) |
                              (c.rescan ? ODBK_SESSION_REAP : ODBK_SESSION_CONFIG_OPTIONAL), &err) < 0)
        goto out;
    odbk_session_warn_pending(&ss, cli.prog);
    if (c.rescan) {
        struct odbk_rescan_result rr;
        struct odbk_rescan_opts ro = {c.f.storage, NULL, NULL};
        /* on a terminal only, and never over --json's output unless asked for by name */
        struct odbk_progress *progress = odbk_progress_new(
            common.json && common.progress == ODBK_PROGRESS_AUTO ? ODBK_PROGRESS_NONE : common.progress, common.quiet);
        char failed[48] = "";
        size_t k;
        if (c.init_storage && odbk_backup_storage_init(ss.cfg, c.init_storage, &err) < 0) {
            odbk_progress_free(progress);
            goto out;
        }
        ro.progress = progress ? odbk_progress_event : NULL;
        ro.progress_ctx = progress;
        rescanned = odbk_backup_rescan(ss.cfg, ss.cat, &ro, &rr, &err);
        odbk_progress_free(progress);
        for (k = 0; k < rr.n_msgs; k++)
            fprintf(stderr, "odbk-list: warning: %s\n", rr.msgs[k]);
        if (rr.failed)
            snprintf(failed, sizeof(failed), ", %d storage%s not scanned", rr.failed, rr.failed == 1 ? "" : "s");
        if (!common.quiet && (rescanned == 0 || rr.failed))
            fprintf(stderr, "odbk-list: %d backups found in storage (%d new), %d manifests skipped, %d conflicts%s\n",
                    rr.found, rr.imported, rr.skipped, rr.conflicts, failed);
        skipped = rr.skipped + rr.conflicts;
        /* a storage that could not be scanned: the listing of what the others gave, then its exit code */
        if (rescanned < 0 && !rr.failed) {
            odbk_rescan_result_release(&rr);
            goto out;
        }
        if (rescanned < 0)
            rescan_err = err;
        odbk_err_clear(&err);
        odbk_rescan_result_release(&rr);
    }
    if (c.backup) {
        r = show_backup(ss.cat, c.backup, common.json, &err);
        goto out;
    }
    if (odbk_backup_names_known(ss.cfg, ss.cat, c.envs, (size_t)c.n_envs, c.f.project, &err) < 0)
        goto out;
    if (c.audit) {
        r = list_audit(ss.cat, &c, common.json, &err);
        goto out;
    }
    if (c.envs_mode) {
        r = list_envs(ss.cfg, ss.cat, &c, common.json, &err);
        goto out;
    }
    if (c.verify) {
        if (verify_selected(ss.cfg, ss.cat, &c, common.quiet, &err) < 0)
            goto out;   /* the list is not printed: the errors are the answer */
    }
    if (print_list(ss.cat, &c, common.json, &err) < 0)
        goto out;
    r = 0;
    if (skipped && !rescan_err.code) {   /* a storage not scanned says more */
        /* the listing is printed; the exit code says that storage holds manifests the catalog did not take */
        r = odbk_err_set(&err, ODBK_E_DATA, "--rescan: %d manifests were skipped or in conflict (see the warnings "
                         "above)", skipped);
        odbk_err_hint(&err, "a skipped manifest is damaged or lists files missing from storage; a conflict is a "
                      "backup id already known from another storage or with other content");
    }
out:
    if (r == 0 && rescan_err.code) {   /* the listing is printed; the exit code says what storage failed */
        err = rescan_err;
        r = -1;
    }
    odbk_session_close(&ss);
    return odbk_cli_exit(&cli, r, &err);
}
