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
 * Writes: the writer chain pushes, curl pulls; a worker thread runs the STOR of "NAME.odbk-tmp-PID-N"
 * and reads from a bounded ring that write() fills, so memory stays at the ring's size whatever the
 * object's.  finish() waits for the upload, checks its size on the server and renames it (RNFR/RNTO;
 * DELE of the target first when the server refuses to rename over it); abort() stops the transfer and
 * deletes the temporary file.  An upload whose STOR fails before curl took a byte of it (a 4xx reply, no
 * data connection) is sent again; one that fails later is not resumed (FTP does not say how much of it the
 * server really stored, and the stream cannot be rewound).  Reads resume at the offset reached (REST) after
 * a dropped connection or a 4xx reply; small operations start over. */
#include "storage/storage.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/interrupt.h"
#include "common/util.h"

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
    CURL *ctl;               /* the handle of stat/list/remove (one thread at a time) */
    pthread_mutex_t mu;
};

/* ---- configuration ---- */

static int parse_long(const struct odbk_config_section *sec, const char *key, long def, long lo, long hi,
                      int seconds, long *out, struct odbk_err *err)
{
    const struct odbk_config_kv *kv = odbk_config_get_kv(sec, key);
    char *end;
    long v;
    if (!kv) {
        *out = def;
        return 0;
    }
    errno = 0;
    v = strtol(kv->value, &end, 10);
    if (seconds && *end == 's')
        end++;
    if (errno || end == kv->value || *end || v < lo || v > hi)
        return odbk_config_error(err, sec, kv, "'%s' is not a number%s from %ld to %ld", kv->value,
                                 seconds ? " of seconds" : "", lo, hi);
    *out = v;
    return 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void ftp_free_priv(struct ftp *f)
{
    if (!f)
        return;
    if (f->ctl)
        curl_easy_cleanup(f->ctl);
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
    long retries;
    pthread_mutex_init(&f->mu, NULL);
    f->name = st->name;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        odbk_err_set(err, ODBK_E_SOFTWARE, "storage '%s': cannot initialise libcurl", st->name);
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
        parse_long(sec, "timeout", 60, 1, 86400, 1, &f->timeout_s, err) < 0 ||
        parse_long(sec, "connect-timeout", 15, 1, 86400, 1, &f->connect_timeout_s, err) < 0 ||
        parse_long(sec, "retries", 3, 0, 100, 0, &retries, err) < 0)
        goto fail;
    f->retries = (int)retries;
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

static size_t discard(char *data, size_t size, size_t nmemb, void *ctx)
{
    return size * nmemb;
}

/* A stop signal (common/interrupt.h) ends the transfer under way: curl asks at least once a second. */
static int stop_on_signal(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    return odbk_interrupted() != 0;
}

/* The options of every transfer; output is discarded unless the caller sets a WRITEFUNCTION after. */
static void setup(struct ftp *f, CURL *c, char *errbuf)
{
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "ftp,ftps");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERNAME, f->user);
    curl_easy_setopt(c, CURLOPT_PASSWORD, f->password);
    curl_easy_setopt(c, CURLOPT_FTP_FILEMETHOD, (long)CURLFTPMETHOD_NOCWD);
    curl_easy_setopt(c, CURLOPT_USE_SSL, f->tls == TLS_REQUIRED ? (long)CURLUSESSL_ALL
                                         : f->tls == TLS_TRY    ? (long)CURLUSESSL_TRY
                                                                : (long)CURLUSESSL_NONE);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, f->tls_verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, f->tls_verify ? 2L : 0L);
    if (f->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, f->ca_file);
    if (f->active)
        curl_easy_setopt(c, CURLOPT_FTPPORT, "-");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, f->connect_timeout_s);
    curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT, f->timeout_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, f->timeout_s);
    curl_easy_setopt(c, CURLOPT_ACCEPTTIMEOUT_MS, f->timeout_s * 1000);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, stop_on_signal);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
}

/* Failures that a new connection may cure. */
static int curl_retryable(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_FTP_ACCEPT_FAILED:
    case CURLE_FTP_ACCEPT_TIMEOUT:
    case CURLE_FTP_CANT_GET_HOST:
    case CURLE_FTP_WEIRD_PASV_REPLY:
    case CURLE_FTP_WEIRD_227_FORMAT:
    case CURLE_WEIRD_SERVER_REPLY:
        return 1;
    default:
        return 0;
    }
}

