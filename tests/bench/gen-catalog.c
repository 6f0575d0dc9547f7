/* gen-catalog - `make bench-catalog`'s synthetic organization, made through the catalog module itself.
 *
 *   odbk-gen-catalog [--steady] DIR ENVS BACKUPS NOW [CATALOG]
 *
 * Writes DIR/odbk.conf (one local [storage disk] at DIR/store, an organization [policy] @daily in
 * Europe/Brussels, ENVS [env cNNNNN] sections; every 10th env has a [policy] of its own in America/New_York,
 * every 20th (from the 3rd) is disabled), DIR/store/.odbk-storage (the marker its first backup would have
 * written), and fills the catalog CATALOG (a path or a URL such as postgresql://..., default DIR/catalog.db)
 * through odbk_catalog_open and odbk_catalog_backup_insert / odbk_catalog_audit_add, in transactions of
 * 10,000 rows (odbk_catalog_batch_begin/end): the rows are the rows odbk writes, with a real manifest
 * (odbk_manifest_to_json) on every completed or expired one.
 *
 * Per env BACKUPS / ENVS scheduled backups, one a day back from NOW - 60 s: the newest completed, about 2 %
 * failed (a pg_dump error, no manifest), those older than 35 days expired, about 1 % manual with a comment
 * and a tier; 1.5 audit rows per backup (create, and every other one a schedule or prune entry).  Seeded:
 * the same arguments give the same rows.  Exit 0, 64 on bad arguments, or the catalog's error code.
 *
 * --steady: the catalog a nightly odbk-prune leaves instead (every env pruned under its own policy, as the
 * config just written gives it: odbk_prune_policy, odbk_retention_plan at NOW over its completed backups):
 * what no rule keeps is expired, the rest completed; failed rows stay failed.  A history that was never
 * pruned (the default) keeps 35 days completed, whatever the policy says.  Prune's plan of a steady env
 * expires nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backup/backup.h"
#include "backup/prune.h"
#include "catalog/catalog.h"
#include "config/config.h"
#include "policy/retention.h"
#include "common/util.h"
#include "odoo/manifest.h"

#define BATCH 10000

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next_rand(void)   /* xorshift64* */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717u;
}

static void hex(char *out, size_t digits)
{
    size_t i;
    for (i = 0; i < digits; i++)
        out[i] = "0123456789abcdef"[next_rand() >> 60];
    out[digits] = '\0';
}

static int write_config(const char *dir, long envs)
{
    char *path = odbk_xasprintf("%s/odbk.conf", dir), *store = odbk_xasprintf("%s/store", dir);
    char *marker = odbk_xasprintf("%s/.odbk-storage", store);
    FILE *f;
    long i;
    int ok = 1;
    mkdir(store, 0700);
    if (!(f = fopen(path, "w"))) {
        perror(path);
        ok = 0;
        goto out;
    }
    fprintf(f, "[storage disk]\ntype = local\npath = %s\n\n[policy]\nschedule = @daily\ntimezone = Europe/Brussels\n"
               "keep-daily = 7\nkeep-weekly = 4\nkeep-monthly = 12\nwarning-after = 2d\n\n", store);
    for (i = 0; i < envs; i++) {
        fprintf(f, "[env c%05ld]\nproject = p%04ld\ndatabase = c%05ld\nfilestore = %s/fs/c%05ld\npg = host=/nonexistent\n"
                   "storage = disk\n\n", i, i / 3, i, dir, i);
        if (i % 10 == 1)
            fprintf(f, "[policy c%05ld]\nschedule = @daily\ntimezone = America/New_York\nkeep-daily = 14\n\n", i);
        else if (i % 20 == 2)
            fprintf(f, "[policy c%05ld]\nenabled = false\n\n", i);
    }
    ok = fclose(f) == 0 && chmod(path, 0600) == 0;
    /* without the marker, the catalog's completed backups make the storage an unmounted disk (prune: 74) */
    if (ok && (f = fopen(marker, "w"))) {
        fputs("odbk-storage 1\nid 0f6c2a1e-8d3b-4c55-9a71-2b3c4d5e6f70\n", f);
        ok = fclose(f) == 0;
    } else {
        ok = 0;
    }
    if (!ok)
        perror(path);
out:
    free(path);
    free(store);
    free(marker);
    return ok;
}

