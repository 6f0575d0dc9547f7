/* tar.h - the filestore as a tar stream (libarchive): write a directory tree into a writer chain,
 * and a writer that extracts a tar stream into a directory.
 *
 * Extraction is strict: regular files and directories only; absolute names, "..", links and device
 * nodes are refused (ODBK_E_DATA) before anything outside the target can be touched. */
#ifndef ODBK_TAR_H
#define ODBK_TAR_H

#include <stdint.h>

#include <archive_entry.h>

#include "io/writer.h"

struct odbk_tar_stats {
    uint64_t files;
    uint64_t bytes;     /* file contents */
    uint64_t vanished;  /* files that disappeared while being read (skipped) */
};

/* Write the contents of dir (names relative to it, sorted) as a pax tar into dst (not finished). */
int odbk_tar_write_dir(const char *dir, struct odbk_writer *dst, struct odbk_tar_stats *stats,
                       struct odbk_err *err);
/* Is a member name safe: relative, no ".." component?  (tar and zip members alike) */
int odbk_member_name_ok(const char *name);

/* Reading a tar stream member by member.  The reader checks each member before a visitor sees it: a
 * safe name (odbk_member_name_ok), a regular file or a directory, no link; anything else fails the stream
 * with ODBK_E_DATA.  `name` is the checked name (the entry may be changed by begin). */
struct odbk_tar_visitor {
    int (*begin)(void *ctx, struct archive_entry *e, const char *name, struct odbk_err *err);
    int (*data)(void *ctx, const void *buf, size_t len, int64_t offset, struct odbk_err *err);
    int (*end)(void *ctx, struct archive_entry *e, const char *name, struct odbk_err *err);
};
/* A writer that reads the tar stream written into it (through a pipe thread) and calls v for each
 * member; free_ctx(ctx) when the writer is freed. */
struct odbk_writer *odbk_tar_reader_new(const struct odbk_tar_visitor *v, void *ctx, void (*free_ctx)(void *));

/* A writer that extracts into dir (which must exist); stats are final after finish(). */
struct odbk_writer *odbk_untar_writer_new(const char *dir, struct odbk_tar_stats *stats);

#endif
