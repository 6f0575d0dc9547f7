/* err.h - the one error idiom of libodbk.
 *
 * A fallible function takes a `struct odbk_err *err` last, returns 0 on success and -1 on failure after
 * filling the record with odbk_err_set() (or odbk_err_sys() to append strerror(errno)).  The library never
 * prints and never exits; a program prints the record once (odbk_err_print) and exits with its sysexits
 * code (odbk_err_exit_code).  Messages start lowercase, name the failing thing in single quotes, and have
 * no final period; a hint says how to fix it.
 */
#ifndef ODBK_ERR_H
#define ODBK_ERR_H

#include <stdio.h>

enum odbk_errcode {
    ODBK_E_NONE = 0,
#define X(name, code) ODBK_E_##name,
#include "common/errcodes.def"
#undef X
};

struct odbk_err {
    enum odbk_errcode code;
    char msg[1024];
    char hint[512];
};

#define ODBK_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Record an error; returns -1 so that `return odbk_err_set(...)` reads naturally. */
int odbk_err_set(struct odbk_err *err, enum odbk_errcode code, const char *fmt, ...) ODBK_PRINTF(3, 4);
/* Same, appending ": <strerror(errno)>"; the code is chosen from errno (EACCES → PERM, ENOENT → NOINPUT)
 * unless it is not ODBK_E_IO. */
int odbk_err_sys(struct odbk_err *err, enum odbk_errcode code, const char *fmt, ...) ODBK_PRINTF(3, 4);
/* Set the hint line (what to do about it). */
void odbk_err_hint(struct odbk_err *err, const char *fmt, ...) ODBK_PRINTF(2, 3);
/* Prepend context: "what: " + the existing message, unless the message already starts with it. */
void odbk_err_prefix(struct odbk_err *err, const char *fmt, ...) ODBK_PRINTF(2, 3);
void odbk_err_clear(struct odbk_err *err);
/* The sysexits code of the error (0 when none). */
int odbk_err_exit_code(const struct odbk_err *err);
/* Print "PROG: error: msg" and, if any, "PROG: hint: hint" to f. */
void odbk_err_print(const struct odbk_err *err, const char *prog, FILE *f);

#endif
