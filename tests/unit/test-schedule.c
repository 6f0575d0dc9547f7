/* test-schedule.c - due decisions (lib/policy/schedule.c), env states and compliance windows
 * (lib/policy/compliance.c), with fixed times. */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "common/util.h"
#include "config/config.h"
#include "policy/compliance.h"
#include "policy/schedule.h"

static time_t T(const char *s)
{
    time_t t = 0;
    if (odbk_time_parse_rfc3339(s, &t) < 0) {
        printf("# bad time in test: %s\n", s);
        abort();
    }
    return t;
}

/* The policy of env "e" whose [policy e] section holds `keys` ("schedule = @daily\n..."). */
static void policy(const char *keys, struct odbk_policy *p)
{
    struct odbk_config *cfg = NULL;
    struct odbk_err err = {0};
    char *text = odbk_xasprintf("[env e]\n[policy e]\n%s", keys);
    if (odbk_config_parse_string(text, "test.conf", &cfg, &err) < 0 || odbk_policy_load(cfg, "e", p, &err) < 0) {
        printf("# policy: %s\n", err.msg);
        abort();
    }
    free(text);
    odbk_config_free(cfg);
}

/* "due reason" at now for a history. */
static const char *decide(const struct odbk_policy *p, time_t last_success, time_t last_failure, int failures,
                          int running, const char *now)
{
    static char buf[64];
    struct odbk_schedule_history h = {last_success, last_failure, failures, running};
    struct odbk_schedule_state st = {0};
    struct odbk_err err = {0};
    if (odbk_schedule_decide(p, &h, T(now), &st, &err) < 0)
        snprintf(buf, sizeof(buf), "ERROR %s", err.msg);
    else
        snprintf(buf, sizeof(buf), "%s %s", st.due ? "due" : "not-due", st.reason);
    return buf;
}

static int64_t window(const char *keys)
{
    struct odbk_policy p;
    struct odbk_err err = {0};
    int64_t w = -1;
    policy(keys, &p);
    if (odbk_compliance_window(&p, T("2026-01-01T00:00:00Z"), &w, &err) < 0)
        printf("# window: %s\n", err.msg);
    odbk_policy_release(&p);
    return w;
}

