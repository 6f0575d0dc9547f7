/* common.c - what create, restore, prune and download share: ids, keys, manifests, stale runs. */
#include "backup/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

static void random_bytes(unsigned char *buf, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    if (fd >= 0) {
        while (got < n) {
            ssize_t r = read(fd, buf + got, n - got);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        close(fd);
    }
    for (; got < n; got++)   /* no /dev/urandom: still unique enough with the pid and time */
        buf[got] = (unsigned char)(rand() ^ getpid());
}

void odbk_backup_new_id(char out[40])
{
    unsigned char r[3];
    time_t t = odbk_now();
    struct tm tm;
    gmtime_r(&t, &tm);
    random_bytes(r, sizeof(r));
    strftime(out, 40, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out + strlen(out), 40 - strlen(out), "-%02x%02x%02x", r[0], r[1], r[2]);
}

void odbk_backup_new_uuid(char out[40])
{
    unsigned char r[16];
    random_bytes(r, sizeof(r));
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
             r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

char *odbk_backup_folder(const char *env, const char *id)
{
    return odbk_xasprintf("%s/%s/", env, id);
}

char *odbk_backup_file_key(const char *env, const char *id, const char *name)
{
    return odbk_xasprintf("%s/%s/%s", env, id, name);
}

int odbk_backup_valid_type(const char *s)
{
    const char *t[] = {"manual", "scheduled", "pre-restore", "pre-upgrade", "pre-destroy", NULL};
    size_t i;
    for (i = 0; t[i]; i++)
        if (!strcmp(s, t[i]))
            return 1;
    return 0;
}

int odbk_backup_valid_tier(const char *s)
{
    const char *t[] = {"daily", "weekly", "monthly", "yearly", "permanent", NULL};
    size_t i;
    for (i = 0; t[i]; i++)
        if (!strcmp(s, t[i]))
            return 1;
    return 0;
}

int odbk_backup_manifest(struct odbk_storage *st, const struct odbk_backup *b, struct odbk_manifest *m,
                         struct odbk_err *err)
{
    char *json = NULL, *key, *name;
    int r;
    if (b->manifest && *b->manifest)
        return odbk_manifest_parse(b->manifest, b->id, m, err);
    name = odbk_xasprintf("backup-%s-manifest.json", b->id);
    key = odbk_backup_file_key(b->env, b->id, name);
    r = odbk_storage_get(st, key, 16 << 20, &json, NULL, err);
    if (r == 0)
        r = odbk_manifest_parse(json, key, m, err);
    free(json);
    free(key);
    free(name);
    return r;
}

#define STALE_SECONDS (30 * 60)

int odbk_backup_reap_stale(const struct odbk_config *cfg, struct odbk_catalog *cat, struct odbk_err *err)
{
    const char *states[] = {ODBK_STATUS_PENDING, ODBK_STATUS_IN_PROGRESS, ODBK_STATUS_UPLOADING, NULL};
    time_t now = odbk_now();
    int reaped = 0;
    size_t s, i;
    for (s = 0; states[s]; s++) {
        struct odbk_backup_filter f = {0};
        struct odbk_backup *v = NULL;
        size_t n = 0;
        f.status = states[s];
        if (odbk_catalog_backup_list(cat, &f, &v, &n, err) < 0)
            return -1;
        for (i = 0; i < n; i++) {
            struct odbk_backup *b = &v[i];
            int same_host = b->host && !strcmp(b->host, odbk_hostname());
            int dead = same_host && b->pid > 0 && kill((pid_t)b->pid, 0) != 0 && errno == ESRCH;
            time_t beat = b->heartbeat_at ? b->heartbeat_at : b->created_at;
            char *why;
            struct odbk_storage *st = NULL;
            struct odbk_err e2 = {0};
            if (!dead && now - beat < STALE_SECONDS)
                continue;
            why = dead ? odbk_xasprintf("interrupted: process %ld on %s is gone", b->pid, b->host)
                       : odbk_xasprintf("interrupted: no heartbeat since %ld minutes", (long)((now - beat) / 60));
            if (odbk_storage_open(cfg, b->storage, &st, &e2) == 0) {
                char *folder = odbk_backup_folder(b->env, b->id);
                odbk_storage_remove_prefix(st, folder, &e2);
                free(folder);
                odbk_storage_close(st);
            }
            odbk_catalog_backup_set_status(cat, b->id, ODBK_STATUS_FAILED, why, &e2);
            {
                struct odbk_audit a = {0};
                a.action = "reap";
                a.backup_id = b->id;
                a.env = b->env;
                a.result = "ok";
                a.detail = why;
                odbk_catalog_audit_add(cat, &a, &e2);
            }
            free(why);
            reaped++;
        }
        odbk_backup_list_free(v, n);
    }
    return reaped;
}
