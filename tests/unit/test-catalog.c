/* test-catalog.c - the catalog's contract, run on SQLite and on PostgreSQL (the testbed's: $PGHOST, $PGPORT,
 * a fresh database per run; skipped when none answers): schema creation and reopening, backups, filters,
 * status, audit, env figures, removals, env locks, migrations. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/db.h"
#include "common/util.h"
#include "tap.h"

static void fill(struct odbk_backup *b, const char *id, const char *env, const char *project, time_t t,
                 const char *status)
{
    memset(b, 0, sizeof(*b));
    b->id = (char *)id;
    b->uuid = "u";
    b->env = (char *)env;
    b->project = (char *)project;
    b->database = (char *)env;
    b->storage = "disk";
    b->type = ODBK_TYPE_MANUAL;
    b->format = ODBK_FORMAT_ODBK;
    b->compression = "gzip";
    b->status = (enum odbk_backup_status)odbk_vocab_find(&odbk_vocab_status, status);
    b->created_at = t;
    b->comment = "c";
}

/* SQL straight into the catalog at path (what another program or an older odbk left there): 0 or -1. */
static int raw(const char *path, const char *sqlite_sql, const char *pg_sql)
{
    int r = -1;
    if (odbk_catalog_is_shared(path)) {
        PGconn *c = PQconnectdb(path);
        PGresult *res = PQstatus(c) == CONNECTION_OK ? PQexec(c, pg_sql) : NULL;
        r = res && PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
        if (r < 0)
            diag("raw: %s", PQerrorMessage(c));
        PQclear(res);
        PQfinish(c);
    } else {
        sqlite3 *db = NULL;
        if (sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db, sqlite_sql, NULL, NULL, NULL) == SQLITE_OK)
            r = 0;
        else
            diag("raw: %s", sqlite3_errmsg(db));
        sqlite3_close(db);
    }
    return r;
}

