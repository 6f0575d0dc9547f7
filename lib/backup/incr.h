/* incr.h - reading an incremental filestore (filestore mode "incremental", odbk(7)): the backup's file
 * list, and the packs of the env it names, each a plain tar of files (backup/filelist.h).
 *
 * Every reader checks the list first (odbk_filelist_read: sorted, unique, safe paths, every pack one of
 * the manifest's), then reads only the packs the list names, each against its size and SHA-256 in the
 * manifest, and takes from each pack exactly the members the list places there, each against its size
 * and SHA-256 in the list; a member the list does not place in that pack is left out, and an entry no
 * pack gave fails the read.  Nothing of a pack is trusted beyond what the list says of it. */
#ifndef ODBK_BACKUP_INCR_H
#define ODBK_BACKUP_INCR_H

#include "backup/format.h"

struct odbk_filelist;

/* Is the source an incremental backup (its manifest lists a file list)? */
int odbk_incr_is(const struct odbk_source *s);

/* Restore: every file of the list into l->tmpfs, the packs read by up to ODBK_INCR_READERS threads at a
 * time (a storage's readers may run in parallel: storage.h; SFTP and FTP readers take a connection each),
 * through the strict extraction of io/tar.h.  On failure the caller removes what was written. */
#define ODBK_INCR_READERS 4
int odbk_incr_load(const struct odbk_format_load *l, struct odbk_err *err);

/* Write the filestore as one plain (uncompressed) tar stream into dst, not finished: the list's files in
 * pack order, each checked before the next (odbk-download, --as zip).  *files and *bytes, when not NULL,
 * get what the list holds. */
int odbk_incr_write_tar(struct odbk_source *s, struct odbk_writer *dst, const struct odbk_report *report,
                        uint64_t *files, uint64_t *bytes, struct odbk_err *err);

#endif