/* Failures that another attempt may cure: a connection failure, or a 4xx reply (RFC 959's transient
 * negative completion: 421 closing, 425 no data connection, 426 transfer aborted, 450/451/452). */
static int retryable(CURL *c, CURLcode rc)
{
    long resp = 0;
    if (rc == CURLE_OK)
        return 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp);
    return curl_retryable(rc) || resp / 100 == 4;
}

/* Fill err for a failed transfer: "storage 'S': cannot WHAT 'PATH': why". */
static int curl_fail(struct ftp *f, CURL *c, CURLcode rc, const char *errbuf, struct odbk_err *err,
                     const char *what, const char *path)
{
    const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);
    long resp = 0;
    enum odbk_errcode code = ODBK_E_IO;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp);
    switch (rc) {
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
    case CURLE_REMOTE_FILE_NOT_FOUND:
        code = ODBK_E_NOINPUT;
        break;
    case CURLE_REMOTE_ACCESS_DENIED:
        code = ODBK_E_PERM;
        break;
    case CURLE_OPERATION_TIMEDOUT:
        code = ODBK_E_TEMPFAIL;
        break;
    default:
        if (curl_retryable(rc) || resp / 100 == 4)
            code = ODBK_E_UNAVAILABLE;
        else if (resp == 550)
            code = ODBK_E_NOINPUT;
        else if (resp == 530)
            code = ODBK_E_PERM;
        break;
    }
    return odbk_err_set(err, code, "storage '%s': cannot %s '%s': %s", f->name, what, path, why);
}

static CURL *ctl_handle(struct ftp *f, char *errbuf)
{
    if (!f->ctl)
        f->ctl = curl_easy_init();
    else
        curl_easy_reset(f->ctl);  /* keeps the connection */
    setup(f, f->ctl, errbuf);
    return f->ctl;
}

/* QUOTE commands on the control handle, retried on connection failures. */
static CURLcode run_quote(struct ftp *f, CURL *c, char *errbuf, struct curl_slist *cmds)
{
    CURLcode rc;
    int attempt = 0;
    for (;;) {
        curl_easy_setopt(c, CURLOPT_URL, f->base);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_QUOTE, cmds);
        rc = curl_easy_perform(c);
        if (!retryable(c, rc) || attempt >= f->retries || odbk_storage_backoff(attempt++) < 0)
            return rc;
    }
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
    CURL *c;
    char errbuf[CURL_ERROR_SIZE];
    char *key, *final, *tmp;
    pthread_t thread;
    int running;             /* the worker thread exists and has not been joined */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    char *ring;
    size_t head, len;        /* bytes [head, head+len) mod RING_SIZE wait for curl */
    int eof, aborted, done;
    CURLcode rc;
    uint64_t written;        /* bytes accepted by write() */
    curl_off_t last_ulnow;   /* stall detection: bytes curl had sent at last_move */
    struct timespec last_move;
    int stalled;
    int taken;               /* curl has taken bytes from the ring: the upload can no longer start over */
    int tmp_exists;          /* the temporary file may exist on the server */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t upload_read(char *out, size_t size, size_t nmemb, void *ctx)
{
    struct ftp_writer *fw = ctx;
    size_t want = size * nmemb, n = 0;
    pthread_mutex_lock(&fw->mu);
    while (!fw->len && !fw->eof && !fw->aborted)
        pthread_cond_wait(&fw->cond, &fw->mu);
    if (fw->aborted) {
        pthread_mutex_unlock(&fw->mu);
        return CURL_READFUNC_ABORT;
    }
    while (n < want && fw->len) {
        size_t chunk = RING_SIZE - fw->head;
        if (chunk > fw->len)
            chunk = fw->len;
        if (chunk > want - n)
            chunk = want - n;
        memcpy(out + n, fw->ring + fw->head, chunk);
        n += chunk;
        fw->head = (fw->head + chunk) % RING_SIZE;
        fw->len -= chunk;
    }
    if (n)
        fw->taken = 1;
    clock_gettime(CLOCK_MONOTONIC, &fw->last_move);   /* time spent waiting for the writer is no stall */
    pthread_cond_broadcast(&fw->cond);
    pthread_mutex_unlock(&fw->mu);
    return n;
}

