/* test-prune.c - lib/backup/prune.c over a real catalog and two local storages, without PostgreSQL:
 * rows are inserted directly and each backup folder holds one small file.  Covers what the integration
 * test cannot set up easily: one retention group per storage, leftovers of failed and expired rows,
 * running rows, the plan-only mode and the by-hand deletion of a failed row. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup.h"
#include "backup/prune.h"
#include "common/util.h"
#include "tap.h"

static char dir[] = "/tmp/odbk-test-prune.XXXXXX";
static struct odbk_config *cfg;
static struct odbk_catalog *cat;

static time_t day(int d, int h)
{
    return 1767225600 + (time_t)(d - 1) * 86400 + h * 3600;   /* 2026-01-01T00:00:00Z + ... */
}

static void add(const char *id, const char *storage, const char *status, time_t t, const char *retention,
                int with_files)
{
    struct odbk_backup b = {0};
    struct odbk_err err = {0};
    b.id = (char *)id;
    b.uuid = (char *)id;
    b.env = "prod";
    b.project = "";
    b.database = "prod";
    b.storage = (char *)storage;
    b.type = ODBK_TYPE_MANUAL;
    b.format = ODBK_FORMAT_ODBK;
    b.compression = "gzip";
    b.status = (enum odbk_backup_status)odbk_vocab_find(&odbk_vocab_status, status);
    b.created_at = t;
    b.finished_at = t + 60;
    odbk_tier_parse(retention, &b.retention, ODBK_E_DATA, &err);
    b.host = "test";
    if (odbk_catalog_backup_insert(cat, &b, &err) < 0)
        printf("# insert %s: %s\n", id, err.msg);
    if (with_files) {
        struct odbk_storage *st = NULL;
        char *key = odbk_backup_file_key("prod", id, "backup-manifest.json");
        if (odbk_storage_open(cfg, storage, &st, &err) < 0 || odbk_storage_put(st, key, "{}", 2, &err) < 0)
            printf("# put %s: %s\n", key, err.msg);
        odbk_storage_close(st);
        free(key);
    }
}

static int exists(const char *storage, const char *id)
{
    char *p = odbk_xasprintf("%s/%s/prod/%s", dir, storage, id);
    struct stat sb;
    int r = stat(p, &sb) == 0;
    free(p);
    return r;
}

static const char *status(const char *id)
{
    static char buf[32];
    struct odbk_backup b;
    struct odbk_err err = {0};
    if (odbk_catalog_backup_get(cat, id, &b, &err) < 0)
        return "?";
    snprintf(buf, sizeof(buf), "%s", odbk_status_name(b.status));
    odbk_backup_release(&b);
    return buf;
}

static const struct odbk_prune_item *find(const struct odbk_prune_report *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->items[i].b.id, id))
            return &r->items[i];
    return NULL;
}

static int has_reason(const struct odbk_prune_item *it, const char *why)
{
    for (size_t i = 0; it && i < it->n_reasons; i++)
        if (!strcmp(it->reasons[i], why))
            return 1;
    return 0;
}

