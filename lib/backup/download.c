/* download.c - hand a backup out: expiring links where the storage can make them, or the files
 * themselves, fetched into a directory and checked (size and SHA-256 against the manifest) under a
 * temporary name that becomes the real one only once checked; or one Odoo-style zip, made by the
 * backup's format as it streams (format.h to_zip) or, for a zip backup, its archive as it is.  An incremental
 * backup's filestore (a list and packs, backup/incr.h) is handed out as the one tar a full backup has,
 * assembled as it streams: into the directory, or, for links, into the backup's folder once, with a
 * removal due when the links expire. */
#include "backup/format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/incr.h"
#include "backup/report.h"
#include "backup/source.h"
#include "common/util.h"
#include "io/crypt.h"

void odbk_download_result_release(struct odbk_download_result *res)
{
    size_t i;
    for (i = 0; i < res->n_files; i++) {
        free(res->files[i].name);
        free(res->files[i].role);
        free(res->files[i].sha256);
        free(res->files[i].url);
        free(res->files[i].path);
    }
    free(res->files);
    free(res->backup_id);
    memset(res, 0, sizeof(*res));
}

static struct odbk_download_file *add(struct odbk_download_result *res, const char *name, const char *role,
                                      uint64_t size, const char *sha256)
{
    struct odbk_download_file *f;
    res->files = odbk_xrealloc(res->files, (res->n_files + 1) * sizeof(*res->files));
    f = &res->files[res->n_files++];
    memset(f, 0, sizeof(*f));
    f->name = odbk_xstrdup(name);
    f->role = odbk_xstrdup(role);
    f->size = size;
    f->sha256 = odbk_xstrdup(sha256 ? sha256 : "");
    return f;
}

/* a file in dir written under a temporary name, renamed by commit */
struct out_file {
    char *path, *tmp;
    int fd;
    struct odbk_writer *sink;
};

static int out_open(struct out_file *o, const char *dir, const char *name, struct odbk_err *err)
{
    memset(o, 0, sizeof(*o));
    o->path = odbk_xasprintf("%s/%s", dir, name);
    o->tmp = odbk_xasprintf("%s/.%s.odbk-part-%ld", dir, name, (long)getpid());
    o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (o->fd < 0)
        return odbk_err_sys(err, ODBK_E_IO, "cannot create '%s'", o->tmp);
    o->sink = odbk_sink_fd_new(o->fd, o->tmp);
    return 0;
}

static int out_commit(struct out_file *o, struct odbk_err *err)
{
    if (fsync(o->fd) != 0)
        return odbk_err_sys(err, ODBK_E_IO, "cannot write '%s'", o->tmp);
    if (close(o->fd) != 0) {
        o->fd = -1;
        return odbk_err_sys(err, ODBK_E_IO, "cannot write '%s'", o->tmp);
    }
    o->fd = -1;
    if (rename(o->tmp, o->path) != 0)
        return odbk_err_sys(err, ODBK_E_IO, "cannot rename '%s' to '%s'", o->tmp, o->path);
    free(o->tmp);
    o->tmp = NULL;
    return 0;
}

static void out_close(struct out_file *o)
{
    odbk_writer_free(o->sink);
    if (o->fd >= 0)
        close(o->fd);
    if (o->tmp)
        unlink(o->tmp);
    free(o->tmp);
    free(o->path);
    memset(o, 0, sizeof(*o));
}

static int fetch_file(struct odbk_source *s, const struct odbk_manifest_file *f, const char *dir,
                      const struct odbk_report *report, struct odbk_download_result *res, struct odbk_err *err)
{
    struct out_file o;
    int r = out_open(&o, dir, f->name, err);
    if (r == 0)
        r = odbk_source_read_phase(s, f, o.sink, report, f->role, err);
    if (r == 0)
        r = out_commit(&o, err);
    if (r == 0)
        add(res, f->name, f->role, f->size, f->sha256)->path = odbk_xstrdup(o.path);
    out_close(&o);
    return r;
}

/* ---- an incremental filestore as one file: backup-ID-filestore.tar.gz (.tar.zst, .tar), assembled from
 * the list and the packs as they stream (backup/incr.h), every member checked ---- */

struct assembled {
    char *name;
    const char *compression;
    uint64_t size, raw_size, files, bytes;
    char sha256[65];
};

