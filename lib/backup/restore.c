/* restore.c - restore a backup without ever leaving the target worse off.
 *
 * The backup is loaded into a new temporary database ("<db>_odbk_tmp_<pid>") and a temporary filestore
 * directory next to the target ("<dir>.odbk-tmp-<pid>"), streamed from its source (source.h) through a
 * SHA-256 check into the loader of its format (format.h; format-*.c):
 *
 *     odbk   database.sql.gz → gunzip → psql (ON_ERROR_STOP)  ‖  filestore.tar.gz → gunzip → untar
 *     dump   backup.dump → pg_restore --no-owner --exit-on-error [--no-privileges]
 *     zip    backup.zip → streamable unzip: dump.sql → psql, filestore/… → the directory
 *
 * then neutralized and given a new identity when asked (on the temporary database).  The temporaries are
 * recorded in the catalog before they are created (swap.c).  Only when all of that succeeded are they
 * swapped in, as one journaled step (swap.c): the target database and directory are renamed aside
 * ("_odbk_old_<pid>"), the new ones renamed into place, the old ones dropped.  Before that point any
 * failure drops the temporaries and leaves the target exactly as it was; a run killed outright is cleaned
 * up, or its swap completed, by the next odbk run on this host (odbk_restore_recover). */
#include "backup/format.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/owners.h"
#include "backup/report.h"
#include "backup/source.h"
#include "backup/swap.h"
#include "common/interrupt.h"
#include "common/userspec.h"
#include "common/util.h"
#include "io/exec.h"
#include "odoo/neutralize.h"
#include "odoo/odoo.h"
#include "pg/loadrole.h"
#include "pg/pg.h"
#include "pg/sqlcheck.h"

struct target {
    char *env;          /* NULL for a new database outside the config */
    char *pg;           /* conninfo of the target server */
    char *database;
    char *filestore;    /* NULL with --no-filestore or a backup without filestore */
    char *fs_real;      /* filestore resolved once (realpath): the directory the swap replaces, behind any link */
    char *pg_bindir;
    char *http_port;    /* odoo.conf's, for --copy's web.base.url; NULL: Odoo's 8069 */
    /* the env whose owner keys apply (the target's; with --new-db the source's, when the config has it) */
    const struct odbk_config_section *sec;
    char *db_owner;     /* its db-owner, or NULL */
    char *fs_owner;     /* its filestore-owner, or NULL */
    char *odoo_db_user; /* db_user of its odoo-conf, or NULL */
    char *odoo_conf;    /* that odoo.conf, or NULL */
    char *addons_path;  /* the env's addons-path or odoo.conf's addons_path, for --neutralize; or NULL */
    char *data_dir;     /* the env's Odoo data_dir (its addons/<series> comes first in the addons path) */
    int exists;
};

static void target_release(struct target *t)
{
    free(t->env);
    free(t->pg);
    free(t->database);
    free(t->filestore);
    free(t->fs_real);
    free(t->pg_bindir);
    free(t->http_port);
    free(t->db_owner);
    free(t->fs_owner);
    free(t->odoo_db_user);
    free(t->odoo_conf);
    free(t->addons_path);
    free(t->data_dir);
    memset(t, 0, sizeof(*t));
}

/* The owner settings of env e, for the restore into t. */
static void target_owners_from(struct target *t, const struct odbk_env *e)
{
    t->sec = e->section;
    t->db_owner = e->db_owner ? odbk_xstrdup(e->db_owner) : NULL;
    t->fs_owner = e->filestore_owner ? odbk_xstrdup(e->filestore_owner) : NULL;
    t->odoo_db_user = e->odoo_db_user ? odbk_xstrdup(e->odoo_db_user) : NULL;
    t->odoo_conf = e->odoo_conf ? odbk_xstrdup(e->odoo_conf) : NULL;
}

static int resolve_target(const struct odbk_config *cfg, const struct odbk_restore_opts *o,
                          const struct odbk_source *s, struct target *t, struct odbk_err *err)
{
    memset(t, 0, sizeof(*t));
    if (o->new_db) {
        struct odbk_env src = {0};
        /* the source's env, when the config has it, gives the server, pg-bindir and filestore parent: one
         * that cannot be read is an error (the defaults could point at another server), not a missing env */
        int have_src = *s->env && odbk_config_find(cfg, "env", s->env);
        if (have_src && odbk_config_env(cfg, s->env, &src, err) < 0) {
            odbk_err_prefix(err, "--new-db takes its server from environment '%s'", s->env);
            return -1;
        }
        if (!odbk_name_is_safe(o->new_db) || strlen(o->new_db) > 50)
            return odbk_err_set(err, ODBK_E_USAGE, "--new-db: '%s' is not a usable database name (at most 50 "
                                "characters, no '/')", o->new_db);
        t->database = odbk_xstrdup(o->new_db);
        t->pg = odbk_xstrdup(o->pg ? o->pg : have_src ? src.pg : "");
        if (have_src) {
            t->pg_bindir = odbk_xstrdup(odbk_config_get(src.section, "pg-bindir"));
            t->http_port = src.http_port ? odbk_xstrdup(src.http_port) : NULL;   /* a copy beside its source */
            target_owners_from(t, &src);
            t->addons_path = src.addons_path ? odbk_xstrdup(src.addons_path) : NULL;
            t->data_dir = odbk_xstrdup(src.data_dir);
        }
        if (!o->no_filestore && s->has_filestore) {
            if (o->filestore) {
                t->filestore = odbk_xstrdup(o->filestore);
            } else if (have_src) {
                char *parent = odbk_dirname(src.filestore);
                t->filestore = odbk_xasprintf("%s/%s", parent, o->new_db);
                free(parent);
            } else {
                odbk_env_release(&src);
                return odbk_err_set(err, ODBK_E_USAGE, "--new-db needs --filestore DIR (or --no-filestore) for a "
                                    "backup whose environment is not in the config");
            }
        }
        odbk_env_release(&src);
        return 0;
    }
    if (!o->to_env && !*s->env) {
        odbk_err_set(err, ODBK_E_USAGE, "'%s' belongs to no environment: name the target", s->label);
        odbk_err_hint(err, "add --to ENV (replaces that environment) or --new-db NAME --filestore DIR");
        return -1;
    }
    {
        struct odbk_env env;
        if (odbk_config_env(cfg, o->to_env ? o->to_env : s->env, &env, err) < 0)
            return -1;
        t->env = odbk_xstrdup(env.name);
        t->pg = odbk_xstrdup(env.pg);
        t->database = odbk_xstrdup(env.database);
        if (!o->no_filestore && s->has_filestore)
            t->filestore = odbk_xstrdup(env.filestore);
        t->pg_bindir = odbk_xstrdup(odbk_config_get(env.section, "pg-bindir"));
        t->http_port = env.http_port ? odbk_xstrdup(env.http_port) : NULL;
        target_owners_from(t, &env);
        t->addons_path = env.addons_path ? odbk_xstrdup(env.addons_path) : NULL;
        t->data_dir = odbk_xstrdup(env.data_dir);
        odbk_env_release(&env);
    }
    return 0;
}

