/* incr-write.c - the incremental filestore's create side (incr.h): the parent, the walk, the decision per
 * file (reuse without reading, reuse after a checksum, or new), the packs through the tar and compression
 * writers, the list.
 *
 * The walk first collects every file (the same walker as the tar, with its rules for links and hostile
 * names), then the files are taken in the list's order (strcmp of the paths): a new one is appended to the
 * current pack, read once and hashed on the way, and the pack is closed once it holds ODBK_PACK_BYTES.
 * Packs are stored first, then the list; the manifest (create.c) last. */
#include "backup/incr.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>

#include "backup/run.h"
#include "common/interrupt.h"
#include "common/util.h"
#include "io/tar.h"
#include "storage/storage.h"

/* ---- the parent ---- */

void odbk_incr_parent_find(struct odbk_catalog *cat, struct odbk_storage *st, const char *env, const char *storage,
                           struct odbk_incr_parent *p, char **why)
{
    const char *envs[] = {env, NULL};
    struct odbk_backup_filter f = {0};
    struct odbk_backup *v = NULL;
    struct odbk_err e = {0};
    size_t n = 0, i;
    memset(p, 0, sizeof(*p));
    *why = NULL;
    f.envs = envs;
    f.storage = storage;
    f.statuses = ODBK_ONLY(ODBK_BACKUP_COMPLETED);
    f.limit = 100;
    if (odbk_catalog_backup_list(cat, &f, &v, &n, &e) < 0) {
        *why = odbk_xasprintf("the catalog could not list the env's backups (%s): every file was stored again", e.msg);
        return;
    }
    for (i = 0; i < n; i++) {
        struct odbk_manifest m;
        if (v[i].format != ODBK_FORMAT_ODBK || !v[i].has_filestore)
            continue;
        if (odbk_backup_manifest(st, &v[i], &m, &e) < 0)
            continue;   /* not readable: not a candidate (rescan reports it) */
        if (m.filestore_mode != ODBK_FILESTORE_INCREMENTAL) {
            odbk_manifest_release(&m);
            continue;
        }
        if (odbk_filelist_read(st, &m, &p->list, &e) < 0) {
            *why = odbk_xasprintf("the file list of backup %s, the parent, cannot be read (%s): every file was "
                                  "stored again", m.id, e.msg);
            odbk_manifest_release(&m);
            break;
        }
        p->m = m;
        p->have = 1;
        break;
    }
    odbk_backup_list_free(v, n);
}

void odbk_incr_parent_release(struct odbk_incr_parent *p)
{
    if (p->have) {
        odbk_manifest_release(&p->m);
        odbk_filelist_free(&p->list);
    }
    memset(p, 0, sizeof(*p));
}

/* ---- the walk ---- */

struct cand {
    char *path;
    uint64_t size;
    int64_t mtime;
    unsigned mode;
    dev_t dev;
    ino_t ino;
};

struct walk {
    struct cand *v;
    size_t n, cap;
    uint64_t vanished, bytes;
};

static int walk_entry(void *ctx, const char *rel, const char *full, const struct stat *sb, struct odbk_err *err)
{
    struct walk *w = ctx;
    struct cand *c;
    if (!sb) {                        /* deleted while we walked (Odoo's garbage collection) */
        w->vanished++;
        return 0;
    }
    if (!S_ISREG(sb->st_mode))
        return 0;                     /* folders are made by a restore; sockets, fifos, devices are not Odoo's */
    if (!odbk_filelist_path_ok(rel, strlen(rel))) {
        /* the root is what full has before rel */
        odbk_err_set(err, ODBK_E_DATA, "a file path longer than %d bytes cannot be backed up: '%.200s...' in "
                     "filestore '%.*s'", ODBK_FILELIST_MAX_PATH, rel, (int)(strlen(full) - strlen(rel) - 1), full);
        odbk_err_hint(err, "rename or move the file, or back the env up with --full-filestore");
        return -1;
    }
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 1024;
        w->v = odbk_xrealloc(w->v, w->cap * sizeof(*w->v));
    }
    c = &w->v[w->n++];
    c->path = odbk_xstrdup(rel);
    c->size = (uint64_t)sb->st_size;
    c->mtime = (int64_t)sb->st_mtime;
    c->mode = (unsigned)(sb->st_mode & 07777);
    c->dev = sb->st_dev;
    c->ino = sb->st_ino;
    w->bytes += c->size;
    return 0;
}

