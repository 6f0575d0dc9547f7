/* incr-read.c - the reading side of an incremental filestore (incr.h): restore into a directory, and one
 * tar stream of it for odbk-download and --as zip.
 *
 * Both read the list into memory (a line of it is some 150 bytes: a million files is 150 MB of list, the
 * size of the catalog's own view of such a backup), group its entries by pack, and walk each pack's tar
 * once, taking the members the list places in that pack.  A restore reads up to ODBK_INCR_READERS packs at
 * a time, each extracting into the same temporary directory (the members of two packs never share a path:
 * the list's paths are unique); a tar stream must be one sequence, so it reads them one after another. */
#include "backup/incr.h"

#include <archive.h>
#include <archive_entry.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "backup/filelist.h"
#include "backup/run.h"
#include "backup/source.h"
#include "common/util.h"
#include "io/tar.h"

int odbk_incr_is(const struct odbk_source *s)
{
    return s->has_manifest && odbk_source_file(s, "filelist") != NULL;
}

/* ---- the list and its packs ---- */

struct pack {
    const struct odbk_manifest_pack *mp;   /* its name, size and SHA-256 in the manifest */
    size_t n_entries;                      /* what the list places in it */
    uint64_t bytes;
};

struct incr {
    struct odbk_source *src;
    struct odbk_filelist list;
    int have_list;
    struct pack *packs;                    /* the packs the list names, in the manifest's order */
    size_t n_packs;
    unsigned char *done;                   /* done[i]: entry i was written and checked */
    uint64_t total;                        /* the stored bytes of those packs (the progress's total) */
};

static void incr_release(struct incr *in)
{
    if (in->have_list)
        odbk_filelist_free(&in->list);
    free(in->packs);
    free(in->done);
    memset(in, 0, sizeof(*in));
}

/* The codec of a pack: its name's suffix (odbk_pack_name_ok checked it). */
static enum odbk_compression pack_compression(const char *name)
{
    size_t n = strlen(name);
    if (n > 8 && !strcmp(name + n - 8, ".tar.zst"))
        return ODBK_COMPRESS_ZSTD;
    if (n > 7 && !strcmp(name + n - 7, ".tar.gz"))
        return ODBK_COMPRESS_GZIP;
    return ODBK_COMPRESS_NONE;
}

/* The list of source s (its file lf), checked against the manifest as it streams, parsed and checked
 * (filelist.h) into *out. */
static int list_read(struct odbk_source *s, const struct odbk_manifest_file *lf, struct odbk_filelist *out,
                     struct odbk_err *err)
{
    enum odbk_compression c = ODBK_COMPRESS_NONE;
    char *what = odbk_storage_join(s->shown, lf->name);
    struct odbk_writer *parser = odbk_filelist_parser_new(what, &s->m, out), *dec;
    int r;
    if (odbk_compression_parse(lf->compression, &c) < 0) {
        odbk_writer_free(parser);
        r = odbk_err_set(err, ODBK_E_DATA, "file list '%s' has an unknown compression '%s'", what, lf->compression);
        free(what);
        return r;
    }
    dec = c == ODBK_COMPRESS_NONE ? NULL : odbk_filter_decompress_new(c, parser);
    r = odbk_source_read(s, lf, dec ? dec : parser, err);
    odbk_writer_free(dec);
    odbk_writer_free(parser);
    free(what);
    return r;
}

