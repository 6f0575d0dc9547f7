/* userspec.h - USER[:GROUP], the owner given to restored files (odbk-restore --filestore-owner, the env key
 * filestore-owner): each part a name or a numeric id, the group by default the user's primary group. */
#ifndef ODBK_USERSPEC_H
#define ODBK_USERSPEC_H

#include <sys/types.h>

#include "common/err.h"

/* The form alone, no lookup (odbk.conf's validation): a non-empty user, optionally ':' and a non-empty
 * group, each without spaces, control characters, '/' or another ':', and an id below 2^32-1.  0, or
 * ODBK_E_USAGE saying what is wrong. */
int odbk_userspec_check(const char *spec, struct odbk_err *err);

/* Look spec up: a part is a name (getpwnam/getgrnam) first and, when no entry has that name and it is all
 * digits, an id, which need not exist (as chown(1) takes it).  Without GROUP, the user's primary group
 * (a numeric user without an entry then needs one).  An unknown name: ODBK_E_NOUSER naming it; a user
 * database that cannot answer (LDAP down): ODBK_E_TEMPFAIL, never taken for "no such user". */
int odbk_userspec_resolve(const char *spec, uid_t *uid, gid_t *gid, struct odbk_err *err);

#endif
