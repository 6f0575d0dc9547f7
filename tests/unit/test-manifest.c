/* test-manifest.c - the backup manifest: round trip, Odoo's keys, refusal of foreign or unsafe input. */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/util.h"
#include "odoo/manifest.h"
#include "odoo/odoo.h"
#include "tap.h"

int main(void)
{
    struct odbk_manifest m = {0}, back;
    struct odbk_err err = {0};
    char *json, *odoo;
    m.version = ODBK_MANIFEST_VERSION;
    m.id = "20260102T030405Z-1a2b3c";
    m.uuid = "0dfd50a5-d79e-4885-9764-c58c09bf2293";
    m.env = "prod";
    m.project = "acme";
    m.database = "acme_prod";
    m.type = ODBK_TYPE_MANUAL;
    m.format = ODBK_FORMAT_ODBK;
    m.comment = "before \"upgrade\"";
    m.created_at = 1767323045;
    m.finished_at = 1767323050;
    m.odoo_version = "17.0";
    m.odoo_major = "17.0";
    m.odoo_pg_version = "15.0";
    m.modules_json = "{\"base\":\"17.0.1.3\"}";
    odbk_manifest_add_file(&m, "backup-x-database.sql.gz", "database", 1234, 
                           "8616d6e6ad1d2a4dba146040f5f3f12c10f3513ec3a81efe429f34363f53e15c", "gzip", 5000);
    json = odbk_manifest_to_json(&m);
    ok(strstr(json, "\"created_at\":\t\"2026-01-02T03:04:05Z\"") != NULL, "times are RFC 3339 UTC");
    ok(strstr(json, "\"odoo_dump\":\t\"1\"") != NULL, "Odoo's odoo_dump key");
    is_int(odbk_manifest_parse(json, "m.json", &back, &err), 0, "it parses back");
    is_str(back.id, m.id, "id");
    is_str(back.comment, m.comment, "a comment with quotes survives");
    is_int((int)back.created_at, (int)m.created_at, "created_at");
    is_int((int)back.n_files, 1, "one file");
    is_int((int)back.files[0].size, 1234, "its size");
    is_int((int)back.files[0].raw_size, 5000, "its raw size");
    is_str(odbk_manifest_file_by_role(&back, "database")->sha256, m.files[0].sha256, "found by role");
    is_str(back.modules_json, "{\"base\":\"17.0.1.3\"}", "modules");
    odbk_manifest_release(&back);
    odoo = odbk_manifest_odoo_json(&m);
    ok(strstr(odoo, "\"db_name\":\t\"acme_prod\"") && !strstr(odoo, "odbk_manifest"), "Odoo's manifest.json has only Odoo's keys");
    free(odoo);
    {
        /* odoo.release.version_info, as dump_db_manifest writes it */
        static const struct {
            const char *series, *want;
        } vi[] = {
            {"17.0", "[17,0,0,\"final\",0,\"\"]"},
            {"saas~17.2", "[\"saas~17\",2,0,\"final\",0,\"\"]"},
            {"16.0", "[16,0,0,\"final\",0,\"\"]"},
            {"", NULL},
            {"17", NULL},
            {"x.0", NULL},
            {"17.0x", NULL},
        };
        size_t i;
        int all = 1;
        struct odbk_manifest mv = m;
        mv.modules_json = "{\"base\":\"17.0.1.3\",\"web\":null}";
        for (i = 0; i < sizeof(vi) / sizeof(vi[0]); i++) {
            char *got;
            mv.odoo_version = (char *)vi[i].series;
            got = odbk_manifest_odoo_json(&mv);
            {
                cJSON *o = cJSON_Parse(got), *v = cJSON_GetObjectItemCaseSensitive(o, "version_info");
                char *u = v ? cJSON_PrintUnformatted(v) : NULL;
                if (vi[i].want ? !u || strcmp(u, vi[i].want) : u != NULL) {
                    printf("# %s: got %s\n", vi[i].series, u ? u : "none");
                    all = 0;
                }
                free(u);
                if (i == 0 && !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
                                  cJSON_GetObjectItemCaseSensitive(o, "modules"), "web")))
                    all = 0;
                cJSON_Delete(o);
            }
            free(got);
        }
        ok(all, "version_info from the series (none for a series that is not one); a null module version stays null");
    }
    ok(!strstr(json, "key_id"), "no key_id for a backup that is not encrypted");
    free(json);
    m.key_id = "beee46e3414a3235";
    json = odbk_manifest_to_json(&m);
    is_int(odbk_manifest_parse(json, "m.json", &back, &err), 0, "a manifest with a key id parses");
    is_str(back.key_id, "beee46e3414a3235", "the key id survives");
    odbk_manifest_release(&back);
    free(json);
    m.key_id = NULL;
    is_int(odbk_manifest_parse("{\"odbk_manifest\": 1, \"id\": \"a\", \"env\": \"b\", \"key_id\": \"../x\"}", "x.json",
                               &back, &err), -1, "a key id that is not 16 hex digits is refused");

    is_int(odbk_manifest_parse("{\"odoo_dump\": \"1\"}", "x.json", &back, &err), -1, "Odoo's own manifest is not an odbk manifest");
    is_int(odbk_err_exit_code(&err), 65, "exit 65");
    is_int(odbk_manifest_parse("not json", "x.json", &back, &err), -1, "garbage is refused");
    is_int(odbk_manifest_parse("{\"odbk_manifest\": 99, \"id\": \"a\", \"env\": \"b\"}", "x.json", &back, &err), -1,
           "a newer format is refused");
    is_int(odbk_manifest_parse("{\"odbk_manifest\": 1, \"id\": \"../../etc\", \"env\": \"b\"}", "x.json", &back, &err),
           -1, "an unsafe id is refused");
    is_int(odbk_manifest_parse("{\"odbk_manifest\": 1, \"id\": \"a\", \"env\": \"b\", \"files\": [{\"name\": \"../x\", "
                               "\"size\": 1, \"sha256\": \"8616d6e6ad1d2a4dba146040f5f3f12c10f3513ec3a81efe429f34363f53e15c\"}]}",
                               "x.json", &back, &err),
           -1, "an unsafe file name is refused");
    {
        char *s = odbk_odoo_series("17.0.1.3");
        is_str(s, "17.0", "series of 17.0.1.3");
        free(s);
        s = odbk_odoo_series("saas~17.2.1.0");
        is_str(s, "saas~17.2", "series of saas~17.2.1.0");
        free(s);
    }
    {
        /* version 2: the incremental filestore's keys */
        static const char sha[] = "8616d6e6ad1d2a4dba146040f5f3f12c10f3513ec3a81efe429f34363f53e15c";
        struct odbk_manifest v2 = m, b2;
        char *j;
        v2.packs = NULL;
        v2.n_packs = 0;
        v2.filestore_mode = ODBK_FILESTORE_INCREMENTAL;
        v2.parent = "20260101T030405Z-0a0b0c";
        v2.added_bytes = 4242;
        odbk_manifest_add_pack(&v2, "20260102T030405Z-1a2b3c-000002.tar.gz", 20, sha);
        odbk_manifest_add_pack(&v2, "20260101T030405Z-0a0b0c-000001.tar.gz", 10, sha);
        odbk_manifest_add_pack(&v2, "20260102T030405Z-1a2b3c-000002.tar.gz", 20, sha);
        j = odbk_manifest_to_json(&v2);
        ok(strstr(j, "\"odbk_manifest\":\t2") != NULL, "an incremental backup's manifest is version 2");
        is_int(odbk_manifest_parse(j, "m2.json", &b2, &err), 0, "it parses back");
        is_int(b2.filestore_mode, ODBK_FILESTORE_INCREMENTAL, "filestore_mode");
        is_str(b2.parent, v2.parent, "parent");
        ok(b2.added_bytes == 4242 && b2.has_added_bytes, "added_bytes");
        is_int((int)b2.n_packs, 2, "two packs: the duplicate kept once");
        is_str(b2.packs[0].name, "20260101T030405Z-0a0b0c-000001.tar.gz", "sorted by name");
        ok(b2.packs[1].size == 20 && !strcmp(b2.packs[1].sha256, sha), "a pack's size and sha256");
        ok(odbk_manifest_pack_find(&b2, "20260102T030405Z-1a2b3c-000002.tar.gz") == &b2.packs[1] &&
               !odbk_manifest_pack_find(&b2, "20260102T030405Z-1a2b3c-000003.tar.gz"), "a pack found by name");
        odbk_manifest_release(&b2);
        free(j);
        {
            size_t i;
            for (i = 0; i < v2.n_packs; i++)
                free(v2.packs[i].name);
            free(v2.packs);
        }
        /* a full backup stays version 1, which every odbk reads; a version 1 manifest reads as full */
        j = odbk_manifest_to_json(&m);
        ok(strstr(j, "\"odbk_manifest\":\t1") && !strstr(j, "packs") && !strstr(j, "filestore_mode"),
           "a full backup's manifest is version 1, without the new keys");
        is_int(odbk_manifest_parse(j, "m1.json", &b2, &err), 0, "version 1 reads");
        ok(b2.filestore_mode == ODBK_FILESTORE_FULL && b2.n_packs == 0 && !b2.has_added_bytes && !*b2.parent,
           "as a full backup without packs");
        odbk_manifest_release(&b2);
        free(j);
    }
    {
        /* hostile version 2 values, each refused */
        static const struct {
            const char *keys, *why;
        } h[] = {
            {"\"filestore_mode\": \"diff\"", "an unknown filestore_mode"},
            {"\"filestore_mode\": 1", "a filestore_mode that is not a string"},
            {"\"parent\": \"../x\"", "a parent that is not an id"},
            {"\"parent\": 5", "a parent that is not a string"},
            {"\"added_bytes\": -1", "a negative added_bytes"},
            {"\"added_bytes\": 1.5", "a fractional added_bytes"},
            {"\"added_bytes\": 1e300", "a huge added_bytes"},
            {"\"packs\": {}", "packs that are not a list"},
            {"\"filestore_mode\": \"full\", \"packs\": [{\"name\": \"20260102T030405Z-1a2b3c-000001.tar.gz\", "
             "\"size\": 1, \"sha256\": \"%s\"}]", "packs in a full backup"},
            {"\"filestore_mode\": \"incremental\", \"packs\": [{\"name\": \"../../x\", \"size\": 1, \"sha256\": \"%s\"}]",
             "a pack name that is a path"},
            {"\"filestore_mode\": \"incremental\", \"packs\": [{\"name\": \"20260102T030405Z-1a2b3c-000000.tar.gz\", "
             "\"size\": 1, \"sha256\": \"%s\"}]", "a pack number 0"},
            {"\"filestore_mode\": \"incremental\", \"packs\": [{\"name\": \"20260102T030405Z-1a2b3c-000001.tar.gz\", "
             "\"size\": -1, \"sha256\": \"%s\"}]", "a negative pack size"},
            {"\"filestore_mode\": \"incremental\", \"packs\": [{\"name\": \"20260102T030405Z-1a2b3c-000001.tar.gz\", "
             "\"size\": 1125899906842625, \"sha256\": \"%s\"}]", "a pack size over 2^50"},
            {"\"filestore_mode\": \"incremental\", \"packs\": [{\"name\": \"20260102T030405Z-1a2b3c-000001.tar.gz\", "
             "\"size\": 1, \"sha256\": \"abc\"}]", "a bad pack sha256"},
            {"\"filestore_mode\": \"incremental\", \"packs\": [{\"name\": \"20260102T030405Z-1a2b3c-000001.tar.gz\", "
             "\"size\": 1}]", "a pack without sha256"},
            {"\"filestore_mode\": \"incremental\", \"packs\": [{\"name\": \"20260102T030405Z-1a2b3c-000001.tar.gz\", "
             "\"size\": 1, \"sha256\": \"%s\"}, {\"name\": \"20260102T030405Z-1a2b3c-000001.tar.gz\", \"size\": 1, "
             "\"sha256\": \"%s\"}]", "a pack listed twice"},
            {"\"filestore_mode\": \"incremental\", \"packs\": [{\"name\": \"20260102T030405Z-1a2b3c-000002.tar.gz\", "
             "\"size\": 1, \"sha256\": \"%s\"}, {\"name\": \"20260102T030405Z-1a2b3c-000001.tar.gz\", \"size\": 1, "
             "\"sha256\": \"%s\"}]", "packs out of order"},
            {"\"filestore_mode\": \"incremental\", \"packs\": [\"20260102T030405Z-1a2b3c-000001.tar.gz\"]",
             "a pack that is not an object"},
        };
        static const char sha[] = "8616d6e6ad1d2a4dba146040f5f3f12c10f3513ec3a81efe429f34363f53e15c";
        size_t i;
        int all = 1;
        for (i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
            char keys[1024], *doc;
            struct odbk_err e = {0};
            snprintf(keys, sizeof(keys), h[i].keys, sha, sha);
            doc = odbk_xasprintf("{\"odbk_manifest\": 2, \"id\": \"20260102T030405Z-1a2b3c\", \"env\": \"b\", "
                                 "\"type\": \"manual\", \"format\": \"odbk\", %s}", keys);
            if (odbk_manifest_parse(doc, "x.json", &back, &e) != -1 || e.code != ODBK_E_DATA || !strstr(e.msg, "x.json")) {
                printf("# %s: accepted or wrong error '%s'\n", h[i].why, e.msg);
                all = 0;
            }
            free(doc);
        }
        ok(all, "every hostile version 2 value is refused (ODBK_E_DATA naming the manifest)");
        ok(odbk_manifest_parse("{\"odbk_manifest\": 2, \"id\": \"20260102T030405Z-1a2b3c\", \"env\": \"b\", "
                               "\"type\": \"manual\", \"format\": \"odbk\", \"filestore_mode\": \"incremental\", \"parent\": \"\", \"added_bytes\": 0, \"packs\": []}",
                               "x.json", &back, &err) == 0, "an incremental manifest without packs reads");
        odbk_manifest_release(&back);
        is_int(odbk_manifest_parse("{\"odbk_manifest\": 3, \"id\": \"a\", \"env\": \"b\"}", "x.json", &back, &err), -1,
               "version 3 is refused");
    }
    {
        size_t i;
        for (i = 0; i < m.n_files; i++) {
            free(m.files[i].name);
            free(m.files[i].role);
            free(m.files[i].sha256);
            free(m.files[i].compression);
        }
    }
    return done_testing();
}
