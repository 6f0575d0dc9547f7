/* exec.c - child processes as stream sources and sinks (fork/exec, pipes, stderr capture). */
#include "io/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/interrupt.h"
#include "common/util.h"

#define ERRTAIL 4096
#define CHUNK (256 * 1024)

extern char **environ;

/* stderr collector: a thread keeps the last ERRTAIL bytes */
struct errtail {
    int fd;
    pthread_t th;
    char buf[ERRTAIL];
    size_t len;
};

/* Keep the last ERRTAIL bytes; n is at most 1 KiB, smaller than the buffer. */
static void errtail_add(struct errtail *t, const char *p, size_t n)
{
    if (t->len + n > ERRTAIL) {   /* drop the oldest bytes to make room */
        size_t drop = t->len + n - ERRTAIL;
        memmove(t->buf, t->buf + drop, t->len - drop);
        t->len -= drop;
    }
    memcpy(t->buf + t->len, p, n);
    t->len += n;
}

static void *errtail_run(void *arg)
{
    struct errtail *t = arg;
    char tmp[1024];
    ssize_t n;
    while ((n = read(t->fd, tmp, sizeof(tmp))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        errtail_add(t, tmp, (size_t)n);
    }
    close(t->fd);
    return NULL;
}

/* The child's stderr, trimmed to a one-paragraph message. */
static const char *errtail_text(struct errtail *t)
{
    size_t len = t->len;
    char *p;
    while (len && (t->buf[len - 1] == '\n' || t->buf[len - 1] == ' '))
        len--;
    t->buf[len < ERRTAIL ? len : ERRTAIL - 1] = '\0';
    /* keep it readable on one line */
    for (p = t->buf; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return t->buf;
}

static char **merged_env(char *const add[])
{
    size_t n = 0, m = 0, i, j;
    char **env;
    while (environ[n])
        n++;
    while (add && add[m])
        m++;
    env = odbk_xcalloc(n + m + 1, sizeof(char *));
    for (i = 0, j = 0; i < n; i++) {
        size_t k, klen = strcspn(environ[i], "=");
        int overridden = 0;
        for (k = 0; k < m; k++)
            if (!strncmp(add[k], environ[i], klen) && (add[k][klen] == '=' || add[k][klen] == '\0'))
                overridden = 1;
        if (!overridden)
            env[j++] = environ[i];
    }
    for (i = 0; i < m; i++)
        if (strchr(add[i], '='))   /* "NAME" alone: only removed from ours */
            env[j++] = add[i];
    return env;
}

struct child {
    pid_t pid;
    int in;    /* our end of its stdin, or -1 */
    int out;   /* our end of its stdout, or -1 */
    struct errtail *tail;
};

/* Start argv in a process group of its own.  Its stderr goes to a thread keeping the tail, or, when
 * tail_fd is not NULL, to *tail_fd for the caller to read. */
static int spawn(char *const argv[], char *const env[], int want_in, int want_out, int *tail_fd, struct child *c,
                 struct odbk_err *err)
{
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1}, pexec[2] = {-1, -1};
    char **envp;
    int e = 0;
    ssize_t n;
    memset(c, 0, sizeof(*c));
    c->in = c->out = -1;
    if ((want_in && pipe2(pin, O_CLOEXEC)) || (want_out && pipe2(pout, O_CLOEXEC)) || pipe2(perr, O_CLOEXEC) ||
        pipe2(pexec, O_CLOEXEC)) {
        odbk_err_sys(err, ODBK_E_OSERR, "cannot create a pipe for '%s'", argv[0]);
        goto fail;
    }
    envp = merged_env(env);
    c->pid = fork();
    if (c->pid < 0) {
        free(envp);
        odbk_err_sys(err, ODBK_E_OSERR, "cannot start '%s'", argv[0]);
        goto fail;
    }
    if (c->pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        signal(SIGPIPE, SIG_DFL);
        /* its own process group: a terminal's Ctrl-C reaches us alone, and we stop the whole group */
        setpgid(0, 0);
        dup2(want_in ? pin[0] : devnull, 0);
        dup2(want_out ? pout[1] : devnull, 1);
        dup2(perr[1], 2);
        execve(argv[0], argv, envp);
        e = errno;
        if (write(pexec[1], &e, sizeof(e)) < 0)
            _exit(127);   /* lint-ok: the child of fork, exec failed */
        _exit(127);       /* lint-ok: the child of fork, exec failed */
    }
    free(envp);
    setpgid(c->pid, c->pid);   /* also here: no race with a kill of the group right after the fork */
    close(pexec[1]);
    pexec[1] = -1;
    n = read(pexec[0], &e, sizeof(e));   /* EOF: exec succeeded */
    close(pexec[0]);
    pexec[0] = -1;
    if (n == sizeof(e)) {
        waitpid(c->pid, NULL, 0);
        errno = e;
        odbk_err_sys(err, ODBK_E_UNAVAILABLE, "cannot run '%s'", argv[0]);
        goto fail;
    }
    if (want_in) {
        close(pin[0]);
        c->in = pin[1];
    }
    if (want_out) {
        close(pout[1]);
        c->out = pout[0];
    }
    close(perr[1]);
    if (tail_fd) {
        *tail_fd = perr[0];
        return 0;
    }
    c->tail = odbk_xcalloc(1, sizeof(*c->tail));
    c->tail->fd = perr[0];
    if (pthread_create(&c->tail->th, NULL, errtail_run, c->tail) != 0) {
        /* cannot collect stderr: drop it rather than block the child */
        close(perr[0]);
        free(c->tail);
        c->tail = NULL;
    }
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (pin[i] >= 0) close(pin[i]);
        if (pout[i] >= 0) close(pout[i]);
        if (perr[i] >= 0) close(perr[i]);
        if (pexec[i] >= 0) close(pexec[i]);
    }
    c->pid = 0;
    return -1;
}

