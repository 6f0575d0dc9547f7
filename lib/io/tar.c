/* tar.c - directory ↔ tar stream through libarchive, streaming both ways. */
#include "io/tar.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
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

/* A tar stream written member by member (tar.h): the filestore walk's, and the packs' of the incremental
 * filestore. */
struct odbk_tar_out {
    struct archive *a;
    struct tw t;
    char *buf;
};

static int tar_error(struct odbk_tar_out *o, struct odbk_err *err)
{
    return o->t.failed ? -1 : odbk_err_set(err, ODBK_E_IO, "tar: %s", archive_error_string(o->a));
}

static int same_file_state(const struct stat *a, const struct stat *b)
{
    return a->st_size == b->st_size && a->st_ino == b->st_ino && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}
/* Test-only: ODBK_FAILPOINT=grow-while-read[:N] appends a byte to each file (the first N) after its first
 * read, as a writer would; the only way to make that race happen on cue. */
static void failpoint_grow(const char *full)
{
    int fd;
    if (!odbk_failpoint("grow-while-read"))
        return;
    fd = open(full, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, "+", 1) != 1) {
            /* nothing to do: the failpoint simply did not fire */
        }
        close(fd);
    }
}

static int changed_error(const char *full, struct odbk_err *err)
{
    odbk_err_set(err, ODBK_E_TEMPFAIL, "'%s' changed while being read", full);
    odbk_err_hint(err, "a program was writing it during the backup; run the backup again");
    return -1;
}

