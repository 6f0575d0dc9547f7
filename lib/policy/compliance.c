/* compliance.c - env states and compliance windows; the definitions are in compliance.h. */
#include "policy/compliance.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/util.h"
#include "policy/tz.h"

#define DAY 86400

const char *odbk_env_state(const struct odbk_policy *p, int has_storage, time_t latest_at, time_t now)
{
    int64_t age;
    if (!has_storage)
        return ODBK_ENV_NOT_CONFIGURED;
    if (!latest_at)
        return ODBK_ENV_DANGER;
    age = (int64_t)now - (int64_t)latest_at;
    if (age < p->warning_after)
        return ODBK_ENV_NORMAL;
    if (age < p->danger_after)
        return ODBK_ENV_WARNING;
    return ODBK_ENV_DANGER;
}

/* The longest gap between fire times, walking a year from `from` (longer while fewer than two fire times
 * were seen, up to 9 years).  Gaps of at most one day are not measured exactly: from a fire time f whose
 * successor is within a day, jump to the last fire time at or before f + 1 day, as every gap in between is
 * shorter than a day; so the walk takes about two cron steps per day. */
static int longest_gap(const struct odbk_policy *p, time_t from, int64_t *out, struct odbk_err *err)
{
    time_t f, g, end = from + 366 * (time_t)DAY, limit = from + 9 * 366 * (time_t)DAY;
    int64_t longest = 0;
    int fires = 1, r = -1;
    odbk_tz_hold(p->timezone);   /* some 730 cron steps in one zone: its file read once */
    if (odbk_cron_next(&p->cron, from, p->timezone, &f, err) < 0)
        goto out;
    while ((f <= end || fires < 2) && f <= limit) {
        if (odbk_cron_next(&p->cron, f, p->timezone, &g, err) < 0)
            goto out;
        if (g - f <= DAY) {
            if (odbk_cron_prev(&p->cron, f + DAY, p->timezone, &g, err) < 0)
                goto out;
        } else if (g - f > longest) {
            longest = g - f;
        }
        f = g;
        fires++;
    }
    *out = longest;
    r = 0;
out:
    odbk_tz_release();
    return r;
}

/* The longest gap is the same for every env of one schedule and zone at one time: computed once per run
 * for each (schedule, zone, from), so compliance over 10,000 envs walks a few schedules, not 10,000. */
#define GAP_CACHE 64
static struct gap_memo {
    char *cron, *zone;
    time_t from;
    int64_t gap;
} gap_cache[GAP_CACHE];
static size_t n_gap_cache;
static pthread_mutex_t gap_lock = PTHREAD_MUTEX_INITIALIZER;

static int cached_gap(const struct odbk_policy *p, time_t from, int64_t *gap, struct odbk_err *err)
{
    size_t i;
    if (strlen(p->cron.text) >= sizeof(p->cron.text) - 1)   /* cut: the text does not name it */
        return longest_gap(p, from, gap, err);
    pthread_mutex_lock(&gap_lock);
    for (i = 0; i < n_gap_cache; i++)
        if (gap_cache[i].from == from && !strcmp(gap_cache[i].cron, p->cron.text) &&
            !strcmp(gap_cache[i].zone, p->timezone)) {
            *gap = gap_cache[i].gap;
            pthread_mutex_unlock(&gap_lock);
            return 0;
        }
    pthread_mutex_unlock(&gap_lock);
    if (longest_gap(p, from, gap, err) < 0)
        return -1;
    pthread_mutex_lock(&gap_lock);
    if (n_gap_cache < GAP_CACHE) {
        gap_cache[n_gap_cache].cron = odbk_xstrdup(p->cron.text);
        gap_cache[n_gap_cache].zone = odbk_xstrdup(p->timezone);
        gap_cache[n_gap_cache].from = from;
        gap_cache[n_gap_cache++].gap = *gap;
    }
    pthread_mutex_unlock(&gap_lock);
    return 0;
}

int odbk_compliance_window(const struct odbk_policy *p, time_t from, int64_t *window, struct odbk_err *err)
{
    int64_t gap;
    if (p->compliance_window > 0) {
        *window = p->compliance_window;
        return 0;
    }
    if (!p->has_schedule) {
        *window = DAY;
        return 0;
    }
    if (cached_gap(p, from, &gap, err) < 0)
        return -1;
    *window = gap <= DAY + 3600 ? DAY : gap + 3600;
    return 0;
}

void odbk_env_status_free(struct odbk_env_status *v, size_t n)
{
    size_t i;
    for (i = 0; v && i < n; i++) {
        free(v[i].env);
        free(v[i].project);
        free(v[i].storage);
        free(v[i].latest_id);
        free(v[i].failed_id);
        free(v[i].failed_error);
    }
    free(v);
}

/* p: the env's policy; sum: its figures, NULL for an env without rows */
static int env_status(const struct odbk_policy *p, const struct odbk_env_summary *sum, const struct odbk_env *env,
                      time_t now, struct odbk_env_status *s, struct odbk_err *err)
{
    static const struct odbk_env_summary none;
    int r = -1;
    s->env = odbk_xstrdup(env->name);
    s->project = odbk_xstrdup(env->project ? env->project : "");
    s->storage = env->storage ? odbk_xstrdup(env->storage) : NULL;
    s->enabled = p->enabled;
    s->policy_source = p->custom ? "custom" : "default";
    if (!sum)
        sum = &none;
    s->backups = sum->completed;
    s->age = -1;
    if (sum->latest_id) {
        s->latest_id = odbk_xstrdup(sum->latest_id);
        s->latest_at = sum->latest_at;
        s->age = (int64_t)now - (int64_t)s->latest_at;
    }
    /* the newest failure since then (a run that could not even start has its row too) */
    if (sum->failed_id) {
        s->failed_id = odbk_xstrdup(sum->failed_id);
        s->failed_at = sum->failed_at;
        s->failed_error = odbk_xstrdup(sum->failed_error ? sum->failed_error : "");
    }
    s->state = odbk_env_state(p, env->storage != NULL, s->latest_at, now);
    if (odbk_compliance_window(p, now, &s->window, err) < 0)
        goto out;
    s->recent = s->storage && s->backups && s->age < s->window;
    r = 0;
out:
    if (r < 0)
        odbk_err_prefix(err, "environment '%s'", env->name);
    return r;
}