/* Wait for the child; 0 if it exited 0, else -1 with err quoting stderr. */
static int reap(struct child *c, const char *name, struct odbk_err *err)
{
    int status = 0, r = 0;
    if (c->in >= 0) {
        close(c->in);
        c->in = -1;
    }
    if (c->out >= 0) {
        close(c->out);
        c->out = -1;
    }
    while (c->pid > 0 && waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
        ;
    c->pid = 0;
    if (c->tail)
        pthread_join(c->tail->th, NULL);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        r = 0;
    } else if (err) {
        const char *msg = c->tail ? errtail_text(c->tail) : "";
        if (WIFSIGNALED(status))
            odbk_err_set(err, ODBK_E_FAILED, "%s was killed by signal %d%s%s", name, WTERMSIG(status),
                         *msg ? ": " : "", msg);
        else
            odbk_err_set(err, ODBK_E_FAILED, "%s failed (exit %d)%s%s", name, WEXITSTATUS(status), *msg ? ": " : "",
                         msg);
        r = -1;
    } else {
        r = -1;
    }
    free(c->tail);
    c->tail = NULL;
    return r;
}

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Stop the child and whatever it started (its process group). */
static void stop_group(struct child *c)
{
    if (c->pid > 0 && kill(-c->pid, SIGTERM) != 0)
        kill(c->pid, SIGTERM);
}

/* Wait until fd is ready for events (POLLIN, POLLOUT) or a stop signal arrived: 1 when interrupted,
 * 0 otherwise (then read() or write() says what is the matter, if anything). */
