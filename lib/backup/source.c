/* source.c - the sources a restore (and a download) reads a backup from (source.h). */
#include "backup/source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/format.h"
#include "backup/report.h"
#include "common/util.h"
#include "net/curl.h"

#define CHUNK (1024 * 1024)

/* ---- reading files and URLs ---- */

int odbk_read_path(const char *path, struct odbk_writer *dst, struct odbk_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
    char *buf;
    if (fd < 0)
        return odbk_err_sys(err, errno == ENOENT ? ODBK_E_NOINPUT : ODBK_E_IO, "cannot open '%s'", path);
    buf = odbk_xmalloc(CHUNK);
    for (;;) {
        size_t have = 0;
        ssize_t n = 0;
        /* full 1 MiB chunks, whatever read() returns */
        while (have < CHUNK && (n = read(fd, buf + have, CHUNK - have)) != 0) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                break;
            have += (size_t)n;
        }
        if (n < 0) {
            r = odbk_err_sys(err, ODBK_E_IO, "cannot read '%s'", path);
            break;
        }
        if (have && odbk_writer_write(dst, buf, have, err) < 0) {
            r = -1;
            break;
        }
        if (have < CHUNK)
            break;
    }
    free(buf);
    close(fd);
    return r;
}

struct url_read {
    struct odbk_writer *dst;
    struct odbk_err *err;
    char *buf;
    size_t have;
    int failed;
};

static size_t url_write(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct url_read *u = ctx;
    size_t len = size * nmemb, done = 0;
    while (done < len) {
        size_t n = CHUNK - u->have < len - done ? CHUNK - u->have : len - done;
        memcpy(u->buf + u->have, data + done, n);
        u->have += n;
        done += n;
        if (u->have == CHUNK) {
            if (odbk_writer_write(u->dst, u->buf, u->have, u->err) < 0) {
                u->failed = 1;
                return 0;
            }
            u->have = 0;
        }
    }
    return len;
}

static char *url_label(const char *url)
{
    return odbk_xstrndup(url, strcspn(url, "?#"));
}

int odbk_read_url(const char *url, struct odbk_writer *dst, struct odbk_err *err)
{
    static const struct odbk_curl_opts opts = {.protocols = "http,https", .connect_timeout = 30, .stall = 120};
    struct odbk_curl *c = odbk_curl_new();
    struct url_read u = {dst, err, NULL, 0, 0};
    char *label = url_label(url);
    CURLcode rc;
    int r = 0;
    u.buf = odbk_xmalloc(CHUNK);
    odbk_curl_setup(c, &opts);
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    curl_easy_setopt(c->h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c->h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c->h, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, url_write);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &u);
    rc = odbk_curl_perform(c);
    if (u.failed) {
        r = -1;
    } else if (rc != CURLE_OK) {
        long code = odbk_curl_status(c);
        enum odbk_errcode kind = odbk_curl_kind(CURLE_OK, code);
        if (kind == ODBK_E_NOINPUT || kind == ODBK_E_PERM)
            r = odbk_err_set(err, kind, "'%s': HTTP %ld", label, code);
        else
            r = odbk_err_set(err, ODBK_E_UNAVAILABLE, "cannot download '%s': %s", label, odbk_curl_why(c, rc));
    } else if (u.have && odbk_writer_write(dst, u.buf, u.have, err) < 0) {
        r = -1;
    }
    free(u.buf);
    free(label);
    odbk_curl_free(c);
    return r;
}

/* ---- the first bytes of a file, checked as they stream ---- */

struct magic_filter {
    struct odbk_writer w;
    const struct odbk_format_ops *fmt;
    size_t len, seen;
    const char *what;
};

static int magic_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct magic_filter *m = (struct magic_filter *)w;
    const unsigned char *p = buf;
    size_t i;
    for (i = 0; i < len && m->seen < m->len; i++, m->seen++)
        if (p[i] != (unsigned char)m->fmt->magic[m->seen])
            return odbk_err_set(err, ODBK_E_DATA, "'%s' is not %s", m->what, m->fmt->what);
    return odbk_writer_write(w->next, buf, len, err);
}

static int magic_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct magic_filter *m = (struct magic_filter *)w;
    if (m->seen < m->len)
        return odbk_err_set(err, ODBK_E_DATA, "'%s' is empty or truncated", m->what);
    return 0;
}

static void magic_free(struct odbk_writer *w)
{
    free(w);
}

static const struct odbk_writer_ops magic_ops = {"magic", magic_write, magic_finish, NULL, magic_free};

