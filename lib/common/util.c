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
#include <pwd.h>
#include <unistd.h>

#include <cJSON.h>

static void oom(size_t n)
{
    fprintf(stderr, "odbk: fatal: out of memory (allocating %zu bytes)\n", n);   /* lint-ok: last words */
    abort();
}

const char *odbk_getenv(const char *name)
{
    return getenv(name);   /* lint-ok: the one reader (util.h lists what is read) */
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

int odbk_str_in(char *const *v, size_t n, const char *s)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!strcmp(v[i], s))
            return 1;
    return 0;
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
    const char *v = odbk_getenv("ODBK_FAILPOINT");
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

void odbk_pause_point(const char *name)
{
    const char *ready = odbk_getenv("ODBK_FAILPOINT_READY");
    int fd;
    if (!odbk_failpoint(name))
        return;
    if (ready && *ready && (fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >= 0)
        close(fd);
    sleep(3);
}

int odbk_pid_gone(long pid, const char *pid_start)
{
    char *start;
    int gone;
    if (pid <= 0)
        return 1;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return 1;
    if (!pid_start || !*pid_start)
        return 0;
    start = odbk_proc_start(pid);
    gone = *start && strcmp(start, pid_start) != 0;   /* the pid runs another process now */
    free(start);
    return gone;
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

static char hostname[256];

const char *odbk_hostname(void)
{
    if (!hostname[0] && gethostname(hostname, sizeof(hostname) - 1) != 0)
        strcpy(hostname, "localhost");
    return hostname;
}

void odbk_set_hostname(const char *name)
{
    snprintf(hostname, sizeof(hostname), "%s", name);
}

/* ---- trees by file descriptor: nothing below the top is ever reached again by its path ---- */

int odbk_dir_open_at(const char *path, int *parent_fd, const char **base, struct odbk_err *err)
{
    char *dir = odbk_dirname(path);
    const char *b = strrchr(path, '/');
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    b = b ? b + 1 : path;
    if (fd < 0 || !*b || !strcmp(b, ".") || !strcmp(b, "..")) {
        if (fd >= 0)
            close(fd);
        odbk_err_sys(err, ODBK_E_IO, "cannot open the directory of '%s'", path);
        free(dir);
        return -1;
    }
    free(dir);
    *parent_fd = fd;
    *base = b;
    return 0;
}

int odbk_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int odbk_dir_open_own(int parent_fd, const char *name, const char *path, const struct stat *expect, struct stat *sb,
                      struct odbk_err *err)
{
    int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        if (errno == ELOOP || errno == ENOTDIR) {
            odbk_err_set(err, ODBK_E_PERM, "'%s' is no longer the directory odbk made: something replaced it "
                         "with a link or a file; left as it is", path);
            odbk_err_hint(err, "find out who can write to the folder holding it: that user tried to redirect odbk");
            return -1;
        }
        return odbk_err_sys(err, ODBK_E_IO, "cannot open '%s'", path);
    }
    if (fstat(fd, &st) != 0) {
        close(fd);
        return odbk_err_sys(err, ODBK_E_IO, "cannot stat '%s'", path);
    }
    if (expect ? !odbk_same_file(&st, expect) : st.st_uid != geteuid()) {
        close(fd);
        odbk_err_set(err, ODBK_E_PERM, "'%s' is no longer the directory odbk made: another directory was put "
                     "in its place; left as it is", path);
        odbk_err_hint(err, "find out who can write to the folder holding it: that user tried to redirect odbk");
        return -1;
    }
    if (sb)
        *sb = st;
    return fd;
}

/* The entries of directory fd, sorted; NULL on error (errno set). */
static char **dir_names(int fd, size_t *n);

static int tree_visit(int dfd, const char *path, int depth, odbk_tree_cb cb, void *ctx, struct odbk_err *err)
{
    size_t n = 0, i;
    char **names;
    int r = 0;
    if (depth > ODBK_TREE_DEPTH_MAX) {
        /* no odbk backup goes deeper: one descriptor per level would run out first */
        odbk_err_set(err, ODBK_E_DATA, "'%s' is more than %d folders deep: not entered", path, ODBK_TREE_DEPTH_MAX);
        odbk_err_hint(err, "a filestore is 2 folders deep: remove that tree by hand after looking at it");
        return -1;
    }
    if (!(names = dir_names(dfd, &n)))
        return odbk_err_sys(err, ODBK_E_IO, "cannot read directory '%s'", path);
    for (i = 0; i < n && r == 0; i++) {
        char *full = odbk_xasprintf("%s/%s", path, names[i]);
        struct stat sb;
        int cfd = -1;
        if (fstatat(dfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT)
                r = odbk_err_sys(err, ODBK_E_IO, "cannot stat '%s'", full);
            free(full);   /* vanished meanwhile: skipped */
            continue;
        } else if (S_ISDIR(sb.st_mode)) {
            /* opened without following a link, and checked to be the directory just seen */
            if ((cfd = odbk_dir_open_own(dfd, names[i], full, &sb, NULL, err)) < 0)
                r = -1;
            else
                r = tree_visit(cfd, full, depth + 1, cb, ctx, err);
        }
        if (r == 0 && (cfd >= 0 || !S_ISDIR(sb.st_mode)))
            r = cb(ctx, dfd, names[i], cfd, full, &sb, err);
        if (cfd >= 0)
            close(cfd);
        free(full);
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return r;
}

int odbk_tree_visit(int dfd, const char *path, odbk_tree_cb cb, void *ctx, struct odbk_err *err)
{
    return tree_visit(dfd, path, 0, cb, ctx, err);
}

int odbk_dir_open_made(const char *path, const struct stat *expect, struct odbk_err *err)
{
    const char *base;
    int pfd, fd;
    if (odbk_dir_open_at(path, &pfd, &base, err) < 0)
        return -1;
    fd = odbk_dir_open_own(pfd, base, path, expect, NULL, err);
    close(pfd);
    return fd;
}

int odbk_open_below(int dirfd, const char *rel, const char *full, int flags, mode_t mode, mode_t dir_mode,
                    struct odbk_err *err)
{
    char *p = odbk_xstrdup(rel), *s = p, *slash;
    int cur = dirfd, fd = -1;
    while ((slash = strchr(s, '/'))) {
        int next;
        *slash = '\0';
        if (*s && (mkdirat(cur, s, dir_mode) == 0 || errno == EEXIST)) {
            next = openat(cur, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next < 0) {
                if (errno == ELOOP || errno == ENOTDIR)
                    odbk_err_set(err, ODBK_E_DATA, "cannot create '%s': '%s' on its way is not a directory", full, s);
                else
                    odbk_err_sys(err, ODBK_E_IO, "cannot create '%s'", full);
                goto out;
            }
            if (cur != dirfd)
                close(cur);
            cur = next;
        } else if (*s) {
            odbk_err_sys(err, ODBK_E_IO, "cannot create '%s'", full);
            goto out;
        }
        s = slash + 1;
    }
    if ((fd = openat(cur, s, flags | O_NOFOLLOW | O_CLOEXEC, mode)) < 0)
        odbk_err_sys(err, errno == EEXIST || errno == ELOOP ? ODBK_E_DATA : ODBK_E_IO, "cannot create '%s'", full);
out:
    if (cur != dirfd)
        close(cur);
    free(p);
    return fd;
}

static int rm_entry(void *ctx, int dirfd, const char *name, int fd, const char *full, const struct stat *sb,
                    struct odbk_err *err)
{
    (void)ctx;
    (void)fd;
    if (unlinkat(dirfd, name, S_ISDIR(sb->st_mode) ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT)
        return odbk_err_sys(err, ODBK_E_IO, "cannot remove '%s'", full);
    return 0;
}

int odbk_rmtree_expect(const char *path, const struct stat *expect, struct odbk_err *err)
{
    struct stat sb;
    const char *base;
    int pfd, fd = -1, r = -1;
    if (odbk_dir_open_at(path, &pfd, &base, err) < 0) {
        struct stat parent;
        char *dir = odbk_dirname(path);
        int gone = stat(dir, &parent) != 0 && errno == ENOENT;
        free(dir);
        return gone ? 0 : -1;
    }
    if (fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        r = errno == ENOENT ? 0 : odbk_err_sys(err, ODBK_E_IO, "cannot remove '%s'", path);
        goto out;
    }
    if (expect && S_ISDIR(sb.st_mode) && !odbk_same_file(&sb, expect)) {
        r = 1;                    /* another folder: not ours to remove */
        goto out;
    }
    if (!S_ISDIR(sb.st_mode)) {
        r = unlinkat(pfd, base, 0) == 0 ? 0 : odbk_err_sys(err, ODBK_E_IO, "cannot remove '%s'", path);
        goto out;
    }
    if ((fd = odbk_dir_open_own(pfd, base, path, &sb, NULL, err)) < 0)
        goto out;
    if (odbk_tree_visit(fd, path, rm_entry, NULL, err) < 0)
        goto out;
    r = unlinkat(pfd, base, AT_REMOVEDIR) == 0 ? 0 : odbk_err_sys(err, ODBK_E_IO, "cannot remove '%s'", path);
out:
    if (fd >= 0)
        close(fd);
    close(pfd);
    return r;
}

int odbk_rmtree(const char *path, struct odbk_err *err)
{
    return odbk_rmtree_expect(path, NULL, err);
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

static char **dir_names(int fd, size_t *n)
{
    int dup_fd = dup(fd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    struct dirent *de;
    char **names = odbk_xmalloc(sizeof(char *));
    *n = 0;
    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        free(names);
        return NULL;
    }
    rewinddir(d);
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        names = odbk_xrealloc(names, (*n + 1) * sizeof(char *));
        names[(*n)++] = odbk_xstrdup(de->d_name);
    }
    closedir(d);
    if (*n)
        qsort(names, *n, sizeof(char *), name_cmp);
    return names;
}

/* The directories on the current path, by device and inode: a symbolic link back to one of them is a loop. */
struct walk_frame {
    dev_t dev;
    ino_t ino;
    const char *rel;                  /* "" for the root */
    const struct walk_frame *up;
};

struct walk {
    const char *root;
    uid_t owner;                      /* of the root: whose files the filestore holds */
    odbk_walk_cb cb;
    void *ctx;
};

/* A link is followed when whoever runs the walk could not read more through it than its maker could: the
 * walker is no one but the filestore's owner (and not root), or root or the walker made the link, or what
 * it points to belongs to whoever made it.  (Not "the target is the filestore owner's": with a filestore
 * of root's, a link the Odoo user put in its own subfolder would reach anything of root's.) */
static int link_trusted(const struct walk *w, const struct stat *link, const struct stat *target)
{
    uid_t me = geteuid();
    return (me != 0 && me == w->owner) || link->st_uid == 0 || link->st_uid == me ||
           target->st_uid == link->st_uid;
}

/* "odoo (uid 995)", or "uid 995" for a uid without a name */
static void uid_name(uid_t uid, char *buf, size_t size)
{
    struct passwd pw, *found = NULL;
    char tmp[1024];
    if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &found) == 0 && found)
        snprintf(buf, size, "%s (uid %ld)", found->pw_name, (long)uid);
    else
        snprintf(buf, size, "uid %ld", (long)uid);
}

static int untrusted_link(const struct walk *w, int dfd, const char *name, const char *full,
                          const struct stat *link, const struct stat *target, struct odbk_err *err)
{
    char to[4096], by[300], of[300], owner[300];
    ssize_t n = readlinkat(dfd, name, to, sizeof to - 1);
    to[n > 0 ? n : 0] = '\0';
    uid_name(link->st_uid, by, sizeof by);
    uid_name(target->st_uid, of, sizeof of);
    uid_name(w->owner, owner, sizeof owner);
    odbk_err_set(err, ODBK_E_PERM, "symbolic link '%s' of %s points to '%s' of %s, not of the filestore's owner "
                 "%s: not followed", full, by, to, of, owner);
    odbk_err_hint(err, "remove the link; a link an administrator made on purpose is followed when root owns it "
                  "(ln -s as root, or chown -h root)");
    return -1;
}

/* lstat an entry and, for a symbolic link, stat what it points to (*linked); *vanished when it went away. */
static int walk_stat(const struct walk *w, int dfd, const char *name, const char *full, struct stat *sb,
                     int *vanished, int *linked, struct odbk_err *err)
{
    char target[4096];
    struct stat link;
    ssize_t n;
    *vanished = *linked = 0;
    if (fstatat(dfd, name, sb, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) {
            *vanished = 1;
            return 0;
        }
        return odbk_err_sys(err, ODBK_E_IO, "cannot stat '%s'", full);
    }
    if (!S_ISLNK(sb->st_mode))
        return 0;
    link = *sb;
    *linked = 1;
    if (fstatat(dfd, name, sb, 0) == 0)
        return link_trusted(w, &link, sb) ? 0 : untrusted_link(w, dfd, name, full, &link, sb, err);
    if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
        return odbk_err_sys(err, ODBK_E_IO, "cannot follow the symbolic link '%s'", full);
    n = readlinkat(dfd, name, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    odbk_err_set(err, ODBK_E_NOINPUT, "symbolic link '%s' points to '%s', which does not exist", full, target);
    odbk_err_hint(err, "restore what the link points to, or remove the link; a backup never leaves a file out");
    return -1;
}

static int walk_dir(const struct walk *w, int dfd, const char *path, const struct walk_frame *here, int depth,
                    struct odbk_err *err)
{
    const char *rel = here->rel;
    char **names;
    size_t n = 0, i;
    int r = 0;
    if (depth > ODBK_TREE_DEPTH_MAX) {
        odbk_err_set(err, ODBK_E_DATA, "'%s' is more than %d folders deep", path, ODBK_TREE_DEPTH_MAX);
        odbk_err_hint(err, "an Odoo filestore is 2 folders deep: move what is below it out of the filestore");
        return -1;
    }
    if (!(names = dir_names(dfd, &n)))
        return odbk_err_sys(err, ODBK_E_IO, "cannot read directory '%s'", path);
    for (i = 0; i < n && r == 0; i++) {
        char *crel = *rel ? odbk_xasprintf("%s/%s", rel, names[i]) : odbk_xstrdup(names[i]);
        char *full = odbk_xasprintf("%s/%s", path, names[i]);
        struct stat sb;
        const struct walk_frame *f;
        int vanished, linked;
        r = walk_stat(w, dfd, names[i], full, &sb, &vanished, &linked, err);
        if (r == 0 && !vanished && S_ISDIR(sb.st_mode))
            for (f = here; f; f = f->up)
                if (f->dev == sb.st_dev && f->ino == sb.st_ino) {
                    r = odbk_err_set(err, ODBK_E_DATA, "symbolic link '%s' loops back to '%s%s%s'", full,
                                     w->root, *f->rel ? "/" : "", f->rel);
                    odbk_err_hint(err, "remove the link, or point it outside the filestore");
                    break;
                }
        if (r == 0) {
            r = w->cb(w->ctx, crel, full, vanished ? NULL : &sb, err);
            if (r == 0 && !vanished && S_ISDIR(sb.st_mode)) {
                /* entered by its descriptor, checked to be what was just vetted: a folder swapped for a link
                 * meanwhile is never walked */
                struct walk_frame child = {sb.st_dev, sb.st_ino, crel, here};
                struct stat now;
                int cfd = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC | (linked ? 0 : O_NOFOLLOW));
                if (cfd < 0 && errno == ENOENT) {
                    r = 0;                /* deleted while we walked */
                } else if (cfd < 0) {
                    r = odbk_err_sys(err, ODBK_E_IO, "cannot read directory '%s'", full);
                } else if (fstat(cfd, &now) != 0 || !odbk_same_file(&now, &sb)) {
                    r = odbk_err_set(err, ODBK_E_TEMPFAIL, "'%s' was replaced while being read", full);
                    odbk_err_hint(err, "something changed the filestore during the backup; run it again");
                } else {
                    r = walk_dir(w, cfd, full, &child, depth + 1, err);
                }
                if (cfd >= 0)
                    close(cfd);
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
    return r < 0 ? -1 : 0;
}

int odbk_walk(const char *root, odbk_walk_cb cb, void *ctx, struct odbk_err *err)
{
    struct stat sb, link, again;
    struct walk_frame top = {0, 0, "", NULL};
    struct walk w = {root, 0, cb, ctx};
    const char *base;
    char *path = odbk_xstrdup(root);
    size_t n = strlen(path);
    int dfd, fd = -1, r = -1, is_link;
    while (n > 1 && path[n - 1] == '/')   /* "filestore = /srv/fs/" names /srv/fs */
        path[--n] = '\0';
    /* the top is looked at and opened within its folder, which may be the Odoo user's: what is vetted is
     * what is opened (a link the walk follows is checked to be the one seen, pointing where it was opened) */
    r = odbk_dir_open_at(path, &dfd, &base, err);
    if (r < 0) {
        free(path);
        return -1;
    }
    r = -1;
    if (fstatat(dfd, base, &link, AT_SYMLINK_NOFOLLOW) != 0) {
        r = odbk_err_sys(err, ODBK_E_IO, "cannot read directory '%s'", root);
        goto out;
    }
    is_link = S_ISLNK(link.st_mode);
    fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (is_link ? 0 : O_NOFOLLOW));
    if (fd < 0 || fstat(fd, &sb) != 0) {
        r = odbk_err_sys(err, ODBK_E_IO, "cannot read directory '%s'", root);
        goto out;
    }
    if (is_link ? fstatat(dfd, base, &again, AT_SYMLINK_NOFOLLOW) != 0 || !odbk_same_file(&again, &link) ||
                      fstatat(dfd, base, &again, 0) != 0 || !odbk_same_file(&again, &sb)
                : !odbk_same_file(&sb, &link)) {
        r = odbk_err_set(err, ODBK_E_TEMPFAIL, "filestore '%s' was replaced while odbk opened it", root);
        odbk_err_hint(err, "find out who can write to the folder holding it; then back up again");
        goto out;
    }
    if (is_link) {
        /* the filestore itself a link (another disk): the same rule, with the link's owner as the filestore's
         * (its folder may be the Odoo user's, who could point it at /root) */
        struct walk lw = {root, link.st_uid, cb, ctx};
        if (!link_trusted(&lw, &link, &sb)) {
            untrusted_link(&lw, dfd, base, root, &link, &sb, err);
            goto out;
        }
    }
    top.dev = sb.st_dev;
    top.ino = sb.st_ino;
    w.owner = sb.st_uid;
    r = walk_dir(&w, fd, root, &top, 0, err);
out:
    if (fd >= 0)
        close(fd);
    close(dfd);
    free(path);
    return r;
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
