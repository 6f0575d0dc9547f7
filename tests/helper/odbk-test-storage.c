/* odbk-test-storage - drive one storage of a config through the driver interface, for the storage
 * contract tests (tests/integration/lib-storage.sh).  Test-only; not installed.
 *
 *   odbk-test-storage CONFIG STORAGE put KEY [--abort-after N] [--size-hint N] < data
 *   odbk-test-storage CONFIG STORAGE get KEY > data
 *   odbk-test-storage CONFIG STORAGE stat KEY          prints "SIZE" (exit 66 when missing)
 *   odbk-test-storage CONFIG STORAGE list [PREFIX]     prints "KEY SIZE" lines, sorted
 *   odbk-test-storage CONFIG STORAGE rm KEY
 *   odbk-test-storage CONFIG STORAGE rmprefix PREFIX
 *   odbk-test-storage CONFIG STORAGE presign KEY SECONDS
 *   odbk-test-storage CONFIG STORAGE sweep PREFIX AGE_SECONDS   prints how many unfinished uploads went
 * Exit codes are odbk's (sysexits); errors on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "config/config.h"
#include "storage/storage.h"

struct lines {
    char **v;
    size_t n;
};

static int list_cb(void *ctx, const struct odbk_storage_entry *e)
{
    struct lines *l = ctx;
    l->v = odbk_xrealloc(l->v, (l->n + 1) * sizeof(char *));
    l->v[l->n++] = odbk_xasprintf("%s %llu", e->path, (unsigned long long)e->size);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    struct odbk_err err = {0};
    struct odbk_config *cfg = NULL;
    struct odbk_storage *st = NULL;
    const char *op;
    int r = 0;
    if (argc < 4) {
        fprintf(stderr, "usage: odbk-test-storage CONFIG STORAGE OP [ARGS]\n");
        return 64;
    }
    op = argv[3];
    if (odbk_config_parse_file(argv[1], &cfg, &err) < 0 || odbk_storage_open(cfg, argv[2], &st, &err) < 0)
        goto out;
    if (!strcmp(op, "put") && argc >= 5) {
        struct odbk_writer *w;
        long long abort_after = -1, done = 0;
        uint64_t hint = 0;
        char *buf = odbk_xmalloc(1 << 20);
        ssize_t n;
        int i;
        for (i = 5; i + 1 < argc; i += 2) {
            if (!strcmp(argv[i], "--abort-after"))
                abort_after = atoll(argv[i + 1]);
            else if (!strcmp(argv[i], "--size-hint"))
                hint = (uint64_t)atoll(argv[i + 1]);
        }
        if ((r = odbk_storage_open_write(st, argv[4], hint, &w, &err)) == 0) {
            while ((n = read(0, buf, 1 << 20)) > 0) {
                if ((r = odbk_writer_write(w, buf, (size_t)n, &err)) < 0)
                    break;
                done += n;
                if (abort_after >= 0 && done >= abort_after) {
                    odbk_writer_abort(w);
                    odbk_writer_free(w);
                    free(buf);
                    fprintf(stderr, "aborted after %lld bytes\n", done);
                    odbk_storage_close(st);
                    odbk_config_free(cfg);
                    return 3;
                }
            }
            if (r == 0)
                r = odbk_writer_finish(w, &err);
            odbk_writer_free(w);
        }
        free(buf);
    } else if (!strcmp(op, "get") && argc == 5) {
        struct odbk_writer *out = odbk_sink_fd_new(1, "stdout");
        r = odbk_storage_read(st, argv[4], out, &err);
        if (r == 0)
            r = odbk_writer_finish(out, &err);
        odbk_writer_free(out);
    } else if (!strcmp(op, "stat") && argc == 5) {
        struct odbk_storage_entry e = {0};
        r = odbk_storage_stat(st, argv[4], &e, &err);
        if (r == 1) {
            odbk_err_set(&err, ODBK_E_NOINPUT, "no such object '%s'", argv[4]);
            r = -1;
        } else if (r == 0) {
            printf("%llu\n", (unsigned long long)e.size);
        }
    } else if (!strcmp(op, "list")) {
        struct lines l = {0};
        size_t i;
        r = odbk_storage_list(st, argc >= 5 ? argv[4] : "", list_cb, &l, &err);
        if (l.n)   /* qsort(NULL, 0, ...) is undefined */
            qsort(l.v, l.n, sizeof(char *), cmp);
        for (i = 0; i < l.n; i++) {
            if (r == 0)
                printf("%s\n", l.v[i]);
            free(l.v[i]);
        }
        free(l.v);
    } else if (!strcmp(op, "rm") && argc == 5) {
        r = odbk_storage_remove(st, argv[4], &err);
    } else if (!strcmp(op, "rmprefix") && argc == 5) {
        r = odbk_storage_remove_prefix(st, argv[4], &err);
    } else if (!strcmp(op, "sweep") && argc == 6) {
        int n = 0;
        r = odbk_storage_sweep(st, argv[4], odbk_now() - atol(argv[5]), &n, &err);
        if (r == 0)
            printf("%d\n", n);
    } else if (!strcmp(op, "presign") && argc == 6) {
        char *url = NULL;
        r = odbk_storage_presign(st, argv[4], atol(argv[5]), &url, &err);
        if (r == 0)
            printf("%s\n", url);
        free(url);
    } else {
        odbk_err_set(&err, ODBK_E_USAGE, "unknown operation '%s' or wrong arguments", op);
        r = -1;
    }
out:
    odbk_storage_close(st);
    odbk_config_free(cfg);
    if (r < 0 || err.code) {
        odbk_err_print(&err, "odbk-test-storage", stderr);
        return odbk_err_exit_code(&err) ? odbk_err_exit_code(&err) : 1;
    }
    return fflush(stdout) == 0 ? 0 : 74;
}