static void audit(struct odbk_catalog *cat, const struct odbk_source *s, const struct target *t,
                  const struct odbk_restore_opts *o, const char *result, const char *detail);

/* --neutralize needs Odoo 16+: refuse early when the source says which series it is, and when the
 * addons path its modules' files would come from is unusable */
static int check_neutralize(const struct odbk_restore_opts *o, const struct odbk_source *s, const struct target *t,
                            struct odbk_err *err)
{
    int major;
    if (o->neutralize && t->addons_path) {
        char **dirs;
        if (odbk_odoo_addons_dirs(t->addons_path, &dirs, err) < 0) {
            odbk_err_prefix(err, "--neutralize");
            return -1;
        }
        odbk_odoo_dirs_free(dirs);
    }
    if (o->neutralize && *s->odoo_series && odbk_odoo_addons_series_check(t->addons_path, s->odoo_series, err) < 0) {
        odbk_err_prefix(err, "--neutralize");
        return -1;
    }
    if (!o->neutralize || !*s->odoo_series || odbk_odoo_can_neutralize(s->odoo_series, &major))
        return 0;
    odbk_err_set(err, ODBK_E_USAGE, "--neutralize: '%s' is an Odoo %s database; neutralization exists from Odoo "
                 "16.0 on", s->label, s->odoo_series);
    odbk_err_hint(err, "restore without --neutralize and disable mail servers and scheduled actions by hand");
    return -1;
}

/* The Odoo series of an existing database ("" when it is not an Odoo database or cannot be read): on c
 * when given (the load role's connection to the loaded database), else connected with conninfo (the
 * target: odbk_odoo_info_read reads catalogs and a plain table only, nothing the database defines runs). */
static char *db_series(PGconn *c, const char *conninfo, const char *db)
{
    PGconn *own = NULL;
    struct odbk_odoo_info info = {0};
    struct odbk_err e = {0};
    char *series = NULL;
    if ((c || odbk_pg_connect(conninfo, db, &own, &e) == 0) && odbk_odoo_info_read(c ? c : own, &info, &e) == 0 &&
        info.is_odoo)
        series = odbk_xstrdup(info.series);
    odbk_odoo_info_release(&info);
    PQfinish(own);
    return series ? series : odbk_xstrdup("");
}

/* A database of one Odoo series does not run on another's code: replacing a target that runs another
 * series than the backup's is refused unless --force (either unknown: nothing to compare). */
static int check_series(const struct odbk_restore_opts *o, const char *label, const char *backup_series,
                        const char *database, const char *target_series, struct odbk_err *err)
{
    if (o->force || !*backup_series || !*target_series || !strcmp(backup_series, target_series))
        return 0;
    odbk_err_set(err, ODBK_E_DATA, "'%s' is a backup of Odoo %s and database '%s' runs Odoo %s: a restore across "
                 "Odoo versions is refused", label, backup_series, database, target_series);
    odbk_err_hint(err, "restore it into a new database (--new-db) and upgrade that, or pass --force to replace "
                  "'%s' anyway", database);
    return -1;
}

/* Say that err came from the env key (odbk.conf:LINE: [env NAME] key: ...), keeping its code and hint. */
static int at_key(const struct target *t, const char *key, struct odbk_err *err)
{
    const struct odbk_config_kv *kv = odbk_config_get_kv(t->sec, key);
    odbk_err_prefix(err, "%s:%d: [env %s] %s", t->sec->file ? t->sec->file : "config", kv ? kv->line : t->sec->line,
                    t->sec->name ? t->sec->name : "", key);
    return -1;
}

/* Who the restored filestore goes to, and the mode of its top folder. */
struct fs_owner {
    int take;           /* give the tree to uid:gid (else the files stay the running user's) */
    uid_t uid;
    gid_t gid;
    mode_t mode;
};

static int in_groups(gid_t gid)
{
    gid_t *groups;
    int i, n, found = gid == getegid();
    if (found || (n = getgroups(0, NULL)) <= 0)
        return found;
    groups = odbk_xcalloc((size_t)n, sizeof(*groups));
    n = getgroups(n, groups);
    for (i = 0; i < n && !found; i++)
        found = groups[i] == gid;
    free(groups);
    return found;
}

/* The restored filestore's owner, the first of: --filestore-owner, the env's filestore-owner, the uid, gid
 * and mode of the folder it replaces, for a new one the owner of its nearest existing parent (mode 0700).
 * Only root can give files away: the rules after the explicit ones need root, and an explicit owner that
 * is not the running user (or a group it is not in) is refused as anyone else (77).  An unknown user or
 * group is 67 naming where it came from.  Nothing is changed here. */
