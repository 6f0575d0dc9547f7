/* ftp.c - the FTP storage driver (`type = ftp`), on libcurl.
 *
 * Keys: url (ftp://host[:port]/dir: the root, relative to the login directory; %2F for an absolute one;
 * ftps:// for implicit TLS), user, password[-file], tls = required|try|none (explicit TLS, AUTH TLS;
 * default required: a password is not sent in clear unless the config says so), tls-verify (true),
 * ca-file, active (false: passive), timeout (seconds without progress before a transfer is abandoned,
 * 60), connect-timeout (15), retries (3).
 *
 * curl runs with CURLFTPMETHOD_NOCWD: it never changes directory, so every command names its path from
 * the login directory and a reused connection is always where the QUOTE commands expect it.
 *
 * Transfers go through net/curl.h (the shared set-up, stall watchdog and error kinds) and are retried
 * under common/retry.h on what odbk_curl_ftp_transient() calls transient: a dropped or refused
 * connection, a timeout, a 4xx reply.
 *
 * Writes: the writer chain pushes, curl pulls; the upload thread of an io/pipe.h writer runs the STOR of
 * "NAME.odbk-tmp-PID-N" and reads what write() gave, so memory stays at the pipe's size whatever the
 * object's.  finish() waits for the upload, checks its size on the server and renames it (RNFR/RNTO;
 * DELE of the target first when the server refuses to rename over it); abort() stops the transfer and
 * deletes the temporary file.  An upload whose STOR fails before curl took a byte of it (a 4xx reply, no
 * data connection) is sent again; one that fails later is not resumed (FTP does not say how much of it the
 * server really stored, and the stream cannot be rewound).  Reads resume at the offset reached (REST) after
 * a dropped connection or a 4xx reply; small operations start over. */
#include "storage/storage.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/retry.h"
#include "common/util.h"
#include "io/pipe.h"
#include "net/curl.h"

#define RING_SIZE (1024 * 1024)

static const char *const ftp_keys[] = {
    "url", "user", "password", "password-file", "tls", "tls-verify", "ca-file", "active", "timeout",
    "connect-timeout", "retries", NULL,
};

enum tls_mode { TLS_NONE, TLS_TRY, TLS_REQUIRED };

struct ftp {
    const char *name;
    char *base;              /* "ftp://host:port/" */
    char *shown;             /* base without credentials, for messages: the same here */
    char *root;              /* path from the login directory ("" = there; "/x" absolute), no final '/' */
    char *user;
    char *password;
    enum tls_mode tls;
    int tls_verify;
    char *ca_file;
    int active;
    long timeout_s;
    long connect_timeout_s;
    int retries;
    int no_mlsd;             /* the server refused MLSD: list with LIST */
    struct odbk_curl *ctl;   /* the handle of stat/list/remove (one thread at a time, under mu) */
    pthread_mutex_t mu;
};

/* ---- configuration ---- */

static void ftp_free_priv(struct ftp *f)
{
    if (!f)
        return;
    odbk_curl_free(f->ctl);
    pthread_mutex_destroy(&f->mu);
    free(f->base);
    free(f->root);
    free(f->user);
    if (f->password)
        explicit_bzero(f->password, strlen(f->password));
    free(f->password);
    free(f->ca_file);
    free(f);
}

/* url → base and root; refuses credentials in the URL (they belong in user and password-file). */
static int parse_url(struct ftp *f, const struct odbk_config_section *sec, const struct odbk_config_kv *kv,
                     struct odbk_err *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *userinfo = NULL, *dec = NULL;
    int r = -1, n;
    if (curl_url_set(u, CURLUPART_URL, kv->value, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        odbk_config_error(err, sec, kv, "'%s' is not an ftp://host/dir URL", kv->value);
        goto out;
    }
    if (strcmp(scheme, "ftp") && strcmp(scheme, "ftps")) {
        odbk_config_error(err, sec, kv, "'%s' is not an ftp:// or ftps:// URL", kv->value);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &userinfo, 0) == CURLUE_OK) {
        odbk_config_error(err, sec, kv, "the URL must not hold a user or password");
        odbk_err_hint(err, "set 'user = NAME' and 'password-file = FILE' instead");
        goto out;
    }
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
        path = NULL;
    f->base = port ? odbk_xasprintf("%s://%s:%s/", scheme, host, port) : odbk_xasprintf("%s://%s/", scheme, host);
    dec = curl_easy_unescape(NULL, path && *path == '/' ? path + 1 : path ? path : "", 0, &n);
    f->root = odbk_xstrndup(dec, (size_t)n);
    while (*f->root && f->root[strlen(f->root) - 1] == '/' && strcmp(f->root, "/"))
        f->root[strlen(f->root) - 1] = '\0';
    r = 0;
out:
    curl_free(dec);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(userinfo);
    curl_url_cleanup(u);
    return r;
}

