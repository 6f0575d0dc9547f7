/* test-userspec.c - USER[:GROUP] of --filestore-owner and filestore-owner: names and numeric ids, the
 * user's primary group by default, an unknown name 67 naming it, and malformed or hostile forms refused
 * before any lookup. */
#include <grp.h>
#include <pwd.h>
#include <string.h>

#include "common/userspec.h"
#include "tap.h"

static int resolve(const char *spec, uid_t *uid, gid_t *gid, struct odbk_err *err)
{
    memset(err, 0, sizeof(*err));
    *uid = (uid_t)12345;
    *gid = (gid_t)12345;
    return odbk_userspec_resolve(spec, uid, gid, err);
}

static int check(const char *spec, struct odbk_err *err)
{
    memset(err, 0, sizeof(*err));
    return odbk_userspec_check(spec, err);
}

int main(void)
{
    struct odbk_err err;
    uid_t uid;
    gid_t gid;
    struct passwd *pw = getpwnam("daemon");
    struct group *gr = getgrnam("nogroup");
    uid_t d_uid = pw ? pw->pw_uid : 1;
    gid_t d_gid = pw ? pw->pw_gid : 1, ng = gr ? gr->gr_gid : 65534;

    ok(pw && gr, "the host has user daemon and group nogroup");
    ok(resolve("root", &uid, &gid, &err) == 0 && uid == 0 && gid == 0, "root: uid 0, its primary group 0");
    ok(resolve("daemon", &uid, &gid, &err) == 0 && uid == d_uid && gid == d_gid, "a name alone: its primary group");
    ok(resolve("daemon:nogroup", &uid, &gid, &err) == 0 && uid == d_uid && gid == ng, "USER:GROUP by names");
    ok(resolve("0:nogroup", &uid, &gid, &err) == 0 && uid == 0 && gid == ng, "a numeric user, a named group");
    ok(resolve("daemon:4242", &uid, &gid, &err) == 0 && uid == d_uid && gid == 4242,
       "a numeric gid need not exist (as chown takes it)");
    ok(resolve("4242:4343", &uid, &gid, &err) == 0 && uid == 4242 && gid == 4343, "numeric uid and gid, no entries");
    ok(resolve("0", &uid, &gid, &err) == 0 && uid == 0 && gid == 0, "a numeric uid with an entry: its primary group");
    ok(resolve("4294967294:0", &uid, &gid, &err) == 0 && uid == (uid_t)4294967294U, "the largest id");

    ok(resolve("odbk-no-such-user", &uid, &gid, &err) < 0 && err.code == ODBK_E_NOUSER &&
           strstr(err.msg, "unknown user 'odbk-no-such-user'") && uid == 12345,
       "an unknown user: 67 naming it, nothing set");
    ok(resolve("root:odbk-no-such-group", &uid, &gid, &err) < 0 && err.code == ODBK_E_NOUSER &&
           strstr(err.msg, "unknown group 'odbk-no-such-group'"), "an unknown group: 67 naming it");
    ok(resolve("4242", &uid, &gid, &err) < 0 && err.code == ODBK_E_NOUSER && strstr(err.msg, "4242") &&
           strstr(err.hint, "4242:GROUP"), "a numeric uid without an entry has no primary group: name one");

    ok(check("", &err) < 0 && err.code == ODBK_E_USAGE && strstr(err.msg, "no user"), "empty");
    ok(check(":root", &err) < 0 && strstr(err.msg, "no user"), "no user before ':'");
    ok(check("root:", &err) < 0 && strstr(err.msg, "no group"), "no group after ':'");
    ok(check("a:b:c", &err) < 0 && strstr(err.msg, "second ':'"), "two colons");
    ok(check("ro ot", &err) < 0 && strstr(err.msg, "space or control"), "a space");
    ok(check("root\n:x", &err) < 0 && strstr(err.msg, "control"), "a newline");
    ok(check("../root", &err) < 0 && strstr(err.msg, "'/'"), "a slash");
    ok(check("4294967295", &err) < 0 && strstr(err.msg, "out of range"), "uid -1 (chown's 'unchanged')");
    ok(check("0:99999999999999999999", &err) < 0 && strstr(err.msg, "group id out of range"), "a huge gid");
    {
        char big[300];
        memset(big, 'u', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        ok(check(big, &err) < 0 && strstr(err.msg, "longer than 255"), "a 299-character name");
    }
    ok(resolve("a:b:c", &uid, &gid, &err) < 0 && err.code == ODBK_E_USAGE, "resolve checks the form first");
    ok(check("odoo", &err) == 0 && check("odoo:www-data", &err) == 0 && check("1000:1000", &err) == 0 &&
           check("svc.odoo_1$", &err) == 0, "usual forms pass the check without a lookup");
    return done_testing();
}
