/* crypt.h - client-side encryption of stored files: libsodium's secretstream (XChaCha20-Poly1305) in
 * chunks, under a key derived from a passphrase by Argon2id (crypto_pwhash).
 *
 * An encrypted file is a plain header, then the secretstream:
 *
 *     "ODBKENC1"            8 bytes, the magic
 *     alg                   1 byte: 1 = crypto_secretstream_xchacha20poly1305
 *     kdf                   1 byte: 2 = the storage's master key (what this version writes);
 *                           1 = crypto_pwhash Argon2id v1.3 of the passphrase (older files: read only)
 *     opslimit              4 bytes, big-endian (kdf 2: zero)
 *     memlimit              4 bytes, big-endian, in KiB (kdf 2: zero)
 *     salt                  16 bytes (kdf 2: zero)
 *     key id                8 bytes: BLAKE2b-64 of "odbk-key-id-v1" keyed with the key (kdf 2: the master key)
 *     path length           2 bytes, big-endian
 *     path                  the file's key in its storage ("ENV/ID/NAME"): binds it to its backup and role
 *     stream header         24 bytes (crypto_secretstream_xchacha20poly1305_HEADERBYTES)
 *     chunks                each 64 KiB of plaintext + 17 bytes; the last (0 to 64 KiB) tagged FINAL
 *
 * Every chunk's additional data is the header from the magic to the path, so a changed header, a chunk
 * changed, dropped, reordered or taken from another file, a file cut short, or a file of another backup
 * in this one's place is an error (ODBK_E_DATA naming the file), never garbage.  Keys live in
 * sodium_malloc'd memory (locked, guarded) and are wiped when the keyring is freed.
 *
 * A keyring holds the passphrases of a storage: the first writes, all of them read (a key change keeps
 * old backups readable).  It also holds the master keys the passphrases opened: a storage's files are
 * encrypted under a random master key kept in a key object (odbk-keys/ID.json, plain JSON: version, kdf
 * "argon2id13", opslimit, memlimit in bytes, a random 16-byte salt, a 24-byte nonce, the master key sealed
 * by crypto_aead_xchacha20poly1305_ietf with additional data "odbk-key-v1" under Argon2id(passphrase,
 * salt), and the key id), so no two storages share a salt and a key id is no passphrase verifier.
 * Threads: one keyring may be used by several writers and readers at once. */
#ifndef ODBK_IO_CRYPT_H
#define ODBK_IO_CRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "io/writer.h"

#define ODBK_CRYPT_CHUNK (64 * 1024)
#define ODBK_CRYPT_KEYID_HEX 17   /* 16 hex digits and a NUL */

struct odbk_keyring;

/* What odbk derives its keys with: 3 passes over 32 MiB (stronger than each of OWASP's equivalent
 * Argon2id figures, 46 MiB x 1, 19 MiB x 2, 12 MiB x 3), not libsodium's "interactive" 64 MiB, which
 * would take a backup's peak memory past its 64 MiB goal. */
#define ODBK_CRYPT_OPSLIMIT 3ULL
#define ODBK_CRYPT_MEMLIMIT ((size_t)32 << 20)

/* An empty keyring whose derivations cost opslimit passes over memlimit bytes (0, 0: the figures
 * above).  NULL when libsodium cannot start. */
struct odbk_keyring *odbk_keyring_new(unsigned long long opslimit, size_t memlimit);
/* Add a passphrase (copied; what names it in messages, e.g. its file): the first one added writes. */
int odbk_keyring_add(struct odbk_keyring *kr, const char *pass, size_t len, const char *what, struct odbk_err *err);
size_t odbk_keyring_count(const struct odbk_keyring *kr);
/* The key id new files are written with: the first master key the first passphrase opened. */
int odbk_keyring_write_id(struct odbk_keyring *kr, char id[ODBK_CRYPT_KEYID_HEX], struct odbk_err *err);
int odbk_keyring_has_write_key(struct odbk_keyring *kr);
/* A new random master key sealed under the first passphrase (a random salt, the keyring's Argon2id
 * figures), added to kr as its write key: *json (malloc'd) is its key object, id its key id. */
int odbk_keyring_new_key(struct odbk_keyring *kr, char **json, char id[ODBK_CRYPT_KEYID_HEX], struct odbk_err *err);
/* Open the key object json (what names it) with each passphrase: 0 its master key is in kr, 1 no
 * passphrase opens it (another passphrase's, or its sealed key changed), -1 ODBK_E_DATA when it is no
 * key object or its key does not match its id. */
int odbk_keyring_load_key(struct odbk_keyring *kr, const char *json, size_t len, const char *what,
                          struct odbk_err *err);
/* Whether a storage's key objects were loaded into kr (the storage layer's once-only flag). */
int odbk_keyring_loaded(struct odbk_keyring *kr);
void odbk_keyring_set_loaded(struct odbk_keyring *kr);
void odbk_keyring_free(struct odbk_keyring *kr);
/* Wipe a buffer that held a secret (sodium_memzero: not optimised away). */
void odbk_crypt_wipe(void *buf, size_t len);

/* A sink that encrypts what it is given for the file `path` into `sink` (taken over: finishing, aborting
 * and freeing this link does the same to sink). */
struct odbk_writer *odbk_crypt_encrypt_new(struct odbk_keyring *kr, const char *path, struct odbk_writer *sink);
/* A link that decrypts the file `path` (NULL: whichever path its header names, odbk-download --decrypt)
 * into dst, which it does not own and never finishes: its finish checks and writes the last chunk.
 * what names the file in messages. */
struct odbk_writer *odbk_crypt_decrypt_new(struct odbk_keyring *kr, const char *path, const char *what,
                                           struct odbk_writer *dst);
/* The path the header read by a decrypt link named (valid once its first bytes went through), or NULL. */
const char *odbk_crypt_decrypt_path(const struct odbk_writer *w);

/* The stored size of a file of plain bytes encrypted for path, and back: -1 when stored cannot be
 * such a file's size. */
uint64_t odbk_crypt_stored_size(const char *path, uint64_t plain);
int odbk_crypt_plain_size(const char *path, uint64_t stored, uint64_t *plain);

#endif