/* Read up to want bytes at the current offset: the count read, or -1 on a read error. */
static ssize_t read_full(int fd, char *buf, size_t want)
{
    size_t got = 0;
    while (got < want) {
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int odbk_member_read_file(const char *full, const struct stat *expect, char *buf, size_t bufsize,
                          const struct odbk_member_sink *sink, void *ctx, struct odbk_err *err)
{
    struct stat before, after;
    int fd, r = -1, attempt;
    char extra;
    ssize_t got;
    uint64_t left;
    odbk_pause_point("pause-before-read");   /* test-only: a file swapped for a link after the walk saw it */
    /* non-blocking until it is known to be the file vetted: a FIFO or a device swapped in must not hang
     * the backup or be opened for its side effects as root */
    fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;             /* deleted while we walked (Odoo's garbage collection) */
        return odbk_err_sys(err, ODBK_E_IO, "cannot open '%s'", full);
    }
    /* the file the walk vetted, not one a link swapped in since (or a folder on the way swapped for a link) */
    if (expect && (fstat(fd, &before) != 0 || !odbk_same_file(&before, expect))) {
        odbk_err_set(err, ODBK_E_TEMPFAIL, "'%s' was replaced while being read", full);
        odbk_err_hint(err, "something changed the filestore during the backup; run it again");
        goto out;
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
        odbk_err_sys(err, ODBK_E_IO, "cannot read '%s'", full);
        goto out;
    }
    for (attempt = 0; attempt < 3; attempt++) {
        if (fstat(fd, &before) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
            odbk_err_sys(err, ODBK_E_IO, "cannot read '%s'", full);
            goto out;
        }
        if ((uint64_t)before.st_size >= bufsize)
            break;                /* too big to hold: streamed below */
        got = read_full(fd, buf, bufsize);
        if (got < 0) {
            odbk_err_sys(err, ODBK_E_IO, "cannot read '%s'", full);
            goto out;
        }
        if (got > 0)
            failpoint_grow(full);
        if (fstat(fd, &after) != 0) {
            odbk_err_sys(err, ODBK_E_IO, "cannot read '%s'", full);
            goto out;
        }
        if (got == before.st_size && same_file_state(&before, &after)) {
            r = sink->begin(ctx, &before, err) < 0 || sink->data(ctx, buf, (size_t)got, err) < 0 ? -1 : 0;
            goto out;
        }
    }
    if (attempt == 3) {
        changed_error(full, err);
        goto out;
    }
    /* a big file: its header is written before its bytes, so a change can only fail the backup */
    if (sink->begin(ctx, &before, err) < 0)
        goto out;
    left = (uint64_t)before.st_size;
    while (left) {
        got = read_full(fd, buf, left < bufsize ? left : bufsize);
        if (got < 0) {
            odbk_err_sys(err, ODBK_E_IO, "cannot read '%s'", full);
            goto out;
        }
        if (got == 0) {
            changed_error(full, err);      /* it shrank */
            goto out;
        }
        if (left == (uint64_t)before.st_size)
            failpoint_grow(full);
        if (sink->data(ctx, buf, (size_t)got, err) < 0)
            goto out;
        left -= (uint64_t)got;
    }
    if (read_full(fd, &extra, 1) != 0 || fstat(fd, &after) != 0 || !same_file_state(&before, &after)) {
        changed_error(full, err);          /* it grew, or was rewritten */
        goto out;
    }
    r = 0;
out:
    close(fd);
    return r;
}

struct tar_member {
    struct odbk_tar_out *o;
    const char *rel;
    struct archive_entry *e;
    struct stat *stored;          /* out: what was stored (size, mode, mtime) */
    void (*observe)(void *, const void *, size_t);
    void *octx;
};

/* Names byte for byte.  libarchive converts a name from the locale's charset to the pax header's UTF-8,
 * which refuses any byte above 0x7f in odbk's C locale, and with it the whole backup: a tree holding such a
 * name (rare: Odoo's own names are hex) is written with hdrcharset=BINARY, its names as they are on disk.
 * Every other tree keeps the plain headers any tar reads without a warning (GNU tar 1.34 warns about
 * hdrcharset, though it extracts the names right). */
int odbk_tar_name_binary(const char *name)
{
    const unsigned char *p;
    for (p = (const unsigned char *)name; *p; p++)
        if (*p >= 0x80)
            return 1;
    return 0;
}

static int ascii_entry(void *ctx, const char *rel, const char *full, const struct stat *sb, struct odbk_err *err)
{
    if (!odbk_tar_name_binary(rel))
        return 0;
    *(int *)ctx = 1;
    return -1;                    /* one is enough */
}

static int needs_binary_names(const char *dir)
{
    int found = 0;
    struct odbk_err ignored = {0};
    odbk_walk(dir, ascii_entry, &found, &ignored);
    return found;
}

static int tar_member_begin(void *ctx, const struct stat *sb, struct odbk_err *err)
{
    struct tar_member *m = ctx;
    m->e = archive_entry_new();
    archive_entry_copy_pathname(m->e, m->rel);
    archive_entry_set_filetype(m->e, AE_IFREG);
    archive_entry_set_perm(m->e, sb->st_mode & 07777);
    archive_entry_set_size(m->e, sb->st_size);
    archive_entry_set_mtime(m->e, sb->st_mtime, 0);
    m->o->t.err = err;
    if (archive_write_header(m->o->a, m->e) != ARCHIVE_OK)
        return tar_error(m->o, err);
    *m->stored = *sb;
    return 0;
}

static int tar_member_data(void *ctx, const void *buf, size_t len, struct odbk_err *err)
{
    struct tar_member *m = ctx;
    m->o->t.err = err;
    if (archive_write_data(m->o->a, buf, len) < 0)
        return tar_error(m->o, err);
    if (m->observe)
        m->observe(m->octx, buf, len);
    return 0;
}

static const struct odbk_member_sink tar_member_sink = {tar_member_begin, tar_member_data};

struct odbk_tar_out *odbk_tar_out_new(struct odbk_writer *dst, int binary_names, struct odbk_err *err)
{
    struct odbk_tar_out *o = odbk_xcalloc(1, sizeof(*o));
    o->a = archive_write_new();
    o->t.dst = dst;
    o->t.err = err;
    archive_write_set_format_pax_restricted(o->a);
    if (binary_names)
        archive_write_set_format_option(o->a, "pax", "hdrcharset", "BINARY");
    archive_write_set_bytes_per_block(o->a, 64 * 1024);
    archive_write_set_bytes_in_last_block(o->a, 1);
    if (archive_write_open2(o->a, &o->t, NULL, tw_write, NULL, NULL) != ARCHIVE_OK) {
        odbk_err_set(err, ODBK_E_IO, "tar: %s", archive_error_string(o->a));
        odbk_tar_out_free(o);
        return NULL;
    }
    o->buf = odbk_xmalloc(CHUNK);
    return o;
}

int odbk_tar_out_dir(struct odbk_tar_out *o, const char *rel, const struct stat *sb, struct odbk_err *err)
{
    struct archive_entry *e = archive_entry_new();
    int r = 0;
    archive_entry_copy_pathname(e, rel);
    archive_entry_set_filetype(e, AE_IFDIR);
    archive_entry_set_perm(e, sb->st_mode & 07777);
    archive_entry_set_mtime(e, sb->st_mtime, 0);
    o->t.err = err;
    if (archive_write_header(o->a, e) != ARCHIVE_OK)
        r = tar_error(o, err);
    archive_entry_free(e);
    return r;
}

int odbk_tar_out_file(struct odbk_tar_out *o, const char *rel, const char *full, const struct stat *sb,
                      void (*observe)(void *ctx, const void *buf, size_t len), void *ctx, struct stat *stored,
                      struct odbk_err *err)
{
    struct stat ignored;
    struct tar_member m = {o, rel, NULL, stored ? stored : &ignored, observe, ctx};
    int r = odbk_member_read_file(full, sb, o->buf, CHUNK, &tar_member_sink, &m, err);
    archive_entry_free(m.e);
    return r;
}

int odbk_tar_out_close(struct odbk_tar_out *o, struct odbk_err *err)
{
    o->t.err = err;
    if (archive_write_close(o->a) != ARCHIVE_OK)
        return o->t.failed ? -1 : odbk_err_set(err, ODBK_E_IO, "tar: %s", archive_error_string(o->a));
    return 0;
}

void odbk_tar_out_free(struct odbk_tar_out *o)
{
    if (!o)
        return;
    archive_write_free(o->a);
    free(o->buf);
    free(o);
}

/* One entry of the filestore walk (odbk_walk): a directory header, or a file's header and contents. */
struct tar_walk {
    struct odbk_tar_out *o;
    struct odbk_tar_stats *stats;
};

static int tar_entry(void *ctx, const char *rel, const char *full, const struct stat *sb, struct odbk_err *err)
{
    struct tar_walk *w = ctx;
    struct stat stored;
    int r;
    if (!sb) {                        /* deleted while we walked (Odoo's garbage collection) */
        w->stats->vanished++;
        return 0;
    }
    if (S_ISDIR(sb->st_mode))
        return odbk_tar_out_dir(w->o, rel, sb, err);
    if (!S_ISREG(sb->st_mode))
        return 0;                     /* sockets, fifos, devices: not part of an Odoo filestore */
    r = odbk_tar_out_file(w->o, rel, full, sb, NULL, NULL, &stored, err);
    if (r == 1) {
        w->stats->vanished++;
    } else if (r == 0) {
        w->stats->files++;
        w->stats->bytes += (uint64_t)stored.st_size;
    }
    return r < 0 ? -1 : 0;
}

int odbk_tar_write_dir(const char *dir, struct odbk_writer *dst, struct odbk_tar_stats *stats,
                       struct odbk_err *err)
{
    struct stat sb;
    struct tar_walk w;
    int r;
    memset(stats, 0, sizeof(*stats));
    if (stat(dir, &sb) != 0) {
        odbk_err_sys(err, ODBK_E_NOINPUT, "filestore directory '%s' is missing", dir);
        odbk_err_hint(err, "set 'filestore =' of the env, or use --no-filestore");
        return -1;
    }
    if (!S_ISDIR(sb.st_mode))
        return odbk_err_set(err, ODBK_E_NOINPUT, "filestore '%s' is not a directory", dir);
    w.o = odbk_tar_out_new(dst, needs_binary_names(dir), err);
    w.stats = stats;
    if (!w.o)
        return -1;
    r = odbk_walk(dir, tar_entry, &w, err);
    if (r == 0)
        r = odbk_tar_out_close(w.o, err);
    odbk_tar_out_free(w.o);
    return r;
}

/* ---- reading ---- */

int odbk_member_name_ok(const char *name)
{
    const char *p = name;
    int parts = 0;
    if (!name || !*name || *name == '/' || *name == '\\')
        return 0;
    while (*p) {
        size_t len = strcspn(p, "/");
        if ((len == 2 && p[0] == '.' && p[1] == '.') || ++parts > ODBK_TREE_DEPTH_MAX + 1)
            return 0;
        p += len;
        while (*p == '/')
            p++;
    }
    return 1;
}

struct tar_reader {
    const struct odbk_tar_visitor *v;
    void *ctx;
    void (*free_ctx)(void *);
    struct odbk_pipe *pipe;
    char *buf;
};

static la_ssize_t reader_read(struct archive *a, void *ctx, const void **out)
{
    struct tar_reader *t = ctx;
    ssize_t n = odbk_pipe_read(t->pipe, t->buf, CHUNK);
    if (n < 0) {
        archive_set_error(a, ECANCELED, "stream aborted");
        return -1;
    }
    *out = t->buf;
    return n;
}

static int reader_consume(void *ctx, struct odbk_pipe *p, struct odbk_err *err)
{
    struct tar_reader *t = ctx;
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    char *name = NULL;
    int r = -1, rc;
    t->pipe = p;
    t->buf = odbk_xmalloc(CHUNK);
    archive_read_support_format_tar(a);
    if (archive_read_open(a, t, NULL, reader_read, NULL) != ARCHIVE_OK) {
        odbk_err_set(err, ODBK_E_DATA, "not a tar stream: %s", archive_error_string(a));
        goto out;
    }
    while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *raw = archive_entry_pathname(e);
        mode_t type = archive_entry_filetype(e);
        const void *blk;
        size_t len;
        la_int64_t off;
        free(name);
        name = NULL;
        if (!odbk_member_name_ok(raw)) {
            odbk_err_set(err, ODBK_E_DATA, "unsafe member name '%s' in the filestore archive (absolute, with '..', or "
                         "more than %d folders deep)", raw ? raw : "", ODBK_TREE_DEPTH_MAX);
            goto out;
        }
        if (archive_entry_hardlink(e) || archive_entry_symlink(e)) {
            odbk_err_set(err, ODBK_E_DATA, "member '%s' of the filestore archive is a link", raw);
            goto out;
        }
        if (type != AE_IFREG && type != AE_IFDIR) {
            odbk_err_set(err, ODBK_E_DATA, "member '%s' of the filestore archive is not a file or directory", raw);
            goto out;
        }
        name = odbk_xstrdup(raw);   /* raw points into e, which begin may change */
        if (t->v->begin(t->ctx, e, name, err) < 0)
            goto out;
        while ((rc = archive_read_data_block(a, &blk, &len, &off)) == ARCHIVE_OK)
            if (t->v->data(t->ctx, blk, len, off, err) < 0)
                goto out;
        if (rc != ARCHIVE_EOF) {
            odbk_err_set(err, ODBK_E_DATA, "filestore archive is damaged at '%s': %s", name, archive_error_string(a));
            goto out;
        }
        if (t->v->end(t->ctx, e, name, err) < 0)
            goto out;
    }
    if (rc != ARCHIVE_EOF) {
        odbk_err_set(err, ODBK_E_DATA, "filestore archive is damaged: %s", archive_error_string(a));
        goto out;
    }
    /* the tar's end-of-archive padding */
    while (odbk_pipe_read(p, t->buf, CHUNK) > 0)
        ;
    r = 0;
out:
    free(name);
    archive_read_free(a);
    free(t->buf);
    t->buf = NULL;
    return r;
}

