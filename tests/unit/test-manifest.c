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