static int filestore_owner(const struct odbk_restore_opts *o, const struct target *t, struct fs_owner *fo,
                           struct odbk_err *err)
{
    const char *spec = o->filestore_owner ? o->filestore_owner : t->fs_owner;
    struct stat sb;
    memset(fo, 0, sizeof(*fo));
    if (!t->filestore)
        return 0;
    /* replaced: its owner and mode (behind a linked filestore, the directory's, not the link's) */
    if (stat(t->fs_real ? t->fs_real : t->filestore, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fo->take = geteuid() == 0;
        fo->uid = sb.st_uid;
        fo->gid = sb.st_gid;
        fo->mode = sb.st_mode & 07777;
    } else {   /* new: as its parent, the first folder up that exists */
        char *p = odbk_dirname(t->filestore);
        while (stat(p, &sb) != 0 && strcmp(p, "/") && strcmp(p, ".")) {
            char *up = odbk_dirname(p);
            free(p);
            p = up;
        }
        fo->take = geteuid() == 0 && stat(p, &sb) == 0;
        fo->uid = sb.st_uid;
        fo->gid = sb.st_gid;
        fo->mode = 0700;
        free(p);
    }
    if (!spec)
        return 0;
    if (odbk_userspec_resolve(spec, &fo->uid, &fo->gid, err) < 0)
        goto refused;
    fo->take = 1;
    if (geteuid() != 0 && fo->uid != geteuid()) {
        odbk_err_set(err, ODBK_E_PERM, "only root can give the restored files to another user than the one "
                     "running odbk-restore (uid %u, '%s' is uid %u)", (unsigned)geteuid(), spec, (unsigned)fo->uid);
        odbk_err_hint(err, "run odbk-restore as root, or name your own user");
        goto refused;
    }
    if (geteuid() != 0 && !in_groups(fo->gid)) {
        odbk_err_set(err, ODBK_E_PERM, "only root can give the restored files to group %u ('%s'): odbk-restore's "
                     "user is not in it", (unsigned)fo->gid, spec);
        odbk_err_hint(err, "run odbk-restore as root, or name a group of your own");
        goto refused;
    }
    return 0;
refused:
    if (o->filestore_owner) {
        odbk_err_prefix(err, "--filestore-owner");
        return -1;
    }
    return at_key(t, "filestore-owner", err);
}

int odbk_restore_describe(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct odbk_restore_opts *o,
                          char **description, struct odbk_err *err)
{
    struct odbk_source s;
    struct target t = {0};
    char what[512];
    int r = -1;
    struct fs_owner fo;
    if (odbk_source_open(cfg, cat, o, &s, err) < 0 || resolve_target(cfg, o, &s, &t, err) < 0 ||
        check_neutralize(o, &s, &t, err) < 0 || filestore_owner(o, &t, &fo, err) < 0)   /* before the prompt */
        goto out;
    if (s.kind == ODBK_SOURCE_CATALOG) {
        char when[32], size[32];
        odbk_time_rfc3339(s.b.created_at, when);
        odbk_fmt_size(s.b.total_size, size);
        snprintf(what, sizeof(what), "backup %s (env %s, %s, %s, format %s)", s.b.id, s.b.env, when, size, s.format);
    } else {
        snprintf(what, sizeof(what), "%s (%s format)", s.label, s.format);
    }
    *description = odbk_xasprintf("Restore %s into database '%s'%s%s%s%s%s.\n%s", what, t.database,
                                  t.filestore ? " and filestore '" : "", t.filestore ? t.filestore : "",
                                  t.filestore ? "'" : "", o->neutralize ? ", neutralized" : "",
                                  o->copy ? ", as a copy (new uuid and secret)" : "",
                                  o->new_db ? "A new database is created." :
                                  "This REPLACES the current database and filestore of the target.");
    r = 0;
out:
    if (r < 0)   /* refused before anything started: still on record */
        audit(cat, &s, &t, o, "refused", err->msg);
    target_release(&t);
    odbk_source_close(&s);
    return r;
}

/* ---- loading ---- */

static enum odbk_compression comp_of(const struct odbk_manifest_file *f)
{
    enum odbk_compression c = ODBK_COMPRESS_NONE;
    if (f && f->compression)
        odbk_compression_parse(f->compression, &c);
    return c;
}

/* Stream one file of the source into sink, decompressing it; progress counts the bytes read from the
 * source (against the manifest's size when there is one). */
int odbk_format_load_file(const struct odbk_format_load *l, const struct odbk_manifest_file *f,
                          struct odbk_writer *sink, const char *phase, struct odbk_err *err)
{
    enum odbk_compression c = comp_of(f);
    struct odbk_writer *dec = c == ODBK_COMPRESS_NONE ? NULL : odbk_filter_decompress_new(c, sink);
    int r = odbk_source_read_phase(l->src, f, dec ? dec : sink, l->report, phase, err);
    odbk_writer_free(dec);
    return r;
}

void odbk_restore_result_release(struct odbk_restore_result *res)
{
    free(res->database);
    free(res->filestore);
    free(res->safety_backup_id);
    free(res->env_block);
    free(res->env);
    free(res->source);
    free(res->skipped_settings);
    odbk_neutralized_release(&res->neutralized);
    memset(res, 0, sizeof(*res));
}

static void audit(struct odbk_catalog *cat, const struct odbk_source *s, const struct target *t,
                  const struct odbk_restore_opts *o, const char *result, const char *detail)
{
    struct odbk_audit a = {0};
    struct odbk_err e;
    char target[512], opts[256], source[600];
    snprintf(target, sizeof(target), "%s%s%s", t->database ? t->database : "?", t->filestore ? " + " : "",
             t->filestore ? t->filestore : "");
    snprintf(opts, sizeof(opts), "%s%s%s%s%s%s%s%s%s", o->new_db ? "new-db" : o->to_env ? "to-env" : "rollback",
             o->from_file ? " from-file" : o->from_url ? " from-url" : "",
             s && s->format ? " format=" : "", s && s->format ? s->format : "",
             o->no_filestore ? " no-filestore" : "", o->no_safety_backup ? " no-safety-backup" : "",
             o->neutralize ? " neutralize" : "", o->copy ? " copy" : "", o->no_acl ? " no-acl" : "");
    snprintf(source, sizeof(source), "%s", s && s->label ? s->label : o->backup_id ? o->backup_id : "?");
    a.action = "restore";
    a.backup_id = s && s->kind == ODBK_SOURCE_CATALOG ? s->b.id : NULL;
    a.env = t->env ? t->env : s && s->env && *s->env ? s->env : NULL;
    a.source = source;
    a.target = target;
    a.options = opts;
    a.result = (char *)result;
    a.detail = (char *)detail;
    odbk_catalog_audit_add(cat, &a, &e);
}

/* What Odoo does to a database it creates besides CREATE DATABASE (odoo/service/db.py, _create_empty_database), done
 * as the load role (so that the dump's COMMENT ON EXTENSION finds its own extension); the statements are
 * best effort, as a server without contrib still restores dumps that do not use it.  Connecting is not:
 * it is where a pg_hba.conf that refuses the load role shows. */
static int odoo_setup(const struct odbk_loadrole *role, const char *conninfo, const char *db, struct odbk_err *err)
{
    PGconn *c = NULL;
    struct odbk_err e;
    if (odbk_loadrole_connect(role, conninfo, db, &c, err) < 0)
        return -1;
    odbk_pg_exec(c, "CREATE EXTENSION IF NOT EXISTS pg_trgm", &e);
    odbk_pg_exec(c, "GRANT CREATE ON SCHEMA public TO PUBLIC", &e);
    PQfinish(c);
    return 0;
}

/* psql knows \restrict from 13.22, 14.19, 15.14, 16.10, 17.6 and 18 on */
static int psql_has_restrict(const char *psql)
{
    char *v = odbk_pg_tool_version(psql);
    const char *p = v ? strstr(v, ") ") : NULL;
    int major = 0, minor = 0, r = 0;
    if (p && sscanf(p + 2, "%d.%d", &major, &minor) >= 1)
        r = major >= 18 || (major == 17 && minor >= 6) || (major == 16 && minor >= 10) ||
            (major == 15 && minor >= 14) || (major == 14 && minor >= 19) || (major == 13 && minor >= 22);
    free(v);
    return r;
}

/* neutralize and copy, on the loaded temporary database, over c: the load role's connection (never the
 * admin's: the statements fire whatever the dump defined) */
static int post_load(const struct odbk_restore_opts *o, const struct odbk_source *s, const struct target *t,
                     PGconn *c, struct odbk_restore_result *res, struct odbk_err *err)
{
    struct odbk_odoo_info info = {0};
    int r = -1, major;
    if (!o->neutralize && !o->copy)
        return 0;
    if (odbk_odoo_info_read(c, &info, err) < 0)
        goto out;
    if (o->neutralize) {
        if (!info.is_odoo || !*info.series) {
            odbk_err_set(err, ODBK_E_DATA, "--neutralize: '%s' is not an Odoo database (no base module)", s->label);
            goto out;
        }
        if (!odbk_odoo_can_neutralize(info.series, &major)) {
            odbk_err_set(err, ODBK_E_USAGE, "--neutralize: '%s' is an Odoo %s database; neutralization exists from "
                         "Odoo 16.0 on", s->label, info.series);
            odbk_err_hint(err, "restore without --neutralize and disable mail servers and scheduled actions by hand");
            goto out;
        }
        char *addons;
        int done;
        if (odbk_odoo_addons_series_check(t->addons_path, info.series, err) < 0) {
            odbk_err_prefix(err, "--neutralize");
            goto out;
        }
        addons = odbk_odoo_addons_path_of(t->addons_path, t->data_dir, info.series);
        done = odbk_odoo_neutralize(c, addons, &res->neutralized, err);
        free(addons);
        if (done < 0)
            goto out;
        res->neutralize_done = 1;
    }
    if (o->copy && odbk_odoo_copy(c, t->http_port, err) < 0)
        goto out;
    r = 0;
out:
    odbk_odoo_info_release(&info);
    return r;
}

/* What is done to the loaded database before it is handed over (series check, neutralize, copy), all on
 * one connection as the load role, which owns it and has no right beyond it. */
static int after_load(const struct odbk_restore_opts *o, const struct odbk_source *s, const struct target *t,
                      const struct odbk_loadrole *role, const char *tmpdb, const char *target_series,
                      struct odbk_restore_result *res, struct odbk_err *err)
{
    PGconn *c = NULL;
    int r = -1;
    if (!(target_series && *target_series) && !o->neutralize && !o->copy)
        return 0;
    if (odbk_loadrole_connect(role, t->pg, tmpdb, &c, err) < 0)
        return -1;
    if (target_series && *target_series) {
        char *loaded = db_series(c, NULL, NULL);
        int bad = check_series(o, s->label, loaded, t->database, target_series, err);
        free(loaded);
        if (bad < 0)
            goto out;
    }
    r = post_load(o, s, t, c, res, err);
out:
    PQfinish(c);
    return r;
}

/* The load role, and the temporary database it owns, set up as Odoo would (*created once it exists). */
static int create_tmp_db(PGconn *pg, const char *conninfo, const char *db, struct odbk_loadrole *role, int *created,
                         struct odbk_err *err)
{
    if (odbk_loadrole_create(pg, role, err) < 0 || odbk_pg_create_database(pg, db, err) < 0)
        return -1;
    *created = 1;
    if (odbk_loadrole_own(pg, role, db, err) < 0 || odoo_setup(role, conninfo, db, err) < 0)
        return -1;
    return 0;
}

static int dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    int empty = 1;
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            empty = 0;
    if (d)
        closedir(d);
    return empty;
}

