/* test-record.c - the backup record's two mappings: record -> catalog row -> record and record -> manifest
 * -> record keep every field; a name a row or a manifest holds that this version does not know is an error;
 * a manifest odbk wrote reads and prints back byte for byte. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/backup.h"
#include "catalog/catalog.h"
#include "common/util.h"
#include "tap.h"

#define SHA "8616d6e6ad1d2a4dba146040f5f3f12c10f3513ec3a81efe429f34363f53e15c"

static void fill(struct odbk_backup *b, const char *id)
{
    memset(b, 0, sizeof(*b));
    b->id = (char *)id;
    b->uuid = "0dfd50a5-d79e-4885-9764-c58c09bf2293";
    b->env = "prod";
    b->project = "acme";
    b->database = "acme_prod";
    b->storage = "disk";
    b->type = ODBK_TYPE_PRE_UPGRADE;
    b->format = ODBK_FORMAT_ZIP;
    b->compression = "zip";
    b->status = ODBK_BACKUP_UPLOADING;
    b->verified = 1;
    b->created_at = 1767323045;
    b->finished_at = 1767323050;
    b->db_size = 1234;
    b->fs_size = 0;
    b->total_size = 2000;
    b->has_filestore = 1;
    b->comment = "before \"upgrade\"";
    b->retention = ODBK_TIER_MONTHLY;
    b->error = "disk full";
    b->host = "vm";
    b->pid = 4242;
    b->heartbeat_at = 1767323049;
    b->odoo_version = "17.0";
    b->pg_version = "15.18";
    b->manifest = "{}";
}

/* Every field of a and b, named by what. */
static void same(const struct odbk_backup *a, const struct odbk_backup *b, const char *what)
{
    int eq = !strcmp(a->id, b->id) && !strcmp(a->uuid, b->uuid) && !strcmp(a->env, b->env) &&
             !strcmp(a->project, b->project) && !strcmp(a->database, b->database) &&
             !strcmp(a->storage, b->storage) && a->type == b->type && a->format == b->format &&
             !strcmp(a->compression, b->compression) && a->status == b->status && a->verified == b->verified &&
             a->created_at == b->created_at && a->finished_at == b->finished_at && a->db_size == b->db_size &&
             a->fs_size == b->fs_size && a->total_size == b->total_size && a->has_filestore == b->has_filestore &&
             !strcmp(a->comment, b->comment) && a->retention == b->retention && !strcmp(a->error, b->error) &&
             !strcmp(a->host, b->host) && a->pid == b->pid && a->heartbeat_at == b->heartbeat_at &&
             !strcmp(a->odoo_version, b->odoo_version) && !strcmp(a->pg_version, b->pg_version) &&
             !strcmp(a->manifest, b->manifest);
    ok(eq, what);
}

/* s with its first `from` made `to` (malloc'd). */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    if (!p)
        return odbk_xstrdup(s);
    return odbk_xasprintf("%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
}