static int upload_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    /* Abort when asked to, or when the server has taken nothing for `timeout` seconds: curl's own
     * low-speed check averages over seconds of history and socket buffers hide a stopped server. */
    struct ftp_writer *fw = ctx;
    double now = now_s();
    int stop;
    pthread_mutex_lock(&fw->mu);
    if (ulnow != fw->last_ulnow) {
        fw->last_ulnow = ulnow;
        clock_gettime(CLOCK_MONOTONIC, &fw->last_move);
    } else if (now - ((double)fw->last_move.tv_sec + fw->last_move.tv_nsec / 1e9) > (double)fw->f->timeout_s) {
        fw->stalled = 1;
    }
    stop = fw->aborted || fw->stalled || odbk_interrupted();
    pthread_mutex_unlock(&fw->mu);
    return stop;
}

static void *upload_thread(void *ctx)
{
    struct ftp_writer *fw = ctx;
    CURLcode rc;
    int attempt = 0, again;
    /* a STOR that failed before curl took a byte (a 4xx reply, no data connection) is sent again */
    do {
        pthread_mutex_lock(&fw->mu);   /* the stall clock starts with each attempt: a backoff is no stall */
        fw->last_ulnow = 0;
        clock_gettime(CLOCK_MONOTONIC, &fw->last_move);
        pthread_mutex_unlock(&fw->mu);
        rc = curl_easy_perform(fw->c);
        pthread_mutex_lock(&fw->mu);
        again = retryable(fw->c, rc) && !fw->taken && !fw->aborted && !fw->stalled && attempt < fw->f->retries;
        pthread_mutex_unlock(&fw->mu);
    } while (again && odbk_storage_backoff(attempt++) == 0);
    pthread_mutex_lock(&fw->mu);
    fw->rc = rc;
    fw->done = 1;
    pthread_cond_broadcast(&fw->cond);
    pthread_mutex_unlock(&fw->mu);
    return NULL;
}

static void join_worker(struct ftp_writer *fw)
{
    if (fw->running) {
        pthread_join(fw->thread, NULL);
        fw->running = 0;
    }
}

static int upload_fail(struct ftp_writer *fw, CURLcode rc, struct odbk_err *err)
{
    if (fw->stalled)
        return odbk_err_set(err, ODBK_E_TEMPFAIL, "storage '%s': cannot upload '%s': the server took nothing for %ld s",
                            fw->f->name, fw->final, fw->f->timeout_s);
    return curl_fail(fw->f, fw->c, rc, fw->errbuf, err, "upload", fw->final);
}

static int fw_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct ftp_writer *fw = (struct ftp_writer *)w;
    const char *p = buf;
    pthread_mutex_lock(&fw->mu);
    while (len) {
        size_t tail, chunk;
        if (fw->done)
            break;
        if (fw->len == RING_SIZE) {
            pthread_cond_wait(&fw->cond, &fw->mu);
            continue;
        }
        tail = (fw->head + fw->len) % RING_SIZE;
        chunk = tail < fw->head ? fw->head - tail : RING_SIZE - tail;   /* contiguous free space */
        if (chunk > len)
            chunk = len;
        memcpy(fw->ring + tail, p, chunk);
        fw->len += chunk;
        fw->written += chunk;
        p += chunk;
        len -= chunk;
        pthread_cond_broadcast(&fw->cond);
    }
    pthread_mutex_unlock(&fw->mu);
    if (len) {  /* the upload ended before taking everything */
        join_worker(fw);
        return upload_fail(fw, fw->rc ? fw->rc : CURLE_SEND_ERROR, err);
    }
    return 0;
}

