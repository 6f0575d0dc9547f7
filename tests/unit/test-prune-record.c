/* test-prune-record.c - the plan record of odbk-prune (lib/backup/prune.c, catalog env_state): a dry run
 * answered from an env's record says what the plan without it says, on random catalogs and clock jumps.
 *
 * Three envs over two local storages, each under its own policy (counts, windows, a zone with DST, the
 * tiers' durations), get random rows (completed, failed, running, future-dated, tiered, permanent; some with
 * a folder in storage), real prunes (which write the records) and clock jumps forward and back, seeded.  At
 * every step each env's dry run with the records (opts.records, as odbk-prune --all --dry-run reads them)
 * and without them must agree: skipped or not, policy, kept, to expire, to clean, packs; and an env whose
 * record was used must have been recorded clean by a real prune since its last write. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup.h"
#include "backup/prune.h"
#include "common/util.h"
#include "tap.h"

static char dir[] = "/tmp/odbk-test-prune-record.XXXXXX";
static struct odbk_config *cfg;
static struct odbk_catalog *cat;
static uint64_t rng = 0x243f6a8885a308d3u;
static const char *const envs[] = {"alpha", "beta", "gamma"};
#define N_ENVS 3

static unsigned rnd(unsigned n)   /* xorshift64*, 0..n-1 */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (unsigned)((rng * 2685821657736338717u) >> 33) % n;
}

static void add(int serial, const char *env, time_t t)
{
    static const char *const statuses[] = {"completed", "completed", "completed", "completed", "completed",
                                           "completed", "failed", "in_progress"};
    static const char *const tiers[] = {"", "", "", "", "", "daily", "weekly", "monthly", "yearly", "permanent"};
    struct odbk_backup b = {0};
    struct odbk_err err = {0};
    char id[64];
    const char *storage = rnd(4) ? "a" : "b";
    snprintf(id, sizeof(id), "%s-%06d", env, serial);
    b.id = id;
    b.uuid = id;
    b.env = (char *)env;
    b.project = "";
    b.database = (char *)env;
    b.storage = (char *)storage;
    b.type = rnd(2) ? ODBK_TYPE_MANUAL : ODBK_TYPE_SCHEDULED;
    b.format = ODBK_FORMAT_ODBK;
    b.compression = "gzip";
    b.status = (enum odbk_backup_status)odbk_vocab_find(&odbk_vocab_status, statuses[rnd(8)]);
    b.created_at = t;
    b.finished_at = t + 60;
    odbk_tier_parse(tiers[rnd(10)], &b.retention, ODBK_E_DATA, &err);
    b.host = "test";
    if (odbk_catalog_backup_insert(cat, &b, &err) < 0)
        printf("# insert %s: %s\n", id, err.msg);
    if (b.status != ODBK_BACKUP_IN_PROGRESS && rnd(3)) {   /* its folder (a failed one's leftovers) */
        struct odbk_storage *st = NULL;
        char *key = odbk_backup_file_key(env, id, "backup-manifest.json");
        if (odbk_storage_open(cfg, storage, &st, &err) < 0 || odbk_storage_put(st, key, "{}", 2, &err) < 0)
            printf("# put %s: %s\n", key, err.msg);
        odbk_storage_close(st);
        free(key);
    }
}

/* what odbk-prune --all --dry-run prints of a report, as one string */
static char *line_of(const struct odbk_prune_report *r)
{
    size_t i, packs = 0;
    for (i = 0; i < r->n_gc; i++)
        packs += r->gc[i].n_removed;
    if (r->skipped)
        return odbk_xasprintf("%s: %s [skipped] %s", r->env, r->policy, r->skipped);
    return odbk_xasprintf("%s: %s: %zu kept, %zu to expire, %zu to clean, %zu packs", r->env, r->policy, r->n_keep,
                          r->n_expire, r->n_clean, packs);
}

