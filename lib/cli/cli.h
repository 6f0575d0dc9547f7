/* cli.h - one option table per program gives the parser, --help and the shell completion
 * (--completion-helper), so they cannot disagree.  Every program also takes the common options
 * --help, --version, --config, --catalog, --quiet, and where it prints data --json (SPEC §3).
 *
 *   static const struct odbk_opt opts[] = {
 *       {"comment", 0, "TEXT", "a note stored with the backup", OPT_COMMENT},
 *       {0}};
 *   static const struct odbk_cli cli = {"odbk-create", "[ENV...] [options]", "make backups", opts,
 *                                       ODBK_CLI_JSON | ODBK_CLI_PROGRESS};
 *   rc = odbk_cli_parse(&cli, argc, argv, &common, on_option, &ctx, &first_arg, &err);
 */
#ifndef ODBK_CLI_H
#define ODBK_CLI_H

#include "common/err.h"

struct odbk_opt {
    const char *name;   /* long name, without "--" */
    char short_name;    /* 0: none */
    const char *arg;    /* NULL: a flag; else the argument's placeholder ("FILE") */
    const char *help;   /* one line */
    int id;             /* passed to the callback */
};

enum {
    ODBK_CLI_JSON = 1 << 0,      /* program takes --json */
    ODBK_CLI_PROGRESS = 1 << 1,  /* program takes --progress */
    ODBK_CLI_NOCATALOG = 1 << 2, /* program has no --catalog */
};

struct odbk_cli {
    const char *prog;
    const char *usage;       /* after the program name; may hold several lines separated by \n */
    const char *summary;     /* one line */
    const struct odbk_opt *opts;
    unsigned flags;
};

enum odbk_progress_mode { ODBK_PROGRESS_AUTO = 0, ODBK_PROGRESS_BAR, ODBK_PROGRESS_JSON, ODBK_PROGRESS_NONE };

struct odbk_cli_common {
    const char *config;
    const char *catalog;
    int json;
    int quiet;
    enum odbk_progress_mode progress;
};

typedef int (*odbk_cli_option_cb)(void *ctx, int id, const char *arg, struct odbk_err *err);

/* Parse argv.  Returns 0 (with *first_arg the index of the first operand), 1 when --help, --version or
 * --completion-helper was handled (exit 0), -1 on error (ODBK_E_USAGE). */
int odbk_cli_parse(const struct odbk_cli *cli, int argc, char **argv, struct odbk_cli_common *common,
                   odbk_cli_option_cb cb, void *ctx, int *first_arg, struct odbk_err *err);
void odbk_cli_help(const struct odbk_cli *cli, FILE *f);

/* End of main(): flush stdout (EPIPE/ENOSPC become exit 74), print err if rc < 0, return the exit code. */
int odbk_cli_exit(const struct odbk_cli *cli, int rc, struct odbk_err *err);

/* Parse a non-negative integer option value; ODBK_E_USAGE naming the option otherwise. */
int odbk_cli_int(const char *opt, const char *arg, long min, long max, long *out, struct odbk_err *err);

/* Ask for a typed confirmation word on the terminal: returns 0 when typed, -1 with err otherwise.
 * Without a terminal, `given` (from --confirm) must equal word. */
int odbk_cli_confirm(const char *prompt, const char *word, const char *given, struct odbk_err *err);

#endif