static int fw_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct ftp_writer *fw = (struct ftp_writer *)w;
    struct ftp *f = fw->f;
    struct curl_slist *cmds = NULL;
    curl_off_t size = -1;
    CURLcode rc;
    char *cmd;
    int attempt;
    pthread_mutex_lock(&fw->mu);
    fw->eof = 1;
    pthread_cond_broadcast(&fw->cond);
    pthread_mutex_unlock(&fw->mu);
    join_worker(fw);
    if (fw->rc != CURLE_OK)
        return upload_fail(fw, fw->rc, err);

    /* what the server stored must be what was sent */
    for (attempt = 0;; attempt++) {
        char *u = url_for(f, fw->tmp, 0);
        curl_easy_reset(fw->c);
        setup(f, fw->c, fw->errbuf);
        curl_easy_setopt(fw->c, CURLOPT_URL, u);
        curl_easy_setopt(fw->c, CURLOPT_NOBODY, 1L);
        rc = curl_easy_perform(fw->c);
        free(u);
        if (!retryable(fw->c, rc) || attempt >= f->retries || odbk_storage_backoff(attempt) < 0)
            break;
    }
    if (rc != CURLE_OK)
        return curl_fail(f, fw->c, rc, fw->errbuf, err, "check the size of", fw->tmp);
    curl_easy_getinfo(fw->c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &size);
    if (size >= 0 && (uint64_t)size != fw->written)
        return odbk_err_set(err, ODBK_E_IO, "storage '%s': '%s' has %lld bytes on the server, %llu were sent",
                            f->name, fw->tmp, (long long)size, (unsigned long long)fw->written);

    curl_easy_reset(fw->c);
    setup(f, fw->c, fw->errbuf);
    cmd = odbk_xasprintf("RNFR %s", fw->tmp);
    cmds = curl_slist_append(cmds, cmd);
    free(cmd);
    cmd = odbk_xasprintf("RNTO %s", fw->final);
    cmds = curl_slist_append(cmds, cmd);
    free(cmd);
    rc = run_quote(f, fw->c, fw->errbuf, cmds);
    if (rc == CURLE_QUOTE_ERROR) {
        /* a server that does not rename over an existing file: delete it first */
        struct curl_slist *again = NULL;
        cmd = odbk_xasprintf("*DELE %s", fw->final);
        again = curl_slist_append(again, cmd);
        free(cmd);
        for (struct curl_slist *l = cmds; l; l = l->next)
            again = curl_slist_append(again, l->data);
        rc = run_quote(f, fw->c, fw->errbuf, again);
        curl_slist_free_all(again);
    }
    curl_slist_free_all(cmds);
    if (rc != CURLE_OK)
        return curl_fail(f, fw->c, rc, fw->errbuf, err, "rename into", fw->final);
    fw->tmp_exists = 0;
    return 0;
}

static void fw_abort(struct odbk_writer *w)
{
    struct ftp_writer *fw = (struct ftp_writer *)w;
    struct curl_slist *cmds = NULL;
    char *cmd;
    pthread_mutex_lock(&fw->mu);
    fw->aborted = 1;
    pthread_cond_broadcast(&fw->cond);
    pthread_mutex_unlock(&fw->mu);
    join_worker(fw);
    if (!fw->tmp_exists)
        return;
    curl_easy_reset(fw->c);
    setup(fw->f, fw->c, fw->errbuf);
    cmd = odbk_xasprintf("*DELE %s", fw->tmp);
    cmds = curl_slist_append(cmds, cmd);
    free(cmd);
    cmds = add_rmdirs(fw->f, cmds, fw->key);
    run_quote(fw->f, fw->c, fw->errbuf, cmds);
    curl_slist_free_all(cmds);
    fw->tmp_exists = 0;
}

