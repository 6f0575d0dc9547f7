/* marker.c - the storage marker (storage.h): a small object ".odbk-storage" at a local storage's root
 * that says "this directory is odbk's storage", so that an unmounted disk (its empty mount point) or a
 * wrong path is told from a storage that lost its backups.  restic and pgBackRest refuse a repository
 * without its config file for the same reason.
 *
 * The file is two lines of text:
 *
 *   odbk-storage 1
 *   id 0f6c2a1e-8d3b-4c55-9a71-2b3c4d5e6f70
 *
 * (the format version, and an id made when it was written).  It is written with the first backup's
 * manifest, and by the first open of a storage that holds odbk manifests but no marker (an upgrade). */
#include "storage/storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define MARKER_MAX 4096

static int is_id(const char *s, size_t n)
{
    size_t i;
    if (n != 36)
        return 0;
    for (i = 0; i < n; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

int odbk_storage_marker_parse(const char *buf, size_t len, char id[40], struct odbk_err *err)
{
    static const char head[] = "odbk-storage ";
    const char *p = buf, *end = buf + len, *nl;
    long version = 0;
    id[0] = '\0';
    if (len > MARKER_MAX)
        return odbk_err_set(err, ODBK_E_DATA, "it has %zu bytes, not the few of a marker", len);
    if (memchr(buf, '\0', len))
        return odbk_err_set(err, ODBK_E_DATA, "it holds a NUL byte: not a marker");
    if (len < sizeof(head) - 1 || memcmp(p, head, sizeof(head) - 1))
        return odbk_err_set(err, ODBK_E_DATA, "it does not start with 'odbk-storage VERSION'");
    for (p += sizeof(head) - 1; p < end && *p >= '0' && *p <= '9' && version < 1000; p++)
        version = version * 10 + (*p - '0');
    if (p == buf + sizeof(head) - 1 || p >= end || *p != '\n' || (buf[sizeof(head) - 1] == '0' && version))
        return odbk_err_set(err, ODBK_E_DATA, "its first line is not 'odbk-storage VERSION'");
    if (version != ODBK_STORAGE_MARKER_VERSION)
        return odbk_err_set(err, ODBK_E_DATA, "it has format %ld%s, this odbk knows %d", version,
                            version > ODBK_STORAGE_MARKER_VERSION ? " (a newer odbk wrote it)" : "",
                            ODBK_STORAGE_MARKER_VERSION);
    p++;
    nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl || end - p < 3 || memcmp(p, "id ", 3) || !is_id(p + 3, (size_t)(nl - p - 3)))
        return odbk_err_set(err, ODBK_E_DATA, "its second line is not 'id UUID'");
    if (nl + 1 != end)
        return odbk_err_set(err, ODBK_E_DATA, "it has more than its two lines");
    memcpy(id, p + 3, 36);
    id[36] = '\0';
    return 0;
}

char *odbk_storage_marker_text(const char *id)
{
    return odbk_xasprintf("odbk-storage %d\nid %s\n", ODBK_STORAGE_MARKER_VERSION, id);
}

/* stops the listing (1) at the first "ENV/ID/backup-ID-manifest.json" */
static int manifest_cb(void *ctx, const struct odbk_storage_entry *e)
{
    static const char suffix[] = "-manifest.json";
    size_t n = strlen(e->path);
    (void)ctx;
    return n > sizeof(suffix) - 1 && !strcmp(e->path + n - (sizeof(suffix) - 1), suffix) && strchr(e->path, '/');
}

int odbk_storage_marker_write(struct odbk_storage *st, const char *id, struct odbk_err *err)
{
    char *text = odbk_storage_marker_text(id);
    int r = odbk_storage_put(st, ODBK_STORAGE_MARKER, text, strlen(text), err);
    free(text);
    if (r < 0)
        odbk_err_prefix(err, "storage '%s': cannot write its %s marker", st->name, ODBK_STORAGE_MARKER);
    return r;
}

int odbk_storage_marker_check(struct odbk_storage *st, const char *where, size_t known, struct odbk_err *err)
{
    struct odbk_storage_entry e = {0};
    char id[40], *buf = NULL;
    size_t len = 0;
    int r;
    /* a remote store answers for its own disks (its marker would be the same object through this
     * interface, but is not kept) */
    if (!odbk_storage_has(st, ODBK_STORAGE_F_MARKER))
        return 0;
    r = odbk_storage_stat(st, ODBK_STORAGE_MARKER, &e, err);
    free(e.path);
    if (r < 0)
        return -1;
    if (r == 0) {   /* there: it must be one */
        if (e.size > MARKER_MAX) {
            odbk_err_set(err, ODBK_E_DATA, "storage '%s' at %s: its %s has %llu bytes: it is no marker", st->name,
                         where, ODBK_STORAGE_MARKER, (unsigned long long)e.size);
            goto bad;
        }
        if (odbk_storage_get(st, ODBK_STORAGE_MARKER, MARKER_MAX, &buf, &len, err) < 0)
            return -1;
        r = odbk_storage_marker_parse(buf, len, id, err);
        free(buf);
        if (r < 0) {
            odbk_err_prefix(err, "storage '%s' at %s: its %s marker", st->name, where, ODBK_STORAGE_MARKER);
            goto bad;
        }
        return 0;
    }
    if (!known)   /* a new storage (or one the catalog has nothing from): the first manifest writes it */
        return 1;
    /* the catalog knows backups here: an odbk storage of before the marker shows its manifests (it gets its
     * marker now); an empty mount point or another directory shows none */
    r = odbk_storage_list(st, "", manifest_cb, NULL, err);
    if (r < 0)
        return -1;
    if (r > 0)
        return 2;
    odbk_err_set(err, ODBK_E_IO, "storage '%s' at %s has no %s marker, and the catalog knows %zu backup%s in it: "
                 "it is not mounted, or not odbk's", st->name, where, ODBK_STORAGE_MARKER, known,
                 known == 1 ? "" : "s");
    odbk_err_hint(err, "mount it; if its backups were moved or are gone for good, run odbk-list --rescan "
                  "--init-storage %s", st->name);
    return -1;
bad:
    odbk_err_hint(err, "odbk writes this file: check that the path is the storage's; to start it anew, remove the "
                  "file and run odbk-list --rescan --init-storage %s", st->name);
    return -1;
}