/* Read and check the list, and find the packs it names. */
static int incr_open(struct incr *in, struct odbk_source *s, struct odbk_err *err)
{
    const struct odbk_manifest_file *lf = odbk_source_file(s, "filelist");
    size_t i, k;
    memset(in, 0, sizeof(*in));
    in->src = s;
    in->have_list = 1;
    if (list_read(s, lf, &in->list, err) < 0)
        return -1;
    in->done = odbk_xcalloc(in->list.n ? in->list.n : 1, 1);
    in->packs = odbk_xcalloc(s->m.n_packs ? s->m.n_packs : 1, sizeof(*in->packs));
    for (i = 0; i < in->list.n; i++) {
        const struct odbk_fl_entry *e = &in->list.e[i];
        const struct odbk_manifest_pack *mp = odbk_manifest_pack_find(&s->m, e->pack);
        if (!mp)   /* odbk_filelist_read refused it already; a second guard costs nothing */
            return odbk_err_set(err, ODBK_E_DATA, "the file list of %s names pack '%s', which its manifest does not "
                                "list", s->shown, e->pack);
        k = (size_t)(mp - s->m.packs);
        in->packs[k].mp = mp;
        in->packs[k].n_entries++;
        in->packs[k].bytes += e->size;
    }
    /* keep the named ones, in the manifest's order */
    for (i = k = 0; i < s->m.n_packs; i++)
        if (in->packs[i].mp) {
            in->total += in->packs[i].mp->size;
            in->packs[k++] = in->packs[i];
        }
    in->n_packs = k;
    return 0;
}

/* The entry of the list at path that pack holds: its index, or -1 (not listed, or listed in another pack) */
static ssize_t listed_in(const struct incr *in, const char *path, const char *pack)
{
    const struct odbk_fl_entry *e = odbk_filelist_find(&in->list, path);
    if (!e || strcmp(e->pack, pack))
        return -1;
    return e - in->list.e;
}

/* Every entry was written, or the first that was not fails the read. */
static int incr_all_done(const struct incr *in, struct odbk_err *err)
{
    size_t i;
    for (i = 0; i < in->list.n; i++)
        if (!in->done[i]) {
            odbk_err_set(err, ODBK_E_DATA, "pack '%s' of %s does not hold '%s', which the backup's file list places "
                         "there", in->list.e[i].pack, in->src->shown, in->list.e[i].path);
            odbk_err_hint(err, "the backup is damaged: restore another backup (odbk-list --verify checks them)");
            return -1;
        }
    return 0;
}

/* One member of a pack being taken: its size and SHA-256 against the list's. */
struct member {
    ssize_t idx;                      /* the list's entry, -1 for none */
    struct odbk_writer *sha, *null;
    uint64_t got;
};

static void member_drop(struct member *m)
{
    odbk_writer_free(m->sha);
    odbk_writer_free(m->null);
    m->sha = m->null = NULL;
    m->idx = -1;
}

/* Decide on a member of pack: 1 take it (m set up), 0 leave it out. */
static int member_begin(struct incr *in, const char *pack, struct member *m, struct archive_entry *e,
                        const char *name, struct odbk_err *err)
{
    const struct odbk_fl_entry *fe;
    member_drop(m);
    if (archive_entry_filetype(e) != AE_IFREG)
        return 0;                     /* folders come with their files */
    if ((m->idx = listed_in(in, name, pack)) < 0 || in->done[m->idx]) {
        m->idx = -1;                  /* not this pack's, or a second copy: the list decides */
        return 0;
    }
    fe = &in->list.e[m->idx];
    if (archive_entry_size(e) < 0 || (uint64_t)archive_entry_size(e) != fe->size) {
        odbk_err_set(err, ODBK_E_DATA, "'%s' in pack '%s' of %s has %lld bytes, the file list says %llu", name, pack,
                     in->src->shown, (long long)archive_entry_size(e), (unsigned long long)fe->size);
        odbk_err_hint(err, "the pack is damaged or was changed: restore another backup");
        return -1;
    }
    archive_entry_set_perm(e, fe->mode & 0777);
    archive_entry_set_mtime(e, fe->mtime, 0);
    m->null = odbk_sink_null_new();
    m->sha = odbk_filter_sha256_new(m->null);
    m->got = 0;
    return 1;
}

static int member_data(struct member *m, const void *buf, size_t len, struct odbk_err *err)
{
    m->got += len;
    return odbk_writer_write(m->sha, buf, len, err);
}

