/* cli.c - option parsing, --help and completion from each program's option table. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

enum {
    COMMON_HELP = -1000,
    COMMON_VERSION,
    COMMON_CONFIG,
    COMMON_CATALOG,
    COMMON_JSON,
    COMMON_QUIET,
    COMMON_PROGRESS,
    COMMON_COMPLETION,
};

static const struct odbk_opt common_opts[] = {
    {"config", 'c', "FILE", "configuration file (default: $ODBK_CONFIG, ~/.config/odbk/odbk.conf, /etc/odbk/odbk.conf)",
     COMMON_CONFIG},
    {"catalog", 0, "FILE", "catalog database (default: $ODBK_CATALOG, ~/.local/state/odbk/catalog.db, "
     "/var/lib/odbk/catalog.db)", COMMON_CATALOG},
    {"json", 0, NULL, "print data as JSON", COMMON_JSON},
    {"progress", 0, "MODE", "progress on stderr: auto (a bar on a terminal), bar, json, none", COMMON_PROGRESS},
    {"quiet", 'q', NULL, "print nothing but data and errors", COMMON_QUIET},
    {"help", 'h', NULL, "show this help and exit", COMMON_HELP},
    {"version", 'V', NULL, "show the version and exit", COMMON_VERSION},
    {"completion-helper", 0, NULL, NULL, COMMON_COMPLETION},
    {0},
};

static int common_applies(const struct odbk_cli *cli, const struct odbk_opt *o)
{
    if (o->id == COMMON_JSON)
        return !!(cli->flags & ODBK_CLI_JSON);
    if (o->id == COMMON_PROGRESS)
        return !!(cli->flags & ODBK_CLI_PROGRESS);
    if (o->id == COMMON_CATALOG)
        return !(cli->flags & ODBK_CLI_NOCATALOG);
    return 1;
}

/* A program's own option keeps its short letter; a common option whose letter the program uses has none
 * there (odbk-compliance's -c is --crit-below, as monitoring plugins have it, not --config). */
static char short_of(const struct odbk_cli *cli, const struct odbk_opt *o)
{
    const struct odbk_opt *p;
    for (p = cli->opts; o->short_name && p && p->name; p++) {
        if (p == o)
            return o->short_name;
        if (p->short_name == o->short_name)
            return 0;
    }
    return o->short_name;
}

