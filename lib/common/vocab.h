/* vocab.h - the value vocabularies of odbk: one name table per kind of value (backup types, retention
 * tiers, formats, compressions, statuses, progress modes), indexed by its enum.  The option parser
 * (lib/cli), --help, --completion-helper and the library's messages all read these tables, so a new value
 * is one line here.
 *
 * A vocabulary of another kind names what completes the value (files, environments, storages, backup
 * ids): it has no words and the parser does not check it. */
#ifndef ODBK_COMMON_VOCAB_H
#define ODBK_COMMON_VOCAB_H

#include <stddef.h>

#include "common/err.h"

enum odbk_vocab_kind {
    ODBK_VOCAB_WORDS,     /* a fixed list: names */
    ODBK_VOCAB_FILE,      /* a path */
    ODBK_VOCAB_DIR,       /* a directory */
    ODBK_VOCAB_ENV,       /* an [env] of the config */
    ODBK_VOCAB_STORAGE,   /* a [storage] of the config */
    ODBK_VOCAB_BACKUP,    /* a completed backup's id, from the catalog */
    ODBK_VOCAB_USER,      /* a user of this host (USER[:GROUP]: the user part) */
};

struct odbk_vocab {
    const char *what;             /* singular, for messages: "unknown type 'x'" */
    enum odbk_vocab_kind kind;
    const char *const *names;     /* ODBK_VOCAB_WORDS: NULL-terminated, index = the enum's value */
};

/* odbk-create --type, odbk-list --type, odbk-restore --type; the type of a backup row */
enum odbk_backup_type { ODBK_TYPE_MANUAL, ODBK_TYPE_SCHEDULED, ODBK_TYPE_PRE_RESTORE, ODBK_TYPE_PRE_UPGRADE,
                        ODBK_TYPE_PRE_DESTROY };
extern const struct odbk_vocab odbk_vocab_type;
/* odbk-create --retention; the retention tier of a backup row and a manifest ("" for none): names[i] is
 * ODBK_TIER_DAILY + i (odbk_tier_name, odbk_tier_parse) */
enum odbk_retention_tier { ODBK_TIER_NONE, ODBK_TIER_DAILY, ODBK_TIER_WEEKLY, ODBK_TIER_MONTHLY, ODBK_TIER_YEARLY,
                           ODBK_TIER_PERMANENT };
extern const struct odbk_vocab odbk_vocab_tier;
/* odbk-create --format */
enum odbk_backup_format { ODBK_FORMAT_ODBK, ODBK_FORMAT_ZIP, ODBK_FORMAT_DUMP };
extern const struct odbk_vocab odbk_vocab_format;
/* odbk-create --compress: names[i] is enum odbk_compression ODBK_COMPRESS_GZIP + i (io/writer.h) */
extern const struct odbk_vocab odbk_vocab_compression;
/* the status of a backup row, odbk-list --status */
enum odbk_backup_status { ODBK_BACKUP_PENDING, ODBK_BACKUP_IN_PROGRESS, ODBK_BACKUP_UPLOADING,
                          ODBK_BACKUP_COMPLETED, ODBK_BACKUP_FAILED, ODBK_BACKUP_EXPIRED };
extern const struct odbk_vocab odbk_vocab_status;
/* --progress: index = enum odbk_progress_mode (cli/cli.h) */
extern const struct odbk_vocab odbk_vocab_progress;
/* odbk-download --as */
extern const struct odbk_vocab odbk_vocab_download_as;
/* `verify =` of a storage, odbk-create --verify: names[i] is enum odbk_verify_mode ODBK_VERIFY_STORE + i
 * (storage/storage.h) */
extern const struct odbk_vocab odbk_vocab_verify;
/* how a backup was verified: index = struct odbk_backup's `verified` (ODBK_VERIFIED_*, catalog/catalog.h) */
extern const struct odbk_vocab odbk_vocab_verified;
/* the completions of other values */
extern const struct odbk_vocab odbk_vocab_file, odbk_vocab_dir, odbk_vocab_env, odbk_vocab_storage,
    odbk_vocab_backup, odbk_vocab_user;

/* The index of s in v's names, or -1 (always -1 for a vocabulary that is not ODBK_VOCAB_WORDS). */
int odbk_vocab_find(const struct odbk_vocab *v, const char *s);
/* The name of index i, or NULL out of range. */
const char *odbk_vocab_name(const struct odbk_vocab *v, int i);
/* "a, b, c" into buf (cut to size). */
void odbk_vocab_list(const struct odbk_vocab *v, char *buf, size_t size);
/* `code` "unknown WHAT 's'" with a did-you-mean, the hint listing every name; returns -1. */
int odbk_vocab_error(const struct odbk_vocab *v, const char *s, enum odbk_errcode code, struct odbk_err *err);
/* The index of s in v's names into *out, or odbk_vocab_error (s NULL is ""). */
int odbk_vocab_parse(const struct odbk_vocab *v, const char *s, int *out, enum odbk_errcode code,
                     struct odbk_err *err);
/* The names of a backup's type, format and status (NULL out of range). */
const char *odbk_type_name(enum odbk_backup_type t);
const char *odbk_format_name(enum odbk_backup_format f);
const char *odbk_status_name(enum odbk_backup_status s);
/* A retention tier as a catalog row and a manifest write it: "" for ODBK_TIER_NONE, else its name. */
const char *odbk_tier_name(enum odbk_retention_tier t);
/* "" (or NULL) is ODBK_TIER_NONE; another name not a tier's is odbk_vocab_error. */
int odbk_tier_parse(const char *s, enum odbk_retention_tier *out, enum odbk_errcode code, struct odbk_err *err);

#endif