static void fw_free(struct odbk_writer *w)
{
    struct ftp_writer *fw = (struct ftp_writer *)w;
    fw_abort(w);   /* stops the worker; after a finish there is nothing left to delete */
    curl_easy_cleanup(fw->c);
    pthread_cond_destroy(&fw->cond);
    pthread_mutex_destroy(&fw->mu);
    free(fw->ring);
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
    struct curl_slist *cmds = NULL;
    CURLcode rc;
    char *u;
    fw->f = f;
    fw->key = odbk_xstrdup(path);
    fw->final = full_path(f, path);
    fw->tmp = odbk_storage_temp_name(fw->final);
    pthread_mutex_init(&fw->mu, NULL);
    pthread_cond_init(&fw->cond, NULL);
    fw->c = curl_easy_init();
    if (!fw->c) {
        odbk_err_set(err, ODBK_E_OSERR, "storage '%s': cannot create a curl handle", f->name);
        goto fail;
    }

    /* log in and create the directories now, so that a refusal comes from here rather than a write */
    setup(f, fw->c, fw->errbuf);
    cmds = add_mkdirs(NULL, fw->final);
    if (!cmds)
        cmds = curl_slist_append(cmds, "NOOP");
    rc = run_quote(f, fw->c, fw->errbuf, cmds);
    curl_slist_free_all(cmds);
    if (rc != CURLE_OK) {
        curl_fail(f, fw->c, rc, fw->errbuf, err, "create the directory of", fw->final);
        goto fail;
    }

    curl_easy_reset(fw->c);
    setup(f, fw->c, fw->errbuf);
    u = url_for(f, fw->tmp, 0);
    curl_easy_setopt(fw->c, CURLOPT_URL, u);
    free(u);
    curl_easy_setopt(fw->c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(fw->c, CURLOPT_READFUNCTION, upload_read);
    curl_easy_setopt(fw->c, CURLOPT_READDATA, fw);
    curl_easy_setopt(fw->c, CURLOPT_XFERINFOFUNCTION, upload_progress);
    curl_easy_setopt(fw->c, CURLOPT_XFERINFODATA, fw);
    curl_easy_setopt(fw->c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(fw->c, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
    fw->ring = odbk_xmalloc(RING_SIZE);
    fw->tmp_exists = 1;
    clock_gettime(CLOCK_MONOTONIC, &fw->last_move);
    if ((errno = pthread_create(&fw->thread, NULL, upload_thread, fw)) != 0) {
        odbk_err_sys(err, ODBK_E_OSERR, "storage '%s': cannot start the upload thread", f->name);
        goto fail;
    }
    fw->running = 1;
    odbk_writer_init(&fw->w, &ftp_write_ops, NULL);
    *out = &fw->w;
    return 0;
fail:
    if (fw->c)
        curl_easy_cleanup(fw->c);
    pthread_cond_destroy(&fw->cond);
    pthread_mutex_destroy(&fw->mu);
    free(fw->ring);
    free(fw->key);
    free(fw->final);
    free(fw->tmp);
    free(fw);
    return -1;
}

/* ---- read ---- */

struct read_ctx {
    struct odbk_writer *dst;
    struct odbk_err *err;
    uint64_t off;
    int dst_failed;
};

static size_t read_cb(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct read_ctx *rc = ctx;
    size_t n = size * nmemb;
    if (odbk_writer_write(rc->dst, data, n, rc->err) < 0) {
        rc->dst_failed = 1;
        return 0;
    }
    rc->off += n;
    return n;
}

static int ftp_read(struct odbk_storage *st, const char *path, struct odbk_writer *dst, struct odbk_err *err)
{
    struct ftp *f = st->priv;
    char errbuf[CURL_ERROR_SIZE], *full = full_path(f, path), *u = url_for(f, full, 0);
    struct read_ctx rc = {dst, err, 0, 0};
    CURL *c = curl_easy_init();
    CURLcode cc;
    int attempt = 0, r = -1;
    if (!c) {
        odbk_err_set(err, ODBK_E_OSERR, "storage '%s': cannot create a curl handle", f->name);
        goto out;
    }
    for (;;) {
        uint64_t before = rc.off;
        curl_easy_reset(c);
        setup(f, c, errbuf);
        curl_easy_setopt(c, CURLOPT_URL, u);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, read_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &rc);
        curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)rc.off);
        cc = curl_easy_perform(c);
        if (cc == CURLE_OK)
            break;
        if (rc.dst_failed)
            goto out;
        /* real progress restores the retry budget (ODBK_STORAGE_RETRY_PROGRESS) */
        if (rc.off - before >= ODBK_STORAGE_RETRY_PROGRESS)
            attempt = 0;
        if (!retryable(c, cc) || attempt >= f->retries || odbk_storage_backoff(attempt++) < 0) {
            if (cc == CURLE_REMOTE_FILE_NOT_FOUND ||
                (cc == CURLE_FTP_COULDNT_RETR_FILE && rc.off == 0 && !retryable(c, cc))) {
                odbk_err_set(err, ODBK_E_NOINPUT, "storage '%s': no such object '%s'", f->name, path);
                goto out;
            }
            curl_fail(f, c, cc, errbuf, err, "read", full);
            goto out;
        }
    }
    r = 0;
out:
    if (c)
        curl_easy_cleanup(c);
    free(u);
    free(full);
    return r;
}

