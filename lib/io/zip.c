/* zip.c - Odoo's backup zip through libarchive, streaming both ways (zip.h). */
#include "io/zip.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/util.h"
#include "io/tar.h"
#include "io/pipe.h"

#define CHUNK (1024 * 1024)

/* ---- writing ---- */

struct odbk_zip {
    struct archive *a;
    struct odbk_writer *dst;
    struct odbk_err werr;   /* the error of dst, when a write into it failed */
    int failed;             /* dst failed */
    int in_member;
};

static la_ssize_t zw_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
    struct odbk_zip *z = ctx;
    if (odbk_writer_write(z->dst, buf, len, &z->werr) < 0) {
        z->failed = 1;
        archive_set_error(a, EIO, "%s", z->werr.msg);
        return -1;
    }
    return (la_ssize_t)len;
}

static int zip_error(struct odbk_zip *z, const char *what, struct odbk_err *err)
{
    if (z->failed) {
        *err = z->werr;
        return -1;
    }
    return odbk_err_set(err, ODBK_E_IO, "zip: %s: %s", what, archive_error_string(z->a));
}

struct odbk_zip *odbk_zip_new(struct odbk_writer *dst)
{
    struct odbk_zip *z = odbk_xcalloc(1, sizeof(*z));
    z->dst = dst;
    z->a = archive_write_new();
    archive_write_set_format_zip(z->a);
    archive_write_set_bytes_per_block(z->a, 0);    /* no padding: a zip ends with its directory */
    if (archive_write_open2(z->a, z, NULL, zw_write, NULL, NULL) != ARCHIVE_OK) {
        /* every later call says so (zip_error) */
        z->failed = 1;
        odbk_err_set(&z->werr, ODBK_E_SOFTWARE, "zip: cannot start: %s", archive_error_string(z->a));
    }
    return z;
}

static int end_member(struct odbk_zip *z, struct odbk_err *err)
{
    if (!z->in_member)
        return 0;
    z->in_member = 0;
    if (archive_write_finish_entry(z->a) != ARCHIVE_OK)
        return zip_error(z, "cannot finish a member", err);
    return 0;
}

int odbk_zip_begin(struct odbk_zip *z, const char *name, int64_t size, time_t mtime, struct odbk_err *err)
{
    struct archive_entry *e;
    int r = 0;
    if (z->failed)
        return zip_error(z, "cannot start", err);
    if (end_member(z, err) < 0)
        return -1;
    e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, mtime ? mtime : odbk_now(), 0);
    if (size >= 0)
        archive_entry_set_size(e, size);
    else
        archive_entry_unset_size(e);    /* written with a data descriptor */
    if (archive_write_header(z->a, e) != ARCHIVE_OK)
        r = zip_error(z, name, err);
    else
        z->in_member = 1;
    archive_entry_free(e);
    return r;
}

