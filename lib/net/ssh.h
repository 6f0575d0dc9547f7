/* ssh.h - the one libssh2 session set-up of odbk (the SFTP storage): connect, handshake, host key check,
 * authentication.
 *
 * odbk_ssh_connect() resolves the host and connects (connect_timeout), starts an SSH session on the socket
 * (blocking, each operation bounded by `timeout`; sends never raise SIGPIPE), and checks the server's host
 * key before anything is sent: against a pinned SHA256 fingerprint and/or an OpenSSH known_hosts file,
 * refusing an unknown or changed key with the fingerprint the server offers.  It then authenticates with
 * a private key, a password, or the key and then the password.
 *
 * Errors name `label` first ("storage 'x': cannot connect to 'h:22': ..."): an unreachable server or a
 * failed handshake is UNAVAILABLE (another attempt may cure it), a refused host key or login PERM, an
 * unreadable known_hosts CONFIG. */
#ifndef ODBK_NET_SSH_H
#define ODBK_NET_SSH_H

#include <libssh2.h>

#include "common/err.h"

struct odbk_ssh_opts {
    const char *label;        /* the message prefix: "storage 'x'" */
    const char *section;      /* the config section hints name: "storage x" */
    const char *host;
    int port;
    const char *user;
    const char *key;          /* private key file, or NULL */
    const char *passphrase;   /* of the key, or NULL */
    const char *password;     /* or NULL (one of key and password is set) */
    const char *known_hosts;  /* OpenSSH known_hosts file, or NULL */
    const char *pin;          /* host key SHA256 as odbk_ssh_pin() returns it, or NULL (one is set) */
    long timeout_ms;          /* each blocking operation */
    long connect_timeout_ms;
};

struct odbk_ssh {
    int sock;
    LIBSSH2_SESSION *ss;
};

/* libssh2_init, once per process (thread-safe); -1 with err when libssh2 cannot start. */
int odbk_ssh_init(struct odbk_err *err);
/* A connected, verified and authenticated session in *out; -1 with err (nothing left open). */
int odbk_ssh_connect(const struct odbk_ssh_opts *o, struct odbk_ssh *out, struct odbk_err *err);
/* Free the session (a goodbye first when `graceful`) and close the socket. */
void odbk_ssh_close(struct odbk_ssh *s, int graceful);
/* libssh2's text for the session's last error, "unknown error" when it has none. */
const char *odbk_ssh_last_error(LIBSSH2_SESSION *ss);
/* A host-key-sha256 value ("SHA256:abc=" or "abc") → the bare base64 "abc" (malloc'd); NULL when it
 * cannot be the base64 of 32 bytes. */
char *odbk_ssh_pin(const char *value);

#endif
