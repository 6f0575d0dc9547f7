/* odbk-create - make backups (odbk-create(1)). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "backup/backup.h"
#include "backup/session.h"
#include "cli/cli.h"
#include "cli/progress.h"
#include "common/interrupt.h"
#include "common/util.h"

enum { O_ALL = 1, O_TYPE, O_STORAGE, O_NO_FILESTORE, O_FORMAT, O_RETENTION, O_COMMENT, O_COMPRESS, O_LEVEL, O_JOBS,
       O_VERIFY, O_NO_VERIFY, O_DUE, O_FULL_FILESTORE };

static const struct odbk_opt opts[] = {
    {"all", 'a', NULL, "back up every environment of the config", O_ALL, NULL},
    {"type", 't', "TYPE", "the backup's type: {} (default manual)", O_TYPE, &odbk_vocab_type},
    {"storage", 's', "NAME", "store in this storage instead of the env's", O_STORAGE, &odbk_vocab_storage},
    {"no-filestore", 0, NULL, "back up the database only", O_NO_FILESTORE, NULL},
    {"full-filestore", 0, NULL, "store the whole filestore as one tar file of this backup, even where the env's "
     "filestore-mode is incremental (the default: only files the env's last backup does not hold)",
     O_FULL_FILESTORE, NULL},
    {"format", 'f', "FORMAT", "what to write: odbk (the default: database + filestore + manifest), zip (Odoo's) "
     "or dump (pg_dump custom)", O_FORMAT, &odbk_vocab_format},
    {"retention", 'r', "TIER", "keep for this tier's duration: {}", O_RETENTION, &odbk_vocab_tier},
    {"comment", 'm', "TEXT", "a note stored with the backup", O_COMMENT, NULL},
    {"compress", 0, "CODEC", "{} (default gzip)", O_COMPRESS, &odbk_vocab_compression},
    {"level", 'l', "N", "compression level (gzip 1-9, default 1; zstd 1-19, default 3)", O_LEVEL, NULL},
    {"jobs", 'j', "N", "compression threads (gzip and zstd; default: the number of CPUs)", O_JOBS, NULL},
    {"verify", 0, "LEVEL", "check the stored files: {} (default: the storage's 'verify =', store: "
     "what the store confirms, no download; read: read every file back)", O_VERIFY, &odbk_vocab_verify},
    {"no-verify", 0, NULL, "check nothing after the upload (--verify none)", O_NO_VERIFY, NULL},
    {"due", 0, NULL, "make a scheduled backup of every enabled env whose schedule fired since its last one", O_DUE, NULL},
    {0},
};

static const struct odbk_cli cli = {
    "odbk-create", "[options] ENV...\n[options] --all\n[options] --due",
    "Back up Odoo environments (database, filestore, manifest) and print each backup's id.\n"
    "Symbolic links in the filestore are followed as Odoo's own copy does; a link to nothing (exit 66), a "
    "folder link that loops (65) or a file that keeps changing while read (75) fails the backup.", opts,
    ODBK_CLI_JSON | ODBK_CLI_PROGRESS, &odbk_vocab_env, NULL};

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
    case O_TYPE: c->o.type = arg; break;
    case O_STORAGE: c->o.storage = arg; break;
    case O_NO_FILESTORE: c->o.no_filestore = 1; break;
    case O_FULL_FILESTORE: c->o.full_filestore = 1; break;
    case O_FORMAT: c->o.format = arg; break;
    case O_RETENTION: c->o.retention = arg; break;
    case O_COMMENT: c->o.comment = arg; break;
    case O_COMPRESS:
        c->o.compression = (enum odbk_compression)(ODBK_COMPRESS_GZIP + odbk_vocab_find(&odbk_vocab_compression, arg));
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
    case O_VERIFY:
        c->o.verify = (enum odbk_verify_mode)(ODBK_VERIFY_STORE + odbk_vocab_find(&odbk_vocab_verify, arg));
        break;
    case O_NO_VERIFY: c->o.verify = ODBK_VERIFY_NONE; break;
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

struct run {
    const struct ctx *c;
    const struct odbk_cli_common *common;
    struct odbk_progress *progress;
    struct odbk_err first;
    size_t n;
};

/* One env's outcome: a failure is reported now (the run goes on with the others), a success prints its id. */
static void on_outcome(void *p, const struct odbk_create_outcome *out)
{
    struct run *r = p;
    const struct odbk_backup *b = out->backup;
    odbk_progress_clear(r->progress);   /* the run's end took the bar off; nothing may print beside it */
    if (out->skipped) {   /* --due: another host of the catalog has it, or a collection holds it (deferred) */
        if (!r->common->quiet && out->deferred)
            fprintf(stderr, "%s: %s: deferred: %s; due again at the next run\n", cli.prog, out->env,
                    out->skipped->msg);
        else if (!r->common->quiet)
            fprintf(stderr, "%s: %s: skipped: %s\n", cli.prog, out->env, out->skipped->msg);
        return;
    }
    if (out->notify_err)
        fprintf(stderr, "%s: warning: %s: notification failed: %s\n", cli.prog, out->env, out->notify_err->msg);
    if (out->record_err)
        fprintf(stderr, "%s: warning: %s: cannot record the failed attempt: %s\n", cli.prog, out->env,
                out->record_err->msg);
    if (b && b->warning)   /* --quiet too: a backup that holds less than asked is worth a cron mail */
        fprintf(stderr, "%s: warning: %s: %s\n", cli.prog, out->env, b->warning);
    if (out->err) {   /* failed, or a backup made (its id printed below) that is not fully done */
        struct odbk_err e = *out->err;
        if (r->n > 1 || r->c->due)
            odbk_err_prefix(&e, "%s", out->env);
        odbk_err_print(&e, cli.prog, stderr);
        if (!r->first.code)
            r->first = e;
    }
    if (!b)
        return;
    if (r->common->json)
        print_json(b);
    else if (!(r->c->due && r->common->quiet && !out->err))   /* cron: silent unless something failed */
        printf("%s\n", b->id);
    fflush(stdout);
    if (!out->err && !r->common->quiet && isatty(2)) {
        char size[32];
        odbk_fmt_size(b->total_size, size);
        fprintf(stderr, "%s: %s: backup %s completed: %s stored in '%s' in %lds%s%s\n", cli.prog, b->env, b->id,
                size, b->storage, (long)(b->finished_at - b->created_at), b->verified ? ", verified: " : "",
                b->verified ? odbk_vocab_name(&odbk_vocab_verified, b->verified) : "");
    }
}

