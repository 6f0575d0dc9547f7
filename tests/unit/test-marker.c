/* test-marker.c - the storage marker's parser (lib/storage/marker.c) on hostile contents: only the two
 * lines odbk writes, of the version it knows, are a marker; everything else says why not. */
#include <stdlib.h>
#include <string.h>

#include "storage/storage.h"
#include "tap.h"

static const char *ID = "0f6c2a1e-8d3b-4c55-9a71-2b3c4d5e6f70";

static int parse(const char *buf, size_t len, char id[40], struct odbk_err *err)
{
    memset(err, 0, sizeof(*err));
    return odbk_storage_marker_parse(buf, len, id, err);
}

static void bad(const char *buf, size_t len, const char *why, const char *name)
{
    struct odbk_err err;
    char id[40];
    int r = parse(buf, len, id, &err);
    ok(r == -1 && err.code == ODBK_E_DATA && strstr(err.msg, why) && !id[0], name);
    if (r != -1 || !strstr(err.msg, why))
        diag("got %d '%s'", r, err.msg);
}

/* the whole string: a length written by hand cut most of them 3 bytes short */
#define badstr(s, why, desc) bad(s, strlen(s), why, desc)

int main(void)
{
    struct odbk_err err;
    char id[40], *text = odbk_storage_marker_text(ID), *big;
    char bin[64];

    is_str(text, "odbk-storage 1\nid 0f6c2a1e-8d3b-4c55-9a71-2b3c4d5e6f70\n", "the text odbk writes");
    ok(parse(text, strlen(text), id, &err) == 0 && !strcmp(id, ID), "what odbk writes parses back to its id");

    badstr("", "does not start", "empty");
    badstr("odbk-storage 2\nid 0f6c2a1e-8d3b-4c55-9a71-2b3c4d5e6f70\n", "format 2 (a newer odbk wrote it)",
        "a newer version is named");
    badstr("odbk-storage 0\nid 0f6c2a1e-8d3b-4c55-9a71-2b3c4d5e6f70\n", "has format 0, this odbk knows 1",
        "version 0");
    badstr("odbk-storage 99999999999999999999\nid x\n", "first line", "a huge version does not overflow");
    badstr("odbk-storage \nid 0f6c2a1e-8d3b-4c55-9a71-2b3c4d5e6f70\n", "first line", "no version");
    badstr("odbk-storage 1", "first line", "no newline");
    badstr("odbk-storage 01\nid 0f6c2a1e-8d3b-4c55-9a71-2b3c4d5e6f70\n", "first line",
        "a leading zero (found by fuzz-marker)");
    badstr("odbk-storage 1\n", "second line", "no id line");
    badstr("odbk-storage 1\nid 0F6C2A1E-8D3B-4C55-9A71-2B3C4D5E6F70\n", "second line", "upper case id");
    badstr("odbk-storage 1\nid 0f6c2a1e-8d3b-4c55-9a71-2b3c4d5e6f7\n", "second line", "short id");
    badstr("odbk-storage 1\nid 0f6c2a1e-8d3b-4c55-9a71-2b3c4d5e6f70", "second line", "id without newline");
    badstr("odbk-storage 1\nid 0f6c2a1e-8d3b-4c55-9a71-2b3c4d5e6f70\nmore\n", "more than its two lines",
        "a third line");
    badstr("odbk-storage 1\r\nid 0f6c2a1e-8d3b-4c55-9a71-2b3c4d5e6f70\r\n", "first line", "CRLF");
    badstr("ODBK-STORAGE 1\nid 0f6c2a1e-8d3b-4c55-9a71-2b3c4d5e6f70\n", "does not start", "another case");
    memcpy(bin, "odbk-storage 1\n\0d 0f6c2a1e", 27);
    bad(bin, 27, "NUL byte", "a NUL byte");
    big = malloc(1 << 20);
    memset(big, 'a', 1 << 20);
    memcpy(big, text, strlen(text));
    bad(big, 1 << 20, "1048576 bytes", "a megabyte");
    bad(text, strlen(text) - 1, "second line", "cut short");
    free(big);
    free(text);
    return done_testing();
}
