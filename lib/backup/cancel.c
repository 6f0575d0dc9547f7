/* cancel.c - a link that fails once the run is cancelled (stops the other pipeline quickly) or a stop
 * signal arrived (run.h). */
#include "backup/run.h"

#include <stdlib.h>

#include "common/interrupt.h"
#include "common/util.h"

struct cancel_filter {
    struct odbk_writer w;
    atomic_int *flag;
};

static int cancel_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct cancel_filter *c = (struct cancel_filter *)w;
    if (odbk_interrupted())
        return odbk_interrupt_err(err);
    if (atomic_load(c->flag))
        return odbk_err_set(err, ODBK_E_FAILED, "cancelled");
    return odbk_writer_write(w->next, buf, len, err);
}

static void cancel_free(struct odbk_writer *w)
{
    free(w);
}

static const struct odbk_writer_ops cancel_ops = {"cancel", cancel_write, NULL, NULL, cancel_free};

struct odbk_writer *odbk_filter_cancel_new(struct odbk_writer *next, atomic_int *flag)
{
    struct cancel_filter *cf = odbk_xcalloc(1, sizeof(*cf));
    cf->flag = flag;
    odbk_writer_init(&cf->w, &cancel_ops, next);
    return &cf->w;
}