static struct odbk_writer *magic_new(const struct odbk_format_ops *fmt, const char *what, struct odbk_writer *next)
{
    struct magic_filter *m = odbk_xcalloc(1, sizeof(*m));
    m->fmt = fmt;
    m->len = strlen(fmt->magic);
    m->what = what;
    odbk_writer_init(&m->w, &magic_ops, next);
    return &m->w;
}

/* ---- opening ---- */

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcasecmp(s + a - b, suffix);
}

static int find_backup(struct odbk_catalog *cat, const struct odbk_restore_opts *o, struct odbk_backup *b,
                       struct odbk_err *err)
{
    struct odbk_backup_filter f = {0};
    const char *envs[2] = {o->latest_env, NULL};
    struct odbk_backup *v = NULL;
    size_t n = 0;
    if (o->backup_id)
        return odbk_catalog_backup_get(cat, o->backup_id, b, err);
    f.envs = envs;
    f.status = ODBK_STATUS_COMPLETED;
    f.type = o->latest_type;
    f.limit = 1;
    if (odbk_catalog_backup_list(cat, &f, &v, &n, err) < 0)
        return -1;
    if (!n) {
        free(v);
        odbk_err_set(err, ODBK_E_NOINPUT, "environment '%s' has no completed%s%s backup", o->latest_env,
                     o->latest_type ? " " : "", o->latest_type ? o->latest_type : "");
        odbk_err_hint(err, "odbk-list %s shows its backups", o->latest_env);
        return -1;
    }
    *b = v[0];
    free(v);
    return 0;
}

static const char *NOT_RESTORABLE_HINT =
    "odbk restores Odoo's .zip (dump.sql, filestore/, manifest.json in any order), Odoo's .dump (pg_dump custom "
    "format) and odbk backup folders";

/* fill the source from a parsed manifest */
static int from_manifest(struct odbk_source *src, const char *what, struct odbk_err *err)
{
    src->has_manifest = 1;
    free(src->format);
    src->format = odbk_xstrdup(src->m.format);
    free(src->env);
    src->env = odbk_xstrdup(src->m.env ? src->m.env : "");
    free(src->id);
    src->id = odbk_xstrdup(src->m.id ? src->m.id : "");
    free(src->odoo_series);
    src->odoo_series = odbk_xstrdup(src->m.odoo_version ? src->m.odoo_version : "");
    if (!(src->fmt = odbk_format_find(src->format)))
        return odbk_err_set(err, ODBK_E_DATA, "%s has format '%s', which this odbk cannot restore", what,
                            src->format);
    if (!odbk_source_file(src, src->fmt->main_role))
        return odbk_err_set(err, ODBK_E_DATA, "the manifest of %s lists no %s file", what, src->fmt->main_role);
    src->has_filestore = src->fmt->filestore == ODBK_FORMAT_FS_INSIDE || odbk_source_file(src, "filestore") != NULL;
    return 0;
}

static int open_folder(struct odbk_source *src, const char *dir, struct odbk_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char *mpath = NULL, *json = NULL;
    int r = -1, n = 0;
    if (!d)
        return odbk_err_sys(err, ODBK_E_NOINPUT, "cannot read directory '%s'", dir);
    while ((de = readdir(d)))
        if (ends_with(de->d_name, "-manifest.json") && n++ == 0)
            mpath = odbk_xasprintf("%s/%s", dir, de->d_name);
    closedir(d);
    if (n != 1) {
        odbk_err_set(err, ODBK_E_DATA, "'%s' is not an odbk backup folder (%s manifest)", dir,
                     n ? "more than one" : "no");
        odbk_err_hint(err, "%s", NOT_RESTORABLE_HINT);
        goto out;
    }
    if (odbk_read_small_file(mpath, 16 << 20, &json, err) < 0 || odbk_manifest_parse(json, mpath, &src->m, err) < 0)
        goto out;
    src->kind = ODBK_SOURCE_FOLDER;
    src->dir = odbk_xstrdup(dir);
    src->label = odbk_xstrdup(dir);
    r = from_manifest(src, mpath, err);
out:
    free(json);
    free(mpath);
    return r;
}

/* Give a single file the format its name's extension says (NULL when no format has that extension). */
static const struct odbk_format_ops *format_by_suffix(struct odbk_source *src, const char *name)
{
    size_t i;
    for (i = 0; odbk_formats[i]; i++)
        if (odbk_formats[i]->suffix && ends_with(name, odbk_formats[i]->suffix)) {
            src->fmt = odbk_formats[i];
            src->format = odbk_xstrdup(src->fmt->name);
            src->has_filestore = src->fmt->filestore != ODBK_FORMAT_FS_NONE;
            return src->fmt;
        }
    return NULL;
}

