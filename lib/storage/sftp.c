/* sftp.c - the SFTP storage driver (`type = sftp`), on libssh2.
 *
 * Keys: host, port (22), user, path (root; relative to the login directory unless absolute), private-key
 * (+ private-key-passphrase[-file]), password[-file], known-hosts or host-key-sha256 (one is required: the
 * host key is always checked, an unknown or changed key is refused with its SHA256 fingerprint), timeout
 * (seconds a blocked operation may wait, 60), connect-timeout (15), retries (3).
 *
 * Connections: a libssh2 session is not thread-safe, so a connection is used by one thread at a time.  Each
 * writer and each reader takes a connection of its own for its whole life; the other operations borrow
 * one.  Finished connections go back to a small pool of idle ones, so a run of small operations (manifests,
 * listings, removals) does not pay a handshake each.
 *
 * Writes go to "NAME.odbk-tmp-PID-N" in the target directory (the core, storage.c, creates the
 * directories, names the file and renames it over NAME on finish), through a 1 MiB buffer handed to
 * libssh2_sftp_write whole so that libssh2 pipelines it.  SFTP v3 servers (OpenSSH) refuse to rename over an existing file whatever the flags say; the
 * target is then removed first, which opens a short window where neither version is visible.
 *
 * Sessions are set up by net/ssh.h (connect, handshake, host key check, authentication).  A dropped
 * connection (socket error, timeout, server gone) is retried with a fresh one under common/retry.h, with
 * one classifier (transient()): reads resume at the offset reached (the core's loop over read_at), writes resume at the offset the
 * server acknowledged, small operations start over; what the server answered is never retried. */
#include "storage/storage.h"

#include <libssh2.h>
#include <libssh2_sftp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/retry.h"
#include "common/util.h"
#include "net/ssh.h"

#define IO_CHUNK (1024 * 1024)
#define POOL_MAX 8   /* idle connections kept: a rescan reads 8 manifests at once (fewer: a handshake each) */

static const char *const sftp_keys[] = {
    "host", "port", "user", "path", "private-key", "private-key-passphrase", "private-key-passphrase-file",
    "password", "password-file", "known-hosts", "host-key-sha256", "timeout", "connect-timeout", "retries",
    NULL,
};

struct sftp {
    const char *name;        /* the storage name, for messages */
    char *host;
    int port;
    char *user;
    char *root;              /* "" = the login directory */
    char *key;               /* private key file, or NULL */
    char *passphrase;
    char *password;
    char *known_hosts;
    char *pin;               /* host-key-sha256, normalised: no "SHA256:", no '=' padding */
    long timeout_ms;
    long connect_timeout_ms;
    int retries;
    char *label, *section;   /* "storage 'NAME'", "storage NAME": for messages */
    struct odbk_ssh_opts ssh;
    pthread_mutex_t mu;      /* guards pool */
    struct conn *pool[POOL_MAX];
    int n_pool;
};

struct conn {
    struct odbk_ssh ssh;
    LIBSSH2_SFTP *sftp;
    int dropped;             /* the last failure was the connection, not the server's answer */
};

/* ---- configuration ---- */

static void sftp_free_priv(struct sftp *s)
{
    int i;
    if (!s)
        return;
    for (i = 0; i < s->n_pool; i++) {
        struct conn *c = s->pool[i];
        libssh2_sftp_shutdown(c->sftp);
        odbk_ssh_close(&c->ssh, 1);
        free(c);
    }
    pthread_mutex_destroy(&s->mu);
    free(s->host);
    free(s->user);
    free(s->root);
    free(s->key);
    if (s->passphrase)
        explicit_bzero(s->passphrase, strlen(s->passphrase));
    free(s->passphrase);
    if (s->password)
        explicit_bzero(s->password, strlen(s->password));
    free(s->password);
    free(s->known_hosts);
    free(s->pin);
    free(s->label);
    free(s->section);
    free(s);
}

