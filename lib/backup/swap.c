/* swap.c - a restore's temporaries and its journaled swap (swap.h).
 *
 * Each restore records its temporaries (tmp database and directory, then the names the targets go
 * aside to) in the catalog's restore_temps before it creates them, with host, pid and the pid's start
 * time.  The row's step is the swap journal: LOADING until the load finished, JOURNALED just before the
 * first rename, then one step per rename.  odbk_restore_recover, run at the start of every program that
 * writes (the programs that only report count the rows, odbk_restore_pending, and touch nothing), looks
 * only at rows of this host whose process is gone: a LOADING one has its temporaries dropped; a later
 * one is completed (the load had finished), database and directory both, and only then are the originals
 * dropped.  Nothing is ever dropped because of its name alone.
 *
 * The row keeps no secret: its conninfo is stored without password, and recovery connects with its env's
 * conninfo from the config when it has one.  A recovering program claims the row first (one UPDATE that
 * only succeeds while the claim is the one it read), so two programs starting at once never both act on
 * one row; a claim whose process is gone is taken over. */
#include "backup/swap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup.h"
#include "common/util.h"
#include "pg/loadrole.h"
#include "pg/pg.h"

static int path_exists(const char *p)
{
    struct stat sb;
    return p && lstat(p, &sb) == 0;
}

/* The journal's device and inode as a struct stat for odbk_same_file, or NULL when none was recorded. */
static const struct stat *id_of(unsigned long long dev, unsigned long long ino, struct stat *buf)
{
    if (!dev && !ino)
        return NULL;
    memset(buf, 0, sizeof(*buf));
    buf->st_dev = (dev_t)dev;
    buf->st_ino = (ino_t)ino;
    return buf;
}

/* The folder holding the target, temporary and set-aside directories (all three side by side), opened once:
 * every rename is done in it by name (renameat), never again through a path. */
struct dirs {
    int fd;
    const char *target, *tmp, *old;
};

static const char *base_of(const char *path)
{
    const char *b = path ? strrchr(path, '/') : NULL;
    return b ? b + 1 : path;
}

static int dirs_open(const struct odbk_restore_temp *t, struct dirs *d, struct odbk_err *err)
{
    if (odbk_dir_open_at(t->target_dir, &d->fd, &d->target, err) < 0)
        return -1;
    d->tmp = base_of(t->tmp_dir);
    d->old = base_of(t->old_dir);
    return 0;
}

/* Is name in d the directory id (not a link, not another folder)?  With no id recorded: a directory. */
static int is_dir(const struct dirs *d, const char *name, const struct stat *id)
{
    struct stat sb;
    return fstatat(d->fd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode) &&
           (!id || odbk_same_file(&sb, id));
}

static int replaced(const char *what, const char *path, struct odbk_err *err)
{
    odbk_err_set(err, ODBK_E_PERM, "%s '%s' is not the directory the restore recorded: something replaced it "
                 "(a link or another folder); nothing renamed", what, path);
    odbk_err_hint(err, "find out who can write to the folder holding it: that user tried to redirect odbk");
    return -1;
}

/* 1 exists, 0 not, -1 cannot tell */
static int db_exists(PGconn *pg, const char *name, struct odbk_err *err)
{
    int e = 0;
    if (odbk_pg_database_exists(pg, name, &e, err) < 0)
        return -1;
    return e;
}

/* "<base>_odbk_KIND_<pid>", or with "_N" after it when a database of that name exists already */
static char *free_db_name(PGconn *pg, const char *base, const char *kind, struct odbk_err *err)
{
    int n;
    for (n = 0; n < 100; n++) {
        char *name = n ? odbk_xasprintf("%.40s_odbk_%s_%ld_%d", base, kind, (long)getpid(), n)
                       : odbk_xasprintf("%.40s_odbk_%s_%ld", base, kind, (long)getpid());
        int e = db_exists(pg, name, err);
        if (e == 0)
            return name;
        free(name);
        if (e < 0)
            return NULL;
    }
    odbk_err_set(err, ODBK_E_TEMPFAIL, "no free name for the %s database of '%s'", kind, base);
    return NULL;
}

