/* json.c - the policy module's results as JSON, for the programs' --json (odbk(7) JSON OUTPUT). */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "common/util.h"
#include "policy/policy.h"
#include "policy/retention.h"
#include "policy/schedule.h"
#include "policy/tz.h"

struct cJSON *odbk_policy_json(const struct odbk_policy *p, const char *env)
{
    cJSON *o = cJSON_CreateObject(), *keys = cJSON_CreateArray();
    size_t i;
    if (env)
        cJSON_AddStringToObject(o, "env", env);
    else
        cJSON_AddNullToObject(o, "env");
    cJSON_AddBoolToObject(o, "custom", p->custom);
    for (i = 0; i < p->n_values; i++) {
        const struct odbk_policy_value *v = &p->values[i];
        cJSON *k = cJSON_CreateObject();
        cJSON_AddStringToObject(k, "key", v->key);
        cJSON_AddStringToObject(k, "value", v->value);
        cJSON_AddStringToObject(k, "source", v->source);
        if (v->file) {
            cJSON_AddStringToObject(k, "file", v->file);
            cJSON_AddNumberToObject(k, "line", v->line);
        } else {
            cJSON_AddNullToObject(k, "file");
            cJSON_AddNullToObject(k, "line");
        }
        cJSON_AddItemToArray(keys, k);
    }
    cJSON_AddItemToObject(o, "keys", keys);
    return o;
}

struct cJSON *odbk_schedule_state_json(const struct odbk_schedule_state *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "env", s->env);
    cJSON_AddBoolToObject(o, "due", s->due);
    cJSON_AddStringToObject(o, "reason", s->reason);
    cJSON_AddBoolToObject(o, "enabled", s->enabled);
    odbk_json_time(o, "fired_at", s->fired_at);
    odbk_json_time(o, "next_at", s->next_at);
    odbk_json_time(o, "last_scheduled_backup_at", s->h.last_success);
    odbk_json_time(o, "last_failure_at", s->h.last_failure);
    cJSON_AddNumberToObject(o, "failures", s->h.failures);
    odbk_json_time(o, "retry_at", s->retry_at);
    return o;
}

struct cJSON *odbk_schedule_next_json(const struct odbk_policy *p, const char *env, const time_t *t, size_t n)
{
    cJSON *o = cJSON_CreateObject(), *times = cJSON_CreateArray();
    size_t k;
    cJSON_AddStringToObject(o, "env", env);
    cJSON_AddStringToObject(o, "schedule", p->cron.text);
    cJSON_AddStringToObject(o, "timezone", p->timezone);
    for (k = 0; k < n; k++) {
        cJSON *ti = cJSON_CreateObject();
        char local[40];
        odbk_json_time(ti, "utc", t[k]);
        odbk_tz_rfc3339(t[k], p->timezone, local);
        cJSON_AddStringToObject(ti, "local", local);
        cJSON_AddItemToArray(times, ti);
    }
    cJSON_AddItemToObject(o, "next", times);
    return o;
}

struct cJSON *odbk_retention_reasons_json(char *const *reasons, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    size_t j;
    for (j = 0; j < n; j++)
        cJSON_AddItemToArray(a, cJSON_CreateString(reasons[j]));
    return a;
}