/* b's manifest as odbk-create writes it: a database and a filestore file, Odoo's keys */
static char *manifest_of(const struct odbk_backup *b)
{
    struct odbk_manifest m;
    char sha[2][65], *name[2], *json;
    memset(&m, 0, sizeof(m));
    odbk_backup_to_manifest(b, &m);   /* the record's own fields, as odbk-create writes them */
    m.odbk_version = ODBK_VERSION;
    m.pg_server_version = b->pg_version;
    m.pg_dump_version = b->pg_version;
    m.odoo_version = b->odoo_version;
    m.odoo_major = b->odoo_version;
    m.odoo_pg_version = "16.0";
    m.modules_json = "{\"base\": \"17.0.1.3\", \"web\": \"17.0.1.0\", \"mail\": \"17.0.1.15\", "
                     "\"account\": \"17.0.1.2\", \"sale\": \"17.0.1.2\", \"stock\": \"17.0.1.1\"}";
    m.tables_json = "{\"public.res_partner\": 1204, \"public.res_users\": 31, \"public.account_move\": 20533, "
                    "\"public.ir_attachment\": 8121}";
    m.fs_files = (int64_t)(b->fs_size / 4096);
    m.fs_bytes = (int64_t)b->fs_size * 3;
    hex(sha[0], 64);
    hex(sha[1], 64);
    name[0] = odbk_xasprintf("backup-%s-database.sql.gz", b->id);
    name[1] = odbk_xasprintf("backup-%s-filestore.tar.gz", b->id);
    odbk_manifest_add_file(&m, name[0], "database", b->db_size, sha[0], "gzip", b->db_size * 4);
    odbk_manifest_add_file(&m, name[1], "filestore", b->fs_size, sha[1], "gzip", b->fs_size);
    json = odbk_manifest_to_json(&m);
    /* the files are the manifest's own copies; the rest are b's strings */
    for (size_t k = 0; k < m.n_files; k++) {
        free(m.files[k].name);
        free(m.files[k].role);
        free(m.files[k].sha256);
        free(m.files[k].compression);
    }
    free(name[0]);
    free(name[1]);
    return json;
}

/* --steady: which of an env's backups (k = 0 newest, one a day back from now - 60 s; failed[k] not
 * completed) its policy keeps at now; the rest are expired.  keep[k] 1 for a kept one. */
static int steady_keep(const struct odbk_config *cfg, const char *env, long per, long long now, const int *failed,
                       const int *manual, int *keep, struct odbk_err *err)
{
    struct odbk_retention_policy rules;
    struct odbk_retention_item *it = odbk_xcalloc((size_t)per, sizeof(*it));
    size_t *map = odbk_xcalloc((size_t)per, sizeof(*map));
    struct odbk_retention_plan *plan = NULL;
    size_t m = 0, i;
    long k;
    for (k = 0; k < per; k++)
        keep[k] = 1;
    if (odbk_prune_policy(cfg, env, &rules, err) < 0) {   /* no rule: prune refuses it, all stay */
        odbk_err_clear(err);
        goto out;
    }
    for (k = 0; k < per; k++) {
        if (failed[k])
            continue;
        it[m].time = (time_t)(now - 60 - k * 86400);
        it[m].completed = 1;
        it[m].tier = manual[k] ? ODBK_TIER_MONTHLY : ODBK_TIER_NONE;
        map[m++] = (size_t)k;
    }
    if (odbk_retention_plan(&rules, it, m, (time_t)now, &plan, err) < 0) {
        free(it);
        free(map);
        return -1;
    }
    for (i = 0; i < plan->n; i++)
        keep[map[plan->d[i].index]] = plan->d[i].keep;
    odbk_retention_plan_free(plan);
out:
    free(it);
    free(map);
    return 0;
}

static int fail(struct odbk_err *err)
{
    fprintf(stderr, "odbk-gen-catalog: %s\n", err->msg);
    return odbk_err_exit_code(err);
}

