/* owners.h - a restore keeps the target's owners: the filestore's uid/gid and the top folder's mode. */
#ifndef ODBK_OWNERS_H
#define ODBK_OWNERS_H

#include <sys/types.h>

#include "common/err.h"

/* Give every file and folder under dir (dir included) to uid:gid (links themselves, not their targets),
 * and dir the mode of the folder it replaces; run as root only (others cannot chown). */
int odbk_tree_take_owner(const char *dir, uid_t uid, gid_t gid, mode_t top_mode, struct odbk_err *err);

#endif
