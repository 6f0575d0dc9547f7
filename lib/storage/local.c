/* local.c - the local-directory storage driver (`type = local`, key `path`).
 *
 * Atomic writes as pgBackRest's posix driver does them: a temporary name in the target directory
 * ("NAME.odbk-tmp-PID-N"), fsync, rename over the final name, fsync the directory.  Readers therefore see
 * either nothing or the whole file; an aborted write unlinks its temporary file. */
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

static char *full_path(struct local *l, const char *path)
{
    return odbk_storage_join(l->root, path);
}

/* mkdir -p of the directory holding `file`. */
static int make_parents(const char *file, struct odbk_err *err)
{
    char *dir = odbk_xstrdup(file), *p;
    int r = 0;
    p = strrchr(dir, '/');
    if (!p || p == dir) {
        free(dir);
        return 0;
    }
    *p = '\0';
    for (p = dir + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
                r = odbk_err_sys(err, ODBK_E_IO, "cannot create directory '%s'", dir);
                break;
            }
            *p = c;
            if (!c)
                break;
        }
    }
    free(dir);
    return r;
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

/* ---- write ---- */

/* Remove the directories that removing `full` left empty, up to (not including) root. */
static void prune_empty_dirs(const char *root, const char *full)
{
    char *p, *dir = odbk_xstrdup(full);
    while ((p = strrchr(dir, '/')) && (size_t)(p - dir) > strlen(root)) {
        *p = '\0';
        if (rmdir(dir) != 0)
            break;
    }
    free(dir);
}

struct local_writer {
    struct odbk_writer w;
    const char *root;
    int fd;
    char *final;
    char *tmp;
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
    if (rename(lw->tmp, lw->final) != 0)
        return odbk_err_sys(err, ODBK_E_IO, "cannot rename '%s' to '%s'", lw->tmp, lw->final);
    free(lw->tmp);
    lw->tmp = NULL;
    if (fsync_dir_of(lw->final) != 0)
        return odbk_err_sys(err, ODBK_E_IO, "cannot sync the directory of '%s'", lw->final);
    return 0;
}

static void lw_abort(struct odbk_writer *w)
{
    struct local_writer *lw = (struct local_writer *)w;
    if (lw->fd >= 0) {
        close(lw->fd);
        lw->fd = -1;
    }
    if (lw->tmp) {
        unlink(lw->tmp);
        prune_empty_dirs(lw->root, lw->tmp);
        free(lw->tmp);
        lw->tmp = NULL;
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

static int local_open_write(struct odbk_storage *st, const char *path, uint64_t size_hint,
                            struct odbk_writer **out, struct odbk_err *err)
{
    struct local_writer *lw;
    char *final = full_path(st->priv, path);
    if (make_parents(final, err) < 0) {
        odbk_err_prefix(err, "storage '%s'", st->name);
        free(final);
        return -1;
    }
    lw = odbk_xcalloc(1, sizeof(*lw));
    lw->final = final;
    lw->root = ((struct local *)st->priv)->root;
    lw->tmp = odbk_storage_temp_name(final);
    lw->fd = open(lw->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (lw->fd < 0) {
        odbk_err_sys(err, ODBK_E_IO, "storage '%s': cannot create '%s'", st->name, lw->tmp);
        free(lw->tmp);
        lw->tmp = NULL;
        free(lw->final);
        free(lw);
        return -1;
    }
    odbk_writer_init(&lw->w, &local_write_ops, NULL);
    *out = &lw->w;
    return 0;
}

/* ---- read, stat, list, remove ---- */

static int local_read(struct odbk_storage *st, const char *path, struct odbk_writer *dst, struct odbk_err *err)
{
    char *full = full_path(st->priv, path), *buf;
    int fd = open(full, O_RDONLY | O_CLOEXEC), r = 0;
    ssize_t n;
    if (fd < 0) {
        odbk_err_sys(err, ODBK_E_IO, "storage '%s': cannot open '%s'", st->name, full);
        free(full);
        return -1;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    buf = odbk_xmalloc(READ_CHUNK);
    while ((n = read(fd, buf, READ_CHUNK)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = odbk_err_sys(err, ODBK_E_IO, "storage '%s': cannot read '%s'", st->name, full);
            break;
        }
        if ((r = odbk_writer_write(dst, buf, (size_t)n, err)) < 0)
            break;
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
        odbk_err_sys(err, ODBK_E_IO, "storage '%s': cannot stat '%s'", st->name, full);
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

static int walk(struct odbk_storage *st, const char *rel, const char *prefix, odbk_storage_list_cb cb,
                void *ctx, struct odbk_err *err)
{
    struct local *l = st->priv;
    char *dirpath = odbk_storage_join(l->root, rel);
    DIR *d = opendir(dirpath);
    struct dirent *de;
    int r = 0;
    if (!d) {
        int e = errno;
        free(dirpath);
        if (e == ENOENT || e == ENOTDIR)
            return 0;
        errno = e;
        return odbk_err_sys(err, ODBK_E_IO, "storage '%s': cannot list '%s'", st->name, l->root);
    }
    while (r == 0 && (de = readdir(d))) {
        char *child, *full;
        struct stat sb;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        child = *rel ? odbk_xasprintf("%s/%s", rel, de->d_name) : odbk_xstrdup(de->d_name);
        /* prune subtrees that cannot match the prefix */
        if (strncmp(child, prefix, strlen(child) < strlen(prefix) ? strlen(child) : strlen(prefix))) {
            free(child);
            continue;
        }
        full = odbk_xasprintf("%s/%s", dirpath, de->d_name);
        if (lstat(full, &sb) == 0) {
            if (S_ISDIR(sb.st_mode)) {
                r = walk(st, child, prefix, cb, ctx, err);
            } else if (S_ISREG(sb.st_mode) && !strncmp(child, prefix, strlen(prefix))) {
                struct odbk_storage_entry e = {child, (uint64_t)sb.st_size, sb.st_mtime};
                r = cb(ctx, &e);
            }
        }
        free(full);
        free(child);
    }
    closedir(d);
    free(dirpath);
    return r;
}

static int local_list(struct odbk_storage *st, const char *prefix, odbk_storage_list_cb cb, void *ctx,
                      struct odbk_err *err)
{
    return walk(st, "", prefix ? prefix : "", cb, ctx, err);
}

static int local_remove(struct odbk_storage *st, const char *path, struct odbk_err *err)
{
    struct local *l = st->priv;
    char *full = full_path(l, path);
    if (unlink(full) != 0 && errno != ENOENT) {
        odbk_err_sys(err, ODBK_E_IO, "storage '%s': cannot remove '%s'", st->name, full);
        free(full);
        return -1;
    }
    prune_empty_dirs(l->root, full);
    free(full);
    return 0;
}

const struct odbk_storage_driver odbk_storage_local_driver = {
    .type = "local",
    .features = ODBK_STORAGE_F_DIRS | ODBK_STORAGE_F_RANGE_READ | ODBK_STORAGE_F_MARKER,
    .keys = local_keys,
    .open = local_open,
    .close = local_close,
    .open_write = local_open_write,
    .read = local_read,
    .stat = local_stat,
    .list = local_list,
    .remove = local_remove,
    .presign = NULL,
};