static int sftp_open(struct odbk_storage *st, const struct odbk_config_section *sec, struct odbk_err *err)
{
    const struct odbk_config_kv *kv;
    struct sftp *s = odbk_xcalloc(1, sizeof(*s));
    unsigned port, retries;
    pthread_mutex_init(&s->mu, NULL);
    s->name = st->name;

    if (odbk_ssh_init(err) < 0) {
        odbk_err_prefix(err, "storage '%s'", st->name);
        goto fail;
    }
    kv = odbk_config_get_kv(sec, "host");
    if (!kv || !*kv->value) {
        odbk_config_error(err, sec, NULL, "type sftp needs 'host = server.example.com'");
        goto fail;
    }
    s->host = odbk_xstrdup(kv->value);
    kv = odbk_config_get_kv(sec, "user");
    if (!kv || !*kv->value) {
        odbk_config_error(err, sec, NULL, "type sftp needs 'user = LOGIN'");
        goto fail;
    }
    s->user = odbk_xstrdup(kv->value);
    if (odbk_config_uint(sec, "port", 22, 1, 65535, &port, err) < 0 ||
        odbk_config_uint(sec, "retries", 3, 0, 100, &retries, err) < 0 ||
        odbk_config_seconds(sec, "timeout", 60, 1, 86400, &s->timeout_ms, err) < 0 ||
        odbk_config_seconds(sec, "connect-timeout", 15, 1, 86400, &s->connect_timeout_ms, err) < 0)
        goto fail;
    s->timeout_ms *= 1000;
    s->connect_timeout_ms *= 1000;
    s->port = (int)port;
    s->retries = (int)retries;
    kv = odbk_config_get_kv(sec, "path");
    s->root = odbk_xstrdup(kv ? kv->value : "");
    {   /* "dir/" → "dir", "/" stays "/" */
        size_t n = strlen(s->root);
        while (n > 1 && s->root[n - 1] == '/')
            s->root[--n] = '\0';
        if (!strcmp(s->root, "."))
            s->root[0] = '\0';
    }

    kv = odbk_config_get_kv(sec, "known-hosts");
    if (kv) {
        if (access(kv->value, R_OK) != 0) {
            odbk_err_sys(err, ODBK_E_CONFIG, "%s:%d: [storage %s] known-hosts: cannot read '%s'",
                         sec->file ? sec->file : "config", kv->line, st->name, kv->value);
            goto fail;
        }
        s->known_hosts = odbk_xstrdup(kv->value);
    }
    kv = odbk_config_get_kv(sec, "host-key-sha256");
    if (kv && !(s->pin = odbk_ssh_pin(kv->value))) {
        odbk_config_error(err, sec, kv, "'%s' is not a SHA256 key fingerprint", kv->value);
        odbk_err_hint(err, "give the base64 that 'ssh-keygen -l -E sha256 -f KEY.pub' prints after \"SHA256:\"");
        goto fail;
    }
    if (!s->known_hosts && !s->pin) {
        odbk_config_error(err, sec, NULL, "type sftp needs 'known-hosts = FILE' or 'host-key-sha256 = FINGERPRINT'");
        odbk_err_hint(err, "the server's key is never accepted unchecked; its fingerprint: ssh-keyscan -p %d %s | "
                      "ssh-keygen -l -E sha256 -f -", s->port, s->host);
        goto fail;
    }

    kv = odbk_config_get_kv(sec, "private-key");
    if (kv) {
        if (odbk_config_check_private(kv->value, "private key", err) < 0) {
            odbk_err_prefix(err, "%s:%d: [storage %s] private-key", sec->file ? sec->file : "config", kv->line,
                            st->name);
            goto fail;
        }
        s->key = odbk_xstrdup(kv->value);
    }
    if (odbk_config_secret(sec, "private-key-passphrase", NULL, &s->passphrase, err) < 0 ||
        odbk_config_secret(sec, "password", NULL, &s->password, err) < 0)
        goto fail;
    if (!s->key && !s->password) {
        odbk_config_error(err, sec, NULL, "type sftp needs 'private-key = FILE' or 'password-file = FILE'");
        goto fail;
    }
    s->label = odbk_xasprintf("storage '%s'", st->name);
    s->section = odbk_xasprintf("storage %s", st->name);
    s->ssh = (struct odbk_ssh_opts){
        .label = s->label, .section = s->section, .host = s->host, .port = s->port, .user = s->user,
        .key = s->key, .passphrase = s->passphrase, .password = s->password, .known_hosts = s->known_hosts,
        .pin = s->pin, .timeout_ms = s->timeout_ms, .connect_timeout_ms = s->connect_timeout_ms,
    };
    st->priv = s;
    st->root = s->root;
    st->retries = (unsigned)s->retries;
    return 0;
fail:
    sftp_free_priv(s);
    return -1;
}

