/* owners.c - see owners.h. */
#include "backup/owners.h"

#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

static uid_t walk_uid;
static gid_t walk_gid;
static int walk_errno;

static int take(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (lchown(path, walk_uid, walk_gid) != 0) {
        walk_errno = errno;
        return 1;
    }
    return 0;
}

int odbk_tree_take_owner(const char *dir, uid_t uid, gid_t gid, mode_t top_mode, struct odbk_err *err)
{
    walk_uid = uid;
    walk_gid = gid;
    walk_errno = 0;
    if (nftw(dir, take, 32, FTW_PHYS) != 0) {
        errno = walk_errno ? walk_errno : errno;
        return odbk_err_sys(err, ODBK_E_IO, "cannot give the restored filestore '%s' its owner", dir);
    }
    if (chmod(dir, top_mode & 07777) != 0)
        return odbk_err_sys(err, ODBK_E_IO, "cannot set the mode of the restored filestore '%s'", dir);
    return 0;
}