/* The first statement psql runs, before any of the file: the load fails closed unless it runs as the
 * load role, a role without superuser (whatever a service file, PGUSER or a future way of connecting
 * says). */
static int assert_load_role(struct odbk_writer *psql, const struct odbk_loadrole *role, struct odbk_err *err)
{
    char *sql = odbk_xasprintf("DO $odbk$ BEGIN IF session_user::text OPERATOR(pg_catalog.<>) '%s' OR "
                               "current_user::text OPERATOR(pg_catalog.<>) '%s' OR (SELECT rolsuper FROM "
                               "pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) current_user) THEN "
                               "RAISE EXCEPTION 'odbk: the load runs as %%, not as its load role %s', session_user; "
                               "END IF; END $odbk$;\n", role->name, role->name, role->name);
    int r = odbk_writer_write(psql, sql, strlen(sql), err);
    free(sql);
    return r;
}

int odbk_format_load_psql(const struct odbk_format_load *l, const char *label, struct odbk_writer **sink,
                          struct odbk_writer **check, struct odbk_err *err)
{
    char *userarg = odbk_xasprintf("--username=%s", l->role->name), *dbarg = odbk_xasprintf("--dbname=%s", l->tmpdb);
    char *argv[] = {(char *)l->tool, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "--no-password", userarg,
                    dbarg, NULL};
    char key[33];
    int r;
    odbk_random_alnum(key, 32);
    *check = NULL;
    /* psql's own \restrict is the guard that holds whatever its lexer and the filter's disagree on (client
     * encodings, a newer psql's rules): without it a plain-SQL file is not loaded */
    if (!psql_has_restrict(l->tool)) {
        char *v = odbk_pg_tool_version(l->tool);
        odbk_err_set(err, ODBK_E_UNAVAILABLE, "'%s' (%s) cannot load a plain-SQL dump safely: it has no \\restrict",
                     l->tool, v ? v : "version unknown");
        odbk_err_hint(err, "update postgresql-client to 13.22, 14.19, 15.14, 16.10, 17.6 or later (or point "
                           "pg-bindir at such a psql); custom-format dumps load with pg_restore");
        free(v);
        free(userarg);
        free(dbarg);
        return -1;
    }
    r = odbk_exec_sink_new(argv, l->child_env, sink, err);
    free(userarg);
    free(dbarg);
    if (r == 0)
        r = assert_load_role(*sink, l->role, err);
    if (r < 0)
        return -1;
    /* the file is data: no meta-command of it reaches psql (sqlcheck.h) */
    *check = odbk_filter_sqlcheck_for_server(*sink, label, key, l->no_acl ? ODBK_SQLCHECK_NO_ACL : 0,
                                             l->server_version, l->notes);
    return 0;
}

/* Load the source into tmpdb (and tmpfs, when not NULL) with its format's loader; *fs_loaded tells
 * whether a filestore came. */
static int load(struct odbk_source *s, const struct target *t, const char *tmpdb, const char *tmpfs,
                const struct stat *tmpfs_id, PGconn *admin, const struct odbk_loadrole *role,
                const struct odbk_restore_opts *o, const struct odbk_report *report, int *fs_loaded, struct odbk_sqlcheck_notes *notes,
                struct odbk_err *err)
{
    struct odbk_format_load l = {0};
    char *tool = NULL;
    int r = -1;

    *fs_loaded = 0;
    l.src = s;
    l.child_env = odbk_loadrole_child_env(role, admin, tmpdb);
    l.role = role;
    l.tmpdb = tmpdb;
    l.tmpfs = tmpfs;
    l.tmpfs_id = tmpfs_id;
    l.report = report;
    l.no_acl = o->no_acl;
    l.server_version = PQserverVersion(admin);
    l.notes = notes;
    if (odbk_pg_tool(PQserverVersion(admin), s->fmt->loader, t->pg_bindir, &tool, err) == 0) {
        l.tool = tool;
        r = s->fmt->load(&l, err);
        *fs_loaded = l.fs_loaded;
    }
    if (r < 0 && notes && *notes->skipped) {
        /* the error is the server's; say what odbk left out of the file before it */
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof(err->msg) - n, " (left out before it, as settings this PostgreSQL %d does "
                 "not know, from a newer pg_dump: %s)", l.server_version / 10000, notes->skipped);
    }
    odbk_pg_env_free(l.child_env);
    free(tool);
    return r;
}

/* The role that gets the restored database and every object in it, the first of: --db-owner, the env's
 * db-owner, the owner of the database it replaces (owners kept), the db_user of the env's odoo.conf (the
 * role Odoo connects as), the connecting user.  Never a superuser: the backup's SECURITY DEFINER functions
 * and views run as their owner.  A role that does not exist is 67, naming where it came from. */