static int ftp_open(struct odbk_storage *st, const struct odbk_config_section *sec, struct odbk_err *err)
{
    const struct odbk_config_kv *kv;
    struct ftp *f = odbk_xcalloc(1, sizeof(*f));
    unsigned retries;
    pthread_mutex_init(&f->mu, NULL);
    f->name = st->name;
    if (odbk_curl_init(err) < 0) {
        odbk_err_prefix(err, "storage '%s'", st->name);
        goto fail;
    }
    kv = odbk_config_get_kv(sec, "url");
    if (!kv || !*kv->value) {
        odbk_config_error(err, sec, NULL, "type ftp needs 'url = ftp://host/dir'");
        goto fail;
    }
    if (parse_url(f, sec, kv, err) < 0)
        goto fail;
    kv = odbk_config_get_kv(sec, "user");
    f->user = odbk_xstrdup(kv ? kv->value : "anonymous");
    if (odbk_config_secret(sec, "password", NULL, &f->password, err) < 0)
        goto fail;
    if (!f->password)
        f->password = odbk_xstrdup("");
    kv = odbk_config_get_kv(sec, "tls");
    if (!kv || !strcmp(kv->value, "required"))
        f->tls = TLS_REQUIRED;
    else if (!strcmp(kv->value, "try"))
        f->tls = TLS_TRY;
    else if (!strcmp(kv->value, "none"))
        f->tls = TLS_NONE;
    else {
        odbk_config_error(err, sec, kv, "'%s' is not required, try or none", kv->value);
        goto fail;
    }
    kv = odbk_config_get_kv(sec, "ca-file");
    f->ca_file = kv ? odbk_xstrdup(kv->value) : NULL;
    if (odbk_config_bool(sec, "tls-verify", 1, &f->tls_verify, err) < 0 ||
        odbk_config_bool(sec, "active", 0, &f->active, err) < 0 ||
        odbk_config_seconds(sec, "timeout", 60, 1, 86400, &f->timeout_s, err) < 0 ||
        odbk_config_seconds(sec, "connect-timeout", 15, 1, 86400, &f->connect_timeout_s, err) < 0 ||
        odbk_config_uint(sec, "retries", 3, 0, 100, &retries, err) < 0)
        goto fail;
    f->retries = (int)retries;
    f->ctl = odbk_curl_new();
    st->priv = f;
    return 0;
fail:
    ftp_free_priv(f);
    return -1;
}

static void ftp_close(struct odbk_storage *st)
{
    ftp_free_priv(st->priv);
    st->priv = NULL;
}


/* ---- curl plumbing ---- */

/* A path from the login directory → its URL (each component escaped). */
static char *url_for(struct ftp *f, const char *path, int dir)
{
    size_t cap = strlen(f->base) + 3 * strlen(path) + 8, n;
    char *u = odbk_xmalloc(cap), *copy = odbk_xstrdup(path), *p, *save = NULL;
    strcpy(u, f->base);
    if (*path == '/')
        strcat(u, "%2F");
    for (p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        char *e = curl_easy_escape(NULL, p, 0);
        n = strlen(u);
        if (n && u[n - 1] != '/' && strcmp(u + (n >= 3 ? n - 3 : 0), "%2F"))
            strcat(u, "/");
        strcat(u, e);
        curl_free(e);
    }
    if (dir && u[strlen(u) - 1] != '/')
        strcat(u, "/");
    free(copy);
    return u;
}

static char *full_path(struct ftp *f, const char *key)
{
    return odbk_storage_join(f->root, key);
}

/* The options of every transfer (net/curl.h, then FTP's own); output is discarded unless the caller sets
 * a WRITEFUNCTION after.  The watchdog drops a transfer that moved no byte for `timeout` seconds and
 * one a stop signal interrupts. */
