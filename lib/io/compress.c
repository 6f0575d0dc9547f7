/* compress.c - gzip (zlib) and zstd (libzstd) as writer filters, both directions (gzip compression is
 * pgzip.c's).
 *
 * The gzip decompressor accepts concatenated members (as pigz and parallel writers produce); the zstd
 * compressor uses libzstd's worker threads when asked.  Both decompressors fail on truncated input at
 * finish(), so a cut-off file can never be taken for a complete one. */
#include "io/writer.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "common/util.h"

#define OUTBUF (256 * 1024)

int odbk_compression_parse(const char *s, enum odbk_compression *out)
{
    if (!strcmp(s, "gzip") || !strcmp(s, "gz"))
        *out = ODBK_COMPRESS_GZIP;
    else if (!strcmp(s, "zstd") || !strcmp(s, "zst"))
        *out = ODBK_COMPRESS_ZSTD;
    else if (!strcmp(s, "none"))
        *out = ODBK_COMPRESS_NONE;
    else
        return -1;
    return 0;
}

const char *odbk_compression_name(enum odbk_compression c)
{
    return c == ODBK_COMPRESS_GZIP ? "gzip" : c == ODBK_COMPRESS_ZSTD ? "zstd" : "none";
}

const char *odbk_compression_suffix(enum odbk_compression c)
{
    return c == ODBK_COMPRESS_GZIP ? ".gz" : c == ODBK_COMPRESS_ZSTD ? ".zst" : "";
}

/* ---- gzip ---- */

/* The gzip decompressor (compressing is pgzip.c's). */
struct gz {
    struct odbk_writer w;
    z_stream z;
    int ended;        /* inflate: the last member ended exactly at the end of the data seen */
    unsigned char *out;
};

static int gz_emit(struct gz *g, struct odbk_err *err)
{
    if (g->z.avail_out != OUTBUF && g->w.next)
        return odbk_writer_write(g->w.next, g->out, OUTBUF - g->z.avail_out, err);
    return 0;
}

/* Feed what is in g->z.next_in through inflate, passing the output on. */
static int gz_drain(struct gz *g, struct odbk_err *err)
{
    for (;;) {
        int rc;
        g->z.next_out = g->out;
        g->z.avail_out = OUTBUF;
        rc = inflate(&g->z, Z_NO_FLUSH);
        if (gz_emit(g, err) < 0)
            return -1;
        if (rc == Z_STREAM_END) {
            g->ended = 1;
            if (!g->z.avail_in)
                return 0;
            if (inflateReset(&g->z) != Z_OK)   /* another member follows */
                return odbk_err_set(err, ODBK_E_DATA, "gzip: cannot read the next member");
            continue;
        } else if (rc == Z_OK) {
            g->ended = 0;
        } else if (rc != Z_BUF_ERROR) {
            return odbk_err_set(err, ODBK_E_DATA, "gzip: corrupt data (%s)", g->z.msg ? g->z.msg : "error");
        }
        if (g->z.avail_in == 0 && g->z.avail_out != 0)
            return 0;
    }
}

static int gz_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct gz *g = (struct gz *)w;
    const unsigned char *p = buf;
    while (len) {
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        g->z.next_in = (unsigned char *)p;
        g->z.avail_in = chunk;
        if (gz_drain(g, err) < 0)
            return -1;
        p += chunk;
        len -= chunk;
    }
    return 0;
}

static int gz_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct gz *g = (struct gz *)w;
    if (!g->ended)
        return odbk_err_set(err, ODBK_E_DATA, "gzip: unexpected end of data (the file is truncated)");
    return 0;
}

static void gz_free(struct odbk_writer *w)
{
    struct gz *g = (struct gz *)w;
    inflateEnd(&g->z);
    free(g->out);
    free(g);
}

static const struct odbk_writer_ops gz_ops = {"gzip", gz_write, gz_finish, NULL, gz_free};

static struct odbk_writer *gunzip_new(struct odbk_writer *next)
{
    struct gz *g = odbk_xcalloc(1, sizeof(*g));
    g->out = odbk_xmalloc(OUTBUF);
    odbk_writer_init(&g->w, &gz_ops, next);
    if (inflateInit2(&g->z, 15 + 16) != Z_OK)
        odbk_writer_broken(&g->w, "zlib initialisation failed");
    return &g->w;
}

/* ---- zstd ---- */

struct zs {
    struct odbk_writer w;
    ZSTD_CCtx *c;
    ZSTD_DCtx *d;
    size_t pending;   /* decompress: last ZSTD_decompressStream hint; 0 = at a frame boundary */
    unsigned char *out;
};

