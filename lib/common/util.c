/* util.c - allocation, time, sizes, names: the small things every module needs. */
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <ftw.h>
#include <unistd.h>

#include <cJSON.h>

static void oom(size_t n)
{
    fprintf(stderr, "odbk: fatal: out of memory (allocating %zu bytes)\n", n);
    abort();
}

void *odbk_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *odbk_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *odbk_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *odbk_xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p)
        oom(strlen(s));
    return p;
}

char *odbk_xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        oom(n);
    return p;
}

char *odbk_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;
    int n;
    va_start(ap, fmt);
    n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom(0);
    return p;
}

void odbk_time_rfc3339(time_t t, char buf[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int odbk_time_parse_rfc3339(const char *s, time_t *out)
{
    struct tm tm;
    const char *p;
    long off = 0;
    memset(&tm, 0, sizeof(tm));
    p = strptime(s, "%Y-%m-%d", &tm);
    if (!p || (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p = strptime(p + 1, "%H:%M:%S", &tm);
    if (!p)
        return -1;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm;
        char sign = *p;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 || strlen(p) != 6)
            return -1;
        off = (hh * 3600L + mm * 60L) * (sign == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    if (*p)
        return -1;
    *out = timegm(&tm) - off;
    return 0;
}

time_t odbk_now(void)
{
    return time(NULL);
}

int odbk_parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    uint64_t mul = 1;
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    if (*end) {
        char u = (char)toupper((unsigned char)*end);
        const char *rest = end + 1;
        switch (u) {
        case 'K': mul = 1024ULL; break;
        case 'M': mul = 1024ULL * 1024; break;
        case 'G': mul = 1024ULL * 1024 * 1024; break;
        case 'T': mul = 1024ULL * 1024 * 1024 * 1024; break;
        case 'B': mul = 1; rest = end + 1; if (*rest) return -1; break;
        default: return -1;
        }
        if (u != 'B' && *rest && strcmp(rest, "iB") && strcmp(rest, "B") && strcmp(rest, "ib"))
            return -1;
    }
    if (v > UINT64_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

void odbk_fmt_size(uint64_t n, char buf[32])
{
    const char *u[] = {"B", "KB", "MB", "GB", "TB"};
    double d = (double)n;
    int i = 0;
    while (d >= 1000 && i < 4) {
        d /= 1000;
        i++;
    }
    if (i == 0)
        snprintf(buf, 32, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, 32, "%.1f %s", d, u[i]);
}

int odbk_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    int *prev, *cur, r;
    if (la > 64 || lb > 64)
        return 99;
    prev = odbk_xcalloc(lb + 1, sizeof(int));
    cur = odbk_xcalloc(lb + 1, sizeof(int));
    for (j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (j = 1; j <= lb; j++) {
            int c = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < c)
                c = prev[j] + 1;
            if (cur[j - 1] + 1 < c)
                c = cur[j - 1] + 1;
            cur[j] = c;
        }
        memcpy(prev, cur, (lb + 1) * sizeof(int));
    }
    r = prev[lb];
    free(prev);
    free(cur);
    return r;
}

const char *odbk_did_you_mean(const char *word, const char *const *candidates)
{
    const char *best = NULL;
    int bestd = 3;
    for (; *candidates; candidates++) {
        int d = odbk_edit_distance(word, *candidates);
        if (d < bestd) {
            bestd = d;
            best = *candidates;
        }
    }
    return best;
}

int odbk_name_is_safe(const char *s)
{
    if (!s || !*s || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (; *s; s++)
        if (*s == '/' || *s == '\\' || (unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

int odbk_read_small_file(const char *path, size_t max, char **out, struct odbk_err *err)
{
    size_t len;
    return odbk_read_small_file_len(path, max, out, &len, err);
}

int odbk_read_small_file_len(const char *path, size_t max, char **out, size_t *out_len, struct odbk_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf;
    size_t len = 0;
    ssize_t n;
    if (fd < 0)
        return odbk_err_sys(err, ODBK_E_IO, "cannot open '%s'", path);
    buf = odbk_xmalloc(max + 1);
    while ((n = read(fd, buf + len, max - len)) > 0) {
        len += (size_t)n;
        if (len == max)
            break;
    }
    if (n < 0) {
        odbk_err_sys(err, ODBK_E_IO, "cannot read '%s'", path);
        close(fd);
        free(buf);
        return -1;
    }
    close(fd);
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

int odbk_failpoint(const char *name)
{
    static int fired;
    const char *v = getenv("ODBK_FAILPOINT");
    size_t n = strlen(name);
    if (!v || strncmp(v, name, n) || (v[n] && v[n] != ':'))
        return 0;
    if (v[n] == ':' && fired >= atoi(v + n + 1))
        return 0;
    fired++;
    return 1;
}

void odbk_crash_point(const char *name)
{
    if (odbk_failpoint(name))
        kill(getpid(), SIGKILL);
}

time_t odbk_proc_started_at(long pid)
{
    char *ticks = odbk_proc_start(pid), line[256];
    long long t = ticks && *ticks ? atoll(ticks) : 0, btime = 0;
    long hz = sysconf(_SC_CLK_TCK);
    FILE *f = t ? fopen("/proc/stat", "r") : NULL;
    free(ticks);
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "btime %lld", &btime) == 1)
            break;
    if (f)
        fclose(f);
    return btime && hz > 0 ? (time_t)(btime + t / hz) : 0;
}

char *odbk_proc_start(long pid)
{
    char path[64], buf[1024], *p;
    FILE *f;
    size_t n;
    int field;
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if (!(f = fopen(path, "r")))
        return odbk_xstrdup("");
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the command name (field 2) is in parentheses and may hold spaces: count from its closing one */
    if (!(p = strrchr(buf, ')')))
        return odbk_xstrdup("");
    for (field = 2; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    if (!p)
        return odbk_xstrdup("");
    p++;
    return odbk_xstrndup(p, strcspn(p, " "));
}

const char *odbk_hostname(void)
{
    static char name[256];
    if (!name[0] && gethostname(name, sizeof(name) - 1) != 0)
        strcpy(name, "localhost");
    return name;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path);
    return unlink(path);
}

int odbk_rmtree(const char *path, struct odbk_err *err)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT ? 0 : odbk_err_sys(err, ODBK_E_IO, "cannot remove '%s'", path);
    if (!S_ISDIR(sb.st_mode))
        return unlink(path) == 0 ? 0 : odbk_err_sys(err, ODBK_E_IO, "cannot remove '%s'", path);
    if (nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS) != 0)
        return odbk_err_sys(err, ODBK_E_IO, "cannot remove '%s'", path);
    return 0;
}

char *odbk_dirname(const char *path)
{
    const char *s = strrchr(path, '/');
    if (!s)
        return odbk_xstrdup(".");
    if (s == path)
        return odbk_xstrdup("/");
    return odbk_xstrndup(path, (size_t)(s - path));
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directories on the current path, by device and inode: a symbolic link back to one of them is a loop. */
struct walk_frame {
    dev_t dev;
    ino_t ino;
    const char *rel;                  /* "" for the root */
    const struct walk_frame *up;
};

/* lstat an entry and, for a symbolic link, stat what it points to; *vanished when it went away meanwhile. */
static int walk_stat(const char *full, struct stat *sb, int *vanished, struct odbk_err *err)
{
    char target[4096];
    ssize_t n;
    *vanished = 0;
    if (lstat(full, sb) != 0) {
        if (errno == ENOENT) {
            *vanished = 1;
            return 0;
        }
        return odbk_err_sys(err, ODBK_E_IO, "cannot stat '%s'", full);
    }
    if (!S_ISLNK(sb->st_mode) || stat(full, sb) == 0)
        return 0;
    if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
        return odbk_err_sys(err, ODBK_E_IO, "cannot follow the symbolic link '%s'", full);
    n = readlink(full, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    odbk_err_set(err, ODBK_E_NOINPUT, "symbolic link '%s' points to '%s', which does not exist", full, target);
    odbk_err_hint(err, "restore what the link points to, or remove the link; a backup never leaves a file out");
    return -1;
}

static int walk_dir(const char *root, const struct walk_frame *here, int depth, odbk_walk_cb cb, void *ctx,
                    struct odbk_err *err)
{
    const char *rel = here->rel;
    char *path = *rel ? odbk_xasprintf("%s/%s", root, rel) : odbk_xstrdup(root);
    DIR *d = opendir(path);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, i;
    int r = 0;
    if (!d || depth > 64) {
        if (d)
            closedir(d);
        r = odbk_err_sys(err, ODBK_E_IO, "cannot read directory '%s'", path);
        free(path);
        return r;
    }
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        names = odbk_xrealloc(names, (n + 1) * sizeof(char *));
        names[n++] = odbk_xstrdup(de->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(char *), name_cmp);
    for (i = 0; i < n && r == 0; i++) {
        char *crel = *rel ? odbk_xasprintf("%s/%s", rel, names[i]) : odbk_xstrdup(names[i]);
        char *full = odbk_xasprintf("%s/%s", path, names[i]);
        struct stat sb;
        const struct walk_frame *f;
        int vanished;
        r = walk_stat(full, &sb, &vanished, err);
        if (r == 0 && !vanished && S_ISDIR(sb.st_mode))
            for (f = here; f; f = f->up)
                if (f->dev == sb.st_dev && f->ino == sb.st_ino) {
                    r = odbk_err_set(err, ODBK_E_DATA, "symbolic link '%s' loops back to '%s%s%s'", full, root,
                                     *f->rel ? "/" : "", f->rel);
                    odbk_err_hint(err, "remove the link, or point it outside the filestore");
                    break;
                }
        if (r == 0) {
            r = cb(ctx, crel, full, vanished ? NULL : &sb, err);
            if (r == 0 && !vanished && S_ISDIR(sb.st_mode)) {
                struct walk_frame child = {sb.st_dev, sb.st_ino, crel, here};
                r = walk_dir(root, &child, depth + 1, cb, ctx, err);
            } else if (r == 1) {
                r = 0;
            }
        }
        free(full);
        free(crel);
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(path);
    return r < 0 ? -1 : 0;
}

int odbk_walk(const char *root, odbk_walk_cb cb, void *ctx, struct odbk_err *err)
{
    struct stat sb;
    struct walk_frame top = {0, 0, "", NULL};
    if (stat(root, &sb) == 0) {
        top.dev = sb.st_dev;
        top.ino = sb.st_ino;
    }
    return walk_dir(root, &top, 0, cb, ctx, err);
}

void odbk_json_time(struct cJSON *o, const char *key, time_t t)
{
    char buf[32];
    if (!t) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    odbk_time_rfc3339(t, buf);
    cJSON_AddStringToObject(o, key, buf);
}