static void setup(struct ftp *f, struct odbk_curl *c, const int *cancel)
{
    const struct odbk_curl_opts o = {
        .protocols = "ftp,ftps",
        .connect_timeout = f->connect_timeout_s,
        .stall = f->timeout_s,
        .no_tls_verify = !f->tls_verify,
        .ca_file = f->ca_file,
        .cancel = cancel,
        .interruptible = 1,
    };
    CURL *h = c->h;
    odbk_curl_setup(c, &o);
    curl_easy_setopt(h, CURLOPT_USERNAME, f->user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, f->password);
    curl_easy_setopt(h, CURLOPT_FTP_FILEMETHOD, (long)CURLFTPMETHOD_NOCWD);
    curl_easy_setopt(h, CURLOPT_USE_SSL, f->tls == TLS_REQUIRED ? (long)CURLUSESSL_ALL
                                         : f->tls == TLS_TRY    ? (long)CURLUSESSL_TRY
                                                                : (long)CURLUSESSL_NONE);
    if (f->active)
        curl_easy_setopt(h, CURLOPT_FTPPORT, "-");
    curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, f->timeout_s);
    curl_easy_setopt(h, CURLOPT_ACCEPTTIMEOUT_MS, f->timeout_s * 1000);
}

/* Fill err for a failed transfer: "storage 'S': cannot WHAT 'PATH': why", of kind odbk_curl_ftp_kind();
 * a refused login, a server without TLS and an untrusted certificate say what to change. */
static int ftp_fail(struct ftp *f, struct odbk_curl *c, CURLcode cc, struct odbk_err *err, const char *what,
                    const char *path)
{
    const char *why = odbk_curl_why(c, cc);
    switch (cc) {
    case CURLE_LOGIN_DENIED:
        odbk_err_set(err, ODBK_E_PERM, "storage '%s': login as '%s' on '%s' refused: %s", f->name, f->user, f->base,
                     why);
        odbk_err_hint(err, "check user and password-file of [storage %s]", f->name);
        return -1;
    case CURLE_USE_SSL_FAILED:
        odbk_err_set(err, ODBK_E_UNAVAILABLE, "storage '%s': '%s' does not offer TLS: %s", f->name, f->base, why);
        odbk_err_hint(err, "tls = none sends the password in clear; set it only if the network is trusted");
        return -1;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        odbk_err_set(err, ODBK_E_PERM, "storage '%s': TLS certificate of '%s' not trusted: %s", f->name, f->base,
                     why);
        odbk_err_hint(err, "name the server's CA with ca-file = FILE (tls-verify = false only for tests)");
        return -1;
    default:
        return odbk_err_set(err, odbk_curl_ftp_kind(cc, odbk_curl_status(c)), "storage '%s': cannot %s '%s': %s",
                            f->name, what, path, why);
    }
}

/* One operation on a handle, run under the retry policy (common/retry.h): each attempt sets the handle
 * up, lets prep() add the operation's options, and performs it; what odbk_curl_ftp_transient() calls
 * transient is tried again unless the operation says it must not be (`final`). */
struct xfer {
    struct ftp *f;
    struct odbk_curl *c;
    void (*prep)(struct xfer *x);
    void *ctx;
    const char *url;
    const char *what, *path;   /* for the message: "cannot WHAT 'PATH'" */
    const int *cancel;
    CURLcode cc;               /* of the last attempt */
    long reply;
    int final;
};

static int xfer_once(void *ctx, struct odbk_err *err)
{
    struct xfer *x = ctx;
    setup(x->f, x->c, x->cancel);
    curl_easy_setopt(x->c->h, CURLOPT_URL, x->url);
    if (x->prep)
        x->prep(x);
    x->cc = odbk_curl_perform(x->c);
    x->reply = odbk_curl_status(x->c);
    if (x->cc == CURLE_OK)
        return 0;
    return ftp_fail(x->f, x->c, x->cc, err, x->what, x->path);
}

static int xfer_transient(void *ctx, const struct odbk_err *err)
{
    struct xfer *x = ctx;
    (void)err;
    return !x->final && odbk_curl_ftp_transient(x->cc, x->reply);
}

static struct odbk_retry retry_policy(struct ftp *f, const int *cancel)
{
    struct odbk_retry r = ODBK_RETRY_INIT((unsigned)f->retries);
    r.cancel = cancel;
    r.interruptible = 1;   /* a stop signal ends the backoff */
    return r;
}

static int xfer_run(struct xfer *x, struct odbk_err *err)
{
    struct odbk_retry r = retry_policy(x->f, x->cancel);
    return odbk_retry(&r, xfer_once, xfer_transient, x, err);
}