int main(int argc, char **argv)
{
    struct odbk_catalog *cat = NULL;
    struct odbk_err err = {0};
    char *path;
    struct odbk_config *cfg = NULL;
    long envs, per, i, k, rows = 0;
    long long backups, now;
    int rc = 0, steady = argc > 1 && !strcmp(argv[1], "--steady"), *failed_k = NULL, *manual_k = NULL, *keep_k = NULL;
    if (steady) {
        argv++;
        argc--;
    }
    if (argc < 5 || argc > 6 || (envs = atol(argv[2])) <= 0 || envs > 99999 || (backups = atoll(argv[3])) <= 0 ||
        (now = atoll(argv[4])) <= 0) {
        fprintf(stderr, "usage: odbk-gen-catalog [--steady] DIR ENVS(1-99999) BACKUPS NOW(epoch) [CATALOG]\n");
        return 64;
    }
    per = (long)(backups / envs) > 0 ? (long)(backups / envs) : 1;
    if (mkdir(argv[1], 0700) != 0 && errno != EEXIST) {
        perror(argv[1]);
        return 73;
    }
    if (!write_config(argv[1], envs))
        return 73;
    if (steady) {
        char *conf = odbk_xasprintf("%s/odbk.conf", argv[1]);
        int r = odbk_config_parse_file(conf, &cfg, &err);
        free(conf);
        if (r < 0)
            return fail(&err);
        failed_k = odbk_xcalloc((size_t)per, sizeof(int));
        manual_k = odbk_xcalloc((size_t)per, sizeof(int));
        keep_k = odbk_xcalloc((size_t)per, sizeof(int));
    }
    path = argc == 6 ? odbk_xstrdup(argv[5]) : odbk_xasprintf("%s/catalog.db", argv[1]);
    if (odbk_catalog_open(path, &cat, &err) < 0) {
        free(path);
        return fail(&err);
    }
    for (i = 0; i < envs && rc == 0; i++) {
        char env[16], project[16];
        snprintf(env, sizeof(env), "c%05ld", i);
        snprintf(project, sizeof(project), "p%04ld", i / 3);
        if (steady) {   /* the env's runs first, then what its policy keeps of them */
            for (k = 0; k < per; k++) {
                failed_k[k] = k > 0 && next_rand() % 100 < 2;
                manual_k[k] = !failed_k[k] && k > 0 && next_rand() % 100 < 1;
            }
            if (steady_keep(cfg, env, per, now, failed_k, manual_k, keep_k, &err) < 0)
                goto sql_fail;
        }
        for (k = 0; k < per; k++) {
            struct odbk_backup b;
            struct odbk_audit a;
            char id[40], uuid[40], h[33], suffix[8];
            time_t t = (time_t)(now - 60 - k * 86400);
            struct tm tm;
            int failed = steady ? failed_k[k] : k > 0 && next_rand() % 100 < 2;
            int manual = steady ? manual_k[k] : !failed && k > 0 && next_rand() % 100 < 1;
            if (rows % BATCH == 0 && odbk_catalog_batch_begin(cat, &err) < 0)
                goto sql_fail;
            gmtime_r(&t, &tm);
            strftime(id, sizeof(id), "%Y%m%dT%H%M%SZ", &tm);
            /* unique per (time, env): an odd multiplier is a bijection of the 24-bit env index */
            snprintf(suffix, sizeof(suffix), "-%06lx", ((unsigned long)i * 0x9e3779u) & 0xffffffu);
            strcat(id, suffix);
            hex(h, 32);   /* as a version-4 UUID: 8-4-4-4-12 */
            snprintf(uuid, sizeof(uuid), "%.8s-%.4s-4%.3s-8%.3s-%.12s", h, h + 8, h + 12, h + 15, h + 18);
            memset(&b, 0, sizeof(b));
            b.id = id;
            b.uuid = uuid;
            b.env = env;
            b.project = project;
            b.database = env;
            b.storage = "disk";
            b.type = manual ? ODBK_TYPE_MANUAL : ODBK_TYPE_SCHEDULED;
            b.format = ODBK_FORMAT_ODBK;
            b.compression = "gzip";
            b.status = failed ? ODBK_BACKUP_FAILED
                       : steady ? (keep_k[k] ? ODBK_BACKUP_COMPLETED : ODBK_BACKUP_EXPIRED)
                       : k * 86400L > 35 * 86400L ? ODBK_BACKUP_EXPIRED : ODBK_BACKUP_COMPLETED;
            b.verified = failed ? ODBK_VERIFIED_NO : ODBK_VERIFIED_CHECKSUM;
            b.created_at = t;
            b.finished_at = t + 60;
            if (!failed) {
                b.db_size = 40000000 + next_rand() % 1000000;
                b.fs_size = 200000000 + next_rand() % 10000000;
                b.has_filestore = 1;
            }
            b.comment = manual ? "before the upgrade" : "";
            b.retention = manual ? ODBK_TIER_MONTHLY : ODBK_TIER_NONE;
            b.error = failed ? "pg_dump: error: connection to server failed: Connection refused" : NULL;
            b.host = "bench-host";
            b.odoo_version = "17.0";
            b.pg_version = "16.4";
            b.key_id = "";
            b.manifest = failed ? NULL : manifest_of(&b);
            if (b.manifest)
                b.total_size = b.db_size + b.fs_size + strlen(b.manifest);
            if (odbk_catalog_backup_insert(cat, &b, &err) < 0) {
                free(b.manifest);
                goto sql_fail;
            }
            free(b.manifest);
            memset(&a, 0, sizeof(a));
            a.at = t + 60;
            a.user = "root";
            a.host = "bench-host";
            a.action = "create";
            a.backup_id = id;
            a.env = env;
            a.result = failed ? "failed" : "ok";
            a.detail = b.error;
            if (odbk_catalog_audit_add(cat, &a, &err) < 0)
                goto sql_fail;
            if (k % 2 == 0) {
                a.at = t + 61;
                a.action = b.status == ODBK_BACKUP_EXPIRED ? "prune" : "schedule";
                a.detail = NULL;
                if (odbk_catalog_audit_add(cat, &a, &err) < 0)
                    goto sql_fail;
            }
            if (++rows % BATCH == 0 && odbk_catalog_batch_end(cat, 1, &err) < 0)
                goto sql_fail;
        }
    }
    if (rows % BATCH != 0 && odbk_catalog_batch_end(cat, 1, &err) < 0)
        goto sql_fail;
    goto out;
sql_fail:
    odbk_catalog_batch_end(cat, 0, NULL);
    rc = fail(&err);
out:
    odbk_catalog_close(cat);
    odbk_config_free(cfg);
    free(failed_k);
    free(manual_k);
    free(keep_k);
    free(path);
    return rc;
}