static int restored_owner(PGconn *pg, const struct odbk_restore_opts *o, const struct target *t, char **owner,
                          struct odbk_err *err)
{
    enum { OPTION, KEY, KEPT, ODOO_CONF, CONNECTED } from;
    *owner = NULL;
    if (o->db_owner) {
        from = OPTION;
        *owner = odbk_xstrdup(o->db_owner);
    } else if (t->db_owner) {
        from = KEY;
        *owner = odbk_xstrdup(t->db_owner);
    } else if (t->exists) {
        from = KEPT;
        if (odbk_pg_value(pg, "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database "
                          "WHERE datname OPERATOR(pg_catalog.=) $1", t->database, owner, err) < 0)
            return -1;
    } else if (t->odoo_db_user) {
        from = ODOO_CONF;
        *owner = odbk_xstrdup(t->odoo_db_user);
    } else {
        from = CONNECTED;
        if (odbk_pg_value(pg, "SELECT current_user::text", NULL, owner, err) < 0)
            return -1;
    }
    if (!*owner)
        return odbk_err_set(err, ODBK_E_SOFTWARE, "cannot tell who owns database '%s'", t->database);
    if (odbk_loadrole_owner_check(pg, *owner, err) == 0)
        return 0;
    switch (from) {
    case OPTION:
        odbk_err_prefix(err, "--db-owner");
        break;
    case KEY:
        if (err->code == ODBK_E_NOUSER)
            odbk_err_hint(err, "create the role (CREATE ROLE %s) or set db-owner to one of this server", *owner);
        else
            odbk_err_hint(err, "set db-owner to a role without superuser (the role Odoo connects as)");
        return at_key(t, "db-owner", err);
    case ODOO_CONF:
        odbk_err_prefix(err, "db_user of %s", t->odoo_conf);
        odbk_err_hint(err, "%s, or name the owner with --db-owner or db-owner in [env %s]",
                      err->code == ODBK_E_NOUSER ? "create the role" : "a superuser may not own it",
                      t->sec->name ? t->sec->name : "");
        break;
    case KEPT:
    case CONNECTED:
        if (err->code != ODBK_E_USAGE)
            break;
        odbk_err_set(err, ODBK_E_USAGE, "the restored database would belong to %s '%s', a superuser: the backup's "
                     "functions and views would then run with superuser rights",
                     from == KEPT ? "its owner" : "the connecting user", *owner);
        odbk_err_hint(err, "pass --db-owner ROLE (or set db-owner in the env), a role without superuser (the role "
                      "Odoo connects as)");
        break;
    }
    return -1;
}

/* The target filestore resolved once, before anything is made: a filestore that is a link (an admin put it
 * on another disk) is restored behind its link, the staging directory next to the data (same filesystem),
 * and every later step works on that directory, whatever the link is changed to meanwhile. */
static int resolve_filestore(struct target *t, struct odbk_err *err)
{
    struct stat sb;
    char *parent, *real;
    const char *base;
    if (!t->filestore)
        return 0;
    if (lstat(t->filestore, &sb) != 0) {   /* not there yet: its folder resolved, when that exists */
        parent = odbk_dirname(t->filestore);
        base = strrchr(t->filestore, '/');
        real = realpath(parent, NULL);
        t->fs_real = real ? odbk_xasprintf("%s/%s", strcmp(real, "/") ? real : "", base ? base + 1 : t->filestore)
                          : odbk_xstrdup(t->filestore);
        free(real);
        free(parent);
        return 0;
    }
    if (!(real = realpath(t->filestore, NULL))) {
        char to[4096];
        ssize_t n = readlink(t->filestore, to, sizeof to - 1);
        to[n > 0 ? n : 0] = '\0';
        if (!S_ISLNK(sb.st_mode))
            return odbk_err_sys(err, ODBK_E_IO, "cannot resolve the filestore '%s'", t->filestore);
        odbk_err_set(err, ODBK_E_NOINPUT, "filestore '%s' is a symbolic link to '%s', which does not exist",
                     t->filestore, to);
        odbk_err_hint(err, "mount or create what the link points to (the restore goes behind the link), or "
                      "remove the link");
        return -1;
    }
    t->fs_real = odbk_xstrdup(real);
    free(real);
    return 0;
}

static int restore(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct odbk_restore_opts *o,
                   struct odbk_report *report, struct odbk_restore_result *res, struct odbk_err *err)
{
    struct odbk_source s;
    struct target t = {0};
    PGconn *pg = NULL;
    struct odbk_loadrole role = {0};
    char *owner = NULL;   /* of the restored database (restored_owner) */
    struct fs_owner fo;   /* of the restored filestore (filestore_owner) */
    struct odbk_swap sw = {0};
    struct stat tmp_id;   /* the temporary directory, as made */
    char *target_series = NULL;
    struct odbk_sqlcheck_notes notes = {{0}};
    int r = -1, created_db = 0, fs_loaded = 0, audited = 0;

    memset(res, 0, sizeof(*res));
    if (odbk_source_open(cfg, cat, o, &s, err) < 0)
        goto out;
    res->source = odbk_xstrdup(s.label);
    if (resolve_target(cfg, o, &s, &t, err) < 0 || check_neutralize(o, &s, &t, err) < 0 ||
        resolve_filestore(&t, err) < 0)
        goto fail;
    res->env = t.env ? odbk_xstrdup(t.env) : NULL;
    odbk_report_set_env(report, t.env);
    odbk_report_set_backup(report, s.id);

    if (odbk_pg_connect(t.pg, "postgres", &pg, err) < 0)
        goto fail;
    odbk_loadrole_cleanup(pg);
    if (odbk_pg_database_exists(pg, t.database, &t.exists, err) < 0)
        goto fail;
    if (o->new_db && t.exists) {
        odbk_err_set(err, ODBK_E_USAGE, "database '%s' already exists", t.database);
        odbk_err_hint(err, "pick another --new-db name, or restore over an environment with --to ENV");
        goto fail;
    }
    if (o->new_db && t.filestore && !dir_is_empty(t.filestore)) {
        odbk_err_set(err, ODBK_E_USAGE, "filestore directory '%s' already exists and is not empty", t.filestore);
        odbk_err_hint(err, "pick another --filestore DIR");
        goto fail;
    }

    /* who owns the restored database and its objects (never a superuser), and its files */
    if (restored_owner(pg, o, &t, &owner, err) < 0 || filestore_owner(o, &t, &fo, err) < 0)
        goto fail;

    /* the target's Odoo series, compared with the backup's before anything is done, and again with what
     * was actually loaded (an Odoo zip or dump carries no odbk manifest) */
    if (t.exists && !o->new_db) {
        target_series = db_series(NULL, t.pg, t.database);
        if (check_series(o, s.label, s.odoo_series, t.database, target_series, err) < 0)
            goto fail;
    }

    /* the safety backup of what is about to be replaced */
    if (t.env && t.exists && !o->no_safety_backup) {
        struct odbk_create_opts co = {0};
        struct odbk_report_prefix safety = {o->progress, o->progress_ctx, "safety backup"};
        struct odbk_backup sb;
        co.type = "pre-restore";
        co.level = -1;
        co.no_filestore = t.filestore == NULL;
        co.comment = s.label;
        if (o->progress) {   /* its phases are labelled "safety backup: database", ... */
            co.progress = odbk_report_prefixed;
            co.progress_ctx = &safety;
        }
        int made = odbk_backup_create(cfg, cat, t.env, &co, &sb, err);
        if (made < 0 || made == 2) {   /* 2: not started, a collection holds the env */
            odbk_err_prefix(err, "the safety backup of '%s' failed, nothing was restored", t.env);
            odbk_err_hint(err, "fix the cause, or pass --no-safety-backup to restore without one");
            goto fail;
        }
        res->safety_backup_id = odbk_xstrdup(sb.id);
        odbk_backup_release(&sb);
        /* made but not fully done: a read-back the store did not answer leaves it complete, and it serves;
         * a stop signal or a catalog that cannot record it ends the restore before anything is replaced */
        if (made > 0 && !odbk_interrupted() && err->code == ODBK_E_TEMPFAIL)
            odbk_err_clear(err);
        else if (made > 0) {
            odbk_err_prefix(err, "nothing was restored");
            goto fail;
        }
    }

