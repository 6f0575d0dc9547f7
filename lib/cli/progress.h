/* progress.h - progress on stderr (--progress in odbk-create(1), odbk-restore(1)), fed by the events of
 * create and restore (odbk_backup_progress_cb):
 *   - bar (a terminal): one line per phase under way, "[env] phase  45%  12.3 MB of 27.4 MB  5.1 MB/s
 *     ETA 3s", each clipped to the terminal's width (read at every redraw, so a resized window is
 *     followed), redrawn in place and taken off the screen when the run ends;
 *   - json: one JSON object per event and line (env, backup, phase, status, bytes, expected, estimated,
 *     elapsed, error);
 *   - none: nothing.
 * odbk_progress_event is safe to call from several threads. */
#ifndef ODBK_PROGRESS_H
#define ODBK_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "backup/backup.h"
#include "cli/cli.h"

struct odbk_progress;

/* NULL when there is nothing to show (mode none, or auto with --quiet or without a terminal). */
struct odbk_progress *odbk_progress_new(enum odbk_progress_mode mode, int quiet);
/* An odbk_backup_progress_cb: pass it with the progress as ctx.  NULL progress is a no-op. */
void odbk_progress_event(void *progress, const struct odbk_progress_event *ev);
/* Take the bar off the screen (the cursor is left at the start of an empty line), so that what the
 * program prints next stands on its own line; a no-op when nothing is drawn. */
void odbk_progress_clear(struct odbk_progress *p);
/* Clear; free.  NULL is a no-op. */
void odbk_progress_free(struct odbk_progress *p);

/* One bar line into buf (NUL-terminated; returns its length), at most width - 1 columns, its label
 * padded to pad columns when there is room (so that the lines' bars align): what does not fit goes, the env name first, then the phase's tail, then the bar, rate, total and ETA, never cut in
 * the middle of a figure.  expected 0: unknown; estimated: shown with "~"; seconds: since the phase
 * started.  Bytes that are not printable ASCII in env and phase show as '?'. */
size_t odbk_progress_line(char *buf, size_t size, int width, size_t pad, const char *env, const char *phase,
                          uint64_t bytes, uint64_t expected, int estimated, double seconds);

#endif
