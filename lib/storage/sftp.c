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
 * Writes go to "NAME.odbk-tmp-PID-N" in the target directory (directories are created on demand), through
 * a 1 MiB buffer handed to libssh2_sftp_write whole so that libssh2 pipelines it, and are renamed over NAME
 * on finish.  SFTP v3 servers (OpenSSH) refuse to rename over an existing file whatever the flags say; the
 * target is then removed first, which opens a short window where neither version is visible.
 *
 * A dropped connection (socket error, timeout, server gone) is retried with a fresh one: reads resume at
 * the offset reached, writes resume at the offset the server acknowledged, small operations start over. */
#include "storage/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#define IO_CHUNK (1024 * 1024)
#define POOL_MAX 4

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
    pthread_mutex_t mu;      /* guards pool */
    struct conn *pool[POOL_MAX];
    int n_pool;
};

struct conn {
    int sock;
    LIBSSH2_SESSION *ss;
    LIBSSH2_SFTP *sftp;
    int dropped;             /* the last failure was the connection, not the server's answer */
};

/* ---- configuration ---- */

static int parse_seconds(const struct odbk_config_section *sec, const char *key, long def, long *out_ms,
                         struct odbk_err *err)
{
    const struct odbk_config_kv *kv = odbk_config_get_kv(sec, key);
    char *end;
    long v;
    if (!kv) {
        *out_ms = def * 1000;
        return 0;
    }
    errno = 0;
    v = strtol(kv->value, &end, 10);
    if (*end == 's')
        end++;
    if (errno || end == kv->value || *end || v <= 0 || v > 86400)
        return odbk_config_error(err, sec, kv, "'%s' is not a number of seconds (1 to 86400)", kv->value);
    *out_ms = v * 1000;
    return 0;
}

static int parse_int(const struct odbk_config_section *sec, const char *key, long def, long lo, long hi,
                     long *out, struct odbk_err *err)
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
    if (errno || end == kv->value || *end || v < lo || v > hi)
        return odbk_config_error(err, sec, kv, "'%s' is not a number from %ld to %ld", kv->value, lo, hi);
    *out = v;
    return 0;
}

/* "SHA256:abc=" → "abc"; NULL when it cannot be the base64 of 32 bytes. */
static char *normalise_pin(const char *v)
{
    size_t n;
    char *p;
    if (!strncmp(v, "SHA256:", 7))
        v += 7;
    p = odbk_xstrdup(v);
    n = strlen(p);
    while (n && p[n - 1] == '=')
        p[--n] = '\0';
    if (n != 43 || strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") != n) {
        free(p);
        return NULL;
    }
    return p;
}