    /* load into temporaries, recorded before they exist */
    if (odbk_swap_begin(cat, pg, t.env, t.pg, t.database, t.fs_real, &sw, err) < 0)
        goto fail;
    if (create_tmp_db(pg, t.pg, sw.row.tmp_db, &role, &created_db, err) < 0)
        goto fail;
    if (t.fs_real) {
        char *parent = odbk_dirname(t.fs_real);
        struct stat sb;
        if (stat(parent, &sb) != 0) {
            /* a new parent goes to the new filestore's owner, so that Odoo can make its other ones there */
            if (mkdir(parent, 0750) != 0 || (fo.take && lchown(parent, fo.uid, fo.gid) != 0)) {
                odbk_err_sys(err, ODBK_E_IO, "cannot create '%s'", parent);
                free(parent);
                goto fail;
            }
        }
        free(parent);
        if (odbk_swap_make_dir(&sw, err) < 0)
            goto fail;
        odbk_pause_point("pause-before-load");   /* test-only: the staging folder swapped before the load */
    }
    if (load(&s, &t, sw.row.tmp_db, sw.row.tmp_dir, odbk_swap_dir_id(&sw, &tmp_id), pg, &role, o, report,
             &fs_loaded, &notes, err) < 0) {
        odbk_err_prefix(err, "loading %s failed, the target is unchanged", s.label);
        if (strstr(err->msg, "ERROR:  role \"") && strstr(err->msg, "\" does not exist"))
            odbk_err_hint(err, "the backup grants rights to or names a role this server lacks (named above): "
                               "create that role (CREATE ROLE name NOLOGIN) and restore again, or restore with "
                               "--no-acl to leave the backup's GRANT and REVOKE out");
        goto fail;
    }
    if (*notes.skipped)
        res->skipped_settings = odbk_xstrdup(notes.skipped);
    if (after_load(o, &s, &t, &role, sw.row.tmp_db, target_series, res, err) < 0) {
        odbk_err_prefix(err, "the target is unchanged");
        goto fail;
    }
    if (odbk_loadrole_hand_over(&role, t.pg, sw.row.tmp_db, owner, pg, err) < 0) {
        odbk_err_prefix(err, "the target is unchanged");
        goto fail;
    }
    if (sw.row.tmp_dir && !fs_loaded && s.fmt->filestore == ODBK_FORMAT_FS_INSIDE) {
        /* an Odoo zip without filestore: the target keeps its directory (Odoo would not touch it either) */
        struct odbk_err e2;
        struct stat id;
        odbk_rmtree_expect(sw.row.tmp_dir, odbk_swap_dir_id(&sw, &id), &e2);
        odbk_swap_forget_dir(&sw);
        free(t.filestore);
        free(t.fs_real);
        t.filestore = t.fs_real = NULL;
    }

    if (sw.row.tmp_dir && fo.take) {
        struct stat id;
        odbk_pause_point("pause-before-owner");   /* test-only: the Odoo user's moment to swap the folder */
        if (odbk_tree_take_owner_expect(sw.row.tmp_dir, fo.uid, fo.gid, fo.mode, odbk_swap_dir_id(&sw, &id),
                                        err) < 0) {
            odbk_err_prefix(err, "the target is unchanged");
            goto fail;
        }
    }

    /* swap, database and filestore as one journaled step; a stop that arrived since the load is the last
     * one that leaves the target as it was */
    if (odbk_interrupted()) {
        odbk_interrupt_err(err);
        odbk_err_prefix(err, "the target is unchanged");
        goto fail;
    }
    if (odbk_swap_run(&sw, err) < 0)
        goto fail;
    created_db = 0;
    if (odbk_failpoint("restore-swapped-sigterm"))
        raise(SIGTERM);   /* test-only: a stop request arriving once the swap is done */
    res->database = odbk_xstrdup(t.database);
    res->filestore = t.filestore ? odbk_xstrdup(t.filestore) : NULL;
    if (o->new_db) {   /* pg = always: the server it was created on, named even when libpq's defaults found it;
                        * a password belongs in ~/.pgpass, not the config */
        char *server = *t.pg ? odbk_pg_conninfo_public(t.pg) : odbk_pg_conninfo_of(pg);
        res->env_block = odbk_xasprintf("[env %s]\ndatabase = %s\n%s%s%spg = %s\n%s%s%s", t.database, t.database,
                                        t.filestore ? "filestore = " : "", t.filestore ? t.filestore : "",
                                        t.filestore ? "\n" : "", server,
                                        s.kind == ODBK_SOURCE_CATALOG ? "storage = " : "",
                                        s.kind == ODBK_SOURCE_CATALOG ? s.b.storage : "",
                                        s.kind == ODBK_SOURCE_CATALOG ? "\n" : "");
        free(server);
    }
    {
        char detail[256];
        snprintf(detail, sizeof(detail), "%s%s", res->safety_backup_id ? "safety backup " : "",
                 res->safety_backup_id ? res->safety_backup_id : "");
        audit(cat, &s, &t, o, "ok", *detail ? detail : NULL);
    }
    audited = 1;
    r = 0;
    goto out;

fail:
    r = -1;
    if (pg) {
        odbk_swap_abort(&sw, created_db);
        odbk_loadrole_drop(pg, &role);   /* after its database: it owns nothing else */
    }
out:
    if (r < 0 && !audited)
        audit(cat, &s, &t, o, "failed", err->msg);
    if (r < 0 && res->safety_backup_id && !strstr(err->hint, "safety"))
        odbk_err_hint(err, "the safety backup %s holds the state before this restore", res->safety_backup_id);
    free(owner);
    odbk_swap_release(&sw);
    free(target_series);
    if (pg)
        PQfinish(pg);
    target_release(&t);
    odbk_source_close(&s);
    return r;
}

int odbk_backup_restore(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct odbk_restore_opts *o,
                        struct odbk_restore_result *res, struct odbk_err *err)
{
    struct odbk_report report;
    odbk_report_run_begin(&report, o->progress, o->progress_ctx, o->to_env ? o->to_env : o->latest_env,
                          o->backup_id);
    return odbk_report_run_end(&report, restore(cfg, cat, o, &report, res, err), 0, err);
}

/* ---- odbk-restore --test: restore into a scratch copy and compare with what the backup recorded ---- */

static int whole_count(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 9e15 &&
           v->valuedouble == (double)(int64_t)v->valuedouble;
}

