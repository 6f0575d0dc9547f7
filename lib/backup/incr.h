/* incr.h - the incremental filestore's create side (incr-write.c; the format: filelist.h, odbk(7)).
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

#endif
