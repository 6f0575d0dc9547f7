/* filelist.c - an incremental backup's list of files (filelist.h): the names of packs and lists, the
 * streaming writer, and the checked reader (a sink parsing the decompressed bytes line by line). */
#include "backup/filelist.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"
#include "backup/run.h"
#include "common/util.h"
#include "storage/storage.h"

/* ---- names ---- */

static const char *pack_suffix(enum odbk_compression c)
{
    return c == ODBK_COMPRESS_GZIP ? ".tar.gz" : c == ODBK_COMPRESS_ZSTD ? ".tar.zst" : ".tar";
}

char *odbk_pack_name(const char *id, unsigned seq, enum odbk_compression c)
{
    return odbk_xasprintf("%s-%06u%s", id, seq, pack_suffix(c));
}

char *odbk_pack_key(const char *env, const char *name)
{
    return odbk_xasprintf("%s/" ODBK_PACKS_DIR "/%s", env, name);
}

char *odbk_packs_prefix(const char *env)
{
    return odbk_xasprintf("%s/" ODBK_PACKS_DIR "/", env);
}

char *odbk_filelist_name(const char *id, enum odbk_compression c)
{
    return odbk_xasprintf("backup-%s-filestore.list%s", id, odbk_compression_suffix(c));
}

int odbk_pack_of(const char *name, const char *id)
{
    size_t n = strlen(id);
    return odbk_pack_name_ok(name) && !strncmp(name, id, n) && name[n] == '-';
}

int odbk_filelist_path_ok(const char *path, size_t len)
{
    size_t i, start = 0;
    if (len == 0 || len > ODBK_FILELIST_MAX_PATH || path[0] == '/' || memchr(path, 0, len))
        return 0;
    for (i = 0; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        /* the component path[start..i) */
        if (i == start || (i - start == 1 && path[start] == '.') ||
            (i - start == 2 && path[start] == '.' && path[start + 1] == '.'))
            return 0;
        start = i + 1;
    }
    return 1;
}

/* ---- escaping ---- */

static int plain_byte(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e && c != '%';
}

/* Append s escaped to *out (at *len, growing *cap). */
static void escape_to(char **out, size_t *len, size_t *cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p;
    for (p = (const unsigned char *)s; *p; p++) {
        if (*len + 4 > *cap) {
            *cap = *cap * 2 + 64;
            *out = odbk_xrealloc(*out, *cap);
        }
        if (plain_byte(*p)) {
            (*out)[(*len)++] = (char)*p;
        } else {
            (*out)[(*len)++] = '%';
            (*out)[(*len)++] = hex[*p >> 4];
            (*out)[(*len)++] = hex[*p & 15];
        }
    }
}

