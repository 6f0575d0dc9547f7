/* manifest.h - odbk's backup manifest (odbk(7), Storage layout), written last: a backup exists in storage exactly
 * when its manifest does.  It carries odbk's keys, Odoo's own manifest keys (odoo_dump, db_name,
 * version, major_version, pg_version, modules) and the list of files with size and SHA-256. */
#ifndef ODBK_MANIFEST_H
#define ODBK_MANIFEST_H

#include <stdint.h>
#include <time.h>

#include "common/err.h"
#include "common/vocab.h"

#define ODBK_MANIFEST_VERSION 1
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
};

/* Serialise (pretty, malloc'd). */
char *odbk_manifest_to_json(const struct odbk_manifest *m);
/* Odoo's own manifest.json (for zip backups), malloc'd. */
char *odbk_manifest_odoo_json(const struct odbk_manifest *m);
/* Parse; ODBK_E_DATA naming `what` when it is not an odbk manifest, or a file's size is not a whole number
 * 0 .. ODBK_MANIFEST_MAX_SIZE, its sha256 not 64 hex digits, a time present but not RFC 3339, its type,
 * format or retention not a name of their vocabulary (odbk_vocab_error). */
int odbk_manifest_parse(const char *json, const char *what, struct odbk_manifest *m, struct odbk_err *err);
void odbk_manifest_release(struct odbk_manifest *m);
/* Add a file (copies the strings). */
void odbk_manifest_add_file(struct odbk_manifest *m, const char *name, const char *role, uint64_t size,
                            const char *sha256, const char *compression, uint64_t raw_size);
const struct odbk_manifest_file *odbk_manifest_file_by_role(const struct odbk_manifest *m, const char *role);

#endif