static int zs_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct zs *z = (struct zs *)w;
    ZSTD_inBuffer in = {buf, len, 0};
    while (in.pos < in.size) {
        ZSTD_outBuffer out = {z->out, OUTBUF, 0};
        size_t r;
        if (z->c) {
            r = ZSTD_compressStream2(z->c, &out, &in, ZSTD_e_continue);
        } else {
            r = ZSTD_decompressStream(z->d, &out, &in);
            z->pending = r;
        }
        if (ZSTD_isError(r))
            return odbk_err_set(err, z->c ? ODBK_E_SOFTWARE : ODBK_E_DATA, "zstd: %s", ZSTD_getErrorName(r));
        if (out.pos && w->next && odbk_writer_write(w->next, z->out, out.pos, err) < 0)
            return -1;
    }
    if (z->d) {
        /* flush what the decoder still holds for this input */
        for (;;) {
            ZSTD_inBuffer none = {NULL, 0, 0};
            ZSTD_outBuffer out = {z->out, OUTBUF, 0};
            size_t r = ZSTD_decompressStream(z->d, &out, &none);
            if (ZSTD_isError(r))
                return odbk_err_set(err, ODBK_E_DATA, "zstd: %s", ZSTD_getErrorName(r));
            if (out.pos && w->next && odbk_writer_write(w->next, z->out, out.pos, err) < 0)
                return -1;
            if (out.pos < OUTBUF)
                break;
        }
    }
    return 0;
}

static int zs_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct zs *z = (struct zs *)w;
    if (z->d) {
        if (z->pending != 0)
            return odbk_err_set(err, ODBK_E_DATA, "zstd: unexpected end of data (the file is truncated)");
        return 0;
    }
    for (;;) {
        ZSTD_inBuffer in = {NULL, 0, 0};
        ZSTD_outBuffer out = {z->out, OUTBUF, 0};
        size_t r = ZSTD_compressStream2(z->c, &out, &in, ZSTD_e_end);
        if (ZSTD_isError(r))
            return odbk_err_set(err, ODBK_E_SOFTWARE, "zstd: %s", ZSTD_getErrorName(r));
        if (out.pos && w->next && odbk_writer_write(w->next, z->out, out.pos, err) < 0)
            return -1;
        if (r == 0)
            break;
    }
    return 0;
}

static void zs_free(struct odbk_writer *w)
{
    struct zs *z = (struct zs *)w;
    ZSTD_freeCCtx(z->c);
    ZSTD_freeDCtx(z->d);
    free(z->out);
    free(z);
}

static const struct odbk_writer_ops zs_ops = {"zstd", zs_write, zs_finish, NULL, zs_free};

static struct odbk_writer *zs_new(int decompress, int level, int threads, struct odbk_writer *next)
{
    struct zs *z = odbk_xcalloc(1, sizeof(*z));
    z->out = odbk_xmalloc(OUTBUF);
    if (decompress) {
        z->d = ZSTD_createDCtx();
    } else {
        z->c = ZSTD_createCCtx();
        if (z->c) {
            ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, level < 0 ? ODBK_ZSTD_LEVEL : level);
            if (threads > 1) {
                /* libzstd's default job is 4 windows (8 MiB at level 3) per worker, several buffered.
                 * 1 MiB jobs: a stream with 2 workers peaks at 11 MiB (2 MiB jobs: 18 MiB; 8 MiB: 36),
                 * each further worker about 3 MiB more, at the same ratio (within 0.1%) and speed, so
                 * the database and the filestore streams together, and S3's parts, stay under odbk's
                 * 64 MiB at the default level (tests/bench: odbk zstd S3, peak RSS) */
                ZSTD_CCtx_setParameter(z->c, ZSTD_c_nbWorkers, threads);
                ZSTD_CCtx_setParameter(z->c, ZSTD_c_jobSize, 1 << 20);
            }
        }
    }
    odbk_writer_init(&z->w, &zs_ops, next);
    if (!z->c && !z->d)
        odbk_writer_broken(&z->w, "zstd initialisation failed");
    return &z->w;
}

/* ---- pass-through for "none" ---- */

static int none_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    return w->next ? odbk_writer_write(w->next, buf, len, err) : 0;
}

static void none_free(struct odbk_writer *w)
{
    free(w);
}

static const struct odbk_writer_ops none_ops = {"none", none_write, NULL, NULL, none_free};

static struct odbk_writer *none_new(struct odbk_writer *next)
{
    struct odbk_writer *w = odbk_xcalloc(1, sizeof(*w));
    odbk_writer_init(w, &none_ops, next);
    return w;
}

struct odbk_writer *odbk_filter_compress_new(enum odbk_compression c, int level, int threads,
                                             struct odbk_writer *next)
{
    switch (c) {
    case ODBK_COMPRESS_GZIP: return odbk_filter_pgzip_new(level, threads, next);
    case ODBK_COMPRESS_ZSTD: return zs_new(0, level, threads, next);
    default: return none_new(next);
    }
}

struct odbk_writer *odbk_filter_decompress_new(enum odbk_compression c, struct odbk_writer *next)
{
    switch (c) {
    case ODBK_COMPRESS_GZIP: return gunzip_new(next);
    case ODBK_COMPRESS_ZSTD: return zs_new(1, 0, 0, next);
    default: return none_new(next);
    }
}
