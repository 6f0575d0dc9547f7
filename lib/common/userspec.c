/* userspec.c - see userspec.h. */
#include "common/userspec.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define ID_MAX 4294967294UL   /* (uid_t)-1 means "unchanged" to chown */

/* An id when s is all digits and in range; -1 otherwise. */
static int parse_id(const char *s, unsigned long *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return *end || errno || *out > ID_MAX ? -1 : 0;
}

static int part_check(const char *s, size_t n, const char *what, const char *spec, struct odbk_err *err)
{
    size_t i;
    char *part;
    unsigned long id;
    if (n == 0)
        return odbk_err_set(err, ODBK_E_USAGE, "'%s' names no %s (USER or USER:GROUP)", spec, what);
    if (n > 255)
        return odbk_err_set(err, ODBK_E_USAGE, "the %s of '%.40s...' is longer than 255 characters", what, spec);
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f || s[i] == '/' || s[i] == ':')
            return odbk_err_set(err, ODBK_E_USAGE, "'%s' is not USER[:GROUP]: the %s has a %s", spec, what,
                                s[i] == ':' ? "second ':'" : s[i] == '/' ? "'/'" : "space or control character");
    part = odbk_xstrndup(s, n);
    if (*part >= '0' && *part <= '9' && strspn(part, "0123456789") == n && parse_id(part, &id) < 0) {
        free(part);
        return odbk_err_set(err, ODBK_E_USAGE, "'%s': %s id out of range (0 to %lu)", spec, what, ID_MAX);
    }
    free(part);
    return 0;
}

int odbk_userspec_check(const char *spec, struct odbk_err *err)
{
    const char *colon = strchr(spec, ':');
    size_t un = colon ? (size_t)(colon - spec) : strlen(spec);
    if (part_check(spec, un, "user", spec, err) < 0)
        return -1;
    return colon ? part_check(colon + 1, strlen(colon + 1), "group", spec, err) : 0;
}

/* The user database's answer for a name or (by_id) an id: 0 and *pw filled, 1 when it has no such entry,
 * -1 (ODBK_E_TEMPFAIL) when it could not answer (an LDAP or NIS server down: not the same as "no user",
 * which would make a numeric name an id it does not mean).  buf holds the strings. */
static int pw_lookup(const char *name, int by_id, unsigned long id, struct passwd *pw, char *buf, size_t size,
                     struct odbk_err *err)
{
    struct passwd *found = NULL;
    int rc = by_id ? getpwuid_r((uid_t)id, pw, buf, size, &found) : getpwnam_r(name, pw, buf, size, &found);
    if (found)
        return 0;
    if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
        return 1;
    errno = rc;
    return odbk_err_sys(err, ODBK_E_TEMPFAIL, "cannot look user '%s' up in the user database", name);
}

static int gr_lookup(const char *name, struct group *gr, char *buf, size_t size, struct odbk_err *err)
{
    struct group *found = NULL;
    int rc = getgrnam_r(name, gr, buf, size, &found);
    if (found)
        return 0;
    if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
        return 1;
    errno = rc;
    return odbk_err_sys(err, ODBK_E_TEMPFAIL, "cannot look group '%s' up in the group database", name);
}

int odbk_userspec_resolve(const char *spec, uid_t *uid, gid_t *gid, struct odbk_err *err)
{
    const char *colon;
    char *user, buf[16384];
    struct passwd pw;
    struct group gr;
    unsigned long id;
    int have_primary = 0, r;
    gid_t primary = 0;
    if (odbk_userspec_check(spec, err) < 0)
        return -1;
    colon = strchr(spec, ':');
    user = colon ? odbk_xstrndup(spec, (size_t)(colon - spec)) : odbk_xstrdup(spec);
    if ((r = pw_lookup(user, 0, 0, &pw, buf, sizeof buf, err)) == 1 && parse_id(user, &id) == 0)
        r = pw_lookup(user, 1, id, &pw, buf, sizeof buf, err);
    if (r < 0) {
        free(user);
        return -1;
    }
    if (r == 0) {
        *uid = pw.pw_uid;
        primary = pw.pw_gid;
        have_primary = 1;
    } else if (parse_id(user, &id) == 0) {
        *uid = (uid_t)id;
    } else {
        odbk_err_set(err, ODBK_E_NOUSER, "unknown user '%s'", user);
        odbk_err_hint(err, "name a user of this host (getent passwd) or a numeric uid");
        free(user);
        return -1;
    }
    if (colon) {
        if ((r = gr_lookup(colon + 1, &gr, buf, sizeof buf, err)) == 0) {
            *gid = gr.gr_gid;
        } else if (r == 1 && parse_id(colon + 1, &id) == 0) {
            *gid = (gid_t)id;
        } else {
            if (r == 1) {
                odbk_err_set(err, ODBK_E_NOUSER, "unknown group '%s'", colon + 1);
                odbk_err_hint(err, "name a group of this host (getent group) or a numeric gid");
            }
            free(user);
            return -1;
        }
    } else if (have_primary) {
        *gid = primary;
    } else {
        odbk_err_set(err, ODBK_E_NOUSER, "user id %s has no entry in the user database, so no primary group", user);
        odbk_err_hint(err, "name the group too: %s:GROUP", user);
        free(user);
        return -1;
    }
    free(user);
    return 0;
}
