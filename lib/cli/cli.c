/* cli.c - option parsing, --help and completion from each program's option table. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

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

const struct odbk_opt odbk_cli_common_opts[] = {
    {"config", 'c', "FILE", "configuration file (default: $ODBK_CONFIG, ~/.config/odbk/odbk.conf, "
     "/etc/odbk/odbk.conf)", COMMON_CONFIG, &odbk_vocab_file},
    {"catalog", 0, "FILE", "catalog: a SQLite file or a postgresql:// URL (default: $ODBK_CATALOG, "
     "[catalog] in odbk.conf, ~/.local/state/odbk/catalog.db, /var/lib/odbk/catalog.db)", COMMON_CATALOG,
     &odbk_vocab_file},
    {"json", 0, NULL, "print data as JSON", COMMON_JSON, NULL},
    {"progress", 0, "MODE", "progress on stderr: {} (auto: a bar on a terminal)", COMMON_PROGRESS,
     &odbk_vocab_progress},
    {"quiet", 'q', NULL, "print nothing but data and errors", COMMON_QUIET, NULL},
    {"help", 'h', NULL, "show this help and exit", COMMON_HELP, NULL},
    {"version", 'V', NULL, "show the version and exit", COMMON_VERSION, NULL},
    {"completion-helper", 0, NULL, NULL, COMMON_COMPLETION, NULL},
    {0},
};
#define common_opts odbk_cli_common_opts

int odbk_cli_common_applies(const struct odbk_cli *cli, const struct odbk_opt *o)
{
    if (o->id == COMMON_JSON)
        return !!(cli->flags & ODBK_CLI_JSON);
    if (o->id == COMMON_PROGRESS)
        return !!(cli->flags & ODBK_CLI_PROGRESS);
    if (o->id == COMMON_CATALOG)
        return !(cli->flags & ODBK_CLI_NOCATALOG);
    return 1;
}
#define common_applies odbk_cli_common_applies

/* A program's own option keeps its short letter; a common option whose letter the program uses has none
 * there (odbk-compliance's -c is --crit-below, as monitoring plugins have it, not --config). */
char odbk_cli_short_of(const struct odbk_cli *cli, const struct odbk_opt *o)
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
#define short_of odbk_cli_short_of

#define HELP_WIDTH 80

/* Print text from column col (where the cursor is), cut at spaces so that no line passes HELP_WIDTH
 * columns, each further line indented by indent; a newline in text starts a new line. */
static void wrap(FILE *f, const char *text, size_t col, size_t indent)
{
    const char *p = text;
    for (;;) {
        size_t len = strcspn(p, "\n"), room = HELP_WIDTH > col ? HELP_WIDTH - col : 1, cut;
        if (len <= room) {
            fprintf(f, "%.*s\n", (int)len, p);
            if (!p[len])
                return;
            p += len + 1;
        } else {
            for (cut = room; cut > 0 && p[cut] != ' '; cut--)
                ;
            if (!cut)   /* one word longer than the room: whole */
                cut = strcspn(p, " \n");
            fprintf(f, "%.*s\n", (int)cut, p);
            p += cut;
            while (*p == ' ')
                p++;
            if (!*p)
                return;
        }
        fprintf(f, "%*s", (int)indent, "");
        col = indent;
    }
}

