/* test-copycount.c - the COPY row counter of lib/io/copycount.c, fed whole and byte by byte. */
#include <stdlib.h>
#include <string.h>

#include "io/writer.h"
#include "tap.h"

static const char dump[] =
    "-- PostgreSQL database dump\n"
    "CREATE TABLE public.res_partner (id integer, name text);\n"
    "COPY public.res_partner (id, name) FROM stdin;\n"
    "1\tAzure\n"
    "2\t\\\\.not the end\n"
    "3\ta\\nb\n"
    "\\.\n"
    "\n"
    "COPY public.\"Odd Table\" (x) FROM stdin;\r\n"
    "\\.\r\n"
    "COPY public.ir_attachment (id) FROM stdin;\n"
    "7\n"
    "\\.\n"
    "SELECT 'COPY public.fake (x) FROM stdin;';\n"
    "COPY public.cut (id) FROM stdin;\n"
    "1\n";

static void run(size_t chunk, const char *what)
{
    struct odbk_writer *null = odbk_sink_null_new(), *cc = odbk_filter_copycount_new(null);
    struct odbk_err err = {0};
    const struct odbk_copy_count *v;
    size_t n, off, len = strlen(dump);
    char d[128];
    int r = 0;
    for (off = 0; off < len && r == 0; off += chunk)
        r = odbk_writer_write(cc, dump + off, off + chunk <= len ? chunk : len - off, &err);
    ok(r == 0 && odbk_writer_finish(cc, &err) == 0, what);
    n = odbk_filter_copycount_get(cc, &v);
    snprintf(d, sizeof(d), "%s: three complete blocks", what);
    is_int((int)n, 3, d);
    if (n == 3) {
        snprintf(d, sizeof(d), "%s: res_partner has 3 rows (an escaped \\. is a row)", what);
        ok(!strcmp(v[0].table, "public.res_partner") && v[0].rows == 3, d);
        snprintf(d, sizeof(d), "%s: a quoted name with a space, an empty block, CRLF line ends", what);
        ok(!strcmp(v[1].table, "public.\"Odd Table\"") && v[1].rows == 0, d);
        snprintf(d, sizeof(d), "%s: ir_attachment has 1 row", what);
        ok(!strcmp(v[2].table, "public.ir_attachment") && v[2].rows == 1, d);
    }
    odbk_writer_free(cc);
    odbk_writer_free(null);
}

int main(void)
{
    run(strlen(dump), "whole");
    run(1, "byte by byte");
    run(7, "7-byte chunks");
    return done_testing();
}
