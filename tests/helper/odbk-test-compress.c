/* odbk-test-compress - test-only front end of odbk's compressors, for the level figures of
 * tests/bench/levels: standard input through the very filter odbk-create uses, to standard output.
 *
 *   odbk-test-compress gzip|zstd|none LEVEL THREADS < in > out      (LEVEL -1: the default)
 *   odbk-test-compress -d gzip|zstd < in > out
 *
 * On standard error: `in=BYTES out=BYTES stored=BYTES` (stored: the input gzip kept as it was).
 * Exit 0, or 64 / the error's code with a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "io/writer.h"

int main(int argc, char **argv)
{
    struct odbk_err err = {0};
    enum odbk_compression c;
    int decompress = argc == 3 && !strcmp(argv[1], "-d");
    if ((!decompress && argc != 4) || odbk_compression_parse(argv[decompress ? 2 : 1], &c) < 0) {
        fprintf(stderr, "usage: odbk-test-compress gzip|zstd|none LEVEL THREADS < in > out\n"
                        "       odbk-test-compress -d gzip|zstd < in > out\n");
        return 64;
    }
    struct odbk_writer *sink = odbk_sink_fd_new(1, "standard output");
    struct odbk_writer *size = odbk_filter_size_new(sink);
    struct odbk_writer *comp = decompress ? odbk_filter_decompress_new(c, size)
                                          : odbk_filter_compress_new(c, atoi(argv[2]), atoi(argv[3]), size);
    static char buf[1 << 16];
    uint64_t in = 0;
    ssize_t n;
    int rc = 0;
    while ((n = read(0, buf, sizeof(buf))) > 0) {
        in += (uint64_t)n;
        if (odbk_writer_write(comp, buf, (size_t)n, &err) < 0)
            break;
    }
    if (n < 0)
        odbk_err_set(&err, ODBK_E_IO, "cannot read standard input");
    if (err.code || odbk_writer_finish(comp, &err) < 0) {
        fprintf(stderr, "odbk-test-compress: %s\n", err.msg);
        rc = 1;
    } else {
        fprintf(stderr, "in=%llu out=%llu stored=%llu\n", (unsigned long long)in,
                (unsigned long long)odbk_filter_size_get(size), (unsigned long long)odbk_filter_gzip_stored(comp));
    }
    odbk_writer_free_chain(comp);
    return rc;
}