static int member_end(struct incr *in, const char *pack, struct member *m, const char *name, struct odbk_err *err)
{
    const struct odbk_fl_entry *fe = &in->list.e[m->idx];
    int r = odbk_writer_finish(m->sha, err);
    if (r == 0 && (m->got != fe->size || strcmp(odbk_filter_sha256_hex(m->sha), fe->sha256))) {
        odbk_err_set(err, ODBK_E_DATA, "checksum mismatch in '%s' of pack '%s' of %s: the file list says sha256 %s, "
                     "the pack holds %s", name, pack, in->src->shown, fe->sha256, odbk_filter_sha256_hex(m->sha));
        odbk_err_hint(err, "the pack is damaged or was changed: restore another backup");
        r = -1;
    }
    if (r == 0)
        in->done[m->idx] = 1;
    member_drop(m);
    return r;
}

/* The chain a pack is read through, in front of sink: [cancel] → [progress] → size and SHA-256 against the
 * manifest → decompress (its codec: its name's suffix) → sink. */
struct pack_read {
    struct odbk_writer *cancel, *progress, *verify, *dec, *head;
};

static void pack_read_free(struct pack_read *p)
{
    odbk_writer_free(p->cancel);
    odbk_writer_free(p->progress);
    odbk_writer_free(p->verify);
    odbk_writer_free(p->dec);
    memset(p, 0, sizeof(*p));
}

static int pack_read(struct incr *in, const struct pack *pk, struct odbk_writer *sink, atomic_int *cancel,
                     odbk_progress_cb progress, void *progress_ctx, struct odbk_err *err)
{
    struct odbk_source *s = in->src;
    struct pack_read p = {0};
    enum odbk_compression c = pack_compression(pk->mp->name);
    char *key = odbk_storage_join(s->packs, pk->mp->name), *what = odbk_storage_join(s->packs_shown, pk->mp->name);
    int r;
    p.dec = c == ODBK_COMPRESS_NONE ? NULL : odbk_filter_decompress_new(c, sink);
    p.verify = odbk_filter_verify_new(p.dec ? p.dec : sink, pk->mp->sha256, pk->mp->size, what);
    p.head = p.verify;
    if (progress)
        p.head = p.progress = odbk_filter_progress_new(p.head, progress, progress_ctx, 200);
    if (cancel)
        p.head = p.cancel = odbk_filter_cancel_new(p.head, cancel);
    r = odbk_storage_read(s->pack_st ? s->pack_st : s->st, key, p.head, err);
    if (r == 0)
        r = odbk_writer_finish(p.head, err);
    else
        odbk_writer_abort(p.head);
    if (r < 0 && err->code == ODBK_E_NOINPUT) {
        odbk_err_set(err, ODBK_E_DATA, "pack '%s' of backup %s is missing from storage", what, s->label);
        odbk_err_hint(err, "the backup is damaged: restore another backup (odbk-list --rescan reports such backups)");
    } else if (r < 0 && err->code == ODBK_E_DATA && !strstr(err->msg, pk->mp->name)) {
        /* a decompressor's or the tar reader's complaint: the pack's checksum, reached only at its end, says
         * more; read it once more into nothing (only on failure, so a good read reads each pack once) */
        struct odbk_writer *null = odbk_sink_null_new(), *check = odbk_filter_verify_new(null, pk->mp->sha256,
                                                                                       pk->mp->size, what);
        struct odbk_err e2 = {0};
        int r2 = odbk_storage_read(s->pack_st ? s->pack_st : s->st, key, check, &e2);
        if (r2 == 0)
            r2 = odbk_writer_finish(check, &e2);
        if (r2 < 0 && e2.code == ODBK_E_DATA)
            *err = e2;
        else
            odbk_err_prefix(err, "pack '%s'", what);
        odbk_writer_free(check);
        odbk_writer_free(null);
    }
    pack_read_free(&p);
    free(key);
    free(what);
    return r;
}

/* ---- restore: the packs into the temporary filestore, ODBK_INCR_READERS at a time ---- */

