/* fuzz-member-name.c - the member-name check shared by the zip and tar readers (odbk_member_name_ok):
 * whatever it accepts is relative and has no ".." component. */
#include "fuzz/fuzz.h"

#include <stdio.h>

#include "io/tar.h"

FUZZ_TARGET(member_name)
{
    char *s = fuzz_cstr(data, size);
    if (odbk_member_name_ok(s)) {
        int bad = s[0] == '/' || !strcmp(s, "..") || !strncmp(s, "../", 3) || strstr(s, "/../") ||
                  (strlen(s) >= 3 && !strcmp(s + strlen(s) - 3, "/.."));
        if (bad) {
            fprintf(stderr, "member name '%s' accepted\n", s);
            abort();
        }
    }
    free(s);
    return 0;
}