static int open_file(struct odbk_source *src, const char *path, struct odbk_err *err)
{
    struct stat sb;
    unsigned char head[64];
    ssize_t n = 0;
    int fd;
    if (stat(path, &sb) != 0)
        return odbk_err_sys(err, errno == ENOENT ? ODBK_E_NOINPUT : ODBK_E_IO, "cannot open '%s'", path);
    if (S_ISDIR(sb.st_mode))
        return open_folder(src, path, err);
    if (ends_with(path, "-manifest.json")) {
        char *dir = odbk_dirname(path);
        int r = open_folder(src, dir, err);
        free(dir);
        return r;
    }
    src->kind = ODBK_SOURCE_FILE;
    src->path = odbk_xstrdup(path);
    src->label = odbk_xstrdup(path);
    if (!S_ISREG(sb.st_mode))
        return odbk_err_set(err, ODBK_E_DATA, "'%s' is not a regular file", path);
    if (!format_by_suffix(src, path)) {
        odbk_err_set(err, ODBK_E_DATA, "'%s' is not a backup odbk can restore (expected .zip, .dump or an odbk "
                     "backup folder)", path);
        odbk_err_hint(err, "%s", NOT_RESTORABLE_HINT);
        return -1;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return odbk_err_sys(err, ODBK_E_IO, "cannot open '%s'", path);
    n = read(fd, head, sizeof(head));
    close(fd);
    /* the first bytes, checked before anything is touched */
    return src->fmt->detect(path, head, n < 0 ? 0 : (size_t)n, err);
}

/* A sink that keeps the first `max` bytes, then stops the transfer (the probe of --from-url). */
struct peek_sink {
    struct odbk_writer w;
    unsigned char *buf;
    size_t len, max;
};

static int peek_write(struct odbk_writer *w, const void *data, size_t len, struct odbk_err *err)
{
    struct peek_sink *p = (struct peek_sink *)w;
    size_t n = p->max - p->len < len ? p->max - p->len : len;
    memcpy(p->buf + p->len, data, n);
    p->len += n;
    if (p->len == p->max)
        return odbk_err_set(err, ODBK_E_NONE, "enough");   /* stop: the probe has what it needs */
    return 0;
}

static void peek_free(struct odbk_writer *w)
{
    free(w);
}

static const struct odbk_writer_ops peek_ops = {"probe", peek_write, NULL, NULL, peek_free};

static int open_url(struct odbk_source *src, const char *url, struct odbk_err *err)
{
    char *label = url_label(url);
    src->kind = ODBK_SOURCE_URL;
    src->url = odbk_xstrdup(url);
    src->label = label;
    if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
        return odbk_err_set(err, ODBK_E_USAGE, "--from-url: '%s' is not an http or https URL", label);
    if (!format_by_suffix(src, label)) {
        odbk_err_set(err, ODBK_E_DATA, "'%s' does not name an Odoo .zip or .dump file", label);
        odbk_err_hint(err, "%s; an odbk backup folder is restored with --from-file", NOT_RESTORABLE_HINT);
        return -1;
    }
    {
        /* probe: the server answers and the file starts as it should, before any database is touched */
        unsigned char head[64];
        struct peek_sink p;
        struct odbk_err pe = {0};
        memset(&p, 0, sizeof(p));
        p.buf = head;
        p.max = sizeof(head);
        odbk_writer_init(&p.w, &peek_ops, NULL);
        if (odbk_read_url(url, &p.w, &pe) < 0 && pe.code != ODBK_E_NONE) {
            *err = pe;
            return -1;
        }
        return src->fmt->detect(label, head, p.len, err);
    }
}

int odbk_source_open(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct odbk_restore_opts *o,
                     struct odbk_source *src, struct odbk_err *err)
{
    memset(src, 0, sizeof(*src));
    src->env = odbk_xstrdup("");
    src->id = odbk_xstrdup("");
    src->odoo_series = odbk_xstrdup("");
    if (o->from_file)
        return open_file(src, o->from_file, err);
    if (o->from_url)
        return open_url(src, o->from_url, err);
    src->kind = ODBK_SOURCE_CATALOG;
    if (find_backup(cat, o, &src->b, err) < 0)
        return -1;
    src->label = odbk_xstrdup(src->b.id);
    if (strcmp(src->b.status, ODBK_STATUS_COMPLETED))
        return odbk_err_set(err, ODBK_E_DATA, "backup '%s' is %s; only completed backups can be restored",
                            src->b.id, src->b.status);
    if (odbk_backup_storage_open(cfg, cat, src->b.storage, 0, &src->st, err) < 0 ||
        odbk_backup_manifest(src->st, &src->b, &src->m, err) < 0)
        return -1;
    {
        char *what = odbk_xasprintf("backup '%s'", src->b.id);
        int r = from_manifest(src, what, err);
        free(what);
        if (r < 0)
            return -1;
    }
    /* the catalog knows the env and series even when an old manifest does not */
    free(src->env);
    src->env = odbk_xstrdup(src->b.env);
    if (!*src->odoo_series && src->b.odoo_version) {
        free(src->odoo_series);
        src->odoo_series = odbk_xstrdup(src->b.odoo_version);
    }
    return 0;
}

void odbk_source_close(struct odbk_source *src)
{
    free(src->label);
    free(src->format);
    odbk_backup_release(&src->b);
    odbk_storage_close(src->st);
    free(src->dir);
    free(src->path);
    free(src->url);
    if (src->has_manifest)
        odbk_manifest_release(&src->m);
    free(src->env);
    free(src->id);
    free(src->odoo_series);
    memset(src, 0, sizeof(*src));
}

const struct odbk_manifest_file *odbk_source_file(const struct odbk_source *src, const char *role)
{
    return odbk_manifest_file_by_role(&src->m, role);
}

/* Did the verifying filter itself (size or SHA-256 against the manifest) report err? */
static int is_verify_error(const struct odbk_err *err)
{
    return err->code == ODBK_E_DATA && (strstr(err->msg, "checksum mismatch in ") || strstr(err->msg, "the manifest says"));
}

/* A load that failed on the way (psql's syntax error, a decompressor's complaint) may have failed because the
 * stored file is damaged, which its checksum, reached only at the end, would have said.  Read the file once
 * more into nothing: when it does not match its manifest, that is the error to report, and the only one
 * that tells the user what to do.  Only on failure, so a good restore reads each file once. */
static void stored_file_wins(struct odbk_source *src, const struct odbk_manifest_file *f, const char *where,
                             struct odbk_err *err)
{
    struct odbk_writer *null = odbk_sink_null_new();
    struct odbk_writer *check = odbk_filter_verify_new(null, f->sha256, f->size, where);
    struct odbk_err e2 = {0};
    int r = src->kind == ODBK_SOURCE_CATALOG ? odbk_storage_read(src->st, where, check, &e2)
                                             : odbk_read_path(where, check, &e2);
    if (r == 0)
        r = odbk_writer_finish(check, &e2);
    else
        odbk_writer_abort(check);
    odbk_writer_free(check);
    odbk_writer_free(null);
    if (r < 0 && is_verify_error(&e2))
        *err = e2;
}

int odbk_source_read(struct odbk_source *src, const struct odbk_manifest_file *f, struct odbk_writer *dst,
                     struct odbk_err *err)
{
    struct odbk_writer *head = dst;
    char *where = NULL;
    int r;
    if (f) {
        where = src->kind == ODBK_SOURCE_FOLDER ? odbk_xasprintf("%s/%s", src->dir, f->name)
                                                : odbk_backup_file_key(src->b.env, src->b.id, f->name);
        head = odbk_filter_verify_new(dst, f->sha256, f->size, where);
    } else {
        head = magic_new(src->fmt, src->label, dst);
    }
    switch (src->kind) {
    case ODBK_SOURCE_CATALOG: r = odbk_storage_read(src->st, where, head, err); break;
    case ODBK_SOURCE_FOLDER: r = odbk_read_path(where, head, err); break;
    case ODBK_SOURCE_FILE: r = odbk_read_path(src->path, head, err); break;
    default: r = odbk_read_url(src->url, head, err); break;
    }
    if (r == 0)
        r = odbk_writer_finish(head, err);
    else
        odbk_writer_abort(head);
    if (head != dst)
        odbk_writer_free(head);
    if (r < 0 && f && src->kind != ODBK_SOURCE_URL && !is_verify_error(err))
        stored_file_wins(src, f, where, err);
    free(where);
    return r;
}

int odbk_source_read_phase(struct odbk_source *src, const struct odbk_manifest_file *f, struct odbk_writer *dst,
                           const struct odbk_report *report, const char *phase, struct odbk_err *err)
{
    struct odbk_report_phase ph = {report, phase, f ? f->size : 0, 0, 0};
    struct odbk_writer *head = odbk_report_filter_new(&ph, dst);
    int r = odbk_source_read(src, f, head, err);
    odbk_report_phase_end(&ph, r == 0, err->msg);
    if (head != dst)
        odbk_writer_free(head);
    return r;
}