static void sql(const char *path, const char *stmt)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_exec(db, stmt, NULL, NULL, NULL) != SQLITE_OK)
        diag("sql: %s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

static void test_row(void)
{
    char dir[] = "/tmp/odbk-test-record.XXXXXX";
    char *path;
    struct odbk_catalog *cat;
    struct odbk_err err = {0};
    struct odbk_backup b, got;
    struct odbk_backup_filter f = {0};
    struct odbk_backup *v;
    size_t n;
    int i, all = 1;
    if (!mkdtemp(dir))
        return;
    path = odbk_xasprintf("%s/catalog.db", dir);
    is_int(odbk_catalog_open(path, &cat, &err), 0, "catalog opened");
    fill(&b, "20260102T030405Z-1a2b3c");
    is_int(odbk_catalog_backup_insert(cat, &b, &err), 0, "a record in every field goes in");
    is_int(odbk_catalog_backup_get(cat, b.id, &got, &err), 0, "and comes back");
    same(&b, &got, "record -> row -> record: every field the same");
    odbk_backup_release(&got);

    /* every value of each enum, through the row */
    for (i = 0; odbk_vocab_name(&odbk_vocab_status, i); i++) {
        char id[40];
        snprintf(id, sizeof(id), "20260103T000000Z-00000%d", i);
        fill(&b, id);
        b.status = (enum odbk_backup_status)i;
        b.type = (enum odbk_backup_type)(i % 5);
        b.format = (enum odbk_backup_format)(i % 3);
        b.retention = (enum odbk_retention_tier)(i % 6);
        if (odbk_catalog_backup_insert(cat, &b, &err) < 0 || odbk_catalog_backup_get(cat, id, &got, &err) < 0) {
            all = 0;
            continue;
        }
        all &= got.status == b.status && got.type == b.type && got.format == b.format && got.retention == b.retention;
        odbk_backup_release(&got);
    }
    ok(all, "each status, type, format and tier survives the row");
    f.statuses = ODBK_ONLY(ODBK_BACKUP_FAILED) | ODBK_ONLY(ODBK_BACKUP_EXPIRED);
    f.types = ODBK_ONLY(ODBK_TYPE_MANUAL) | ODBK_ONLY(ODBK_TYPE_PRE_DESTROY);
    is_int(odbk_catalog_backup_list(cat, &f, &v, &n, &err), 0, "a filter of two statuses and two types");
    ok(n == 2 && v[0].status == ODBK_BACKUP_EXPIRED && v[1].status == ODBK_BACKUP_FAILED,
       "selects the rows of those (failed manual, expired pre-destroy)");
    odbk_backup_list_free(v, n);

    /* the names of a row as they are stored: what old catalogs hold, what older odbk read */
    {
        sqlite3 *db;
        sqlite3_stmt *st;
        char got_names[128] = "";
        if (sqlite3_open(path, &db) == SQLITE_OK &&
            sqlite3_prepare_v2(db, "SELECT type || ',' || format || ',' || status || ',' || retention FROM backups "
                                   "WHERE id = '20260102T030405Z-1a2b3c'", -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                snprintf(got_names, sizeof(got_names), "%s", (const char *)sqlite3_column_text(st, 0));
            sqlite3_finalize(st);
        }
        sqlite3_close(db);
        is_str(got_names, "pre-upgrade,zip,uploading,monthly", "the row holds the names");
    }
    sql(path, "UPDATE backups SET retention = '' WHERE id = '20260103T000000Z-000000'");
    is_int(odbk_catalog_backup_get(cat, "20260103T000000Z-000000", &got, &err), 0, "a row without a tier");
    is_int((int)got.retention, ODBK_TIER_NONE, "is ODBK_TIER_NONE");
    odbk_backup_release(&got);

    sql(path, "UPDATE backups SET status = 'archived' WHERE id = '20260103T000000Z-000001'");
    is_int(odbk_catalog_backup_get(cat, "20260103T000000Z-000001", &got, &err), -1, "an unknown status is refused");
    ok(err.code == ODBK_E_DATA && strstr(err.msg, "backup '20260103T000000Z-000001' in the catalog") &&
           strstr(err.msg, "unknown state 'archived'"),
       "ODBK_E_DATA naming the backup and the name");
    is_int(odbk_catalog_backup_list(cat, NULL, &v, &n, &err), -1, "the listing says so too");
    sql(path, "UPDATE backups SET status = 'failed', type = 'nightly' WHERE id = '20260103T000000Z-000001'");
    odbk_err_clear(&err);
    ok(odbk_catalog_backup_get(cat, "20260103T000000Z-000001", &got, &err) == -1 && strstr(err.msg, "'nightly'"),
       "an unknown type is refused");
    sql(path, "UPDATE backups SET type = 'manual', format = 'tar' WHERE id = '20260103T000000Z-000001'");
    ok(odbk_catalog_backup_get(cat, "20260103T000000Z-000001", &got, &err) == -1 && strstr(err.msg, "'tar'"),
       "an unknown format is refused");
    sql(path, "UPDATE backups SET format = 'odbk', retention = 'forever' WHERE id = '20260103T000000Z-000001'");
    ok(odbk_catalog_backup_get(cat, "20260103T000000Z-000001", &got, &err) == -1 && strstr(err.msg, "'forever'"),
       "an unknown tier is refused");
    odbk_catalog_close(cat);
    unlink(path);
    free(path);
    path = odbk_xasprintf("%s/catalog.db-wal", dir);
    unlink(path);
    free(path);
    path = odbk_xasprintf("%s/catalog.db-shm", dir);
    unlink(path);
    free(path);
    rmdir(dir);
}

static void test_manifest(void)
{
    struct odbk_backup b, back;
    struct odbk_manifest m = {0}, parsed;
    struct odbk_err err = {0};
    char *json, *bad;
    fill(&b, "20260102T030405Z-1a2b3c");
    b.format = ODBK_FORMAT_ODBK;
    b.compression = "gzip";
    b.status = ODBK_BACKUP_COMPLETED;
    b.verified = 0;
    b.error = NULL;
    b.pid = 0;
    b.heartbeat_at = 0;
    odbk_backup_to_manifest(&b, &m);
    m.pg_server_version = b.pg_version;
    m.odoo_version = b.odoo_version;
    odbk_manifest_add_file(&m, "backup-x-database.sql.gz", "database", 1234, SHA, "gzip", 5000);
    odbk_manifest_add_file(&m, "backup-x-filestore.tar.gz", "filestore", 99, SHA, "gzip", 0);
    json = odbk_manifest_to_json(&m);
    ok(strstr(json, "\"type\":\t\"pre-upgrade\",\n") && strstr(json, "\"format\":\t\"odbk\",\n") &&
           strstr(json, "\"retention\":\t\"monthly\",\n"),
       "the manifest holds the names");
    is_int(odbk_manifest_parse(json, "m.json", &parsed, &err), 0, "it parses");
    odbk_backup_from_manifest(&parsed, odbk_xstrdup(json), "disk", &back);
    b.db_size = 1234;
    b.fs_size = 99;
    b.total_size = 1234 + 99 + strlen(json);
    b.manifest = json;
    back.heartbeat_at = 0;
    if (!back.error)
        back.error = odbk_xstrdup("");
    b.error = "";
    same(&b, &back, "record -> manifest -> record: every field the manifest carries the same");
    odbk_backup_release(&back);
    odbk_manifest_release(&parsed);

    bad = replace(json, "\"type\":\t\"pre-upgrade\"", "\"type\":\t\"evil\"");
    ok(odbk_manifest_parse(bad, "m.json", &parsed, &err) == -1 && err.code == ODBK_E_DATA &&
           strstr(err.msg, "'m.json': unknown type 'evil'"),
       "an unknown type is refused, naming the manifest");
    free(bad);
    bad = replace(json, "\"format\":\t\"odbk\"", "\"format\":\t\"tarball\"");
    ok(odbk_manifest_parse(bad, "m.json", &parsed, &err) == -1 && strstr(err.msg, "unknown format 'tarball'"),
       "an unknown format is refused");
    free(bad);
    bad = replace(json, "\"retention\":\t\"monthly\"", "\"retention\":\t\"forever\"");
    ok(odbk_manifest_parse(bad, "m.json", &parsed, &err) == -1 && strstr(err.msg, "unknown retention tier 'forever'"),
       "an unknown tier is refused");
    free(bad);
    bad = replace(json, "\"type\":\t\"pre-upgrade\",\n", "");
    ok(odbk_manifest_parse(bad, "m.json", &parsed, &err) == -1 && strstr(err.msg, "unknown type ''"),
       "a manifest without a type is refused");
    free(bad);
    bad = replace(json, "\"retention\":\t\"monthly\",\n", "");
    ok(odbk_manifest_parse(bad, "m.json", &parsed, &err) == 0 && parsed.retention == ODBK_TIER_NONE,
       "one without a retention has no tier");
    odbk_manifest_release(&parsed);
    free(bad);
    free(json);
    free(m.files[0].name), free(m.files[0].role), free(m.files[0].sha256), free(m.files[0].compression);
    free(m.files[1].name), free(m.files[1].role), free(m.files[1].sha256), free(m.files[1].compression);
}

/* A manifest odbk writes reads and prints back byte for byte (one printed from each manifest of the fuzz
 * corpus, which older odbk wrote). */
static void test_stored(const char *file)
{
    char *path = odbk_xasprintf("tests/fuzz/corpus/manifest/%s", file), *json = NULL, *first = NULL, *again = NULL,
         desc[128];
    struct odbk_manifest m;
    struct odbk_err err = {0};
    if (odbk_read_small_file(path, 1 << 20, &json, &err) == 0 && odbk_manifest_parse(json, path, &m, &err) == 0) {
        first = odbk_manifest_to_json(&m);
        odbk_manifest_release(&m);
        if (odbk_manifest_parse(first, path, &m, &err) == 0) {
            again = odbk_manifest_to_json(&m);
            odbk_manifest_release(&m);
        }
    }
    snprintf(desc, sizeof(desc), "%s: what odbk writes of it prints back byte for byte", file);
    ok(first && again && !strcmp(first, again), desc);
    free(again);
    free(first);
    free(json);
    free(path);
}

int main(void)
{
    test_row();
    test_manifest();
    test_stored("odbk-backup.json");
    test_stored("odbk-zip-backup.json");
    return done_testing();
}
