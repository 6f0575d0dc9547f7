/* pipe.h - turn the push of a writer chain into the pull a library wants (libarchive reading a tar or
 * a zip).  odbk_pipe_writer_new() returns a writer; a consumer thread runs `consume`, which reads what
 * was written through odbk_pipe_read().  Memory is bounded by the pipe's buffer: a writer blocks while
 * it is full.  finish() signals the end of data and returns the consumer's result; a consumer that
 * fails makes the next write fail with its error. */
#ifndef ODBK_PIPE_H
#define ODBK_PIPE_H

#include <sys/types.h>

#include "io/writer.h"

struct odbk_pipe;

typedef int (*odbk_pipe_consumer)(void *ctx, struct odbk_pipe *p, struct odbk_err *err);

/* free_ctx (may be NULL) is called on ctx when the writer is freed, after the consumer thread ended. */
struct odbk_writer *odbk_pipe_writer_new(odbk_pipe_consumer consume, void *ctx, void (*free_ctx)(void *),
                                         size_t bufsize);
/* Up to len bytes into buf: the count, 0 at the end of data, -1 when the writer aborted. */
ssize_t odbk_pipe_read(struct odbk_pipe *p, void *buf, size_t len);

#endif