/* The name and codec of s's assembled filestore: those of a full backup's tar with the list's codec. */
static void assembled_name(struct odbk_source *s, struct assembled *a)
{
    const struct odbk_manifest_file *lf = odbk_source_file(s, "filelist");
    enum odbk_compression c = ODBK_COMPRESS_NONE;
    memset(a, 0, sizeof(*a));
    odbk_compression_parse(lf->compression, &c);
    a->compression = odbk_compression_name(c);
    a->name = odbk_xasprintf("backup-%s-filestore.tar%s", s->id, odbk_compression_suffix(c));
}

/* Write the assembled filestore into sink and finish it; a's figures set. */
static int assemble(struct odbk_source *s, struct odbk_writer *sink, const struct odbk_report *report,
                    struct assembled *a, struct odbk_err *err)
{
    enum odbk_compression c = ODBK_COMPRESS_NONE;
    struct odbk_writer *stored = odbk_filter_size_new(sink), *sha = odbk_filter_sha256_new(stored), *comp, *raw;
    int r;
    odbk_compression_parse(a->compression, &c);
    comp = c == ODBK_COMPRESS_NONE ? NULL : odbk_filter_compress_new(c, -1, 2, sha);
    raw = odbk_filter_size_new(comp ? comp : sha);
    r = odbk_incr_write_tar(s, raw, report, &a->files, &a->bytes, err);
    if (r == 0)
        r = odbk_writer_finish(raw, err);
    else
        odbk_writer_abort(raw);
    if (r == 0) {
        a->size = odbk_filter_size_get(stored);
        a->raw_size = odbk_filter_size_get(raw);
        snprintf(a->sha256, sizeof(a->sha256), "%s", odbk_filter_sha256_hex(sha));
    }
    odbk_writer_free(raw);
    odbk_writer_free(comp);
    odbk_writer_free(sha);
    odbk_writer_free(stored);
    return r;
}

/* The manifest of what was fetched: the list's entry becomes the assembled tar's and the backup a full one
 * (no packs), so the folder restores on its own (odbk-restore --from-file). */
static char *assembled_manifest(struct odbk_manifest *m, const struct assembled *a)
{
    size_t i;
    for (i = 0; i < m->n_files; i++)
        if (!strcmp(m->files[i].role, "filelist")) {
            struct odbk_manifest_file *f = &m->files[i];
            free(f->name);
            free(f->role);
            free(f->sha256);
            free(f->compression);
            f->name = odbk_xstrdup(a->name);
            f->role = odbk_xstrdup("filestore");
            f->sha256 = odbk_xstrdup(a->sha256);
            f->compression = odbk_xstrdup(a->compression);
            f->size = a->size;
            f->raw_size = a->raw_size;
        }
    for (i = 0; i < m->n_packs; i++)
        free(m->packs[i].name);
    free(m->packs);
    m->packs = NULL;
    m->n_packs = 0;
    m->filestore_mode = ODBK_FILESTORE_FULL;
    m->fs_files = (int64_t)a->files;
    m->fs_bytes = (int64_t)a->bytes;
    return odbk_manifest_to_json(m);
}

static int fetch_assembled(struct odbk_source *s, const char *dir, const struct odbk_report *report,
                           struct odbk_download_result *res, struct assembled *a, struct odbk_err *err)
{
    struct out_file o;
    int r;
    assembled_name(s, a);
    r = out_open(&o, dir, a->name, err);
    if (r == 0)
        r = assemble(s, o.sink, report, a, err);
    if (r == 0)
        r = out_commit(&o, err);
    if (r == 0)
        add(res, a->name, "filestore", a->size, a->sha256)->path = odbk_xstrdup(o.path);
    out_close(&o);
    return r;
}

/* Links: the assembled filestore written into the backup's folder once, its removal due when the links
 * expire (catalog removals, done by the next odbk run after that; a later link's expiry wins), then
 * linked.  The presign needs a storage that makes links: asked first, so nothing is written for nothing. */
static int link_assembled(struct odbk_source *s, struct odbk_catalog *cat, long expires,
                          struct odbk_download_result *res, struct assembled *a, struct odbk_err *err)
{
    struct odbk_writer *sink = NULL;
    char *key, *url = NULL;
    int r;
    assembled_name(s, a);
    key = odbk_backup_file_key(s->b.env, s->b.id, a->name);
    r = odbk_storage_presign(s->st, key, expires, &url, err);
    free(url);
    url = NULL;
    /* recorded before it is written: a run killed while writing leaves nothing that is not removed */
    if (r == 0)
        r = odbk_catalog_removal_due(cat, s->b.storage, key, s->b.id, res->expires_at, err);
    if (r == 0)
        r = odbk_storage_open_write(s->st, key, s->m.fs_bytes > 0 ? (uint64_t)s->m.fs_bytes : 0, &sink, err);
    if (r == 0)
        r = assemble(s, sink, NULL, a, err);
    if (r == 0)
        r = odbk_storage_presign(s->st, key, expires, &url, err);
    if (r == 0)
        add(res, a->name, "filestore", a->size, a->sha256)->url = url;
    else
        free(url);
    odbk_writer_free(sink);
    free(key);
    return r;
}

