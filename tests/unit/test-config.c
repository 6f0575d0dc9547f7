/* test-config.c - odbk.conf parsing, errors with file:line, secrets, envs, effective policies. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "config/config.h"
#include "policy/policy.h"
#include "tap.h"

static const char *good =
    "; a comment\n"
    "[storage disk]\n"
    "type = local   ; trailing comment\n"
    "path = /var/backups/odoo\n"
    "\n"
    "[policy]\n"
    "schedule = @daily\n"
    "keep-last = 7\n"
    "timezone = Europe/Brussels\n"
    "\n"
    "[env prod]\n"
    "project = acme\n"
    "database = acme_prod\n"
    "pg = host=db1 port=5432\n"
    "storage = disk\n"
    "\n"
    "[env dev]\n"
    "data-dir = /srv/odoo\n"
    "\n"
    "[policy prod]\n"
    "schedule = 0 */6 * * *\n"
    "keep-daily = 7\n"
    "keep-within-yearly =\n";

static int parse_err(const char *text, struct odbk_err *err)
{
    struct odbk_config *cfg = NULL;
    int r = odbk_config_parse_string(text, "t.conf", &cfg, err);
    odbk_config_free(cfg);
    return r;
}

int main(void)
{
    struct odbk_config *cfg = NULL;
    struct odbk_err err = {0};
    struct odbk_env env;
    struct odbk_policy p;
    char *secret = NULL;

    is_int(odbk_config_parse_string(good, "t.conf", &cfg, &err), 0, "a good config parses");
    is_int((int)cfg->n_sections, 5, "five sections");
    is_str(odbk_config_get(odbk_config_find(cfg, "storage", "disk"), "type"), "local", "comments are stripped");
    is_int(odbk_config_get_kv(odbk_config_find(cfg, "storage", "disk"), "path")->line, 4, "keys keep their line");

    is_int(odbk_config_env(cfg, "prod", &env, &err), 0, "env prod loads");
    is_str(env.database, "acme_prod", "database");
    is_str(env.project, "acme", "project");
    is_str(env.storage, "disk", "storage");
    is_str(env.filestore, "/root/.local/share/Odoo/filestore/acme_prod", "filestore defaults under Odoo's data dir");
    odbk_env_release(&env);
    is_int(odbk_config_env(cfg, "dev", &env, &err), 0, "env dev loads");
    is_str(env.database, "dev", "database defaults to the env name");
    is_str(env.filestore, "/srv/odoo/filestore/dev", "filestore follows data-dir");
    ok(env.storage == NULL, "no storage: not configured");
    odbk_env_release(&env);
    is_int(odbk_config_env(cfg, "prd", &env, &err), -1, "unknown env refused");
    ok(strstr(err.msg, "did you mean 'prod'") != NULL, "with a did-you-mean");
    is_int(odbk_err_exit_code(&err), 78, "exit 78");

    is_int(odbk_policy_load(cfg, "prod", &p, &err), 0, "custom policy loads");
    is_str(odbk_policy_value(&p, "schedule")->source, "custom", "schedule from the custom policy");
    is_str(odbk_policy_value(&p, "keep-last")->source, "organization", "keep-last from the organization");
    is_str(odbk_policy_value(&p, "keep-within-daily")->source, "default", "keep-within-daily from the defaults");
    is_str(odbk_policy_value(&p, "keep-within-yearly")->value, "", "an empty value unsets an inherited key");
    is_int(p.retention.count[ODBK_PERIOD_LAST], 7, "keep-last 7");
    is_int(p.retention.count[ODBK_PERIOD_DAILY], 7, "keep-daily 7");
    is_str(p.timezone, "Europe/Brussels", "time zone inherited");
    ok(p.custom && p.enabled && p.has_schedule, "custom, enabled, scheduled");
    odbk_policy_release(&p);
    is_int(odbk_policy_load(cfg, "dev", &p, &err), 0, "org policy for dev");
    ok(!p.custom, "dev has no custom policy");
    odbk_policy_release(&p);
    odbk_config_free(cfg);

    is_int(parse_err("[env a]\nkey\n", &err), -1, "a line without '=' is refused");
    is_str(err.msg, "t.conf:2: expected 'key = value', got 'key'", "with file:line");
    is_int(parse_err("x = 1\n", &err), -1, "a key outside sections is refused");
    is_int(parse_err("[stroage s]\n", &err), -1, "an unknown section kind is refused");
    ok(strstr(err.msg, "did you mean 'storage'") != NULL, "with a did-you-mean");
    is_int(parse_err("[env a]\n[env a]\n", &err), -1, "a section defined twice is refused");
    is_int(parse_err("[env a]\nproject = x\nproject = y\n", &err), -1, "a key set twice is refused");
    ok(strstr(err.msg, "t.conf:3:") && strstr(err.msg, "line 2"), "naming both lines");
    is_int(parse_err("[env ../x]\n", &err), -1, "a name with '/' is refused");
    is_int(parse_err("[env]\n", &err), -1, "[env] without a name is refused");

    odbk_config_parse_string("[policy]\nkeep-daily = 7x\n[env a]\n", "p.conf", &cfg, &err);
    is_int(odbk_policy_load(cfg, "a", &p, &err), -1, "a bad count is refused");
    ok(strstr(err.msg, "p.conf:2") && strstr(err.msg, "7x"), "naming file:line and the value");
    odbk_config_free(cfg);
    odbk_config_parse_string("[policy]\nkeep-dialy = 7\n[env a]\n", "p.conf", &cfg, &err);
    is_int(odbk_policy_load(cfg, "a", &p, &err), -1, "an unknown policy key is refused");
    ok(strstr(err.msg, "did you mean 'keep-daily'") != NULL, "with a did-you-mean");
    odbk_config_free(cfg);
    odbk_config_parse_string("[policy]\ntimezone = Europe/Bruxelles\n[env a]\n", "p.conf", &cfg, &err);
    is_int(odbk_policy_load(cfg, "a", &p, &err), -1, "an unknown time zone is refused");
    odbk_config_free(cfg);
    odbk_config_parse_string("[policy]\nschedule = 61 * * * *\n[env a]\n", "p.conf", &cfg, &err);
    is_int(odbk_policy_load(cfg, "a", &p, &err), -1, "a bad schedule is refused");
    ok(strstr(err.msg, "minute") != NULL, "naming the field");
    odbk_config_free(cfg);

    /* secrets */
    {
        char dir[] = "/tmp/odbk-test-config.XXXXXX", *f;
        FILE *fp;
        mkdtemp(dir);
        f = odbk_xasprintf("%s/secret", dir);
        fp = fopen(f, "w");
        fputs("s3cr3t\n", fp);
        fclose(fp);
        chmod(f, 0600);
        {
            char *text = odbk_xasprintf("[storage s]\nsecret-access-key-file = %s\n", f);
            odbk_config_parse_string(text, "s.conf", &cfg, &err);
            free(text);
        }
        is_int(odbk_config_secret(odbk_config_find(cfg, "storage", "s"), "secret-access-key", NULL, &secret, &err), 0,
               "a private secret file is read");
        is_str(secret, "s3cr3t", "without its newline");
        free(secret);
        chmod(f, 0644);
        is_int(odbk_config_secret(odbk_config_find(cfg, "storage", "s"), "secret-access-key", NULL, &secret, &err), -1,
               "a secret file others can read is refused");
        is_int(odbk_err_exit_code(&err), 77, "exit 77");
        odbk_config_free(cfg);
        setenv("ODBK_TEST_SECRET", "fromenv", 1);
        odbk_config_parse_string("[storage s]\ntype = s3\n", "s.conf", &cfg, &err);
        is_int(odbk_config_secret(odbk_config_find(cfg, "storage", "s"), "secret-access-key", "ODBK_TEST_SECRET",
                                  &secret, &err), 0, "a secret from the environment");
        is_str(secret, "fromenv", "its value");
        free(secret);
        odbk_config_free(cfg);
        unlink(f);
        rmdir(dir);
        free(f);
    }
    {
        /* a NUL byte must not end the file silently: the sections after it would vanish */
        static const char nul[] = "[storage disk]\ntype = local\npath = /x\0junk\n[env prod]\ndatabase = d\n";
        struct odbk_config *c = NULL;
        is_int(odbk_config_parse_text(nul, sizeof nul - 1, "n.conf", &c, &err), -1, "a NUL byte is refused");
        is_int((int)err.code, ODBK_E_CONFIG, "as a configuration error");
        ok(strstr(err.msg, "n.conf:3:") && strstr(err.msg, "NUL"), "naming file:line and the NUL byte");
        ok(c == NULL, "no half-parsed config");
        odbk_config_free(c);
    }
    {
        /* the numbers of driver keys: odbk_config_uint, _seconds, _size */
        static const char text[] = "[storage s]\ntype = x\nn = 7\nneg = -1\nbig = 101\njunk = 3x\nt = 90s\n"
                                   "tt = 90\nts = 9m\nsz = 8MiB\nsmall = 1M\nbad = 5Q\n";
        struct odbk_config *c = NULL;
        const struct odbk_config_section *sec;
        unsigned u = 0;
        long sec_v = 0;
        uint64_t size = 0;
        is_int(odbk_config_parse_string(text, "n.conf", &c, &err), 0, "numbers: parses");
        sec = odbk_config_find(c, "storage", "s");
        is_int(odbk_config_uint(sec, "n", 3, 0, 100, &u, &err), 0, "a number in range");
        is_int((int)u, 7, "its value");
        is_int(odbk_config_uint(sec, "absent", 3, 0, 100, &u, &err), 0, "an absent key");
        is_int((int)u, 3, "takes the default");
        is_int(odbk_config_uint(sec, "neg", 3, 0, 100, &u, &err), -1, "a negative number is refused");
        is_int(odbk_config_uint(sec, "big", 3, 0, 100, &u, &err), -1, "one above the range too");
        ok(strstr(err.msg, "n.conf:") && strstr(err.msg, "'101' is not a number from 0 to 100"),
           "the message names the file, the value and the range");
        is_int(odbk_config_uint(sec, "junk", 3, 0, 100, &u, &err), -1, "trailing junk is refused");
        is_int(odbk_config_seconds(sec, "t", 60, 1, 3600, &sec_v, &err), 0, "seconds with an s");
        is_int((int)sec_v, 90, "90");
        is_int(odbk_config_seconds(sec, "tt", 60, 1, 3600, &sec_v, &err), 0, "seconds without");
        is_int(odbk_config_seconds(sec, "ts", 60, 1, 3600, &sec_v, &err), -1, "minutes are not seconds");
        ok(strstr(err.msg, "is not a number of seconds from 1 to 3600") != NULL, "and the message says seconds");
        is_int(odbk_config_size(sec, "sz", 0, 5u << 20, 5ull << 30, &size, &err), 0, "a size");
        ok(size == 8u << 20, "8 MiB");
        is_int(odbk_config_size(sec, "small", 0, 5u << 20, 5ull << 30, &size, &err), -1, "a size below the range");
        ok(strstr(err.msg, "'1M' is not a size from 5MiB to 5GiB") != NULL, "the range in binary units");
        is_int(odbk_config_size(sec, "bad", 0, 0, 5ull << 30, &size, &err), -1, "an unknown unit");
        odbk_config_free(c);
    }
    {
        /* db-owner and filestore-owner: their form is the config's to check, their existence the restore's */
        struct odbk_config *c = NULL;
        is_int(odbk_config_parse_string("[env a]\ndb-owner = odoo\nfilestore-owner = odoo:www-data\n"
                                        "[env b]\ndb-owner =\n[env c]\nfilestore-owner = odoo:\n"
                                        "[env d]\ndb-owner = " "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr\n"
                                        "[env e]\nfilestore-owner = no-such-user-anywhere\n[env f]\ndb_owner = x\n",
                                        "o.conf", &c, &err), 0, "owner keys parse");
        is_int(odbk_config_env(c, "a", &env, &err), 0, "env a: both keys");
        is_str(env.db_owner, "odoo", "db-owner");
        is_str(env.filestore_owner, "odoo:www-data", "filestore-owner");
        odbk_env_release(&env);
        is_int(odbk_config_env(c, "b", &env, &err), 0, "an empty db-owner is unset, as every env key");
        ok(!env.db_owner && !env.filestore_owner, "neither set");
        odbk_env_release(&env);
        ok(odbk_config_env(c, "c", &env, &err) < 0 && err.code == ODBK_E_CONFIG &&
               strstr(err.msg, "o.conf:7: [env c] filestore-owner:") && strstr(err.msg, "no group"),
           "a filestore-owner without its group after ':': 78 at its line");
        ok(odbk_config_env(c, "d", &env, &err) < 0 && strstr(err.msg, "o.conf:9: [env d] db-owner:") &&
               strstr(err.msg, "1 to 63 bytes"), "a 64-byte role name: 78 (PostgreSQL would cut it to another)");
        is_int(odbk_config_env(c, "e", &env, &err), 0, "a user this host lacks passes the config (no lookup)");
        odbk_env_release(&env);
        ok(odbk_config_env(c, "f", &env, &err) < 0 && strstr(err.msg, "unknown key 'db_owner'") &&
               strstr(err.msg, "did you mean 'db-owner'"), "db_owner: unknown key, did you mean db-owner");
        odbk_config_free(c);
    }
    return done_testing();
}