static void help_line(const struct odbk_cli *cli, const struct odbk_opt *o, FILE *f)
{
    char left[64];
    char sn = short_of(cli, o);
    if (!o->help)
        return;
    if (sn)
        snprintf(left, sizeof(left), "-%c, --%s%s%s", sn, o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
    else
        snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    if (strlen(left) > 24)
        fprintf(f, "  %s\n  %-24s  %s\n", left, "", o->help);
    else
        fprintf(f, "  %-24s  %s\n", left, o->help);
}

void odbk_cli_help(const struct odbk_cli *cli, FILE *f)
{
    const struct odbk_opt *o;
    const char *u = cli->usage, *nl;
    int first = 1;
    while (u) {
        nl = strchr(u, '\n');
        fprintf(f, "%s %s %.*s\n", first ? "usage:" : "      ", cli->prog, nl ? (int)(nl - u) : (int)strlen(u), u);
        first = 0;
        u = nl ? nl + 1 : NULL;
    }
    fprintf(f, "\n%s\n\noptions:\n", cli->summary);
    for (o = cli->opts; o && o->name; o++)
        help_line(cli, o, f);
    for (o = common_opts; o->name; o++)
        if (common_applies(cli, o))
            help_line(cli, o, f);
    fprintf(f, "\nSee %s(1).\n", cli->prog);
}

int odbk_cli_parse(const struct odbk_cli *cli, int argc, char **argv, struct odbk_cli_common *common,
                   odbk_cli_option_cb cb, void *ctx, int *first_arg, struct odbk_err *err)
{
    struct option lo[128];
    const struct odbk_opt *byval[128];
    char shorts[128];
    size_t n = 0, sn = 0, i;
    const struct odbk_opt *o;
    int c;
    memset(common, 0, sizeof(*common));
    shorts[sn++] = ':';
    for (int pass = 0; pass < 2; pass++) {
        for (o = pass ? common_opts : cli->opts; o && o->name; o++) {
            if (pass && !common_applies(cli, o))
                continue;
            lo[n].name = o->name;
            lo[n].has_arg = o->arg ? required_argument : no_argument;
            lo[n].flag = NULL;
            lo[n].val = 256 + (int)n;
            byval[n] = o;
            if (short_of(cli, o)) {
                shorts[sn++] = o->short_name;
                if (o->arg)
                    shorts[sn++] = ':';
            }
            n++;
        }
    }
    memset(&lo[n], 0, sizeof(lo[n]));
    shorts[sn] = '\0';
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        const struct odbk_opt *opt = NULL;
        if (c == '?' || c == ':') {
            const char *bad = argv[optind - 1];
            if (c == ':')
                odbk_err_set(err, ODBK_E_USAGE, "option '%s' needs a value", bad);
            else if (optopt && optopt < 256)
                odbk_err_set(err, ODBK_E_USAGE, "unknown option '-%c'", optopt);
            else {
                const char *names[128];
                const char *dym;
                char word[64];
                size_t k;
                snprintf(word, sizeof(word), "%s", bad + (bad[0] == '-' && bad[1] == '-' ? 2 : 0));
                if (strchr(word, '='))
                    *strchr(word, '=') = '\0';
                for (k = 0; k < n; k++)
                    names[k] = lo[k].name;
                names[n] = NULL;
                dym = odbk_did_you_mean(word, names);
                odbk_err_set(err, ODBK_E_USAGE, "unknown option '%s'%s%s%s", bad, dym ? " (did you mean '--" : "",
                             dym ? dym : "", dym ? "'?)" : "");
            }
            odbk_err_hint(err, "see %s --help", cli->prog);
            return -1;
        }
        if (c >= 256)
            opt = byval[c - 256];
        else
            for (i = 0; i < n && !opt; i++)
                if (short_of(cli, byval[i]) == c)
                    opt = byval[i];
        if (!opt)
            continue;
        switch (opt->id) {
        case COMMON_HELP:
            odbk_cli_help(cli, stdout);
            return 1;
        case COMMON_VERSION:
            printf("%s %s\n", cli->prog, ODBK_VERSION);
            return 1;
        case COMMON_COMPLETION:
            for (i = 0; i < n; i++)
                if (byval[i]->help)
                    printf("--%s%s\n", lo[i].name, lo[i].has_arg ? "=" : "");
            return 1;
        case COMMON_CONFIG: common->config = optarg; break;
        case COMMON_CATALOG: common->catalog = optarg; break;
        case COMMON_JSON: common->json = 1; break;
        case COMMON_QUIET: common->quiet = 1; break;
        case COMMON_PROGRESS:
            if (!strcmp(optarg, "auto"))
                common->progress = ODBK_PROGRESS_AUTO;
            else if (!strcmp(optarg, "bar"))
                common->progress = ODBK_PROGRESS_BAR;
            else if (!strcmp(optarg, "json"))
                common->progress = ODBK_PROGRESS_JSON;
            else if (!strcmp(optarg, "none"))
                common->progress = ODBK_PROGRESS_NONE;
            else {
                odbk_err_set(err, ODBK_E_USAGE, "--progress: unknown mode '%s' (auto, bar, json, none)", optarg);
                return -1;
            }
            break;
        default:
            if (cb(ctx, opt->id, optarg, err) < 0) {
                if (!err->code)
                    err->code = ODBK_E_USAGE;
                return -1;
            }
        }
    }
    *first_arg = optind;
    return 0;
}

int odbk_cli_exit(const struct odbk_cli *cli, int rc, struct odbk_err *err)
{
    int code = 0;
    if (rc < 0) {
        odbk_err_print(err, cli->prog, stderr);
        code = odbk_err_exit_code(err);
        if (!code)
            code = 1;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno != EPIPE)
            fprintf(stderr, "%s: error: cannot write to standard output: %s\n", cli->prog, strerror(errno));
        return code ? code : 74;
    }
    return code;
}

int odbk_cli_int(const char *opt, const char *arg, long min, long max, long *out, struct odbk_err *err)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max)
        return odbk_err_set(err, ODBK_E_USAGE, "--%s: '%s' is not a whole number from %ld to %ld", opt, arg, min,
                            max);
    *out = v;
    return 0;
}

int odbk_cli_confirm(const char *prompt, const char *word, const char *given, struct odbk_err *err)
{
    char line[128];
    if (given) {
        if (!strcmp(given, word))
            return 0;
        return odbk_err_set(err, ODBK_E_USAGE, "--confirm must be '%s', got '%s'", word, given);
    }
    if (!isatty(0) || !isatty(2)) {
        odbk_err_set(err, ODBK_E_USAGE, "confirmation needed and no terminal to ask on");
        odbk_err_hint(err, "pass --confirm %s to run without a terminal", word);
        return -1;
    }
    fprintf(stderr, "%s\nType %s to continue: ", prompt, word);
    fflush(stderr);
    if (!fgets(line, sizeof(line), stdin))
        return odbk_err_set(err, ODBK_E_USAGE, "not confirmed");
    line[strcspn(line, "\r\n")] = '\0';
    if (strcmp(line, word))
        return odbk_err_set(err, ODBK_E_USAGE, "not confirmed (typed '%s', not '%s'); nothing was changed", line,
                            word);
    return 0;
}