int odbk_zip_data(struct odbk_zip *z, const void *buf, size_t len, struct odbk_err *err)
{
    const char *p = buf;
    while (len) {
        la_ssize_t n = archive_write_data(z->a, p, len);
        if (n <= 0)
            return zip_error(z, "cannot write a member", err);
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int odbk_zip_add_buffer(struct odbk_zip *z, const char *name, const void *buf, size_t len, struct odbk_err *err)
{
    if (odbk_zip_begin(z, name, (int64_t)len, 0, err) < 0 || odbk_zip_data(z, buf, len, err) < 0)
        return -1;
    return end_member(z, err);
}

struct zip_member {
    struct odbk_zip *z;
    const char *name;
    uint64_t size;    /* the bytes stored, once begun */
};

static int zip_member_begin(void *ctx, const struct stat *sb, struct odbk_err *err)
{
    struct zip_member *m = ctx;
    m->size = (uint64_t)sb->st_size;
    return odbk_zip_begin(m->z, m->name, sb->st_size, sb->st_mtime, err);
}

static int zip_member_data(void *ctx, const void *buf, size_t len, struct odbk_err *err)
{
    struct zip_member *m = ctx;
    return odbk_zip_data(m->z, buf, len, err);
}

static const struct odbk_member_sink zip_member_sink = {zip_member_begin, zip_member_data};

/* 1 when the file vanished before it was opened (nothing stored), else 0 or -1; *size the bytes stored */
static int add_file(struct odbk_zip *z, const char *full, const struct stat *expect, const char *name, char *buf,
                    uint64_t *size, struct odbk_err *err)
{
    struct zip_member m = {z, name, 0};
    int r = odbk_member_read_file(full, expect, buf, CHUNK, &zip_member_sink, &m, err);
    *size = m.size;
    if (r == 1)
        return 1;
    return r == 0 ? end_member(z, err) : -1;
}

struct zip_walk {
    struct odbk_zip *z;
    const char *prefix;
    char *buf;
    uint64_t files, bytes;
};

/* One entry of odbk_walk: regular files become members (Odoo's zip has no directory members). */
static int zip_entry(void *ctx, const char *rel, const char *full, const struct stat *sb, struct odbk_err *err)
{
    struct zip_walk *w = ctx;
    char *member;
    uint64_t size;
    int r;
    if (!sb || !S_ISREG(sb->st_mode))
        return 0;
    member = odbk_xasprintf("%s%s", w->prefix, rel);
    r = add_file(w->z, full, sb, member, w->buf, &size, err);
    free(member);
    if (r == 0) {
        w->files++;
        w->bytes += size;
    }
    return r < 0 ? -1 : 0;
}

int odbk_zip_add_dir(struct odbk_zip *z, const char *dir, const char *prefix, uint64_t *files, uint64_t *bytes,
                     struct odbk_err *err)
{
    struct zip_walk w = {z, prefix, odbk_xmalloc(CHUNK), 0, 0};
    int r = end_member(z, err);
    if (r == 0)
        r = odbk_walk(dir, zip_entry, &w, err);
    free(w.buf);
    if (files)
        *files = w.files;
    if (bytes)
        *bytes = w.bytes;
    return r;
}

int odbk_zip_close(struct odbk_zip *z, struct odbk_err *err)
{
    if (z->failed)
        return zip_error(z, "cannot start", err);
    if (end_member(z, err) < 0)
        return -1;
    if (archive_write_close(z->a) != ARCHIVE_OK)
        return zip_error(z, "cannot write the central directory", err);
    return 0;
}

void odbk_zip_free(struct odbk_zip *z)
{
    if (!z)
        return;
    archive_write_free(z->a);
    free(z);
}

/* the current member as a writer */
struct member_writer {
    struct odbk_writer w;
    struct odbk_zip *z;
};

static int mw_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    return odbk_zip_data(((struct member_writer *)w)->z, buf, len, err);
}

static int mw_finish(struct odbk_writer *w, struct odbk_err *err)
{
    return end_member(((struct member_writer *)w)->z, err);
}

static void mw_free(struct odbk_writer *w)
{
    free(w);
}

static const struct odbk_writer_ops member_ops = {"zip member", mw_write, mw_finish, NULL, mw_free};

struct odbk_writer *odbk_zip_member_writer_new(struct odbk_zip *z)
{
    struct member_writer *m = odbk_xcalloc(1, sizeof(*m));
    m->z = z;
    odbk_writer_init(&m->w, &member_ops, NULL);
    return &m->w;
}

/* a tar stream turned into members */
/* tar → zip: a tar visitor adding each regular file as a zip member under a prefix (Odoo's zip has no
 * directory members). */
struct tar2zip {
    struct odbk_zip *z;
    char *prefix;
};

static int t2z_begin(void *ctx, struct archive_entry *e, const char *name, struct odbk_err *err)
{
    struct tar2zip *t = ctx;
    char *member;
    int r;
    if (archive_entry_filetype(e) != AE_IFREG)
        return 0;
    member = odbk_xasprintf("%s%s", t->prefix, name);
    r = odbk_zip_begin(t->z, member, archive_entry_size(e), archive_entry_mtime(e), err);
    free(member);
    return r;
}

static int t2z_data(void *ctx, const void *buf, size_t len, int64_t off, struct odbk_err *err)
{
    struct tar2zip *t = ctx;
    (void)off;
    return odbk_zip_data(t->z, buf, len, err);
}

static int t2z_end(void *ctx, struct archive_entry *e, const char *name, struct odbk_err *err)
{
    struct tar2zip *t = ctx;
    (void)name;
    return archive_entry_filetype(e) == AE_IFREG ? end_member(t->z, err) : 0;
}

static const struct odbk_tar_visitor t2z_visitor = {t2z_begin, t2z_data, t2z_end};

static void t2z_free(void *ctx)
{
    struct tar2zip *t = ctx;
    free(t->prefix);
    free(t);
}

struct odbk_writer *odbk_zip_from_tar_writer_new(struct odbk_zip *z, const char *prefix)
{
    struct tar2zip *t = odbk_xcalloc(1, sizeof(*t));
    t->z = z;
    t->prefix = odbk_xstrdup(prefix);
    return odbk_tar_reader_new(&t2z_visitor, t, t2z_free);
}

/* ---- reading ---- */

struct unzip {
    struct odbk_writer *sql;
    char *fsdir;
    struct stat fsdir_id;         /* the directory fsdir must be (has_id) */
    int has_id;
    int dirfd;                    /* fsdir, opened at its first file */
    struct odbk_odoo_zip_stats *stats;
    struct odbk_pipe *pipe;
    /* the last two chunks handed to libarchive, kept so that the central directory, which the streaming
     * reader stops at, can be read from its first byte */
    char *bufs[2];
    uint64_t off[2];
    size_t len[2];
    int cur;
    uint64_t total;
};

static la_ssize_t uz_read(struct archive *a, void *ctx, const void **out)
{
    struct unzip *u = ctx;
    ssize_t n;
    u->cur = !u->cur;
    n = odbk_pipe_read(u->pipe, u->bufs[u->cur], CHUNK);
    if (n < 0) {
        archive_set_error(a, ECANCELED, "stream aborted");
        return -1;
    }
    u->off[u->cur] = u->total;
    u->len[u->cur] = (size_t)n;
    u->total += (uint64_t)n;
    *out = u->bufs[u->cur];
    return n;
}

#define CD_MAX (256u << 20)

static uint32_t le16(const unsigned char *p)
{
    return p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
    return le16(p) | le16(p + 2) << 16;
}

/* The local headers a streaming reader sees do not carry the file type; the central directory does.
 * Read it (from offset cd of the stream to the end) and refuse links and other non-files in it; a zip
 * without a complete central directory is truncated. */
static int check_central_directory(struct unzip *u, uint64_t cd, struct odbk_err *err)
{
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, pos = 0;
    int i, r = 0, old = !u->cur;
    ssize_t n;
    if (cd < u->off[old] || (cd < u->off[u->cur] && u->len[old] == 0))
        return odbk_err_set(err, ODBK_E_DATA, "cannot read the zip's central directory (read too far ahead)");
    for (i = 0; i < 2; i++) {
        int k = i == 0 ? old : u->cur;
        uint64_t start = cd > u->off[k] ? cd - u->off[k] : 0;
        if (start >= u->len[k])
            continue;
        cap = len + (u->len[k] - (size_t)start) + CHUNK;
        buf = odbk_xrealloc(buf, cap);
        memcpy(buf + len, u->bufs[k] + start, u->len[k] - (size_t)start);
        len += u->len[k] - (size_t)start;
    }
    for (;;) {
        if (cap - len < CHUNK) {
            if (cap > CD_MAX) {
                r = odbk_err_set(err, ODBK_E_DATA, "the zip's central directory is larger than %u MiB", CD_MAX >> 20);
                goto out;
            }
            cap = cap * 2 + CHUNK;
            buf = odbk_xrealloc(buf, cap);
        }
        n = odbk_pipe_read(u->pipe, buf + len, CHUNK);
        if (n < 0) {
            r = odbk_err_set(err, ODBK_E_DATA, "stream aborted");
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    while (pos + 46 <= len && le32(buf + pos) == 0x02014b50) {
        unsigned made_by = le16(buf + pos + 4), nl = le16(buf + pos + 28), el = le16(buf + pos + 30),
                 cl = le16(buf + pos + 32);
        uint32_t mode = le32(buf + pos + 38) >> 16;
        char *name;
        if (pos + 46 + nl > len)
            break;
        name = odbk_xstrndup((const char *)buf + pos + 46, nl);
        if (!odbk_member_name_ok(name))
            r = odbk_err_set(err, ODBK_E_DATA, "unsafe member name '%s' in the zip", name);
        else if ((made_by >> 8) == 3 && (mode & 0170000) == 0120000)
            r = odbk_err_set(err, ODBK_E_DATA, "member '%s' of the zip is a link", name);
        else if ((made_by >> 8) == 3 && (mode & 0170000) && (mode & 0170000) != 0100000 && (mode & 0170000) != 0040000)
            r = odbk_err_set(err, ODBK_E_DATA, "member '%s' of the zip is not a file or directory", name);
        free(name);
        if (r < 0)
            goto out;
        pos += 46 + nl + el + cl;
    }
    if (pos + 22 > len || (le32(buf + pos) != 0x06054b50 && le32(buf + pos) != 0x06064b50))
        r = odbk_err_set(err, ODBK_E_DATA, "the zip is truncated: its central directory is missing or incomplete");
out:
    free(buf);
    return r;
}

/* The pipe thread: read the zip as it streams in, each member to dump.sql's writer, the filestore directory
 * (by descriptor, odbk_open_below) or the manifest buffer. */
static int uz_consume(void *ctx, struct odbk_pipe *p, struct odbk_err *err)
{
    struct unzip *u = ctx;
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    int r = 0, rc, saw_sql = 0;
    u->pipe = p;
    u->bufs[0] = odbk_xmalloc(CHUNK);
    u->bufs[1] = odbk_xmalloc(CHUNK);
    archive_read_support_format_zip_streamable(a);
    if (archive_read_open(a, u, NULL, uz_read, NULL) != ARCHIVE_OK) {
        r = odbk_err_set(err, ODBK_E_DATA, "not a zip file: %s", archive_error_string(a));
        goto out;
    }
    while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        mode_t type = archive_entry_filetype(e);
        const void *blk;
        size_t len;
        la_int64_t off;
        int fd = -1;
        char *target = NULL, *manifest = NULL;
        size_t mlen = 0;
        struct odbk_writer *sql = NULL;
        if (!name || !odbk_member_name_ok(name)) {
            r = odbk_err_set(err, ODBK_E_DATA, "unsafe member name '%s' in the zip", name ? name : "");
            goto out;
        }
        if (archive_entry_symlink(e) || archive_entry_hardlink(e) || type == AE_IFLNK) {
            r = odbk_err_set(err, ODBK_E_DATA, "member '%s' of the zip is a link", name);
            goto out;
        }
        if (type != AE_IFREG && type != AE_IFDIR) {
            r = odbk_err_set(err, ODBK_E_DATA, "member '%s' of the zip is not a file or directory", name);
            goto out;
        }
        if (type == AE_IFDIR)
            continue;
        if (!strcmp(name, "dump.sql")) {
            if (saw_sql) {
                r = odbk_err_set(err, ODBK_E_DATA, "the zip holds dump.sql twice");
                goto out;
            }
            saw_sql = 1;
            sql = u->sql;
        } else if (!strcmp(name, "manifest.json")) {
            manifest = odbk_xmalloc(1);
        } else if (!strncmp(name, "filestore/", 10) && name[10] && u->fsdir) {
            /* written by descriptor below the directory opened once: whatever is renamed in the folder
             * holding it meanwhile, nothing is created anywhere else */
            if (u->dirfd < 0 && (u->dirfd = odbk_dir_open_made(u->fsdir, u->has_id ? &u->fsdir_id : NULL, err)) < 0) {
                r = -1;
                goto out;
            }
            target = odbk_xasprintf("%s/%s", u->fsdir, name + 10);
            fd = odbk_open_below(u->dirfd, name + 10, target, O_WRONLY | O_CREAT | O_EXCL, 0640, 0750, err);
            if (fd < 0) {
                r = -1;
                free(target);
                goto out;
            }
        }
        while ((rc = archive_read_data_block(a, &blk, &len, &off)) == ARCHIVE_OK) {
            if (len == 0)
                continue;       /* a stored member's empty block comes with a NULL pointer */
            if (sql) {
                if (odbk_writer_write(sql, blk, len, err) < 0) {
                    r = -1;
                    break;
                }
                u->stats->sql_bytes += len;
            } else if (manifest) {
                if (mlen + len > (1 << 20)) {
                    r = odbk_err_set(err, ODBK_E_DATA, "manifest.json of the zip is larger than 1 MiB");
                    break;
                }
                manifest = odbk_xrealloc(manifest, mlen + len + 1);
                memcpy(manifest + mlen, blk, len);
                mlen += len;
            } else if (fd >= 0) {
                const char *q = blk;
                size_t left = len;
                while (left) {
                    ssize_t w = write(fd, q, left);
                    if (w < 0 && errno == EINTR)
                        continue;
                    if (w < 0) {
                        r = odbk_err_sys(err, ODBK_E_IO, "cannot write '%s'", target);
                        break;
                    }
                    q += w;
                    left -= (size_t)w;
                }
                if (r < 0)
                    break;
                u->stats->bytes += len;
            }
        }
        if (r == 0 && rc != ARCHIVE_EOF)
            r = odbk_err_set(err, ODBK_E_DATA, "the zip is damaged or truncated at '%s': %s", name,
                             archive_error_string(a) ? archive_error_string(a) : "unexpected end of data");
        if (fd >= 0) {
            if (close(fd) != 0 && r == 0)
                r = odbk_err_sys(err, ODBK_E_IO, "cannot write '%s'", target);
            u->stats->files++;
            odbk_pause_point("pause-in-load");   /* test-only: a folder swapped while the load runs */
        }
        free(target);
        if (manifest) {
            manifest[mlen] = '\0';
            free(u->stats->manifest);
            u->stats->manifest = manifest;
        }
        if (sql && r == 0)
            r = odbk_writer_finish(sql, err);   /* psql's verdict on the dump, now */
        if (r < 0)
            goto out;
    }
    if (rc != ARCHIVE_EOF) {
        r = odbk_err_set(err, ODBK_E_DATA, "the zip is damaged or truncated: %s",
                         archive_error_string(a) ? archive_error_string(a) : "unexpected end of data");
        goto out;
    }
    if (!saw_sql) {
        r = odbk_err_set(err, ODBK_E_DATA, "the zip has no dump.sql: not an Odoo backup");
        goto out;
    }
    r = check_central_directory(u, (uint64_t)archive_read_header_position(a), err);
out:
    if (r < 0 && u->sql)
        odbk_writer_abort(u->sql);
    archive_read_free(a);
    free(u->bufs[0]);
    free(u->bufs[1]);
    u->bufs[0] = u->bufs[1] = NULL;
    return r;
}

static void uz_free(void *ctx)
{
    struct unzip *u = ctx;
    if (u->dirfd >= 0)
        close(u->dirfd);
    free(u->fsdir);
    free(u);
}

struct odbk_writer *odbk_odoo_zip_reader_new(struct odbk_writer *sql, const char *fsdir, const struct stat *fsdir_id,
                                             struct odbk_odoo_zip_stats *stats)
{
    struct unzip *u = odbk_xcalloc(1, sizeof(*u));
    u->sql = sql;
    u->fsdir = fsdir ? odbk_xstrdup(fsdir) : NULL;
    if ((u->has_id = fsdir_id != NULL))
        u->fsdir_id = *fsdir_id;
    u->dirfd = -1;
    u->stats = stats;
    memset(stats, 0, sizeof(*stats));
    return odbk_pipe_writer_new(uz_consume, u, uz_free, 4 << 20);
}