/* The backup as one Odoo zip made by its format as it streams (format.h to_zip). */
static int make_zip(struct odbk_source *s, const char *dir, const struct odbk_report *report,
                    struct odbk_download_result *res, struct odbk_err *err)
{
    char *name = odbk_xasprintf("backup-%s.zip", s->id);
    struct out_file o;
    int r = out_open(&o, dir, name, err);
    if (r == 0)
        r = s->fmt->to_zip(s, o.sink, report, err);
    if (r == 0)
        r = odbk_writer_finish(o.sink, err);
    if (r == 0)
        r = out_commit(&o, err);
    if (r == 0) {
        struct stat sb;
        stat(o.path, &sb);
        add(res, name, "zip", (uint64_t)sb.st_size, "")->path = odbk_xstrdup(o.path);
    }
    out_close(&o);
    free(name);
    return r;
}

static int download(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct odbk_download_opts *o,
                    struct odbk_report *report, struct odbk_download_result *res, struct odbk_err *err)
{
    struct odbk_restore_opts ro = {0};
    struct odbk_source s;
    struct assembled asm_fs = {0};
    char *mname = NULL, *manifest_json = NULL;
    const char *mtext;
    size_t i;
    int r = -1;
    memset(res, 0, sizeof(*res));
    ro.backup_id = o->backup_id;
    if (odbk_source_open(cfg, cat, &ro, &s, err) < 0)
        goto out;
    res->backup_id = odbk_xstrdup(s.b.id);
    odbk_report_set_env(report, s.b.env);
    mname = odbk_backup_manifest_name(s.b.id);
    /* the manifest as stored (the catalog keeps its text); re-serialised only when the catalog has none */
    if (!s.b.manifest || !*s.b.manifest)
        manifest_json = odbk_manifest_to_json(&s.m);
    mtext = manifest_json ? manifest_json : s.b.manifest;
    if (!o->output) {
        if (o->expires <= 0 || o->expires > 7 * 86400) {
            odbk_err_set(err, ODBK_E_USAGE, "links last at most 7 days");
            goto out;
        }
        res->expires_at = odbk_now() + o->expires;
        res->encrypted = odbk_storage_encrypted(s.st);
        if (odbk_incr_is(&s) && (r = link_assembled(&s, cat, o->expires, res, &asm_fs, err)) < 0)
            goto out;
        for (i = 0; i <= s.m.n_files; i++) {
            const struct odbk_manifest_file *f = i < s.m.n_files ? &s.m.files[i] : NULL;
            char *key, *url = NULL;
            struct odbk_err e2 = {0};
            if (f && !strcmp(f->role, "filelist"))
                continue;   /* of no use without the packs: the assembled filestore is linked instead */
            key = odbk_backup_file_key(s.b.env, s.b.id, f ? f->name : mname);
            r = odbk_storage_presign(s.st, key, o->expires, &url, err);
            free(key);
            if (r < 0)
                goto out;
            if (f) {
                add(res, f->name, f->role, f->size, f->sha256)->url = url;
            } else {
                /* the manifest's own size and checksum are those of the stored object */
                struct odbk_storage_entry st = {0};
                char *mkey = odbk_backup_file_key(s.b.env, s.b.id, mname);
                uint64_t size = odbk_storage_stat(s.st, mkey, &st, &e2) == 0 ? st.size : 0;
                free(st.path);
                free(mkey);
                add(res, mname, "manifest", size, "")->url = url;
            }
        }
        r = 0;
        goto out;
    }
    {
        struct stat sb;
        if (stat(o->output, &sb) != 0 && mkdir(o->output, 0750) != 0) {
            odbk_err_sys(err, ODBK_E_IO, "cannot create '%s'", o->output);
            goto out;
        }
    }
    if (o->as_zip && s.fmt->to_zip) {
        r = make_zip(&s, o->output, report, res, err);
        goto out;
    }
    if (o->as_zip && !s.fmt->is_odoo_zip) {
        odbk_err_set(err, ODBK_E_USAGE, "--as zip: backup '%s' has format '%s' (no filestore); only odbk and zip "
                     "backups make an Odoo zip", s.b.id, s.format);
        goto out;
    }
    for (i = 0; i < s.m.n_files; i++) {
        if (o->as_zip && strcmp(s.m.files[i].role, s.fmt->main_role))
            continue;
        if (!strcmp(s.m.files[i].role, "filelist"))
            r = fetch_assembled(&s, o->output, report, res, &asm_fs, err);
        else
            r = fetch_file(&s, &s.m.files[i], o->output, report, res, err);
        if (r < 0)
            goto out;
    }
    if (!o->as_zip && asm_fs.name) {
        free(manifest_json);
        mtext = manifest_json = assembled_manifest(&s.m, &asm_fs);
    }
    if (!o->as_zip) {
        /* the manifest, written last as in storage */
        struct out_file of;
        r = out_open(&of, o->output, mname, err);
        if (r == 0)
            r = odbk_writer_write(of.sink, mtext, strlen(mtext), err);
        if (r == 0)
            r = odbk_writer_finish(of.sink, err);
        if (r == 0)
            r = out_commit(&of, err);
        if (r == 0)
            add(res, mname, "manifest", strlen(mtext), "")->path = odbk_xstrdup(of.path);
        out_close(&of);
    }
out:
    {
        struct odbk_audit a = {0};
        struct odbk_err e2;
        char opts[128];
        snprintf(opts, sizeof(opts), "%s%s", o->output ? "output" : "links", o->as_zip ? " as-zip" : "");
        a.action = "download";
        a.backup_id = s.b.id;
        a.env = s.b.env;
        a.source = s.b.storage;
        a.target = (char *)(o->output ? o->output : "links");
        a.options = opts;
        a.result = r == 0 ? "ok" : "failed";
        a.detail = r == 0 ? NULL : err->msg;
        if (s.b.id)
            odbk_catalog_audit_add(cat, &a, &e2);
    }
    free(mname);
    free(manifest_json);
    free(asm_fs.name);
    odbk_source_close(&s);
    return r;
}

