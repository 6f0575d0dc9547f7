/* local.c - the local-directory storage driver (`type = local`, key `path`).
 *
 * Atomic writes as pgBackRest's posix driver does them: the core (storage.c) writes a temporary name in
 * the target directory ("NAME.odbk-tmp-PID-N"); finishing the file fsyncs it, the rename over the final
 * name fsyncs the directory.  Readers therefore see either nothing or the whole file; an aborted write
 * unlinks its temporary file. */
#include "storage/storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

#define READ_CHUNK (1024 * 1024)

struct local {
    char *root;
};

static const char *const local_keys[] = {"path", "require-mount", NULL};

/* Is dir a mount point: another device than its parent's (or the root itself)?  A bind mount of a folder
 * of the same filesystem is not told apart (st_dev is the same). */
static int is_mount_point(const char *dir)
{
    struct stat a, b;
    char *parent = odbk_xasprintf("%s/..", dir);
    int r = stat(dir, &a) == 0 && stat(parent, &b) == 0 && S_ISDIR(a.st_mode) &&
            (a.st_dev != b.st_dev || a.st_ino == b.st_ino);
    free(parent);
    return r;
}

static int local_open(struct odbk_storage *st, const struct odbk_config_section *sec, struct odbk_err *err)
{
    const struct odbk_config_kv *kv = odbk_config_get_kv(sec, "path");
    struct local *l;
    int must_mount = 0;
    if (!kv || !*kv->value)
        return odbk_config_error(err, sec, NULL, "type local needs 'path = /absolute/directory'");
    if (kv->value[0] != '/')
        return odbk_config_error(err, sec, kv, "'%s' is not an absolute path", kv->value);
    if (odbk_config_bool(sec, "require-mount", 0, &must_mount, err) < 0)
        return -1;
    if (must_mount && !is_mount_point(kv->value)) {
        odbk_err_set(err, ODBK_E_IO, "storage '%s' at %s is not a mount point (require-mount = yes): its disk is not "
                     "mounted", sec->name, kv->value);
        odbk_err_hint(err, "mount it (or set require-mount = no in [storage %s] if it is not a disk of its own)",
                      sec->name);
        return -1;
    }
    l = odbk_xcalloc(1, sizeof(*l));
    l->root = odbk_xstrdup(kv->value);
    st->priv = l;
    st->root = l->root;
    return 0;
}

static void local_close(struct odbk_storage *st)
{
    struct local *l = st->priv;
    if (!l)
        return;
    free(l->root);
    free(l);
    st->priv = NULL;
}

/* "storage 'NAME': cannot WHAT 'PATH': strerror"; a storage opened on a path (odbk_storage_open_path)
 * names the path only, as a file would be named. */
static int fail_sys(const struct odbk_storage *st, const char *what, const char *path, struct odbk_err *err)
{
    if (st->bare)
        return odbk_err_sys(err, ODBK_E_IO, "cannot %s '%s'", what, path);
    return odbk_err_sys(err, ODBK_E_IO, "storage '%s': cannot %s '%s'", st->name, what, path);
}

static char *full_path(struct local *l, const char *path)
{
    return odbk_storage_join(l->root, path);
}

static int fsync_dir_of(const char *file)
{
    char *dir = odbk_xstrdup(file), *p = strrchr(dir, '/');
    int fd, r = 0;
    if (p == dir)
        p[1] = '\0';
    else if (p)
        *p = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        r = fsync(fd);
        close(fd);
    }
    free(dir);
    return r;
}

/* ---- the primitives the core builds writes, listings and removals on ---- */

static int local_mkdir(struct odbk_storage *st, const char *dir, struct odbk_err *err)
{
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return fail_sys(st, "create directory", dir, err);
    return 0;
}

static int local_rmdir(struct odbk_storage *st, const char *dir)
{
    (void)st;
    return rmdir(dir) == 0 ? 0 : -1;
}

static int local_unlink(struct odbk_storage *st, const char *path, struct odbk_err *err)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return fail_sys(st, "remove", path, err);
    return 0;
}

static int local_rename(struct odbk_storage *st, const char *from, const char *to, struct odbk_err *err)
{
    (void)st;
    if (rename(from, to) != 0)
        return odbk_err_sys(err, ODBK_E_IO, "cannot rename '%s' to '%s'", from, to);
    if (fsync_dir_of(to) != 0)
        return odbk_err_sys(err, ODBK_E_IO, "cannot sync the directory of '%s'", to);
    return 0;
}

