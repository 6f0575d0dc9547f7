/* test-tar.c - the filestore tar both ways: a directory round-trips; the reader refuses links, "..",
 * absolute names and truncation before writing anything outside the target. */
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "io/tar.h"
#include "tap.h"

/* A tar with one member of the given name and type (AE_IFREG with "data", or AE_IFLNK to target). */
static char *one_member_tar_mode(const char *name, mode_t type, const char *target, mode_t perm, size_t *len)
{
    size_t cap = 1 << 16, used = 0;
    char *buf = odbk_xmalloc(cap);
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_memory(a, buf, cap, &used);
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    if (type == AE_IFLNK)
        archive_entry_set_symlink(e, target);
    else
        archive_entry_set_size(e, 4);
    archive_write_header(a, e);
    if (type == AE_IFREG)
        archive_write_data(a, "data", 4);
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
    *len = used;
    return buf;
}

static char *one_member_tar(const char *name, mode_t type, const char *target, size_t *len)
{
    return one_member_tar_mode(name, type, target, 0644, len);
}

static int extract(const char *tar, size_t len, const char *dir, struct odbk_err *err)
{
    struct odbk_tar_stats st;
    struct odbk_writer *w = odbk_untar_writer_new(dir, NULL, &st);
    int r = odbk_writer_write(w, tar, len, err);
    if (r == 0)
        r = odbk_writer_finish(w, err);
    odbk_writer_free(w);
    return r;
}

int main(void)
{
    char base[] = "/tmp/odbk-test-tar.XXXXXX";
    char *src, *dst, *tar, *p;
    size_t len;
    struct odbk_err err = {0};
    struct stat sb;
    mkdtemp(base);
    src = odbk_xasprintf("%s/src", base);
    dst = odbk_xasprintf("%s/dst", base);
    mkdir(src, 0755);
    mkdir(dst, 0755);
    p = odbk_xasprintf("%s/ab", src);
    mkdir(p, 0755);
    free(p);
    p = odbk_xasprintf("%s/ab/abcdef", src);
    {
        FILE *f = fopen(p, "w");
        fputs("attachment", f);
        fclose(f);
    }
    free(p);
    {
        struct odbk_writer *buf = odbk_sink_buffer_new(1 << 20);
        struct odbk_tar_stats st;
        const char *data;
        is_int(odbk_tar_write_dir(src, buf, &st, &err), 0, "a directory is written as tar");
        is_int((int)st.files, 1, "one file");
        data = odbk_sink_buffer_data(buf, &len);
        is_int(extract(data, len, dst, &err), 0, "and extracted");
        p = odbk_xasprintf("%s/ab/abcdef", dst);
        ok(stat(p, &sb) == 0 && sb.st_size == 10, "the file is back with its size");
        free(p);
        is_int(extract(data, len / 2, dst, &err), -1, "a truncated tar is refused");
        odbk_writer_free(buf);
    }
    tar = one_member_tar("link", AE_IFLNK, "/etc/passwd", &len);
    is_int(extract(tar, len, dst, &err), -1, "a symlink member is refused");
    ok(strstr(err.msg, "link") != NULL, "  saying it is a link");
    p = odbk_xasprintf("%s/link", dst);
    ok(lstat(p, &sb) != 0, "  and nothing was created");
    free(p);
    free(tar);
    tar = one_member_tar("../escape", AE_IFREG, NULL, &len);
    is_int(extract(tar, len, dst, &err), -1, "a ../ member is refused");
    is_int(odbk_err_exit_code(&err), 65, "  as bad data (65)");
    p = odbk_xasprintf("%s/escape", base);
    ok(stat(p, &sb) != 0, "  and nothing was written outside the target");
    free(p);
    free(tar);
    tar = one_member_tar("/abs", AE_IFREG, NULL, &len);
    is_int(extract(tar, len, dst, &err), -1, "an absolute member is refused");
    free(tar);
    /* a setuid-root executable in a hostile filestore archive comes out as a plain file (run as root,
     * libarchive would keep the bit for a member of uid 0) */
    tar = one_member_tar_mode("ab/rootshell", AE_IFREG, NULL, 04755, &len);
    p = odbk_xasprintf("%s/ab/rootshell", dst);
    ok(extract(tar, len, dst, &err) == 0 && stat(p, &sb) == 0 && (sb.st_mode & 07777) == 0755,
       "setuid, setgid and sticky bits are not restored (mode 0755 from 04755)");
    free(p);
    free(tar);
    tar = one_member_tar_mode("cd/shared", AE_IFREG, NULL, 03775, &len);
    p = odbk_xasprintf("%s/cd/shared", dst);
    ok(extract(tar, len, dst, &err) == 0 && stat(p, &sb) == 0 && (sb.st_mode & 07777) == 0775,
       "nor setgid and sticky (0775 from 03775)");
    free(p);
    free(tar);
    {
        char deep[512] = "", *q = deep;
        int i;
        for (i = 0; i < ODBK_TREE_DEPTH_MAX; i++)
            q += sprintf(q, "d/");
        strcpy(q, "f");
        ok(odbk_member_name_ok(deep), "member name: a file as deep as a backup may hold");
        memmove(deep + 2, deep, strlen(deep) + 1);
        memcpy(deep, "d/", 2);
        ok(!odbk_member_name_ok(deep), "member name: one folder deeper is refused");
    }
    ok(!odbk_member_name_ok("a/../../b") && odbk_member_name_ok("ab/abcdef") && !odbk_member_name_ok(""),
       "member names: '..' anywhere is refused, plain names pass");
    {
        struct odbk_err e2;
        odbk_rmtree(base, &e2);
    }
    free(src);
    free(dst);
    return done_testing();
}
