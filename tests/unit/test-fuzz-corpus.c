/* test-fuzz-corpus.c - replays every file of tests/fuzz/corpus/<target>/ through the entry point of
 * tests/fuzz/fuzz-<target>.c (built here without libFuzzer, under make check's plain and ASan builds), so
 * the seed corpus and every crash `make fuzz` found and saved stay regression tests.  A target's own
 * checks abort(); ASan/UBSan stop the program on memory errors: either is a failed test. */
#define ODBK_FUZZ_REPLAY 1

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#include "fuzz/fuzz-config.c"
#include "fuzz/fuzz-cron.c"
#include "fuzz/fuzz-crypt.c"
#include "fuzz/fuzz-duration.c"
#include "fuzz/fuzz-keyobject.c"
#include "fuzz/fuzz-manifest.c"
#include "fuzz/fuzz-marker.c"
#include "fuzz/fuzz-member-name.c"
#include "fuzz/fuzz-odoo-zip.c"
#include "fuzz/fuzz-sqlcheck.c"
#include "fuzz/fuzz-tar.c"

static const struct {
    const char *name;
    int (*fn)(const uint8_t *, size_t);
} targets[] = {
    {"config", fuzz_config},           {"cron", fuzz_cron},         {"crypt", fuzz_crypt},
    {"duration", fuzz_duration},       {"keyobject", fuzz_keyobject},
    {"manifest", fuzz_manifest},       {"marker", fuzz_marker},     {"member-name", fuzz_member_name},
    {"odoo-zip", fuzz_odoo_zip},       {"sqlcheck", fuzz_sqlcheck}, {"tar", fuzz_tar},
};

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay one target's corpus; returns how many files it ran (-1 when the folder cannot be read). */
static int replay(const char *target, int (*fn)(const uint8_t *, size_t))
{
    char dir[512];
    snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", target);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        names = realloc(names, (n + 1) * sizeof *names);
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        if (!f) {
            ok(0, path);
            continue;
        }
        size_t cap = 4096, len = 0, got;
        uint8_t *buf = malloc(cap);
        while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
            len += got;
            if (len == cap)
                buf = realloc(buf, cap *= 2);
        }
        fclose(f);
        /* an exact-size copy, so ASan sees a read past the input's end */
        uint8_t *exact = malloc(len ? len : 1);
        memcpy(exact, buf, len);
        free(buf);
        fn(exact, len);
        free(exact);
        ran++;
        free(names[i]);
    }
    free(names);
    return ran;
}

int main(void)
{
    size_t nt = sizeof targets / sizeof targets[0];
    for (size_t i = 0; i < nt; i++) {
        int ran = replay(targets[i].name, targets[i].fn);
        char desc[256];
        snprintf(desc, sizeof desc, "fuzz target %s: %d corpus file(s) replayed without a crash", targets[i].name,
                 ran);
        ok(ran > 0, desc);
    }
    return done_testing();
}