/* ---- stat, list, remove ---- */

static int stat_locked(struct ftp *f, const char *path, struct odbk_storage_entry *out, struct odbk_err *err)
{
    char errbuf[CURL_ERROR_SIZE], *full = full_path(f, path), *u = url_for(f, full, 0);
    CURL *c;
    CURLcode rc;
    curl_off_t size = -1, mtime = -1;
    int attempt = 0, r = 0;
    for (;;) {
        c = ctl_handle(f, errbuf);
        curl_easy_setopt(c, CURLOPT_URL, u);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
        rc = curl_easy_perform(c);
        if (!retryable(c, rc) || attempt >= f->retries || odbk_storage_backoff(attempt++) < 0)
            break;
    }
    if (rc == CURLE_REMOTE_FILE_NOT_FOUND || (rc == CURLE_FTP_COULDNT_RETR_FILE && !retryable(c, rc))) {
        r = 1;
    } else if (rc != CURLE_OK) {
        r = curl_fail(f, c, rc, errbuf, err, "stat", full);
    } else {
        curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &size);
        curl_easy_getinfo(c, CURLINFO_FILETIME_T, &mtime);
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

static int walk(struct ftp *f, const char *rel, struct list_ctx *lc, struct odbk_err *err)
{
    char errbuf[CURL_ERROR_SIZE], *dir = full_path(f, rel), *u = url_for(f, dir, 1), *line, *save = NULL;
    struct buf b = {NULL, 0};
    size_t plen = strlen(lc->prefix);
    CURL *c;
    CURLcode rc;
    long resp = 0;
    int attempt = 0, r = 0;
    for (;;) {
        free(b.p);
        b.p = NULL;
        b.len = 0;
        c = ctl_handle(f, errbuf);
        curl_easy_setopt(c, CURLOPT_URL, u);
        if (!f->no_mlsd)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "MLSD");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        rc = curl_easy_perform(c);
        resp = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp);
        if (rc != CURLE_OK && !f->no_mlsd && (resp == 500 || resp == 501 || resp == 502 || resp == 504)) {
            f->no_mlsd = 1;   /* no MLSD here: LIST from now on */
            continue;
        }
        if (!retryable(c, rc) || attempt >= f->retries || odbk_storage_backoff(attempt++) < 0)
            break;
    }
    if (rc != CURLE_OK) {
        /* a directory that does not exist holds nothing */
        if (resp != 550 && rc != CURLE_REMOTE_FILE_NOT_FOUND)
            r = curl_fail(f, c, rc, errbuf, err, "list", *dir ? dir : ".");
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
    char errbuf[CURL_ERROR_SIZE], *full = full_path(f, path), *cmd = odbk_xasprintf("DELE %s", full);
    struct curl_slist *cmds = curl_slist_append(NULL, cmd);
    struct odbk_storage_entry e;
    CURLcode rc;
    CURL *c;
    int r = 0;
    cmds = add_rmdirs(f, cmds, path);
    pthread_mutex_lock(&f->mu);
    c = ctl_handle(f, errbuf);
    rc = run_quote(f, c, errbuf, cmds);
    if (rc == CURLE_QUOTE_ERROR) {
        /* refused: fine if there is nothing to remove */
        int s = stat_locked(f, path, &e, err);
        if (s < 0)
            r = -1;
        else if (s == 0)
            r = odbk_err_set(err, ODBK_E_IO, "storage '%s': cannot remove '%s': %s", f->name, full,
                             *errbuf ? errbuf : "refused");
    } else if (rc != CURLE_OK) {
        r = curl_fail(f, c, rc, errbuf, err, "remove", full);
    }
    pthread_mutex_unlock(&f->mu);
    curl_slist_free_all(cmds);
    free(cmd);
    free(full);
    return r;
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
