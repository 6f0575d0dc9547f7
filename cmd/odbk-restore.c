/* odbk-restore - restore a backup (odbk-restore(1)). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "backup/backup.h"
#include "backup/session.h"
#include "cli/cli.h"
#include "cli/progress.h"
#include "common/interrupt.h"
#include "common/util.h"
#include "notify/notify.h"

enum { O_LATEST = 1, O_TO, O_NEW_DB, O_FILESTORE, O_PG, O_NO_FILESTORE, O_NO_SAFETY, O_NEUTRALIZE, O_COPY,
       O_CONFIRM, O_JOBS, O_FROM_FILE, O_FROM_URL, O_TYPE, O_FORCE, O_DB_OWNER, O_TEST, O_NO_ACL,
       O_FILESTORE_OWNER };

static const struct odbk_opt opts[] = {
    {"latest", 0, "ENV", "restore the newest completed backup of ENV, of any type unless --type", O_LATEST,
     &odbk_vocab_env},
    {"type", 't', "TYPE", "with --latest: only backups of this type (e.g. scheduled, not the pre-restore one): {}",
     O_TYPE, &odbk_vocab_type},
    {"test", 0, NULL, "restore into a scratch database and directory, compare each table's rows and the filestore "
     "with what the backup recorded, drop the copy; exit 0 when all match, 65 otherwise", O_TEST, NULL},
    {"from-file", 0, "PATH", "restore an Odoo .zip or .dump file, or an odbk backup folder", O_FROM_FILE,
     &odbk_vocab_file},
    {"from-url", 0, "URL", "restore an Odoo .zip or .dump file from an http(s) URL", O_FROM_URL, NULL},
    {"to", 0, "ENV", "restore into another environment of the config", O_TO, &odbk_vocab_env},
    {"new-db", 0, "NAME", "restore into a new database NAME", O_NEW_DB, NULL},
    {"filestore", 0, "DIR", "with --new-db: the new filestore directory", O_FILESTORE, &odbk_vocab_dir},
    {"pg", 0, "CONNINFO", "with --new-db: the PostgreSQL server to create it on (libpq conninfo)", O_PG, NULL},
    {"db-owner", 0, "ROLE", "the role that owns the restored database and everything in it (default: the env's "
     "db-owner, the replaced database's owner, the env's odoo.conf db_user, the connecting user; never a "
     "superuser)", O_DB_OWNER, NULL},
    {"filestore-owner", 0, "USER[:GROUP]", "who owns the restored files, names or ids, the group by default the "
     "user's (default: the env's filestore-owner; as root the replaced folder's owner and mode, for a new one "
     "its parent's owner, mode 0700); only root gives files to another user", O_FILESTORE_OWNER, &odbk_vocab_user},
    {"no-filestore", 0, NULL, "restore the database only", O_NO_FILESTORE, NULL},
    {"no-acl", 0, NULL, "leave out the backup's GRANT, REVOKE and ALTER DEFAULT PRIVILEGES (a server that lacks "
     "its roles); owners are never taken from a backup", O_NO_ACL, NULL},
    {"no-safety-backup", 0, NULL, "do not back up the target before replacing it", O_NO_SAFETY, NULL},
    {"neutralize", 0, NULL, "neutralize as Odoo does (16+): installed modules' neutralize.sql, else odbk's own", O_NEUTRALIZE, NULL},
    {"copy", 0, NULL, "what Odoo changes in a copy: new database.uuid, secret, create_date; web.base.url to "
     "localhost; login cooldown defaults", O_COPY, NULL},
    {"force", 0, NULL, "replace a target that runs another Odoo version than the backup (refused otherwise, "
     "exit 65)", O_FORCE, NULL},
    {"confirm", 0, "RESTORE", "confirm without a terminal (the word RESTORE)", O_CONFIRM, NULL},
    {"jobs", 'j', "N", "accepted for scripts; a streamed restore loads the database in one session (the filestore "
     "loads alongside)", O_JOBS, NULL},
    {0},
};

static const struct odbk_cli cli = {
    "odbk-restore",
    "[options] BACKUP_ID\n[options] --latest ENV\n[options] --from-file PATH (--to ENV | --new-db NAME)\n"
    "[options] --from-url URL (--to ENV | --new-db NAME)\n--test [--json] (BACKUP_ID | --latest ENV [--type TYPE])",
    "Restore a backup into its environment, another one, or a new database; the target is only replaced once "
    "everything loaded.  A damaged backup is reported as \"checksum mismatch in FILE\" (exit 65), whatever step "
    "it broke first.  --test restores into a scratch copy only and compares it with the figures the backup "
    "recorded (exit 65 on any difference, or when the backup recorded none).",
    opts, ODBK_CLI_PROGRESS | ODBK_CLI_JSON, &odbk_vocab_backup, NULL};

struct ctx {
    struct odbk_restore_opts o;
    const char *confirm;
    int test;
};

static int on_opt(void *p, int id, const char *arg, struct odbk_err *err)
{
    struct ctx *c = p;
    long v;
    switch (id) {
    case O_LATEST: c->o.latest_env = arg; break;
    case O_TYPE: c->o.latest_type = arg; break;
    case O_TO: c->o.to_env = arg; break;
    case O_FROM_FILE: c->o.from_file = arg; break;
    case O_FROM_URL: c->o.from_url = arg; break;
    case O_NEW_DB: c->o.new_db = arg; break;
    case O_FILESTORE: c->o.filestore = arg; break;
    case O_PG: c->o.pg = arg; break;
    case O_DB_OWNER: c->o.db_owner = arg; break;
    case O_FILESTORE_OWNER: c->o.filestore_owner = arg; break;
    case O_NO_FILESTORE: c->o.no_filestore = 1; break;
    case O_NO_ACL: c->o.no_acl = 1; break;
    case O_NO_SAFETY: c->o.no_safety_backup = 1; break;
    case O_NEUTRALIZE: c->o.neutralize = 1; break;
    case O_COPY: c->o.copy = 1; break;
    case O_FORCE: c->o.force = 1; break;
    case O_CONFIRM: c->confirm = arg; break;
    case O_TEST: c->test = 1; break;
    case O_JOBS:
        if (odbk_cli_int("jobs", arg, 1, 64, &v, err) < 0)
            return -1;
        c->o.jobs = (int)v;
        break;
    }
    return 0;
}

/* ---- --test ---- */