static void prep_nobody(struct xfer *x)
{
    curl_easy_setopt(x->c->h, CURLOPT_NOBODY, 1L);
}

static void prep_quote(struct xfer *x)
{
    curl_easy_setopt(x->c->h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(x->c->h, CURLOPT_QUOTE, (struct curl_slist *)x->ctx);
}

/* QUOTE commands on handle c; -1 with err ("cannot WHAT 'PATH'") and *cc when they failed. */
static int run_quote(struct ftp *f, struct odbk_curl *c, struct curl_slist *cmds, const char *what,
                     const char *path, CURLcode *cc, struct odbk_err *err)
{
    struct xfer x = {f, c, prep_quote, cmds, f->base, what, path, NULL, CURLE_OK, 0, 0};
    int r = xfer_run(&x, err);
    curl_easy_setopt(c->h, CURLOPT_QUOTE, NULL);
    if (cc)
        *cc = x.cc;
    return r;
}

/* Append "*MKD" (failure ignored) of every directory of `path` (from the login directory) to cmds. */
static struct curl_slist *add_mkdirs(struct curl_slist *cmds, const char *path)
{
    char *dir = odbk_xstrdup(path), *p;
    for (p = dir + (dir[0] == '/'); (p = strchr(p, '/')); p++) {
        char *cmd;
        *p = '\0';
        cmd = odbk_xasprintf("*MKD %s", dir);
        cmds = curl_slist_append(cmds, cmd);
        free(cmd);
        *p = '/';
    }
    free(dir);
    return cmds;
}

/* Append "*RMD" of the directories of `key` under the root, deepest first (non-empty ones stay). */
static struct curl_slist *add_rmdirs(struct ftp *f, struct curl_slist *cmds, const char *key)
{
    char *rel = odbk_xstrdup(key), *p;
    while ((p = strrchr(rel, '/')) && p != rel) {
        char *full, *cmd;
        *p = '\0';
        full = full_path(f, rel);
        cmd = odbk_xasprintf("*RMD %s", full);
        cmds = curl_slist_append(cmds, cmd);
        free(cmd);
        free(full);
    }
    free(rel);
    return cmds;
}


/* ---- write ---- */

struct ftp_writer {
    struct odbk_writer w;
    struct ftp *f;
    struct odbk_curl *c;
    struct odbk_writer *pipe;   /* write() → the upload thread (io/pipe.h) */
    struct odbk_pipe *p;        /* its read end, in the upload thread */
    char *key, *final, *tmp;
    uint64_t written;           /* bytes accepted by write() */
    int taken;                  /* curl has taken bytes: the upload can no longer start over */
    int cancel;                 /* atomic: abort() stops the transfer and the retries */
    int tmp_exists;             /* the temporary file may exist on the server */
};

static size_t upload_read(char *out, size_t size, size_t nmemb, void *ctx)
{
    struct ftp_writer *fw = ctx;
    ssize_t n = odbk_pipe_read(fw->p, out, size * nmemb);
    if (n < 0)
        return CURL_READFUNC_ABORT;
    if (n)
        fw->taken = 1;
    odbk_curl_touch(fw->c);   /* time spent waiting for the writer is no stall */
    return (size_t)n;
}

static void prep_upload(struct xfer *x)
{
    struct ftp_writer *fw = x->ctx;
    CURL *h = x->c->h;
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, upload_read);
    curl_easy_setopt(h, CURLOPT_READDATA, fw);
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
    /* the login, the STOR and its reply have the reply timeout; a stall counts from the data on (a 425
     * after 2 s was a stall of 3 s with the login before it) */
    odbk_curl_stall_from_touch(x->c);
}

static int upload_once(void *ctx, struct odbk_err *err)
{
    struct xfer *x = ctx;
    struct ftp_writer *fw = x->ctx;
    if (xfer_once(x, err) == 0)
        return 0;
    /* a STOR that failed before curl took a byte (a 4xx reply, no data connection) is sent again */
    x->final = fw->taken || fw->c->stalled;
    if (fw->c->stalled)
        odbk_err_set(err, ODBK_E_TEMPFAIL, "storage '%s': cannot upload '%s': the server took nothing for %ld s",
                     fw->f->name, fw->final, fw->f->timeout_s);
    return -1;
}

