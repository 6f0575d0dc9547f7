/* progress.h - progress on stderr (SPEC §3): a bar with bytes, rate and ETA on a terminal, JSON lines
 * with --progress=json, nothing otherwise.  odbk_progress_update matches odbk_backup_progress_cb and is
 * safe to call from several threads. */
#ifndef ODBK_PROGRESS_H
#define ODBK_PROGRESS_H

#include <stdint.h>

#include "cli/cli.h"

struct odbk_progress;

struct odbk_progress *odbk_progress_new(enum odbk_progress_mode mode, int quiet);
void odbk_progress_update(void *progress, const char *phase, uint64_t bytes, uint64_t expected);
/* Clear the bar line; free. NULL is a no-op. */
void odbk_progress_free(struct odbk_progress *p);

#endif
