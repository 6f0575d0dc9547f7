/* report.c - progress events of create and restore (report.h). */
#include "backup/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static void set(char **slot, const char *v)
{
    free(*slot);
    *slot = v && *v ? odbk_xstrdup(v) : NULL;
}

void odbk_report_set_env(struct odbk_report *r, const char *env)
{
    set(&r->env, env);
}

void odbk_report_set_backup(struct odbk_report *r, const char *backup_id)
{
    set(&r->backup_id, backup_id);
}

void odbk_report_release(struct odbk_report *r)
{
    set(&r->env, NULL);
    set(&r->backup_id, NULL);
}

static void send(const struct odbk_report *r, const char *phase, enum odbk_progress_status status, uint64_t bytes,
                 uint64_t expected, int estimated, const char *unit, const char *error)
{
    struct odbk_progress_event ev = {0};
    if (!r || !r->cb)
        return;
    ev.env = r->env;
    ev.backup_id = r->backup_id;
    ev.phase = phase;
    ev.status = status;
    ev.bytes = bytes;
    ev.expected = expected;
    ev.estimated = estimated;
    ev.unit = unit;
    ev.error = error;
    r->cb(r->ctx, &ev);
}

void odbk_report_event(const struct odbk_report *r, const char *phase, enum odbk_progress_status status,
                       uint64_t bytes, uint64_t expected, int estimated, const char *error)
{
    send(r, phase, status, bytes, expected, estimated, NULL, error);
}

void odbk_report_count(const struct odbk_report *r, const char *phase, enum odbk_progress_status status,
                       uint64_t done, uint64_t total, const char *unit, const char *error)
{
    send(r, phase, status, done, total, 0, unit, error);
}

void odbk_report_run_begin(struct odbk_report *r, odbk_backup_progress_cb cb, void *ctx, const char *env,
                           const char *backup_id)
{
    memset(r, 0, sizeof(*r));
    r->cb = cb;
    r->ctx = ctx;
    odbk_report_set_env(r, env);
    odbk_report_set_backup(r, backup_id);
    odbk_report_event(r, NULL, ODBK_PHASE_STARTED, 0, 0, 0, NULL);
}

int odbk_report_run_end(struct odbk_report *r, int rc, uint64_t bytes, const struct odbk_err *err)
{
    odbk_report_event(r, NULL, rc == 0 ? ODBK_PHASE_FINISHED : ODBK_PHASE_FAILED, bytes, 0, 0,
                      rc == 0 ? NULL : err->msg);
    odbk_report_release(r);
    return rc;
}

static void phase_bytes(void *ctx, uint64_t bytes)
{
    struct odbk_report_phase *ph = ctx;
    ph->bytes = bytes;
    odbk_report_event(ph->report, ph->phase, ODBK_PHASE_RUNNING, bytes, ph->expected, ph->estimated, NULL);
}

struct odbk_writer *odbk_report_filter_new(struct odbk_report_phase *ph, struct odbk_writer *next)
{
    if (!ph->report || !ph->report->cb)
        return next;
    ph->bytes = 0;
    odbk_report_event(ph->report, ph->phase, ODBK_PHASE_STARTED, 0, ph->expected, ph->estimated, NULL);
    return odbk_filter_progress_new(next, phase_bytes, ph, 250);
}

void odbk_report_phase_end(const struct odbk_report_phase *ph, int ok, const char *error)
{
    odbk_report_event(ph->report, ph->phase, ok ? ODBK_PHASE_FINISHED : ODBK_PHASE_FAILED, ph->bytes,
                      ok && !ph->expected ? ph->bytes : ph->expected, ph->estimated, ok ? NULL : error);
}

void odbk_report_prefixed(void *ctx, const struct odbk_progress_event *ev)
{
    const struct odbk_report_prefix *p = ctx;
    struct odbk_progress_event e = *ev;
    char *phase = ev->phase ? odbk_xasprintf("%s: %s", p->prefix, ev->phase) : NULL;
    e.phase = phase ? phase : p->prefix;
    p->cb(p->ctx, &e);
    free(phase);
}
