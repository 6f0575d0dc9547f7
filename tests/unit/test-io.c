/* test-io.c - the writer chain: compression round trips, truncation and corruption detection, sha256,
 * sizes, and that a finish failure aborts the rest of the chain. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "common/util.h"
#include "io/writer.h"
#include "tap.h"

static char *roundtrip(enum odbk_compression c, const char *data, size_t len, size_t cut, int corrupt,
                       int *rc_out, size_t *out_len)
{
    struct odbk_err err = {0};
    struct odbk_writer *buf = odbk_sink_buffer_new(64 << 20);
    struct odbk_writer *comp = odbk_filter_compress_new(c, -1, 2, buf);
    struct odbk_writer *back, *dec;
    const char *cdata;
    size_t clen, i;
    char *res, *cc;
    int rc;
    for (i = 0; i < len; i += 1000)
        odbk_writer_write(comp, data + i, len - i < 1000 ? len - i : 1000, &err);
    odbk_writer_finish(comp, &err);
    cdata = odbk_sink_buffer_data(buf, &clen);
    cc = odbk_xmalloc(clen + 1);
    memcpy(cc, cdata, clen);
    if (cut)
        clen -= cut;
    if (corrupt)
        cc[clen / 2] ^= 0x55;
    back = odbk_sink_buffer_new(64 << 20);
    dec = odbk_filter_decompress_new(c, back);
    rc = odbk_writer_write(dec, cc, clen, &err);
    if (rc == 0)
        rc = odbk_writer_finish(dec, &err);
    *rc_out = rc;
    res = odbk_xstrdup(odbk_sink_buffer_data(back, out_len));
    odbk_writer_free(comp);
    odbk_writer_free(buf);
    odbk_writer_free(dec);
    odbk_writer_free(back);
    free(cc);
    return res;
}

int main(void)
{
    size_t len = 3 << 20, i, got;
    char *data = odbk_xmalloc(len + 1), *res;
    int rc;
    enum odbk_compression cs[] = {ODBK_COMPRESS_GZIP, ODBK_COMPRESS_ZSTD};
    srand(7);
    for (i = 0; i < len; i++)
        data[i] = (i % 3000 < 2000) ? "invoice total amount "[i % 21] : (char)('a' + rand() % 26);
    data[len] = 0;
    for (i = 0; i < 2; i++) {
        const char *n = odbk_compression_name(cs[i]);
        char d[128];
        res = roundtrip(cs[i], data, len, 0, 0, &rc, &got);
        snprintf(d, sizeof d, "%s: round trip succeeds", n);
        is_int(rc, 0, d);
        snprintf(d, sizeof d, "%s: round trip gives the same bytes", n);
        ok(got == len && !memcmp(res, data, len), d);
        free(res);
        res = roundtrip(cs[i], data, len, 100, 0, &rc, &got);
        snprintf(d, sizeof d, "%s: truncated input is refused", n);
        is_int(rc, -1, d);
        free(res);
        res = roundtrip(cs[i], data, len, 0, 1, &rc, &got);
        snprintf(d, sizeof d, "%s: corrupted input is refused", n);
        ok(rc == -1 || got != len || memcmp(res, data, len), d);
        free(res);
    }
    {
        /* two concatenated gzip members decode as one stream */
        struct odbk_err err = {0};
        struct odbk_writer *b1 = odbk_sink_buffer_new(1 << 20), *b2 = odbk_sink_buffer_new(1 << 20);
        struct odbk_writer *g1 = odbk_filter_compress_new(ODBK_COMPRESS_GZIP, 1, 1, b1);
        struct odbk_writer *g2 = odbk_filter_compress_new(ODBK_COMPRESS_GZIP, 9, 1, b2);
        struct odbk_writer *out = odbk_sink_buffer_new(1 << 20), *dec = odbk_filter_decompress_new(ODBK_COMPRESS_GZIP, out);
        size_t l1, l2;
        const char *p1, *p2;
        odbk_writer_write(g1, "hello ", 6, &err);
        odbk_writer_finish(g1, &err);
        odbk_writer_write(g2, "world", 5, &err);
        odbk_writer_finish(g2, &err);
        p1 = odbk_sink_buffer_data(b1, &l1);
        p2 = odbk_sink_buffer_data(b2, &l2);
        rc = odbk_writer_write(dec, p1, l1, &err);
        rc |= odbk_writer_write(dec, p2, l2, &err);
        rc |= odbk_writer_finish(dec, &err);
        is_int(rc, 0, "gzip: concatenated members decode");
        is_str(odbk_sink_buffer_data(out, NULL), "hello world", "gzip: both members' bytes come out");
        odbk_writer_free(g1); odbk_writer_free(g2); odbk_writer_free(b1); odbk_writer_free(b2);
        odbk_writer_free(dec); odbk_writer_free(out);
    }
    {
        struct odbk_err err = {0};
        struct odbk_writer *null = odbk_sink_null_new(), *sha = odbk_filter_sha256_new(null);
        struct odbk_writer *size = odbk_filter_size_new(sha);
        odbk_writer_write(size, "abc", 3, &err);
        is_int(odbk_writer_finish(size, &err), 0, "sha256 chain finishes");
        is_str(odbk_filter_sha256_hex(sha), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
               "sha256 of 'abc'");
        is_int(odbk_filter_size_get(size), 3, "size counts bytes");
        odbk_writer_free_chain(size);
    }
    {
        struct odbk_err err = {0};
        struct odbk_writer *null = odbk_sink_null_new();
        struct odbk_writer *chk = odbk_filter_verify_new(null, "00", 3, "x.gz");
        odbk_writer_write(chk, "abc", 3, &err);
        is_int(odbk_writer_finish(chk, &err), -1, "sha256 check fails on mismatch");
        is_int(odbk_err_exit_code(&err), 65, "a mismatch is a data error (65)");
        ok(strstr(err.msg, "x.gz") != NULL, "the message names the file");
        is_int(null->state, 2, "the sink after a failed check is aborted");
        odbk_writer_free_chain(chk);
    }
    {
        /* the right digest of "abc" but the wrong size: refused before anything below is finished */
        struct odbk_err err = {0};
        struct odbk_writer *null = odbk_sink_null_new();
        struct odbk_writer *chk = odbk_filter_verify_new(
            null, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 4, "y.gz");
        odbk_writer_write(chk, "abc", 3, &err);
        is_int(odbk_writer_finish(chk, &err), -1, "verify fails on a size that differs from the manifest");
        ok(strstr(err.msg, "has 3 bytes, the manifest says 4") != NULL, "saying both sizes");
        is_int(null->state, 2, "and the sink is aborted, not finished");
        odbk_writer_free_chain(chk);
        null = odbk_sink_null_new();
        chk = odbk_filter_verify_new(null, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3,
                                     "y.gz");
        odbk_writer_write(chk, "abc", 3, &err);
        is_int(odbk_writer_finish(chk, &err), 0, "verify passes on the right size and digest");
        odbk_writer_free_chain(chk);
    }
    {
        /* parallel gzip: edge sizes decode to the same bytes, gzip(1) reads it, the ratio is gzip's */
        size_t sizes[] = {0, 1, 1024 * 1024, 1024 * 1024 + 1, 3 << 20}, k;
        for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
            struct odbk_err err = {0};
            struct odbk_writer *buf = odbk_sink_buffer_new(64 << 20), *pg = odbk_filter_pgzip_new(6, 3, buf);
            struct odbk_writer *out = odbk_sink_buffer_new(64 << 20), *dec = odbk_filter_decompress_new(ODBK_COMPRESS_GZIP, out);
            const char *c;
            size_t clen, olen;
            char d[96];
            int r = odbk_writer_write(pg, data, sizes[k], &err);
            r |= odbk_writer_finish(pg, &err);
            c = odbk_sink_buffer_data(buf, &clen);
            r |= odbk_writer_write(dec, c, clen, &err);
            r |= odbk_writer_finish(dec, &err);
            odbk_sink_buffer_data(out, &olen);
            snprintf(d, sizeof d, "pgzip: %zu bytes round-trip", sizes[k]);
            ok(r == 0 && olen == sizes[k] && !memcmp(odbk_sink_buffer_data(out, NULL), data, sizes[k]), d);
            if (k == 4) {
                FILE *f = fopen("/tmp/odbk-test-io.gz", "w");
                size_t glen;
                fwrite(c, 1, clen, f);
                fclose(f);
                ok(system("gzip -t /tmp/odbk-test-io.gz") == 0, "pgzip: gzip -t accepts the output");
                unlink("/tmp/odbk-test-io.gz");
                {
                    uLongf zlen = compressBound((uLong)sizes[k]);
                    unsigned char *z = odbk_xmalloc(zlen);
                    compress2(z, &zlen, (const unsigned char *)data, (uLong)sizes[k], 6);
                    glen = zlen;
                    diag("zlib -6: %zu bytes, parallel: %zu bytes", glen, clen);
                    ok(clen < glen + glen / 100, "pgzip: within 1% of zlib's size at the same level");
                    is_int((long long)odbk_filter_gzip_stored(pg), 0, "pgzip: text is compressed, none stored");
                    free(z);
                }
            }
            odbk_writer_free(pg);
            odbk_writer_free(buf);
            odbk_writer_free(dec);
            odbk_writer_free(out);
        }
    }
    {
        /* incompressible segments are stored, compressible ones deflated, in one gzip stream: 1 MiB of
         * random bytes (as a photo is), then 1 MiB of the text, then 1 MiB of random again */
        size_t n = 3 << 20, k, clen, olen;
        unsigned char *mix = odbk_xmalloc(n);
        int threads[] = {1, 2, 3};
        uint64_t x = 88172645463325252ULL;
        for (k = 0; k < n; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            mix[k] = (k >= (1u << 20) && k < (2u << 20)) ? (unsigned char)data[k] : (unsigned char)x;
        }
        for (k = 0; k < 3; k++) {
            struct odbk_err err = {0};
            struct odbk_writer *buf = odbk_sink_buffer_new(64 << 20);
            struct odbk_writer *gz = odbk_filter_compress_new(ODBK_COMPRESS_GZIP, 6, threads[k], buf);
            struct odbk_writer *out = odbk_sink_buffer_new(64 << 20), *dec = odbk_filter_decompress_new(ODBK_COMPRESS_GZIP, out);
            const char *c;
            char d[96];
            int r = 0;
            size_t off;
            for (off = 0; off < n; off += 10007)   /* odd write sizes: segments straddle the writes */
                r |= odbk_writer_write(gz, mix + off, n - off < 10007 ? n - off : 10007, &err);
            r |= odbk_writer_finish(gz, &err);
            c = odbk_sink_buffer_data(buf, &clen);
            r |= odbk_writer_write(dec, c, clen, &err);
            r |= odbk_writer_finish(dec, &err);
            snprintf(d, sizeof d, "gzip, %d thread(s): photo/text/photo round-trips", threads[k]);
            ok(r == 0 && odbk_sink_buffer_data(out, &olen) && olen == n && !memcmp(odbk_sink_buffer_data(out, NULL), mix, n), d);
            snprintf(d, sizeof d, "gzip, %d thread(s): the 2 MiB of random bytes are stored, the text is not", threads[k]);
            diag("stored %llu of %zu bytes; %zu bytes out", (unsigned long long)odbk_filter_gzip_stored(gz), n, clen);
            ok(odbk_filter_gzip_stored(gz) == (2u << 20), d);
            snprintf(d, sizeof d, "gzip, %d thread(s): the output is the random bytes plus the compressed text", threads[k]);
            ok(clen < (2u << 20) + (2u << 20) / 100 + (1u << 20) / 5, d);
            if (k == 2) {
                FILE *f = fopen("/tmp/odbk-test-io-mix.gz", "w");
                fwrite(c, 1, clen, f);
                fclose(f);
                ok(system("gzip -t /tmp/odbk-test-io-mix.gz") == 0, "gzip -t accepts the mixed stream");
                unlink("/tmp/odbk-test-io-mix.gz");
            }
            odbk_writer_free(gz);
            odbk_writer_free(buf);
            odbk_writer_free(dec);
            odbk_writer_free(out);
        }
        {
            /* a tar of small files mixes photos and text within 64 KiB: every 64 KiB here is 8 KiB of
             * random bytes, then 56 KiB of text; only the 16 KiB segments that start random are stored
             * (a quarter: 64 KiB segments stored all of it) and the rest is deflated */
            struct odbk_err err = {0};
            struct odbk_writer *buf = odbk_sink_buffer_new(64 << 20);
            struct odbk_writer *gz = odbk_filter_compress_new(ODBK_COMPRESS_GZIP, 1, 2, buf);
            size_t m = 2 << 20;
            unsigned char *mixed = odbk_xmalloc(m);
            for (k = 0; k < m; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                mixed[k] = k % 65536 < 8192 ? (unsigned char)x : (unsigned char)data[k];
            }
            int r = odbk_writer_write(gz, mixed, m, &err);
            r |= odbk_writer_finish(gz, &err);
            odbk_sink_buffer_data(buf, &clen);
            diag("stored %llu of %zu bytes; %zu bytes out", (unsigned long long)odbk_filter_gzip_stored(gz), m, clen);
            ok(r == 0 && odbk_filter_gzip_stored(gz) == m / 4 && clen < m / 2,
               "gzip: photos and text mixed within 64 KiB: only the 16 KiB segments that start random are stored");
            free(mixed);
            odbk_writer_free(gz);
            odbk_writer_free(buf);
        }
        {
            /* --level 0: everything stored, and still a gzip stream */
            struct odbk_err err = {0};
            struct odbk_writer *buf = odbk_sink_buffer_new(64 << 20);
            struct odbk_writer *gz = odbk_filter_compress_new(ODBK_COMPRESS_GZIP, 0, 2, buf);
            struct odbk_writer *out = odbk_sink_buffer_new(64 << 20), *dec = odbk_filter_decompress_new(ODBK_COMPRESS_GZIP, out);
            const char *c;
            int r = odbk_writer_write(gz, data, 1 << 20, &err);
            r |= odbk_writer_finish(gz, &err);
            c = odbk_sink_buffer_data(buf, &clen);
            r |= odbk_writer_write(dec, c, clen, &err);
            r |= odbk_writer_finish(dec, &err);
            ok(r == 0 && odbk_sink_buffer_data(out, &olen) && olen == (1u << 20) && clen > (1u << 20),
               "gzip level 0: stored, and read back");
            odbk_writer_free(gz);
            odbk_writer_free(buf);
            odbk_writer_free(dec);
            odbk_writer_free(out);
        }
        free(mix);
    }
    {
        /* a link whose constructor failed (a library's initialisation, a thread) fails its first write and
         * its finish with an error, never aborting the process; nothing reaches the sink */
        struct odbk_writer *out = odbk_sink_buffer_new(1 << 20), *sha = odbk_filter_sha256_new(out);
        struct odbk_err err = {0};
        size_t olen = 1;
        odbk_writer_broken(sha, "cannot initialise SHA-256");
        ok(odbk_writer_write(sha, "x", 1, &err) == -1 && err.code == ODBK_E_SOFTWARE &&
               !strcmp(err.msg, "sha256: cannot initialise SHA-256"),
           "a broken link's write is an error naming it");
        odbk_err_clear(&err);
        ok(odbk_writer_finish(sha, &err) == -1 && err.code == ODBK_E_SOFTWARE, "and so is its finish");
        odbk_sink_buffer_data(out, &olen);
        is_int((int)olen, 0, "nothing reached the sink");
        odbk_writer_free(sha);
        odbk_writer_free(out);
    }
    free(data);
    return done_testing();
}