static void sftp_close(struct odbk_storage *st)
{
    sftp_free_priv(st->priv);
    st->priv = NULL;
}

/* ---- connections ---- */

static void conn_free(struct conn *c, int graceful)
{
    if (!c)
        return;
    if (c->sftp)   /* also when dropped: it frees what libssh2 keeps about outstanding requests */
        libssh2_sftp_shutdown(c->sftp);
    odbk_ssh_close(&c->ssh, graceful);
    free(c);
}

/* A new connection: the SSH session (net/ssh.h), then the SFTP subsystem. */
static int conn_new(struct sftp *s, struct conn **out, struct odbk_err *err)
{
    struct conn *c = odbk_xcalloc(1, sizeof(*c));
    c->ssh.sock = -1;
    if (odbk_ssh_connect(&s->ssh, &c->ssh, err) < 0)
        goto fail;
    if (!(c->sftp = libssh2_sftp_init(c->ssh.ss))) {
        odbk_err_set(err, ODBK_E_UNAVAILABLE, "storage '%s': cannot start sftp on '%s:%d': %s", s->name, s->host,
                     s->port, odbk_ssh_last_error(c->ssh.ss));
        goto fail;
    }
    *out = c;
    return 0;
fail:
    conn_free(c, 0);
    return -1;
}

/* An idle connection from the pool, or a new one. */
static int conn_get(struct sftp *s, struct conn **out, struct odbk_err *err)
{
    struct conn *c = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->n_pool)
        c = s->pool[--s->n_pool];
    pthread_mutex_unlock(&s->mu);
    if (c) {
        c->dropped = 0;
        *out = c;
        return 0;
    }
    return conn_new(s, out, err);
}

/* Give a connection back: pooled when healthy, closed otherwise. */
static void conn_put(struct sftp *s, struct conn *c)
{
    if (!c)
        return;
    if (!c->dropped) {
        pthread_mutex_lock(&s->mu);
        if (s->n_pool < POOL_MAX) {
            s->pool[s->n_pool++] = c;
            c = NULL;
        }
        pthread_mutex_unlock(&s->mu);
    }
    conn_free(c, c && !c->dropped);
}

static const char *fx_text(unsigned long fx)
{
    switch (fx) {
    case LIBSSH2_FX_EOF: return "end of file";
    case LIBSSH2_FX_NO_SUCH_FILE: return "no such file or directory";
    case LIBSSH2_FX_PERMISSION_DENIED: return "permission denied";
    case LIBSSH2_FX_FAILURE: return "failure";
    case LIBSSH2_FX_BAD_MESSAGE: return "bad message";
    case LIBSSH2_FX_OP_UNSUPPORTED: return "operation unsupported";
    case LIBSSH2_FX_NO_SUCH_PATH: return "no such path";
    case LIBSSH2_FX_FILE_ALREADY_EXISTS: return "file already exists";
    case LIBSSH2_FX_WRITE_PROTECT: return "write protected";
    case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM: return "no space left on the server";
    case LIBSSH2_FX_QUOTA_EXCEEDED: return "quota exceeded";
    case LIBSSH2_FX_DIR_NOT_EMPTY: return "directory not empty";
    default: return "server error";
    }
}

/* The SFTP status of the last failure, or 0 when the connection itself failed (c->dropped is then set). */
static unsigned long last_fx(struct conn *c)
{
    if (libssh2_session_last_errno(c->ssh.ss) == LIBSSH2_ERROR_SFTP_PROTOCOL) {
        unsigned long fx = libssh2_sftp_last_error(c->sftp);
        return fx ? fx : LIBSSH2_FX_FAILURE;
    }
    c->dropped = 1;
    return 0;
}

/* Close handle h of connection c.  On a dropped connection the socket is shut first: libssh2 frees a
 * handle only once sending its close failed or the wait for the answer ended, and the wait on a stalled
 * server times out with the handle (and the writes queued on it) still allocated. */
