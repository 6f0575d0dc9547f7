/* interrupt.h - SIGTERM, SIGINT and SIGHUP as a request to stop (systemctl stop, Ctrl-C, a closed ssh
 * session).  The handler only records the signal and wakes a self-pipe; the data path asks
 * odbk_interrupted() between chunks and polls odbk_interrupt_fd() where it waits on a child, stops, and
 * cleans up through its ordinary failure path.  A program exits 128 + the signal's number afterwards. */
#ifndef ODBK_INTERRUPT_H
#define ODBK_INTERRUPT_H

#include "common/err.h"

/* Install the handlers (SA_RESTART; idempotent), except for a signal that is ignored on entry (nohup):
 * it stays ignored.  Until this is called nothing is ever interrupted. */
void odbk_interrupt_install(void);
/* The first stop signal received, or 0. */
int odbk_interrupted(void);
/* Read end of the self-pipe: readable once a stop signal arrived (-1 when not installed). */
int odbk_interrupt_fd(void);
/* "SIGTERM", "SIGINT", "SIGHUP" (the first received), or "a signal". */
const char *odbk_interrupt_name(void);
/* Fill err with "interrupted by SIGTERM" (kind FAILED) and return -1. */
int odbk_interrupt_err(struct odbk_err *err);
/* The exit status for the signal received: 128 + its number (143, 130, 129), or 0 when none. */
int odbk_interrupt_exit_code(void);

#endif
