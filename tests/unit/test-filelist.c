/* test-filelist.c - the incremental filestore's file list (backup/filelist.h): names of packs and lists, the
 * writer and the reader both ways, and every rejection of a hostile list, each with a failing case. */
#include <stdlib.h>
#include <string.h>

#include "backup/filelist.h"
#include "common/util.h"
#include "tap.h"

#define ID "20260102T030405Z-1a2b3c"
#define PACK1 ID "-000001.tar.gz"
#define PACK2 ID "-000002.tar.gz"
#define SHA "8616d6e6ad1d2a4dba146040f5f3f12c10f3513ec3a81efe429f34363f53e15c"

/* A list written by the writer into memory. */
static char *write_list(const struct odbk_fl_entry *e, size_t n, size_t *len, int *rc)
{
    struct odbk_writer *buf = odbk_sink_buffer_new(1 << 20);
    struct odbk_filelist_writer *fw = odbk_filelist_writer_new(buf);
    struct odbk_err err = {0};
    const char *data;
    char *out;
    size_t i;
    *rc = 0;
    for (i = 0; i < n && *rc == 0; i++)
        *rc = odbk_filelist_write_entry(fw, &e[i], &err);
    if (*rc == 0)
        *rc = odbk_filelist_write_end(fw, &err);
    if (*rc == 0)
        *rc = odbk_writer_finish(buf, &err);
    data = odbk_sink_buffer_data(buf, len);
    out = odbk_xstrndup(data ? data : "", *len);
    odbk_filelist_writer_free(fw);
    odbk_writer_free(buf);
    return out;
}

static struct odbk_manifest manifest_with(const char *const *packs, size_t n)
{
    struct odbk_manifest m;
    size_t i;
    memset(&m, 0, sizeof(m));
    m.filestore_mode = ODBK_FILESTORE_INCREMENTAL;
    for (i = 0; i < n; i++)
        odbk_manifest_add_pack(&m, packs[i], 10, SHA);
    return m;
}

/* The parse of text: 0 or -1, the error's message in msg. */
static int parse_text(const char *text, const struct odbk_manifest *m, char *msg, size_t msgsize)
{
    struct odbk_filelist l;
    struct odbk_err err = {0};
    int r = odbk_filelist_parse(text, strlen(text), "L", m, &l, &err);
    snprintf(msg, msgsize, "%s", r < 0 ? err.msg : "");
    if (r == 0)
        odbk_filelist_free(&l);
    return r < 0 ? (err.code == ODBK_E_DATA ? -1 : -2) : 0;
}

