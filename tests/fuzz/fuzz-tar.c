/* fuzz-tar.c - the tar reader behind every restore of an odbk filestore (odbk_tar_reader_new): its checks
 * of each member (odbk_member_name_ok, regular file or directory, no link) before a visitor sees it; the
 * visitor here only checks that what it is given passed those checks. */
#include "fuzz/fuzz.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>

#include "io/tar.h"
#include "io/writer.h"

static int fuzz_tar_begin(void *ctx, struct archive_entry *e, const char *name, struct odbk_err *err)
{
    if (!odbk_member_name_ok(name)) {
        fprintf(stderr, "tar reader let member '%s' through\n", name);
        abort();
    }
    return 0;
}

static int fuzz_tar_data(void *ctx, const void *buf, size_t len, int64_t offset, struct odbk_err *err)
{
    return 0;
}

static int fuzz_tar_end(void *ctx, struct archive_entry *e, const char *name, struct odbk_err *err)
{
    return 0;
}

FUZZ_TARGET(tar)
{
    static const struct odbk_tar_visitor v = {fuzz_tar_begin, fuzz_tar_data, fuzz_tar_end};
    struct odbk_writer *t = odbk_tar_reader_new(&v, NULL, NULL);
    fuzz_feed(t, data, size);
    odbk_writer_free(t);
    return 0;
}
