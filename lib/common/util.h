/* util.h - small helpers shared by every module: allocation that cannot return NULL (as git's xmalloc:
 * out of memory is not an error a backup can recover from, so it aborts with a message), string
 * formatting, time stamps and durations, and safe file writes. */
#ifndef ODBK_UTIL_H
#define ODBK_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/err.h"

void *odbk_xmalloc(size_t n);
void *odbk_xcalloc(size_t n, size_t size);
void *odbk_xrealloc(void *p, size_t n);
char *odbk_xstrdup(const char *s);
char *odbk_xstrndup(const char *s, size_t n);
char *odbk_xasprintf(const char *fmt, ...) ODBK_PRINTF(1, 2);

/* Format t as UTC RFC 3339 ("2026-01-02T03:04:05Z") into buf (at least 21 bytes). */
void odbk_time_rfc3339(time_t t, char buf[32]);
/* Parse RFC 3339 ("2026-01-02T03:04:05Z", "...+02:00", fractional seconds allowed); 0 or -1. */
int odbk_time_parse_rfc3339(const char *s, time_t *out);
/* Add key: t as RFC 3339 UTC to a JSON object, or null when t is 0. */
struct cJSON;
void odbk_json_time(struct cJSON *o, const char *key, time_t t);
/* Now, honouring faketime as libc does. */
time_t odbk_now(void);

/* Parse a byte size such as "5MiB", "64M", "1G", "4096"; 0 or -1. */
int odbk_parse_size(const char *s, uint64_t *out);
/* Human size: "12.3 MB". */
void odbk_fmt_size(uint64_t n, char buf[32]);

/* Levenshtein distance, for "did you mean" hints. */
int odbk_edit_distance(const char *a, const char *b);
/* The closest candidate to word (distance ≤ 2, or a prefix), or NULL. */
const char *odbk_did_you_mean(const char *word, const char *const *candidates);
/* Is s one of the n strings of v? */
int odbk_str_in(char *const *v, size_t n, const char *s);

/* Is s a safe single path component (no '/', not "." or "..", not empty, printable)? */
int odbk_name_is_safe(const char *s);

/* Read a whole small file (≤ max bytes) into a NUL-terminated string; trailing newlines stripped. */
int odbk_read_small_file(const char *path, size_t max, char **out, struct odbk_err *err);
/* The same, also giving its length (the text may hold NUL bytes the caller must refuse). */
int odbk_read_small_file_len(const char *path, size_t max, char **out, size_t *out_len, struct odbk_err *err);

/* Test-only fault injection: is $ODBK_FAILPOINT "name" (always) or "name:N" (the first N calls)? */
/* The one reader of the environment in lib/ (tests/lint.sh forbids getenv elsewhere), so that every
 * variable odbk reads is listed here:
 *   ODBK_CONFIG, XDG_CONFIG_HOME, HOME    where odbk.conf is (odbk.conf(5), FILES)
 *   ODBK_CATALOG, XDG_STATE_HOME          where the catalog is
 *   a password-env's NAME, PGPASSWORD     secrets (odbk.conf(5))
 *   ODBK_PG_BINDIR, PATH                  where pg_dump and psql are
 *   TZDIR, TZ                             time zones
 *   TMPDIR                                odbk-restore --test's scratch directory
 *   COLUMNS                               the progress bar's width
 *   ODBK_FAILPOINT, ODBK_FAILPOINT_READY, ODBK_HEARTBEAT_SECONDS   tests only (HACKING.md)
 * NULL when unset. */
const char *odbk_getenv(const char *name);
int odbk_failpoint(const char *name);
/* Test-only: when $ODBK_FAILPOINT names this point, create the file $ODBK_FAILPOINT_READY (when set) and
 * sleep 3 s: the moment a test acts at (a rival program, a hostile user swapping a folder). */
void odbk_pause_point(const char *name);
/* Test-only: die as kill -9 would (SIGKILL to itself) when $ODBK_FAILPOINT names this point. */
void odbk_crash_point(const char *name);
/* The start time of process pid (field 22 of /proc/PID/stat) as text, "" when it cannot be read: a pid
 * that runs again under the same number has another one.  Freed by the caller. */
char *odbk_proc_start(long pid);
/* Is process pid of this host gone: no such process, or (pid_start given, as odbk_proc_start gave it) the
 * pid runs another process now?  A pid <= 0 is gone. */
int odbk_pid_gone(long pid, const char *pid_start);
/* When process pid started (wall clock, to the second), or 0 when it cannot be told. */
time_t odbk_proc_started_at(long pid);

/* The host name of this machine (static storage). */
const char *odbk_hostname(void);
/* The host name odbk records and compares from now on ([catalog] host = NAME: several hosts of one
 * catalog on one machine). */
void odbk_set_hostname(const char *name);