static const char *verdict(const struct odbk_test_result *t, int r)
{
    return r == 0 ? "ok" : t->compared ? "mismatch" : "failed";
}

static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static void print_test_json(const struct odbk_test_result *t, int r, const struct odbk_err *err)
{
    cJSON *o = cJSON_CreateObject(), *tables = cJSON_CreateArray();
    char *s;
    size_t i;
    cJSON_AddStringToObject(o, "id", t->source ? t->source : "");
    cJSON_AddStringToObject(o, "env", t->env ? t->env : "");
    cJSON_AddStringToObject(o, "database", t->database ? t->database : "");
    cJSON_AddStringToObject(o, "format", t->format ? t->format : "");
    cJSON_AddStringToObject(o, "result", verdict(t, r));
    cJSON_AddBoolToObject(o, "ok", r == 0);
    add_str_or_null(o, "scratch_database", t->scratch_db);
    add_str_or_null(o, "scratch_dir", t->scratch_dir);
    cJSON_AddBoolToObject(o, "cleaned", t->cleaned || !t->scratch_db);
    for (i = 0; t->compared && i < t->n_tables; i++) {
        const struct odbk_test_table *tt = &t->tables[i];
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "table", tt->table);
        cJSON_AddNumberToObject(row, "expected", (double)tt->expected);
        if (tt->restored >= 0)
            cJSON_AddNumberToObject(row, "restored", (double)tt->restored);
        else
            cJSON_AddNullToObject(row, "restored");
        cJSON_AddBoolToObject(row, "ok", tt->restored == tt->expected);
        cJSON_AddItemToArray(tables, row);
    }
    cJSON_AddItemToObject(o, "tables", tables);
    if (t->compared && t->fs_compared) {
        cJSON *fs = cJSON_CreateObject();
        cJSON_AddNumberToObject(fs, "files_expected", (double)t->fs_files_expected);
        cJSON_AddNumberToObject(fs, "files", (double)t->fs_files);
        cJSON_AddNumberToObject(fs, "bytes_expected", (double)t->fs_bytes_expected);
        cJSON_AddNumberToObject(fs, "bytes", (double)t->fs_bytes);
        cJSON_AddNumberToObject(fs, "content_checked", (double)t->fs_named);
        cJSON_AddNumberToObject(fs, "content_bad", (double)t->fs_bad);
        add_str_or_null(fs, "first_bad", t->fs_first_bad);
        cJSON_AddBoolToObject(fs, "ok", t->fs_files == t->fs_files_expected && t->fs_bytes == t->fs_bytes_expected &&
                                            !t->fs_bad);
        cJSON_AddItemToObject(o, "filestore", fs);
    } else {
        cJSON_AddNullToObject(o, "filestore");
    }
    cJSON_AddNumberToObject(o, "mismatches", (double)t->mismatches);
    add_str_or_null(o, "error", r < 0 ? err->msg : NULL);
    s = cJSON_Print(o);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(o);
}