static void sftp_free_priv(struct sftp *s)
{
    int i;
    if (!s)
        return;
    for (i = 0; i < s->n_pool; i++) {
        struct conn *c = s->pool[i];
        libssh2_sftp_shutdown(c->sftp);
        libssh2_session_disconnect(c->ss, "bye");
        libssh2_session_free(c->ss);
        close(c->sock);
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
    free(s);
}

static pthread_once_t ssh_once = PTHREAD_ONCE_INIT;
static int ssh_init_rc;

static void ssh_init(void)
{
    ssh_init_rc = libssh2_init(0);
}

static int sftp_open(struct odbk_storage *st, const struct odbk_config_section *sec, struct odbk_err *err)
{
    const struct odbk_config_kv *kv;
    struct sftp *s = odbk_xcalloc(1, sizeof(*s));
    long port, retries;
    pthread_mutex_init(&s->mu, NULL);
    s->name = st->name;

    pthread_once(&ssh_once, ssh_init);
    if (ssh_init_rc != 0) {
        odbk_err_set(err, ODBK_E_SOFTWARE, "storage '%s': cannot initialise libssh2", st->name);
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
    if (parse_int(sec, "port", 22, 1, 65535, &port, err) < 0 ||
        parse_int(sec, "retries", 3, 0, 100, &retries, err) < 0 ||
        parse_seconds(sec, "timeout", 60, &s->timeout_ms, err) < 0 ||
        parse_seconds(sec, "connect-timeout", 15, &s->connect_timeout_ms, err) < 0)
        goto fail;
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
    if (kv && !(s->pin = normalise_pin(kv->value))) {
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
    st->priv = s;
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

/* libssh2's default send() raises SIGPIPE when the server has gone; a library must not. */
static LIBSSH2_SEND_FUNC(send_nosignal)
{
    (void)abstract;
    return send(socket, buffer, length, flags | MSG_NOSIGNAL);
}

static int tcp_connect(struct sftp *s, int *out, struct odbk_err *err)
{
    struct addrinfo hints = {0}, *res = NULL, *ai;
    char portstr[16];
    int rc, fd = -1, e = 0;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_UNSPEC;
    snprintf(portstr, sizeof(portstr), "%d", s->port);
    rc = getaddrinfo(s->host, portstr, &hints, &res);
    if (rc != 0)
        return odbk_err_set(err, ODBK_E_UNAVAILABLE, "storage '%s': cannot resolve '%s': %s", s->name, s->host,
                            gai_strerror(rc));
    for (ai = res; ai; ai = ai->ai_next) {
        struct pollfd pfd;
        socklen_t sl = sizeof(e);
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        e = errno;
        if (e == EINPROGRESS) {
            pfd.fd = fd;
            pfd.events = POLLOUT;
            do
                rc = poll(&pfd, 1, (int)s->connect_timeout_ms);
            while (rc < 0 && errno == EINTR);
            if (rc == 0)
                e = ETIMEDOUT;
            else if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) != 0)
                e = errno;
            if (rc > 0 && e == 0)
                break;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        errno = e;
        return odbk_err_sys(err, ODBK_E_UNAVAILABLE, "storage '%s': cannot connect to '%s:%d'", s->name, s->host,
                            s->port);
    }
    {
        int one = 1, fl = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    }
    *out = fd;
    return 0;
}

static const char *session_msg(LIBSSH2_SESSION *ss)
{
    char *m = NULL;
    libssh2_session_last_error(ss, &m, NULL, 0);
    return m && *m ? m : "unknown error";
}

static const char *key_type_name(int type)
{
    switch (type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA: return "RSA";
    case LIBSSH2_HOSTKEY_TYPE_DSS: return "DSA";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return "ECDSA";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return "ECDSA-384";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return "ECDSA-521";
    case LIBSSH2_HOSTKEY_TYPE_ED25519: return "ED25519";
    default: return "unknown";
    }
}

static int known_host_type(int type)
{
    switch (type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
    case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
    case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519;
    default: return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
    }
}

/* The server's key must match the pin and/or known_hosts; refusals carry its fingerprint. */
static int check_host_key(struct sftp *s, LIBSSH2_SESSION *ss, struct odbk_err *err)
{
    size_t len;
    int type, rc;
    const char *key = libssh2_session_hostkey(ss, &len, &type);
    const unsigned char *hash = (const unsigned char *)libssh2_hostkey_hash(ss, LIBSSH2_HOSTKEY_HASH_SHA256);
    unsigned char b64[64];
    int n;
    if (!key || !hash)
        return odbk_err_set(err, ODBK_E_UNAVAILABLE, "storage '%s': '%s:%d' sent no usable host key", s->name,
                            s->host, s->port);
    n = EVP_EncodeBlock(b64, hash, 32);
    while (n > 0 && b64[n - 1] == '=')
        b64[--n] = '\0';
    if (s->pin && strcmp(s->pin, (char *)b64) != 0) {
        odbk_err_set(err, ODBK_E_PERM,
                     "storage '%s': host key of '%s:%d' does not match host-key-sha256: the server offers %s key "
                     "SHA256:%s, expected SHA256:%s", s->name, s->host, s->port, key_type_name(type), b64, s->pin);
        odbk_err_hint(err, "if the server's key really changed, confirm the new fingerprint with its administrator "
                      "before updating host-key-sha256");
        return -1;
    }
    if (s->known_hosts) {
        LIBSSH2_KNOWNHOSTS *kh = libssh2_knownhost_init(ss);
        if (!kh)
            return odbk_err_set(err, ODBK_E_OSERR, "storage '%s': cannot initialise known hosts", s->name);
        if (libssh2_knownhost_readfile(kh, s->known_hosts, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
            odbk_err_set(err, ODBK_E_CONFIG, "storage '%s': cannot read known-hosts '%s': %s", s->name,
                         s->known_hosts, session_msg(ss));
            libssh2_knownhost_free(kh);
            return -1;
        }
        rc = libssh2_knownhost_checkp(kh, s->host, s->port, key, len,
                                      LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
                                          known_host_type(type), NULL);
        libssh2_knownhost_free(kh);
        if (rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
            odbk_err_set(err, ODBK_E_PERM,
                         "storage '%s': host key of '%s:%d' has CHANGED: the server offers %s key SHA256:%s, "
                         "which is not the key recorded in '%s'", s->name, s->host, s->port, key_type_name(type),
                         b64, s->known_hosts);
            odbk_err_hint(err, "this may be an attack; if the key really changed, confirm the fingerprint with the "
                          "server's administrator, then replace its line in '%s'", s->known_hosts);
            return -1;
        }
        if (rc != LIBSSH2_KNOWNHOST_CHECK_MATCH) {
            odbk_err_set(err, ODBK_E_PERM,
                         "storage '%s': host '%s:%d' is not in known-hosts '%s' (the server offers %s key SHA256:%s)",
                         s->name, s->host, s->port, s->known_hosts, key_type_name(type), b64);
            odbk_err_hint(err, "confirm the fingerprint with the server's administrator, then add the key: "
                          "ssh-keyscan -p %d %s >> '%s' (or set host-key-sha256 = %s)", s->port, s->host,
                          s->known_hosts, b64);
            return -1;
        }
    }
    return 0;
}

static int authenticate(struct sftp *s, LIBSSH2_SESSION *ss, struct odbk_err *err)
{
    const char *how = NULL;
    char msg[256] = "";
    if (s->key) {
        how = "publickey";
        if (libssh2_userauth_publickey_fromfile_ex(ss, s->user, (unsigned)strlen(s->user), NULL, s->key,
                                                   s->passphrase) == 0)
            return 0;
        snprintf(msg, sizeof(msg), "%s", session_msg(ss));
    }
    if (s->password) {
        how = s->key ? "publickey, then password" : "password";
        if (libssh2_userauth_password_ex(ss, s->user, (unsigned)strlen(s->user), s->password,
                                         (unsigned)strlen(s->password), NULL) == 0)
            return 0;
        snprintf(msg, sizeof(msg), "%s", session_msg(ss));
    }
    odbk_err_set(err, ODBK_E_PERM, "storage '%s': authentication as '%s' on '%s:%d' failed (%s): %s", s->name,
                 s->user, s->host, s->port, how, msg);
    odbk_err_hint(err, "check user, private-key (and its passphrase) or password of [storage %s]", s->name);
    return -1;
}

static void conn_free(struct conn *c, int graceful)
{
    if (!c)
        return;
    if (c->sftp)   /* also when dropped: it frees what libssh2 keeps about outstanding requests */
        libssh2_sftp_shutdown(c->sftp);
    if (c->ss) {
        if (graceful)
            libssh2_session_disconnect(c->ss, "bye");
        libssh2_session_free(c->ss);
    }
    if (c->sock >= 0)
        close(c->sock);
    free(c);
}

static int conn_new(struct sftp *s, struct conn **out, struct odbk_err *err)
{
    struct conn *c = odbk_xcalloc(1, sizeof(*c));
    c->sock = -1;
    if (tcp_connect(s, &c->sock, err) < 0)
        goto fail;
    if (!(c->ss = libssh2_session_init())) {
        odbk_err_set(err, ODBK_E_OSERR, "storage '%s': cannot create an ssh session", s->name);
        goto fail;
    }
    libssh2_session_callback_set(c->ss, LIBSSH2_CALLBACK_SEND, (void *)send_nosignal);
    libssh2_session_set_blocking(c->ss, 1);
    libssh2_session_set_timeout(c->ss, s->timeout_ms);
    if (libssh2_session_handshake(c->ss, c->sock) != 0) {
        odbk_err_set(err, ODBK_E_UNAVAILABLE, "storage '%s': ssh handshake with '%s:%d' failed: %s", s->name,
                     s->host, s->port, session_msg(c->ss));
        goto fail;
    }
    if (check_host_key(s, c->ss, err) < 0 || authenticate(s, c->ss, err) < 0)
        goto fail;
    if (!(c->sftp = libssh2_sftp_init(c->ss))) {
        odbk_err_set(err, ODBK_E_UNAVAILABLE, "storage '%s': cannot start sftp on '%s:%d': %s", s->name, s->host,
                     s->port, session_msg(c->ss));
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
    if (libssh2_session_last_errno(c->ss) == LIBSSH2_ERROR_SFTP_PROTOCOL) {
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
        shutdown(c->sock, SHUT_RDWR);
    libssh2_sftp_close_handle(h);
}

/* Fill err for a failure on c with SFTP status fx (0: the connection failed):
 * "storage 'S': cannot WHAT 'PATH': why". */
static int fail_fx(struct sftp *s, struct conn *c, unsigned long fx, struct odbk_err *err, const char *what,
                   const char *path)
{
    enum odbk_errcode code = ODBK_E_IO;
    if (!fx) {
        int e = libssh2_session_last_errno(c->ss);
        return odbk_err_set(err, e == LIBSSH2_ERROR_TIMEOUT ? ODBK_E_TEMPFAIL : ODBK_E_UNAVAILABLE,
                            "storage '%s': cannot %s '%s': connection to '%s:%d' failed: %s", s->name, what, path,
                            s->host, s->port, session_msg(c->ss));
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

static int retryable(const struct odbk_err *err)
{
    return err->code == ODBK_E_UNAVAILABLE || err->code == ODBK_E_TEMPFAIL;
}

/* Run op on a pooled connection, starting over on a fresh one when the connection drops.  op returns
 * what the operation returns (≥ 0 success) or -1 with err set and c->dropped telling whether to retry;
 * *progress (when given) set by op means a retry would repeat visible effects, so it is not done. */
typedef int (*conn_op)(struct sftp *s, struct conn *c, void *ctx, struct odbk_err *err);

static int with_conn(struct sftp *s, conn_op op, void *ctx, const int *progress, struct odbk_err *err)
{
    int attempt, r;
    for (attempt = 0;; attempt++) {
        struct conn *c;
        if (conn_get(s, &c, err) < 0) {
            if (!retryable(err) || attempt >= s->retries || odbk_storage_backoff(attempt) < 0)
                return -1;
            continue;
        }
        r = op(s, c, ctx, err);
        if (r >= 0 || !c->dropped) {
            conn_put(s, c);
            if (r >= 0 && attempt)
                odbk_err_clear(err);
            return r;
        }
        conn_put(s, c);
        if (attempt >= s->retries || (progress && *progress) || odbk_storage_backoff(attempt) < 0)
            return -1;
    }
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

/* mkdir -p of the directory part of `path` (a full remote path). */
static int make_parents(struct sftp *s, struct conn *c, const char *path, struct odbk_err *err)
{
    char *dir = odbk_xstrdup(path), *p = strrchr(dir, '/');
    int r = 0;
    if (!p || p == dir) {
        free(dir);
        return 0;
    }
    *p = '\0';
    for (p = dir + (dir[0] == '/'); ; p++) {
        if (*p == '/' || *p == '\0') {
            char ch = *p;
            *p = '\0';
            if (libssh2_sftp_mkdir_ex(c->sftp, dir, (unsigned)strlen(dir), 0750) != 0) {
                unsigned long fx = last_fx(c);
                if (!fx || !is_dir(c, dir)) {     /* an existing directory is fine */
                    r = fail_fx(s, c, fx, err, "create directory", dir);
                    break;
                }
            }
            *p = ch;
            if (!ch)
                break;
        }
    }
    free(dir);
    return r;
}

/* Remove the directories that removing `key` left empty, up to (not including) the root. */
static void prune_empty_dirs(struct sftp *s, struct conn *c, const char *key)
{
    char *rel = odbk_xstrdup(key), *p;
    while ((p = strrchr(rel, '/')) && p != rel) {
        char *full;
        int rc;
        *p = '\0';
        full = remote_path(s, rel);
        rc = libssh2_sftp_rmdir_ex(c->sftp, full, (unsigned)strlen(full));
        free(full);
        if (rc != 0) {
            last_fx(c);
            break;
        }
    }
    free(rel);
}

/* ---- write ---- */

struct sftp_writer {
    struct odbk_writer w;
    struct sftp *s;
    struct conn *c;
    LIBSSH2_SFTP_HANDLE *h;
    char *key;
    char *final;
    char *tmp;               /* NULL once renamed or removed */
    char *buf;
    size_t len;
    uint64_t off;            /* bytes the server has acknowledged */
    int attempt;             /* reconnections since the last real progress */
    uint64_t off_at_retry;   /* off at the last reconnection */
};

static int open_tmp(struct sftp_writer *sw, unsigned long flags, struct odbk_err *err)
{
    sw->h = libssh2_sftp_open_ex(sw->c->sftp, sw->tmp, (unsigned)strlen(sw->tmp), flags, 0640,
                                 LIBSSH2_SFTP_OPENFILE);
    if (!sw->h)
        return sftp_fail(sw->s, sw->c, err, "create", sw->tmp);
    return 0;
}

/* After a dropped connection: a fresh one, the temporary file reopened at the acknowledged offset. */
static int writer_reconnect(struct sftp_writer *sw, int attempt, struct odbk_err *err)
{
    struct odbk_err e2 = {0};
    LIBSSH2_SFTP_ATTRIBUTES a;
    if (attempt >= sw->s->retries)
        return -1;
    if (sw->h)
        close_handle(sw->c, sw->h);
    conn_put(sw->s, sw->c);  /* dropped: closed, not pooled */
    sw->c = NULL;
    sw->h = NULL;
    if (odbk_storage_backoff(attempt) < 0)
        return -1;
    if (conn_new(sw->s, &sw->c, &e2) < 0) {
        *err = e2;
        return -1;
    }
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
            if (sw->attempt && sw->off - sw->off_at_retry >= ODBK_STORAGE_RETRY_PROGRESS) {
                odbk_err_clear(err);
                sw->attempt = 0;
            }
            continue;
        }
        if (sw->h)
            sftp_fail(sw->s, sw->c, err, "write", sw->tmp);
        sw->off_at_retry = sw->off;
        if (!sw->c->dropped || writer_reconnect(sw, sw->attempt++, err) < 0)
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

static int rename_into_place(struct sftp_writer *sw, struct odbk_err *err)
{
    struct conn *c = sw->c;
    const long flags = LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE;
    LIBSSH2_SFTP_ATTRIBUTES a;
    if (libssh2_sftp_rename_ex(c->sftp, sw->tmp, (unsigned)strlen(sw->tmp), sw->final,
                               (unsigned)strlen(sw->final), flags) == 0)
        return 0;
    if (!last_fx(c))
        return sftp_fail(sw->s, c, err, "rename into", sw->final);
    /* SFTP v3 (OpenSSH) never renames over an existing file: remove it, then rename */
    if (libssh2_sftp_stat_ex(c->sftp, sw->final, (unsigned)strlen(sw->final), LIBSSH2_SFTP_LSTAT, &a) == 0 &&
        libssh2_sftp_unlink_ex(c->sftp, sw->final, (unsigned)strlen(sw->final)) != 0)
        return sftp_fail(sw->s, c, err, "replace", sw->final);
    if (libssh2_sftp_rename_ex(c->sftp, sw->tmp, (unsigned)strlen(sw->tmp), sw->final,
                               (unsigned)strlen(sw->final), flags) != 0)
        return sftp_fail(sw->s, c, err, "rename into", sw->final);
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
            else if (rename_into_place(sw, err) == 0)
                break;
        }
        if (!sw->c->dropped || writer_reconnect(sw, sw->attempt++, err) < 0)
            return -1;
    }
    free(sw->tmp);
    sw->tmp = NULL;
    conn_put(sw->s, sw->c);
    sw->c = NULL;
    odbk_err_clear(err);
    return 0;
}

static void sw_abort(struct odbk_writer *w)
{
    struct sftp_writer *sw = (struct sftp_writer *)w;
    struct odbk_err e2 = {0};
    if (sw->h)
        close_handle(sw->c, sw->h);
    sw->h = NULL;
    if (sw->tmp) {
        if (sw->c && sw->c->dropped) {
            conn_put(sw->s, sw->c);
            sw->c = NULL;
        }
        if (sw->c || conn_new(sw->s, &sw->c, &e2) == 0) {
            if (libssh2_sftp_unlink_ex(sw->c->sftp, sw->tmp, (unsigned)strlen(sw->tmp)) != 0)
                last_fx(sw->c);
            else
                prune_empty_dirs(sw->s, sw->c, sw->key);
        }
        free(sw->tmp);
        sw->tmp = NULL;
    }
    conn_put(sw->s, sw->c);
    sw->c = NULL;
}

static void sw_free(struct odbk_writer *w)
{
    struct sftp_writer *sw = (struct sftp_writer *)w;
    sw_abort(w);
    free(sw->key);
    free(sw->final);
    free(sw->buf);
    free(sw);
}

static const struct odbk_writer_ops sftp_write_ops = {"sftp upload", sw_write, sw_finish, sw_abort, sw_free};

static int sftp_open_write(struct odbk_storage *st, const char *path, uint64_t size_hint,
                           struct odbk_writer **out, struct odbk_err *err)
{
    struct sftp *s = st->priv;
    struct sftp_writer *sw = odbk_xcalloc(1, sizeof(*sw));
    const unsigned long flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC;
    int attempt;
    sw->s = s;
    sw->key = odbk_xstrdup(path);
    sw->final = remote_path(s, path);
    sw->tmp = odbk_storage_temp_name(sw->final);
    for (attempt = 0;; attempt++) {
        if (conn_get(s, &sw->c, err) == 0) {
            if (open_tmp(sw, flags, err) == 0)
                break;
            if (err->code == ODBK_E_NOINPUT && make_parents(s, sw->c, sw->final, err) == 0 &&
                open_tmp(sw, flags, err) == 0)
                break;
            if (!sw->c->dropped)
                goto fail;
            conn_put(s, sw->c);
            sw->c = NULL;
        } else if (!retryable(err)) {
            goto fail;
        }
        if (attempt >= s->retries || odbk_storage_backoff(attempt) < 0)
            goto fail;
    }
    odbk_err_clear(err);   /* what was overcome (missing directories, a reconnection) */
    sw->buf = odbk_xmalloc(IO_CHUNK);
    odbk_writer_init(&sw->w, &sftp_write_ops, NULL);
    *out = &sw->w;
    return 0;
fail:
    conn_put(s, sw->c);
    free(sw->tmp);
    free(sw->final);
    free(sw->key);
    free(sw);
    return -1;
}

/* ---- read ---- */

static int sftp_read(struct odbk_storage *st, const char *path, struct odbk_writer *dst, struct odbk_err *err)
{
    struct sftp *s = st->priv;
    char *full = remote_path(s, path), *buf = odbk_xmalloc(IO_CHUNK);
    struct conn *c = NULL;
    LIBSSH2_SFTP_HANDLE *h = NULL;
    uint64_t off = 0, off_at_retry = 0;
    int attempt = 0, r = -1;
    for (;;) {
        ssize_t n;
        if (!c) {
            if (conn_get(s, &c, err) < 0) {
                c = NULL;
                if (!retryable(err) || attempt >= s->retries || odbk_storage_backoff(attempt++) < 0)
                    goto out;
                continue;
            }
        }
        if (!h) {
            h = libssh2_sftp_open_ex(c->sftp, full, (unsigned)strlen(full), LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
            if (!h) {
                sftp_fail(s, c, err, "open", full);
                if (err->code == ODBK_E_NOINPUT)
                    odbk_err_set(err, ODBK_E_NOINPUT, "storage '%s': no such object '%s'", s->name, path);
                goto retry;
            }
            libssh2_sftp_seek64(h, off);
        }
        n = libssh2_sftp_read(h, buf, IO_CHUNK);
        if (n == 0)
            break;
        if (n < 0) {
            sftp_fail(s, c, err, "read", full);
            goto retry;
        }
        off += (uint64_t)n;
        if (attempt && off - off_at_retry >= ODBK_STORAGE_RETRY_PROGRESS) {   /* real progress */
            odbk_err_clear(err);
            attempt = 0;
        }
        if (odbk_writer_write(dst, buf, (size_t)n, err) < 0)
            goto out;
        continue;
    retry:
        if (!c->dropped || attempt >= s->retries)
            goto out;
        if (h)
            close_handle(c, h);
        h = NULL;
        conn_put(s, c);
        c = NULL;
        off_at_retry = off;
        if (odbk_storage_backoff(attempt++) < 0)
            goto out;
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
    const char *prefix;
    odbk_storage_list_cb cb;
    void *ctx;
    int called;              /* cb was called: a retry would repeat entries */
};

static int walk(struct sftp *s, struct conn *c, const char *rel, struct list_ctx *lc, struct odbk_err *err)
{
    char *dir = remote_path(s, rel), name[1024];
    size_t plen = strlen(lc->prefix);
    LIBSSH2_SFTP_HANDLE *h;
    LIBSSH2_SFTP_ATTRIBUTES a;
    int r = 0, n;
    if (!*dir) {
        free(dir);
        dir = odbk_xstrdup(".");
    }
    h = libssh2_sftp_open_ex(c->sftp, dir, (unsigned)strlen(dir), 0, 0, LIBSSH2_SFTP_OPENDIR);
    if (!h) {
        unsigned long fx = last_fx(c);
        r = fx == LIBSSH2_FX_NO_SUCH_FILE || fx == LIBSSH2_FX_NO_SUCH_PATH ? 0 : sftp_fail(s, c, err, "list", dir);
        free(dir);
        return r;
    }
    while (r == 0 && (n = libssh2_sftp_readdir_ex(h, name, sizeof(name), NULL, 0, &a)) != 0) {
        char *child;
        size_t clen;
        if (n < 0) {
            r = sftp_fail(s, c, err, "list", dir);
            break;
        }
        if (!odbk_storage_entry_name_ok(name) || !(a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS))
            continue;
        child = *rel ? odbk_xasprintf("%s/%s", rel, name) : odbk_xstrdup(name);
        clen = strlen(child);
        /* prune subtrees that cannot match the prefix */
        if (!strncmp(child, lc->prefix, clen < plen ? clen : plen)) {
            if (LIBSSH2_SFTP_S_ISDIR(a.permissions)) {
                r = walk(s, c, child, lc, err);
            } else if (LIBSSH2_SFTP_S_ISREG(a.permissions) && clen >= plen) {
                struct odbk_storage_entry e = {child, a.flags & LIBSSH2_SFTP_ATTR_SIZE ? a.filesize : 0,
                                               a.flags & LIBSSH2_SFTP_ATTR_ACMODTIME ? (time_t)a.mtime : 0};
                lc->called = 1;
                r = lc->cb(lc->ctx, &e);
            }
        }
        free(child);
    }
    close_handle(c, h);
    free(dir);
    return r;
}

static int list_op(struct sftp *s, struct conn *c, void *ctx, struct odbk_err *err)
{
    struct list_ctx *lc = ctx;
    /* start in the deepest directory the prefix names in full */
    const char *slash = strrchr(lc->prefix, '/');
    char *start = slash ? odbk_xstrndup(lc->prefix, (size_t)(slash - lc->prefix)) : odbk_xstrdup("");
    int r = walk(s, c, start, lc, err);
    free(start);
    return r;
}

static int sftp_list(struct odbk_storage *st, const char *prefix, odbk_storage_list_cb cb, void *ctx,
                     struct odbk_err *err)
{
    struct list_ctx lc = {prefix ? prefix : "", cb, ctx, 0};
    return with_conn(st->priv, list_op, &lc, &lc.called, err);
}

static int remove_op(struct sftp *s, struct conn *c, void *ctx, struct odbk_err *err)
{
    const char *path = ctx;
    char *full = remote_path(s, path);
    int r = 0;
    if (libssh2_sftp_unlink_ex(c->sftp, full, (unsigned)strlen(full)) != 0) {
        unsigned long fx = last_fx(c);
        if (fx != LIBSSH2_FX_NO_SUCH_FILE && fx != LIBSSH2_FX_NO_SUCH_PATH)
            r = sftp_fail(s, c, err, "remove", full);
    }
    if (r == 0)
        prune_empty_dirs(s, c, path);
    free(full);
    return r;
}

static int sftp_remove(struct odbk_storage *st, const char *path, struct odbk_err *err)
{
    return with_conn(st->priv, remove_op, (void *)path, NULL, err);
}

const struct odbk_storage_driver odbk_storage_sftp_driver = {
    .type = "sftp",
    .features = ODBK_STORAGE_F_DIRS | ODBK_STORAGE_F_RANGE_READ,
    .keys = sftp_keys,
    .open = sftp_open,
    .close = sftp_close,
    .open_write = sftp_open_write,
    .read = sftp_read,
    .stat = sftp_stat,
    .list = sftp_list,
    .remove = sftp_remove,
    .presign = NULL,
};
