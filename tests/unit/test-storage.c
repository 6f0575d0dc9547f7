/* test-storage.c - the storage core (lib/storage/storage.c) on a local storage opened on a path: the
 * recursive listing, a read from the core's resumable loop, stat; the read-only storages of restore's
 * sources refuse to write or remove; the http storage names its URL without the query; a directory
 * listing keeps no hostile name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "storage/storage.h"
#include "tap.h"

static int collect(void *ctx, const struct odbk_storage_entry *e)
{
    char *s = ctx;
    size_t n = strlen(s);
    snprintf(s + n, 512 - n, "%s%s=%llu", n ? " " : "", e->path, (unsigned long long)e->size);
    return 0;
}

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

int main(void)
{
    char tmpl[] = "/tmp/test-storage-XXXXXX", *dir = mkdtemp(tmpl), *p, got[512] = "", *data = NULL;
    struct odbk_storage *st, *web;
    struct odbk_storage_entry e;
    struct odbk_storage_dir d = {0};
    struct odbk_writer *w = NULL;
    struct odbk_err err = {0};
    size_t len = 0;
    plan(14);

    p = odbk_xasprintf("%s/a", dir), mkdir(p, 0700), free(p);
    p = odbk_xasprintf("%s/a/b", dir), mkdir(p, 0700), free(p);
    p = odbk_xasprintf("%s/a/b/one", dir), put_file(p, "1"), free(p);
    p = odbk_xasprintf("%s/top", dir), put_file(p, "hello"), free(p);

    odbk_storage_open_path(dir, &st);
    ok(st->bare && !strcmp(st->name, dir), "a storage on a path is named by it");
    ok(odbk_storage_list(st, "a/", collect, got, &err) == 0 && !strcmp(got, "a/b/one=1"), "listing recurses");
    if (strcmp(got, "a/b/one=1"))
        diag("got '%s'", got);
    ok(odbk_storage_get(st, "top", 100, &data, &len, &err) == 0 && len == 5 && !strcmp(data, "hello"),
       "a read goes through the core");
    free(data);
    ok(odbk_storage_stat(st, "a/b/one", &e, &err) == 0 && e.size == 1, "stat");
    ok(odbk_storage_stat(st, "nope", &e, &err) == 1, "stat of a missing object");
    memset(&err, 0, sizeof(err));
    ok(odbk_storage_get(st, "nope", 100, &data, &len, &err) == -1 && err.code == ODBK_E_NOINPUT &&
       !strncmp(err.msg, "cannot open '", 13), "a missing file: NOINPUT, named as a file (no storage name)");
    memset(&err, 0, sizeof(err));
    ok(odbk_storage_open_write(st, "new", 0, &w, &err) == -1 && err.code == ODBK_E_USAGE && !w &&
       strstr(err.msg, "is read-only: cannot write there"), "no write into a source");
    memset(&err, 0, sizeof(err));
    ok(odbk_storage_remove(st, "top", &err) == -1 && err.code == ODBK_E_USAGE, "no removal from a source");
    p = odbk_xasprintf("%s/top", dir);
    ok(access(p, F_OK) == 0, "the file is still there");
    unlink(p), free(p);
    p = odbk_xasprintf("%s/a/b/one", dir), unlink(p), free(p);
    p = odbk_xasprintf("%s/a/b", dir), rmdir(p), free(p);
    p = odbk_xasprintf("%s/a", dir), rmdir(p), free(p);
    odbk_storage_close(st);
    rmdir(dir);

    odbk_storage_open_url("https://example.invalid/x/odoo.zip?token=secret#frag", &web);
    ok(!strcmp(web->name, "https://example.invalid/x/odoo.zip"), "an URL storage's name has no query");
    memset(&err, 0, sizeof(err));
    ok(odbk_storage_read(web, "other", NULL, &err) == -1 && err.code == ODBK_E_NOINPUT, "it holds one object");
    memset(&err, 0, sizeof(err));
    ok(odbk_storage_list(web, "", collect, got, &err) == -1 && err.code == ODBK_E_USAGE, "and lists nothing");
    odbk_storage_close(web);

    odbk_storage_dir_add(&d, "..", 1, 0, 0);
    odbk_storage_dir_add(&d, "a/b", 0, 0, 0);
    odbk_storage_dir_add(&d, "", 0, 0, 0);
    odbk_storage_dir_add(&d, "ok", 0, 3, 0);
    ok(d.n == 1 && !strcmp(d.e[0].name, "ok") && d.e[0].size == 3, "a listing keeps no hostile name");
    odbk_storage_dir_clear(&d);
    ok(d.n == 0, "cleared for a retry");
    odbk_storage_dir_free(&d);
    return done_testing();
}