static void close_handle(struct conn *c, LIBSSH2_SFTP_HANDLE *h)
{
    if (c && c->dropped)
        shutdown(c->ssh.sock, SHUT_RDWR);
    libssh2_sftp_close_handle(h);
}

/* Fill err for a failure on c with SFTP status fx (0: the connection failed):
 * "storage 'S': cannot WHAT 'PATH': why". */
static int fail_fx(struct sftp *s, struct conn *c, unsigned long fx, struct odbk_err *err, const char *what,
                   const char *path)
{
    enum odbk_errcode code = ODBK_E_IO;
    if (!fx) {
        int e = libssh2_session_last_errno(c->ssh.ss);
        return odbk_err_set(err, e == LIBSSH2_ERROR_TIMEOUT ? ODBK_E_TEMPFAIL : ODBK_E_UNAVAILABLE,
                            "storage '%s': cannot %s '%s': connection to '%s:%d' failed: %s", s->name, what, path,
                            s->host, s->port, odbk_ssh_last_error(c->ssh.ss));
    }
    if (fx == LIBSSH2_FX_NO_SUCH_FILE || fx == LIBSSH2_FX_NO_SUCH_PATH)
        code = ODBK_E_NOINPUT;
    else if (fx == LIBSSH2_FX_PERMISSION_DENIED || fx == LIBSSH2_FX_WRITE_PROTECT)
        code = ODBK_E_PERM;
    return odbk_err_set(err, code, "storage '%s': cannot %s '%s': %s", s->name, what, path, fx_text(fx));
}

/* The same for the last failure on c. */
static int sftp_fail(struct sftp *s, struct conn *c, struct odbk_err *err, const char *what, const char *path)
{
    return fail_fx(s, c, last_fx(c), err, what, path);
}

/* May another attempt cure the failure in err?  A failure of the connection (c->dropped: the next attempt
 * takes a fresh one) or of getting one (c NULL: an unreachable server, a failed handshake, kinds
 * UNAVAILABLE and TEMPFAIL); never what the server answered. */
static int transient(const struct conn *c, const struct odbk_err *err)
{
    return c ? c->dropped : odbk_retry_transient(err);
}

static struct odbk_retry retry_policy(const struct sftp *s)
{
    struct odbk_retry r = ODBK_RETRY_INIT((unsigned)s->retries);
    r.interruptible = 1;   /* a stop signal ends the backoff */
    return r;
}

/* Run op on a pooled connection, starting over on a fresh one when the connection drops.  op returns
 * what the operation returns (≥ 0 success) or -1 with err set and c->dropped telling whether to retry;
 * *progress (when given) set by op means a retry would repeat visible effects, so it is not done. */
typedef int (*conn_op)(struct sftp *s, struct conn *c, void *ctx, struct odbk_err *err);

struct attempt {
    struct sftp *s;
    conn_op op;
    void *ctx;
    const int *progress;
    int transient;           /* of the last failure */
};

static int attempt_once(void *ctx, struct odbk_err *err)
{
    struct attempt *a = ctx;
    struct conn *c = NULL;
    int r = conn_get(a->s, &c, err);
    if (r == 0)
        r = a->op(a->s, c, a->ctx, err);
    if (r < 0)
        a->transient = transient(c, err);
    conn_put(a->s, c);
    return r;
}

static int attempt_transient(void *ctx, const struct odbk_err *err)
{
    struct attempt *a = ctx;
    (void)err;
    return a->transient && !(a->progress && *a->progress);
}

static int with_conn(struct sftp *s, conn_op op, void *ctx, const int *progress, struct odbk_err *err)
{
    struct attempt a = {s, op, ctx, progress, 0};
    struct odbk_retry r = retry_policy(s);
    return odbk_retry(&r, attempt_once, attempt_transient, &a, err);
}

static char *remote_path(struct sftp *s, const char *key)
{
    return odbk_storage_join(s->root, key);
}

/* ---- directories ---- */

