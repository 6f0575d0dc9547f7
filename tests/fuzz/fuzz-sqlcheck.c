/* fuzz-sqlcheck.c - the SQL stream check in front of psql (odbk_filter_sqlcheck_new).  The input is fed
 * twice: whole, and cut in two at a point taken from its first byte; a streaming lexer must give the same
 * verdict and the same output bytes whatever the cut (a meta-command split across two writes is still
 * refused); the first byte's top bit turns on ODBK_SQLCHECK_NO_ACL. */
#include "fuzz/fuzz.h"

#include <stdio.h>

#include "pg/sqlcheck.h"

/* Run the filter over data written in two pieces (cut bytes, then the rest); returns 0 when it
 * accepted the stream, with its output in *out (malloc'd). */
static int fuzz_sqlcheck_run(const uint8_t *data, size_t size, size_t cut, char **out, size_t *outlen)
{
    struct odbk_writer *buf = odbk_sink_buffer_new(16 * size + 4096);
    /* the first byte's top bit: --no-acl (the same for both runs) */
    struct odbk_writer *f = odbk_filter_sqlcheck_new(buf, "fuzz.sql", "fuzzkey", data[0] & 0x80 ? ODBK_SQLCHECK_NO_ACL : 0);
    struct odbk_err err = {0};
    int r = odbk_writer_write(f, data, cut, &err);
    if (r == 0)
        r = odbk_writer_write(f, data + cut, size - cut, &err);
    if (r == 0)
        r = odbk_writer_finish(f, &err);
    else
        odbk_writer_abort(f);
    *out = NULL;
    *outlen = 0;
    if (r == 0) {
        const char *d = odbk_sink_buffer_data(buf, outlen);
        *out = malloc(*outlen + 1);
        memcpy(*out, d, *outlen);
    }
    odbk_writer_free(f);
    odbk_writer_free(buf);
    return r;
}

FUZZ_TARGET(sqlcheck)
{
    if (size == 0)
        return 0;
    size_t cut = data[0] % size;
    char *a, *b;
    size_t alen, blen;
    int ra = fuzz_sqlcheck_run(data, size, 0, &a, &alen);
    int rb = fuzz_sqlcheck_run(data, size, cut, &b, &blen);
    if (ra != rb || alen != blen || (alen && memcmp(a, b, alen))) {
        fprintf(stderr, "sqlcheck: whole input %s, cut at %zu %s\n", ra ? "refused" : "accepted", cut,
                rb ? "refused" : "accepted");
        abort();
    }
    free(a);
    free(b);
    return 0;
}
