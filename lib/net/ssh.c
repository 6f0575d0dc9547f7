/* ssh.c - TCP connect, SSH handshake, host key check and authentication (ssh.h). */
#include "net/ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_rc;

static void global_init(void)
{
    init_rc = libssh2_init(0);
}

int odbk_ssh_init(struct odbk_err *err)
{
    pthread_once(&once, global_init);
    if (init_rc != 0)
        return odbk_err_set(err, ODBK_E_SOFTWARE, "cannot initialise libssh2");
    return 0;
}

/* "SHA256:abc=" → "abc"; NULL when it cannot be the base64 of 32 bytes. */
char *odbk_ssh_pin(const char *v)
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

/* libssh2's default send() raises SIGPIPE when the server has gone; a library must not. */
static LIBSSH2_SEND_FUNC(send_nosignal)
{
    (void)abstract;
    return send(socket, buffer, length, flags | MSG_NOSIGNAL);
}

static int tcp_connect(const struct odbk_ssh_opts *s, int *out, struct odbk_err *err)
{
    struct addrinfo hints = {0}, *res = NULL, *ai;
    char portstr[16];
    int rc, fd = -1, e = 0;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_UNSPEC;
    snprintf(portstr, sizeof(portstr), "%d", s->port);
    rc = getaddrinfo(s->host, portstr, &hints, &res);
    if (rc != 0)
        return odbk_err_set(err, ODBK_E_UNAVAILABLE, "%s: cannot resolve '%s': %s", s->label, s->host,
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
        return odbk_err_sys(err, ODBK_E_UNAVAILABLE, "%s: cannot connect to '%s:%d'", s->label, s->host,
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

const char *odbk_ssh_last_error(LIBSSH2_SESSION *ss)
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
static int check_host_key(const struct odbk_ssh_opts *s, LIBSSH2_SESSION *ss, struct odbk_err *err)
{
    size_t len;
    int type, rc;
    const char *key = libssh2_session_hostkey(ss, &len, &type);
    const unsigned char *hash = (const unsigned char *)libssh2_hostkey_hash(ss, LIBSSH2_HOSTKEY_HASH_SHA256);
    unsigned char b64[64];
    int n;
    if (!key || !hash)
        return odbk_err_set(err, ODBK_E_UNAVAILABLE, "%s: '%s:%d' sent no usable host key", s->label,
                            s->host, s->port);
    n = EVP_EncodeBlock(b64, hash, 32);
    while (n > 0 && b64[n - 1] == '=')
        b64[--n] = '\0';
    if (s->pin && strcmp(s->pin, (char *)b64) != 0) {
        odbk_err_set(err, ODBK_E_PERM,
                     "%s: host key of '%s:%d' does not match host-key-sha256: the server offers %s key "
                     "SHA256:%s, expected SHA256:%s", s->label, s->host, s->port, key_type_name(type), b64, s->pin);
        odbk_err_hint(err, "if the server's key really changed, confirm the new fingerprint with its administrator "
                      "before updating host-key-sha256");
        return -1;
    }
    if (s->known_hosts) {
        LIBSSH2_KNOWNHOSTS *kh = libssh2_knownhost_init(ss);
        if (!kh)
            return odbk_err_set(err, ODBK_E_OSERR, "%s: cannot initialise known hosts", s->label);
        if (libssh2_knownhost_readfile(kh, s->known_hosts, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
            odbk_err_set(err, ODBK_E_CONFIG, "%s: cannot read known-hosts '%s': %s", s->label,
                         s->known_hosts, odbk_ssh_last_error(ss));
            libssh2_knownhost_free(kh);
            return -1;
        }
        rc = libssh2_knownhost_checkp(kh, s->host, s->port, key, len,
                                      LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
                                          known_host_type(type), NULL);
        libssh2_knownhost_free(kh);
        if (rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
            odbk_err_set(err, ODBK_E_PERM,
                         "%s: host key of '%s:%d' has CHANGED: the server offers %s key SHA256:%s, "
                         "which is not the key recorded in '%s'", s->label, s->host, s->port, key_type_name(type),
                         b64, s->known_hosts);
            odbk_err_hint(err, "this may be an attack; if the key really changed, confirm the fingerprint with the "
                          "server's administrator, then replace its line in '%s'", s->known_hosts);
            return -1;
        }
        if (rc != LIBSSH2_KNOWNHOST_CHECK_MATCH) {
            odbk_err_set(err, ODBK_E_PERM,
                         "%s: host '%s:%d' is not in known-hosts '%s' (the server offers %s key SHA256:%s)",
                         s->label, s->host, s->port, s->known_hosts, key_type_name(type), b64);
            odbk_err_hint(err, "confirm the fingerprint with the server's administrator, then add the key: "
                          "ssh-keyscan -p %d %s >> '%s' (or set host-key-sha256 = %s)", s->port, s->host,
                          s->known_hosts, b64);
            return -1;
        }
    }
    return 0;
}

/* Is the private key file an RSA key?  PEM ("BEGIN RSA PRIVATE KEY") or OpenSSH's format, whose base64
 * body starts with the public key blob naming its type; 0 when it cannot tell. */
static int key_is_rsa(const char *path)
{
    static const char pem[] = "-----BEGIN RSA PRIVATE KEY-----", openssh[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
    char *text = NULL, b64[1024];
    unsigned char raw[800];
    size_t len = 0, n = 0, i;
    struct odbk_err e = {0};
    int r = 0, got;
    if (odbk_read_small_file_len(path, 64 << 10, &text, &len, &e) < 0)
        return 0;
    if (strstr(text, pem)) {
        r = 1;
    } else if (!strncmp(text, openssh, sizeof(openssh) - 1)) {
        /* the first base64 characters, line breaks left out: enough for the magic and the key type */
        for (i = sizeof(openssh) - 1; text[i] && n < sizeof(b64) - 4; i++)
            if (text[i] != '\n' && text[i] != '\r')
                b64[n++] = text[i];
        n -= n % 4;
        got = n ? EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n) : -1;
        for (i = 0; got > 11 && i + 11 <= (size_t)got; i++)
            if (!memcmp(raw + i, "\0\0\0\7ssh-rsa", 11)) {
                r = 1;
                break;
            }
    }
    memset(text, 0, len);
    free(text);
    return r;
}

/* "SSH-2.0-OpenSSH_9.2p1 Debian-2" → 902; 0 for another server or none */
static int openssh_version(LIBSSH2_SESSION *ss)
{
    const char *b = libssh2_session_banner_get(ss), *p = b ? strstr(b, "OpenSSH_") : NULL;
    int major = 0, minor = 0;
    if (!p || sscanf(p + 8, "%d.%d", &major, &minor) < 1)
        return 0;
    return major * 100 + minor;
}

/* libssh2 before 1.11 signs with an RSA key only as "ssh-rsa" (SHA-1), which OpenSSH refuses from 8.8 on:
 * the authentication fails as if the key were wrong */
static int rsa_sha1_refused(LIBSSH2_SESSION *ss, char *why, size_t size)
{
    const char *lib = libssh2_version(0);
    int a = 0, b = 0, server = openssh_version(ss);
    if (!lib || sscanf(lib, "%d.%d", &a, &b) < 2 || a * 100 + b >= 111 || server < 808)
        return 0;
    snprintf(why, size, "the server (OpenSSH %d.%d) refuses the SHA-1 'ssh-rsa' signatures that libssh2 %s makes "
             "and checks with RSA keys", server / 100, server % 100, lib);
    return 1;
}

static int authenticate(const struct odbk_ssh_opts *s, LIBSSH2_SESSION *ss, struct odbk_err *err)
{
    const char *how = NULL;
    char msg[256] = "";
    if (s->key) {
        how = "publickey";
        if (libssh2_userauth_publickey_fromfile_ex(ss, s->user, (unsigned)strlen(s->user), NULL, s->key,
                                                   s->passphrase) == 0)
            return 0;
        snprintf(msg, sizeof(msg), "%s", odbk_ssh_last_error(ss));
    }
    if (s->password) {
        how = s->key ? "publickey, then password" : "password";
        if (libssh2_userauth_password_ex(ss, s->user, (unsigned)strlen(s->user), s->password,
                                         (unsigned)strlen(s->password), NULL) == 0)
            return 0;
        snprintf(msg, sizeof(msg), "%s", odbk_ssh_last_error(ss));
    }
    odbk_err_set(err, ODBK_E_PERM, "%s: authentication as '%s' on '%s:%d' failed (%s): %s", s->label,
                 s->user, s->host, s->port, how, msg);
    {
        char why[256];
        if (s->key && key_is_rsa(s->key) && rsa_sha1_refused(ss, why, sizeof(why))) {
            size_t n = strlen(err->msg);
            snprintf(err->msg + n, sizeof(err->msg) - n, "; %s", why);
            odbk_err_hint(err, "use an ed25519 key (ssh-keygen -t ed25519 -f KEY, its KEY.pub in the server's "
                          "authorized_keys, private-key = KEY in [%s]), or let the server take them "
                          "(PubkeyAcceptedAlgorithms +ssh-rsa in its sshd_config)", s->section);
            return -1;
        }
    }
    odbk_err_hint(err, "check user, private-key (and its passphrase) or password of [%s]", s->section);
    return -1;
}

int odbk_ssh_connect(const struct odbk_ssh_opts *o, struct odbk_ssh *out, struct odbk_err *err)
{
    struct odbk_ssh s = {-1, NULL};
    if (tcp_connect(o, &s.sock, err) < 0)
        return -1;
    if (!(s.ss = libssh2_session_init())) {
        odbk_err_set(err, ODBK_E_OSERR, "%s: cannot create an ssh session", o->label);
        goto fail;
    }
    libssh2_session_callback_set(s.ss, LIBSSH2_CALLBACK_SEND, (void *)send_nosignal);
    libssh2_session_set_blocking(s.ss, 1);
    libssh2_session_set_timeout(s.ss, o->timeout_ms);
    if (libssh2_session_handshake(s.ss, s.sock) != 0) {
        char why[256];
        odbk_err_set(err, ODBK_E_UNAVAILABLE, "%s: ssh handshake with '%s:%d' failed: %s", o->label, o->host,
                     o->port, odbk_ssh_last_error(s.ss));
        if (rsa_sha1_refused(s.ss, why, sizeof(why)))
            /* the one way a handshake with a working OpenSSH fails here: a server with an RSA host key only */
            odbk_err_hint(err, "if the server has only an RSA host key, %s: give it an ed25519 host key "
                          "(ssh-keygen -A, HostKey /etc/ssh/ssh_host_ed25519_key in its sshd_config)", why);
        goto fail;
    }
    if (check_host_key(o, s.ss, err) < 0 || authenticate(o, s.ss, err) < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    odbk_ssh_close(&s, 0);
    return -1;
}

void odbk_ssh_close(struct odbk_ssh *s, int graceful)
{
    if (s->ss) {
        if (graceful)
            libssh2_session_disconnect(s->ss, "bye");
        libssh2_session_free(s->ss);
        s->ss = NULL;
    }
    if (s->sock >= 0)
        close(s->sock);
    s->sock = -1;
}
