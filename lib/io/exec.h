/* exec.h - child processes as the ends of a stream: a source (pg_dump's stdout pushed into a writer
 * chain) or a sink (a writer whose bytes go to psql's stdin).  Children are executed directly (no
 * shell); secrets reach them only through the environment (`env`, "NAME=value" strings added to ours,
 * or "NAME" alone: NAME removed from ours), never through argv.  The last few KiB of a child's stderr are
 * kept for the error message.  Every child runs in a process group of its own: a terminal's Ctrl-C reaches
 * odbk alone, and stopping a child stops what it started. */
#ifndef ODBK_EXEC_H
#define ODBK_EXEC_H

#include "io/writer.h"

/* Called once, when the first bytes of the child's stdout arrive (used to start the filestore only
 * once pg_dump holds its snapshot). */
typedef void (*odbk_exec_first_cb)(void *ctx);

/* Run argv, pushing its stdout into dst (not finished here).  A non-zero exit or a signal is an
 * error (ODBK_E_FAILED) quoting its stderr. */
int odbk_exec_source(char *const argv[], char *const env[], struct odbk_writer *dst, odbk_exec_first_cb first,
                     void *first_ctx, struct odbk_err *err);

/* A writer feeding argv's stdin; its stdout goes to /dev/null.  finish() closes stdin and waits: a
 * non-zero exit is an error quoting its stderr.  abort() kills the child. */
int odbk_exec_sink_new(char *const argv[], char *const env[], struct odbk_writer **out, struct odbk_err *err);

/* Run argv (a hook) with no input and its stdout discarded, for at most timeout_s seconds (0: no limit):
 * then its process group is killed (SIGKILL), whatever it started included.  0 when it exited 0; else -1
 * with err naming it as `name`: "NAME did not finish within Ns and was killed" (TEMPFAIL), "NAME exited
 * with status N: <the end of its stderr>" or "NAME was killed by signal N: ..." (FAILED). */
int odbk_exec_run(char *const argv[], char *const env[], long timeout_s, const char *name, struct odbk_err *err);

/* Run argv to completion with no input, capturing up to max bytes of stdout (may be NULL). */
int odbk_exec_capture(char *const argv[], char *const env[], char **out, size_t max, struct odbk_err *err);

#endif