static int is_dir(struct conn *c, const char *path)
{
    LIBSSH2_SFTP_ATTRIBUTES a;
    if (libssh2_sftp_stat_ex(c->sftp, path, (unsigned)strlen(path), LIBSSH2_SFTP_STAT, &a) != 0)
        return 0;
    return (a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISDIR(a.permissions);
}

/* One directory (a remote path); an existing one is fine. */
static int mkdir_op(struct sftp *s, struct conn *c, void *ctx, struct odbk_err *err)
{
    const char *dir = ctx;
    unsigned long fx;
    if (is_dir(c, dir) || libssh2_sftp_mkdir_ex(c->sftp, dir, (unsigned)strlen(dir), 0750) == 0)
        return 0;
    fx = last_fx(c);
    if (fx && is_dir(c, dir))   /* made meanwhile by another writer */
        return 0;
    return fail_fx(s, c, fx, err, "create directory", dir);
}

static int sftp_mkdir(struct odbk_storage *st, const char *dir, struct odbk_err *err)
{
    return with_conn(st->priv, mkdir_op, (void *)dir, NULL, err);
}

/* Remove one empty directory, on one attempt: a failure only ends the pruning. */
static int sftp_rmdir(struct odbk_storage *st, const char *dir)
{
    struct sftp *s = st->priv;
    struct odbk_err e2 = {0};
    struct conn *c = NULL;
    int r = -1;
    if (conn_get(s, &c, &e2) < 0)
        return -1;
    if (libssh2_sftp_rmdir_ex(c->sftp, dir, (unsigned)strlen(dir)) == 0)
        r = 0;
    else
        last_fx(c);
    conn_put(s, c);
    return r;
}

/* ---- write ---- */

struct sftp_writer {
    struct odbk_writer w;
    struct sftp *s;
    struct conn *c;
    LIBSSH2_SFTP_HANDLE *h;
    char *tmp;               /* the temporary name being written */
    char *buf;
    size_t len;
    uint64_t off;            /* bytes the server has acknowledged */
    struct odbk_retry retry; /* reconnections (the budget starts again with real progress) */
    uint64_t off_at_retry;   /* off at the last reconnection */
    int transient;           /* of the last failure to open the temporary file */
};

static int open_tmp(struct sftp_writer *sw, unsigned long flags, struct odbk_err *err)
{
    sw->h = libssh2_sftp_open_ex(sw->c->sftp, sw->tmp, (unsigned)strlen(sw->tmp), flags, 0640,
                                 LIBSSH2_SFTP_OPENFILE);
    if (!sw->h)
        return sftp_fail(sw->s, sw->c, err, "create", sw->tmp);
    return 0;
}

/* After a failure (err): when it was the connection and the retry budget allows, a fresh connection and
 * the temporary file reopened at the acknowledged offset; else -1 with err. */
static int writer_reconnect(struct sftp_writer *sw, struct odbk_err *err)
{
    LIBSSH2_SFTP_ATTRIBUTES a;
    int t = transient(sw->c, err);
    if (t) {
        if (sw->h)
            close_handle(sw->c, sw->h);
        conn_put(sw->s, sw->c);  /* dropped: closed, not pooled */
        sw->c = NULL;
        sw->h = NULL;
    }
    if (!odbk_retry_again(&sw->retry, t, err) || conn_new(sw->s, &sw->c, err) < 0)
        return -1;
    if (libssh2_sftp_stat_ex(sw->c->sftp, sw->tmp, (unsigned)strlen(sw->tmp), LIBSSH2_SFTP_STAT, &a) != 0 ||
        !(a.flags & LIBSSH2_SFTP_ATTR_SIZE) || a.filesize < sw->off)
        return sftp_fail(sw->s, sw->c, err, "resume", sw->tmp);
    if (open_tmp(sw, LIBSSH2_FXF_WRITE, err) < 0)
        return -1;
    libssh2_sftp_seek64(sw->h, sw->off);
    return 0;
}

static int flush_buf(struct sftp_writer *sw, struct odbk_err *err)
{
    size_t done = 0;
    while (done < sw->len) {
        ssize_t n = sw->h ? libssh2_sftp_write(sw->h, sw->buf + done, sw->len - done) : -1;
        if (n > 0) {
            done += (size_t)n;
            sw->off += (uint64_t)n;
            /* real progress restores the retry budget (ODBK_STORAGE_RETRY_PROGRESS) */
            if (sw->retry.attempt && sw->off - sw->off_at_retry >= ODBK_STORAGE_RETRY_PROGRESS) {
                odbk_err_clear(err);
                odbk_retry_progress(&sw->retry);
            }
            continue;
        }
        if (sw->h)
            sftp_fail(sw->s, sw->c, err, "write", sw->tmp);
        sw->off_at_retry = sw->off;
        if (writer_reconnect(sw, err) < 0)
            return -1;
    }
    sw->len = 0;
    return 0;
}

static int sw_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct sftp_writer *sw = (struct sftp_writer *)w;
    const char *p = buf;
    while (len) {
        size_t n = IO_CHUNK - sw->len < len ? IO_CHUNK - sw->len : len;
        memcpy(sw->buf + sw->len, p, n);
        sw->len += n;
        p += n;
        len -= n;
        if (sw->len == IO_CHUNK && flush_buf(sw, err) < 0)
            return -1;
    }
    return 0;
}

