/* copycount.c - rows of each COPY block of a plain SQL dump, counted as it streams through (writer.h). */
#include "io/writer.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define LINE_MAX_KEPT (64 * 1024)   /* a COPY header longer than this is not pg_dump's: not counted */

struct copycount {
    struct odbk_writer w;
    char *line;              /* the current line's first bytes (outside COPY blocks) */
    size_t len;              /* bytes of the current line seen so far */
    int in_copy;
    uint64_t rows;
    struct odbk_copy_count *v;
    size_t n;
};

/* "COPY public.res_partner (id, name) FROM stdin;" → "public.res_partner" */
static void header(struct copycount *c, size_t len)
{
    const char *p = c->line + 5, *end;
    static const char tail[] = " FROM stdin;";
    if (len > LINE_MAX_KEPT || len < 5 + sizeof(tail) || memcmp(c->line, "COPY ", 5) ||
        memcmp(c->line + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1))
        return;
    {   /* the name ends at the first space outside double quotes */
        int quoted = 0;
        for (end = p; end < c->line + len && (quoted || *end != ' '); end++)
            if (*end == '"')
                quoted = !quoted;
    }
    c->v = odbk_xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
    c->v[c->n].table = odbk_xstrndup(p, (size_t)(end - p));
    c->v[c->n].rows = 0;
    c->in_copy = 1;
    c->rows = 0;
}

/* A whole line (its first min(len, LINE_MAX_KEPT) bytes in c->line when outside a block) has ended. */
static void line_end(struct copycount *c)
{
    size_t kept = c->in_copy ? 3 : LINE_MAX_KEPT, len = c->len;
    if (len && len <= kept && c->line[len - 1] == '\r')
        len--;
    if (c->in_copy) {
        if (len == 2 && c->line[0] == '\\' && c->line[1] == '.') {
            c->v[c->n++].rows = c->rows;
            c->in_copy = 0;
        } else {
            c->rows++;
        }
    } else {
        header(c, len);
    }
    c->len = 0;
}

static void keep(struct copycount *c, const char *p, size_t n)
{
    /* inside a block only the first two bytes matter (is it "\."?) */
    size_t cap = c->in_copy ? 3 : LINE_MAX_KEPT;
    if (c->len < cap)
        memcpy(c->line + c->len, p, n < cap - c->len ? n : cap - c->len);
    c->len += n;
}

static int cc_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct copycount *c = (struct copycount *)w;
    const char *p = buf, *end = p + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            keep(c, p, (size_t)(end - p));
            break;
        }
        keep(c, p, (size_t)(nl - p));
        line_end(c);
        p = nl + 1;
    }
    return odbk_writer_write(w->next, buf, len, err);
}

static void cc_free(struct odbk_writer *w)
{
    struct copycount *c = (struct copycount *)w;
    size_t i;
    for (i = 0; i < c->n + (size_t)c->in_copy; i++)
        free(c->v[i].table);
    free(c->v);
    free(c->line);
    free(c);
}

static const struct odbk_writer_ops copycount_ops = {"copycount", cc_write, NULL, NULL, cc_free};

struct odbk_writer *odbk_filter_copycount_new(struct odbk_writer *next)
{
    struct copycount *c = odbk_xcalloc(1, sizeof(*c));
    c->line = odbk_xmalloc(LINE_MAX_KEPT);
    odbk_writer_init(&c->w, &copycount_ops, next);
    return &c->w;
}

size_t odbk_filter_copycount_get(const struct odbk_writer *w, const struct odbk_copy_count **out)
{
    const struct copycount *c = (const struct copycount *)w;
    *out = c->v;
    return c->n;
}
