/* tar.h - the filestore as a tar stream (libarchive): write a directory tree into a writer chain,
 * and a writer that extracts a tar stream into a directory.
 *
 * Extraction is strict: regular files and directories only; absolute names, "..", links and device
 * nodes are refused (ODBK_E_DATA) before anything outside the target can be touched. */
#ifndef ODBK_TAR_H
#define ODBK_TAR_H

#include <stdint.h>

#include "io/writer.h"

struct odbk_tar_stats {
    uint64_t files;
    uint64_t bytes;     /* file contents */
    uint64_t vanished;  /* files that disappeared while being read (skipped) */
};

/* Write the contents of dir (names relative to it, sorted) as a pax tar into dst (not finished). */
int odbk_tar_write_dir(const char *dir, struct odbk_writer *dst, struct odbk_tar_stats *stats,
                       struct odbk_err *err);
/* A writer that extracts into dir (which must exist); stats are final after finish(). */
struct odbk_writer *odbk_untar_writer_new(const char *dir, struct odbk_tar_stats *stats);

#endif
