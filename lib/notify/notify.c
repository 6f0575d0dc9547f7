/* notify.c - notify-command (fork/execve with a deadline) and notify-url (a POST on net/curl.h, retried). */
#include "notify/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/retry.h"
#include "common/util.h"
#include "net/curl.h"

extern char **environ;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const vars[] = {"ODBK_EVENT", "ODBK_ENV", "ODBK_PROJECT", "ODBK_BACKUP_ID", "ODBK_STATUS",
                                   "ODBK_ERROR", "ODBK_SIZE", "ODBK_DURATION", NULL};

/* Our environment without any ODBK_* of the event's, plus the event's. */
static char **child_env(const struct odbk_notify_event *ev)
{
    size_t n = 0, k = 0, i, j;
    char **env;
    while (environ && environ[n])
        n++;
    env = odbk_xcalloc(n + 9, sizeof(char *));
    for (i = 0; i < n; i++) {
        int ours = 0;
        for (j = 0; vars[j]; j++) {
            size_t l = strlen(vars[j]);
            if (!strncmp(environ[i], vars[j], l) && environ[i][l] == '=')
                ours = 1;
        }
        if (!ours)
            env[k++] = odbk_xstrdup(environ[i]);
    }
    env[k++] = odbk_xasprintf("ODBK_EVENT=%s", ev->event);
    env[k++] = odbk_xasprintf("ODBK_ENV=%s", ev->env ? ev->env : "");
    env[k++] = odbk_xasprintf("ODBK_PROJECT=%s", ev->project ? ev->project : "");
    env[k++] = odbk_xasprintf("ODBK_BACKUP_ID=%s", ev->backup_id ? ev->backup_id : "");
    env[k++] = odbk_xasprintf("ODBK_STATUS=%s", ev->status ? ev->status : "");
    env[k++] = odbk_xasprintf("ODBK_ERROR=%s", ev->error ? ev->error : "");
    env[k++] = odbk_xasprintf("ODBK_SIZE=%" PRIu64, ev->size);
    env[k++] = odbk_xasprintf("ODBK_DURATION=%" PRId64, ev->duration);
    env[k] = NULL;
    return env;
}

