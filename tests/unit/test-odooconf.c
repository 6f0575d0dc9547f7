/* test-odooconf.c - odoo.conf parsing: [options] only, False/None as unset, no inline comments, precedence of
 * the odbk env's own keys, and hostile files (NUL bytes, long lines, bad names, relative data_dir). */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "config/config.h"
#include "odoo/odooconf.h"
#include "tap.h"

static int parse(const char *text, struct odbk_odooconf *c, struct odbk_err *err)
{
    memset(err, 0, sizeof(*err));
    return odbk_odooconf_parse_text(text, strlen(text), "odoo.conf", c, err);
}

int main(void)
{
    struct odbk_odooconf c;
    struct odbk_err err = {0};
    struct odbk_config *cfg = NULL;
    struct odbk_env env;
    char *big, *path;
    static const char nul[] = "[options]\ndb_host = a\0b\n";
    FILE *f;

    ok(parse("; written by odoo -s\n[options]\n# a comment\nADDONS_PATH = /opt/odoo/addons,\n  /opt/custom\n"
             "admin_passwd = False\ndb_host = db.example\ndb_port: 5433\ndb_user = odoo\n"
             "db_password = p;w#d = x\ndb_name = acme\ndbfilter = ^%d$\ndata_dir = /var/lib/odoo\n"
             "[other]\ndb_name = ignored\n", &c, &err) == 0, "a typical odoo.conf parses");
    is_str(c.db_host, "db.example", "db_host");
    is_str(c.db_port, "5433", "db_port, written key: value");
    is_str(c.db_user, "odoo", "db_user");
    is_str(c.db_password, "p;w#d = x", "db_password keeps ';', '#' and '=' (no inline comments)");
    is_str(c.db_name, "acme", "db_name of [options], not of [other]");
    is_str(c.data_dir, "/var/lib/odoo", "data_dir");
    is_str(c.addons_path, "/opt/odoo/addons,\n/opt/custom", "keys are case-insensitive; continuation lines join");
    odbk_odooconf_release(&c);

    ok(parse("[options]\ndb_host = False\ndb_port = None\ndb_user = false\ndb_password =\ndb_name = a,b\n"
             "data_dir = False\n", &c, &err) == 0, "False/None/empty values parse");
    ok(!c.db_host && !c.db_port && !c.db_user && !c.db_password && !c.data_dir, "False, false, None, empty: unset");
    ok(!c.db_name, "db_name listing two databases names none");
    odbk_odooconf_release(&c);

    ok(parse("[options]\ndb_host = h\nthis is not a key\n", &c, &err) < 0 && err.code == ODBK_E_CONFIG &&
           strstr(err.msg, "odoo.conf:3:"), "a malformed line: 78 with odoo.conf:line");
    ok(parse("[options\ndb_host = h\n", &c, &err) < 0 && strstr(err.msg, "odoo.conf:1:"), "a bad section header");
    ok(parse("[options]\ndb_password = one\ndb_password = two\n", &c, &err) < 0 && strstr(err.msg, "odoo.conf:3:") &&
           !strstr(err.msg, "one") && !strstr(err.msg, "two"),
       "a key set twice is refused (strict RawConfigParser), without echoing the values");
    ok(odbk_odooconf_parse_text(nul, sizeof(nul) - 1, "odoo.conf", &c, &err) < 0 && strstr(err.msg, "odoo.conf:2:") &&
           strstr(err.msg, "NUL"), "a NUL byte is refused at its line");
    big = odbk_xmalloc(200000);
    memset(big, 'x', 199999);
    big[199999] = '\0';
    memcpy(big, "[options]\ndb_host = ", 20);
    ok(parse(big, &c, &err) < 0 && strstr(err.msg, "odoo.conf:2:") && strstr(err.msg, "longer"),
       "a huge line is refused");
    free(big);
    ok(parse("[options]\ndb_name = a b\n", &c, &err) < 0 && strstr(err.msg, "odoo.conf:2: db_name"),
       "a db_name with a space is refused");
    ok(parse("[options]\ndb_name = ../etc\n", &c, &err) < 0, "a db_name with a slash is refused");
    ok(parse("[options]\ndata_dir = var/lib/odoo\n", &c, &err) < 0 && strstr(err.msg, "odoo.conf:2: data_dir"),
       "a relative data_dir is refused");
    ok(parse("[options]\ndb_port = 5432x\n", &c, &err) < 0, "a db_port that is not a number is refused");
    ok(parse("[options]\nhttp_port = 8169\n", &c, &err) == 0 && !strcmp(c.http_port, "8169"), "http_port read");
    odbk_odooconf_release(&c);
    ok(parse("[options]\nhttp_port = False\n", &c, &err) == 0 && !c.http_port, "http_port False: Odoo's default");
    odbk_odooconf_release(&c);
    ok(parse("[options]\nxmlrpc = True\n\nhttp_port = 80'; --\n", &c, &err) < 0 &&
           strstr(err.msg, "odoo.conf:4: http_port") && strstr(err.msg, "not a port number"),
       "an http_port that is not a number is refused, naming its line");
    ok(parse("[options]\nhttp_port = 70000\n", &c, &err) < 0, "an http_port out of range is refused");
    ok(parse("[options]\nhttp_port = +80\n", &c, &err) < 0, "an http_port with a sign is refused");

    /* wired into [env]: odoo.conf fills what the env leaves unset */
    path = odbk_xasprintf("/tmp/test-odooconf-%d.conf", (int)getpid());
    f = fopen(path, "w");
    fputs("[options]\ndb_host = dbh\ndb_port = 6432\ndb_user = o'doo\ndb_password = secret-pw\ndb_name = acme\n"
          "data_dir = /srv/odoo\naddons_path = /a, \n  /b,\nhttp_port = 8169\n", f);
    fclose(f);
    big = odbk_xasprintf("[env only]\nodoo-conf = %s\n\n[env mine]\nodoo-conf = %s\ndatabase = other\n"
                         "pg = host=x\nfilestore = /fs\naddons-path = /own ,/more\n\n[env dd]\nodoo-conf = %s\ndata-dir = /dd\n"
                         "\n[env gone]\nodoo-conf = /nonexistent/odoo.conf\n", path, path, path);
    ok(odbk_config_parse_string(big, "odbk.conf", &cfg, &err) == 0, "odbk.conf with odoo-conf parses");
    unsetenv("PGPASSWORD");
    ok(odbk_config_env(cfg, "only", &env, &err) == 0, "env with only odoo-conf");
    is_str(env.database, "acme", "database from db_name");
    is_str(env.database_from, "odoo.conf", "database said to come from odoo.conf");
    is_str(env.pg, "host='dbh' port='6432' user='o\\'doo'", "pg conninfo from db_host/port/user, quoted");
    ok(!strstr(env.pg, "secret-pw"), "the password is not in the conninfo");
    ok(getenv("PGPASSWORD") && !strcmp(getenv("PGPASSWORD"), "secret-pw"), "the password goes to PGPASSWORD");
    is_str(env.filestore, "/srv/odoo/filestore/acme", "filestore <data_dir>/filestore/<db>");
    is_str(env.addons_path, "/a,/b", "addons_path exposed, its entries stripped and joined as Odoo splits them");
    is_str(env.addons_path_from, "odoo.conf", "addons-path said to come from odoo.conf");
    is_str(env.http_port, "8169", "http_port exposed");
    odbk_env_release(&env);
    /* resolved next, in the same process (a --due batch, a restore from one env into another) */
    ok(odbk_config_env(cfg, "mine", &env, &err) == 0, "env with odoo-conf and explicit keys");
    ok(!strcmp(env.database, "other") && !strcmp(env.database_from, "odbk.conf"), "explicit database wins");
    ok(!strcmp(env.pg, "host=x") && !strcmp(env.pg_from, "odbk.conf"), "explicit pg wins");
    ok(!getenv("PGPASSWORD"), "with an explicit pg, the previous env's odoo.conf password is gone from PGPASSWORD");
    ok(!strcmp(env.filestore, "/fs") && !strcmp(env.filestore_from, "odbk.conf"), "explicit filestore wins");
    is_str(env.addons_path, "/own,/more", "explicit addons-path wins over addons_path");
    is_str(env.addons_path_from, "odbk.conf", "addons-path said to come from odbk.conf");
    odbk_env_release(&env);
    ok(odbk_config_env(cfg, "dd", &env, &err) == 0 && !strcmp(env.filestore, "/dd/filestore/acme"),
       "explicit data-dir wins over data_dir");
    odbk_env_release(&env);
    memset(&err, 0, sizeof(err));
    ok(odbk_config_env(cfg, "gone", &env, &err) < 0 && err.code == ODBK_E_CONFIG &&
           strstr(err.msg, "odbk.conf:16: [env gone] odoo-conf:") && strstr(err.msg, "/nonexistent/odoo.conf"),
       "a missing odoo.conf: 78 naming the odbk.conf key and the file");
    odbk_config_free(cfg);
    free(big);
    unlink(path);
    free(path);
    unsetenv("PGPASSWORD");
    return done_testing();
}