int main(void)
{
    struct odbk_err err = {0};
    struct odbk_prune_opts o = {0};
    struct odbk_prune_report r;
    struct odbk_prune_item it;
    struct odbk_gc_report gc;
    char *text, *catpath;

    plan(29);
    if (!mkdtemp(dir))
        return 1;
    text = odbk_xasprintf("[storage a]\ntype = local\npath = %s/a\n\n[storage b]\ntype = local\npath = %s/b\n\n"
                          "[policy]\nkeep-within-daily =\nkeep-within-weekly =\nkeep-within-monthly =\n"
                          "keep-within-yearly =\nkeep-last =\nkeep-daily = 2\n\n[env prod]\ndatabase = prod\nstorage = a\n",
                          dir, dir);
    for (const char *s = "ab"; *s; s++) {
        char *p = odbk_xasprintf("%s/%c", dir, *s);
        mkdir(p, 0700);
        free(p);
    }
    ok(odbk_config_parse_string(text, "test.conf", &cfg, &err) == 0, "config parses");
    catpath = odbk_xasprintf("%s/catalog.db", dir);
    ok(odbk_catalog_open(catpath, &cat, &err) == 0, "catalog opens");

    /* storage a: five days; storage b: three days (its own group: its two newest stay) */
    add("a1", "a", "completed", day(1, 3), NULL, 1);
    add("a2", "a", "completed", day(2, 3), NULL, 1);
    add("a3", "a", "completed", day(3, 3), NULL, 1);
    add("a4", "a", "completed", day(4, 3), NULL, 1);
    add("a5", "a", "completed", day(5, 3), NULL, 1);
    add("b1", "b", "completed", day(1, 4), NULL, 1);
    add("b2", "b", "completed", day(2, 4), NULL, 1);
    add("b3", "b", "completed", day(3, 4), NULL, 1);
    add("f1", "a", "failed", day(2, 12), NULL, 1);      /* leftovers of a run that failed */
    add("e1", "b", "expired", day(1, 12), NULL, 1);     /* an interrupted deletion */
    add("e2", "a", "expired", day(1, 13), NULL, 0);     /* history only */
    add("r1", "a", "in_progress", day(4, 12), NULL, 1); /* running: never touched */
    o.now = day(6, 0);

    o.plan_only = 1;
    ok(odbk_prune_env(cfg, cat, "prod", &o, &r, &err) == 0, "plan only");
    is_int(r.n, 8, "plan only: the completed backups");
    is_int(r.n_expire, 4, "plan only: a1, a2, a3 and b1 would go");
    ok(find(&r, "a3")->action == ODBK_PRUNE_EXPIRE && find(&r, "b2")->action == ODBK_PRUNE_KEEP,
       "one retention group per storage");
    odbk_prune_report_release(&r);

    o.plan_only = 0;
    o.dry_run = 1;
    ok(odbk_prune_env(cfg, cat, "prod", &o, &r, &err) == 0 && r.n_clean == 0,
       "dry run, no storage due: leftovers not looked for");
    odbk_prune_report_release(&r);
    /* the failed run and the interrupted deletion left their storages due (the runs do: create.c, prune.c) */
    odbk_catalog_gc_due_set(cat, "prod", "a", &err);
    odbk_catalog_gc_due_set(cat, "prod", "b", &err);
    ok(odbk_prune_env(cfg, cat, "prod", &o, &r, &err) == 0, "dry run");
    is_int(r.n_clean, 2, "dry run: the leftovers of f1 and e1");
    ok(find(&r, "r1") == NULL && find(&r, "e2") == NULL, "dry run: running and history rows are not listed");
    ok(exists("a", "a1") && exists("a", "f1") && exists("b", "e1"), "dry run: nothing deleted");
    is_str(status("a1"), "completed", "dry run: rows unchanged");
    odbk_prune_report_release(&r);

    o.dry_run = 0;
    ok(odbk_prune_env(cfg, cat, "prod", &o, &r, &err) == 0, "prune");
    is_int(r.n_expire, 4, "prune: four expired");
    ok(find(&r, "a1")->done && find(&r, "f1")->done && find(&r, "e1")->done, "prune: done");
    ok(!exists("a", "a1") && !exists("a", "a2") && !exists("a", "a3") && !exists("b", "b1"), "prune: folders gone");
    ok(exists("a", "a4") && exists("a", "a5") && exists("b", "b2") && exists("b", "b3"), "prune: kept folders stay");
    ok(!exists("a", "f1") && !exists("b", "e1"), "prune: leftovers gone");
    ok(exists("a", "r1"), "prune: a running backup is left alone");
    is_str(status("a1"), "expired", "prune: a1 expired");
    is_str(status("f1"), "failed", "prune: a failed row stays failed");
    is_str(status("r1"), "in_progress", "prune: a running row is untouched");
    odbk_prune_report_release(&r);

    /* a newer backup that failed: the env is left alone */
    add("f2", "b", "failed", day(5, 12), NULL, 1);
    ok(odbk_prune_env(cfg, cat, "prod", &o, &r, &err) < 0 && err.code == ODBK_E_FAILED && r.skipped,
       "latest run failed: refused");
    ok(exists("b", "f2"), "latest run failed: its leftovers stay too");
    odbk_prune_report_release(&r);
    odbk_err_clear(&err);

    /* by hand */
    ok(odbk_prune_backup(cfg, cat, "a5", &o, &it, &gc, &err) < 0 && err.code == ODBK_E_USAGE &&
       has_reason(&it, "newest"), "by hand: the newest needs --force");
    odbk_prune_item_release(&it);
    odbk_gc_report_release(&gc);
    odbk_err_clear(&err);
    ok(odbk_prune_backup(cfg, cat, "f2", &o, &it, &gc, &err) == 0 && it.action == ODBK_PRUNE_CLEAN && !exists("b", "f2"),
       "by hand: a failed backup's leftovers");
    odbk_prune_item_release(&it);
    odbk_gc_report_release(&gc);
    ok(odbk_prune_backup(cfg, cat, "r1", &o, &it, &gc, &err) < 0 && err.code == ODBK_E_TEMPFAIL, "by hand: running refused");
    odbk_prune_item_release(&it);
    odbk_gc_report_release(&gc);
    odbk_err_clear(&err);
    ok(odbk_prune_backup(cfg, cat, "a4", &o, &it, &gc, &err) == 0 && !exists("a", "a4") && !strcmp(status("a4"), "expired"),
       "by hand: an old backup");
    odbk_prune_item_release(&it);
    odbk_gc_report_release(&gc);
    ok(odbk_prune_backup(cfg, cat, "zz", &o, &it, &gc, &err) < 0 && err.code == ODBK_E_NOINPUT, "by hand: unknown id");
    odbk_prune_item_release(&it);
    odbk_gc_report_release(&gc);

    odbk_catalog_close(cat);
    odbk_config_free(cfg);
    free(text);
    free(catpath);
    {
        struct odbk_err e2 = {0};
        odbk_rmtree(dir, &e2);
    }
    return done_testing();
}