int main(void)
{
    struct odbk_policy p;

    /* the fire times are computed once per (schedule, zone, now) and shared by every env: each env's own
     * history still decides, at the fire time exactly too */
    policy("schedule = 0 2 * * *\ntimezone = Europe/Brussels\n", &p);
    is_str(decide(&p, T("2026-03-02T00:59:00Z"), 0, 0, 0, "2026-03-02T01:00:00Z"), "due fired",
           "shared fire time: a backup before it is due");
    is_str(decide(&p, T("2026-03-02T01:00:00Z"), 0, 0, 0, "2026-03-02T01:00:00Z"), "not-due done",
           "shared fire time: a backup at it is done");
    is_str(decide(&p, T("2026-03-01T01:00:00Z"), T("2026-03-02T00:59:00Z"), 1, 0, "2026-03-02T01:00:00Z"),
           "due retry", "shared fire time: a failure before it is retried at it");
    odbk_policy_release(&p);

    /* @daily */
    policy("schedule = @daily\n", &p);
    is_str(decide(&p, 0, 0, 0, 0, "2026-03-01T10:00:00Z"), "due first run", "never backed up: due at once");
    is_str(decide(&p, T("2026-03-01T10:00:00Z"), 0, 0, 0, "2026-03-01T10:05:00Z"), "not-due done",
           "five minutes later: done");
    is_str(decide(&p, T("2026-03-01T10:00:00Z"), 0, 0, 0, "2026-03-01T23:59:59Z"), "not-due done",
           "not before midnight");
    is_str(decide(&p, T("2026-03-01T10:00:00Z"), 0, 0, 0, "2026-03-02T00:00:00Z"), "due fired",
           "at the fire time: due");
    is_str(decide(&p, T("2026-03-02T00:00:05Z"), 0, 0, 0, "2026-03-02T00:05:00Z"), "not-due done",
           "once per day however often called");
    is_str(decide(&p, T("2026-03-02T00:00:05Z"), 0, 0, 0, "2026-03-04T09:00:00Z"), "due fired",
           "two missed days: one run");
    is_str(decide(&p, T("2026-03-02T00:00:05Z"), 0, 0, 1, "2026-03-04T09:00:00Z"), "not-due running",
           "not while one runs");
    /* a failure after the fire time: back off, retry */
    is_str(decide(&p, T("2026-03-01T00:00:05Z"), T("2026-03-02T00:00:05Z"), 1, 0, "2026-03-02T00:04:00Z"),
           "not-due backing off", "failed 4 min ago: backing off (5 min)");
    is_str(decide(&p, T("2026-03-01T00:00:05Z"), T("2026-03-02T00:00:05Z"), 1, 0, "2026-03-02T00:05:05Z"),
           "due retry", "after 5 min: retry");
    is_str(decide(&p, T("2026-03-01T00:00:05Z"), T("2026-03-02T00:00:05Z"), 3, 0, "2026-03-02T00:15:05Z"),
           "not-due backing off", "third failure: 20 min");
    is_str(decide(&p, T("2026-03-01T00:00:05Z"), T("2026-03-02T00:00:05Z"), 3, 0, "2026-03-02T00:20:05Z"),
           "due retry", "third failure: after 20 min");
    is_str(decide(&p, 0, T("2026-03-02T00:00:05Z"), 1, 0, "2026-03-02T00:01:00Z"), "not-due backing off",
           "first run failed: backing off too");
    is_str(decide(&p, T("2026-03-02T00:30:00Z"), T("2026-03-02T00:00:05Z"), 0, 0, "2026-03-02T00:40:00Z"),
           "not-due done", "a success after the failure: done");
    odbk_policy_release(&p);
    is_int(odbk_schedule_backoff(1), 300, "backoff 1");
    is_int(odbk_schedule_backoff(2), 600, "backoff 2");
    is_int(odbk_schedule_backoff(4), 2400, "backoff 4");
    is_int(odbk_schedule_backoff(5), 3600, "backoff 5 capped");
    is_int(odbk_schedule_backoff(50), 3600, "backoff 50 capped");

    /* a new fire time ends the back-off early */
    policy("schedule = */5 * * * *\n", &p);
    is_str(decide(&p, T("2026-03-01T00:00:05Z"), T("2026-03-02T00:00:05Z"), 5, 0, "2026-03-02T00:05:00Z"),
           "due retry", "*/5: the next fire time retries");
    odbk_policy_release(&p);

    /* disabled, in a zone */
    policy("schedule = @daily\nenabled = false\n", &p);
    is_str(decide(&p, 0, 0, 0, 0, "2026-03-01T10:00:00Z"), "not-due disabled", "disabled never fires");
    odbk_policy_release(&p);
    policy("schedule = 0 2 * * *\ntimezone = Europe/Brussels\n", &p);
    is_str(decide(&p, T("2026-03-28T01:00:10Z"), 0, 0, 0, "2026-03-29T00:59:00Z"), "not-due done",
           "Brussels 02:00 on DST day: not at 01:59 CET");
    is_str(decide(&p, T("2026-03-28T01:00:10Z"), 0, 0, 0, "2026-03-29T01:00:00Z"), "due fired",
           "Brussels 02:00 skipped: fires at 03:00 CEST (01:00Z)");
    odbk_policy_release(&p);

    /* next */
    {
        time_t t[3];
        char a[32], b[32], c[32];
        struct odbk_err err = {0};
        policy("schedule = 30 9 * * mon-fri\n", &p);
        ok(odbk_schedule_next(&p, T("2026-03-06T10:00:00Z"), t, 3, &err) == 0, "next");
        odbk_time_rfc3339(t[0], a);
        odbk_time_rfc3339(t[1], b);
        odbk_time_rfc3339(t[2], c);
        is_str(a, "2026-03-09T09:30:00Z", "next 1: Monday");
        is_str(b, "2026-03-10T09:30:00Z", "next 2");
        is_str(c, "2026-03-11T09:30:00Z", "next 3");
        odbk_policy_release(&p);
    }

    /* compliance windows */
    is_int(window("schedule = @daily\n"), 86400, "window @daily: 1 day");
    is_int(window("schedule = @hourly\n"), 86400, "window @hourly: 1 day");
    is_int(window("schedule = */5 * * * *\n"), 86400, "window */5: 1 day");
    is_int(window("schedule = 0 2 * * *\ntimezone = Europe/Brussels\n"), 86400,
           "window daily across DST (25 h gap): 1 day");
    is_int(window("schedule = @weekly\n"), 7 * 86400 + 3600, "window @weekly: 7 d + 1 h");
    is_int(window("schedule = 0 3 * * mon-fri\n"), 3 * 86400 + 3600, "window weekdays: weekend gap 3 d + 1 h");
    is_int(window("schedule = @monthly\n"), 31 * 86400 + 3600, "window @monthly: 31 d + 1 h");
    is_int(window("schedule = 0 0 29 2 *\n"), (365 * 3 + 366) * 86400LL + 3600, "window 29 Feb: 4 years + 1 h");
    is_int(window("schedule = @daily\ncompliance-window = 36h\n"), 36 * 3600, "compliance-window set: as set");
    is_int(window("schedule =\n"), 86400, "no schedule: 1 day");

    /* states */
    policy("warning-after = 1d\ndanger-after = 5d\n", &p);
    {
        time_t now = T("2026-03-10T12:00:00Z");
        is_str(odbk_env_state(&p, 1, now - 3600, now), "normal", "1 h old: normal");
        is_str(odbk_env_state(&p, 1, now - 3 * 86400, now), "warning", "3 days old: warning");
        is_str(odbk_env_state(&p, 1, now - 86400, now), "warning", "exactly 1 day: warning");
        is_str(odbk_env_state(&p, 1, now - 8 * 86400, now), "danger", "8 days old: danger");
        is_str(odbk_env_state(&p, 1, 0, now), "danger", "none: danger");
        is_str(odbk_env_state(&p, 0, now - 3600, now), "not_configured", "no storage: not_configured");
    }
    odbk_policy_release(&p);
    policy("warning-after = 2h\ndanger-after = 12h\n", &p);
    {
        time_t now = T("2026-03-10T12:00:00Z");
        is_str(odbk_env_state(&p, 1, now - 3 * 3600, now), "warning", "thresholds from the policy");
        is_str(odbk_env_state(&p, 1, now - 13 * 3600, now), "danger", "thresholds from the policy (danger)");
    }
    odbk_policy_release(&p);
    return done_testing();
}
