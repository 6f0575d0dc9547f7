/* filelist.h - the incremental filestore (odbk(7), Storage layout; issue 14): a backup's list of the files of
 * its filestore, and the names of the packs that hold their bytes.
 *
 *     <prefix>/<env>/<id>/backup-<id>-filestore.list.gz     the list (role "filelist" of the manifest)
 *     <prefix>/<env>/packs/<id>-<NNNNNN>.tar.gz             a pack: a standard tar of the files backup <id>
 *                                                           added, members named by their path
 *
 * The list, once decompressed, is text, one entry a line, sorted by path (strcmp of the raw bytes), paths
 * unique:
 *
 *     odbk-filelist 1
 *     f <sha256-hex> <size> <mtime-unix> <mode-octal> <pack-name> <path>
 *     end <files> <bytes>
 *
 * where a path and a pack name escape every byte outside 0x21..0x7e, and '%', as %XX (upper-case hex).
 * It is written streaming (odbk_filelist_writer) and read through a writer chain (odbk_filelist_parser_new),
 * so a list of a million files is never held twice. */
#ifndef ODBK_BACKUP_FILELIST_H
#define ODBK_BACKUP_FILELIST_H

#include <stddef.h>
#include <stdint.h>

#include "io/writer.h"
#include "odoo/manifest.h"

struct odbk_storage;

#define ODBK_FILELIST_MAGIC "odbk-filelist 1"
/* the longest path a list holds (bytes, unescaped) */
#define ODBK_FILELIST_MAX_PATH 4096
/* a pack closes once it holds this many bytes of files (one bigger file is a pack of its own) */
#define ODBK_PACK_BYTES (UINT64_C(16) << 20)
/* the folder of an env's packs, beside its backups' folders: never a backup id, skipped by every walk */
#define ODBK_PACKS_DIR "packs"

struct odbk_fl_entry {
    char *path;          /* relative to the filestore's top, as on disk */
    char *pack;          /* the pack holding its bytes (a name the list owns: odbk_filelist.packs) */
    uint64_t size;
    int64_t mtime;
    unsigned mode;       /* permission bits, 0 .. 07777 */
    char sha256[65];
};

/* A list read back: its entries sorted by path; pack names stored once each. */
struct odbk_filelist {
    struct odbk_fl_entry *e;
    size_t n;
    uint64_t bytes;      /* the sum of the entries' sizes */
    char **packs;        /* the names the entries point to, sorted */
    size_t n_packs;
    size_t cap;          /* (internal) */
};

/* ---- names and keys ---- */

/* "ID-NNNNNN.tar.gz" (".tar.zst", ".tar" with compression none), malloc'd; seq 1 .. 999999. */
char *odbk_pack_name(const char *id, unsigned seq, enum odbk_compression c);
/* The storage key of pack name of env ("env/packs/NAME"), and of the folder of env's packs ("env/packs/");
 * malloc'd. */
char *odbk_pack_key(const char *env, const char *name);
char *odbk_packs_prefix(const char *env);
/* The name of backup id's list, "backup-ID-filestore.list.gz" (".zst", "" with none); malloc'd. */
char *odbk_filelist_name(const char *id, enum odbk_compression c);
/* Is name (a name in packs/) one of backup id's packs?  (a failed run's cleanup removes exactly those) */
int odbk_pack_of(const char *name, const char *id);

/* ---- writing ---- */

struct odbk_filelist_writer;
/* Start a list into dst (which it does not own, finish or abort): writes the header. */
struct odbk_filelist_writer *odbk_filelist_writer_new(struct odbk_writer *dst);
/* Append e: its path must sort after the previous entry's, be a valid path (as the reader checks) and its
 * pack a valid pack name; ODBK_E_SOFTWARE otherwise (a bug of the caller, nothing written). */
int odbk_filelist_write_entry(struct odbk_filelist_writer *fw, const struct odbk_fl_entry *e, struct odbk_err *err);
/* Write the end line (counts); dst is then the caller's to finish. */
int odbk_filelist_write_end(struct odbk_filelist_writer *fw, struct odbk_err *err);
/* Entries and bytes written so far. */
uint64_t odbk_filelist_writer_files(const struct odbk_filelist_writer *fw);
uint64_t odbk_filelist_writer_bytes(const struct odbk_filelist_writer *fw);
void odbk_filelist_writer_free(struct odbk_filelist_writer *fw);

/* ---- reading (the list is hostile until checked) ---- */

/* A sink parsing the decompressed list written into it into *out (zeroed first): a write or the finish
 * fails with ODBK_E_DATA naming `what` and the line on a missing header or end line, counts that differ
 * from the entries, a line that is not an entry, a path absolute, empty, with "." / ".." / empty
 * components, a NUL, longer than ODBK_FILELIST_MAX_PATH, duplicate or out of order, a pack name failing
 * odbk_pack_name_ok or not in m's packs (m NULL: not checked), a size over ODBK_MANIFEST_MAX_SIZE, a bad
 * sha256, mtime or mode.  *out belongs to the caller (odbk_filelist_free), complete only after finish. */
struct odbk_writer *odbk_filelist_parser_new(const char *what, const struct odbk_manifest *m, struct odbk_filelist *out);
/* The same over a buffer (tests, small lists). */
int odbk_filelist_parse(const char *buf, size_t len, const char *what, const struct odbk_manifest *m,
                        struct odbk_filelist *out, struct odbk_err *err);
/* Read backup m's list from st (its file of role "filelist" at env/id/NAME), checked against m's size and
 * sha256 while it streams, decompressed and parsed as above.  ODBK_E_DATA when m has no list. */
int odbk_filelist_read(struct odbk_storage *st, const struct odbk_manifest *m, struct odbk_filelist *out,
                       struct odbk_err *err);
/* The entry of path, or NULL (binary search). */
const struct odbk_fl_entry *odbk_filelist_find(const struct odbk_filelist *l, const char *path);
void odbk_filelist_free(struct odbk_filelist *l);

/* Is path valid in a list: relative, not empty, no "." / ".." / empty component, no NUL (len bytes), at most
 * ODBK_FILELIST_MAX_PATH bytes? */
int odbk_filelist_path_ok(const char *path, size_t len);

#endif
