/* test-pg.c - finding the client tool whose major version matches the server's, and the error that names
 * the package to install when it is missing; the child environment carries no password on a command line. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "pg/pg.h"
#include "tap.h"

int main(void)
{
    struct odbk_err err = {0};
    char *path = NULL, *v;
    char **env;
    int i, found_pw = 0, found_db = 0;

    /* the installed client's major, as the tool itself reports it */
    v = odbk_pg_tool_version("/usr/bin/pg_dump");
    if (!v) {
        plan(1);
        ok(1, "# skip no pg_dump installed");
        return done_testing();
    }
    {
        int major = atoi(strstr(v, ") ") ? strstr(v, ") ") + 2 : "0");
        is_int(odbk_pg_tool(major * 10000 + 4, "pg_dump", NULL, &path, &err), 0, "the installed major is found");
        ok(path && strstr(path, "pg_dump"), "its path");
        free(path);
        path = NULL;
        is_int(odbk_pg_tool((major + 50) * 10000, "pg_dump", NULL, &path, &err), -1,
               "a server major with no client installed is refused");
        is_int(odbk_err_exit_code(&err), 69, "as service unavailable (69)");
        {
            char want[64];
            snprintf(want, sizeof want, "apt-get install postgresql-client-%d", major + 50);
            ok(strstr(err.hint, want) != NULL, "the hint names the package to install");
            diag("%s / %s", err.msg, err.hint);
        }
    }
    free(v);

    env = odbk_pg_child_env("host=db1 port=5433 user=odoo password=s3cret sslmode=require", "acme");
    for (i = 0; env[i]; i++) {
        found_pw |= !strcmp(env[i], "PGPASSWORD=s3cret");
        found_db |= !strcmp(env[i], "PGDATABASE=acme");
    }
    ok(found_db, "the database goes to the child as PGDATABASE");
    ok(found_pw, "a password in the conninfo goes to the child's environment, not its argv");
    odbk_pg_env_free(env);
    return done_testing();
}