static void help_line(const struct odbk_cli *cli, const struct odbk_opt *o, FILE *f)
{
    char left[64], text[1024];
    const char *brace;
    char sn = short_of(cli, o);
    if (!o->help)
        return;
    if (sn)
        snprintf(left, sizeof(left), "-%c, --%s%s%s", sn, o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
    else
        snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    brace = strstr(o->help, "{}");
    if (brace && o->values) {
        char list[512];
        odbk_vocab_list(o->values, list, sizeof(list));
        snprintf(text, sizeof(text), "%.*s%s%s", (int)(brace - o->help), o->help, list, brace + 2);
    } else {
        snprintf(text, sizeof(text), "%s", o->help);
    }
    if (strlen(left) > 24)
        fprintf(f, "  %s\n  %-24s  ", left, "");
    else
        fprintf(f, "  %-24s  ", left);
    wrap(f, text, 28, 28);
}

void odbk_cli_help(const struct odbk_cli *cli, FILE *f)
{
    const struct odbk_opt *o;
    const struct odbk_cli_sub *sub;
    const char *u = cli->usage, *nl;
    int first = 1;
    while (u) {
        nl = strchr(u, '\n');
        fprintf(f, "%s %s %.*s\n", first ? "usage:" : "      ", cli->prog, nl ? (int)(nl - u) : (int)strlen(u), u);
        first = 0;
        u = nl ? nl + 1 : NULL;
    }
    fputc('\n', f);
    wrap(f, cli->summary, 0, 0);
    if (cli->subs) {
        fprintf(f, "\nsubcommands:\n");
        for (sub = cli->subs; sub->name; sub++) {
            fprintf(f, "  %-10s ", sub->name);
            wrap(f, sub->summary, 13, 13);
        }
        fprintf(f, "\n'%s SUBCOMMAND --help' shows a subcommand's options.\nSee %s(1).\n", cli->prog, cli->prog);
        return;
    }
    fprintf(f, "\noptions:\n");
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
    if (argc >= 3 && !strcmp(argv[1], "--completion-helper") && !strcmp(argv[2], "--")) {
        odbk_cli_complete(cli, argc - 3, argv + 3);
        return 1;
    }
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
        if (opt->arg && opt->values && opt->values->kind == ODBK_VOCAB_WORDS &&
            odbk_vocab_find(opt->values, optarg) < 0) {
            odbk_vocab_error(opt->values, optarg, ODBK_E_USAGE, err);
            odbk_err_prefix(err, "--%s", opt->name);
            return -1;
        }
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
        case COMMON_PROGRESS: common->progress = (enum odbk_progress_mode)odbk_vocab_find(opt->values, optarg); break;
        default:
            if (cb && cb(ctx, opt->id, optarg, err) < 0) {
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

void odbk_cli_print_json(struct cJSON *j, int line)
{
    char *s = line ? cJSON_PrintUnformatted(j) : cJSON_Print(j);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(j);
}

int odbk_cli_dispatch(const struct odbk_cli *top, int argc, char **argv)
{
    struct odbk_cli_common common;
    struct odbk_err err = {0};
    const struct odbk_cli_sub *sub;
    const char *names[32], *dym;
    size_t i = 0;
    int arg0, rc;
    if (argc >= 2 && argv[1][0] != '-') {
        for (sub = top->subs; sub->name; sub++)
            if (!strcmp(argv[1], sub->name))
                return sub->run(argc - 1, argv + 1);
        for (sub = top->subs; sub->name && i < 31; sub++)
            names[i++] = sub->name;
        names[i] = NULL;
        dym = odbk_did_you_mean(argv[1], names);
        odbk_err_set(&err, ODBK_E_USAGE, "unknown subcommand '%s'%s%s%s", argv[1], dym ? " (did you mean '" : "",
                     dym ? dym : "", dym ? "'?)" : "");
        odbk_err_hint(&err, "see %s --help", top->prog);
        return odbk_cli_exit(top, -1, &err);
    }
    if (argc >= 2 && !strcmp(argv[1], "--completion-helper") && argc == 2) {
        /* every option of every subcommand, once, and the common ones */
        const char *seen[256];
        size_t n_seen = 0, k;
        const struct odbk_opt *o;
        for (sub = top->subs; sub->name; sub++)
            for (o = sub->cli->opts; o && o->name; o++) {
                for (k = 0; k < n_seen && strcmp(seen[k], o->name); k++)
                    ;
                if (k < n_seen || !o->help || n_seen >= 256)
                    continue;
                seen[n_seen++] = o->name;
                printf("--%s%s\n", o->name, o->arg ? "=" : "");
            }
        for (o = common_opts; o->name; o++)
            if (o->help && o->id != COMMON_PROGRESS)
                printf("--%s%s\n", o->name, o->arg ? "=" : "");
        return odbk_cli_exit(top, 0, &err);
    }
    rc = odbk_cli_parse(top, argc, argv, &common, NULL, NULL, &arg0, &err);
    if (rc > 0)
        return odbk_cli_exit(top, 0, &err);
    if (rc == 0 && argc >= 2) {   /* a common option alone, before any subcommand */
        odbk_err_set(&err, ODBK_E_USAGE, "options come after the subcommand");
    } else if (rc == 0) {
        char list[256] = "";
        size_t len = 0;
        for (sub = top->subs; sub->name; sub++)
            len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", sub == top->subs ? "" : ", ",
                                    sub->name);
        odbk_err_set(&err, ODBK_E_USAGE, "a subcommand is needed: %s", list);
    } else {
        char msg[sizeof(err.msg)];
        snprintf(msg, sizeof(msg), "%s", err.msg);
        odbk_err_set(&err, ODBK_E_USAGE, "%s: options come after the subcommand", msg);
    }
    odbk_err_hint(&err, "see %s --help", top->prog);
    return odbk_cli_exit(top, -1, &err);
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