/* Visit the tree under root in sorted order, a directory before what it holds, following symbolic links as
 * Odoo's own copy does (shutil.copytree): cb(ctx, rel, full, sb) for every entry below root (rel is relative
 * to root, full includes it), sb describing what a link points to, so a linked file is a regular file and a
 * linked folder is walked; sb is NULL for an entry that vanished between the listing and its stat.  A link
 * to nothing is an ODBK_E_NOINPUT error naming it, a folder link back to a folder of the current path (same
 * device and inode) an ODBK_E_DATA error: nothing is ever left out silently.  A link is followed only when
 * the walker cannot read more through it than the owner of root could: the walker is that owner, or the link
 * belongs to root (an administrator spreading the filestore over disks) or to the walker, or what it points
 * to belongs to root's owner; any other link is an ODBK_E_PERM error naming it and its target (root copying
 * /etc/shadow into a backup because the Odoo user linked it); root itself a link is followed when root or
 * the walker owns it or what it points to is the link owner's, else the same error.  Folders are entered by descriptor (openat),
 * checked to be the folder just vetted, so one swapped for a link meanwhile is never walked; a reader of
 * `full` checks the same of the file it opened (odbk_same_file with sb).  cb returns 0 to go on (a
 * directory is then entered), 1 to skip a directory's contents, -1 to stop (the walk returns -1).  An
 * unreadable directory is an ODBK_E_IO error. */
/* How many folders deep a filestore may go below its top (Odoo's go 2): the backup walk refuses deeper,
 * a restore refuses member names deeper (tar.h), and rm -rf and the hand-over of owners stop there. */
#define ODBK_TREE_DEPTH_MAX 64
struct stat;
typedef int (*odbk_walk_cb)(void *ctx, const char *rel, const char *full, const struct stat *sb,
                            struct odbk_err *err);
int odbk_walk(const char *root, odbk_walk_cb cb, void *ctx, struct odbk_err *err);
/* Same device and inode. */
int odbk_same_file(const struct stat *a, const struct stat *b);

/* Trees a hostile user may change while root works on them: every step goes by descriptor, never again by
 * a path through a component that user could swap for a link.
 * odbk_dir_open_at: the folder holding path, opened (*parent_fd, to close), and path's last component.
 * odbk_dir_open_own: open name in parent_fd as a directory without following a link, and check it is
 * expect (device and inode) or, expect NULL, that it belongs to this process's user; anything else is an
 * ODBK_E_PERM error naming path ("no longer the directory odbk made").  The descriptor, or -1.
 * odbk_tree_visit: every entry below directory dfd (path names it in messages), never following a link,
 * each folder opened with odbk_dir_open_own against what fstatat saw; cb(ctx, dirfd, name, fd, full, sb)
 * after a folder's contents, fd being the folder's own descriptor (-1 for anything else).  A vanished
 * entry is skipped; cb returns 0 or -1. */
typedef int (*odbk_tree_cb)(void *ctx, int dirfd, const char *name, int fd, const char *full,
                            const struct stat *sb, struct odbk_err *err);
int odbk_dir_open_at(const char *path, int *parent_fd, const char **base, struct odbk_err *err);
int odbk_dir_open_own(int parent_fd, const char *name, const char *path, const struct stat *expect,
                      struct stat *sb, struct odbk_err *err);
int odbk_tree_visit(int dfd, const char *path, odbk_tree_cb cb, void *ctx, struct odbk_err *err);
/* A directory this process made, opened to extract into: not a link, and the directory expect (device and
 * inode, as recorded when it was made) or, expect NULL, this process's user's (odbk_dir_open_own); -1 and
 * an ODBK_E_PERM error otherwise. */
int odbk_dir_open_made(const char *path, const struct stat *expect, struct odbk_err *err);
/* Open rel below dirfd (openat(flags | O_NOFOLLOW, mode)), creating the folders on its way (dir_mode),
 * each entered without following a link: nothing is ever created outside dirfd (full names rel in
 * messages; a link or file on the way is an ODBK_E_DATA error).  The descriptor, or -1. */
int odbk_open_below(int dirfd, const char *rel, const char *full, int flags, mode_t mode, mode_t dir_mode,
                    struct odbk_err *err);

/* rm -rf by descriptor (odbk_tree_visit), never following symbolic links; a missing path is not an error.
 * odbk_rmtree_expect (expect NULL: odbk_rmtree) removes path only when it is the directory expect (device
 * and inode), or a link or file put in its place (that name alone, never what a link points to); another
 * folder there is left as it is, and it returns 1. */
int odbk_rmtree(const char *path, struct odbk_err *err);
int odbk_rmtree_expect(const char *path, const struct stat *expect, struct odbk_err *err);
/* The directory part of a path ("a/b/c" → "a/b", "c" → "."), malloc'd. */
char *odbk_dirname(const char *path);

#endif