int odbk_backup_download(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct odbk_download_opts *o,
                         struct odbk_download_result *res, struct odbk_err *err)
{
    struct odbk_report report;
    odbk_report_run_begin(&report, o->progress, o->progress_ctx, NULL, o->backup_id);
    return odbk_report_run_end(&report, download(cfg, cat, o, &report, res, err), 0, err);
}

int odbk_backup_decrypt(const struct odbk_config *cfg, const char *path, int fd, struct odbk_err *err)
{
    struct odbk_keyring *kr = NULL;
    struct odbk_writer *sink = NULL, *dec = NULL;
    size_t i;
    int r = 0;
    for (i = 0; i < cfg->n_sections && r == 0; i++)
        if (!strcmp(cfg->sections[i].kind, "storage"))
            r = odbk_storage_keyring(&cfg->sections[i], &kr, err);
    if (r == 0 && !kr) {
        odbk_err_set(err, ODBK_E_CONFIG, "no storage of %s has 'encryption = passphrase': no passphrase to "
                     "decrypt '%s' with", cfg->path ? cfg->path : "the config", path);
        odbk_err_hint(err, "use the config of the storage the file comes from (--config FILE)");
        r = -1;
    }
    for (i = 0; i < cfg->n_sections && r == 0; i++) {   /* the master keys: each storage's key objects */
        struct odbk_storage *st = NULL;
        struct odbk_err e = {0};
        if (strcmp(cfg->sections[i].kind, "storage") || !cfg->sections[i].name
            || odbk_storage_open(cfg, cfg->sections[i].name, &st, &e) < 0 || !odbk_storage_encrypted(st)) {
            odbk_storage_close(st);
            continue;   /* a storage out of reach: the file's key id, if needed, is named below */
        }
        odbk_storage_load_keys(st, kr, &e);
        odbk_storage_close(st);
    }
    if (r == 0) {
        sink = odbk_sink_fd_new(fd, "the output");
        dec = odbk_crypt_decrypt_new(kr, NULL, path, sink);
        struct odbk_storage *file = NULL;   /* the file as a read-only storage of every path as given */
        odbk_storage_open_path("", &file);
        r = odbk_storage_read(file, path, dec, err);
        odbk_storage_close(file);
        if (r == 0)
            r = odbk_writer_finish(dec, err);
        if (r == 0)
            r = odbk_writer_finish(sink, err);
    }
    odbk_writer_free(dec);
    odbk_writer_free(sink);
    odbk_keyring_free(kr);
    return r;
}
