/* config.h - odbk.conf: an INI file of `[storage NAME]`, `[policy]`, `[policy ENV]` and `[env NAME]`
 * sections (odbk.conf(5)).
 *
 * The parser keeps every key with its line so that any module can report "file:line: what is wrong".
 * Modules own their keys: the storage drivers validate `[storage]` sections, the policy module
 * `[policy]` sections, this module `[env]` sections.  Secrets are read through odbk_config_secret(),
 * which takes the `KEY-file` form or an environment variable and refuses files others can read.
 */
#ifndef ODBK_CONFIG_H
#define ODBK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct odbk_config_kv {
    char *key;
    char *value;
    int line;
};

struct odbk_config_section {
    char *kind;      /* "storage", "policy", "env" */
    char *name;      /* NULL for the organization [policy] */
    int line;
    const char *file;
    struct odbk_config_kv *kv;
    size_t n_kv;
};

struct odbk_config {
    char *path;      /* the file read, or NULL when none was found (an empty config) */
    struct odbk_config_section *sections;
    size_t n_sections;
    size_t cap_sections;
    size_t *index;   /* open-addressing hash of (kind, name): 1 + the section's position, 0 = free */
    size_t n_index;  /* slots, a power of two, at least twice n_sections */
};

/* Find and parse the config: explicit path (--config), $ODBK_CONFIG, $XDG_CONFIG_HOME/odbk/odbk.conf
 * (non-root), /etc/odbk/odbk.conf.  An explicit path that is missing is ODBK_E_CONFIG; when no file is
 * found otherwise, *out is an empty config if allow_missing, else an error naming the places searched. */
int odbk_config_load(const char *explicit_path, int allow_missing, struct odbk_config **out,
                     struct odbk_err *err);
/* Parse one file (no search). */
int odbk_config_parse_file(const char *path, struct odbk_config **out, struct odbk_err *err);
/* Parse text (unit tests); `file` names it in messages. */
int odbk_config_parse_string(const char *text, const char *file, struct odbk_config **out,
                             struct odbk_err *err);
/* Parse size bytes of text; a NUL byte among them is an ODBK_E_CONFIG error naming file:line. */
int odbk_config_parse_text(const char *text, size_t size, const char *file, struct odbk_config **out,
                           struct odbk_err *err);
void odbk_config_free(struct odbk_config *cfg);

/* The section [kind name] (name NULL: the unnamed one), or NULL. */
const struct odbk_config_section *odbk_config_find(const struct odbk_config *cfg, const char *kind,
                                                   const char *name);
/* The value of key in sec (the last one if repeated), or NULL. */
const char *odbk_config_get(const struct odbk_config_section *sec, const char *key);
const struct odbk_config_kv *odbk_config_get_kv(const struct odbk_config_section *sec, const char *key);
/* Fill err with "file:line: [kind name] key: msg" for a bad value of kv (or the section when kv NULL);
 * returns -1. */
int odbk_config_error(struct odbk_err *err, const struct odbk_config_section *sec,
                      const struct odbk_config_kv *kv, const char *fmt, ...) ODBK_PRINTF(4, 5);
/* Refuse keys of sec not in known (NULL-terminated), with a did-you-mean. */
int odbk_config_check_keys(const struct odbk_config_section *sec, const char *const *known,
                           struct odbk_err *err);
/* Boolean value (true/false/yes/no/on/off/1/0); def when absent. */
int odbk_config_bool(const struct odbk_config_section *sec, const char *key, int def, int *out,
                     struct odbk_err *err);

/* Numbers, def when absent, else a config error naming the range: a decimal from lo to hi; seconds
 * ("90" or "90s"); a size ("5MiB", "1G", "512k": odbk_parse_size). */
int odbk_config_uint(const struct odbk_config_section *sec, const char *key, unsigned def, unsigned lo,
                     unsigned hi, unsigned *out, struct odbk_err *err);
int odbk_config_seconds(const struct odbk_config_section *sec, const char *key, long def, long lo, long hi,
                        long *out, struct odbk_err *err);
int odbk_config_size(const struct odbk_config_section *sec, const char *key, uint64_t def, uint64_t lo,
                     uint64_t hi, uint64_t *out, struct odbk_err *err);

