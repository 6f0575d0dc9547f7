/* owners.h - a restore keeps the target's owners: the filestore's uid/gid and the top folder's mode. */
#ifndef ODBK_OWNERS_H
#define ODBK_OWNERS_H

#include <sys/types.h>

#include "common/err.h"

/* Give every file and folder under dir (dir included) to uid:gid (links themselves, not their targets),
 * and dir the mode of the folder it replaces; run as root only (others cannot chown).  The folder holding
 * dir may belong to the hostile user (the Odoo user owns the filestores' folder): dir is opened without
 * following a link and must be the directory this process made, expect (device and inode) or, with
 * odbk_tree_take_owner, one that belongs to this process's user; the tree is walked by descriptor
 * (odbk_tree_visit), contents before their folder and dir last, and a file with another hard link is
 * refused.  Anything else is an ODBK_E_PERM error, with nothing outside dir touched. */
struct stat;
int odbk_tree_take_owner(const char *dir, uid_t uid, gid_t gid, mode_t top_mode, struct odbk_err *err);
int odbk_tree_take_owner_expect(const char *dir, uid_t uid, gid_t gid, mode_t top_mode, const struct stat *expect,
                                struct odbk_err *err);

#endif
