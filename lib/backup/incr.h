/* incr.h - the incremental filestore: its create side (incr-write.c) and its read side (incr-read.c); the
 * format: filelist.h, odbk(7).
 *
 * A backup of an env whose filestore is incremental stores only the files its parent (the env's newest
 * completed incremental backup in the same storage) does not hold: new files go into packs of
 * ODBK_PACK_BYTES at <env>/packs/<id>-NNNNNN.tar.gz; every file, new or not, gets a line in the backup's
 * list.  A file whose name is its checksum (Odoo's <sha1[:2]>/<sha1>) and whose size is the parent's is
 * never read; any other file the parent has with the same size is read and its SHA-256 compared. */
#ifndef ODBK_BACKUP_INCR_H
#define ODBK_BACKUP_INCR_H

#include <stdatomic.h>

#include "backup/filelist.h"
#include "backup/format.h"

/* The backup an incremental one starts from: its manifest and its list, both read and checked. */
struct odbk_incr_parent {
    int have;                  /* 0: none (every file is new) */
    struct odbk_manifest m;
    struct odbk_filelist list;
};

/* Find the parent of a new backup of env in storage (st opened on it): the newest completed backup of the
 * catalog in that env and storage whose filestore is incremental.  Its list is read from storage and
 * checked against its manifest; when it cannot be (gone, damaged), there is no parent and *why (malloc'd)
 * says so, for the backup's warning.  Never fails: without a parent every file is stored again. */
void odbk_incr_parent_find(struct odbk_catalog *cat, struct odbk_storage *st, const char *env, const char *storage,
                           struct odbk_incr_parent *p, char **why);
void odbk_incr_parent_release(struct odbk_incr_parent *p);

/* What the write of an incremental filestore made. */
struct odbk_incr_result {
    struct odbk_format_file list;   /* the list, stored (role "filelist") */
    struct odbk_manifest packs;     /* only its packs: every pack the list references, sorted */
    uint64_t files, bytes;          /* in the list */
    uint64_t new_files, new_bytes;  /* stored in this backup's packs (before compression) */
    uint64_t read_files;            /* files read (new ones, and those whose checksum had to be compared) */
    uint64_t vanished;              /* deleted while the walk saw them */
    uint64_t packs_made;
    int list_open;
};

/* Write w's filestore (w->filestore) as packs and a list into w->st, against w->parent (NULL: none);
 * cancel, once set, fails it at the next file or chunk.  The phase "filestore" reports the bytes looked
 * at (every file's size, read or not) against w->fs_hint.  On failure what it stored is left for the
 * caller's cleanup (the backup's folder and <env>/packs/<id>-*), nothing is open. */
int odbk_incr_write(const struct odbk_format_write *w, atomic_int *cancel, struct odbk_incr_result *res,
                    struct odbk_err *err);
/* Add the list and the packs to m; fs_files and fs_bytes. */
void odbk_incr_result_add(const struct odbk_incr_result *res, struct odbk_manifest *m);
void odbk_incr_result_release(struct odbk_incr_result *res);

/* Bytes backup m added to storage: its files and the packs named after it (odbk_pack_of). */
uint64_t odbk_incr_added_bytes(const struct odbk_manifest *m);

/* ---- reading (incr-read.c) ----
 * Every reader checks the list first (filelist.h: sorted, unique, safe paths, every pack one of the
 * manifest's), then reads only the packs the list names, each against its size and SHA-256 in the
 * manifest, and takes from each pack exactly the members the list places in that pack, each against its
 * size and SHA-256 in the list; a member the list does not place in that pack is left out, and an entry no
 * pack gave fails the read.  Nothing of a pack is trusted beyond what the list says of it. */

struct odbk_source;

/* Is the source an incremental backup (its manifest lists a file list)? */
int odbk_incr_is(const struct odbk_source *s);

/* Restore: every file of the list into l->tmpfs, the packs read by up to ODBK_INCR_READERS threads at a
 * time (a storage's readers may run in parallel: storage.h; SFTP and FTP readers take a connection each),
 * through the strict extraction of io/tar.h.  On failure the caller removes what was written. */
#define ODBK_INCR_READERS 4
int odbk_incr_load(const struct odbk_format_load *l, struct odbk_err *err);

/* Write the filestore as one plain (uncompressed) tar stream into dst, not finished: the list's files in
 * pack order, each checked before the next (odbk-download, --as zip, --verify).  *files and *bytes, when
 * not NULL, get what the list holds. */
int odbk_incr_write_tar(struct odbk_source *s, struct odbk_writer *dst, const struct odbk_report *report,
                        uint64_t *files, uint64_t *bytes, struct odbk_err *err);

#endif
