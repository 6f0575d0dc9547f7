/* cli.h - one option table per program gives the parser, --help and the shell completion
 * (--completion-helper), so they cannot disagree.  Every program also takes the common options
 * --help, --version, --config, --catalog, --quiet, and where it prints data --json (odbk(7)).
 *
 *   static const struct odbk_opt opts[] = {
 *       {"type", 't', "TYPE", "the backup type: {}", OPT_TYPE, &odbk_vocab_type},
 *       {"comment", 0, "TEXT", "a note stored with the backup", OPT_COMMENT},
 *       {0}};
 *   static const struct odbk_cli cli = {"odbk-create", "[ENV...] [options]", "make backups", opts,
 *                                       ODBK_CLI_JSON | ODBK_CLI_PROGRESS, &odbk_vocab_env};
 *   rc = odbk_cli_parse(&cli, argc, argv, &common, on_option, &ctx, &first_arg, &err);
 *
 * An option with a vocabulary of words (common/vocab.h) takes only those: the parser refuses any other
 * value (exit 64, with a did-you-mean) before the callback, and "{}" in its help is replaced by the words.
 * Other vocabularies (files, environments, storages, backup ids) say what completes the value.
 *
 * A program of subcommands (odbk-policy) has one struct odbk_cli per subcommand and a top one whose
 * `subs` lists them; odbk_cli_dispatch runs the one named, and answers --help, --version, the
 * completion and a mistyped name (did-you-mean) for the program as a whole.
 *
 * Completion: `PROG --completion-helper` prints every option ("--name", "--name=" when it takes a value);
 * `PROG --completion-helper -- WORD... CURRENT` prints what may replace CURRENT, the last word, after the
 * words before it (the command line without PROG): an option's values, the options, or the operands (env
 * names and storages from the config the words name with --config, backup ids from the catalog, the
 * subcommands).  A line ":file" or ":dir" asks the shell to complete paths.  Both shells' completions
 * (completions/odbk.bash, completions/_odbk) are this call. */
#ifndef ODBK_CLI_H
#define ODBK_CLI_H

#include <stdio.h>

#include "common/err.h"
#include "common/vocab.h"

struct odbk_opt {
    const char *name;   /* long name, without "--" */
    char short_name;    /* 0: none */
    const char *arg;    /* NULL: a flag; else the argument's placeholder ("FILE") */
    const char *help;   /* one line ("{}": the vocabulary's words) */
    int id;             /* passed to the callback */
    const struct odbk_vocab *values;   /* NULL: any value */
};

enum {
    ODBK_CLI_JSON = 1 << 0,      /* program takes --json */
    ODBK_CLI_PROGRESS = 1 << 1,  /* program takes --progress */
    ODBK_CLI_NOCATALOG = 1 << 2, /* program has no --catalog */
};

struct odbk_cli_sub;

struct odbk_cli {
    const char *prog;
    const char *usage;       /* after the program name; may hold several lines separated by \n */
    const char *summary;     /* a paragraph (wrapped to 80 columns by --help) */
    const struct odbk_opt *opts;
    unsigned flags;
    const struct odbk_vocab *operands;   /* what completes an operand, or NULL */
    const struct odbk_cli_sub *subs;     /* a program of subcommands: {0}-terminated */
};

/* One subcommand: `name` runs run(argc, argv) with argv[0] the name; cli is its own table (prog is the
 * program's name, usage starts with the subcommand's). */
struct odbk_cli_sub {
    const char *name;
    const struct odbk_cli *cli;
    int (*run)(int argc, char **argv);
    const char *summary;     /* one line for the program's --help */
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
 * --completion-helper was handled (exit 0), -1 on error (ODBK_E_USAGE).  cb may be NULL (no options). */
int odbk_cli_parse(const struct odbk_cli *cli, int argc, char **argv, struct odbk_cli_common *common,
                   odbk_cli_option_cb cb, void *ctx, int *first_arg, struct odbk_err *err);
void odbk_cli_help(const struct odbk_cli *cli, FILE *f);

/* main() of a program of subcommands: run the subcommand argv[1] names; returns the exit code. */
int odbk_cli_dispatch(const struct odbk_cli *top, int argc, char **argv);

/* End of main(): flush stdout (EPIPE/ENOSPC become exit 74), print err if rc < 0, return the exit code. */
int odbk_cli_exit(const struct odbk_cli *cli, int rc, struct odbk_err *err);

/* Print a JSON value on stdout (indented, or on one line when `line`) and free it. */
struct cJSON;
void odbk_cli_print_json(struct cJSON *j, int line);

/* Parse a non-negative integer option value; ODBK_E_USAGE naming the option otherwise. */
int odbk_cli_int(const char *opt, const char *arg, long min, long max, long *out, struct odbk_err *err);

/* Ask for a typed confirmation word on the terminal: returns 0 when typed, -1 with err otherwise.
 * Without a terminal, `given` (from --confirm) must equal word. */
int odbk_cli_confirm(const char *prompt, const char *word, const char *given, struct odbk_err *err);

/* complete.c: answer `--completion-helper -- WORD...` (see above) on stdout. */
void odbk_cli_complete(const struct odbk_cli *cli, int n, char *const *words);

/* For complete.c: the common options (a {0}-terminated table) and whether one applies to cli; the short
 * letter of o in cli (0 when the program's own option takes it). */
extern const struct odbk_opt odbk_cli_common_opts[];
int odbk_cli_common_applies(const struct odbk_cli *cli, const struct odbk_opt *o);
char odbk_cli_short_of(const struct odbk_cli *cli, const struct odbk_opt *o);

#endif
