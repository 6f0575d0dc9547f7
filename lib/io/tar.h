/* tar.h - the filestore as a tar stream (libarchive): write a directory tree into a writer chain,
 * and a writer that extracts a tar stream into a directory.
 *
 * Extraction is strict: regular files and directories only; absolute names, "..", links and device
 * nodes are refused (ODBK_E_DATA) before anything outside the target can be touched. */
#ifndef ODBK_TAR_H
#define ODBK_TAR_H

#include <stdint.h>

#include <archive_entry.h>

struct stat;

#include "io/writer.h"

struct odbk_tar_stats {
    uint64_t files;
    uint64_t bytes;     /* file contents */
    uint64_t vanished;  /* files that disappeared while being read (skipped) */
};

/* Write the contents of dir (names relative to it, sorted; symbolic links followed, see odbk_walk) as a pax
 * tar into dst (not finished).  Names are stored byte for byte, UTF-8 or not (a tree with a
 * non-ASCII name is written with hdrcharset=BINARY). */
int odbk_tar_write_dir(const char *dir, struct odbk_writer *dst, struct odbk_tar_stats *stats,
                       struct odbk_err *err);
/* A tar stream written member by member into dst (the filestore walk's, the incremental filestore's packs):
 * pax, names byte for byte (binary_names: the stream may hold names that are not ASCII, written with
 * hdrcharset=BINARY; odbk_tar_name_binary tells).  NULL with err set when libarchive cannot start. */
struct odbk_tar_out;
struct odbk_tar_out *odbk_tar_out_new(struct odbk_writer *dst, int binary_names, struct odbk_err *err);
/* A directory member rel. */
int odbk_tar_out_dir(struct odbk_tar_out *o, const char *rel, const struct stat *sb, struct odbk_err *err);
/* The file full (what the walk saw and vetted: sb) as member rel, read once (odbk_member_read_file: the
 * same rules and errors); observe(ctx, buf, len), when not NULL, sees its bytes (a checksum); *stored (may
 * be NULL) what was stored (the size, mode and mtime of the moment it was read).  1: it vanished before it
 * was opened, nothing written. */
int odbk_tar_out_file(struct odbk_tar_out *o, const char *rel, const char *full, const struct stat *sb,
                      void (*observe)(void *ctx, const void *buf, size_t len), void *ctx, struct stat *stored,
                      struct odbk_err *err);
/* The end of the archive; dst is the caller's to finish. */
int odbk_tar_out_close(struct odbk_tar_out *o, struct odbk_err *err);
void odbk_tar_out_free(struct odbk_tar_out *o);
/* Does name hold a byte above 0x7f (a stream holding it needs binary_names)? */
int odbk_tar_name_binary(const char *name);

/* Reading one file of a tree into an archive (tar and zip alike).  begin(ctx, sb) is called once the size
 * to store is known (sb->st_size), then data(ctx, buf, n) with exactly that many bytes.  A file that fits
 * in buf (bufsize) is read whole before begin and read again, up to three times, when it changed meanwhile
 * (size, mtime or ctime moved), so a file being written is stored as it was at one moment; a bigger one
 * that changes while it is streamed, or that has more or fewer bytes than its size said, is an
 * ODBK_E_TEMPFAIL error naming it: never a silent prefix; so is a file that is not expect (device and
 * inode: what the walk saw and vetted; NULL for no check) once opened.  Returns 1, calling nothing, when the file
 * vanished before it was opened. */
struct stat;
struct odbk_member_sink {
    int (*begin)(void *ctx, const struct stat *sb, struct odbk_err *err);
    int (*data)(void *ctx, const void *buf, size_t len, struct odbk_err *err);
};
int odbk_member_read_file(const char *full, const struct stat *expect, char *buf, size_t bufsize,
                          const struct odbk_member_sink *sink, void *ctx, struct odbk_err *err);
/* Is a member name safe: relative, no ".." component, at most ODBK_TREE_DEPTH_MAX folders deep (what a
 * backup holds: util.h)?  (tar and zip members alike) */
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

/* A writer that extracts into dir (which must exist, and be the directory dir_id when not NULL: see
 * odbk_dir_open_made); stats are final after finish(). */
struct stat;
struct odbk_writer *odbk_untar_writer_new(const char *dir, const struct stat *dir_id, struct odbk_tar_stats *stats);

#endif
