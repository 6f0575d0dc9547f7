/* complete.c - `PROG --completion-helper -- WORD...`: what may replace the last word (cli.h). */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "cli/cli.h"
#include "config/config.h"

static const char *prefix = "";   /* the current word: only what starts with it is printed */

static void put(const char *s)
{
    if (!strncmp(s, prefix, strlen(prefix)))
        printf("%s\n", s);
}

struct line {
    const char *config, *catalog;
    const struct odbk_opt *expect;   /* the option whose value the current word is */
    int operands;                    /* operands before the current word */
    int dashdash;
};

static const struct odbk_opt *find_long(const struct odbk_cli *cli, const char *name, size_t len)
{
    const struct odbk_opt *o;
    for (o = cli->opts; o && o->name; o++)
        if (strlen(o->name) == len && !strncmp(o->name, name, len))
            return o;
    for (o = odbk_cli_common_opts; o->name; o++)
        if (odbk_cli_common_applies(cli, o) && strlen(o->name) == len && !strncmp(o->name, name, len))
            return o;
    return NULL;
}

static const struct odbk_opt *find_short(const struct odbk_cli *cli, char c)
{
    const struct odbk_opt *o;
    for (o = cli->opts; o && o->name; o++)
        if (o->short_name == c)
            return o;
    for (o = odbk_cli_common_opts; o->name; o++)
        if (odbk_cli_common_applies(cli, o) && odbk_cli_short_of(cli, o) == c)
            return o;
    return NULL;
}

static void value_of(struct line *l, const struct odbk_opt *o, const char *v)
{
    if (!strcmp(o->name, "config"))
        l->config = v;
    else if (!strcmp(o->name, "catalog"))
        l->catalog = v;
}

/* Read the words before the current one as the parser would. */
static void scan(const struct odbk_cli *cli, int n, char *const *w, struct line *l)
{
    int i;
    for (i = 0; i < n; i++) {
        const char *s = w[i];
        const struct odbk_opt *o;
        if (l->expect) {
            value_of(l, l->expect, s);
            l->expect = NULL;
        } else if (l->dashdash || s[0] != '-' || !s[1]) {
            l->operands++;
        } else if (!strcmp(s, "--")) {
            l->dashdash = 1;
        } else if (s[1] == '-') {
            const char *eq = strchr(s + 2, '=');
            o = find_long(cli, s + 2, eq ? (size_t)(eq - s - 2) : strlen(s + 2));
            if (o && o->arg && eq)
                value_of(l, o, eq + 1);
            else if (o && o->arg)
                l->expect = o;
        } else {
            for (s++; *s; s++) {
                o = find_short(cli, *s);
                if (!o || !o->arg)
                    continue;
                if (s[1])
                    value_of(l, o, s + 1);
                else
                    l->expect = o;
                break;
            }
        }
    }
}

static void print_names(const struct odbk_config *cfg, const char *kind)
{
    size_t i;
    for (i = 0; i < cfg->n_sections; i++)
        if (!strcmp(cfg->sections[i].kind, kind) && cfg->sections[i].name)
            put(cfg->sections[i].name);
}

/* Backup ids: the completed backups of the catalog, newest first; nothing when there is no catalog yet
 * (completing never creates one), nor for a PostgreSQL catalog (a key press never waits on a server, and
 * never migrates one). */
static void print_backups(const struct line *l)
{
    struct odbk_catalog *cat = NULL;
    struct odbk_backup_filter f = {0};
    struct odbk_backup *v = NULL;
    struct odbk_err err = {0};
    char *path = odbk_config_catalog_path(l->catalog);
    size_t n = 0, i;
    f.statuses = ODBK_ONLY(ODBK_BACKUP_COMPLETED);
    f.limit = 1000;
    if (!odbk_catalog_is_shared(path) && access(path, R_OK) == 0 && odbk_catalog_open(path, &cat, &err) == 0 &&
        odbk_catalog_backup_list(cat, &f, &v, &n, &err) == 0)
        for (i = 0; i < n; i++)
            put(v[i].id);
    odbk_backup_list_free(v, n);
    odbk_catalog_close(cat);
    free(path);
}

static void print_vocab(const struct odbk_vocab *v, const struct line *l)
{
    struct odbk_config *cfg = NULL;
    struct odbk_err err = {0};
    size_t i;
    if (!v)
        return;
    switch (v->kind) {
    case ODBK_VOCAB_WORDS:
        for (i = 0; v->names[i]; i++)
            put(v->names[i]);
        break;
    case ODBK_VOCAB_FILE: printf(":file\n"); break;
    case ODBK_VOCAB_DIR: printf(":dir\n"); break;
    case ODBK_VOCAB_ENV:
    case ODBK_VOCAB_STORAGE:
        if (odbk_config_load(l->config, 1, &cfg, &err) == 0)
            print_names(cfg, v->kind == ODBK_VOCAB_ENV ? "env" : "storage");
        odbk_config_free(cfg);
        break;
    case ODBK_VOCAB_BACKUP: print_backups(l); break;
    case ODBK_VOCAB_USER: {
        struct passwd *pw;
        setpwent();
        while ((pw = getpwent()))
            put(pw->pw_name);
        endpwent();
        break;
    }
    }
}

static void put_opt(const struct odbk_opt *o)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "--%s", o->name);
    put(buf);
}

void odbk_cli_complete(const struct odbk_cli *cli, int n, char *const *words)
{
    struct line l = {0};
    const char *cur = n > 0 ? words[n - 1] : "";
    const struct odbk_opt *o;
    prefix = cur;
    if (cli->subs) {   /* the subcommand, then its own line */
        const struct odbk_cli_sub *sub;
        for (sub = cli->subs; n > 1 && sub->name; sub++)
            if (!strcmp(words[0], sub->name)) {
                odbk_cli_complete(sub->cli, n - 1, words + 1);
                return;
            }
        if (cur[0] != '-')
            for (sub = cli->subs; sub->name; sub++)
                put(sub->name);
        return;
    }
    scan(cli, n - 1, words, &l);
    if (l.expect) {
        print_vocab(l.expect->values, &l);
        return;
    }
    if (cur[0] == '-' && !l.dashdash) {
        for (o = cli->opts; o && o->name; o++)
            if (o->help)
                put_opt(o);
        for (o = odbk_cli_common_opts; o->name; o++)
            if (o->help && odbk_cli_common_applies(cli, o))
                put_opt(o);
        return;
    }
    print_vocab(cli->operands, &l);
}
