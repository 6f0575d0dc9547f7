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
    int type;
    if (o->backup_id)
        return odbk_catalog_backup_get(cat, o->backup_id, b, err);
    f.envs = envs;
    f.statuses = ODBK_ONLY(ODBK_BACKUP_COMPLETED);
    if (o->latest_type) {
        if (odbk_vocab_parse(&odbk_vocab_type, o->latest_type, &type, ODBK_E_USAGE, err) < 0)
            return -1;
        f.types = ODBK_ONLY(type);
    }
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
    src->format = odbk_xstrdup(odbk_format_name(src->m.format));
    free(src->env);
    src->env = odbk_xstrdup(src->m.env ? src->m.env : "");
    free(src->id);
    src->id = odbk_xstrdup(src->m.id ? src->m.id : "");
    free(src->odoo_series);
    src->odoo_series = odbk_xstrdup(src->m.odoo_version ? src->m.odoo_version : "");
    src->fmt = odbk_format_of(src->m.format);   /* a name this odbk does not know: odbk_manifest_parse refused it */
    if (!odbk_source_file(src, src->fmt->main_role))
        return odbk_err_set(err, ODBK_E_DATA, "the manifest of %s lists no %s file", what, src->fmt->main_role);
    src->has_filestore = src->fmt->filestore == ODBK_FORMAT_FS_INSIDE || odbk_source_file(src, "filestore") != NULL ||
                         odbk_source_file(src, "filelist") != NULL;
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
    odbk_storage_open_path(dir, &src->st);
    src->files = odbk_xstrdup("");
    src->shown = odbk_xstrdup(dir);
    src->label = odbk_xstrdup(dir);
    {   /* a folder of a local storage: its env's packs are beside it (ENV/ID/ and ENV/packs/) */
        char *trimmed = odbk_xstrdup(dir), *env_dir;
        size_t len = strlen(trimmed);
        while (len > 1 && trimmed[len - 1] == '/')
            trimmed[--len] = '\0';
        env_dir = odbk_dirname(trimmed);
        free(trimmed);
        odbk_storage_open_path(env_dir, &src->pack_st);
        src->packs = odbk_xstrdup("packs");
        src->packs_shown = odbk_xasprintf("%s/packs", env_dir);
        free(env_dir);
    }
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
    odbk_storage_open_path("", &src->st);
    src->key = odbk_xstrdup(path);
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
    const char *label;
    src->kind = ODBK_SOURCE_URL;
    odbk_storage_open_url(url, &src->st);
    src->key = odbk_xstrdup("");
    src->label = odbk_xstrdup(src->st->name);   /* without its query: no secrets */
    label = src->label;
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
        if (odbk_storage_read(src->st, src->key, &p.w, &pe) < 0 && pe.code != ODBK_E_NONE) {
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
    if (src->b.status != ODBK_BACKUP_COMPLETED)
        return odbk_err_set(err, ODBK_E_DATA, "backup '%s' is %s; only completed backups can be restored",
                            src->b.id, odbk_status_name(src->b.status));
    if (odbk_backup_storage_open(cfg, cat, src->b.storage, 0, &src->st, err) < 0 ||
        odbk_backup_manifest(src->st, &src->b, &src->m, err) < 0)
        return -1;
    src->files = odbk_backup_file_key(src->b.env, src->b.id, "");
    src->files[strlen(src->files) - 1] = '\0';   /* "ENV/ID" */
    src->shown = odbk_xstrdup(src->files);
    src->packs = odbk_xasprintf("%s/packs", src->b.env);
    src->packs_shown = odbk_xstrdup(src->packs);
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
    free(src->files);
    free(src->shown);
    free(src->key);
    odbk_storage_close(src->pack_st);
    free(src->packs);
    free(src->packs_shown);
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
static void stored_file_wins(struct odbk_source *src, const struct odbk_manifest_file *f, const char *key,
                             const char *where, struct odbk_err *err)
{
    struct odbk_writer *null = odbk_sink_null_new();
    struct odbk_writer *check = odbk_filter_verify_new(null, f->sha256, f->size, where);
    struct odbk_err e2 = {0};
    int r = odbk_storage_read(src->st, key, check, &e2);
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
    struct odbk_writer *head;
    char *key, *where = NULL;
    int r;
    if (f) {
        key = odbk_storage_join(src->files, f->name);
        where = odbk_storage_join(src->shown, f->name);
        head = odbk_filter_verify_new(dst, f->sha256, f->size, where);
    } else {
        key = odbk_xstrdup(src->key);
        head = magic_new(src->fmt, src->label, dst);
    }
    r = odbk_storage_read(src->st, key, head, err);
    if (r == 0)
        r = odbk_writer_finish(head, err);
    else
        odbk_writer_abort(head);
    odbk_writer_free(head);
    if (r < 0 && f && !is_verify_error(err))
        stored_file_wins(src, f, key, where, err);
    free(key);
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