static char *free_dir_name(const char *base, const char *kind)
{
    int n;
    for (n = 0;; n++) {
        char *name = n ? odbk_xasprintf("%s.odbk-%s-%ld-%d", base, kind, (long)getpid(), n)
                       : odbk_xasprintf("%s.odbk-%s-%ld", base, kind, (long)getpid());
        if (!path_exists(name))
            return name;
        free(name);
    }
}

/* the row's owner: this process on this host; env (NULL for a new database) and conninfo without its
 * password say how the next run reconnects */
static void row_init(struct odbk_catalog *cat, PGconn *pg, const char *env, const char *conninfo,
                     struct odbk_swap *sw)
{
    memset(sw, 0, sizeof(*sw));
    sw->cat = cat;
    sw->pg = pg;
    sw->row.host = odbk_xstrdup(odbk_hostname());
    sw->row.pid = (long)getpid();
    sw->row.pid_start = odbk_proc_start(sw->row.pid);
    sw->row.created_at = odbk_now();
    sw->row.pg = odbk_pg_conninfo_public(conninfo);   /* never a password in the catalog */
    sw->row.env = env ? odbk_xstrdup(env) : NULL;
}

int odbk_swap_begin(struct odbk_catalog *cat, PGconn *pg, const char *env, const char *conninfo,
                    const char *target_db, const char *target_dir, struct odbk_swap *sw, struct odbk_err *err)
{
    row_init(cat, pg, env, conninfo, sw);
    sw->row.target_db = odbk_xstrdup(target_db);
    sw->row.target_dir = target_dir ? odbk_xstrdup(target_dir) : NULL;
    if (!(sw->row.tmp_db = free_db_name(pg, target_db, "tmp", err)))
        return -1;
    sw->row.tmp_dir = target_dir ? free_dir_name(target_dir, "tmp") : NULL;
    return odbk_catalog_temp_add(cat, &sw->row, err);
}

int odbk_swap_begin_scratch(struct odbk_catalog *cat, PGconn *pg, const char *env, const char *conninfo,
                            const char *db, const char *dir_base, struct odbk_swap *sw, struct odbk_err *err)
{
    row_init(cat, pg, env, conninfo, sw);
    if (!(sw->row.tmp_db = free_db_name(pg, db, "test", err)))
        return -1;
    /* the target is the scratch database itself: no step of a swap can ever reach the environment's */
    sw->row.target_db = odbk_xstrdup(sw->row.tmp_db);
    sw->row.tmp_dir = dir_base ? free_dir_name(dir_base, "test") : NULL;
    return odbk_catalog_temp_add(cat, &sw->row, err);
}

int odbk_swap_make_dir(struct odbk_swap *sw, struct odbk_err *err)
{
    const char *base;
    struct stat sb;
    int pfd, fd;
    if (odbk_dir_open_at(sw->row.tmp_dir, &pfd, &base, err) < 0)
        return -1;
    /* root's alone until the restore hands it over: the folder holding it may be the Odoo user's */
    if (mkdirat(pfd, base, 0700) != 0) {
        odbk_err_sys(err, ODBK_E_IO, "cannot create the directory '%s'", sw->row.tmp_dir);
        close(pfd);
        return -1;
    }
    fd = odbk_dir_open_own(pfd, base, sw->row.tmp_dir, NULL, &sb, err);
    close(pfd);
    if (fd < 0)
        return -1;
    close(fd);
    sw->row.tmp_dev = (unsigned long long)sb.st_dev;
    sw->row.tmp_ino = (unsigned long long)sb.st_ino;
    sw->made_dir = 1;
    return odbk_catalog_temp_update(sw->cat, &sw->row, err);
}

const struct stat *odbk_swap_dir_id(const struct odbk_swap *sw, struct stat *buf)
{
    return id_of(sw->row.tmp_dev, sw->row.tmp_ino, buf);
}

void odbk_swap_forget_dir(struct odbk_swap *sw)
{
    struct odbk_err e;
    free(sw->row.tmp_dir);
    free(sw->row.target_dir);
    sw->row.tmp_dir = sw->row.target_dir = NULL;
    odbk_catalog_temp_update(sw->cat, &sw->row, &e);
}

static int mark(struct odbk_swap *sw, int step, struct odbk_err *err)
{
    sw->row.step = step;
    return odbk_catalog_temp_update(sw->cat, &sw->row, err);
}