int main(void)
{
    const char *packs[] = {PACK1, PACK2};
    struct odbk_manifest m = manifest_with(packs, 2);
    char msg[1024];

    /* names */
    {
        char *p = odbk_pack_name(ID, 1, ODBK_COMPRESS_GZIP), *z = odbk_pack_name(ID, 42, ODBK_COMPRESS_ZSTD);
        char *k = odbk_pack_key("prod", p), *pre = odbk_packs_prefix("prod");
        char *l = odbk_filelist_name(ID, ODBK_COMPRESS_GZIP);
        is_str(p, PACK1, "a pack's name");
        is_str(z, ID "-000042.tar.zst", "a zstd pack's name");
        is_str(k, "prod/packs/" PACK1, "a pack's key");
        is_str(pre, "prod/packs/", "the packs' folder");
        is_str(l, "backup-" ID "-filestore.list.gz", "a list's name");
        ok(odbk_pack_name_ok(p) && odbk_pack_name_ok(z), "names made pass odbk_pack_name_ok");
        ok(odbk_pack_of(p, ID) && !odbk_pack_of(p, "20260102T030405Z-1a2b3d"), "odbk_pack_of: its backup's only");
        free(p), free(z), free(k), free(pre), free(l);
    }
    {
        static const char *const badnames[] = {
            "", "packs", ID, ID "-000001", ID "-000000.tar.gz", ID "-00001.tar.gz", ID "-0000001.tar.gz",
            ID "-000001.tar.bz2", ID "-000001.tar.gz/x", "../" ID "-000001.tar.gz", ID "-00000a.tar.gz",
            "20260102T030405Z-1a2b3g-000001.tar.gz", "20260102X030405Z-1a2b3c-000001.tar.gz",
            ID "-000001.tar.gzx", " " ID "-000001.tar.gz", ID "x000001.tar.gz",
        };
        size_t i;
        int all = 1;
        for (i = 0; i < sizeof(badnames) / sizeof(badnames[0]); i++)
            if (odbk_pack_name_ok(badnames[i])) {
                printf("# accepted '%s'\n", badnames[i]);
                all = 0;
            }
        ok(all, "odbk_pack_name_ok refuses every name not of the exact shape");
        ok(odbk_pack_name_ok(ID "-999999.tar") && odbk_pack_name_ok(ID "-000001.tar.zst"), "and takes .tar, .tar.zst");
    }

    /* paths */
    ok(odbk_filelist_path_ok("ab/abcdef", 9) && odbk_filelist_path_ok("checklist/x y", 13), "valid paths");
    ok(!odbk_filelist_path_ok("/etc/passwd", 11) && !odbk_filelist_path_ok("", 0) &&
           !odbk_filelist_path_ok("a/../b", 6) && !odbk_filelist_path_ok("a//b", 4) &&
           !odbk_filelist_path_ok("./a", 3) && !odbk_filelist_path_ok("a/", 2) &&
           !odbk_filelist_path_ok("..", 2) && !odbk_filelist_path_ok("a\0b", 3),
       "invalid paths refused");

    /* round trip, with names that need escaping */
    {
        struct odbk_fl_entry e[] = {
            {"00/0000000000000000000000000000000000000000", PACK1, 5, 1700000000, 0644, SHA},
            {"a b/%odd\n\xc3\xa9", PACK2, 0, -5, 0600, SHA},
            {"checklist/x", PACK1, 1ULL << 40, 0, 07777, SHA},
        };
        struct odbk_filelist l;
        struct odbk_err err = {0};
        size_t len;
        int rc;
        char *text = write_list(e, 3, &len, &rc);
        is_int(rc, 0, "the writer writes three entries");
        ok(!strncmp(text, "odbk-filelist 1\n", 16), "the header");
        ok(strstr(text, " a%20b/%25odd%0A%C3%A9\n") != NULL, "a path's space, '%', newline and UTF-8 escaped");
        ok(strstr(text, "\nend 3 1099511627781\n") != NULL, "the end line counts files and bytes");
        is_int(odbk_filelist_parse(text, len, "L", &m, &l, &err), 0, "it reads back");
        is_int((int)l.n, 3, "three entries");
        is_str(l.e[1].path, "a b/%odd\n\xc3\xa9", "an escaped path unescaped");
        is_int((int)l.e[1].mtime, -5, "a negative mtime");
        is_int((int)l.e[2].mode, 07777, "the mode");
        ok(l.e[2].size == 1ULL << 40, "a 1 TiB size");
        ok(l.e[0].pack == l.e[2].pack && !strcmp(l.e[0].pack, PACK1), "a pack name stored once");
        ok(odbk_filelist_find(&l, "checklist/x") == &l.e[2], "found by path");
        ok(odbk_filelist_find(&l, "checklist") == NULL && odbk_filelist_find(&l, "zz") == NULL, "a missing path");
        is_str(l.e[0].sha256, SHA, "the sha256");
        {
            /* the same bytes fed one at a time: lines split anywhere */
            struct odbk_filelist l2;
            struct odbk_writer *w = odbk_filelist_parser_new("L", &m, &l2);
            size_t i;
            int r = 0;
            for (i = 0; i < len && r == 0; i++)
                r = odbk_writer_write(w, text + i, 1, &err);
            if (r == 0)
                r = odbk_writer_finish(w, &err);
            odbk_writer_free(w);
            ok(r == 0 && l2.n == 3 && !strcmp(l2.e[1].path, l.e[1].path), "read a byte at a time");
            odbk_filelist_free(&l2);
        }
        odbk_filelist_free(&l);
        free(text);
    }
    {
        /* an empty filestore */
        size_t len;
        int rc;
        char *text = write_list(NULL, 0, &len, &rc);
        is_str(text, "odbk-filelist 1\nend 0 0\n", "an empty list");
        is_int(parse_text(text, &m, msg, sizeof(msg)), 0, "reads back");
        free(text);
    }
    {
        /* the writer refuses what the reader would */
        struct odbk_fl_entry b[] = {{"b", PACK1, 1, 0, 0644, SHA}, {"a", PACK1, 1, 0, 0644, SHA}};
        struct odbk_fl_entry d[] = {{"a", PACK1, 1, 0, 0644, SHA}, {"a", PACK1, 1, 0, 0644, SHA}};
        struct odbk_fl_entry x[] = {{"../a", PACK1, 1, 0, 0644, SHA}};
        struct odbk_fl_entry y[] = {{"a", "../x", 1, 0, 0644, SHA}};
        size_t len;
        int rc, all = 1;
        free(write_list(b, 2, &len, &rc)), all &= rc < 0;
        free(write_list(d, 2, &len, &rc)), all &= rc < 0;
        free(write_list(x, 1, &len, &rc)), all &= rc < 0;
        free(write_list(y, 1, &len, &rc)), all &= rc < 0;
        ok(all, "the writer refuses unsorted, duplicate, unsafe paths and bad pack names");
    }

    /* hostile lists: each rule of the design, one failing case each */
    {
        static const struct {
            const char *text, *why, *needle;
        } h[] = {
            {"", "an empty list", "header"},
            {"f " SHA " 1 0 644 " PACK1 " a\nend 1 1\n", "no header", "header"},
            {"odbk-filelist 2\nend 0 0\n", "another version", "header"},
            {"odbk-filelist 1\n", "no end line", "end line"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " a\n", "cut after an entry", "end line"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " a\nend 1 1", "no final newline", "end of line"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " a\nend 2 1\n", "file count differs", "counts"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " a\nend 1 2\n", "byte count differs", "counts"},
            {"odbk-filelist 1\nend 0 0\nend 0 0\n", "text after the end", "after the end"},
            {"odbk-filelist 1\nend x 0\n", "a bad end line", "end line"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " /etc/passwd\nend 1 1\n", "an absolute path", "path"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " %2Fetc\nend 1 1\n", "an escaped absolute path", "path"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " \nend 1 1\n", "an empty path", "path"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " a/../../x\nend 1 1\n", "a '..' component", "path"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " a/./x\nend 1 1\n", "a '.' component", "path"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " a//x\nend 1 1\n", "an empty component", "path"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " a/\nend 1 1\n", "a trailing slash", "path"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " a%00b\nend 1 1\n", "an escaped NUL", "path"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " a%2\nend 1 1\n", "a cut escape", "path"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " a%2f\nend 1 1\n", "a lower-case escape", "path"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " a\xc3\xa9\nend 1 1\n", "a raw byte above 0x7e", "path"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " a\tb\nend 1 1\n", "a raw tab", "path"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " b\nf " SHA " 1 0 644 " PACK1 " a\nend 2 2\n",
             "unsorted paths", "out of order"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " a\nf " SHA " 1 0 644 " PACK1 " a\nend 2 2\n",
             "a duplicate path", "duplicate"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 ../x a\nend 1 1\n", "a pack name that is a path", "pack name"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " ID "-000009.tar.gz a\nend 1 1\n", "a pack not in the manifest",
             "manifest's packs"},
            {"odbk-filelist 1\nf " SHA " 1125899906842625 0 644 " PACK1 " a\nend 1 1125899906842625\n",
             "a size over 2^50", "size"},
            {"odbk-filelist 1\nf " SHA " -1 0 644 " PACK1 " a\nend 1 0\n", "a negative size", "size"},
            {"odbk-filelist 1\nf " SHA " 01 0 644 " PACK1 " a\nend 1 1\n", "a size with a leading zero", "size"},
            {"odbk-filelist 1\nf 8616d6e6 1 0 644 " PACK1 " a\nend 1 1\n", "a short sha256", "sha256"},
            {"odbk-filelist 1\nf 8616D6E6AD1D2A4DBA146040F5F3F12C10F3513EC3A81EFE429F34363F53E15C 1 0 644 " PACK1
             " a\nend 1 1\n", "an upper-case sha256", "sha256"},
            {"odbk-filelist 1\nf " SHA " 1 x 644 " PACK1 " a\nend 1 1\n", "a bad mtime", "mtime"},
            {"odbk-filelist 1\nf " SHA " 1 0 19 " PACK1 " a\nend 1 1\n", "a mode that is not octal", "mode"},
            {"odbk-filelist 1\nf " SHA " 1 0 17777 " PACK1 " a\nend 1 1\n", "a mode above 7777", "mode"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 "\nend 1 1\n", "a missing field", "not an entry"},
            {"odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " a b\nend 1 1\n", "an extra field", "not an entry"},
            {"odbk-filelist 1\nx " SHA " 1 0 644 " PACK1 " a\nend 1 1\n", "an unknown kind of line", "not an entry"},
            {"odbk-filelist 1\nf  " SHA " 1 0 644 " PACK1 " a\nend 1 1\n", "two spaces", "not an entry"},
        };
        size_t i;
        int all = 1;
        for (i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
            int r = parse_text(h[i].text, &m, msg, sizeof(msg));
            if (r != -1 || !strstr(msg, h[i].needle) || !strstr(msg, "file list 'L', line ")) {
                printf("# %s: r=%d, '%s'\n", h[i].why, r, msg);
                all = 0;
            }
        }
        ok(all, "every hostile list is refused with ODBK_E_DATA naming the list, the line and the rule");
        ok(parse_text("odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " a\nf " SHA " 1 0 644 " PACK1
                      " a\nend 2 2\n", &m, msg, sizeof(msg)) == -1 && strstr(msg, "line 3"),
           "the line named is the offending one");
        ok(parse_text("odbk-filelist 1\nf " SHA " 1 0 644 " ID "-000009.tar.gz a\nend 1 1\n", NULL, msg,
                      sizeof(msg)) == 0, "without a manifest the pack is only checked for its shape");
    }
    {
        /* a line longer than any valid one, and a path over 4096 bytes */
        size_t n = 5 * ODBK_FILELIST_MAX_PATH, i;
        char *t = odbk_xmalloc(n + 200), *p;
        strcpy(t, "odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " ");
        p = t + strlen(t);
        for (i = 0; i < n; i++)
            *p++ = 'a';
        strcpy(p, "\nend 1 1\n");
        ok(parse_text(t, &m, msg, sizeof(msg)) == -1 && strstr(msg, "too long"), "a line too long");
        p = t + strlen("odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " ") + ODBK_FILELIST_MAX_PATH + 1;
        strcpy(p, "\nend 1 1\n");
        ok(parse_text(t, &m, msg, sizeof(msg)) == -1 && strstr(msg, "path"), "a path of 4097 bytes");
        p[-1] = 0;
        strcpy(p - 1, "\nend 1 1\n");
        ok(parse_text(t, &m, msg, sizeof(msg)) == 0, "a path of 4096 bytes is read");
        free(t);
    }
    {
        /* a NUL inside a line */
        static const char t[] = "odbk-filelist 1\nf " SHA " 1 0 644 " PACK1 " a\0b\nend 1 1\n";
        struct odbk_filelist l;
        struct odbk_err err = {0};
        ok(odbk_filelist_parse(t, sizeof(t) - 1, "L", &m, &l, &err) < 0 && err.code == ODBK_E_DATA &&
               strstr(err.msg, "NUL"), "a raw NUL byte");
    }
    odbk_manifest_release(&m);
    return done_testing();
}