/* The upload thread: the STOR of the temporary name, fed from the pipe. */
static int upload(void *ctx, struct odbk_pipe *p, struct odbk_err *err)
{
    struct ftp_writer *fw = ctx;
    char *u = url_for(fw->f, fw->tmp, 0);
    struct xfer x = {fw->f, fw->c, prep_upload, fw, u, "upload", fw->final, &fw->cancel, CURLE_OK, 0, 0};
    struct odbk_retry r = retry_policy(fw->f, &fw->cancel);
    int rc;
    fw->p = p;
    rc = odbk_retry(&r, upload_once, xfer_transient, &x, err);
    free(u);
    return rc;
}

static int fw_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct ftp_writer *fw = (struct ftp_writer *)w;
    if (odbk_writer_write(fw->pipe, buf, len, err) < 0)
        return -1;
    fw->written += len;
    return 0;
}

static int fw_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct ftp_writer *fw = (struct ftp_writer *)w;
    struct ftp *f = fw->f;
    struct curl_slist *cmds = NULL;
    curl_off_t size = -1;
    CURLcode cc;
    char *cmd, *u;
    int r;
    if (odbk_writer_finish(fw->pipe, err) < 0)
        return -1;

    /* what the server stored must be what was sent */
    u = url_for(f, fw->tmp, 0);
    {
        struct xfer x = {f, fw->c, prep_nobody, NULL, u, "check the size of", fw->tmp, NULL, CURLE_OK, 0, 0};
        r = xfer_run(&x, err);
    }
    free(u);
    if (r < 0)
        return -1;
    curl_easy_getinfo(fw->c->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &size);
    if (size >= 0 && (uint64_t)size != fw->written)
        return odbk_err_set(err, ODBK_E_IO, "storage '%s': '%s' has %lld bytes on the server, %llu were sent",
                            f->name, fw->tmp, (long long)size, (unsigned long long)fw->written);

    cmd = odbk_xasprintf("RNFR %s", fw->tmp);
    cmds = curl_slist_append(cmds, cmd);
    free(cmd);
    cmd = odbk_xasprintf("RNTO %s", fw->final);
    cmds = curl_slist_append(cmds, cmd);
    free(cmd);
    r = run_quote(f, fw->c, cmds, "rename into", fw->final, &cc, err);
    if (r < 0 && cc == CURLE_QUOTE_ERROR) {
        /* a server that does not rename over an existing file: delete it first */
        struct curl_slist *again = NULL;
        cmd = odbk_xasprintf("*DELE %s", fw->final);
        again = curl_slist_append(again, cmd);
        free(cmd);
        for (struct curl_slist *l = cmds; l; l = l->next)
            again = curl_slist_append(again, l->data);
        r = run_quote(f, fw->c, again, "rename into", fw->final, NULL, err);
        curl_slist_free_all(again);
    }
    curl_slist_free_all(cmds);
    if (r < 0)
        return -1;
    fw->tmp_exists = 0;
    return 0;
}

static void fw_abort(struct odbk_writer *w)
{
    struct ftp_writer *fw = (struct ftp_writer *)w;
    struct curl_slist *cmds = NULL;
    struct odbk_err e2 = {0};
    char *cmd;
    __atomic_store_n(&fw->cancel, 1, __ATOMIC_RELEASE);
    odbk_writer_abort(fw->pipe);   /* stops the upload thread */
    if (!fw->tmp_exists)
        return;
    cmd = odbk_xasprintf("*DELE %s", fw->tmp);
    cmds = curl_slist_append(cmds, cmd);
    free(cmd);
    cmds = add_rmdirs(fw->f, cmds, fw->key);
    run_quote(fw->f, fw->c, cmds, "remove", fw->tmp, NULL, &e2);
    curl_slist_free_all(cmds);
    fw->tmp_exists = 0;
}

static void fw_free(struct odbk_writer *w)
{
    struct ftp_writer *fw = (struct ftp_writer *)w;
    fw_abort(w);   /* after a finish there is nothing left to delete */
    odbk_writer_free(fw->pipe);
    odbk_curl_free(fw->c);
    free(fw->key);
    free(fw->final);
    free(fw->tmp);
    free(fw);
}

static const struct odbk_writer_ops ftp_write_ops = {"ftp upload", fw_write, fw_finish, fw_abort, fw_free};

