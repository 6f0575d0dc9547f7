/* times.c - the times file of odbk-policy plan --times (odbk-policy(1)). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/retention.h"

int odbk_retention_read_times(const char *path, time_t **out, size_t *n, struct odbk_err *err)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    const char *name = strcmp(path, "-") ? path : "<stdin>";
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, r = 0;
    *out = NULL;
    *n = 0;
    if (!f)
        return odbk_err_sys(err, ODBK_E_NOINPUT, "cannot open '%s'", path);
    while (r == 0 && (len = getline(&line, &cap, f)) >= 0) {
        char *s = line, *e = line + len;
        time_t t;
        lineno++;
        while (*s == ' ' || *s == '\t')
            s++;
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (!*s || *s == '#')
            continue;
        if (odbk_time_parse_rfc3339(s, &t) < 0) {
            r = odbk_err_set(err, ODBK_E_DATA, "%s:%d: '%s' is not an RFC 3339 time", name, lineno, s);
            odbk_err_hint(err, "write times as 2026-01-02T03:04:05Z or 2026-01-02T04:04:05+01:00, one per line");
            break;
        }
        *out = odbk_xrealloc(*out, (*n + 1) * sizeof(time_t));
        (*out)[(*n)++] = t;
    }
    if (r == 0 && ferror(f))
        r = odbk_err_sys(err, ODBK_E_IO, "cannot read '%s'", path);
    free(line);
    if (f != stdin)
        fclose(f);
    if (r < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return r;
}
