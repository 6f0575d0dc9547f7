/* tar.c - directory ↔ tar stream through libarchive, streaming both ways. */
#include "io/tar.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/util.h"
#include "io/pipe.h"

#define CHUNK (1024 * 1024)

struct tw {
    struct odbk_writer *dst;
    struct odbk_err *err;
    int failed;
};

static la_ssize_t tw_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
    struct tw *t = ctx;
    if (odbk_writer_write(t->dst, buf, len, t->err) < 0) {
        t->failed = 1;
        archive_set_error(a, EIO, "%s", t->err->msg);
        return -1;
    }
    return (la_ssize_t)len;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_tree(struct archive *a, struct tw *t, const char *root, const char *rel, char *buf,
                    struct odbk_tar_stats *stats, struct odbk_err *err)
{
    char *path = *rel ? odbk_xasprintf("%s/%s", root, rel) : odbk_xstrdup(root);
    DIR *d = opendir(path);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, i;
    int r = 0;
    if (!d) {
        odbk_err_sys(err, ODBK_E_IO, "cannot read filestore directory '%s'", path);
        free(path);
        return -1;
    }
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        names = odbk_xrealloc(names, (n + 1) * sizeof(char *));
        names[n++] = odbk_xstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(char *), name_cmp);
    for (i = 0; i < n && r == 0; i++) {
        char *crel = *rel ? odbk_xasprintf("%s/%s", rel, names[i]) : odbk_xstrdup(names[i]);
        char *full = odbk_xasprintf("%s/%s", path, names[i]);
        struct stat sb;
        if (lstat(full, &sb) != 0) {
            if (errno == ENOENT)
                stats->vanished++;
            else
                r = odbk_err_sys(err, ODBK_E_IO, "cannot stat '%s'", full);
        } else if (S_ISDIR(sb.st_mode)) {
            struct archive_entry *e = archive_entry_new();
            archive_entry_set_pathname(e, crel);
            archive_entry_set_filetype(e, AE_IFDIR);
            archive_entry_set_perm(e, sb.st_mode & 07777);
            archive_entry_set_mtime(e, sb.st_mtime, 0);
            if (archive_write_header(a, e) != ARCHIVE_OK)
                r = t->failed ? -1 : odbk_err_set(err, ODBK_E_IO, "tar: %s", archive_error_string(a));
            archive_entry_free(e);
            if (r == 0)
                r = add_tree(a, t, root, crel, buf, stats, err);
        } else if (S_ISREG(sb.st_mode)) {
            int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (fd < 0) {
                if (errno == ENOENT)
                    stats->vanished++;
                else
                    r = odbk_err_sys(err, ODBK_E_IO, "cannot open '%s'", full);
            } else {
                struct archive_entry *e = archive_entry_new();
                uint64_t left;
                fstat(fd, &sb);
                left = (uint64_t)sb.st_size;
                archive_entry_set_pathname(e, crel);
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, sb.st_mode & 07777);
                archive_entry_set_size(e, sb.st_size);
                archive_entry_set_mtime(e, sb.st_mtime, 0);
                if (archive_write_header(a, e) != ARCHIVE_OK)
                    r = t->failed ? -1 : odbk_err_set(err, ODBK_E_IO, "tar: %s", archive_error_string(a));
                while (r == 0 && left) {
                    ssize_t got = read(fd, buf, left < CHUNK ? left : CHUNK);
                    if (got < 0 && errno == EINTR)
                        continue;
                    if (got < 0) {
                        r = odbk_err_sys(err, ODBK_E_IO, "cannot read '%s'", full);
                        break;
                    }
                    if (got == 0) {
                        /* the file shrank while we read it: the header promised more, so fail
                         * rather than store a file that is not what it was */
                        r = odbk_err_set(err, ODBK_E_IO, "'%s' changed size while being read", full);
                        break;
                    }
                    if (archive_write_data(a, buf, (size_t)got) < 0) {
                        r = t->failed ? -1 : odbk_err_set(err, ODBK_E_IO, "tar: %s", archive_error_string(a));
                        break;
                    }
                    left -= (uint64_t)got;
                }
                if (r == 0) {
                    stats->files++;
                    stats->bytes += (uint64_t)sb.st_size;
                }
                archive_entry_free(e);
                close(fd);
            }
        }
        /* sockets, fifos, links: not part of an Odoo filestore; skipped */
        free(full);
        free(crel);
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(path);
    return r;
}

int odbk_tar_write_dir(const char *dir, struct odbk_writer *dst, struct odbk_tar_stats *stats,
                       struct odbk_err *err)
{
    struct archive *a = archive_write_new();
    struct tw t = {dst, err, 0};
    struct stat sb;
    char *buf;
    int r;
    memset(stats, 0, sizeof(*stats));
    if (stat(dir, &sb) != 0) {
        archive_write_free(a);
        odbk_err_sys(err, ODBK_E_NOINPUT, "filestore directory '%s' is missing", dir);
        odbk_err_hint(err, "set 'filestore =' of the env, or use --no-filestore");
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        archive_write_free(a);
        return odbk_err_set(err, ODBK_E_NOINPUT, "filestore '%s' is not a directory", dir);
    }
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_per_block(a, 64 * 1024);
    archive_write_set_bytes_in_last_block(a, 1);
    if (archive_write_open2(a, &t, NULL, tw_write, NULL, NULL) != ARCHIVE_OK) {
        odbk_err_set(err, ODBK_E_IO, "tar: %s", archive_error_string(a));
        archive_write_free(a);
        return -1;
    }
    buf = odbk_xmalloc(CHUNK);
    r = add_tree(a, &t, dir, "", buf, stats, err);
    free(buf);
    if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
        r = t.failed ? -1 : odbk_err_set(err, ODBK_E_IO, "tar: %s", archive_error_string(a));
    archive_write_free(a);
    return r;
}