static void reader_free(void *ctx)
{
    struct tar_reader *t = ctx;
    if (t->free_ctx)
        t->free_ctx(t->ctx);
    free(t);
}

struct odbk_writer *odbk_tar_reader_new(const struct odbk_tar_visitor *v, void *ctx, void (*free_ctx)(void *))
{
    struct tar_reader *t = odbk_xcalloc(1, sizeof(*t));
    t->v = v;
    t->ctx = ctx;
    t->free_ctx = free_ctx;
    return odbk_pipe_writer_new(reader_consume, t, reader_free, 4 << 20);
}

/* ---- extraction: a visitor writing each member under dir ---- */

struct untar {
    char *dir;
    struct stat dir_id;           /* the directory dir must be (has_id) */
    int has_id;
    struct odbk_tar_stats *stats;
    struct archive *disk;
    int inside;                   /* this thread's working directory is dir */
};

/* libarchive writes by path.  The folder holding dir may belong to a hostile user who renames dir and
 * puts a link in its place: so the extracting thread (this pipe thread only: CLONE_FS unshared) works in
 * dir itself, opened once without following a link and checked to be the directory the restore made,
 * and gives
 * libarchive names relative to it; inside dir (mode 0700 until the restore hands it over) nobody else
 * can change anything. */
static int untar_enter(struct untar *u, struct odbk_err *err)
{
    int fd, r;
    if (u->inside)
        return 0;
    if (unshare(CLONE_FS) != 0)
        return odbk_err_sys(err, ODBK_E_OSERR, "cannot extract into '%s': unshare", u->dir);
    if ((fd = odbk_dir_open_made(u->dir, u->has_id ? &u->dir_id : NULL, err)) < 0)
        return -1;
    r = fchdir(fd);
    close(fd);
    if (r != 0)
        return odbk_err_sys(err, ODBK_E_IO, "cannot enter '%s'", u->dir);
    u->inside = 1;
    return 0;
}