int main(void)
{
    struct odbk_err err = {0};
    char *text, *catpath;
    time_t now = 1767225600;   /* 2026-01-01T00:00:00Z */
    int serial = 0, step, e, steps = 400, mismatches = 0, answered = 0, planned = 0, recorded = 0, jumps_back = 0;
    int clean_since[N_ENVS] = {0};   /* a real prune recorded the env and nothing was written since */
    int wrong_record = 0;

    plan(7);
    if (!mkdtemp(dir))
        return 1;
    text = odbk_xasprintf(
        "[storage a]\ntype = local\npath = %s/a\n\n[storage b]\ntype = local\npath = %s/b\n\n"
        "[policy]\nkeep-within-daily =\nkeep-within-weekly =\nkeep-within-monthly =\nkeep-within-yearly =\n"
        "keep-last = 2\nkeep-daily = 3\nkeep-weekly = 2\nkeep-monthly = 2\ntimezone = Europe/Brussels\n\n"
        "[env alpha]\ndatabase = alpha\nstorage = a\n\n"
        "[env beta]\ndatabase = beta\nstorage = a\n\n[policy beta]\nkeep-last =\nkeep-daily =\nkeep-weekly =\n"
        "keep-monthly =\nkeep-within = 3d\nkeep-within-weekly = 3w\ntimezone = America/New_York\n\n"
        "[env gamma]\ndatabase = gamma\nstorage = b\n\n[policy gamma]\nkeep-hourly = 5\nkeep-yearly = 1\n"
        "keep-within-daily = 5d\ntimezone = UTC\n",
        dir, dir);
    for (const char *s = "ab"; *s; s++) {
        char *p = odbk_xasprintf("%s/%c", dir, *s);
        mkdir(p, 0700);
        free(p);
    }
    ok(odbk_config_parse_string(text, "test.conf", &cfg, &err) == 0, "config parses");
    if (err.code)
        diag("%s", err.msg);
    catpath = odbk_xasprintf("%s/catalog.db", dir);
    ok(odbk_catalog_open(catpath, &cat, &err) == 0, "catalog opens");

    for (step = 0; step < steps; step++) {
        unsigned what = rnd(10);
        struct odbk_env_summaries records = {0};
        if (what < 4) {   /* new rows: mostly at the clock, some hours off, some in the future */
            int k, m = 1 + (int)rnd(3);
            e = (int)rnd(N_ENVS);
            for (k = 0; k < m; k++) {
                time_t t = now - (time_t)rnd(3) * 3600 * (time_t)rnd(30);
                if (!rnd(8))
                    t = now + 3600 * (time_t)(1 + rnd(72));   /* future-dated (a host's clock ahead) */
                add(++serial, envs[e], t);
            }
            clean_since[e] = 0;
        } else if (what < 7) {   /* the clock moves: hours to months, now and then back */
            static const time_t jumps[] = {3600, 6 * 3600, 86400, 3 * 86400, 8 * 86400, 30 * 86400, 95 * 86400};
            time_t j = jumps[rnd(7)] + (time_t)rnd(3600);
            if (!rnd(6)) {
                now -= j / 2;
                jumps_back++;
            } else {
                now += j;
            }
        } else {   /* a real prune of every env (the nightly one) */
            for (e = 0; e < N_ENVS; e++) {
                struct odbk_prune_opts o = {0};
                struct odbk_prune_report r;
                struct odbk_err pe = {0};
                o.now = now;
                o.force = rnd(2);
                odbk_prune_env(cfg, cat, envs[e], &o, &r, &pe);
                /* recorded now, or the record of before still stands (this run wrote no row) */
                clean_since[e] = r.recorded || (clean_since[e] && !r.n_expire);
                recorded += r.recorded;
                odbk_prune_report_release(&r);
            }
        }
        if (odbk_catalog_env_summaries(cat, &records, &err) < 0) {
            diag("summaries: %s", err.msg);
            mismatches++;
            break;
        }
        for (e = 0; e < N_ENVS; e++) {
            struct odbk_prune_opts o = {0};
            struct odbk_prune_report with, without;
            struct odbk_err e1 = {0}, e2 = {0};
            char *l1, *l2;
            int r1, r2;
            o.now = now;
            o.dry_run = 1;
            o.records = &records;
            r1 = odbk_prune_env(cfg, cat, envs[e], &o, &with, &e1);
            o.records = NULL;
            r2 = odbk_prune_env(cfg, cat, envs[e], &o, &without, &e2);
            l1 = line_of(&with);
            l2 = line_of(&without);
            answered += with.from_record;
            planned += !with.from_record;
            if (with.from_record && !clean_since[e])
                wrong_record++;
            if (r1 != r2 || strcmp(l1, l2)) {
                if (mismatches++ < 5)
                    diag("step %d, now %lld: with the record '%s' (%d), without '%s' (%d)", step, (long long)now,
                         l1, r1, l2, r2);
            }
            free(l1);
            free(l2);
            odbk_prune_report_release(&with);
            odbk_prune_report_release(&without);
        }
        odbk_env_summaries_release(&records);
    }
    is_int(mismatches, 0, "every dry run with the records says what the plan without them says");
    ok(recorded > 20, "real prunes recorded envs clean");
    ok(answered > 50 && planned > 50, "dry runs answered from records and planned in full, both");
    ok(jumps_back > 5, "the clock went back too");
    is_int(wrong_record, 0, "a record is used only while nothing was written since the prune that made it");
    diag("%d steps, %d rows, %d records written, %d dry runs from a record, %d planned", steps, serial, recorded,
         answered, planned);

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