/* ---- extraction ---- */

struct untar {
    char *dir;
    struct odbk_tar_stats *stats;
    struct odbk_pipe *pipe;
    char *buf;
};

static la_ssize_t ut_read(struct archive *a, void *ctx, const void **out)
{
    struct untar *u = ctx;
    ssize_t n = odbk_pipe_read(u->pipe, u->buf, CHUNK);
    if (n < 0) {
        archive_set_error(a, ECANCELED, "stream aborted");
        return -1;
    }
    *out = u->buf;
    return n;
}

/* A member name is safe when it is relative, has no ".." component and no empty component. */
static int member_name_ok(const char *name)
{
    const char *p = name;
    if (!*name || *name == '/')
        return 0;
    while (*p) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return 0;
        p += len;
        while (*p == '/')
            p++;
    }
    return 1;
}

static int untar_consume(void *ctx, struct odbk_pipe *p, struct odbk_err *err)
{
    struct untar *u = ctx;
    struct archive *a = archive_read_new(), *disk = archive_write_disk_new();
    struct archive_entry *e;
    char *saved = NULL;
    int r = 0, rc;
    u->pipe = p;
    u->buf = odbk_xmalloc(CHUNK);
    archive_read_support_format_tar(a);
    /* member names are checked (member_name_ok) before the target prefix is added, so libarchive's own
     * absolute-path guard, which would refuse the prefixed name, is not used */
    archive_write_disk_set_options(disk, ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                             ARCHIVE_EXTRACT_PERM |
                                             ARCHIVE_EXTRACT_TIME);
    if (archive_read_open(a, u, NULL, ut_read, NULL) != ARCHIVE_OK) {
        r = odbk_err_set(err, ODBK_E_DATA, "not a tar stream: %s", archive_error_string(a));
        goto out;
    }
    while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        mode_t type = archive_entry_filetype(e);
        char *target;
        const void *blk;
        size_t len;
        la_int64_t off;
        free(saved);
        saved = NULL;
        if (!name || !member_name_ok(name)) {
            r = odbk_err_set(err, ODBK_E_DATA, "unsafe member name '%s' in the filestore archive", name ? name : "");
            goto out;
        }
        if (type != AE_IFREG && type != AE_IFDIR) {
            r = odbk_err_set(err, ODBK_E_DATA, "member '%s' of the filestore archive is not a file or directory",
                             name);
            goto out;
        }
        if (archive_entry_hardlink(e) || archive_entry_symlink(e)) {
            r = odbk_err_set(err, ODBK_E_DATA, "member '%s' of the filestore archive is a link", name);
            goto out;
        }
        /* name points into e: keep a copy for the messages below, set_pathname frees it */
        name = saved = odbk_xstrdup(name);
        target = odbk_xasprintf("%s/%s", u->dir, name);
        archive_entry_set_pathname(e, target);
        free(target);
        if (archive_write_header(disk, e) != ARCHIVE_OK) {
            r = odbk_err_set(err, ODBK_E_IO, "cannot extract '%s': %s", name, archive_error_string(disk));
            goto out;
        }
        while ((rc = archive_read_data_block(a, &blk, &len, &off)) == ARCHIVE_OK) {
            if (archive_write_data_block(disk, blk, len, off) != ARCHIVE_OK) {
                r = odbk_err_set(err, ODBK_E_IO, "cannot write '%s': %s", name, archive_error_string(disk));
                goto out;
            }
            u->stats->bytes += len;
        }
        if (rc != ARCHIVE_EOF) {
            r = odbk_err_set(err, ODBK_E_DATA, "filestore archive is damaged at '%s': %s", name,
                             archive_error_string(a));
            goto out;
        }
        if (archive_write_finish_entry(disk) != ARCHIVE_OK) {
            r = odbk_err_set(err, ODBK_E_IO, "cannot finish '%s': %s", name, archive_error_string(disk));
            goto out;
        }
        if (type == AE_IFREG)
            u->stats->files++;
    }
    if (rc != ARCHIVE_EOF) {
        r = odbk_err_set(err, ODBK_E_DATA, "filestore archive is damaged: %s", archive_error_string(a));
        goto out;
    }
    /* the tar's end-of-archive padding */
    while (odbk_pipe_read(p, u->buf, CHUNK) > 0)
        ;
out:
    free(saved);
    archive_read_free(a);
    archive_write_free(disk);
    free(u->buf);
    u->buf = NULL;
    return r;
}

static void free_untar(void *ctx)
{
    struct untar *u = ctx;
    free(u->dir);
    free(u);
}

struct odbk_writer *odbk_untar_writer_new(const char *dir, struct odbk_tar_stats *stats)
{
    struct untar *u = odbk_xcalloc(1, sizeof(*u));
    u->dir = odbk_xstrdup(dir);
    u->stats = stats;
    memset(stats, 0, sizeof(*stats));
    return odbk_pipe_writer_new(untar_consume, u, free_untar, 4 << 20);
}