static int hex_val(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Unescape s (n bytes, no spaces) in place; its length, or -1 when it is not a valid escaped string. */
static long unescape(char *s, size_t n)
{
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int h, l;
            if (i + 2 >= n)
                return -1;
            h = hex_val(s[i + 1]);
            l = hex_val(s[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            s[o++] = (char)(h * 16 + l);
            i += 2;
        } else if (c >= 0x21 && c <= 0x7e) {
            s[o++] = (char)c;
        } else {
            return -1;
        }
    }
    s[o] = 0;
    return (long)o;
}

/* ---- the writer ---- */

struct odbk_filelist_writer {
    struct odbk_writer *dst;
    char *buf;
    size_t len, cap;
    char *prev;
    uint64_t files, bytes;
    int failed;
};

#define FW_FLUSH (64 * 1024)

static int fw_flush(struct odbk_filelist_writer *fw, struct odbk_err *err)
{
    if (fw->len && odbk_writer_write(fw->dst, fw->buf, fw->len, err) < 0) {
        fw->failed = 1;
        return -1;
    }
    fw->len = 0;
    return 0;
}

static void fw_append(struct odbk_filelist_writer *fw, const char *s)
{
    size_t n = strlen(s);
    if (fw->len + n + 1 > fw->cap) {
        fw->cap = fw->len + n + FW_FLUSH;
        fw->buf = odbk_xrealloc(fw->buf, fw->cap);
    }
    memcpy(fw->buf + fw->len, s, n);
    fw->len += n;
}

struct odbk_filelist_writer *odbk_filelist_writer_new(struct odbk_writer *dst)
{
    struct odbk_filelist_writer *fw = odbk_xcalloc(1, sizeof(*fw));
    fw->dst = dst;
    fw->cap = FW_FLUSH * 2;
    fw->buf = odbk_xmalloc(fw->cap);
    fw_append(fw, ODBK_FILELIST_MAGIC "\n");
    return fw;
}

int odbk_filelist_write_entry(struct odbk_filelist_writer *fw, const struct odbk_fl_entry *e, struct odbk_err *err)
{
    char num[128];
    if (fw->failed)
        return odbk_err_set(err, ODBK_E_SOFTWARE, "file list: written after a failure");
    if (!odbk_filelist_path_ok(e->path, strlen(e->path)) || !odbk_pack_name_ok(e->pack) ||
        strlen(e->sha256) != 64 || e->size > ODBK_MANIFEST_MAX_SIZE || e->mode > 07777)
        return odbk_err_set(err, ODBK_E_SOFTWARE, "file list: invalid entry '%s'", e->path);
    if (fw->prev && strcmp(fw->prev, e->path) >= 0)
        return odbk_err_set(err, ODBK_E_SOFTWARE, "file list: '%s' after '%s'", e->path, fw->prev);
    snprintf(num, sizeof(num), "f %s %" PRIu64 " %" PRId64 " %o ", e->sha256, e->size, e->mtime, e->mode);
    fw_append(fw, num);
    if (fw->len + 3 * (strlen(e->pack) + strlen(e->path)) + 8 > fw->cap) {
        fw->cap = fw->len + 3 * (strlen(e->pack) + strlen(e->path)) + FW_FLUSH;
        fw->buf = odbk_xrealloc(fw->buf, fw->cap);
    }
    escape_to(&fw->buf, &fw->len, &fw->cap, e->pack);
    fw_append(fw, " ");
    escape_to(&fw->buf, &fw->len, &fw->cap, e->path);
    fw_append(fw, "\n");
    free(fw->prev);
    fw->prev = odbk_xstrdup(e->path);
    fw->files++;
    fw->bytes += e->size;
    return fw->len >= FW_FLUSH ? fw_flush(fw, err) : 0;
}

int odbk_filelist_write_end(struct odbk_filelist_writer *fw, struct odbk_err *err)
{
    char line[96];
    if (fw->failed)
        return odbk_err_set(err, ODBK_E_SOFTWARE, "file list: written after a failure");
    snprintf(line, sizeof(line), "end %" PRIu64 " %" PRIu64 "\n", fw->files, fw->bytes);
    fw_append(fw, line);
    return fw_flush(fw, err);
}

uint64_t odbk_filelist_writer_files(const struct odbk_filelist_writer *fw)
{
    return fw->files;
}

uint64_t odbk_filelist_writer_bytes(const struct odbk_filelist_writer *fw)
{
    return fw->bytes;
}

void odbk_filelist_writer_free(struct odbk_filelist_writer *fw)
{
    if (!fw)
        return;
    free(fw->buf);
    free(fw->prev);
    free(fw);
}

/* ---- the reader ---- */

/* the longest line: every byte of a path and a pack name escaped, and the numbers */
#define LINE_MAX_BYTES (3 * ODBK_FILELIST_MAX_PATH + 3 * 64 + 256)

struct parser {
    struct odbk_writer w;
    char *what;
    struct odbk_filelist *out;
    int checked_packs;     /* out->packs are the manifest's: a pack not among them is refused */
    char *line;
    size_t len;
    uint64_t lineno;
    int state;             /* 0 before the header, 1 entries, 2 after the end line */
};

static int bad(struct parser *p, struct odbk_err *err, const char *why)
{
    odbk_err_set(err, ODBK_E_DATA, "file list '%s', line %" PRIu64 ": %s", p->what, p->lineno, why);
    odbk_err_hint(err, "the list is damaged or not odbk's: restore from another backup");
    return -1;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The list's copy of pack name (NULL: refused, not one of the manifest's). */
static char *intern_pack(struct parser *p, const char *name)
{
    struct odbk_filelist *l = p->out;
    char **found = l->n_packs ? bsearch(&name, l->packs, l->n_packs, sizeof(*l->packs), str_cmp) : NULL;
    size_t i;
    if (found)
        return *found;
    if (p->checked_packs)
        return NULL;
    l->packs = odbk_xrealloc(l->packs, (l->n_packs + 1) * sizeof(*l->packs));
    for (i = l->n_packs; i > 0 && strcmp(l->packs[i - 1], name) > 0; i--)
        l->packs[i] = l->packs[i - 1];
    l->packs[i] = odbk_xstrdup(name);
    l->n_packs++;
    return l->packs[i];
}

/* A whole decimal number of at most 19 digits (optionally negative), the whole of s. */
static int parse_num(const char *s, int neg_ok, int base, int64_t *out)
{
    char *end;
    long long v;
    if (!*s || (*s == '-' && !neg_ok) || *s == '+' || *s == ' ' || (*s == '0' && s[1] && base == 10))
        return -1;
    errno = 0;
    v = strtoll(s, &end, base);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_entry(struct parser *p, char *line, struct odbk_err *err)
{
    struct odbk_filelist *l = p->out;
    struct odbk_fl_entry *e;
    char *field[7];
    int64_t size, mtime, mode;
    long plen;
    size_t n = 0;
    char *s = line, *pack;
    while (n < 7) {
        field[n++] = s;
        s = strchr(s, ' ');
        if (!s)
            break;
        *s++ = 0;
    }
    if (n != 7 || s || strcmp(field[0], "f"))
        return bad(p, err, "not an entry (f SHA256 SIZE MTIME MODE PACK PATH)");
    if (strlen(field[1]) != 64 || strspn(field[1], "0123456789abcdef") != 64)
        return bad(p, err, "the sha256 is not 64 lower-case hex digits");
    if (parse_num(field[2], 0, 10, &size) < 0 || (uint64_t)size > ODBK_MANIFEST_MAX_SIZE)
        return bad(p, err, "the size is not a whole number of bytes up to 1 PiB");
    if (parse_num(field[3], 1, 10, &mtime) < 0)
        return bad(p, err, "the mtime is not a whole number of seconds");
    if (strspn(field[4], "01234567") != strlen(field[4]) || strlen(field[4]) > 5 ||
        parse_num(field[4], 0, 8, &mode) < 0 || mode > 07777)
        return bad(p, err, "the mode is not octal permission bits (0 to 7777)");
    if (unescape(field[5], strlen(field[5])) < 0 || !odbk_pack_name_ok(field[5]))
        return bad(p, err, "the pack name is not one of a pack (ID-NNNNNN.tar.gz)");
    pack = intern_pack(p, field[5]);
    if (!pack)
        return bad(p, err, "the pack is not among the manifest's packs");
    plen = unescape(field[6], strlen(field[6]));
    if (plen < 0 || !odbk_filelist_path_ok(field[6], (size_t)plen))
        return bad(p, err, "the path is not a relative path without '.', '..', empty components or NUL, "
                           "up to 4096 bytes");
    if (l->n && strcmp(l->e[l->n - 1].path, field[6]) >= 0)
        return bad(p, err, "the path is a duplicate or out of order");
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->e = odbk_xrealloc(l->e, l->cap * sizeof(*l->e));
    }
    e = &l->e[l->n++];
    e->path = odbk_xstrndup(field[6], (size_t)plen);
    e->pack = pack;
    e->size = (uint64_t)size;
    e->mtime = mtime;
    e->mode = (unsigned)mode;
    memcpy(e->sha256, field[1], 65);
    l->bytes += (uint64_t)size;
    return 0;
}

static int parse_line(struct parser *p, char *line, struct odbk_err *err)
{
    p->lineno++;
    if (p->state == 0) {
        if (strcmp(line, ODBK_FILELIST_MAGIC))
            return bad(p, err, "no 'odbk-filelist 1' header");
        p->state = 1;
        return 0;
    }
    if (p->state == 2)
        return bad(p, err, "text after the end line");
    if (!strncmp(line, "end ", 4)) {
        char *sp = strchr(line + 4, ' ');
        int64_t files, bytes;
        if (!sp)
            return bad(p, err, "the end line is not 'end FILES BYTES'");
        *sp = 0;
        if (parse_num(line + 4, 0, 10, &files) < 0 || parse_num(sp + 1, 0, 10, &bytes) < 0)
            return bad(p, err, "the end line is not 'end FILES BYTES'");
        if ((uint64_t)files != p->out->n || (uint64_t)bytes != p->out->bytes)
            return bad(p, err, "the end line's counts differ from the entries");
        p->state = 2;
        return 0;
    }
    return parse_entry(p, line, err);
}

static int parser_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct parser *p = (struct parser *)w;
    const char *s = buf, *end = s + len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        if (p->len + n > LINE_MAX_BYTES) {
            p->lineno++;
            return bad(p, err, "the line is too long");
        }
        memcpy(p->line + p->len, s, n);
        p->len += n;
        if (!nl)
            break;
        p->line[p->len] = 0;
        if (memchr(p->line, 0, p->len)) {
            p->lineno++;
            return bad(p, err, "a NUL byte");
        }
        p->len = 0;
        if (parse_line(p, p->line, err) < 0)
            return -1;
        s = nl + 1;
    }
    return 0;
}

