/* err.c - error records and their mapping to sysexits codes (errcodes.def). */
#include "common/err.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

static const struct {
    int exit_code;
} kinds[] = {
    [ODBK_E_NONE] = {0},
#define X(name, code) [ODBK_E_##name] = {code},
#include "common/errcodes.def"
#undef X
};

int odbk_err_set(struct odbk_err *err, enum odbk_errcode code, const char *fmt, ...)
{
    va_list ap;
    if (!err)
        return -1;
    err->code = code;
    err->hint[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

int odbk_err_sys(struct odbk_err *err, enum odbk_errcode code, const char *fmt, ...)
{
    int e = errno;
    va_list ap;
    size_t n;
    if (!err)
        return -1;
    if (code == ODBK_E_IO) {
        if (e == EACCES || e == EPERM || e == EROFS)
            code = ODBK_E_PERM;
        else if (e == ENOENT || e == ENOTDIR)
            code = ODBK_E_NOINPUT;
        else if (e == ENOMEM || e == EAGAIN || e == EMFILE || e == ENFILE)
            code = ODBK_E_OSERR;
    }
    err->code = code;
    err->hint[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    n = strlen(err->msg);
    snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(e));
    errno = e;
    return -1;
}

void odbk_err_hint(struct odbk_err *err, const char *fmt, ...)
{
    va_list ap;
    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
    va_end(ap);
}

void odbk_err_prefix(struct odbk_err *err, const char *fmt, ...)
{
    char pre[512], old[sizeof(err->msg)];
    va_list ap;
    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof(pre), fmt, ap);
    va_end(ap);
    if (!strncmp(err->msg, pre, strlen(pre)) && err->msg[strlen(pre)] == ':')
        return;   /* already said: never "storage 's3': storage 's3': ..." */
    memcpy(old, err->msg, sizeof(old));
    if (snprintf(err->msg, sizeof(err->msg), "%s: %s", pre, old) >= (int)sizeof(err->msg))
        memcpy(err->msg + sizeof(err->msg) - 4, "...", 4);   /* truncated: say so */
}

void odbk_err_clear(struct odbk_err *err)
{
    if (!err)
        return;
    err->code = ODBK_E_NONE;
    err->msg[0] = err->hint[0] = '\0';
}

int odbk_err_exit_code(const struct odbk_err *err)
{
    if (!err || err->code <= ODBK_E_NONE || (size_t)err->code >= sizeof(kinds) / sizeof(kinds[0]))
        return err && err->code ? 1 : 0;
    return kinds[err->code].exit_code;
}

void odbk_err_print(const struct odbk_err *err, const char *prog, FILE *f)
{
    fprintf(f, "%s: error: %s\n", prog, err->msg[0] ? err->msg : "unknown error");   /* lint-ok: the printer programs call */
    if (err->hint[0])
        fprintf(f, "%s: hint: %s\n", prog, err->hint);   /* lint-ok: the printer programs call */
}