static int cand_cmp(const void *a, const void *b)
{
    return strcmp(((const struct cand *)a)->path, ((const struct cand *)b)->path);
}

/* Odoo's attachment names: <sha1[:2]>/<sha1>, the content's checksum (ir_attachment._full_path). */
static int checksum_named(const char *path)
{
    return strlen(path) == 43 && path[2] == '/' && strspn(path, "0123456789abcdef") == 2 &&
           strspn(path + 3, "0123456789abcdef") == 40 && path[0] == path[3] && path[1] == path[4];
}

/* ---- hashing ---- */

struct hasher {
    EVP_MD_CTX *ctx;
    struct stat stored;
};

static void hash_bytes(void *ctx, const void *buf, size_t len)
{
    EVP_DigestUpdate(((struct hasher *)ctx)->ctx, buf, len);
}

static int hash_begin(void *ctx, const struct stat *sb, struct odbk_err *err)
{
    ((struct hasher *)ctx)->stored = *sb;
    return 0;
}

static int hash_data(void *ctx, const void *buf, size_t len, struct odbk_err *err)
{
    hash_bytes(ctx, buf, len);
    return 0;
}

static const struct odbk_member_sink hash_sink = {hash_begin, hash_data};

static void hash_start(struct hasher *h)
{
    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

static void hash_hex(struct hasher *h, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0, i;
    EVP_DigestFinal_ex(h->ctx, md, &n);
    for (i = 0; i < n && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- packs ---- */

struct pack {
    struct odbk_format_file f;
    struct odbk_tar_out *tar;
    uint64_t raw;                 /* file bytes in it */
    int open;
};

struct job {
    const struct odbk_format_write *w;
    struct odbk_format_write quiet;   /* w without progress: packs and the list are not phases of their own */
    atomic_int *cancel;
    struct odbk_incr_result *res;
    struct pack pack;
    unsigned seq;
    size_t pack_from;             /* the first entry of the open pack */
    size_t n_entries;             /* entries so far */
    int binary_names;
    struct odbk_report_phase phase;
    uint64_t seen;                /* bytes looked at, for the phase */
    struct timespec last_report;
    char *buf;
};

static void report_seen(struct job *j, int force)
{
    struct timespec now;
    if (!j->w->report || !j->w->report->cb)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!force && (now.tv_sec - j->last_report.tv_sec) * 1000 + (now.tv_nsec - j->last_report.tv_nsec) / 1000000 < 250)
        return;
    j->last_report = now;
    odbk_report_event(j->w->report, "filestore", ODBK_PHASE_RUNNING, j->seen, j->w->fs_hint, 0, NULL);
}

static int pack_open(struct job *j, uint64_t hint, struct odbk_err *err)
{
    struct pack *p = &j->pack;
    const char *cname = odbk_compression_name(j->w->comp);
    char *name;
    if (j->seq >= 999999)
        return odbk_err_set(err, ODBK_E_SOFTWARE, "backup %s: more than 999999 packs", j->w->id);
    name = odbk_pack_name(j->w->id, ++j->seq, j->w->comp);
    memset(p, 0, sizeof(*p));
    p->f.key = odbk_pack_key(j->w->env, name);
    if (odbk_format_file_open(&p->f, &j->quiet, "pack", name, cname, j->w->comp, hint, 0, 0, j->cancel, err) < 0) {
        odbk_format_file_free(&p->f);
        return -1;
    }
    p->tar = odbk_tar_out_new(p->f.head, j->binary_names, err);
    if (!p->tar) {
        odbk_writer_abort(p->f.head);
        odbk_format_file_free(&p->f);
        return -1;
    }
    p->open = 1;
    return 0;
}

static void pack_abort(struct job *j)
{
    struct pack *p = &j->pack;
    if (!p->open)
        return;
    odbk_tar_out_free(p->tar);
    odbk_writer_abort(p->f.head);
    odbk_format_file_free(&p->f);
    p->open = 0;
}

/* Close the pack: the end of its tar, its upload committed, its name, size and checksum on record, and
 * the entries it holds (entries[from..n), pack NULL) named after it. */
static int pack_close(struct job *j, struct odbk_fl_entry *entries, size_t n, struct odbk_err *err)
{
    struct pack *p = &j->pack;
    const struct odbk_manifest_pack *made;
    size_t k;
    int r = odbk_tar_out_close(p->tar, err);
    if (r == 0)
        r = odbk_writer_finish(p->f.head, err);
    if (r < 0) {
        pack_abort(j);
        return -1;
    }
    odbk_manifest_add_pack(&j->res->packs, p->f.name, odbk_filter_size_get(p->f.stored),
                           odbk_filter_sha256_hex(p->f.sha));
    /* the packs' names stay where they are while the array grows: the entries may point to them */
    made = &j->res->packs.packs[j->res->packs.n_packs - 1];
    for (k = 0; k < n; k++)
        if (!entries[k].pack)
            entries[k].pack = made->name;
    j->res->packs_made++;
    odbk_tar_out_free(p->tar);
    odbk_format_file_free(&p->f);
    p->open = 0;
    odbk_crash_point("create-after-pack");   /* test-only: killed with a pack stored, the list not */
    return 0;
}

/* Append c to the current pack (opened when there is none), hashing it on the way: its entry filled. */
static int pack_add(struct job *j, const struct cand *c, const char *full, struct odbk_fl_entry *e,
                    struct hasher *h, struct odbk_err *err)
{
    struct stat expect = {0}, stored = {0};
    int r;
    if (!j->pack.open) {
        if (pack_open(j, c->size > ODBK_PACK_BYTES ? c->size : ODBK_PACK_BYTES, err) < 0)
            return -1;
        j->pack_from = j->n_entries;
    }
    expect.st_dev = c->dev;
    expect.st_ino = c->ino;
    hash_start(h);
    r = odbk_tar_out_file(j->pack.tar, c->path, full, &expect, hash_bytes, h, &stored, err);
    if (r != 0)
        return r;
    hash_hex(h, e->sha256);
    e->size = (uint64_t)stored.st_size;
    e->mtime = (int64_t)stored.st_mtime;
    e->mode = (unsigned)(stored.st_mode & 07777);
    e->pack = NULL;               /* named once the pack is closed (pack_close) */
    j->pack.raw += e->size;
    j->res->new_files++;
    j->res->new_bytes += e->size;
    j->res->read_files++;
    return 0;
}

/* ---- the list ---- */

static int list_open(struct job *j, struct odbk_filelist_writer **fw, struct odbk_err *err)
{
    struct odbk_format_file *f = &j->res->list;
    const char *cname = odbk_compression_name(j->w->comp);
    if (odbk_format_file_open(f, &j->quiet, "filelist", odbk_filelist_name(j->w->id, j->w->comp), cname, j->w->comp,
                              j->res->files * 100 + 4096, 0, 0, j->cancel, err) < 0)
        return -1;
    j->res->list_open = 1;
    *fw = odbk_filelist_writer_new(f->head);
    return 0;
}

/* ---- the run ---- */

int odbk_incr_write(const struct odbk_format_write *w, atomic_int *cancel, struct odbk_incr_result *res,
                    struct odbk_err *err)
{
    struct job j = {0};
    struct walk wk = {0};
    struct hasher h = {EVP_MD_CTX_new(), {0}};
    struct odbk_fl_entry *entries = NULL;   /* in the list's order; pack names point into res->packs or parent */
    struct odbk_filelist_writer *fw = NULL;
    const struct odbk_filelist *parent = w->parent && w->parent->have ? &w->parent->list : NULL;
    size_t i, n = 0;
    int r = -1;
    struct stat sb;

    memset(res, 0, sizeof(*res));
    res->packs.filestore_mode = ODBK_FILESTORE_INCREMENTAL;
    j.w = w;
    j.quiet = *w;
    j.quiet.report = NULL;
    j.cancel = cancel;
    j.res = res;
    j.phase.report = w->report;
    j.phase.phase = "filestore";
    j.phase.expected = w->fs_hint;
    if (w->report && w->report->cb)
        odbk_report_event(w->report, "filestore", ODBK_PHASE_STARTED, 0, w->fs_hint, 0, NULL);
    if (!h.ctx) {
        odbk_err_set(err, ODBK_E_SOFTWARE, "sha256: cannot allocate a digest");
        goto out;
    }
    if (stat(w->filestore, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        odbk_err_sys(err, ODBK_E_NOINPUT, "filestore directory '%s' is missing", w->filestore);
        odbk_err_hint(err, "set 'filestore =' of the env, or use --no-filestore");
        goto out;
    }
    if (odbk_walk(w->filestore, walk_entry, &wk, err) < 0)
        goto out;
    qsort(wk.v, wk.n, sizeof(*wk.v), cand_cmp);
    res->vanished = wk.vanished;
    for (i = 0; i < wk.n && !j.binary_names; i++)
        j.binary_names = odbk_tar_name_binary(wk.v[i].path);
    j.buf = odbk_xmalloc(1 << 20);
    entries = odbk_xcalloc(wk.n ? wk.n : 1, sizeof(*entries));

    for (i = 0; i < wk.n; i++) {
        const struct cand *c = &wk.v[i];
        const struct odbk_fl_entry *pe = parent ? odbk_filelist_find(parent, c->path) : NULL;
        struct odbk_fl_entry *e = &entries[n];
        char *full;
        int got;
        if (atomic_load(cancel) || odbk_interrupted()) {
            if (odbk_interrupted())
                odbk_interrupt_err(err);
            else
                odbk_err_set(err, ODBK_E_SOFTWARE, "cancelled: the database failed");
            goto out;
        }
        j.n_entries = n;
        e->path = c->path;
        e->mode = c->mode;
        e->mtime = c->mtime;
        j.seen += c->size;
        if (pe && pe->size == c->size && checksum_named(c->path)) {
            /* Odoo never rewrites an attachment in place: same name, same size, same content */
            e->size = pe->size;
            memcpy(e->sha256, pe->sha256, 65);
            e->pack = pe->pack;
            n++;
            report_seen(&j, 0);
            continue;
        }
        full = odbk_xasprintf("%s/%s", w->filestore, c->path);
        if (pe && pe->size == c->size) {
            /* a name that says nothing of the content (checklist/, a module's own files): compare */
            struct stat expect = {0};
            char hex[65] = {0};
            expect.st_dev = c->dev;
            expect.st_ino = c->ino;
            hash_start(&h);
            got = odbk_member_read_file(full, &expect, j.buf, 1 << 20, &hash_sink, &h, err);
            if (got == 0)
                hash_hex(&h, hex);
            res->read_files++;
            if (got < 0) {
                free(full);
                goto out;
            }
            if (got == 1) {               /* deleted since the walk */
                res->vanished++;
                free(full);
                continue;
            }
            if (!strcmp(hex, pe->sha256) && (uint64_t)h.stored.st_size == pe->size) {
                e->size = pe->size;
                memcpy(e->sha256, pe->sha256, 65);
                e->pack = pe->pack;
                e->mtime = (int64_t)h.stored.st_mtime;
                e->mode = (unsigned)(h.stored.st_mode & 07777);
                n++;
                free(full);
                report_seen(&j, 0);
                continue;
            }
        }
        got = pack_add(&j, c, full, e, &h, err);
        free(full);
        if (got < 0)
            goto out;
        if (got == 1) {
            res->vanished++;
            continue;
        }
        n++;
        report_seen(&j, 0);
        if (j.pack.raw >= ODBK_PACK_BYTES && pack_close(&j, entries + j.pack_from, n - j.pack_from, err) < 0)
            goto out;
    }
    if (j.pack.open && pack_close(&j, entries + j.pack_from, n - j.pack_from, err) < 0)
        goto out;

    /* every pack the list references: the new ones (above) and those of the parent's still used */
    if (parent) {
        const struct odbk_manifest *pm = &w->parent->m;
        char *used = odbk_xcalloc(pm->n_packs ? pm->n_packs : 1, 1);
        for (i = 0; i < n; i++) {
            const struct odbk_manifest_pack *pp;
            if (odbk_pack_of(entries[i].pack, w->id))
                continue;
            pp = odbk_manifest_pack_find(pm, entries[i].pack);
            if (!pp) {   /* the parent's list was checked against its manifest: cannot happen */
                free(used);
                odbk_err_set(err, ODBK_E_SOFTWARE, "pack '%s' of the parent's list is not in its manifest",
                             entries[i].pack);
                goto out;
            }
            used[pp - pm->packs] = 1;
        }
        for (i = 0; i < pm->n_packs; i++)
            if (used[i])
                odbk_manifest_add_pack(&res->packs, pm->packs[i].name, pm->packs[i].size, pm->packs[i].sha256);
        free(used);
        odbk_manifest_sort_packs(&res->packs);
    }

    /* the list */
    res->files = n;
    if (list_open(&j, &fw, err) < 0)
        goto out;
    for (i = 0; i < n; i++)
        if (odbk_filelist_write_entry(fw, &entries[i], err) < 0)
            goto out;
    if (odbk_filelist_write_end(fw, err) < 0 || odbk_writer_finish(res->list.head, err) < 0)
        goto out;
    res->bytes = odbk_filelist_writer_bytes(fw);
    r = 0;
out:
    if (r < 0) {
        pack_abort(&j);
        if (res->list_open)
            odbk_writer_abort(res->list.head);
    }
    if (w->report && w->report->cb) {
        report_seen(&j, 1);
        odbk_report_event(w->report, "filestore", r == 0 ? ODBK_PHASE_FINISHED : ODBK_PHASE_FAILED, j.seen,
                          w->fs_hint, 0, r == 0 ? NULL : err->msg);
    }
    odbk_filelist_writer_free(fw);
    free(entries);
    for (i = 0; i < wk.n; i++)
        free(wk.v[i].path);
    free(wk.v);
    free(j.buf);
    EVP_MD_CTX_free(h.ctx);
    return r;
}

void odbk_incr_result_add(const struct odbk_incr_result *res, struct odbk_manifest *m)
{
    size_t i;
    odbk_format_file_add(&res->list, m);
    m->filestore_mode = ODBK_FILESTORE_INCREMENTAL;
    for (i = 0; i < res->packs.n_packs; i++)
        odbk_manifest_add_pack(m, res->packs.packs[i].name, res->packs.packs[i].size, res->packs.packs[i].sha256);
    odbk_manifest_sort_packs(m);
    m->fs_files = (int64_t)res->files;
    m->fs_bytes = (int64_t)res->bytes;
}

void odbk_incr_result_release(struct odbk_incr_result *res)
{
    odbk_format_file_free(&res->list);
    odbk_manifest_release(&res->packs);
    memset(res, 0, sizeof(*res));
}

uint64_t odbk_incr_added_bytes(const struct odbk_manifest *m)
{
    uint64_t added = 0;
    size_t i;
    for (i = 0; i < m->n_files; i++)
        added += m->files[i].size;
    for (i = 0; i < m->n_packs; i++)
        if (odbk_pack_of(m->packs[i].name, m->id))
            added += m->packs[i].size;
    return added;
}