static void contract(const char *path)
{
    struct odbk_catalog *cat;
    struct odbk_err err = {0};
    struct odbk_backup b, got, *v;
    struct odbk_backup_filter f = {0};
    size_t n;

    if (odbk_catalog_open(path, &cat, &err) < 0)
        diag("%s", err.msg);
    ok(cat != NULL, "a new catalog is created (SQLite: with its directory)");
    fill(&b, "20260101T000000Z-aaaaaa", "prod", "acme", 1767225600, "completed");
    b.total_size = 5000;
    b.added_bytes = 1234;
    is_int(odbk_catalog_backup_insert(cat, &b, &err), 0, "insert");
    fill(&b, "20260102T000000Z-bbbbbb", "prod", "acme", 1767312000, "failed");
    odbk_catalog_backup_insert(cat, &b, &err);
    fill(&b, "20260103T000000Z-cccccc", "dev", "other", 1767398400, "completed");
    odbk_catalog_backup_insert(cat, &b, &err);
    is_int(odbk_catalog_backup_insert(cat, &b, &err), -1, "a duplicate id is refused");
    odbk_catalog_close(cat);

    is_int(odbk_catalog_open(path, &cat, &err), 0, "reopening an existing catalog");
    is_int(odbk_catalog_backup_list(cat, NULL, &v, &n, &err), 0, "list all");
    is_int((int)n, 3, "three rows");
    is_str(v[0].id, "20260103T000000Z-cccccc", "newest first");
    odbk_backup_list_free(v, n);
    {
        const char *envs[] = {"prod", NULL};
        f.envs = envs;
        f.statuses = ODBK_ONLY(ODBK_BACKUP_COMPLETED);
        odbk_catalog_backup_list(cat, &f, &v, &n, &err);
        is_int((int)n, 1, "filter by env and status");
        odbk_backup_list_free(v, n);
    }
    memset(&f, 0, sizeof(f));
    f.search = "OTH";
    odbk_catalog_backup_list(cat, &f, &v, &n, &err);
    is_int((int)n, 1, "search matches the project, case-insensitively");
    odbk_backup_list_free(v, n);

    is_int(odbk_catalog_backup_get(cat, "20260101T000000Z-aaaaaa", &got, &err), 0, "get by id");
    is_str(got.env, "prod", "with its fields");
    ok(got.total_size == 5000 && got.added_bytes == 1234, "its size and the bytes it added");
    is_int((int)got.created_at, 1767225600, "and its time");
    odbk_backup_release(&got);
    is_int(odbk_catalog_backup_get(cat, "20260102", &got, &err), 0, "get by a unique prefix");
    is_str(got.id, "20260102T000000Z-bbbbbb", "the right one");
    odbk_backup_release(&got);
    is_int(odbk_catalog_backup_get(cat, "2026010", &got, &err), -1, "an ambiguous prefix is refused");
    is_int(odbk_catalog_backup_get(cat, "20260102T000000Z-bbbbb_", &got, &err), -1,
           "a prefix is read literally: '_' is no wildcard");
    is_int(odbk_catalog_backup_get(cat, "20260102%", &got, &err), -1, "nor '%'");
    is_int(odbk_catalog_backup_get(cat, "nope-nope-nope", &got, &err), -1, "an unknown id");
    is_int(odbk_err_exit_code(&err), 66, "is exit 66");

    is_int(odbk_catalog_backup_set_status(cat, "20260101T000000Z-aaaaaa", ODBK_BACKUP_EXPIRED, NULL, &err), 0,
           "set status");
    odbk_catalog_backup_get(cat, "20260101T000000Z-aaaaaa", &got, &err);
    is_str(odbk_status_name(got.status), "expired", "status changed");
    odbk_backup_release(&got);

    {   /* rescan's import: a new id in one statement, a known one never rewritten */
        char *known = NULL;
        int same = -1;
        fill(&b, "20260110T000000Z-iiiiii", "imp", "", 1768003200, "completed");
        b.manifest = "{\"id\": \"20260110T000000Z-iiiiii\"}";
        is_int(odbk_catalog_backup_import(cat, &b, &known, &same, &err), 0, "import of a new id: inserted");
        ok(known == NULL, "nothing known");
        is_int(odbk_catalog_backup_import(cat, &b, &known, &same, &err), 1, "again: known");
        is_str(known, "disk", "its storage read back");
        is_int(same, 1, "the same manifest");
        free(known);
        b.manifest = "{\"id\": \"20260110T000000Z-iiiiii\", \"comment\": \"other\"}";
        b.storage = "elsewhere";
        is_int(odbk_catalog_backup_import(cat, &b, &known, &same, &err), 1, "another manifest of that id: known");
        is_int(same, 0, "not the same manifest");
        is_str(known, "disk", "the row's storage, not the import's");
        free(known);
        odbk_catalog_backup_get(cat, "20260110T000000Z-iiiiii", &got, &err);
        is_str(got.storage, "disk", "the row is left as it was");
        ok(!strstr(got.manifest, "other"), "its manifest too");
        odbk_backup_release(&got);
        b.manifest = NULL;
        odbk_catalog_backup_set_status(cat, "20260110T000000Z-iiiiii", ODBK_BACKUP_EXPIRED, NULL, &err);
        odbk_catalog_backup_get(cat, "20260110T000000Z-iiiiii", &got, &err);
        is_int(got.status, ODBK_BACKUP_EXPIRED, "an import keeps the row's status");
        odbk_backup_release(&got);
    }
    {
        struct odbk_audit a = {0}, *av;
        a.action = "restore";
        a.env = "prod";
        a.result = "ok";
        a.backup_id = "20260101T000000Z-aaaaaa";
        is_int(odbk_catalog_audit_add(cat, &a, &err), 0, "audit entry written");
        is_int(odbk_catalog_audit_list(cat, "prod", &av, &n, &err), 0, "audit list");
        is_int((int)n, 1, "one entry");
        ok(av[0].user && *av[0].user, "with the user");
        odbk_audit_list_free(av, n);
    }
    {
        /* one env's figures through the indexes: what states, compliance and --due read */
        struct odbk_env_summary s;
        struct odbk_audit a = {0};
        size_t count;
        time_t last;
        fill(&b, "20260104T000000Z-dddddd", "stage", "acme", 1767484800, "completed");
        b.type = ODBK_TYPE_SCHEDULED;
        odbk_catalog_backup_insert(cat, &b, &err);
        fill(&b, "20260105T000000Z-eeeeee", "stage", "acme", 1767571200, "completed");
        odbk_catalog_backup_insert(cat, &b, &err);   /* manual: the newest, but not a scheduled success */
        fill(&b, "20260105T000000Z-ffffff", "stage", "acme", 1767571200, "failed");
        b.error = "pg_dump: gone";
        odbk_catalog_backup_insert(cat, &b, &err);   /* same second as the newest completed */
        fill(&b, "20260101T000000Z-gggggg", "stage", "acme", 1767225600, "failed");
        odbk_catalog_backup_insert(cat, &b, &err);   /* older than the newest completed: not reported */
        fill(&b, "20260106T000000Z-hhhhhh", "stage", "acme", 1767657600, "in_progress");
        odbk_catalog_backup_insert(cat, &b, &err);
        is_int(odbk_catalog_env_summary(cat, "stage", &s, &err), 0, "env summary");
        is_int((int)s.completed, 2, "counts the completed backups");
        is_str(s.latest_id, "20260105T000000Z-eeeeee", "the newest completed");
        is_str(s.failed_id, "20260105T000000Z-ffffff", "the newest failure at or after it");
        is_str(s.failed_error, "pg_dump: gone", "with its error");
        is_int(s.running, 1, "a running backup is seen");
        is_int((int)s.last_scheduled_success, 1767484800, "the newest scheduled success, not the manual one");
        odbk_env_summary_release(&s);
        is_int(odbk_catalog_env_summary(cat, "none", &s, &err), 0, "an env without rows");
        ok(!s.completed && !s.latest_id && !s.failed_id && !s.running && !s.last_scheduled_success, "has no figures");
        odbk_env_summary_release(&s);
        a.action = "schedule";
        a.env = "stage";
        a.result = "failed";
        a.at = 1767484800;   /* at the success: not after it */
        odbk_catalog_audit_add(cat, &a, &err);
        a.at = 1767484900;
        odbk_catalog_audit_add(cat, &a, &err);
        a.at = 1767485000;
        odbk_catalog_audit_add(cat, &a, &err);
        a.result = "ok";
        a.at = 1767485100;
        odbk_catalog_audit_add(cat, &a, &err);
        is_int(odbk_catalog_schedule_failures(cat, "stage", 1767484800, &count, &last, &err), 0, "failures");
        is_int((int)count, 2, "the failed attempts after the success");
        is_int((int)last, 1767485000, "and the newest one");
    }
    {
        /* two backups in one second: the one inserted last is the newest, whatever its random id suffix */
        const char *envs[] = {"tie", NULL};
        struct odbk_backup_filter tf = {0};
        struct odbk_env_summary s;
        fill(&b, "20260201T000000Z-ffffff", "tie", "acme", 1769904000, "completed");
        odbk_catalog_backup_insert(cat, &b, &err);
        fill(&b, "20260201T000000Z-000000", "tie", "acme", 1769904000, "completed");
        odbk_catalog_backup_insert(cat, &b, &err);
        tf.envs = envs;
        odbk_catalog_backup_list(cat, &tf, &v, &n, &err);
        ok(n == 2 && !strcmp(v[0].id, "20260201T000000Z-000000"), "same second, one env: the row inserted last first");
        odbk_backup_list_free(v, n);
        tf.envs = NULL;
        tf.limit = 1;
        odbk_catalog_backup_list(cat, &tf, &v, &n, &err);
        ok(n == 1 && !strcmp(v[0].id, "20260201T000000Z-000000"), "same second, every env: the row inserted last first");
        odbk_backup_list_free(v, n);
        is_int(odbk_catalog_env_summary(cat, "tie", &s, &err), 0, "env summary of the tie");
        is_str(s.latest_id, "20260201T000000Z-000000", "its newest is the row inserted last");
        odbk_env_summary_release(&s);
    }
    {
        /* the env's figures follow every write of its rows, in the write's transaction (env_state) */
        struct odbk_env_summary s;
        struct odbk_env_summaries all;
        const struct odbk_env_summary *one;
        struct odbk_backup imp;
        struct odbk_audit a = {0};
        char *known = NULL;
        int same = 0;
        fill(&b, "20260301T000000Z-aaaaaa", "st", "acme", 1772323200, "completed");
        b.type = ODBK_TYPE_SCHEDULED;
        odbk_catalog_backup_insert(cat, &b, &err);
        fill(&b, "20260302T000000Z-bbbbbb", "st", "acme", 1772409600, "completed");
        b.type = ODBK_TYPE_SCHEDULED;
        odbk_catalog_backup_insert(cat, &b, &err);
        fill(&b, "20260303T000000Z-cccccc", "st", "acme", 1772496000, "completed");
        b.storage = "other";   /* another storage's row counts for the env too */
        odbk_catalog_backup_insert(cat, &b, &err);
        odbk_catalog_env_summary(cat, "st", &s, &err);
        ok(s.completed == 3 && s.latest_id && !strcmp(s.latest_id, "20260303T000000Z-cccccc") &&
               s.last_scheduled_success == 1772409600, "inserts: counted, the newest, the newest scheduled");
        odbk_env_summary_release(&s);
        is_int(odbk_catalog_backup_set_status(cat, "20260303T000000Z-cccccc", ODBK_BACKUP_FAILED, "gone", &err), 0,
               "a status change");
        odbk_catalog_env_summary(cat, "st", &s, &err);
        ok(s.completed == 2 && s.latest_id && !strcmp(s.latest_id, "20260302T000000Z-bbbbbb") && s.failed_id &&
               !strcmp(s.failed_id, "20260303T000000Z-cccccc") && s.failed_error && !strcmp(s.failed_error, "gone"),
           "the newest completed and the failure after it follow a status change");
        odbk_env_summary_release(&s);
        odbk_catalog_backup_set_status(cat, "20260302T000000Z-bbbbbb", ODBK_BACKUP_EXPIRED, NULL, &err);
        odbk_catalog_env_summary(cat, "st", &s, &err);
        ok(s.completed == 1 && !strcmp(s.latest_id, "20260301T000000Z-aaaaaa") && s.last_scheduled_success == 1772409600,
           "an expired row: no longer counted nor the newest, still the newest scheduled success");
        odbk_env_summary_release(&s);
        fill(&b, "20260301T000000Z-aaaaaa", "st2", "acme", 1772323200, "in_progress");
        is_int(odbk_catalog_backup_update(cat, &b, &err), 0, "an update that moves a row to another env");
        odbk_catalog_env_summary(cat, "st", &s, &err);
        ok(s.completed == 0 && !s.latest_id && s.failed_id, "the env it left: nothing completed, the failure kept");
        odbk_env_summary_release(&s);
        odbk_catalog_env_summary(cat, "st2", &s, &err);
        ok(s.completed == 0 && s.running, "the env it joined: running");
        odbk_env_summary_release(&s);
        /* a batch: refreshed at its end, and nothing of a rolled-back one */
        fill(&imp, "20260310T000000Z-aaaaaa", "bt", "acme", 1773100800, "completed");
        is_int(odbk_catalog_batch_begin(cat, &err), 0, "a batch");
        is_int(odbk_catalog_backup_import(cat, &imp, &known, &same, &err), 0, "an import in it");
        is_int(odbk_catalog_batch_end(cat, 0, &err), 0, "rolled back");
        odbk_catalog_env_summary(cat, "bt", &s, &err);
        ok(s.completed == 0 && !s.latest_id, "a rolled-back batch leaves no figures");
        odbk_env_summary_release(&s);
        odbk_catalog_batch_begin(cat, &err);
        odbk_catalog_backup_import(cat, &imp, &known, &same, &err);
        fill(&imp, "20260311T000000Z-aaaaaa", "bt", "acme", 1773187200, "completed");
        odbk_catalog_backup_import(cat, &imp, &known, &same, &err);
        is_int(odbk_catalog_backup_import(cat, &imp, &known, &same, &err), 1, "a known id in the batch: left as it is");
        free(known);
        known = NULL;
        /* after a known id the lookup goes first: a new id after it is still inserted, and a known one
         * still says its storage and whether its manifest is the same */
        fill(&imp, "20260309T000000Z-aaaaaa", "bt", "acme", 1773014400, "completed");
        is_int(odbk_catalog_backup_import(cat, &imp, &known, &same, &err), 0, "a new id after a known one: inserted");
        fill(&imp, "20260311T000000Z-aaaaaa", "bt", "acme", 1773187200, "completed");
        imp.storage = "elsewhere";
        is_int(odbk_catalog_backup_import(cat, &imp, &known, &same, &err), 1, "a known id after a new one");
        ok(known && !strcmp(known, "disk") && same, "its storage, its manifest the same");
        free(known);
        known = NULL;
        is_int(odbk_catalog_backup_import(cat, &imp, &known, &same, &err), 1, "a known id after a known one");
        ok(known && !strcmp(known, "disk") && same, "the same answer");
        free(known);
        known = NULL;
        is_int(odbk_catalog_batch_end(cat, 1, &err), 0, "committed");
        odbk_catalog_env_summary(cat, "bt", &s, &err);
        ok(s.completed == 3 && !strcmp(s.latest_id, "20260311T000000Z-aaaaaa"), "a committed batch's rows counted");
        odbk_env_summary_release(&s);
        /* plain inserts in a batch (PostgreSQL may send them without waiting): all there once committed; a
         * duplicate id among them fails the batch's end, and nothing of it stays */
        {
            struct odbk_audit ba = {0};
            ba.action = "create";
            ba.env = "pipe";
            is_int(odbk_catalog_batch_begin(cat, &err), 0, "a batch of plain inserts");
            fill(&imp, "20260320T000000Z-aaaaaa", "pipe", "acme", 1773964800, "completed");
            odbk_catalog_backup_insert(cat, &imp, &err);
            odbk_catalog_audit_add(cat, &ba, &err);
            fill(&imp, "20260321T000000Z-aaaaaa", "pipe", "acme", 1774051200, "completed");
            odbk_catalog_backup_insert(cat, &imp, &err);
            is_int(odbk_catalog_batch_end(cat, 1, &err), 0, "committed");
            odbk_catalog_env_summary(cat, "pipe", &s, &err);
            ok(s.completed == 2 && s.latest_id && !strcmp(s.latest_id, "20260321T000000Z-aaaaaa"), "its rows counted");
            odbk_env_summary_release(&s);
            odbk_catalog_batch_begin(cat, &err);
            fill(&imp, "20260322T000000Z-aaaaaa", "pipe", "acme", 1774137600, "completed");
            odbk_catalog_backup_insert(cat, &imp, &err);
            fill(&imp, "20260321T000000Z-aaaaaa", "other", "acme", 1774051200, "completed");
            {
                int r_ins = odbk_catalog_backup_insert(cat, &imp, &err);   /* a known id */
                int r_end = odbk_catalog_batch_end(cat, 1, &err);
                ok(r_ins < 0 || r_end < 0, "a duplicate id in a batch is refused, at once or at the batch's end");
                odbk_err_clear(&err);
            }
            odbk_catalog_backup_get(cat, "20260321T000000Z-aaaaaa", &got, &err);
            is_str(got.env, "pipe", "the known row left as it was");
            odbk_backup_release(&got);
            odbk_catalog_env_summary(cat, "other", &s, &err);
            ok(s.completed == 0, "nothing counted for the refused row");
            odbk_env_summary_release(&s);
            ok(odbk_catalog_backup_get(cat, "20260322T000000Z-aaaaaa", &got, &err) < 0,
               "the refused batch's other row is not there either (rolled back)");
            odbk_err_clear(&err);
            odbk_catalog_env_summary(cat, "pipe", &s, &err);
            ok(s.completed == 2, "its env counts its committed rows only");
            odbk_env_summary_release(&s);
        }
        /* more rows than a page of PostgreSQL's listing (5,000), many of one second: each once, in order */
        {
            const char *envs[] = {"many", NULL};
            struct odbk_backup_filter mf = {0};
            char id[40];
            int i, sorted = 1, dup = 0;
            odbk_catalog_batch_begin(cat, &err);
            for (i = 0; i < 5003; i++) {
                snprintf(id, sizeof(id), "20260401T000000Z-m%05d", i);
                fill(&imp, id, "many", "acme", 1775001600 + (i < 4000 ? 0 : i), "completed");
                imp.id = id;
                odbk_catalog_backup_insert(cat, &imp, &err);
            }
            is_int(odbk_catalog_batch_end(cat, 1, &err), 0, "5,003 rows in a batch");
            mf.envs = envs;
            mf.no_manifest = 1;
            odbk_catalog_backup_list(cat, &mf, &v, &n, &err);
            is_int((int)n, 5003, "all listed");
            for (i = 1; i < (int)n; i++) {
                if (v[i].created_at > v[i - 1].created_at ||
                    (v[i].created_at == v[i - 1].created_at && strcmp(v[i].id, v[i - 1].id) > 0))
                    sorted = 0;   /* ids grow with the insertion order: newest, then inserted last, first */
                if (!strcmp(v[i].id, v[i - 1].id))
                    dup = 1;
            }
            ok(sorted && !dup && n && !strcmp(v[0].id, "20260401T000000Z-m05002") &&
                   !strcmp(v[n - 1].id, "20260401T000000Z-m00000"), "newest first, ties by insertion, each once");
            odbk_backup_list_free(v, n);
            mf.limit = 5001;
            odbk_catalog_backup_list(cat, &mf, &v, &n, &err);
            ok(n == 5001 && !strcmp(v[5000].id, "20260401T000000Z-m00002"), "a limit past a page");
            odbk_backup_list_free(v, n);
        }
        /* failed scheduled attempts after the newest scheduled success */
        odbk_catalog_env_summary(cat, "stage", &s, &err);
        ok(s.schedule_failures == 2 && s.schedule_failed_at == 1767485000, "the failed attempts after the success");
        odbk_env_summary_release(&s);
        a.action = "schedule";
        a.env = "nobackup";
        a.result = "failed";
        a.at = 1767485000;
        odbk_catalog_audit_add(cat, &a, &err);
        odbk_catalog_env_summary(cat, "nobackup", &s, &err);
        ok(s.schedule_failures == 1 && !s.completed, "an env whose attempts all failed: its failure counted");
        odbk_env_summary_release(&s);
        /* a listing without the manifest column: the same rows, the manifest NULL */
        {
            const char *envs[] = {"bt", NULL};
            struct odbk_backup_filter mf = {0};
            mf.envs = envs;
            mf.no_manifest = 1;
            fill(&b, "20260312T000000Z-aaaaaa", "bt", "acme", 1773273600, "completed");
            b.manifest = "{\"id\": 1}";
            odbk_catalog_backup_insert(cat, &b, &err);
            odbk_catalog_backup_list(cat, &mf, &v, &n, &err);
            ok(n == 4 && !strcmp(v[0].id, "20260312T000000Z-aaaaaa") && !v[0].manifest && v[0].created_at == 1773273600 &&
                   v[0].key_id, "no_manifest: the rows without their manifest");
            odbk_backup_list_free(v, n);
            mf.no_manifest = 0;
            odbk_catalog_backup_list(cat, &mf, &v, &n, &err);
            ok(n == 4 && v[0].manifest && !strcmp(v[0].manifest, "{\"id\": 1}"), "and with it otherwise");
            odbk_backup_list_free(v, n);
        }
        /* removals: a failed one is due now; a link's file when its links expire, the later expiry winning */
        {
            struct odbk_removal *rv = NULL;
            size_t nr = 0;
            time_t now = odbk_now();
            is_int(odbk_catalog_removal_due(cat, "s3", "prod/x/f.tar.gz", "x", now + 3600, &err), 0, "a removal due later");
            odbk_catalog_removal_add(cat, "s3", "prod/y/", "y", "down", &err);
            odbk_catalog_removal_list(cat, &rv, &nr, &err);
            ok(nr == 1 && !strcmp(rv[0].prefix, "prod/y/"), "only the removal due now is listed");
            odbk_removal_list_free(rv, nr);
            odbk_catalog_removal_due(cat, "s3", "prod/x/f.tar.gz", "x", now - 10, &err);
            odbk_catalog_removal_list(cat, &rv, &nr, &err);
            ok(nr == 1, "an earlier due time does not bring a later one forward");
            odbk_removal_list_free(rv, nr);
            odbk_catalog_removal_done(cat, "s3", "prod/x/f.tar.gz", &err);
            odbk_catalog_removal_due(cat, "s3", "prod/x/f.tar.gz", "x", now - 10, &err);
            odbk_catalog_removal_list(cat, &rv, &nr, &err);
            ok(nr == 2, "once due, it is listed with the others");
            odbk_removal_list_free(rv, nr);
            odbk_catalog_removal_done(cat, "s3", "prod/x/f.tar.gz", &err);
            odbk_catalog_removal_done(cat, "s3", "prod/y/", &err);
        }
        /* all at once */
        is_int(odbk_catalog_env_summaries(cat, &all, &err), 0, "every env's figures at once");
        one = odbk_env_summaries_find(&all, "stage");
        ok(one && one->completed == 2 && one->running && !strcmp(one->latest_id, "20260105T000000Z-eeeeee"),
           "one env's figures among them");
        ok(odbk_env_summaries_find(&all, "bt") && odbk_env_summaries_find(&all, "prod") &&
               !odbk_env_summaries_find(&all, "unknown"), "found by name; an env without rows has none");
        odbk_env_summaries_release(&all);
    }
    odbk_catalog_close(cat);

    {
        /* a catalog of before env_state: the migration computes every env's figures from its rows */
        int back = raw(path, "DROP TABLE env_state; ALTER TABLE backups DROP COLUMN added_bytes; ALTER TABLE removals "
                       "DROP COLUMN due_at; DROP TABLE IF EXISTS env_locks; DROP TABLE IF EXISTS gc_due; PRAGMA user_version = 8",
                       "DROP TABLE env_state; ALTER TABLE backups DROP COLUMN added_bytes; ALTER TABLE removals "
                       "DROP COLUMN due_at; DROP TABLE IF EXISTS env_locks; DROP TABLE IF EXISTS gc_due; UPDATE schema_version SET version = 8");
        is_int(back, 0, "the catalog taken back to schema 8");
        {
            struct odbk_env_summary s;
            is_int(odbk_catalog_open(path, &cat, &err), 0, "an older catalog is migrated");
            odbk_catalog_env_summary(cat, "stage", &s, &err);
            ok(s.completed == 2 && s.latest_id && !strcmp(s.latest_id, "20260105T000000Z-eeeeee") && s.running &&
                   s.failed_id && !strcmp(s.failed_id, "20260105T000000Z-ffffff") &&
                   s.last_scheduled_success == 1767484800 && s.schedule_failures == 2,
               "its envs' figures computed from their rows");
            odbk_env_summary_release(&s);
            odbk_catalog_env_summary(cat, "nobackup", &s, &err);
            ok(s.schedule_failures == 1, "an env with failed attempts only too");
            odbk_env_summary_release(&s);
            is_int(odbk_catalog_backup_get(cat, "20260101T000000Z-aaaaaa", &got, &err), 0, "a migrated row");
            ok(got.added_bytes == got.total_size && got.total_size == 5000,
               "added_bytes of a backup of before: its size (it stored its own files only)");
            odbk_backup_release(&got);
            {   /* the storage of a failed row is due once (the runs before collected at every prune) */
                int64_t gen = 0;
                int due = -1;
                if (odbk_catalog_backup_get(cat, "20260105T000000Z-ffffff", &got, &err) == 0)
                    due = odbk_catalog_gc_due_get(cat, "stage", got.storage, &gen, &err);
                ok(due == 1 && gen == 1, "the storage of a failed backup of before is due");
                odbk_backup_release(&got);
            }
            odbk_catalog_close(cat);
        }
    }
    {
        /* collections due: a set after a collection read the generation survives its clear */
        int64_t gen = 0, gen2 = 0;
        char **due_v = NULL;
        size_t n_due = 0;
        is_int(odbk_catalog_open(path, &cat, &err), 0, "reopened for the collections due");
        is_int(odbk_catalog_gc_due_get(cat, "gcenv", "s1", &gen, &err), 0, "a pair never set is not due");
        ok(odbk_catalog_gc_due_set(cat, "gcenv", "s1", &err) == 0 && odbk_catalog_gc_due_set(cat, "gcenv", "s2", &err) == 0 &&
               odbk_catalog_gc_due_get(cat, "gcenv", "s1", &gen, &err) == 1, "set: due");
        ok(odbk_catalog_gc_due_set(cat, "gcenv", "s1", &err) == 0 &&
               odbk_catalog_gc_due_clear(cat, "gcenv", "s1", gen, &err) == 0 &&
               odbk_catalog_gc_due_get(cat, "gcenv", "s1", &gen2, &err) == 1 && gen2 == gen + 1,
           "set again after the generation was read: the clear leaves it due");
        ok(odbk_catalog_gc_due_clear(cat, "gcenv", "s1", gen2, &err) == 0 &&
               odbk_catalog_gc_due_get(cat, "gcenv", "s1", &gen, &err) == 0, "cleared with its generation: not due");
        ok(odbk_catalog_gc_due_list(cat, "gcenv", &due_v, &n_due, &err) == 0 && n_due == 1 && !strcmp(due_v[0], "s2"),
           "the env's storages due listed");
        odbk_catalog_gc_due_list_free(due_v, n_due);
        odbk_catalog_close(cat);
    }
    {
        /* env locks: a collection of packs and a backup of one env exclude each other; a dead holder does not
         * hold it forever */
        struct odbk_backup running;
        struct odbk_env_lock held;
        pid_t child;
        int status = 0;
        is_int(odbk_catalog_open(path, &cat, &err), 0, "reopened for the env locks");
        is_int(odbk_catalog_env_lock(cat, "locked", "gc", &running, &held, &err), 0, "a free env's lock is taken");
        is_int(odbk_catalog_env_lock(cat, "locked", "gc", &running, &held, &err), 1, "a held lock is refused");
        ok(held.pid == (long)getpid() && !strcmp(held.holder, "gc") && !strcmp(held.host, odbk_hostname()),
           "naming its holder");
        odbk_env_lock_release(&held);
        fill(&b, "20260401T000000Z-aaaaaa", "locked", "", 1775001600, "pending");
        is_int(odbk_catalog_backup_insert_exclusive(cat, &b, &running, &held, &err), 2,
               "a backup of a held env is refused");
        ok(held.pid == (long)getpid(), "naming the holder");
        odbk_env_lock_release(&held);
        is_int(odbk_catalog_backup_get(cat, "20260401T000000Z-aaaaaa", &got, &err), -1, "and not inserted");
        odbk_err_clear(&err);
        is_int(odbk_catalog_env_lock_beat(cat, "locked", &err), 0, "the holder's heartbeat");
        is_int(odbk_catalog_env_unlock(cat, "locked", &err), 0, "given up");
        is_int(odbk_catalog_backup_insert_exclusive(cat, &b, &running, &held, &err), 0, "then the backup starts");
        is_int(odbk_catalog_env_lock(cat, "locked", "gc", &running, &held, &err), 2,
               "and the lock is refused while it runs");
        ok(running.id && !strcmp(running.id, "20260401T000000Z-aaaaaa"), "naming the backup");
        odbk_backup_release(&running);
        is_int(odbk_catalog_env_lock_beat(cat, "locked", &err), -1, "a lock not held has no heartbeat");
        is_int(err.code, ODBK_E_TEMPFAIL, "the holder is told to stop");
        odbk_err_clear(&err);
        odbk_catalog_backup_set_status(cat, "20260401T000000Z-aaaaaa", ODBK_BACKUP_FAILED, "x", &err);
        odbk_catalog_close(cat);
        /* a holder killed with its lock: this host's dead pid frees it */
        child = fork();
        if (child == 0) {
            struct odbk_catalog *c2;
            struct odbk_err e2 = {0};
            _exit(odbk_catalog_open(path, &c2, &e2) == 0 &&
                  odbk_catalog_env_lock(c2, "locked", "gc", &running, &held, &e2) == 0 ? 0 : 1);
        }
        waitpid(child, &status, 0);
        is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0, "a child took the lock and died with it");
        odbk_catalog_open(path, &cat, &err);
        fill(&b, "20260402T000000Z-bbbbbb", "locked", "", 1775088000, "pending");
        is_int(odbk_catalog_backup_insert_exclusive(cat, &b, &running, &held, &err), 0,
               "a dead holder's lock does not stop a backup");
        odbk_catalog_backup_set_status(cat, "20260402T000000Z-bbbbbb", ODBK_BACKUP_FAILED, "x", &err);
        is_int(odbk_catalog_env_lock(cat, "locked", "gc", &running, &held, &err), 0, "nor a collection");
        odbk_catalog_env_unlock(cat, "locked", &err);
        odbk_catalog_close(cat);
        {   /* another host's lock: its heartbeat tells */
            char *sql = odbk_xasprintf("INSERT INTO env_locks VALUES ('far', 'gc', 'elsewhere', 1, '', %lld, %lld)",
                                       (long long)odbk_now(), (long long)odbk_now());
            is_int(raw(path, sql, sql), 0, "another host's lock written");
            odbk_catalog_open(path, &cat, &err);
            is_int(odbk_catalog_env_lock(cat, "far", "gc", &running, &held, &err), 1,
                   "another host's lock with a fresh heartbeat holds");
            odbk_env_lock_release(&held);
            odbk_catalog_close(cat);
            free(sql);
            sql = odbk_xasprintf("UPDATE env_locks SET heartbeat_at = %lld WHERE env = 'far'",
                                 (long long)odbk_now() - ODBK_RUN_STALE_SECONDS - 1);
            ok(raw(path, sql, sql) == 0, "its heartbeat made stale");
            odbk_catalog_open(path, &cat, &err);
            is_int(odbk_catalog_env_lock(cat, "far", "gc", &running, &held, &err), 0, "and then it is taken over");
            odbk_catalog_close(cat);
            free(sql);
        }
    }
    {
        /* a newer schema than this odbk knows is refused, not damaged */
        is_int(raw(path, "PRAGMA user_version = 99", "UPDATE schema_version SET version = 99"), 0,
               "a newer schema version written");
        is_int(odbk_catalog_open(path, &cat, &err), -1, "a catalog from a newer odbk is refused");
        ok(strstr(err.msg, "newer") != NULL, "saying so");
    }
}

