/* manifest.h - odbk's backup manifest (odbk(7), Storage layout), written last: a backup exists in storage exactly
 * when its manifest does.  It carries odbk's keys, Odoo's own manifest keys (odoo_dump, db_name,
 * version, major_version, pg_version, modules) and the list of files with size and SHA-256. */
#ifndef ODBK_MANIFEST_H
#define ODBK_MANIFEST_H

#include <stdint.h>
#include <time.h>

#include "common/err.h"
#include "common/vocab.h"

/* Version 2 adds the incremental filestore's keys (filestore_mode, parent, added_bytes, packs); a backup
 * whose filestore is not incremental is still written as version 1, which every odbk reads. */
#define ODBK_MANIFEST_VERSION 2
#define ODBK_MANIFEST_MAX_FILES 8
/* the largest file size a manifest may state (1 PiB): anything larger is a damaged or hostile manifest */
#define ODBK_MANIFEST_MAX_SIZE (UINT64_C(1) << 50)

struct odbk_manifest_file {
    char *name;        /* file name inside the backup's folder */
    char *role;        /* database, filestore, archive */
    uint64_t size;     /* stored bytes */
    char *sha256;      /* of the stored bytes */
    char *compression; /* gzip, zstd, none, zip, pg_custom */
    uint64_t raw_size; /* bytes before compression (0 when unknown) */
};

/* How a backup holds its filestore: one tar file of its own (full), or a list of its files whose bytes are
 * in packs shared by the env's backups (incremental: lib/backup/filelist.h). */
enum odbk_filestore_mode { ODBK_FILESTORE_FULL = 0, ODBK_FILESTORE_INCREMENTAL };

/* A pack a backup references: <env>/packs/NAME (odbk_pack_name_ok). */
struct odbk_manifest_pack {
    char *name;
    uint64_t size;      /* stored bytes */
    char sha256[65];    /* of the stored bytes */
};

struct odbk_manifest {
    int version;
    char *id, *uuid, *env, *project, *database, *comment, *host;
    enum odbk_backup_type type;        /* written and read by name (lib/common/vocab.h) */
    enum odbk_backup_format format;
    enum odbk_retention_tier retention;   /* "retention": "" for none */
    char *odbk_version, *pg_server_version, *pg_dump_version;
    char *key_id;            /* the key id of an encrypted storage's files (io/crypt.h), "" for none */
    time_t created_at, finished_at;
    /* Odoo's keys */
    char *odoo_version;      /* "17.0" series of the database (from base's latest_version) */
    char *odoo_major;        /* "17.0" */
    char *odoo_pg_version;   /* Odoo's quirky "15.0" */
    char *modules_json;      /* {"base": "17.0.1.3", ...} */
    /* figures recorded while the backup was made, compared by odbk-restore --test */
    char *tables_json;       /* {"public.res_partner": 12, ...}: rows of each COPY block; NULL when not counted */
    int64_t fs_files;        /* filestore files stored, -1 when not recorded */
    int64_t fs_bytes;        /* their bytes, -1 when not recorded */
    struct odbk_manifest_file files[ODBK_MANIFEST_MAX_FILES];
    size_t n_files;
    /* version 2 */
    enum odbk_filestore_mode filestore_mode;   /* "filestore_mode", absent: full */
    char *parent;            /* the backup whose list this one's started from, "" for none (NULL: none) */
    uint64_t added_bytes;    /* bytes this backup added to storage: its own files and the packs it made */
    int has_added_bytes;     /* added_bytes was recorded (a version 1 manifest has none) */
    struct odbk_manifest_pack *packs;   /* every pack the backup references, sorted by name, unique */
    size_t n_packs;
};

/* Serialise (pretty, malloc'd). */
char *odbk_manifest_to_json(const struct odbk_manifest *m);
/* Odoo's own manifest.json (for zip backups), malloc'd. */
char *odbk_manifest_odoo_json(const struct odbk_manifest *m);
/* Parse; ODBK_E_DATA naming `what` when it is not an odbk manifest, or a file's size is not a whole number
 * 0 .. ODBK_MANIFEST_MAX_SIZE, its sha256 not 64 hex digits, a time present but not RFC 3339, its type,
 * format or retention not a name of their vocabulary (odbk_vocab_error); in version 2, a filestore_mode
 * other than "incremental" or "full", a parent that is not a backup id, an added_bytes that is not a size,
 * packs in a full backup, or a pack whose name fails odbk_pack_name_ok, whose size or sha256 is not one, or
 * that is out of order or given twice. */
int odbk_manifest_parse(const char *json, const char *what, struct odbk_manifest *m, struct odbk_err *err);
void odbk_manifest_release(struct odbk_manifest *m);
/* Add a file (copies the strings). */
void odbk_manifest_add_file(struct odbk_manifest *m, const char *name, const char *role, uint64_t size,
                            const char *sha256, const char *compression, uint64_t raw_size);
const struct odbk_manifest_file *odbk_manifest_file_by_role(const struct odbk_manifest *m, const char *role);
/* Add a pack reference (copies the name); the packs are sorted by odbk_manifest_to_json and a duplicate
 * name is kept once. */
void odbk_manifest_add_pack(struct odbk_manifest *m, const char *name, uint64_t size, const char *sha256);
/* Sort m's packs by name and drop duplicates (to_json does it; a caller looking packs up after adding). */
void odbk_manifest_sort_packs(struct odbk_manifest *m);
/* The pack called name in m (sorted, as parsed), or NULL. */
const struct odbk_manifest_pack *odbk_manifest_pack_find(const struct odbk_manifest *m, const char *name);
/* The name of a filestore mode ("full", "incremental"), and back (-1: neither). */
const char *odbk_filestore_mode_name(enum odbk_filestore_mode mode);
int odbk_filestore_mode_parse(const char *s, enum odbk_filestore_mode *out);

/* Is s a backup id as odbk_backup_new_id makes it (YYYYMMDDTHHMMSSZ-xxxxxx, 23 characters)? */
int odbk_backup_id_ok(const char *s);
/* Is s a pack's name: a backup id, '-', 6 digits 000001..999999, then ".tar.gz", ".tar.zst" or ".tar"
 * (a backup compressed with none)?  Every pack name read from storage or a manifest is checked with it. */
int odbk_pack_name_ok(const char *s);

#endif
