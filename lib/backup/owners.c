/* owners.c - see owners.h. */
#include "backup/owners.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

struct take {
    uid_t uid;
    gid_t gid;
};

/* One entry, after a folder's contents: the folder by its descriptor, a file opened without following a
 * link and checked to be the one just seen, a link itself (never what it points to). */
static int take(void *ctx, int dirfd, const char *name, int fd, const char *full, const struct stat *sb,
                struct odbk_err *err)
{
    const struct take *t = ctx;
    struct stat now;
    int ffd, r;
    if (fd >= 0)
        return fchown(fd, t->uid, t->gid) == 0 ? 0 : odbk_err_sys(err, ODBK_E_IO, "cannot give '%s' its owner", full);
    if (!S_ISREG(sb->st_mode))
        return fchownat(dirfd, name, t->uid, t->gid, AT_SYMLINK_NOFOLLOW) == 0 || errno == ENOENT
                   ? 0 : odbk_err_sys(err, ODBK_E_IO, "cannot give '%s' its owner", full);
    ffd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (ffd < 0)
        return errno == ENOENT ? 0 : odbk_err_sys(err, ODBK_E_IO, "cannot give '%s' its owner", full);
    if (fstat(ffd, &now) != 0) {
        close(ffd);
        return odbk_err_sys(err, ODBK_E_IO, "cannot stat '%s'", full);
    }
    if (!odbk_same_file(&now, sb) || now.st_nlink != 1) {
        /* a restore writes every file once: a second name is a file someone linked in from elsewhere */
        close(ffd);
        odbk_err_set(err, ODBK_E_PERM, "'%s' is not a file the restore wrote (%s): no owner given", full,
                     now.st_nlink != 1 ? "it has other hard links" : "it was replaced");
        odbk_err_hint(err, "find out who can write to the restored filestore's folder");
        return -1;
    }
    r = fchown(ffd, t->uid, t->gid) == 0 ? 0 : odbk_err_sys(err, ODBK_E_IO, "cannot give '%s' its owner", full);
    close(ffd);
    return r;
}

int odbk_tree_take_owner_expect(const char *dir, uid_t uid, gid_t gid, mode_t top_mode, const struct stat *expect,
                                struct odbk_err *err)
{
    struct take t = {uid, gid};
    const char *base;
    int pfd, fd = -1, r = -1;
    if (odbk_dir_open_at(dir, &pfd, &base, err) < 0)
        return -1;
    if ((fd = odbk_dir_open_own(pfd, base, dir, expect, NULL, err)) < 0)
        goto out;
    /* everything below first, the top last: until it is handed over, nobody but root can enter */
    if (odbk_tree_visit(fd, dir, take, &t, err) < 0) {
        odbk_err_prefix(err, "cannot give the restored filestore '%s' its owner", dir);
        goto out;
    }
    if (fchown(fd, uid, gid) != 0) {
        odbk_err_sys(err, ODBK_E_IO, "cannot give the restored filestore '%s' its owner", dir);
        goto out;
    }
    if (fchmod(fd, top_mode & 07777) != 0) {
        odbk_err_sys(err, ODBK_E_IO, "cannot set the mode of the restored filestore '%s'", dir);
        goto out;
    }
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    close(pfd);
    return r;
}

int odbk_tree_take_owner(const char *dir, uid_t uid, gid_t gid, mode_t top_mode, struct odbk_err *err)
{
    return odbk_tree_take_owner_expect(dir, uid, gid, top_mode, NULL, err);
}
