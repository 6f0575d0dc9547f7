/* odbk-download - expiring links to a backup's files, or the files themselves (odbk-download(1)). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "backup/backup.h"
#include "backup/session.h"
#include "cli/cli.h"
#include "cli/progress.h"
#include "common/util.h"
#include "config/config.h"
#include "policy/duration.h"

enum { O_EXPIRES = 1, O_OUTPUT, O_AS, O_DECRYPT };

static const struct odbk_opt opts[] = {
    {"expires", 'e', "DURATION", "how long links stay valid: 15m, 30m, 1h (default), 2h, 24h, ... at most 7d",
     O_EXPIRES, NULL},
    {"output", 'o', "DIR", "fetch the files into DIR (any storage), checked against the manifest", O_OUTPUT,
     &odbk_vocab_dir},
    {"as", 0, "zip", "with --output: one Odoo-style zip (dump.sql, manifest.json, filestore/)", O_AS,
     &odbk_vocab_download_as},
    {"decrypt", 0, "FILE", "write FILE, fetched from an encrypted storage, decrypted to stdout", O_DECRYPT,
     &odbk_vocab_file},
    {0},
};

static const struct odbk_cli cli = {
    "odbk-download", "[options] BACKUP_ID",
    "Print expiring download links for a backup's files (S3), or fetch them into a directory (any storage).",
    opts, ODBK_CLI_JSON | ODBK_CLI_PROGRESS, &odbk_vocab_backup, NULL};

struct ctx {
    struct odbk_download_opts o;
    const char *decrypt;
};

static int on_opt(void *p, int id, const char *arg, struct odbk_err *err)
{
    struct ctx *c = p;
    int64_t secs;
    switch (id) {
    case O_EXPIRES:
        if (odbk_duration_parse_seconds(arg, &secs, err) < 0) {
            odbk_err_prefix(err, "--expires");
            err->code = ODBK_E_USAGE;   /* a bad option value, not a bad config */
            return -1;
        }
        if (secs > 7 * 86400) {
            odbk_err_set(err, ODBK_E_USAGE, "--expires %s: links last at most 7 days (7d)", arg);
            return -1;
        }
        c->o.expires = (long)secs;
        break;
    case O_OUTPUT: c->o.output = arg; break;
    case O_AS: c->o.as_zip = 1; break;
    case O_DECRYPT: c->decrypt = arg; break;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct ctx c = {{0}, NULL};
    struct odbk_cli_common common;
    struct odbk_err err = {0};
    struct odbk_session ss = {0};
    struct odbk_download_result res = {0};
    struct odbk_progress *progress = NULL;
    size_t i;
    int arg0, r = odbk_cli_parse(&cli, argc, argv, &common, on_opt, &c, &arg0, &err);
    if (r != 0)
        return r > 0 ? 0 : odbk_cli_exit(&cli, -1, &err);
    r = -1;
    if (c.decrypt) {   /* needs the config's passphrases only: no catalog, no backup id */
        struct odbk_config *cfg = NULL;
        if (arg0 < argc || c.o.output || c.o.as_zip) {
            odbk_err_set(&err, ODBK_E_USAGE, "--decrypt FILE takes no backup id, --output or --as");
        } else if (isatty(1)) {
            odbk_err_set(&err, ODBK_E_USAGE, "--decrypt writes binary data: redirect stdout to a file");
            odbk_err_hint(&err, "odbk-download --decrypt '%s' > FILE", c.decrypt);
        } else if (odbk_config_load(common.config, 0, &cfg, &err) == 0) {
            r = odbk_backup_decrypt(cfg, c.decrypt, 1, &err);
        }
        odbk_config_free(cfg);
        return odbk_cli_exit(&cli, r, &err);
    }
    if (arg0 >= argc) {
        odbk_err_set(&err, ODBK_E_USAGE, "name the backup: BACKUP_ID");
        odbk_err_hint(&err, "odbk-list shows the backups");
        goto out;
    }
    c.o.backup_id = argv[arg0++];
    if (arg0 < argc) {
        odbk_err_set(&err, ODBK_E_USAGE, "unexpected argument '%s'", argv[arg0]);
        goto out;
    }
    if (c.o.as_zip && !c.o.output) {
        odbk_err_set(&err, ODBK_E_USAGE, "--as zip goes with --output DIR");
        goto out;
    }
    if (!c.o.expires)
        c.o.expires = 3600;
    /* a download reads: a killed restore or a pending removal is reported, not finished (odbk-download(1)) */
    if (odbk_session_open(&ss, common.config, common.catalog, 0, &err) < 0)
        goto out;
    odbk_session_warn_pending(&ss, cli.prog);
    if (c.o.output) {   /* links take no time: nothing to show */
        progress = odbk_progress_new(common.progress, common.quiet);
        c.o.progress = progress ? odbk_progress_event : NULL;
        c.o.progress_ctx = progress;
    }
    r = odbk_backup_download(ss.cfg, ss.cat, &c.o, &res, &err);
    odbk_progress_clear(progress);   /* the run's end took the bar off; nothing may print beside it */
    if (r < 0)
        goto out;
    if (common.json) {
        cJSON *o = cJSON_CreateObject(), *files = cJSON_CreateArray();
        char t[32], *s;
        cJSON_AddStringToObject(o, "id", res.backup_id);
        if (!c.o.output) {
            odbk_time_rfc3339(res.expires_at, t);
            cJSON_AddStringToObject(o, "expires_at", t);
            cJSON_AddNumberToObject(o, "expires_in", (double)c.o.expires);
            cJSON_AddBoolToObject(o, "encrypted", res.encrypted);
        }
        for (i = 0; i < res.n_files; i++) {
            cJSON *f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "name", res.files[i].name);
            cJSON_AddStringToObject(f, "role", res.files[i].role);
            cJSON_AddNumberToObject(f, "size", (double)res.files[i].size);
            if (*res.files[i].sha256)
                cJSON_AddStringToObject(f, "sha256", res.files[i].sha256);
            if (res.files[i].url)
                cJSON_AddStringToObject(f, "url", res.files[i].url);
            if (res.files[i].path)
                cJSON_AddStringToObject(f, "path", res.files[i].path);
            cJSON_AddItemToArray(files, f);
        }
        cJSON_AddItemToObject(o, "files", files);
        odbk_session_pending_json(&ss, o);
        s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        for (i = 0; i < res.n_files; i++)
            printf("%s\n", res.files[i].url ? res.files[i].url : res.files[i].path);
        if (!common.quiet && !c.o.output) {
            char t[32];
            odbk_time_rfc3339(res.expires_at, t);
            fprintf(stderr, "odbk-download: links valid until %s\n", t);
        }
        if (!c.o.output && res.encrypted)   /* said even with --quiet: the files are no use as they come */
            fprintf(stderr, "odbk-download: the files are encrypted: fetch them decrypted with 'odbk-download %s "
                    "--output DIR', or decrypt a downloaded file with 'odbk-download --decrypt FILE > PLAIN'\n",
                    res.backup_id);
    }
out:
    odbk_progress_free(progress);
    odbk_download_result_release(&res);
    odbk_session_close(&ss);
    return odbk_cli_exit(&cli, r, &err);
}