struct load {
    struct incr in;
    const struct odbk_format_load *l;
    pthread_mutex_t mu;
    size_t next;                      /* the next pack a reader takes */
    atomic_int stop;                  /* a reader failed: the others stop */
    int failed;
    struct odbk_err err;              /* the first failure */
    struct odbk_report_phase phase;   /* the filestore's progress, against the packs' stored bytes */
    uint64_t bytes;                   /* the bytes of the packs done, under mu */
};

/* One pack's extraction: the filter of io/tar.h over the list */
struct load_pack {
    struct load *ld;
    const char *pack;
    struct member m;
    uint64_t seen;                    /* this pack's bytes so far (progress) */
};

static int lp_member(void *ctx, struct archive_entry *e, const char *name, struct odbk_err *err)
{
    struct load_pack *p = ctx;
    return member_begin(&p->ld->in, p->pack, &p->m, e, name, err);
}

static int lp_data(void *ctx, const void *buf, size_t len, struct odbk_err *err)
{
    return member_data(&((struct load_pack *)ctx)->m, buf, len, err);
}

static int lp_end(void *ctx, const char *name, struct odbk_err *err)
{
    struct load_pack *p = ctx;
    return member_end(&p->ld->in, p->pack, &p->m, name, err);
}

static const struct odbk_untar_filter load_filter = {lp_member, lp_data, lp_end};

static void lp_progress(void *ctx, uint64_t bytes)
{
    struct load_pack *p = ctx;
    struct load *ld = p->ld;
    pthread_mutex_lock(&ld->mu);
    ld->bytes += bytes - p->seen;
    p->seen = bytes;
    odbk_report_event(ld->l->report, ld->phase.phase, ODBK_PHASE_RUNNING, ld->bytes, ld->in.total, 0, NULL);
    pthread_mutex_unlock(&ld->mu);
}

static void *load_reader(void *arg)
{
    struct load *ld = arg;
    for (;;) {
        struct load_pack p;
        struct odbk_tar_stats stats;
        struct odbk_writer *untar;
        struct odbk_err e = {0};
        size_t i;
        int r;
        pthread_mutex_lock(&ld->mu);
        i = ld->next++;
        pthread_mutex_unlock(&ld->mu);
        if (i >= ld->in.n_packs || atomic_load(&ld->stop))
            return NULL;
        memset(&p, 0, sizeof(p));
        p.ld = ld;
        p.pack = ld->in.packs[i].mp->name;
        p.m.idx = -1;
        untar = odbk_untar_filtered_new(ld->l->tmpfs, ld->l->tmpfs_id, &stats, &load_filter, &p);
        r = pack_read(&ld->in, &ld->in.packs[i], untar, &ld->stop, ld->l->report ? lp_progress : NULL, &p, &e);
        odbk_writer_free(untar);
        member_drop(&p.m);
        if (r < 0) {
            pthread_mutex_lock(&ld->mu);
            /* the first failure is the cause; a reader stopped by it says only "cancelled" */
            if (!ld->failed) {
                ld->failed = 1;
                ld->err = e;
            }
            pthread_mutex_unlock(&ld->mu);
            atomic_store(&ld->stop, 1);
            return NULL;
        }
    }
}

