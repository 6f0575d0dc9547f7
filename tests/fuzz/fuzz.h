/* fuzz.h - shared by the libFuzzer targets tests/fuzz/fuzz-*.c.
 *
 * Each target defines its entry point with FUZZ_TARGET(name): `make fuzz` builds it as libFuzzer's
 * LLVMFuzzerTestOneInput (clang, -fsanitize=fuzzer,address,undefined), and tests/unit/test-fuzz-corpus.c,
 * which includes every target with ODBK_FUZZ_REPLAY defined, calls it as fuzz_<name>() for each file of
 * tests/fuzz/corpus/<name>/ under make check's builds, so the corpus and every crash found replay there.
 */
#ifndef ODBK_FUZZ_H
#define ODBK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "io/writer.h"

#ifdef ODBK_FUZZ_REPLAY
#define FUZZ_TARGET(name) static int fuzz_##name(const uint8_t *data, size_t size)
#else
#define FUZZ_TARGET(name)                                                                          \
    static int fuzz_##name(const uint8_t *data, size_t size);                                      \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);                                  \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_##name(data, size); } \
    static int fuzz_##name(const uint8_t *data, size_t size)
#endif

/* The input as a NUL-terminated string (cut at its first NUL, as a C string parser would see it). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Write the input into a writer chain and finish it (abort it when a write fails): the reader under test
 * sees it as one stream. */
static inline void fuzz_feed(struct odbk_writer *w, const uint8_t *data, size_t size)
{
    struct odbk_err err = {0};
    if (odbk_writer_write(w, data, size, &err) == 0)
        (void)odbk_writer_finish(w, &err);
    else
        odbk_writer_abort(w);
}

#endif