/* The manifest's "tables" as the result's rows (restored -1 until counted). */
static int expected_tables(const struct odbk_source *s, struct odbk_test_result *res, struct odbk_err *err)
{
    cJSON *o = cJSON_Parse(s->m.tables_json), *v;
    size_t n = 0;
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return odbk_err_set(err, ODBK_E_DATA, "the manifest of '%s' has a 'tables' that is not an object", s->label);
    }
    res->tables = odbk_xcalloc((size_t)cJSON_GetArraySize(o) + 1, sizeof(*res->tables));
    cJSON_ArrayForEach(v, o)
    {
        if (!v->string || !*v->string || !whole_count(v)) {
            odbk_err_set(err, ODBK_E_DATA, "the manifest of '%s' has a row count that is not a whole number "
                         "(table '%s')", s->label, v->string ? v->string : "");
            cJSON_Delete(o);
            return -1;
        }
        res->tables[n].table = odbk_xstrdup(v->string);
        res->tables[n].expected = (int64_t)v->valuedouble;
        res->tables[n].restored = -1;
        res->n_tables = ++n;
    }
    cJSON_Delete(o);
    return 0;
}

/* Rows of each table in the scratch database: the table is found by its name as pg_dump wrote it (a
 * parameter, never SQL text), its own rows only (COPY holds no child table's), row security off so that a
 * policy cannot hide rows.  A table that is not there keeps restored -1.  Counted as the load role, which
 * owns the scratch database (whatever the backup defined runs with no more rights than its load had), with
 * pg_catalog's functions only. */
static int count_tables(const struct odbk_loadrole *role, const char *conninfo, const char *db,
                        struct odbk_test_result *res, struct odbk_err *err)
{
    PGconn *c = NULL;
    size_t i;
    int r = -1;
    if (odbk_loadrole_connect(role, conninfo, db, &c, err) < 0)
        return -1;
    if (odbk_pg_exec(c, "SET search_path = pg_catalog, pg_temp; SET row_security = off", err) < 0)
        goto out;
    for (i = 0; i < res->n_tables; i++) {
        struct odbk_test_table *t = &res->tables[i];
        struct odbk_err e2 = {0};
        char *q = NULL, *n = NULL, *sql;
        if (odbk_interrupted()) {
            odbk_interrupt_err(err);
            goto out;
        }
        /* a name to_regclass cannot parse is a table that is not there */
        if (odbk_pg_value(c, "SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) "
                          "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                          "WHERE c.oid = pg_catalog.to_regclass($1) AND c.relkind IN ('r', 'p')", t->table, &q,
                          &e2) < 0 || !q)
            continue;
        sql = odbk_xasprintf("SELECT pg_catalog.count(*) FROM ONLY %s", q);
        if (odbk_pg_value(c, sql, NULL, &n, err) == 0 && n)
            t->restored = strtoll(n, NULL, 10);
        free(sql);
        free(q);
        if (!n)
            goto out;
        free(n);
    }
    r = 0;
out:
    PQfinish(c);
    return r;
}

struct fs_check {
    struct odbk_test_result *res;
    char *buf;
};

/* Is the content of `full` what its Odoo name ("ab/ab12…", 40 hex digits of SHA-1) says? 1 yes, 0 no. */
static int sha1_matches(const char *full, const char *hex, char *buf, struct odbk_err *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;
    char got[2 * EVP_MAX_MD_SIZE + 1];
    ssize_t n;
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r = -1;
    if (fd < 0 || !ctx || EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1) {
        odbk_err_sys(err, ODBK_E_IO, "cannot read '%s'", full);
        goto out;
    }
    while ((n = read(fd, buf, 1 << 20)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
            odbk_err_sys(err, ODBK_E_IO, "cannot read '%s'", full);
            goto out;
        }
    }
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
        odbk_err_set(err, ODBK_E_SOFTWARE, "SHA-1 failed");
        goto out;
    }
    for (i = 0; i < mdlen; i++)
        snprintf(got + 2 * i, 3, "%02x", md[i]);
    r = !strcmp(got, hex);
out:
    if (fd >= 0)
        close(fd);
    EVP_MD_CTX_free(ctx);
    return r;
}

/* Odoo's filestore names a file by the SHA-1 of its content: "ab/ab3f…" (40 lowercase hex digits). */
static const char *odoo_sha1_name(const char *rel)
{
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    if (strlen(base) != 40 || strspn(base, "0123456789abcdef") != 40 || base - rel < 3 ||
        memcmp(base - 3, base, 2) || base[-1] != '/')
        return NULL;
    return base;
}

static int fs_entry(void *ctx, const char *rel, const char *full, const struct stat *sb, struct odbk_err *err)
{
    struct fs_check *f = ctx;
    struct odbk_test_result *res = f->res;
    const char *hex;
    int ok;
    if (odbk_interrupted())
        return odbk_interrupt_err(err);
    if (!sb || !S_ISREG(sb->st_mode))
        return 0;
    res->fs_files++;
    res->fs_bytes += (int64_t)sb->st_size;
    if (!(hex = odoo_sha1_name(rel)))
        return 0;
    if ((ok = sha1_matches(full, hex, f->buf, err)) < 0)
        return -1;
    res->fs_named++;
    if (!ok && !res->fs_bad++)
        res->fs_first_bad = odbk_xstrdup(rel);
    return 0;
}

static int check_filestore(const char *dir, struct odbk_test_result *res, struct odbk_err *err)
{
    struct fs_check f = {res, odbk_xmalloc(1 << 20)};
    int r;
    res->fs_files = res->fs_bytes = 0;
    r = odbk_walk(dir, fs_entry, &f, err);
    free(f.buf);
    return r;
}

/* The first difference, as the one-line error; 0 when there is none. */
static int test_verdict(const struct odbk_test_result *res, struct odbk_err *err)
{
    size_t i;
    for (i = 0; i < res->n_tables; i++) {
        const struct odbk_test_table *t = &res->tables[i];
        if (t->restored == t->expected)
            continue;
        if (t->restored < 0)
            odbk_err_set(err, ODBK_E_DATA, "table '%s' is missing from the restored copy of '%s' (the backup "
                         "recorded %lld rows)", t->table, res->source, (long long)t->expected);
        else
            odbk_err_set(err, ODBK_E_DATA, "row count mismatch in table '%s': the backup recorded %lld rows, the "
                         "restored copy of '%s' has %lld", t->table, (long long)t->expected, res->source,
                         (long long)t->restored);
        break;
    }
    if (i == res->n_tables && res->fs_compared && (res->fs_files != res->fs_files_expected ||
                                                   res->fs_bytes != res->fs_bytes_expected))
        odbk_err_set(err, ODBK_E_DATA, "filestore mismatch: the backup recorded %lld files (%lld bytes), the "
                     "restored copy of '%s' has %lld files (%lld bytes)", (long long)res->fs_files_expected,
                     (long long)res->fs_bytes_expected, res->source, (long long)res->fs_files,
                     (long long)res->fs_bytes);
    else if (i == res->n_tables && res->fs_bad)
        odbk_err_set(err, ODBK_E_DATA, "filestore file '%s' of '%s' does not hold what its name (the SHA-1 of its "
                     "content) says%s", res->fs_first_bad, res->source, res->fs_bad > 1 ? ", nor do others" : "");
    if (!res->mismatches)
        return 0;
    odbk_err_hint(err, "the backup does not restore to what was backed up: make a new backup and keep this one "
                  "for inspection");
    return -1;
}