static int ftp_open_write(struct odbk_storage *st, const char *path, uint64_t size_hint,
                          struct odbk_writer **out, struct odbk_err *err)
{
    struct ftp *f = st->priv;
    struct ftp_writer *fw = odbk_xcalloc(1, sizeof(*fw));
    struct curl_slist *cmds;
    int r;
    (void)size_hint;
    fw->f = f;
    fw->key = odbk_xstrdup(path);
    fw->final = full_path(f, path);
    fw->tmp = odbk_storage_temp_name(fw->final);
    fw->c = odbk_curl_new();

    /* log in and create the directories now, so that a refusal comes from here rather than a write */
    cmds = add_mkdirs(NULL, fw->final);
    if (!cmds)
        cmds = curl_slist_append(cmds, "NOOP");
    r = run_quote(f, fw->c, cmds, "create the directory of", fw->final, NULL, err);
    curl_slist_free_all(cmds);
    if (r < 0) {
        odbk_curl_free(fw->c);
        free(fw->key);
        free(fw->final);
        free(fw->tmp);
        free(fw);
        return -1;
    }
    fw->tmp_exists = 1;
    fw->pipe = odbk_pipe_writer_new(upload, fw, NULL, RING_SIZE);
    odbk_writer_init(&fw->w, &ftp_write_ops, NULL);
    *out = &fw->w;
    return 0;
}

/* ---- read ---- */

struct read_ctx {
    struct xfer *x;
    struct odbk_retry *retry;
    struct odbk_writer *dst;
    struct odbk_err dst_err;   /* why dst refused the data */
    uint64_t off;              /* bytes delivered */
    uint64_t progress_off;     /* at the attempt's start or its last progress */
    int dst_failed;
};

static size_t read_cb(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct read_ctx *rc = ctx;
    size_t n = size * nmemb;
    if (odbk_writer_write(rc->dst, data, n, &rc->dst_err) < 0) {
        rc->dst_failed = 1;
        rc->x->final = 1;   /* our side failed: no other attempt */
        return 0;
    }
    rc->off += n;
    if (rc->off - rc->progress_off >= ODBK_STORAGE_RETRY_PROGRESS) {   /* the budget is per stall */
        odbk_retry_progress(rc->retry);
        rc->progress_off = rc->off;
    }
    return n;
}

/* Each attempt resumes at the offset reached (REST). */
static void prep_read(struct xfer *x)
{
    struct read_ctx *rc = x->ctx;
    rc->progress_off = rc->off;
    curl_easy_setopt(x->c->h, CURLOPT_WRITEFUNCTION, read_cb);
    curl_easy_setopt(x->c->h, CURLOPT_WRITEDATA, rc);
    curl_easy_setopt(x->c->h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)rc->off);
}

/* A read under the retry policy of every transfer; real progress restores its budget
 * (ODBK_STORAGE_RETRY_PROGRESS). */
static int ftp_read(struct odbk_storage *st, const char *path, struct odbk_writer *dst, struct odbk_err *err)
{
    struct ftp *f = st->priv;
    char *full = full_path(f, path), *u = url_for(f, full, 0);
    struct odbk_curl *c = odbk_curl_new();
    struct read_ctx rc = {0};
    struct xfer x = {f, c, prep_read, &rc, u, "read", full, NULL, CURLE_OK, 0, 0};
    struct odbk_retry retry = retry_policy(f, NULL);
    int r;
    rc.x = &x;
    rc.retry = &retry;
    rc.dst = dst;
    r = odbk_retry(&retry, xfer_once, xfer_transient, &x, err);   /* xfer_run's, with the budget at hand */
    if (r < 0 && rc.dst_failed)
        *err = rc.dst_err;
    else if (r < 0 && !odbk_curl_ftp_transient(x.cc, x.reply) &&
             (x.cc == CURLE_REMOTE_FILE_NOT_FOUND || (x.cc == CURLE_FTP_COULDNT_RETR_FILE && rc.off == 0)))
        odbk_err_set(err, ODBK_E_NOINPUT, "storage '%s': no such object '%s'", f->name, path);
    odbk_curl_free(c);
    free(u);
    free(full);
    return r < 0 ? -1 : 0;
}

/* ---- stat, list, remove ---- */