static void print_row(const char *what, long long expected, long long restored, int ok)
{
    char got[32];
    if (restored >= 0)
        snprintf(got, sizeof(got), "%lld", restored);
    else
        snprintf(got, sizeof(got), "missing");
    printf("%-44s %12lld %12s  %s\n", what, expected, got, ok ? "ok" : "MISMATCH");
}

static void print_test(const struct odbk_test_result *t, int r)
{
    size_t i;
    if (!t->compared)
        return;
    printf("%-44s %12s %12s  %s\n", "TABLE", "EXPECTED", "RESTORED", "RESULT");
    for (i = 0; i < t->n_tables; i++)
        print_row(t->tables[i].table, t->tables[i].expected, t->tables[i].restored,
                  t->tables[i].restored == t->tables[i].expected);
    if (t->fs_compared) {
        char what[64];
        print_row("(filestore files)", t->fs_files_expected, t->fs_files, t->fs_files == t->fs_files_expected);
        print_row("(filestore bytes)", t->fs_bytes_expected, t->fs_bytes, t->fs_bytes == t->fs_bytes_expected);
        snprintf(what, sizeof(what), "(filestore content, %llu named by SHA-1)", (unsigned long long)t->fs_named);
        print_row(what, (long long)t->fs_named, (long long)(t->fs_named - t->fs_bad), !t->fs_bad);
    }
    if (r == 0)
        printf("ok: %s restores to what it recorded (%zu tables%s%lld files)\n", t->source, t->n_tables,
               t->fs_compared ? ", " : "", t->fs_compared ? (long long)t->fs_files : 0LL);
    else
        printf("MISMATCH: %s does not restore to what it recorded (%zu difference%s)\n", t->source, t->mismatches,
               t->mismatches == 1 ? "" : "s");
}

static int run_test(const struct odbk_config *cfg, struct odbk_catalog *cat, struct ctx *c,
                    const struct odbk_cli_common *common, struct odbk_err *err)
{
    struct odbk_progress *progress = NULL;
    struct odbk_test_result t = {0};
    int r;
    odbk_interrupt_install();   /* a stop signal drops the scratch copy on the way out */
    progress = odbk_progress_new(common->progress, common->quiet || common->json);
    c->o.progress = progress ? odbk_progress_event : NULL;
    c->o.progress_ctx = progress;
    r = odbk_backup_test(cfg, cat, &c->o, &t, err);
    odbk_progress_free(progress);
    if (common->json)
        print_test_json(&t, r, err);
    else if (!common->quiet)
        print_test(&t, r);
    odbk_test_result_release(&t);
    return r;
}