static int parser_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct parser *p = (struct parser *)w;
    if (p->len) {
        p->lineno++;
        return bad(p, err, "the last line has no end of line");
    }
    if (p->state != 2) {
        p->lineno++;
        return bad(p, err, p->state == 0 ? "no 'odbk-filelist 1' header" : "no end line (the list is cut short)");
    }
    return 0;
}

static void parser_free(struct odbk_writer *w)
{
    struct parser *p = (struct parser *)w;
    free(p->line);
    free(p->what);
    free(p);
}

static const struct odbk_writer_ops parser_ops = {"file list", parser_write, parser_finish, NULL, parser_free};

struct odbk_writer *odbk_filelist_parser_new(const char *what, const struct odbk_manifest *m, struct odbk_filelist *out)
{
    struct parser *p = odbk_xcalloc(1, sizeof(*p));
    size_t i;
    odbk_writer_init(&p->w, &parser_ops, NULL);
    p->what = odbk_xstrdup(what);
    p->out = out;
    p->line = odbk_xmalloc(LINE_MAX_BYTES + 1);
    memset(out, 0, sizeof(*out));
    if (m) {
        p->checked_packs = 1;
        out->packs = odbk_xcalloc(m->n_packs ? m->n_packs : 1, sizeof(*out->packs));
        for (i = 0; i < m->n_packs; i++)
            out->packs[i] = odbk_xstrdup(m->packs[i].name);
        out->n_packs = m->n_packs;
        qsort(out->packs, out->n_packs, sizeof(*out->packs), str_cmp);
    }
    return &p->w;
}