int odbk_incr_load(const struct odbk_format_load *l, struct odbk_err *err)
{
    struct load ld;
    pthread_t th[ODBK_INCR_READERS];
    size_t i, n = 0;
    int r;
    memset(&ld, 0, sizeof(ld));
    ld.l = l;
    ld.phase.report = l->report;
    ld.phase.phase = "restore: filestore";
    if (incr_open(&ld.in, l->src, err) < 0) {
        incr_release(&ld.in);
        return -1;
    }
    pthread_mutex_init(&ld.mu, NULL);
    odbk_report_event(l->report, ld.phase.phase, ODBK_PHASE_STARTED, 0, ld.in.total, 0, NULL);
    for (i = 0; i < ODBK_INCR_READERS && i < ld.in.n_packs; i++, n++)
        if (pthread_create(&th[i], NULL, load_reader, &ld) != 0)
            break;
    if (ld.in.n_packs && !n) {
        odbk_err_set(&ld.err, ODBK_E_OSERR, "cannot start a thread to read the packs");
        ld.failed = 1;
    }
    for (i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    r = ld.failed ? -1 : 0;
    if (r < 0)
        *err = ld.err;
    else
        r = incr_all_done(&ld.in, err);
    odbk_report_event(l->report, ld.phase.phase, r == 0 ? ODBK_PHASE_FINISHED : ODBK_PHASE_FAILED, ld.bytes,
                      ld.in.total, 0, r == 0 ? NULL : err->msg);
    pthread_mutex_destroy(&ld.mu);
    incr_release(&ld.in);
    return r;
}

/* ---- one tar stream: the packs one after another, each listed member written into the output tar ---- */

struct stream {
    struct incr in;
    struct odbk_tar_out *out;
    const char *pack;
    struct member m;
};

static int st_begin(void *ctx, struct archive_entry *e, const char *name, struct odbk_err *err)
{
    struct stream *s = ctx;
    const struct odbk_fl_entry *fe;
    int r = member_begin(&s->in, s->pack, &s->m, e, name, err);
    if (r <= 0)
        return r;
    fe = &s->in.list.e[s->m.idx];
    return odbk_tar_out_member(s->out, fe->path, fe->mode & 0777, fe->mtime, fe->size, err);
}

static int st_data(void *ctx, const void *buf, size_t len, int64_t offset, struct odbk_err *err)
{
    struct stream *s = ctx;
    (void)offset;
    if (s->m.idx < 0)
        return 0;
    if (member_data(&s->m, buf, len, err) < 0)
        return -1;
    return odbk_tar_out_data(s->out, buf, len, err);
}

static int st_end(void *ctx, struct archive_entry *e, const char *name, struct odbk_err *err)
{
    struct stream *s = ctx;
    (void)e;
    if (s->m.idx < 0)
        return 0;
    return member_end(&s->in, s->pack, &s->m, name, err);
}

static const struct odbk_tar_visitor stream_visitor = {st_begin, st_data, st_end};

int odbk_incr_write_tar(struct odbk_source *src, struct odbk_writer *dst, const struct odbk_report *report,
                        uint64_t *files, uint64_t *bytes, struct odbk_err *err)
{
    struct stream s;
    struct odbk_report_phase ph = {report, "filestore", 0, 0, 0};
    size_t i;
    int r = 0, binary = 0;
    memset(&s, 0, sizeof(s));
    s.m.idx = -1;
    if (incr_open(&s.in, src, err) < 0) {
        incr_release(&s.in);
        return -1;
    }
    for (i = 0; i < s.in.list.n && !binary; i++)
        binary = odbk_tar_name_binary(s.in.list.e[i].path);
    if (files)
        *files = s.in.list.n;
    if (bytes)
        for (*bytes = 0, i = 0; i < s.in.list.n; i++)
            *bytes += s.in.list.e[i].size;
    ph.expected = s.in.total;
    s.out = odbk_tar_out_new(dst, binary, err);
    if (!s.out)
        r = -1;
    odbk_report_event(report, ph.phase, ODBK_PHASE_STARTED, 0, ph.expected, 0, NULL);
    for (i = 0; r == 0 && i < s.in.n_packs; i++) {
        struct odbk_writer *reader = odbk_tar_reader_new(&stream_visitor, &s, NULL);
        s.pack = s.in.packs[i].mp->name;
        r = pack_read(&s.in, &s.in.packs[i], reader, NULL, NULL, NULL, err);
        odbk_writer_free(reader);
        member_drop(&s.m);
        ph.bytes += s.in.packs[i].mp->size;
        odbk_report_event(report, ph.phase, ODBK_PHASE_RUNNING, ph.bytes, ph.expected, 0, NULL);
    }
    if (r == 0)
        r = incr_all_done(&s.in, err);
    if (r == 0)
        r = odbk_tar_out_close(s.out, err);
    odbk_tar_out_free(s.out);
    odbk_report_phase_end(&ph, r == 0, err->msg);
    incr_release(&s.in);
    return r;
}
