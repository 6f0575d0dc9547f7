/* odbk-create - make backups (odbk-create(1)). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "backup/backup.h"
#include "cli/cli.h"
#include "cli/progress.h"
#include "common/interrupt.h"
#include "common/util.h"
#include "notify/notify.h"
#include "policy/schedule.h"

enum { O_ALL = 1, O_TYPE, O_STORAGE, O_NO_FILESTORE, O_FORMAT, O_RETENTION, O_COMMENT, O_COMPRESS, O_LEVEL, O_JOBS,
       O_NO_VERIFY, O_DUE };

static const struct odbk_opt opts[] = {
    {"all", 'a', NULL, "back up every environment of the config", O_ALL},
    {"type", 't', "TYPE", "manual (default), scheduled, pre-restore, pre-upgrade or pre-destroy", O_TYPE},
    {"storage", 's', "NAME", "store in this storage instead of the env's", O_STORAGE},
    {"no-filestore", 0, NULL, "back up the database only", O_NO_FILESTORE},
    {"format", 'f', "FORMAT", "odbk (default: database + filestore + manifest), zip (Odoo's) or dump (pg_dump custom)",
     O_FORMAT},
    {"retention", 'r', "TIER", "keep for this tier's duration: daily, weekly, monthly, yearly, permanent", O_RETENTION},
    {"comment", 'm', "TEXT", "a note stored with the backup", O_COMMENT},
    {"compress", 0, "CODEC", "gzip (default) or zstd", O_COMPRESS},
    {"level", 'l', "N", "compression level (gzip 1-9, default 6; zstd 1-19, default 3)", O_LEVEL},
    {"jobs", 'j', "N", "compression threads (gzip and zstd; default: the number of CPUs)", O_JOBS},
    {"no-verify", 0, NULL, "do not read the stored files back to check them", O_NO_VERIFY},
    {"due", 0, NULL, "make a scheduled backup of every enabled env whose schedule fired since its last one", O_DUE},
    {0},
};

static const struct odbk_cli cli = {
    "odbk-create", "[options] ENV...\n[options] --all\n[options] --due",
    "Back up Odoo environments (database, filestore, manifest) and print each backup's id.\n"
    "Symbolic links in the filestore are followed as Odoo's own copy does; a link to nothing (exit 66), a\n"
    "folder link that loops (65) or a file that keeps changing while read (75) fails the backup.", opts,
    ODBK_CLI_JSON | ODBK_CLI_PROGRESS};

struct ctx {
    struct odbk_create_opts o;
    int all;
    int due;
};

static int on_opt(void *p, int id, const char *arg, struct odbk_err *err)
{
    struct ctx *c = p;
    long v;
    switch (id) {
    case O_ALL: c->all = 1; break;
    case O_TYPE:
        if (!odbk_backup_valid_type(arg))
            return odbk_err_set(err, ODBK_E_USAGE, "--type: unknown type '%s' (manual, scheduled, pre-restore, "
                                "pre-upgrade, pre-destroy)", arg);
        c->o.type = arg;
        break;
    case O_STORAGE: c->o.storage = arg; break;
    case O_NO_FILESTORE: c->o.no_filestore = 1; break;
    case O_FORMAT:
        if (strcmp(arg, "odbk") && strcmp(arg, "dump") && strcmp(arg, "zip"))
            return odbk_err_set(err, ODBK_E_USAGE, "--format: unknown format '%s' (odbk, zip, dump)", arg);
        c->o.format = arg;
        break;
    case O_RETENTION:
        if (!odbk_backup_valid_tier(arg))
            return odbk_err_set(err, ODBK_E_USAGE, "--retention: unknown tier '%s' (daily, weekly, monthly, yearly, "
                                "permanent)", arg);
        c->o.retention = arg;
        break;
    case O_COMMENT: c->o.comment = arg; break;
    case O_COMPRESS:
        if (odbk_compression_parse(arg, &c->o.compression) < 0 || c->o.compression == ODBK_COMPRESS_NONE)
            return odbk_err_set(err, ODBK_E_USAGE, "--compress: unknown codec '%s' (gzip, zstd)", arg);
        break;
    case O_LEVEL:
        if (odbk_cli_int("level", arg, 1, 19, &v, err) < 0)
            return -1;
        c->o.level = (int)v;
        break;
    case O_JOBS:
        if (odbk_cli_int("jobs", arg, 1, 256, &v, err) < 0)
            return -1;
        c->o.jobs = (int)v;
        break;
    case O_NO_VERIFY: c->o.no_verify = 1; break;
    case O_DUE: c->due = 1; break;
    }
    return 0;
}

static void print_json(const struct odbk_backup *b)
{
    cJSON *o = odbk_backup_json(b);
    char *s = cJSON_PrintUnformatted(o);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(o);
}

int main(int argc, char **argv)
{
    struct ctx c = {.o = {.level = -1}};
    struct odbk_cli_common common;
    struct odbk_err err = {0}, first = {0};
    struct odbk_config *cfg = NULL;
    struct odbk_catalog *cat = NULL;
    struct odbk_progress *progress = NULL;
    const char **envs = NULL;
    char *catpath = NULL;
    struct odbk_schedule_state *due = NULL;
    size_t n = 0, i, n_due = 0;
    int lock = -1;
    int arg0, rc = odbk_cli_parse(&cli, argc, argv, &common, on_opt, &c, &arg0, &err);
    if (rc != 0)
        return rc > 0 ? 0 : odbk_cli_exit(&cli, -1, &err);
    if (c.o.level > 9 && c.o.compression != ODBK_COMPRESS_ZSTD) {
        odbk_err_set(&err, ODBK_E_USAGE, "--level: gzip levels go from 1 to 9");
        return odbk_cli_exit(&cli, -1, &err);
    }
    if (c.due && (c.all || arg0 < argc || (c.o.type && strcmp(c.o.type, "scheduled")))) {
        odbk_err_set(&err, ODBK_E_USAGE, "--due excludes --all, --type and environment names");
        return odbk_cli_exit(&cli, -1, &err);
    }
    if (!c.all && !c.due && arg0 >= argc) {
        odbk_err_set(&err, ODBK_E_USAGE, "name the environments to back up, or pass --all");
        odbk_err_hint(&err, "see odbk-create --help");
        return odbk_cli_exit(&cli, -1, &err);
    }
    if (c.all && arg0 < argc) {
        odbk_err_set(&err, ODBK_E_USAGE, "--all and environment names exclude each other");
        return odbk_cli_exit(&cli, -1, &err);
    }
    if (odbk_config_load(common.config, 0, &cfg, &err) < 0)
        goto out;
    if (!c.due && odbk_config_select_envs(cfg, c.all, argv + arg0, (size_t)(argc - arg0), &envs, &n, &err) < 0)
        goto out;
    catpath = odbk_config_catalog_path(common.catalog);
    if (odbk_catalog_open(catpath, &cat, &err) < 0)
        goto out;
    /* from here a stop signal ends the run cleanly: the backup under way is failed and removed */
    odbk_interrupt_install();
    if (odbk_backup_reap_stale(cfg, cat, &err) < 0)
        goto out;
    if (odbk_backup_retry_removals(cfg, cat, &err) < 0)
        goto out;
    if (c.due) {   /* one --due run at a time; the envs whose schedule fired (odbk-policy due) */
        if (odbk_schedule_lock(catpath, &lock, &err) < 0)
            goto out;
        if (lock < 0) {
            if (!common.quiet)
                fprintf(stderr, "%s: another 'odbk-create --due' is running; nothing done\n", cli.prog);
            goto out;
        }
        if (odbk_schedule_states(cfg, cat, odbk_now(), &due, &n_due, &err) < 0)
            goto out;
        envs = odbk_xcalloc(n_due + 1, sizeof(char *));
        for (i = 0; i < n_due; i++)
            if (due[i].due)
                envs[n++] = due[i].env;
        c.o.type = "scheduled";
    }
    progress = odbk_progress_new(common.progress, common.quiet);
    c.o.progress = progress ? odbk_progress_event : NULL;
    c.o.progress_ctx = progress;
    for (i = 0; i < n && !odbk_interrupted(); i++) {
        struct odbk_backup b;
        struct odbk_err e = {0}, ne = {0};
        time_t started = odbk_now();
        int made = odbk_backup_create(cfg, cat, envs[i], &c.o, &b, &e);
        odbk_progress_clear(progress);   /* the run's end took the bar off; nothing may print beside it */
        if (odbk_notify_backup(cfg, envs[i], made < 0 ? NULL : &b, &e, started, &ne) < 0)
            fprintf(stderr, "%s: warning: %s: notification failed: %s\n", cli.prog, envs[i], ne.msg);
        if (made < 0 && c.due && odbk_schedule_record_failure(cat, envs[i], NULL, e.msg, &ne) < 0)
            fprintf(stderr, "%s: warning: %s: cannot record the failed attempt: %s\n", cli.prog, envs[i], ne.msg);
        if (made < 0) {
            /* report it now and go on with the other environments */
            if (n > 1 || c.due)
                odbk_err_prefix(&e, "%s", envs[i]);
            odbk_err_print(&e, cli.prog, stderr);
            if (!first.code)
                first = e;
            continue;
        }
        if (common.json)
            print_json(&b);
        else if (!(c.due && common.quiet))   /* cron: silent unless something failed */
            printf("%s\n", b.id);
        fflush(stdout);
        if (!common.quiet && isatty(2)) {
            char size[32];
            odbk_fmt_size(b.total_size, size);
            fprintf(stderr, "%s: %s: backup %s completed: %s stored in '%s' in %lds%s\n", cli.prog, b.env, b.id,
                    size, b.storage, (long)(b.finished_at - b.created_at), b.verified ? ", verified" : "");
        }
        odbk_backup_release(&b);
    }
    if (first.code) {
        odbk_progress_free(progress);
        odbk_schedule_states_free(due, n_due);
        odbk_schedule_unlock(lock);
        free(envs);
        free(catpath);
        odbk_catalog_close(cat);
        odbk_config_free(cfg);
        odbk_cli_exit(&cli, 0, &err);   /* flush stdout */
        return odbk_interrupted() ? odbk_interrupt_exit_code() : odbk_err_exit_code(&first);
    }
out:
    odbk_progress_free(progress);
    odbk_schedule_states_free(due, n_due);
    odbk_schedule_unlock(lock);
    free(envs);
    free(catpath);
    odbk_catalog_close(cat);
    odbk_config_free(cfg);
    rc = odbk_cli_exit(&cli, err.code ? -1 : 0, &err);
    return odbk_interrupted() ? odbk_interrupt_exit_code() : rc;
}
