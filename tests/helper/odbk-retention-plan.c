/* odbk-retention-plan - test-only front end of the retention engine, for differential tests.
 *
 *   odbk-retention-plan [--keep-daily 7 ...] [--tz ZONE] [--now TIME] [--no-keep-oldest] < times
 *
 * stdin: one RFC 3339 time per line, optionally followed by words: `failed` (not completed),
 * `permanent`, `tier=weekly`, `id=NAME`; blank lines and `#` comments are skipped.
 * stdout, newest first: `TIME keep|drop REASON,REASON` (`-` when no reason), TIME as given.
 * Every retention rule is an option named as its config key.  Exit 0, or 64 / 65 with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/retention.h"

static int usage(const char *msg)
{
    fprintf(stderr, "odbk-retention-plan: %s\nusage: odbk-retention-plan [--keep-RULE VALUE...] [--tz ZONE] "
                    "[--now RFC3339] [--no-keep-oldest] < times\n", msg);
    return 64;
}

int main(int argc, char **argv)
{
    struct odbk_retention_policy p;
    struct odbk_err err = {0};
    time_t now = odbk_now();
    odbk_retention_policy_init(&p);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--no-keep-oldest")) {
            p.no_keep_oldest = 1;
            continue;
        }
        if (strncmp(a, "--", 2) || i + 1 >= argc)
            return usage(i + 1 >= argc && !strncmp(a, "--", 2) ? "option needs a value" : "unknown argument");
        const char *v = argv[++i];
        if (!strcmp(a, "--tz")) {
            snprintf(p.timezone, sizeof p.timezone, "%s", v);
        } else if (!strcmp(a, "--now")) {
            if (odbk_time_parse_rfc3339(v, &now) < 0)
                return usage("--now needs an RFC 3339 time");
        } else if (odbk_retention_policy_set(&p, a + 2, v, &err) < 0) {
            odbk_err_print(&err, "odbk-retention-plan", stderr);
            return 64;
        }
    }

    struct odbk_retention_item *items = NULL;
    char **labels = NULL;
    size_t n = 0;
    char line[4096];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, stdin)) {
        lineno++;
        char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save);
        if (!tok || tok[0] == '#')
            continue;
        items = odbk_xrealloc(items, (n + 1) * sizeof *items);
        labels = odbk_xrealloc(labels, (n + 1) * sizeof *labels);
        struct odbk_retention_item *it = &items[n];
        memset(it, 0, sizeof *it);
        labels[n] = odbk_xstrdup(tok);
        it->completed = 1;
        if (odbk_time_parse_rfc3339(tok, &it->time) < 0) {
            fprintf(stderr, "odbk-retention-plan: line %d: '%s' is not an RFC 3339 time\n", lineno, tok);
            rc = 65;
        }
        n++;
        while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
            if (!strcmp(tok, "failed"))
                it->completed = 0;
            else if (!strcmp(tok, "permanent"))
                it->permanent = 1;
            else if (!strncmp(tok, "tier=", 5) && odbk_tier_parse(tok + 5, &it->tier, ODBK_E_USAGE, &err) == 0)
                ;
            else if (!strncmp(tok, "id=", 3)) {
                free((char *)it->id);
                it->id = odbk_xstrdup(tok + 3);
            } else {
                fprintf(stderr, "odbk-retention-plan: line %d: unknown word '%s'\n", lineno, tok);
                rc = 65;
            }
        }
    }
    if (rc)
        goto out;

    struct odbk_retention_plan *plan = NULL;
    if (odbk_retention_plan(&p, items, n, now, &plan, &err) < 0) {
        odbk_err_print(&err, "odbk-retention-plan", stderr);
        rc = 65;
        goto out;
    }
    for (size_t i = 0; i < plan->n; i++) {
        const struct odbk_retention_decision *d = &plan->d[i];
        printf("%s %s ", labels[d->index], d->keep ? "keep" : "drop");
        for (size_t j = 0; j < d->n_reasons; j++)
            printf("%s%s", j ? "," : "", d->reasons[j]);
        printf("%s\n", d->n_reasons ? "" : "-");
    }
    odbk_retention_plan_free(plan);
out:
    for (size_t i = 0; i < n; i++) {
        free(labels[i]);
        free((char *)items[i].id);
    }
    free(labels);
    free(items);
    return rc;
}