static int sw_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct sftp_writer *sw = (struct sftp_writer *)w;
    LIBSSH2_SFTP_ATTRIBUTES a;
    if (sw->len && flush_buf(sw, err) < 0)
        return -1;
    for (;;) {
        if (sw->h) {
            /* fsync@openssh.com where the server has it; others store on close */
            if (libssh2_sftp_fsync(sw->h) != 0)
                last_fx(sw->c);
            if (!sw->c->dropped) {
                int rc = libssh2_sftp_close_handle(sw->h);
                sw->h = NULL;
                if (rc != 0 && sftp_fail(sw->s, sw->c, err, "close", sw->tmp) < 0 && !sw->c->dropped)
                    return -1;
            }
        }
        if (!sw->c->dropped && !sw->h) {
            if (libssh2_sftp_stat_ex(sw->c->sftp, sw->tmp, (unsigned)strlen(sw->tmp), LIBSSH2_SFTP_STAT, &a) != 0)
                sftp_fail(sw->s, sw->c, err, "stat", sw->tmp);
            else if (a.filesize != sw->off)
                return odbk_err_set(err, ODBK_E_IO, "storage '%s': '%s' has %llu bytes on the server, %llu were sent",
                                    sw->s->name, sw->tmp, (unsigned long long)a.filesize,
                                    (unsigned long long)sw->off);
            else
                break;
        }
        if (writer_reconnect(sw, err) < 0)
            return -1;
    }
    conn_put(sw->s, sw->c);
    sw->c = NULL;
    odbk_err_clear(err);
    return 0;
}

/* Stop writing (the core then unlinks the temporary file). */
static void sw_abort(struct odbk_writer *w)
{
    struct sftp_writer *sw = (struct sftp_writer *)w;
    if (sw->h)
        close_handle(sw->c, sw->h);
    sw->h = NULL;
    conn_put(sw->s, sw->c);   /* a dropped one is closed */
    sw->c = NULL;
}

static void sw_free(struct odbk_writer *w)
{
    struct sftp_writer *sw = (struct sftp_writer *)w;
    sw_abort(w);
    free(sw->tmp);
    free(sw->buf);
    free(sw);
}

static const struct odbk_writer_ops sftp_write_ops = {"sftp upload", sw_write, sw_finish, sw_abort, sw_free};

/* One attempt at creating the temporary file; the connection is kept on success, given back otherwise. */
static int open_once(void *ctx, struct odbk_err *err)
{
    struct sftp_writer *sw = ctx;
    const unsigned long flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC;
    int r = conn_get(sw->s, &sw->c, err);
    if (r < 0)
        sw->c = NULL;
    else
        r = open_tmp(sw, flags, err);
    if (r < 0) {
        sw->transient = transient(sw->c, err);
        conn_put(sw->s, sw->c);
        sw->c = NULL;
    }
    return r;
}

static int open_transient(void *ctx, const struct odbk_err *err)
{
    (void)err;
    return ((struct sftp_writer *)ctx)->transient;
}

static int sftp_create(struct odbk_storage *st, const char *path, const char *final, uint64_t size_hint,
                       struct odbk_writer **out, struct odbk_err *err)
{
    struct sftp *s = st->priv;
    struct sftp_writer *sw = odbk_xcalloc(1, sizeof(*sw));
    struct odbk_retry r = retry_policy(s);
    (void)size_hint;
    (void)final;
    sw->s = s;
    sw->tmp = odbk_xstrdup(path);
    sw->retry = retry_policy(s);
    if (odbk_retry(&r, open_once, open_transient, sw, err) < 0) {
        free(sw->tmp);
        free(sw);
        return -1;
    }
    odbk_err_clear(err);   /* what was overcome (a reconnection) */
    sw->buf = odbk_xmalloc(IO_CHUNK);
    odbk_writer_init(&sw->w, &sftp_write_ops, NULL);
    *out = &sw->w;
    return 0;
}