/* A secret: `key` inline, else the file named by `key-file` (refused if group/world can read it),
 * else the environment variable env_var (may be NULL).  *out is NULL (and 0 returned) when none is
 * set; the caller frees it. */
int odbk_config_secret(const struct odbk_config_section *sec, const char *key, const char *env_var,
                       char **out, struct odbk_err *err);
/* Refuse a file that group or others can read (config files, keys, secrets). */
int odbk_config_check_private(const char *path, const char *what, struct odbk_err *err);

/* ---- environments ---- */

struct odbk_env {
    char *name;
    char *project;    /* "" when unset */
    char *database;   /* defaults to the env name */
    char *filestore;  /* directory; defaults to <data-dir>/filestore/<database> */
    char *pg;         /* libpq conninfo ("" = libpq defaults / PG* environment) */
    char *storage;    /* storage name, or NULL: not_configured */
    char *odoo_conf;  /* the `odoo-conf` file read, or NULL */
    char *addons_path; /* `addons-path`, else odoo.conf's addons_path, or NULL */
    char *data_dir;    /* Odoo's data_dir: `data-dir`, else odoo.conf's, else Odoo's default (below) */
    char *http_port;   /* odoo.conf's http_port, or NULL (Odoo's 8069) */
    char *db_owner;    /* `db-owner`: the role a restored database goes to, or NULL */
    char *filestore_owner; /* `filestore-owner`: USER[:GROUP] of restored files (checked, not looked up), or NULL */
    char *odoo_db_user;    /* odoo.conf's db_user (the role Odoo connects as), or NULL */
    int filestore_full;    /* `filestore-mode = full`: format odbk stores the filestore as one tar per backup
                            * (default: incremental, packs shared by the env's backups) */
    /* where database, pg and filestore came from: "odbk.conf", "odoo.conf" or "default" */
    const char *database_from, *pg_from, *filestore_from, *addons_path_from;
    const struct odbk_config_section *section;
};

/* Load env `name` ([env NAME]); ODBK_E_CONFIG with the known env names when unknown.  With `odoo-conf`,
 * the Odoo config fills what the env does not set: database (db_name), pg (db_host, db_port, db_user;
 * only when `pg` is unset, and then db_password is exported as PGPASSWORD in this process's environment
 * for libpq and the client tools, never put in the conninfo), filestore (data_dir, else
 * ~/.local/share/Odoo of the file's owner), addons_path (unless `addons-path` is set) and http_port.
 * `db-owner` must be a role name (1 to 63 bytes, no control characters) and `filestore-owner` USER[:GROUP]
 * (odbk_userspec_check); whether they exist is the restore's to find out (this host's users, the target
 * server's roles). */
int odbk_config_env(const struct odbk_config *cfg, const char *name, struct odbk_env *out,
                    struct odbk_err *err);
void odbk_env_release(struct odbk_env *env);
/* Names of every [env] section, in file order (pointers into cfg; array freed by the caller). */
size_t odbk_config_env_names(const struct odbk_config *cfg, const char ***out);

/* The environments a program acts on: every one of the config when `all`, else the n names given, each
 * checked to exist (an unknown name fails with its did-you-mean before any work).  *out is a
 * NULL-terminated array the caller frees (its strings belong to cfg or names). */
int odbk_config_select_envs(const struct odbk_config *cfg, int all, char *const *names, size_t n,
                            const char ***out, size_t *count, struct odbk_err *err);

/* Default catalog path: explicit, $ODBK_CATALOG, $XDG_STATE_HOME/odbk/catalog.db (non-root, falling
 * back to ~/.local/state), /var/lib/odbk/catalog.db.  malloc'd. */
char *odbk_config_catalog_path(const char *explicit_path);
/* The catalog a program opens: --catalog (explicit_path), else $ODBK_CATALOG, else [catalog] catalog =,
 * else the default file (odbk_config_catalog_path); *password the [catalog] password (or password-file),
 * NULL when none (libpq's ~/.pgpass then).  A --catalog URL holding a password is refused (64): a command
 * line is seen by every user.  [catalog] host = NAME is the host name odbk records from then on. */
int odbk_config_catalog(const struct odbk_config *cfg, const char *explicit_path, char **path, char **password,
                        struct odbk_err *err);

#endif