/* The swap is in place: drop the originals, then forget the row (kept when something could not go). */
static int finish(struct odbk_catalog *cat, PGconn *pg, const struct odbk_restore_temp *t, struct odbk_err *err)
{
    struct odbk_err e2;
    struct stat id;
    int r = 0;
    if (t->old_db && odbk_pg_drop_database(pg, t->old_db, err) < 0)
        r = -1;
    if (t->old_dir && odbk_rmtree_expect(t->old_dir, id_of(t->old_dev, t->old_ino, &id), r < 0 ? &e2 : err) < 0)
        r = -1;
    if (r == 0)
        r = odbk_catalog_temp_delete(cat, t->id, err);
    return r;
}

int odbk_swap_run(struct odbk_swap *sw, struct odbk_err *err)
{
    struct odbk_restore_temp *t = &sw->row;
    struct odbk_err e2;
    struct dirs d = {-1, NULL, NULL, NULL};
    struct stat sb, id;
    int had_db, had_dir, r = -1;
    odbk_crash_point("swap-before-journal");
    had_db = db_exists(sw->pg, t->target_db, err);
    had_dir = path_exists(t->target_dir);
    if (had_db < 0)
        return -1;
    if (had_db && !(t->old_db = free_db_name(sw->pg, t->target_db, "old", err)))
        return -1;
    if (t->tmp_dir && had_dir) {
        /* the directory that goes aside, by device and inode: the resolved target (a link to it stays) */
        if (lstat(t->target_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            odbk_err_set(err, ODBK_E_PERM, "filestore '%s' is no longer a directory (a link or a file took its "
                         "place during the restore); nothing renamed", t->target_dir);
            odbk_err_hint(err, "find out who can write to the folder holding it, then restore again");
            goto undo;
        }
        t->old_dir = free_dir_name(t->target_dir, "old");
        t->old_dev = (unsigned long long)sb.st_dev;
        t->old_ino = (unsigned long long)sb.st_ino;
    }
    if (t->tmp_dir && dirs_open(t, &d, err) < 0)
        goto undo;
    if (mark(sw, ODBK_SWAP_JOURNALED, err) < 0)
        goto undo;
    odbk_crash_point("swap-journaled");
    if (t->old_db) {
        if (odbk_pg_rename_database(sw->pg, t->target_db, t->old_db, err) < 0)
            goto undo;
        odbk_crash_point("swap-db-aside");
        mark(sw, ODBK_SWAP_DB_ASIDE, &e2);
    }
    if (odbk_pg_rename_database(sw->pg, t->tmp_db, t->target_db, err) < 0)
        goto undo_db_aside;
    odbk_crash_point("swap-db-in");
    mark(sw, ODBK_SWAP_DB_IN, &e2);
    if (t->tmp_dir) {
        if (t->old_dir && !is_dir(&d, d.target, id_of(t->old_dev, t->old_ino, &id))) {
            replaced("filestore", t->target_dir, err);
            goto undo_db_in;
        }
        if (t->old_dir && renameat(d.fd, d.target, d.fd, d.old) != 0) {
            odbk_err_sys(err, ODBK_E_IO, "cannot move the old filestore '%s' aside", t->target_dir);
            goto undo_db_in;
        }
        odbk_crash_point("swap-dir-aside");
        mark(sw, ODBK_SWAP_DIR_ASIDE, &e2);
        int ours = is_dir(&d, d.tmp, id_of(t->tmp_dev, t->tmp_ino, &id));
        if (!ours || renameat(d.fd, d.tmp, d.fd, d.target) != 0) {
            if (!ours)
                replaced("the restored filestore", t->tmp_dir, err);
            else
                odbk_err_sys(err, ODBK_E_IO, "cannot move the restored filestore into '%s'", t->target_dir);
            if (t->old_dir && renameat(d.fd, d.old, d.fd, d.target) != 0)
                goto out;   /* the journal stays: the next run completes the swap */
            goto undo_db_in;
        }
    }
    odbk_crash_point("swap-dir-in");
    mark(sw, ODBK_SWAP_DONE, &e2);
    finish(sw->cat, sw->pg, t, &e2);   /* an original that would not go is retried by the next run */
    r = 0;
    goto out;

undo_db_in:   /* put the old database back: the target must be as it was */
    if (odbk_pg_rename_database(sw->pg, t->target_db, t->tmp_db, &e2) < 0)
        goto out;
undo_db_aside:
    if (t->old_db && odbk_pg_rename_database(sw->pg, t->old_db, t->target_db, &e2) < 0)
        goto out;
undo:
    free(t->old_db);
    free(t->old_dir);
    t->old_db = t->old_dir = NULL;
    t->old_dev = t->old_ino = 0;
    mark(sw, ODBK_SWAP_LOADING, &e2);   /* back to temporaries only, dropped by odbk_swap_abort */
out:
    if (d.fd >= 0)
        close(d.fd);
    return r;
}

void odbk_swap_abort(struct odbk_swap *sw, int created_db)
{
    struct odbk_err e;
    int ok = 1;
    if (!sw->row.id || sw->row.step != ODBK_SWAP_LOADING)
        return;
    if (created_db && odbk_pg_drop_database(sw->pg, sw->row.tmp_db, &e) < 0)
        ok = 0;
    struct stat id;
    if (sw->row.tmp_dir && sw->made_dir &&
        odbk_rmtree_expect(sw->row.tmp_dir, id_of(sw->row.tmp_dev, sw->row.tmp_ino, &id), &e) < 0)
        ok = 0;
    if (ok)
        odbk_catalog_temp_delete(sw->cat, sw->row.id, &e);
    sw->row.id = 0;
}

void odbk_swap_release(struct odbk_swap *sw)
{
    odbk_restore_temp_release(&sw->row);
    memset(sw, 0, sizeof(*sw));
}

/* ---- the next run ---- */

/* The server of a row: its env's conninfo from the config (which may hold the password the row does
 * not), else the row's own conninfo (a --new-db; the password from ~/.pgpass or PGPASSWORD). */
static char *row_conninfo(const struct odbk_config *cfg, const struct odbk_restore_temp *t)
{
    struct odbk_env env;
    struct odbk_err e;
    char *c;
    if (cfg && t->env && *t->env && odbk_config_env(cfg, t->env, &env, &e) == 0) {
        c = odbk_xstrdup(env.pg);
        odbk_env_release(&env);
        return c;
    }
    return odbk_xstrdup(t->pg ? t->pg : "");
}

/* Complete the swap of a dead run: every rename it had not done yet, database and directory, in the
 * journal's order; then drop the originals.  Any doubt leaves everything as found, row kept. */
static int complete(struct odbk_catalog *cat, PGconn *pg, const struct odbk_restore_temp *t, struct odbk_err *err)
{
    int tmp = db_exists(pg, t->tmp_db, err), tgt, old;
    if (tmp < 0)
        return -1;
    if (tmp) {
        if ((tgt = db_exists(pg, t->target_db, err)) < 0)
            return -1;
        if (tgt) {
            if (!t->old_db || (old = db_exists(pg, t->old_db, err)) != 0)
                return odbk_err_set(err, ODBK_E_FAILED, "cannot complete the restore into '%s': database '%s' "
                                    "is in the way", t->target_db, t->target_db);
            if (odbk_pg_rename_database(pg, t->target_db, t->old_db, err) < 0)
                return -1;
        }
        if (odbk_pg_rename_database(pg, t->tmp_db, t->target_db, err) < 0)
            return -1;
    } else if (t->step < ODBK_SWAP_DB_IN && (tgt = db_exists(pg, t->target_db, err)) != 1) {
        return tgt < 0 ? -1 : odbk_err_set(err, ODBK_E_FAILED, "cannot complete the restore into '%s': "
                                           "neither the restored nor the target database exists", t->target_db);
    }
    if (t->tmp_dir && path_exists(t->tmp_dir)) {
        struct dirs d;
        struct stat id;
        int r = -1;
        if (dirs_open(t, &d, err) < 0)
            return -1;
        if (!is_dir(&d, d.tmp, id_of(t->tmp_dev, t->tmp_ino, &id))) {
            replaced("the restored filestore", t->tmp_dir, err);
        } else if (path_exists(t->target_dir) && (!t->old_dir || path_exists(t->old_dir) ||
                                                  !is_dir(&d, d.target, id_of(t->old_dev, t->old_ino, &id)))) {
            odbk_err_set(err, ODBK_E_FAILED, "cannot complete the restore into '%s': it is in the way", t->target_dir);
        } else if (path_exists(t->target_dir) && renameat(d.fd, d.target, d.fd, d.old) != 0) {
            odbk_err_sys(err, ODBK_E_IO, "cannot move the old filestore '%s' aside", t->target_dir);
        } else if (renameat(d.fd, d.tmp, d.fd, d.target) != 0) {
            odbk_err_sys(err, ODBK_E_IO, "cannot move the restored filestore into '%s'", t->target_dir);
        } else {
            r = 0;
        }
        close(d.fd);
        if (r < 0)
            return -1;
    }
    return finish(cat, pg, t, err);
}

/* A dead run that had not finished its load: its temporaries go, the target was never touched. */
static int drop_temporaries(struct odbk_catalog *cat, PGconn *pg, const struct odbk_restore_temp *t,
                            struct odbk_err *err)
{
    struct stat id;
    if (odbk_pg_drop_database(pg, t->tmp_db, err) < 0 ||
        (t->tmp_dir && odbk_rmtree_expect(t->tmp_dir, id_of(t->tmp_dev, t->tmp_ino, &id), err) < 0))
        return -1;
    return odbk_catalog_temp_delete(cat, t->id, err);
}

int odbk_restore_pending(struct odbk_catalog *cat, struct odbk_restore_temp **out, size_t *n, struct odbk_err *err)
{
    struct odbk_restore_temp *v = NULL;
    size_t all = 0, i, k = 0;
    *out = NULL;
    *n = 0;
    if (odbk_catalog_temp_list(cat, odbk_hostname(), &v, &all, err) < 0)
        return -1;
    for (i = 0; i < all; i++) {   /* keep the dead runs' rows, in order; a live restore is no leftover */
        if (odbk_pid_gone(v[i].pid, v[i].pid_start))
            v[k++] = v[i];
        else
            odbk_restore_temp_release(&v[i]);
    }
    if (!k) {
        free(v);
        v = NULL;
    }
    *out = v;
    *n = k;
    return 0;
}

int odbk_restore_recover(const struct odbk_config *cfg, struct odbk_catalog *cat, struct odbk_err *err)
{
    struct odbk_restore_temp *v = NULL;
    size_t n = 0, i;
    int done = 0;
    long me = (long)getpid();
    char *my_start = NULL;
    if (odbk_restore_pending(cat, &v, &n, err) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        const struct odbk_restore_temp *t = &v[i];
        struct odbk_err e2 = {0};
        struct odbk_audit a = {0};
        PGconn *pg = NULL;
        char *conninfo;
        int r;
        /* another program recovering it now (a live claim) is left alone; a dead one's claim is taken over,
         * and of two programs that both saw the row as free only one gets it */
        if (t->claim_pid && !odbk_pid_gone(t->claim_pid, t->claim_start))
            continue;
        if (!my_start)
            my_start = odbk_proc_start(me);
        if ((r = odbk_catalog_temp_claim(cat, t, me, my_start, &e2)) <= 0) {
            if (r < 0)
                *err = e2;
            continue;
        }
        odbk_pause_point("recover-claimed");   /* test-only: hold the claim a while */
        conninfo = row_conninfo(cfg, t);
        r = odbk_pg_connect(conninfo, "postgres", &pg, &e2);
        free(conninfo);
        if (r < 0) {   /* the server is down: a later run */
            odbk_catalog_temp_unclaim(cat, t->id, me);
            *err = e2;
            continue;
        }
        r = t->step == ODBK_SWAP_LOADING ? drop_temporaries(cat, pg, t, &e2) : complete(cat, pg, t, &e2);
        if (r == 0)
            odbk_loadrole_cleanup(pg);   /* its load role owned only the database just dropped or swapped in */
        PQfinish(pg);
        if (r < 0)
            odbk_catalog_temp_unclaim(cat, t->id, me);
        a.action = "restore-recover";
        a.target = t->target_db;
        a.result = r < 0 ? "failed" : "ok";
        a.detail = r < 0 ? odbk_xasprintf("restore by process %ld killed: %s", t->pid, e2.msg)
                 : t->step == ODBK_SWAP_LOADING
                       ? odbk_xasprintf("restore by process %ld killed during its load: temporaries dropped", t->pid)
                       : odbk_xasprintf("restore by process %ld killed during its swap: swap completed", t->pid);
        odbk_catalog_audit_add(cat, &a, &e2);
        free(a.detail);
        if (r < 0)
            *err = e2;
        else
            done++;
    }
    odbk_restore_temp_list_free(v, n);
    free(my_start);
    return done;
}
