/* notify.c - notify-command (run by io/exec.h with a deadline) and notify-url (a POST on net/curl.h, retried). */
#include "notify/notify.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/retry.h"
#include "common/util.h"
#include "io/exec.h"
#include "net/curl.h"

/* The event's ODBK_* variables, added to (and replacing any of) our environment. */
static void event_env(const struct odbk_notify_event *ev, char *env[9])
{
    env[0] = odbk_xasprintf("ODBK_EVENT=%s", ev->event);
    env[1] = odbk_xasprintf("ODBK_ENV=%s", ev->env ? ev->env : "");
    env[2] = odbk_xasprintf("ODBK_PROJECT=%s", ev->project ? ev->project : "");
    env[3] = odbk_xasprintf("ODBK_BACKUP_ID=%s", ev->backup_id ? ev->backup_id : "");
    env[4] = odbk_xasprintf("ODBK_STATUS=%s", ev->status ? ev->status : "");
    env[5] = odbk_xasprintf("ODBK_ERROR=%s", ev->error ? ev->error : "");
    env[6] = odbk_xasprintf("ODBK_SIZE=%" PRIu64, ev->size);
    env[7] = odbk_xasprintf("ODBK_DURATION=%" PRId64, ev->duration);
    env[8] = NULL;
}

static int run_command(const char *cmd, int64_t timeout_s, const struct odbk_notify_event *ev, struct odbk_err *err)
{
    char *env[9], *argv[] = {(char *)cmd, NULL}, *name = odbk_xasprintf("notify-command '%s'", cmd);
    int i, r;
    event_env(ev, env);
    r = odbk_exec_run(argv, env, (long)timeout_s, name, err);
    for (i = 0; env[i]; i++)
        free(env[i]);
    free(name);
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
        ev.status = odbk_status_name(b->status);
        ev.size = b->total_size;
        ev.duration = b->finished_at && b->created_at ? (int64_t)(b->finished_at - b->created_at) : since(started);
    } else {
        ev.event = "backup.failed";
        ev.failure = 1;
        ev.status = odbk_status_name(ODBK_BACKUP_FAILED);
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
    ev.status = failure ? odbk_status_name(ODBK_BACKUP_FAILED) : odbk_status_name(ODBK_BACKUP_COMPLETED);
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
    ev.status = failure ? odbk_status_name(ODBK_BACKUP_FAILED) : "deleted";
    ev.error = failure ? failure->msg : NULL;
    ev.size = bytes;
    ev.duration = since(started);
    r = odbk_notify_send(&p, &ev, err);
    free(list);
    free(project);
    odbk_policy_release(&p);
    return r;
}