static int untar_begin(void *ctx, struct archive_entry *e, const char *name, struct odbk_err *err)
{
    struct untar *u = ctx;
    if (untar_enter(u, err) < 0)
        return -1;
    archive_entry_set_pathname(e, name);
    /* the permission bits only: a setuid or setgid bit from an archive (which, run as root, libarchive keeps
     * for a member of uid 0) would make a hostile filestore a way to root */
    archive_entry_set_perm(e, archive_entry_perm(e) & 0777);
    if (archive_write_header(u->disk, e) != ARCHIVE_OK)
        return odbk_err_set(err, ODBK_E_IO, "cannot extract '%s': %s", name, archive_error_string(u->disk));
    return 0;
}

static int untar_data(void *ctx, const void *buf, size_t len, int64_t off, struct odbk_err *err)
{
    struct untar *u = ctx;
    if (archive_write_data_block(u->disk, buf, len, off) != ARCHIVE_OK)
        return odbk_err_set(err, ODBK_E_IO, "cannot write to '%s': %s", u->dir, archive_error_string(u->disk));
    u->stats->bytes += len;
    return 0;
}

static int untar_end(void *ctx, struct archive_entry *e, const char *name, struct odbk_err *err)
{
    struct untar *u = ctx;
    if (archive_write_finish_entry(u->disk) != ARCHIVE_OK)
        return odbk_err_set(err, ODBK_E_IO, "cannot finish '%s': %s", name, archive_error_string(u->disk));
    if (archive_entry_filetype(e) == AE_IFREG) {
        u->stats->files++;
        odbk_pause_point("pause-in-load");   /* test-only: a folder swapped while the load runs */
    }
    return 0;
}

static const struct odbk_tar_visitor untar_visitor = {untar_begin, untar_data, untar_end};

static void free_untar(void *ctx)
{
    struct untar *u = ctx;
    archive_write_free(u->disk);
    free(u->dir);
    free(u);
}

struct odbk_writer *odbk_untar_writer_new(const char *dir, const struct stat *dir_id, struct odbk_tar_stats *stats)
{
    struct untar *u = odbk_xcalloc(1, sizeof(*u));
    u->dir = odbk_xstrdup(dir);
    if ((u->has_id = dir_id != NULL))
        u->dir_id = *dir_id;
    u->stats = stats;
    memset(stats, 0, sizeof(*stats));
    u->disk = archive_write_disk_new();
    /* member names are checked (odbk_member_name_ok) and given relative to dir, the thread's directory */
    archive_write_disk_set_options(u->disk, ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_PERM |
                                                ARCHIVE_EXTRACT_TIME);
    return odbk_tar_reader_new(&untar_visitor, u, free_untar);
}