int main(int argc, char **argv)
{
    struct ctx c = {.o = {.level = -1}};
    struct odbk_cli_common common;
    struct odbk_err err = {0};
    struct odbk_session s = {0};
    struct run run = {.c = &c, .common = &common};
    const char **envs = NULL;
    size_t failed = 0;
    int arg0, rc = odbk_cli_parse(&cli, argc, argv, &common, on_opt, &c, &arg0, &err);
    if (rc != 0)
        return rc > 0 ? 0 : odbk_cli_exit(&cli, -1, &err);
    if (c.o.level > 9 && c.o.compression != ODBK_COMPRESS_ZSTD) {
        odbk_err_set(&err, ODBK_E_USAGE, "--level: gzip levels go from 1 to 9");
        return odbk_cli_exit(&cli, -1, &err);
    }
    if (c.due &&
        (c.all || arg0 < argc || (c.o.type && odbk_vocab_find(&odbk_vocab_type, c.o.type) != ODBK_TYPE_SCHEDULED))) {
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
    /* from the catalog's opening a stop signal ends the run cleanly: the backup under way is failed and
     * removed; runs that died become failed first */
    if (odbk_session_open(&s, common.config, common.catalog,
                          ODBK_SESSION_CLEANUP | ODBK_SESSION_INTERRUPT | ODBK_SESSION_REAP, &err) < 0)
        goto out;
    if (!c.due && odbk_config_select_envs(s.cfg, c.all, argv + arg0, (size_t)(argc - arg0), &envs, &run.n, &err) < 0)
        goto out;
    run.progress = odbk_progress_new(common.progress, common.quiet);
    c.o.progress = run.progress ? odbk_progress_event : NULL;
    c.o.progress_ctx = run.progress;
    if (!c.due) {
        failed = odbk_backup_create_each(s.cfg, s.cat, envs, run.n, &c.o, 0, on_outcome, &run);
    } else {   /* one --due run at a time; the envs whose schedule fired (odbk-policy due) */
        rc = odbk_backup_create_due(s.cfg, s.cat, s.catalog_path, &c.o, on_outcome, &run, &failed, &err);
        if (rc > 0 && !common.quiet)
            fprintf(stderr, "%s: another 'odbk-create --due' is running; nothing done\n", cli.prog);
    }
out:
    odbk_progress_free(run.progress);
    free(envs);
    odbk_session_close(&s);
    if (failed) {
        odbk_cli_exit(&cli, 0, &err);   /* flush stdout */
        return odbk_interrupted() ? odbk_interrupt_exit_code() : odbk_err_exit_code(&run.first);
    }
    rc = odbk_cli_exit(&cli, err.code ? -1 : 0, &err);
    return odbk_interrupted() ? odbk_interrupt_exit_code() : rc;
}