int odbk_env_status_list(const struct odbk_config *cfg, struct odbk_catalog *cat, const char *project, time_t now,
                         struct odbk_env_status **out, size_t *n_out, struct odbk_err *err)
{
    const char **names = NULL;
    size_t n = odbk_config_env_names(cfg, &names), i, k = 0;
    struct odbk_env_status *v = odbk_xcalloc(n + 1, sizeof(*v));
    struct odbk_env_summaries all = {0};
    struct odbk_policy shared, own;
    int r = -1, have_shared = 0;
    /* every env's figures in one read, not one query per env */
    if (odbk_catalog_env_summaries(cat, &all, err) < 0)
        goto out;
    for (i = 0; i < n; i++) {
        const struct odbk_policy *p;
        struct odbk_env env;
        if (odbk_config_env(cfg, names[i], &env, err) < 0)
            goto out;
        if (project && strcmp(project, env.project ? env.project : "")) {
            odbk_env_release(&env);
            continue;
        }
        if (!(p = odbk_policy_for(cfg, names[i], &shared, &have_shared, &own, err))) {
            odbk_env_release(&env);
            r = -1;
            goto out;
        }
        r = env_status(p, odbk_env_summaries_find(&all, names[i]), &env, now, &v[k++], err);
        odbk_policy_release(&own);
        odbk_env_release(&env);
        if (r < 0)
            goto out;
    }
    r = 0;
out:
    free(names);
    odbk_env_summaries_release(&all);
    if (have_shared)
        odbk_policy_release(&shared);
    if (r < 0) {
        odbk_env_status_free(v, k);
        v = NULL;
        k = 0;
    }
    *out = v;
    *n_out = k;
    return r;
}

void odbk_compliance_count(const struct odbk_env_status *v, size_t n, size_t *enabled, size_t *compliant)
{
    size_t i;
    *enabled = *compliant = 0;
    for (i = 0; i < n; i++) {
        if (!v[i].enabled)
            continue;
        (*enabled)++;
        if (v[i].recent)
            (*compliant)++;
    }
}

void odbk_compliance_verdict(const struct odbk_env_status *v, size_t n, long warn_below, long crit_below,
                             struct odbk_compliance *out)
{
    size_t i;
    memset(out, 0, sizeof(*out));
    odbk_compliance_count(v, n, &out->enabled, &out->compliant);
    for (i = 0; i < n; i++) {
        const char *s = v[i].state;
        if (!v[i].enabled)
            out->disabled++;
        else if (!strcmp(s, ODBK_ENV_NORMAL))
            out->normal++;
        else if (!strcmp(s, ODBK_ENV_WARNING))
            out->warning++;
        else if (!strcmp(s, ODBK_ENV_DANGER))
            out->danger++;
        else
            out->not_configured++;
    }
    if (!out->enabled) {
        out->status = ODBK_COMPLIANCE_UNKNOWN;
        return;
    }
    out->percent = (int)(100 * out->compliant / out->enabled);
    out->status = (long)(100 * out->compliant) < crit_below * (long)out->enabled   ? ODBK_COMPLIANCE_CRITICAL
                  : (long)(100 * out->compliant) < warn_below * (long)out->enabled ? ODBK_COMPLIANCE_WARNING
                                                                                   : ODBK_COMPLIANCE_OK;
}

struct cJSON *odbk_env_status_json(const struct odbk_env_status *s)
{
    cJSON *o = cJSON_CreateObject();
    char t[32];
    cJSON_AddStringToObject(o, "env", s->env);
    cJSON_AddStringToObject(o, "project", s->project ? s->project : "");
    if (s->storage)
        cJSON_AddStringToObject(o, "storage", s->storage);
    else
        cJSON_AddNullToObject(o, "storage");
    cJSON_AddBoolToObject(o, "enabled", s->enabled);
    cJSON_AddStringToObject(o, "policy", s->policy_source);
    cJSON_AddStringToObject(o, "state", s->state);
    cJSON_AddNumberToObject(o, "backups", (double)s->backups);
    if (s->latest_id) {
        odbk_time_rfc3339(s->latest_at, t);
        cJSON_AddStringToObject(o, "latest_backup_id", s->latest_id);
        cJSON_AddStringToObject(o, "latest_backup_at", t);
        cJSON_AddNumberToObject(o, "age_seconds", (double)s->age);
    } else {
        cJSON_AddNullToObject(o, "latest_backup_id");
        cJSON_AddNullToObject(o, "latest_backup_at");
        cJSON_AddNullToObject(o, "age_seconds");
    }
    cJSON_AddNumberToObject(o, "compliance_window_seconds", (double)s->window);
    cJSON_AddBoolToObject(o, "recent", s->recent);
    if (s->failed_id) {
        cJSON *lf = cJSON_AddObjectToObject(o, "last_failure");
        odbk_time_rfc3339(s->failed_at, t);
        cJSON_AddStringToObject(lf, "id", s->failed_id);
        cJSON_AddStringToObject(lf, "at", t);
        cJSON_AddStringToObject(lf, "error", s->failed_error);
    } else {
        cJSON_AddNullToObject(o, "last_failure");
    }
    return o;
}