struct rename_ctx {
    const char *from, *to;
};

static int rename_op(struct sftp *s, struct conn *c, void *ctx, struct odbk_err *err)
{
    const struct rename_ctx *rc = ctx;
    const long flags = LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE;
    unsigned fl = (unsigned)strlen(rc->from), tl = (unsigned)strlen(rc->to);
    LIBSSH2_SFTP_ATTRIBUTES a;
    if (libssh2_sftp_rename_ex(c->sftp, rc->from, fl, rc->to, tl, flags) == 0)
        return 0;
    if (!last_fx(c))
        return sftp_fail(s, c, err, "rename into", rc->to);
    /* SFTP v3 (OpenSSH) never renames over an existing file: remove it, then rename */
    if (libssh2_sftp_stat_ex(c->sftp, rc->to, tl, LIBSSH2_SFTP_LSTAT, &a) == 0 &&
        libssh2_sftp_unlink_ex(c->sftp, rc->to, tl) != 0)
        return sftp_fail(s, c, err, "replace", rc->to);
    if (libssh2_sftp_rename_ex(c->sftp, rc->from, fl, rc->to, tl, flags) != 0)
        return sftp_fail(s, c, err, "rename into", rc->to);
    return 0;
}

static int sftp_rename(struct odbk_storage *st, const char *from, const char *to, struct odbk_err *err)
{
    struct rename_ctx rc = {from, to};
    return with_conn(st->priv, rename_op, &rc, NULL, err);
}

/* ---- read ---- */