int odbk_filelist_parse(const char *buf, size_t len, const char *what, const struct odbk_manifest *m,
                        struct odbk_filelist *out, struct odbk_err *err)
{
    struct odbk_writer *w = odbk_filelist_parser_new(what, m, out);
    int r = odbk_writer_write(w, buf, len, err);
    if (r == 0)
        r = odbk_writer_finish(w, err);
    odbk_writer_free(w);
    if (r < 0)
        odbk_filelist_free(out);
    return r;
}

int odbk_filelist_read(struct odbk_storage *st, const struct odbk_manifest *m, struct odbk_filelist *out,
                       struct odbk_err *err)
{
    const struct odbk_manifest_file *f = odbk_manifest_file_by_role(m, "filelist");
    static atomic_int never;   /* nothing else cancels it */
    struct odbk_writer *parser, *dec = NULL, *check, *head;
    enum odbk_compression c = ODBK_COMPRESS_NONE;
    char *key;
    int r;
    memset(out, 0, sizeof(*out));
    if (!f)
        return odbk_err_set(err, ODBK_E_DATA, "backup %s has no file list in its manifest", m->id);
    if (odbk_compression_parse(f->compression, &c) < 0)
        return odbk_err_set(err, ODBK_E_DATA, "backup %s: its file list has an unknown compression '%s'", m->id,
                            f->compression);
    key = odbk_backup_file_key(m->env, m->id, f->name);
    parser = odbk_filelist_parser_new(key, m, out);
    dec = c == ODBK_COMPRESS_NONE ? NULL : odbk_filter_decompress_new(c, parser);
    check = odbk_filter_verify_new(dec ? dec : parser, f->sha256, f->size, key);
    head = odbk_filter_cancel_new(check, &never);   /* a stop signal ends the read at its next chunk */
    r = odbk_storage_read(st, key, head, err);
    if (r == 0)
        r = odbk_writer_finish(head, err);
    else
        odbk_writer_abort(head);
    odbk_writer_free(head);
    odbk_writer_free(check);
    odbk_writer_free(dec);
    odbk_writer_free(parser);
    free(key);
    if (r < 0)
        odbk_filelist_free(out);
    return r;
}

static int entry_path_cmp(const void *k, const void *e)
{
    return strcmp(k, ((const struct odbk_fl_entry *)e)->path);
}

const struct odbk_fl_entry *odbk_filelist_find(const struct odbk_filelist *l, const char *path)
{
    return l->n ? bsearch(path, l->e, l->n, sizeof(*l->e), entry_path_cmp) : NULL;
}

void odbk_filelist_free(struct odbk_filelist *l)
{
    size_t i;
    for (i = 0; i < l->n; i++)
        free(l->e[i].path);
    free(l->e);
    for (i = 0; i < l->n_packs; i++)
        free(l->packs[i]);
    free(l->packs);
    memset(l, 0, sizeof(*l));
}