static void test_audit(struct odbk_catalog *cat, const struct odbk_source *s, const struct odbk_test_result *res,
                       const char *result, const char *detail)
{
    struct odbk_audit a = {0};
    struct odbk_err e;
    a.action = "restore-test";
    a.backup_id = s->kind == ODBK_SOURCE_CATALOG ? s->b.id : NULL;
    a.env = *s->env ? s->env : NULL;
    a.source = s->label;
    a.target = res->scratch_db;
    a.result = (char *)result;
    a.detail = (char *)detail;
    odbk_catalog_audit_add(cat, &a, &e);
}

static int restore_test(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct odbk_restore_opts *o,
                        struct odbk_report *report, struct odbk_test_result *res, struct odbk_err *err)
{
    struct odbk_source s;
    struct target t = {0};
    PGconn *pg = NULL;
    struct odbk_loadrole role = {0};
    struct odbk_swap sw = {0};
    struct stat tmp_id;
    struct odbk_restore_opts lo = *o;
    char *dir_base = NULL;
    int r = -1, created_db = 0, fs_loaded = 0;
    size_t i;

    memset(res, 0, sizeof(*res));
    res->fs_files = res->fs_bytes = res->fs_files_expected = res->fs_bytes_expected = -1;
    if (odbk_source_open(cfg, cat, o, &s, err) < 0)
        goto out;
    res->source = odbk_xstrdup(s.label);
    res->env = odbk_xstrdup(s.env);
    res->format = odbk_xstrdup(s.format);
    odbk_report_set_env(report, s.env);
    odbk_report_set_backup(report, s.id);
    if (!s.has_manifest || !s.m.tables_json) {
        char none[64];
        snprintf(none, sizeof(none), "a %s-format backup records none", s.format);
        odbk_err_set(err, ODBK_E_DATA, "'%s' records no row counts to compare with: %s", s.label,
                     !s.has_manifest ? "an Odoo file carries none" : !s.fmt->counts_rows ? none :
                     "it was made before odbk recorded them");
        odbk_err_hint(err, "make a new backup (odbk-create %s) and test that; odbk-list --verify reads this one's "
                      "stored bytes back", *s.env ? s.env : "ENV");
        goto fail;
    }
    if (expected_tables(&s, res, err) < 0 || resolve_target(cfg, o, &s, &t, err) < 0)
        goto fail;
    res->database = odbk_xstrdup(t.database);
    if (t.filestore) {
        const char *tmp = odbk_getenv("TMPDIR");
        char *base = strrchr(t.database, '/');
        dir_base = odbk_xasprintf("%s/%s", tmp && *tmp == '/' ? tmp : "/tmp", base ? base + 1 : t.database);
        res->fs_compared = 1;
        res->fs_files_expected = s.m.fs_files < 0 ? 0 : s.m.fs_files;
        res->fs_bytes_expected = s.m.fs_bytes < 0 ? 0 : s.m.fs_bytes;
    }

    if (odbk_pg_connect(t.pg, "postgres", &pg, err) < 0)
        goto fail;
    odbk_loadrole_cleanup(pg);
    /* the scratch copy, recorded before it exists: a run killed outright has it dropped by the next one */
    if (odbk_swap_begin_scratch(cat, pg, t.env, t.pg, t.database, dir_base, &sw, err) < 0)
        goto fail;
    res->scratch_db = odbk_xstrdup(sw.row.tmp_db);
    res->scratch_dir = sw.row.tmp_dir ? odbk_xstrdup(sw.row.tmp_dir) : NULL;
    if (create_tmp_db(pg, t.pg, sw.row.tmp_db, &role, &created_db, err) < 0)
        goto fail;
    if (sw.row.tmp_dir && odbk_swap_make_dir(&sw, err) < 0) {
        odbk_swap_forget_dir(&sw);   /* not ours: never removed */
        goto fail;
    }
    lo.neutralize = lo.copy = 0;
    if (load(&s, &t, sw.row.tmp_db, sw.row.tmp_dir, odbk_swap_dir_id(&sw, &tmp_id), pg, &role, &lo, report,
             &fs_loaded, NULL, err) < 0) {
        odbk_err_prefix(err, "loading %s into the scratch database failed", s.label);
        goto fail;
    }
    odbk_crash_point("test-loaded");
    if (odbk_failpoint("test-sigterm"))
        raise(SIGTERM);   /* test-only: a stop request arriving now (the handler only records it) */
    if (count_tables(&role, t.pg, sw.row.tmp_db, res, err) < 0 ||
        (sw.row.tmp_dir && check_filestore(sw.row.tmp_dir, res, err) < 0)) {
        odbk_err_prefix(err, "comparing the scratch copy of %s failed", s.label);
        goto fail;
    }
    for (i = 0; i < res->n_tables; i++)
        res->mismatches += res->tables[i].restored != res->tables[i].expected;
    if (res->fs_compared)
        res->mismatches += (res->fs_files != res->fs_files_expected) + (res->fs_bytes != res->fs_bytes_expected) +
                           res->fs_bad;
    r = test_verdict(res, err);
    res->compared = 1;

fail:
    if (pg) {
        int exists = 1;
        struct odbk_err e2;
        odbk_swap_abort(&sw, created_db);
        odbk_loadrole_drop(pg, &role);
        res->cleaned = !res->scratch_db || (odbk_pg_database_exists(pg, res->scratch_db, &exists, &e2) == 0 && !exists &&
                                            (!res->scratch_dir || access(res->scratch_dir, F_OK) != 0));
        if (!res->cleaned && r == 0) {
            odbk_err_set(err, ODBK_E_IO, "the scratch copy '%s' could not be dropped", res->scratch_db);
            odbk_err_hint(err, "the next odbk run on this host drops it");
            r = -1;
        }
    }
    test_audit(cat, &s, res, r == 0 ? "ok" : res->compared ? "mismatch" : "failed", r == 0 ? NULL : err->msg);
out:
    free(dir_base);
    odbk_swap_release(&sw);
    if (pg)
        PQfinish(pg);
    target_release(&t);
    odbk_source_close(&s);
    return r;
}

int odbk_backup_test(const struct odbk_config *cfg, struct odbk_catalog *cat, const struct odbk_restore_opts *o,
                     struct odbk_test_result *res, struct odbk_err *err)
{
    struct odbk_report report;
    odbk_report_run_begin(&report, o->progress, o->progress_ctx, o->latest_env, o->backup_id);
    return odbk_report_run_end(&report, restore_test(cfg, cat, o, &report, res, err), 0, err);
}

void odbk_test_result_release(struct odbk_test_result *res)
{
    size_t i;
    for (i = 0; i < res->n_tables; i++)
        free(res->tables[i].table);
    free(res->tables);
    free(res->source);
    free(res->env);
    free(res->format);
    free(res->database);
    free(res->scratch_db);
    free(res->scratch_dir);
    free(res->fs_first_bad);
    memset(res, 0, sizeof(*res));
}