/* One attempt at reading from *off on; the core (storage.c) resumes it at the offset reached. */
static int sftp_read_at(struct odbk_storage *st, const char *path, uint64_t *off, struct odbk_writer *dst,
                        int *again, struct odbk_err *err)
{
    struct sftp *s = st->priv;
    char *full = remote_path(s, path), *buf = NULL;
    struct conn *c = NULL;
    LIBSSH2_SFTP_HANDLE *h = NULL;
    ssize_t n;
    int r = -1;
    if (conn_get(s, &c, err) < 0) {
        c = NULL;
        *again = transient(NULL, err);
        goto out;
    }
    h = libssh2_sftp_open_ex(c->sftp, full, (unsigned)strlen(full), LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
    if (!h) {
        sftp_fail(s, c, err, "open", full);
        if (err->code == ODBK_E_NOINPUT)
            odbk_err_set(err, ODBK_E_NOINPUT, "storage '%s': no such object '%s'", s->name, path);
        *again = transient(c, err);
        goto out;
    }
    libssh2_sftp_seek64(h, *off);
    buf = odbk_xmalloc(IO_CHUNK);
    while ((n = libssh2_sftp_read(h, buf, IO_CHUNK)) != 0) {
        if (n < 0) {
            sftp_fail(s, c, err, "read", full);
            *again = transient(c, err);
            goto out;
        }
        if (odbk_writer_write(dst, buf, (size_t)n, err) < 0)
            goto out;
        *off += (uint64_t)n;
    }
    r = 0;
out:
    if (h)
        close_handle(c, h);
    conn_put(s, c);
    free(buf);
    free(full);
    return r;
}

/* ---- stat, list, remove ---- */

struct stat_ctx {
    const char *path;
    struct odbk_storage_entry *out;
};

static int stat_op(struct sftp *s, struct conn *c, void *ctx, struct odbk_err *err)
{
    struct stat_ctx *sc = ctx;
    char *full = remote_path(s, sc->path);
    LIBSSH2_SFTP_ATTRIBUTES a;
    int r = 0;
    if (libssh2_sftp_stat_ex(c->sftp, full, (unsigned)strlen(full), LIBSSH2_SFTP_STAT, &a) != 0) {
        unsigned long fx = last_fx(c);
        r = fx == LIBSSH2_FX_NO_SUCH_FILE || fx == LIBSSH2_FX_NO_SUCH_PATH ? 1 : sftp_fail(s, c, err, "stat", full);
    } else if (!(a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) || !LIBSSH2_SFTP_S_ISREG(a.permissions)) {
        r = 1;
    } else {
        sc->out->path = NULL;
        sc->out->size = a.flags & LIBSSH2_SFTP_ATTR_SIZE ? a.filesize : 0;
        sc->out->mtime = a.flags & LIBSSH2_SFTP_ATTR_ACMODTIME ? (time_t)a.mtime : 0;
    }
    free(full);
    return r;
}

static int sftp_stat(struct odbk_storage *st, const char *path, struct odbk_storage_entry *out,
                     struct odbk_err *err)
{
    struct stat_ctx sc = {path, out};
    return with_conn(st->priv, stat_op, &sc, NULL, err);
}

struct list_ctx {
    const char *dir;
    struct odbk_storage_dir *out;
};

static int list_op(struct sftp *s, struct conn *c, void *ctx, struct odbk_err *err)
{
    struct list_ctx *lc = ctx;
    const char *dir = *lc->dir ? lc->dir : ".";
    char name[1024];
    LIBSSH2_SFTP_HANDLE *h;
    LIBSSH2_SFTP_ATTRIBUTES a;
    int r = 0, n;
    odbk_storage_dir_clear(lc->out);   /* a retry starts over */
    h = libssh2_sftp_open_ex(c->sftp, dir, (unsigned)strlen(dir), 0, 0, LIBSSH2_SFTP_OPENDIR);
    if (!h) {
        unsigned long fx = last_fx(c);
        return fx == LIBSSH2_FX_NO_SUCH_FILE || fx == LIBSSH2_FX_NO_SUCH_PATH ? 0 : sftp_fail(s, c, err, "list", dir);
    }
    while ((n = libssh2_sftp_readdir_ex(h, name, sizeof(name), NULL, 0, &a)) != 0) {
        if (n < 0) {
            r = sftp_fail(s, c, err, "list", dir);
            break;
        }
        if (!(a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
            !(LIBSSH2_SFTP_S_ISDIR(a.permissions) || LIBSSH2_SFTP_S_ISREG(a.permissions)))
            continue;
        odbk_storage_dir_add(lc->out, name, LIBSSH2_SFTP_S_ISDIR(a.permissions),
                             a.flags & LIBSSH2_SFTP_ATTR_SIZE ? a.filesize : 0,
                             a.flags & LIBSSH2_SFTP_ATTR_ACMODTIME ? (time_t)a.mtime : 0);
    }
    close_handle(c, h);
    return r;
}

static int sftp_list_dir(struct odbk_storage *st, const char *dir, struct odbk_storage_dir *out,
                         struct odbk_err *err)
{
    struct list_ctx lc = {dir, out};
    return with_conn(st->priv, list_op, &lc, NULL, err);
}

static int unlink_op(struct sftp *s, struct conn *c, void *ctx, struct odbk_err *err)
{
    const char *full = ctx;
    if (libssh2_sftp_unlink_ex(c->sftp, full, (unsigned)strlen(full)) != 0) {
        unsigned long fx = last_fx(c);
        if (fx != LIBSSH2_FX_NO_SUCH_FILE && fx != LIBSSH2_FX_NO_SUCH_PATH)
            return sftp_fail(s, c, err, "remove", full);
    }
    return 0;
}

static int sftp_unlink(struct odbk_storage *st, const char *path, struct odbk_err *err)
{
    return with_conn(st->priv, unlink_op, (void *)path, NULL, err);
}

const struct odbk_storage_driver odbk_storage_sftp_driver = {
    .type = "sftp",
    .features = ODBK_STORAGE_F_DIRS | ODBK_STORAGE_F_RANGE_READ,
    .keys = sftp_keys,
    .open = sftp_open,
    .close = sftp_close,
    .read_at = sftp_read_at,
    .stat = sftp_stat,
    .list_dir = sftp_list_dir,
    .mkdir = sftp_mkdir,
    .rmdir = sftp_rmdir,
    .unlink = sftp_unlink,
    .create = sftp_create,
    .rename = sftp_rename,
};