static int local_list_dir(struct odbk_storage *st, const char *dir, struct odbk_storage_dir *out,
                          struct odbk_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return fail_sys(st, "list", st->root, err);
    }
    while ((de = readdir(d))) {
        char *full = odbk_xasprintf("%s/%s", dir, de->d_name);
        struct stat sb;
        /* a link is neither: never followed out of the storage */
        if (lstat(full, &sb) == 0 && (S_ISDIR(sb.st_mode) || S_ISREG(sb.st_mode)))
            odbk_storage_dir_add(out, de->d_name, S_ISDIR(sb.st_mode), (uint64_t)sb.st_size, sb.st_mtime);
        free(full);
    }
    closedir(d);
    return 0;
}

/* ---- the file being written ---- */

struct local_writer {
    struct odbk_writer w;
    int fd;
    char *final;
};

static int lw_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct local_writer *lw = (struct local_writer *)w;
    const char *p = buf;
    while (len) {
        ssize_t n = write(lw->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return odbk_err_sys(err, ODBK_E_IO, "cannot write '%s'", lw->final);
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int lw_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct local_writer *lw = (struct local_writer *)w;
    if (fsync(lw->fd) != 0)
        return odbk_err_sys(err, ODBK_E_IO, "cannot sync '%s'", lw->final);
    if (close(lw->fd) != 0) {
        lw->fd = -1;
        return odbk_err_sys(err, ODBK_E_IO, "cannot close '%s'", lw->final);
    }
    lw->fd = -1;
    return 0;
}

static void lw_abort(struct odbk_writer *w)
{
    struct local_writer *lw = (struct local_writer *)w;
    if (lw->fd >= 0) {
        close(lw->fd);
        lw->fd = -1;
    }
}

static void lw_free(struct odbk_writer *w)
{
    struct local_writer *lw = (struct local_writer *)w;
    lw_abort(w);
    free(lw->final);
    free(lw);
}

static const struct odbk_writer_ops local_write_ops = {"local file", lw_write, lw_finish, lw_abort, lw_free};

static int local_create(struct odbk_storage *st, const char *path, const char *final, uint64_t size_hint,
                        struct odbk_writer **out, struct odbk_err *err)
{
    struct local_writer *lw;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    (void)size_hint;
    if (fd < 0)
        return fail_sys(st, "create", path, err);
    lw = odbk_xcalloc(1, sizeof(*lw));
    lw->fd = fd;
    lw->final = odbk_xstrdup(final);
    odbk_writer_init(&lw->w, &local_write_ops, NULL);
    *out = &lw->w;
    return 0;
}

/* ---- read, stat ---- */

/* The file from *off on (a local disk's failures are not worth another attempt). */
static int local_read_at(struct odbk_storage *st, const char *path, uint64_t *off, struct odbk_writer *dst,
                         int *again, struct odbk_err *err)
{
    char *full = full_path(st->priv, path), *buf;
    int fd = open(full, O_RDONLY | O_CLOEXEC), r = 0;
    ssize_t n;
    *again = 0;
    if (fd < 0) {
        fail_sys(st, "open", full, err);
        free(full);
        return -1;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    buf = odbk_xmalloc(READ_CHUNK);
    while ((n = pread(fd, buf, READ_CHUNK, (off_t)*off)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = fail_sys(st, "read", full, err);
            break;
        }
        if ((r = odbk_writer_write(dst, buf, (size_t)n, err)) < 0)
            break;
        *off += (uint64_t)n;
    }
    free(buf);
    close(fd);
    free(full);
    return r;
}

static int local_stat(struct odbk_storage *st, const char *path, struct odbk_storage_entry *out,
                      struct odbk_err *err)
{
    char *full = full_path(st->priv, path);
    struct stat sb;
    if (stat(full, &sb) != 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) {
            free(full);
            return 1;
        }
        fail_sys(st, "stat", full, err);
        free(full);
        return -1;
    }
    free(full);
    if (!S_ISREG(sb.st_mode))
        return 1;
    out->path = NULL;
    out->size = (uint64_t)sb.st_size;
    out->mtime = sb.st_mtime;
    return 0;
}

const struct odbk_storage_driver odbk_storage_local_driver = {
    .type = "local",
    .features = ODBK_STORAGE_F_DIRS | ODBK_STORAGE_F_RANGE_READ | ODBK_STORAGE_F_MARKER,
    .keys = local_keys,
    .open = local_open,
    .close = local_close,
    .read_at = local_read_at,
    .stat = local_stat,
    .list_dir = local_list_dir,
    .mkdir = local_mkdir,
    .rmdir = local_rmdir,
    .unlink = local_unlink,
    .create = local_create,
    .rename = local_rename,
};

int odbk_storage_open_path(const char *dir, struct odbk_storage **out)
{
    struct local *l = odbk_xcalloc(1, sizeof(*l));
    l->root = odbk_xstrdup(dir);
    *out = odbk_storage_new_bare(&odbk_storage_local_driver, *dir ? dir : ".", l);
    (*out)->root = l->root;
    return 0;
}
