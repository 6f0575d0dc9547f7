/* writer.h - the one stream abstraction of odbk: a chain of writers.
 *
 * Data is pushed from a source (pg_dump's stdout, libarchive writing a tar, a storage read) into the head
 * of a chain; each link is a filter (gzip, zstd, sha256, size, progress) that transforms or observes the
 * bytes and writes them to its `next`; the tail is a sink (a storage object being written, a child's stdin,
 * a directory being untarred).  create and restore are the same machinery run in opposite directions:
 *
 *     pg_dump → size → gzip → sha256 → size → storage write          (create)
 *     storage read → sha256 → gunzip → psql stdin                      (restore)
 *
 * Memory is bounded by each link's own buffer; nothing is staged in a temporary file.
 *
 * Contract:
 *   - write() consumes all of len or fails; a failed chain must then be aborted.
 *   - finish() flushes what the link holds, then finishes `next` (it cascades down the chain): for a
 *     storage sink it is the commit (rename into place, complete the multipart upload).
 *   - abort() discards everything, cascading: a storage sink removes its temporary object.
 *   - free() releases one link only (the caller owns each link it created); a link freed without finish()
 *     aborts itself first, so an early return can never leave half a file.  Free order does not matter.
 * Results (digests, sizes) are read from the filter objects after finish().
 */
#ifndef ODBK_WRITER_H
#define ODBK_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct odbk_writer;

struct odbk_writer_ops {
    const char *name;
    int (*write)(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err);
    /* flush own state; the generic code then finishes next */
    int (*finish)(struct odbk_writer *w, struct odbk_err *err);
    /* drop own state (a sink removes its partial output); the generic code then aborts next */
    void (*abort)(struct odbk_writer *w);
    void (*free)(struct odbk_writer *w);
};

struct odbk_writer {
    const struct odbk_writer_ops *ops;
    struct odbk_writer *next;   /* NULL for a sink */
    int state;                  /* 0 open, 1 finished, 2 aborted (managed by writer.c) */
    const char *broken;         /* why its constructor failed (odbk_writer_broken), or NULL */
};

/* Initialise the generic part of a link (drivers and filters call this in their constructors). */
void odbk_writer_init(struct odbk_writer *w, const struct odbk_writer_ops *ops, struct odbk_writer *next);

/* A constructor that could not set its link up (a library's initialisation, a thread) returns it anyway,
 * marked: its first write or finish fails with ODBK_E_SOFTWARE "NAME: why" and never runs the link's own
 * write or finish (its abort and free must cope with what the constructor left). */
void odbk_writer_broken(struct odbk_writer *w, const char *why);

int odbk_writer_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err);
/* Finish w and, after it, every link down the chain. */
int odbk_writer_finish(struct odbk_writer *w, struct odbk_err *err);
/* Abort w and every link down the chain (idempotent). */
void odbk_writer_abort(struct odbk_writer *w);
/* Free one link (aborting it first if it was neither finished nor aborted). NULL is a no-op. */
void odbk_writer_free(struct odbk_writer *w);
/* Free w and every link after it. */
void odbk_writer_free_chain(struct odbk_writer *w);

/* ---- filters ---- */

/* Counts bytes passing through. */
struct odbk_writer *odbk_filter_size_new(struct odbk_writer *next);
uint64_t odbk_filter_size_get(const struct odbk_writer *w);

/* SHA-256 of the bytes passing through; hex (65 bytes with NUL) valid after finish. */
struct odbk_writer *odbk_filter_sha256_new(struct odbk_writer *next);
const char *odbk_filter_sha256_hex(const struct odbk_writer *w);
/* Checks, at finish() and before anything below it is finished, that exactly `size` bytes with SHA-256
 * expect_hex went through; otherwise fails with ODBK_E_DATA naming `what` (reading a stored file back
 * against its manifest: restore, download, verification). */
struct odbk_writer *odbk_filter_verify_new(struct odbk_writer *next, const char *expect_hex, uint64_t size,
                                           const char *what);

/* Counts the rows of each COPY block of a plain SQL dump (pg_dump --format=plain) passing through, for
 * the figures a backup records and odbk-restore --test compares with.  Blocks in stream order; a block
 * the stream ends inside is not counted.  The array belongs to the filter (valid until it is freed). */
struct odbk_copy_count {
    char *table;       /* as pg_dump names it: "public.res_partner" */
    uint64_t rows;
};
struct odbk_writer *odbk_filter_copycount_new(struct odbk_writer *next);
size_t odbk_filter_copycount_get(const struct odbk_writer *w, const struct odbk_copy_count **out);

enum odbk_compression { ODBK_COMPRESS_NONE = 0, ODBK_COMPRESS_GZIP, ODBK_COMPRESS_ZSTD };
/* "gzip"/"zstd"/"none" ↔ enum; the file suffix (".gz", ".zst", ""). */
int odbk_compression_parse(const char *s, enum odbk_compression *out);
const char *odbk_compression_name(enum odbk_compression c);
const char *odbk_compression_suffix(enum odbk_compression c);
/* The default levels, chosen by measurement (odbk-create(1), tests/bench/levels): gzip 1 costs a third
 * of level 6's CPU time for 7% more bytes on the fixture's database and filestore; zstd 3 is 14% smaller
 * than zstd 1 on real SQL text for about the same time. */
#define ODBK_GZIP_LEVEL 1
#define ODBK_ZSTD_LEVEL 3
/* Compressor (level < 0: the default; threads: worker threads where the codec has them). */
struct odbk_writer *odbk_filter_compress_new(enum odbk_compression c, int level, int threads,
                                             struct odbk_writer *next);
/* Parallel gzip (pigz's method): one standard gzip member made by `threads` workers (at least one), every
 * gzip compression odbk does.  Segments that do not compress are stored, not deflated again. */
struct odbk_writer *odbk_filter_pgzip_new(int level, int threads, struct odbk_writer *next);
/* How many input bytes a gzip compressor stored as they were (0 for any other writer). */
uint64_t odbk_filter_gzip_stored(const struct odbk_writer *w);
/* Decompressor; fails with ODBK_E_DATA on corrupt or truncated input. */
struct odbk_writer *odbk_filter_decompress_new(enum odbk_compression c, struct odbk_writer *next);

/* Calls cb at most every interval_ms with the bytes seen so far (progress, heartbeats). */
typedef void (*odbk_progress_cb)(void *ctx, uint64_t bytes);
struct odbk_writer *odbk_filter_progress_new(struct odbk_writer *next, odbk_progress_cb cb, void *ctx,
                                             unsigned interval_ms);

/* ---- simple sinks ---- */

/* Writes to a file descriptor it does not own; finish does nothing more. */
struct odbk_writer *odbk_sink_fd_new(int fd, const char *what);
/* Collects everything in memory, failing past max bytes (manifests, small files). */
struct odbk_writer *odbk_sink_buffer_new(size_t max);
const char *odbk_sink_buffer_data(const struct odbk_writer *w, size_t *len);
/* Discards everything (verification reads that only need the filters' results). */
struct odbk_writer *odbk_sink_null_new(void);

#endif
