/* record.c - a backup's record and its manifest: one mapping each way (backup.h).  The catalog's row is
 * the record's other form (lib/catalog/catalog.c binds its columns). */
#include "backup/backup.h"

#include <string.h>

#include "backup/incr.h"
#include "common/util.h"

void odbk_backup_to_manifest(const struct odbk_backup *b, struct odbk_manifest *m)
{
    m->version = ODBK_MANIFEST_VERSION;
    m->id = b->id;
    m->uuid = b->uuid;
    m->env = b->env;
    m->project = b->project;
    m->database = b->database;
    m->type = b->type;
    m->format = b->format;
    m->retention = b->retention;
    m->comment = b->comment;
    m->host = b->host;
    m->key_id = b->key_id;
    m->created_at = b->created_at;
    m->finished_at = b->finished_at;
}

void odbk_backup_sizes(struct odbk_backup *b, const struct odbk_manifest *m, size_t manifest_len)
{
    size_t k;
    b->db_size = b->fs_size = 0;
    b->total_size = manifest_len;
    for (k = 0; k < m->n_files; k++) {
        if (!strcmp(m->files[k].role, "filestore") || !strcmp(m->files[k].role, "filelist")) {
            b->fs_size += m->files[k].size;
            b->has_filestore = 1;
        } else {
            b->db_size += m->files[k].size;
        }
        b->total_size += m->files[k].size;
    }
    /* an incremental filestore: what a restore reads is its list and every pack it references */
    for (k = 0; k < m->n_packs; k++) {
        b->fs_size += m->packs[k].size;
        b->total_size += m->packs[k].size;
    }
    /* what it cost: its own files, its manifest, the packs it made (the others are its parents') */
    b->added_bytes = odbk_incr_added_bytes(m) + manifest_len;
}

void odbk_backup_from_manifest(const struct odbk_manifest *m, char *json, const char *storage, struct odbk_backup *b)
{
    memset(b, 0, sizeof(*b));
    b->id = odbk_xstrdup(m->id);
    b->uuid = odbk_xstrdup(m->uuid);
    b->env = odbk_xstrdup(m->env);
    b->project = odbk_xstrdup(m->project);
    b->database = odbk_xstrdup(m->database);
    b->storage = odbk_xstrdup(storage);
    b->type = m->type;
    b->format = m->format;
    b->compression = odbk_xstrdup(m->n_files ? m->files[0].compression : "");
    b->status = ODBK_BACKUP_COMPLETED;
    b->created_at = m->created_at;
    b->finished_at = m->finished_at;
    odbk_backup_sizes(b, m, strlen(json));
    b->comment = odbk_xstrdup(m->comment);
    b->retention = m->retention;
    b->host = odbk_xstrdup(m->host);
    b->odoo_version = odbk_xstrdup(m->odoo_version);
    b->pg_version = odbk_xstrdup(m->pg_server_version);
    b->key_id = odbk_xstrdup(m->key_id ? m->key_id : "");
    b->manifest = json;
}
