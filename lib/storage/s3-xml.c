/* s3-xml.c - the little XML that S3 answers with (ListObjectsV2 pages, multipart upload ids, <Error>).
 *
 * Not a general XML parser: S3 answers are flat, machine-written documents without CDATA, comments inside
 * values or attributes on the elements we read.  We find <Tag>…</Tag> by exact name (so <Key> never
 * matches <KeyCount>) and unescape the five predefined entities and numeric character references. */
#include "storage/s3-internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static const char *find(const char *hay, const char *end, const char *needle)
{
    size_t n = strlen(needle);
    for (; hay + n <= end; hay++) {
        hay = memchr(hay, needle[0], (size_t)(end - hay));
        if (!hay || hay + n > end)
            return NULL;
        if (!memcmp(hay, needle, n))
            return hay;
    }
    return NULL;
}

int odbk_s3_xml_element(const char **pos, const char *end, const char *tag, const char **start, const char **stop)
{
    char *open = odbk_xasprintf("<%s>", tag), *close = odbk_xasprintf("</%s>", tag), *empty;
    const char *a = find(*pos, end, open), *b, *e;
    int r = -1;
    empty = odbk_xasprintf("<%s/>", tag);
    e = find(*pos, end, empty);
    if (e && (!a || e < a)) {         /* <Tag/>: present and empty */
        *start = *stop = e;
        *pos = e + strlen(empty);
        r = 0;
    } else if (a && (b = find(a + strlen(open), end, close))) {
        *start = a + strlen(open);
        *stop = b;
        *pos = b + strlen(close);
        r = 0;
    }
    free(open);
    free(close);
    free(empty);
    return r;
}

static void put_utf8(char **o, unsigned long cp)
{
    unsigned char *u = (unsigned char *)*o;
    if (cp < 0x80) {
        *u++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *u++ = (unsigned char)(0xc0 | (cp >> 6));
        *u++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *u++ = (unsigned char)(0xe0 | (cp >> 12));
        *u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *u++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else {
        *u++ = (unsigned char)(0xf0 | (cp >> 18));
        *u++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        *u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *u++ = (unsigned char)(0x80 | (cp & 0x3f));
    }
    *o = (char *)u;
}

static char *unescape(const char *p, const char *end)
{
    /* every entity is at least as long as what it stands for (&#x10FFFF; is 10 bytes for 4) */
    char *out = odbk_xmalloc((size_t)(end - p) + 1), *o = out;
    static const struct {
        const char *name;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    while (p < end) {
        size_t i, done = 0;
        if (*p != '&') {
            *o++ = *p++;
            continue;
        }
        for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
            size_t n = strlen(ents[i].name);
            if ((size_t)(end - p) >= n && !memcmp(p, ents[i].name, n)) {
                *o++ = ents[i].c;
                p += n;
                done = 1;
                break;
            }
        }
        if (!done && end - p > 3 && p[1] == '#') {
            char *semi;
            int hex = p[2] == 'x' || p[2] == 'X';
            unsigned long cp = strtoul(p + 2 + hex, &semi, hex ? 16 : 10);
            if (semi < end && *semi == ';' && semi > p + 2 + hex && cp > 0 && cp <= 0x10ffff) {
                put_utf8(&o, cp);
                p = semi + 1;
                done = 1;
            }
        }
        if (!done)
            *o++ = *p++;   /* a stray '&': keep it */
    }
    *o = '\0';
    return out;
}

char *odbk_s3_xml_next(const char **pos, const char *end, const char *tag)
{
    const char *a, *b;
    if (odbk_s3_xml_element(pos, end, tag, &a, &b) < 0)
        return NULL;
    return unescape(a, b);
}

char *odbk_s3_xml_escape(const char *s)
{
    char *out = odbk_xmalloc(6 * strlen(s) + 1), *o = out;
    for (; *s; s++) {
        const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '"' ? "&quot;" : NULL;
        if (rep) {
            strcpy(o, rep);
            o += strlen(rep);
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}