/* A fresh database on the testbed's PostgreSQL for the contract: its URL, or NULL (none answers). */
static char *pg_database(char *name, size_t size)
{
    const char *host = getenv("PGHOST"), *port = getenv("PGPORT");
    char *admin, *sql;
    PGconn *c;
    PGresult *res;
    int ok_ = 0;
    if (!host || !port)
        return NULL;
    snprintf(name, size, "odbk_test_catalog_%ld", (long)getpid());
    admin = odbk_xasprintf("host=%s port=%s dbname=postgres connect_timeout=5", host, port);
    c = PQconnectdb(admin);
    free(admin);
    if (PQstatus(c) == CONNECTION_OK) {
        sql = odbk_xasprintf("CREATE DATABASE %s", name);
        res = PQexec(c, sql);
        ok_ = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok_)
            diag("cannot create %s: %s", name, PQerrorMessage(c));
        PQclear(res);
        free(sql);
    }
    PQfinish(c);
    return ok_ ? odbk_xasprintf("postgresql://%s:%s/%s", host, port, name) : NULL;
}

static void pg_drop(const char *name)
{
    char *admin = odbk_xasprintf("host=%s port=%s dbname=postgres", getenv("PGHOST"), getenv("PGPORT"));
    char *sql = odbk_xasprintf("DROP DATABASE IF EXISTS %s", name);
    PGconn *c = PQconnectdb(admin);
    if (!getenv("ODBK_TEST_KEEP"))
        PQclear(PQexec(c, sql));
    PQfinish(c);
    free(sql);
    free(admin);
}