static void prep_stat(struct xfer *x)
{
    curl_easy_setopt(x->c->h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(x->c->h, CURLOPT_FILETIME, 1L);
}

static int stat_locked(struct ftp *f, const char *path, struct odbk_storage_entry *out, struct odbk_err *err)
{
    char *full = full_path(f, path), *u = url_for(f, full, 0);
    struct xfer x = {f, f->ctl, prep_stat, NULL, u, "stat", full, NULL, CURLE_OK, 0, 0};
    curl_off_t size = -1, mtime = -1;
    int r = 0;
    if (xfer_run(&x, err) < 0) {
        if (x.cc == CURLE_REMOTE_FILE_NOT_FOUND ||
            (x.cc == CURLE_FTP_COULDNT_RETR_FILE && !odbk_curl_ftp_transient(x.cc, x.reply))) {
            odbk_err_clear(err);
            r = 1;
        } else {
            r = -1;
        }
    } else {
        curl_easy_getinfo(f->ctl->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &size);
        curl_easy_getinfo(f->ctl->h, CURLINFO_FILETIME_T, &mtime);
        if (size < 0) {
            r = 1;   /* a directory, or something without a size */
        } else {
            out->path = NULL;
            out->size = (uint64_t)size;
            out->mtime = mtime > 0 ? (time_t)mtime : 0;
        }
    }
    free(u);
    free(full);
    return r;
}

static int ftp_stat(struct odbk_storage *st, const char *path, struct odbk_storage_entry *out,
                    struct odbk_err *err)
{
    struct ftp *f = st->priv;
    int r;
    pthread_mutex_lock(&f->mu);
    r = stat_locked(f, path, out, err);
    pthread_mutex_unlock(&f->mu);
    return r;
}

struct buf {
    char *p;
    size_t len;
};

static size_t buf_cb(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct buf *b = ctx;
    size_t n = size * nmemb;
    b->p = odbk_xrealloc(b->p, b->len + n + 1);
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return n;
}

struct dirent_ftp {
    char *name;
    int dir;
    uint64_t size;
    time_t mtime;
};

/* "type=file;size=14;modify=20260102030405; name" */
static int parse_mlsd(char *line, struct dirent_ftp *e)
{
    char *sp = strchr(line, ' '), *fact, *save = NULL;
    int type = -1;
    if (!sp)
        return -1;
    *sp = '\0';
    e->name = sp + 1;
    e->size = 0;
    e->mtime = 0;
    for (fact = strtok_r(line, ";", &save); fact; fact = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(fact, '=');
        if (!eq)
            continue;
        *eq++ = '\0';
        if (!strcasecmp(fact, "type"))
            type = !strcasecmp(eq, "file") ? 0 : !strcasecmp(eq, "dir") ? 1 : -1;
        else if (!strcasecmp(fact, "size"))
            e->size = strtoull(eq, NULL, 10);
        else if (!strcasecmp(fact, "modify") && strlen(eq) >= 14) {
            struct tm tm = {0};
            if (sscanf(eq, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                       &tm.tm_sec) == 6) {
                tm.tm_year -= 1900;
                tm.tm_mon -= 1;
                e->mtime = timegm(&tm);
            }
        }
    }
    if (type < 0)
        return -1;
    e->dir = type;
    return 0;
}

/* "-rw-r--r-- 1 owner group 14 Jan 02 03:04 name" (no mtime: 0, unknown) */
static int parse_list(char *line, struct dirent_ftp *e)
{
    char *p = line;
    int field;
    if (line[0] != '-' && line[0] != 'd')
        return -1;
    e->dir = line[0] == 'd';
    e->mtime = 0;
    for (field = 0; field < 8; field++) {
        while (*p && *p != ' ')
            p++;
        while (*p == ' ')
            p++;
        if (!*p)
            return -1;
        if (field == 3)
            e->size = strtoull(p, NULL, 10);
    }
    e->name = p;
    return 0;
}

struct list_ctx {
    const char *prefix;
    odbk_storage_list_cb cb;
    void *ctx;
};

static void prep_list(struct xfer *x)
{
    struct buf *b = x->ctx;
    free(b->p);   /* a retry starts the listing over */
    b->p = NULL;
    b->len = 0;
    if (!x->f->no_mlsd)
        curl_easy_setopt(x->c->h, CURLOPT_CUSTOMREQUEST, "MLSD");
    curl_easy_setopt(x->c->h, CURLOPT_WRITEFUNCTION, buf_cb);
    curl_easy_setopt(x->c->h, CURLOPT_WRITEDATA, b);
}

static int walk(struct ftp *f, const char *rel, struct list_ctx *lc, struct odbk_err *err)
{
    char *dir = full_path(f, rel), *u = url_for(f, dir, 1), *line, *save = NULL;
    struct buf b = {NULL, 0};
    size_t plen = strlen(lc->prefix);
    struct xfer x = {f, f->ctl, prep_list, &b, u, "list", *dir ? dir : ".", NULL, CURLE_OK, 0, 0};
    int r = xfer_run(&x, err);
    if (r < 0 && !f->no_mlsd && (x.reply == 500 || x.reply == 501 || x.reply == 502 || x.reply == 504)) {
        f->no_mlsd = 1;   /* no MLSD here: LIST from now on */
        r = xfer_run(&x, err);
    }
    if (r < 0) {
        /* a directory that does not exist holds nothing */
        if (x.reply == 550 || x.cc == CURLE_REMOTE_FILE_NOT_FOUND) {
            odbk_err_clear(err);
            r = 0;
        }
        goto out;
    }
    for (line = b.p ? strtok_r(b.p, "\r\n", &save) : NULL; line && r == 0; line = strtok_r(NULL, "\r\n", &save)) {
        struct dirent_ftp e;
        char *child;
        size_t clen;
        if ((f->no_mlsd ? parse_list(line, &e) : parse_mlsd(line, &e)) < 0 || !odbk_storage_entry_name_ok(e.name))
            continue;
        child = *rel ? odbk_xasprintf("%s/%s", rel, e.name) : odbk_xstrdup(e.name);
        clen = strlen(child);
        if (!strncmp(child, lc->prefix, clen < plen ? clen : plen)) {
            if (e.dir) {
                r = walk(f, child, lc, err);
            } else if (clen >= plen) {
                struct odbk_storage_entry ent = {child, e.size, e.mtime};
                r = lc->cb(lc->ctx, &ent);
            }
        }
        free(child);
    }
out:
    free(b.p);
    free(u);
    free(dir);
    return r;
}

static int ftp_list(struct odbk_storage *st, const char *prefix, odbk_storage_list_cb cb, void *ctx,
                    struct odbk_err *err)
{
    struct ftp *f = st->priv;
    struct list_ctx lc = {prefix ? prefix : "", cb, ctx};
    const char *slash = strrchr(lc.prefix, '/');
    char *start = slash ? odbk_xstrndup(lc.prefix, (size_t)(slash - lc.prefix)) : odbk_xstrdup("");
    int r;
    pthread_mutex_lock(&f->mu);
    r = walk(f, start, &lc, err);
    pthread_mutex_unlock(&f->mu);
    free(start);
    return r;
}

static int ftp_remove(struct odbk_storage *st, const char *path, struct odbk_err *err)
{
    struct ftp *f = st->priv;
    char *full = full_path(f, path), *cmd = odbk_xasprintf("DELE %s", full), why[CURL_ERROR_SIZE];
    struct curl_slist *cmds = curl_slist_append(NULL, cmd);
    struct odbk_storage_entry e;
    CURLcode cc;
    int r;
    cmds = add_rmdirs(f, cmds, path);
    pthread_mutex_lock(&f->mu);
    r = run_quote(f, f->ctl, cmds, "remove", full, &cc, err);
    if (r < 0 && cc == CURLE_QUOTE_ERROR) {
        /* refused: fine if there is nothing to remove */
        int s;
        snprintf(why, sizeof(why), "%s", f->ctl->errbuf[0] ? f->ctl->errbuf : "refused");
        odbk_err_clear(err);
        s = stat_locked(f, path, &e, err);
        if (s < 0)
            r = -1;
        else if (s == 0)
            r = odbk_err_set(err, ODBK_E_IO, "storage '%s': cannot remove '%s': %s", f->name, full, why);
        else
            r = 0;
    }
    pthread_mutex_unlock(&f->mu);
    curl_slist_free_all(cmds);
    free(cmd);
    free(full);
    return r < 0 ? -1 : 0;
}

const struct odbk_storage_driver odbk_storage_ftp_driver = {
    .type = "ftp",
    .features = ODBK_STORAGE_F_DIRS | ODBK_STORAGE_F_RANGE_READ,
    .keys = ftp_keys,
    .open = ftp_open,
    .close = ftp_close,
    .open_write = ftp_open_write,
    .read = ftp_read,
    .stat = ftp_stat,
    .list = ftp_list,
    .remove = ftp_remove,
    .presign = NULL,
};