static int wait_ready(int fd, short events)
{
    struct pollfd p[2] = {{fd, events, 0}, {odbk_interrupt_fd(), POLLIN, 0}};
    for (;;) {
        if (odbk_interrupted())
            return 1;
        if (poll(p, p[1].fd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
            return 0;
        if (odbk_interrupted())
            return 1;
        if (p[0].revents)
            return 0;
    }
}

int odbk_exec_source(char *const argv[], char *const env[], struct odbk_writer *dst, odbk_exec_first_cb first,
                     void *first_ctx, struct odbk_err *err)
{
    struct child c;
    char *buf;
    ssize_t n;
    int r = 0, seen = 0;
    if (odbk_interrupted())
        return odbk_interrupt_err(err);
    if (spawn(argv, env, 0, 1, NULL, &c, err) < 0)
        return -1;
    buf = odbk_xmalloc(CHUNK);
    for (;;) {
        if (wait_ready(c.out, POLLIN)) {
            r = odbk_interrupt_err(err);
            break;
        }
        if ((n = read(c.out, buf, CHUNK)) == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = odbk_err_sys(err, ODBK_E_IO, "cannot read the output of %s", base(argv[0]));
            break;
        }
        if (!seen && first) {
            seen = 1;
            first(first_ctx);
        }
        if ((r = odbk_writer_write(dst, buf, (size_t)n, err)) < 0)
            break;
    }
    free(buf);
    if (r < 0) {
        stop_group(&c);
        reap(&c, base(argv[0]), NULL);
        return -1;
    }
    return reap(&c, base(argv[0]), err);
}

struct exec_sink {
    struct odbk_writer w;
    struct child c;
    char *name;
};

static int sink_write(struct odbk_writer *w, const void *buf, size_t len, struct odbk_err *err)
{
    struct exec_sink *s = (struct exec_sink *)w;
    const char *p = buf;
    while (len) {
        ssize_t n;
        if (wait_ready(s->c.in, POLLOUT))   /* a child busy for minutes (an index) does not delay a stop */
            return odbk_interrupt_err(err);
        n = write(s->c.in, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EPIPE) {
                /* the child stopped reading: its exit status says why */
                if (reap(&s->c, s->name, err) == 0)
                    odbk_err_set(err, ODBK_E_FAILED, "%s stopped reading its input", s->name);
                return -1;
            }
            return odbk_err_sys(err, ODBK_E_IO, "cannot write to %s", s->name);
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int sink_finish(struct odbk_writer *w, struct odbk_err *err)
{
    struct exec_sink *s = (struct exec_sink *)w;
    if (!s->c.pid)
        return odbk_err_set(err, ODBK_E_FAILED, "%s already exited", s->name);
    return reap(&s->c, s->name, err);
}

static void sink_abort(struct odbk_writer *w)
{
    struct exec_sink *s = (struct exec_sink *)w;
    if (s->c.pid > 0) {
        stop_group(&s->c);
        reap(&s->c, s->name, NULL);
    }
}

static void sink_free(struct odbk_writer *w)
{
    struct exec_sink *s = (struct exec_sink *)w;
    sink_abort(w);
    free(s->name);
    free(s);
}

static const struct odbk_writer_ops exec_sink_ops = {"process", sink_write, sink_finish, sink_abort, sink_free};

int odbk_exec_sink_new(char *const argv[], char *const env[], struct odbk_writer **out, struct odbk_err *err)
{
    struct exec_sink *s = odbk_xcalloc(1, sizeof(*s));
    /* a child that dies must not kill us with SIGPIPE: writes then fail with EPIPE */
    signal(SIGPIPE, SIG_IGN);
    if (spawn(argv, env, 1, 0, NULL, &s->c, err) < 0) {
        free(s);
        return -1;
    }
    s->name = odbk_xstrdup(base(argv[0]));
    odbk_writer_init(&s->w, &exec_sink_ops, NULL);
    *out = &s->w;
    return 0;
}

int odbk_exec_capture(char *const argv[], char *const env[], char **out, size_t max, struct odbk_err *err)
{
    struct odbk_writer *b = odbk_sink_buffer_new(max);
    int r = odbk_exec_source(argv, env, b, NULL, NULL, err);
    if (r == 0 && out)
        *out = odbk_xstrdup(odbk_sink_buffer_data(b, NULL));
    odbk_writer_free(b);
    return r;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int odbk_exec_run(char *const argv[], char *const env[], long timeout_s, const char *name, struct odbk_err *err)
{
    struct child c;
    struct errtail *t = odbk_xcalloc(1, sizeof(*t));
    long long deadline = timeout_s > 0 ? mono_ms() + timeout_s * 1000LL : -1;
    int status = 0, done = 0, timed_out = 0, r = -1;
    const char *msg;
    if (spawn(argv, env, 0, 0, &t->fd, &c, err) < 0) {
        odbk_err_prefix(err, "%s", name);
        free(t);
        return -1;
    }
    /* its stderr, until EOF or the deadline (here, not in a thread: whatever it left running outside its
     * group may hold the pipe open for ever) */
    for (;;) {
        struct pollfd p = {t->fd, POLLIN, 0};
        long long left = deadline < 0 ? 1000 : deadline - mono_ms();
        char buf[1024];
        ssize_t n;
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        if (poll(&p, 1, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
            break;
        if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        n = read(t->fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        errtail_add(t, buf, (size_t)n);
    }
    close(t->fd);
    /* then its exit, until the deadline */
    while (!timed_out) {
        pid_t w = waitpid(c.pid, &status, WNOHANG);
        if (w == c.pid) {
            done = 1;
            break;
        }
        if (w < 0 && errno != EINTR)
            break;
        if (deadline >= 0 && mono_ms() >= deadline)
            timed_out = 1;
        else
            usleep(20000);
    }
    if (!done) {   /* the whole group: a shell's children too */
        kill(-c.pid, SIGKILL);
        kill(c.pid, SIGKILL);
        while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    msg = errtail_text(t);
    if (timed_out)
        odbk_err_set(err, ODBK_E_TEMPFAIL, "%s did not finish within %lds and was killed", name, timeout_s);
    else if (!done)
        odbk_err_sys(err, ODBK_E_OSERR, "%s: cannot wait for it", name);
    else if (WIFSIGNALED(status))
        odbk_err_set(err, ODBK_E_FAILED, "%s was killed by signal %d%s%s", name, WTERMSIG(status), *msg ? ": " : "",
                     msg);
    else if (WEXITSTATUS(status))
        odbk_err_set(err, ODBK_E_FAILED, "%s exited with status %d%s%s", name, WEXITSTATUS(status), *msg ? ": " : "",
                     msg);
    else
        r = 0;
    free(t);
    return r;
}