/* A catalog URL as messages show it: no password left, whatever its place; nothing else changed. */
static void redaction(void)
{
    static const char *const cases[][2] = {
        {"postgresql://u:secret@h/db", "postgresql://u@h/db"},
        {"postgresql://u@h/db?password=secret", "postgresql://u@h/db"},
        {"postgresql://h/db?sslpassword=a&password=secret", "postgresql://h/db?sslpassword=a"},
        {"postgresql://h/db?password=s1&sslmode=require&password=s2", "postgresql://h/db?sslmode=require"},
        {"postgresql://h:5432/db?application_name=a@b", "postgresql://h:5432/db?application_name=a@b"},
        {"postgres://u:p%40ss@h:5432/db", "postgres://u@h:5432/db"},
        {"/var/lib/odbk/catalog.db", "/var/lib/odbk/catalog.db"},
    };
    size_t i;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = odbk_db_redact(cases[i][0]);
        is_str(got, cases[i][1], cases[i][1]);
        free(got);
    }
}

int main(void)
{
    char dir[] = "/tmp/odbk-test-catalog.XXXXXX";
    char name[64];
    char *path, *url;
    mkdtemp(dir);
    redaction();
    path = odbk_xasprintf("%s/sub/catalog.db", dir);
    diag("SQLite: %s", path);
    contract(path);
    {
        char *cmd = odbk_xasprintf("rm -rf '%s'", dir);
        if (system(cmd) != 0)
            diag("cannot remove %s", dir);
        free(cmd);
    }
    free(path);
    if ((url = pg_database(name, sizeof(name)))) {
        diag("PostgreSQL: %s", url);
        contract(url);
        pg_drop(name);
        free(url);
    } else {
        ok(1, "# skip no PostgreSQL reachable ($PGHOST, $PGPORT): the contract not run on PostgreSQL");
    }
    return done_testing();
}