static void free_env(char **env)
{
    size_t i;
    for (i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

static int run_command(const char *cmd, int64_t timeout_s, const struct odbk_notify_event *ev, struct odbk_err *err)
{
    char **env = child_env(ev);
    char tail[512];
    size_t tail_len = 0;
    int pfd[2], status = 0, r = -1, done = 0, timed_out = 0;
    int64_t deadline = mono_ms() + timeout_s * 1000;
    pid_t pid;

    if (pipe2(pfd, O_CLOEXEC) < 0) {
        free_env(env);
        return odbk_err_sys(err, ODBK_E_OSERR, "notify-command '%s': cannot create a pipe", cmd);
    }
    pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        free_env(env);
        return odbk_err_sys(err, ODBK_E_OSERR, "notify-command '%s': cannot fork", cmd);
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        char *argv[] = {(char *)cmd, NULL};
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        dup2(pfd[1], 2);
        execve(cmd, argv, env);
        dprintf(2, "cannot execute: %s", strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);   /* also here: no race with the kill below */
    close(pfd[1]);
    /* read its stderr (keeping the end) until EOF or the deadline */
    for (;;) {
        struct pollfd p = {pfd[0], POLLIN, 0};
        int64_t left = deadline - mono_ms();
        char buf[512];
        ssize_t got;
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        if (poll(&p, 1, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
            break;
        if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        got = read(pfd[0], buf, sizeof(buf));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if ((size_t)got >= sizeof(tail) - 1) {
            memcpy(tail, buf + got - (sizeof(tail) - 1), sizeof(tail) - 1);
            tail_len = sizeof(tail) - 1;
        } else {
            if (tail_len + (size_t)got > sizeof(tail) - 1) {
                size_t drop = tail_len + (size_t)got - (sizeof(tail) - 1);
                memmove(tail, tail + drop, tail_len - drop);
                tail_len -= drop;
            }
            memcpy(tail + tail_len, buf, (size_t)got);
            tail_len += (size_t)got;
        }
    }
    close(pfd[0]);
    /* then for its exit, until the deadline */
    while (!timed_out) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            done = 1;
            break;
        }
        if (w < 0 && errno != EINTR)
            break;
        if (mono_ms() >= deadline)
            timed_out = 1;
        else
            usleep(20000);
    }
    if (!done) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    tail[tail_len] = 0;
    while (tail_len && (tail[tail_len - 1] == '\n' || tail[tail_len - 1] == '\r'))
        tail[--tail_len] = 0;
    if (timed_out)
        odbk_err_set(err, ODBK_E_TEMPFAIL, "notify-command '%s' did not finish within %" PRId64 "s and was killed", cmd,
                     timeout_s);
    else if (!done)
        odbk_err_sys(err, ODBK_E_OSERR, "notify-command '%s': cannot wait for it", cmd);
    else if (WIFSIGNALED(status))
        odbk_err_set(err, ODBK_E_FAILED, "notify-command '%s' was killed by signal %d%s%s", cmd, WTERMSIG(status),
                     tail_len ? ": " : "", tail);
    else if (WEXITSTATUS(status))
        odbk_err_set(err, ODBK_E_FAILED, "notify-command '%s' exited with status %d%s%s", cmd, WEXITSTATUS(status),
                     tail_len ? ": " : "", tail);
    else
        r = 0;
    free_env(env);
    return r;
}

/* scheme://host of a URL, for messages (the path may hold a token). */
static void url_origin(const char *url, char *out, size_t size)
{
    const char *p = strstr(url, "://"), *e;
    size_t len;
    p = p ? p + 3 : url;
    e = p + strcspn(p, "/?#");
    {
        const char *at = memchr(p, '@', (size_t)(e - p));   /* user:password@ */
        len = (size_t)(p - url);
        snprintf(out, size, "%.*s%.*s", (int)len, url, (int)(e - (at ? at + 1 : p)), at ? at + 1 : p);
    }
}

static char *event_json(const struct odbk_notify_event *ev)
{
    cJSON *o = cJSON_CreateObject();
    char t[32], *s;
    odbk_time_rfc3339(odbk_now(), t);
    cJSON_AddStringToObject(o, "event", ev->event);
    cJSON_AddStringToObject(o, "env", ev->env ? ev->env : "");
    cJSON_AddStringToObject(o, "project", ev->project ? ev->project : "");
    cJSON_AddStringToObject(o, "backup_id", ev->backup_id ? ev->backup_id : "");
    cJSON_AddStringToObject(o, "status", ev->status ? ev->status : "");
    cJSON_AddStringToObject(o, "error", ev->error ? ev->error : "");
    cJSON_AddNumberToObject(o, "size", (double)ev->size);
    cJSON_AddNumberToObject(o, "duration", (double)ev->duration);
    cJSON_AddStringToObject(o, "host", odbk_hostname());
    cJSON_AddStringToObject(o, "time", t);
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

struct post {
    struct odbk_curl *c;
    const char *origin;
    CURLcode cc;
    long status;
};

static int post_once(void *ctx, struct odbk_err *err)
{
    struct post *p = ctx;
    p->status = 0;
    p->cc = odbk_curl_perform(p->c);
    if (p->cc != CURLE_OK)   /* curl_easy_strerror only: curl's error buffer may quote the URL and its token */
        return odbk_err_set(err, ODBK_E_UNAVAILABLE, "notify-url '%s': %s", p->origin, curl_easy_strerror(p->cc));
    p->status = odbk_curl_status(p->c);
    if (p->status < 200 || p->status >= 300)
        return odbk_err_set(err, ODBK_E_FAILED, "notify-url '%s' answered HTTP %ld", p->origin, p->status);
    return 0;
}

static int post_transient(void *ctx, const struct odbk_err *err)
{
    const struct post *p = ctx;
    (void)err;
    return odbk_curl_transient(p->cc, p->status);
}

static int post_url(const char *url, int64_t timeout_s, const struct odbk_notify_event *ev, struct odbk_err *err)
{
    const struct odbk_curl_opts opts = {
        .protocols = "http,https",
        .connect_timeout = timeout_s < 10 ? (long)timeout_s : 10,
        .timeout = (long)timeout_s,
    };
    char origin[256], *body = event_json(ev);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    struct post p = {odbk_curl_new(), origin, CURLE_OK, 0};
    struct odbk_retry retry = ODBK_RETRY_INIT(2);
    int r;
    url_origin(url, origin, sizeof(origin));
    odbk_curl_setup(p.c, &opts);
    curl_easy_setopt(p.c->h, CURLOPT_URL, url);
    curl_easy_setopt(p.c->h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(p.c->h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(p.c->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    r = odbk_retry(&retry, post_once, post_transient, &p, err);
    curl_slist_free_all(hdr);
    odbk_curl_free(p.c);
    free(body);
    return r;
}

int odbk_notify_send(const struct odbk_policy *p, const struct odbk_notify_event *ev, struct odbk_err *err)
{
    struct odbk_err e1 = {0}, e2 = {0};
    int r1 = 0, r2 = 0;
    if (ev->failure ? !p->notify_failure : !p->notify_success)
        return 0;
    if (p->notify_command && *p->notify_command)
        r1 = run_command(p->notify_command, p->notify_timeout > 0 ? p->notify_timeout : 30, ev, &e1);
    if (p->notify_url && *p->notify_url)
        r2 = post_url(p->notify_url, p->notify_timeout > 0 ? p->notify_timeout : 30, ev, &e2);
    if (r1 < 0 && r2 < 0)
        return odbk_err_set(err, e1.code, "%s; %s", e1.msg, e2.msg);
    if (r1 < 0)
        *err = e1;
    else if (r2 < 0)
        *err = e2;
    return r1 < 0 || r2 < 0 ? -1 : 0;
}

/* Load env's policy (the organization's when env is NULL or not an env of cfg) and its project. */
static int load(const struct odbk_config *cfg, const char *env, struct odbk_policy *p, char **project,
                struct odbk_err *err)
{
    int known = env && odbk_config_find(cfg, "env", env);
    *project = NULL;
    if (odbk_policy_load(cfg, known ? env : NULL, p, err) < 0)
        return -1;
    if (known) {
        struct odbk_env e;
        struct odbk_err ignore = {0};
        if (odbk_config_env(cfg, env, &e, &ignore) == 0) {
            *project = odbk_xstrdup(e.project ? e.project : "");
            odbk_env_release(&e);
        }
    }
    return 0;
}

static int64_t since(time_t started)
{
    int64_t d = started ? (int64_t)odbk_now() - (int64_t)started : 0;
    return d < 0 ? 0 : d;
}

int odbk_notify_backup(const struct odbk_config *cfg, const char *env, const struct odbk_backup *b,
                       const struct odbk_err *failure, time_t started, struct odbk_err *err)
{
    struct odbk_policy p;
    struct odbk_notify_event ev = {0};
    char *project;
    int r;
    if (load(cfg, env, &p, &project, err) < 0)
        return -1;
    ev.env = env;
    ev.project = b && b->project ? b->project : project;
    if (b) {
        ev.event = "backup.completed";
        ev.backup_id = b->id;
        ev.status = b->status;
        ev.size = b->total_size;
        ev.duration = b->finished_at && b->created_at ? (int64_t)(b->finished_at - b->created_at) : since(started);
    } else {
        ev.event = "backup.failed";
        ev.failure = 1;
        ev.status = ODBK_STATUS_FAILED;
        ev.error = failure ? failure->msg : "unknown error";
        ev.duration = since(started);
    }
    r = odbk_notify_send(&p, &ev, err);
    free(project);
    odbk_policy_release(&p);
    return r;
}

int odbk_notify_restore(const struct odbk_config *cfg, const char *env, const char *backup_id,
                        const struct odbk_err *failure, time_t started, struct odbk_err *err)
{
    struct odbk_policy p;
    struct odbk_notify_event ev = {0};
    char *project;
    int r;
    if (load(cfg, env, &p, &project, err) < 0)
        return -1;
    ev.event = failure ? "restore.failed" : "restore.completed";
    ev.failure = failure != NULL;
    ev.env = env;
    ev.project = project;
    ev.backup_id = backup_id;
    ev.status = failure ? ODBK_STATUS_FAILED : ODBK_STATUS_COMPLETED;
    ev.error = failure ? failure->msg : NULL;
    ev.duration = since(started);
    r = odbk_notify_send(&p, &ev, err);
    free(project);
    odbk_policy_release(&p);
    return r;
}

int odbk_notify_prune(const struct odbk_config *cfg, const char *env, const char *const *ids, size_t n,
                      uint64_t bytes, const struct odbk_err *failure, time_t started, struct odbk_err *err)
{
    struct odbk_policy p;
    struct odbk_notify_event ev = {0};
    char *project, *list = NULL;
    size_t i, len = 1;
    int r;
    if (!n && !failure)
        return 0;
    if (load(cfg, env, &p, &project, err) < 0)
        return -1;
    for (i = 0; i < n; i++)
        len += strlen(ids[i]) + 1;
    list = odbk_xcalloc(1, len);
    for (i = 0; i < n; i++) {
        if (i)
            strcat(list, " ");
        strcat(list, ids[i]);
    }
    ev.event = failure ? "prune.failed" : "prune.deleted";
    ev.failure = failure != NULL;
    ev.env = env;
    ev.project = project;
    ev.backup_id = list;
    ev.status = failure ? ODBK_STATUS_FAILED : "deleted";
    ev.error = failure ? failure->msg : NULL;
    ev.size = bytes;
    ev.duration = since(started);
    r = odbk_notify_send(&p, &ev, err);
    free(list);
    free(project);
    odbk_policy_release(&p);
    return r;
}