/* --json: what the restore did, as one object (odbk(7) JSON OUTPUT), failed or not. */
static void add_strings(cJSON *o, const char *key, char *const *v, size_t n)
{
    cJSON *a = cJSON_AddArrayToObject(o, key);
    size_t i;
    for (i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

static void print_json(const struct ctx *c, const struct odbk_restore_result *res, int r, const struct odbk_err *err)
{
    cJSON *o = cJSON_CreateObject();
    int from_catalog = !c->o.from_file && !c->o.from_url;
    add_str_or_null(o, "env", res->env);
    add_str_or_null(o, "id", from_catalog ? res->source : NULL);
    add_str_or_null(o, "source", res->source);
    add_str_or_null(o, "database", res->database);
    add_str_or_null(o, "filestore", res->filestore);
    add_str_or_null(o, "safety_backup_id", res->safety_backup_id);
    add_str_or_null(o, "env_block", res->env_block);
    add_str_or_null(o, "skipped_settings", res->skipped_settings);
    if (res->neutralize_done) {
        const struct odbk_neutralized *n = &res->neutralized;
        cJSON *nj = cJSON_AddObjectToObject(o, "neutralized");
        add_str_or_null(nj, "addons_path", n->addons);
        add_strings(nj, "modules_from_addons", n->files, n->n_files);
        add_strings(nj, "modules_builtin", n->builtin, n->n_builtin);
        add_strings(nj, "skipped_names", n->skipped, n->n_skipped);
    }
    cJSON_AddStringToObject(o, "status", r < 0 ? "failed" : "completed");
    add_str_or_null(o, "error", r < 0 ? err->msg : NULL);
    odbk_cli_print_json(o, 0);
}

int main(int argc, char **argv)
{
    struct ctx c = {0};
    struct odbk_cli_common common;
    struct odbk_err err = {0};
    struct odbk_session ss = {0};
    struct odbk_progress *progress = NULL;
    struct odbk_restore_result res = {0};
    char *desc = NULL;
    time_t started;
    int arg0, r = odbk_cli_parse(&cli, argc, argv, &common, on_opt, &c, &arg0, &err);
    if (r != 0)
        return r > 0 ? 0 : odbk_cli_exit(&cli, -1, &err);
    r = -1;
    if (arg0 < argc)
        c.o.backup_id = argv[arg0++];
    if (arg0 < argc) {
        odbk_err_set(&err, ODBK_E_USAGE, "unexpected argument '%s'", argv[arg0]);
        goto out;
    }
    if (!!c.o.backup_id + !!c.o.latest_env + !!c.o.from_file + !!c.o.from_url != 1) {
        odbk_err_set(&err, ODBK_E_USAGE, "name one backup: BACKUP_ID, --latest ENV, --from-file PATH or --from-url URL");
        odbk_err_hint(&err, "odbk-list shows the backups");
        goto out;
    }
    if (c.o.new_db && c.o.to_env) {
        odbk_err_set(&err, ODBK_E_USAGE, "--new-db and --to exclude each other");
        goto out;
    }
    if (c.o.latest_type && !c.o.latest_env) {
        odbk_err_set(&err, ODBK_E_USAGE, "--type goes with --latest");
        goto out;
    }
    if (c.test && (c.o.from_file || c.o.from_url || c.o.to_env || c.o.new_db || c.o.neutralize || c.o.copy ||
                   c.o.force || c.o.no_safety_backup || c.confirm || c.o.db_owner || c.o.filestore_owner)) {
        odbk_err_set(&err, ODBK_E_USAGE, "--test restores into a scratch copy of a catalog backup: it takes BACKUP_ID "
                     "or --latest ENV, no target, --neutralize, --copy, --force, --no-safety-backup, --confirm, "
                     "--db-owner or --filestore-owner");
        goto out;
    }
    if (c.o.filestore_owner && c.o.no_filestore) {
        odbk_err_set(&err, ODBK_E_USAGE, "--filestore-owner and --no-filestore exclude each other");
        goto out;
    }
    if ((c.o.filestore || c.o.pg) && !c.o.new_db) {
        odbk_err_set(&err, ODBK_E_USAGE, "--filestore and --pg go with --new-db");
        goto out;
    }
    if (odbk_session_open(&ss, common.config, common.catalog,
                          ODBK_SESSION_CLEANUP | (c.o.new_db ? ODBK_SESSION_CONFIG_OPTIONAL : 0), &err) < 0)
        goto out;
    if (c.o.latest_env && odbk_backup_env_known(ss.cfg, ss.cat, c.o.latest_env, &err) < 0)
        goto out;
    if (c.test) {   /* nothing is replaced: no prompt, no notification */
        r = run_test(ss.cfg, ss.cat, &c, &common, &err);
        goto out;
    }
    if (odbk_restore_describe(ss.cfg, ss.cat, &c.o, &desc, &err) < 0)
        goto out;
    if (odbk_cli_confirm(desc, "RESTORE", c.confirm, &err) < 0)
        goto out;
    /* from here a stop signal ends the run cleanly: the target is left as it was (not during the prompt,
     * where Ctrl-C simply ends the program) */
    odbk_interrupt_install();
    progress = odbk_progress_new(common.progress, common.quiet);
    c.o.progress = progress ? odbk_progress_event : NULL;
    c.o.progress_ctx = progress;
    started = odbk_now();
    r = odbk_backup_restore(ss.cfg, ss.cat, &c.o, &res, &err);
    odbk_progress_free(progress);
    progress = NULL;
    {
        /* a notification that fails is a warning; it never changes the restore's result */
        struct odbk_err ne = {0};
        if (odbk_notify_restore(ss.cfg, res.env, res.source ? res.source : "", r < 0 ? &err : NULL, started, &ne) < 0)
            fprintf(stderr, "%s: warning: notification failed: %s\n", cli.prog, ne.msg);
    }
    if (res.neutralize_done) {
        size_t i;
        for (i = 0; i < res.neutralized.n_skipped; i++)   /* even with --quiet: a module left as it was */
            fprintf(stderr, "%s: warning: module '%s' in ir_module_module is no Odoo module name: not neutralized\n",
                    cli.prog, res.neutralized.skipped[i]);
        if (!common.quiet) {
            char *sum = odbk_neutralized_summary(&res.neutralized);
            fprintf(stderr, "%s: %s\n", cli.prog, sum);
            free(sum);
        }
    }
    if (common.json)
        print_json(&c, &res, r, &err);
    if (r < 0)
        goto out;
    if (!common.quiet) {
        fprintf(stderr, "odbk-restore: restored database '%s'%s%s%s\n", res.database, res.filestore ? " and filestore '" : "",
                res.filestore ? res.filestore : "", res.filestore ? "'" : "");
        if (res.safety_backup_id)
            fprintf(stderr, "odbk-restore: safety backup of the previous state: %s\n", res.safety_backup_id);
    }
    if (res.skipped_settings)   /* a warning, --quiet or not: the file was not loaded as it was written */
        fprintf(stderr, "%s: warning: left out settings this PostgreSQL does not know, written by a newer "
                "pg_dump: %s\n", cli.prog, res.skipped_settings);
    if (res.env_block && !common.json)
        printf("# add to odbk.conf to back up the new database:\n%s", res.env_block);
out:
    odbk_progress_free(progress);
    odbk_restore_result_release(&res);
    free(desc);
    odbk_session_close(&ss);
    r = odbk_cli_exit(&cli, r, &err);
    return odbk_interrupted() ? odbk_interrupt_exit_code() : r;
}
