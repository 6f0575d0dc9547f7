/* config.c - odbk.conf parsing: sections, keys with their lines, secrets, environments. */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/db.h"
#include "common/userspec.h"
#include "common/util.h"
#include "odoo/odooconf.h"

static char *trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* A ';' or '#' starts a comment at the beginning of a line or after white space (so values such as
 * URLs with '#' fragments survive when written without a space before it). */
static void strip_comment(char *s)
{
    char *p;
    for (p = s; *p; p++) {
        if ((*p == ';' || *p == '#') && (p == s || isspace((unsigned char)p[-1]))) {
            *p = '\0';
            return;
        }
    }
}

static const char *const section_kinds[] = {"storage", "policy", "env", "catalog", NULL};

void odbk_config_free(struct odbk_config *cfg)
{
    size_t i, j;
    if (!cfg)
        return;
    for (i = 0; i < cfg->n_sections; i++) {
        struct odbk_config_section *s = &cfg->sections[i];
        for (j = 0; j < s->n_kv; j++) {
            free(s->kv[j].key);
            free(s->kv[j].value);
        }
        free(s->kv);
        free(s->kind);
        free(s->name);
    }
    free(cfg->sections);
    free(cfg->index);
    free(cfg->path);
    free(cfg);
}

/* The sections are found by (kind, name) through a hash, so that loading a config of 10,000 envs and
 * looking each up stays linear in the number of sections. */
static size_t section_hash(const char *kind, const char *name)
{
    size_t h = 1469598103934665603ULL;
    const char *p;
    for (p = kind; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ (name ? 0x100 : 0x200)) * 1099511628211ULL;
    for (p = name ? name : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

static int section_is(const struct odbk_config_section *s, const char *kind, const char *name)
{
    return !strcmp(s->kind, kind) && ((!name && !s->name) || (name && s->name && !strcmp(name, s->name)));
}

static void index_put(struct odbk_config *cfg, size_t pos)
{
    const struct odbk_config_section *s = &cfg->sections[pos];
    size_t i = section_hash(s->kind, s->name) & (cfg->n_index - 1);
    while (cfg->index[i])
        i = (i + 1) & (cfg->n_index - 1);
    cfg->index[i] = pos + 1;
}

/* Append a section (kind and name owned by the caller until then: copied here). */
static struct odbk_config_section *section_add(struct odbk_config *cfg, const char *kind, const char *name)
{
    struct odbk_config_section *cur;
    size_t i;
    if (cfg->n_sections == cfg->cap_sections) {
        cfg->cap_sections = cfg->cap_sections ? 2 * cfg->cap_sections : 16;
        cfg->sections = odbk_xrealloc(cfg->sections, cfg->cap_sections * sizeof(*cfg->sections));
    }
    cur = &cfg->sections[cfg->n_sections++];
    memset(cur, 0, sizeof(*cur));
    cur->kind = odbk_xstrdup(kind);
    cur->name = name ? odbk_xstrdup(name) : NULL;
    if (2 * cfg->n_sections > cfg->n_index) {
        free(cfg->index);
        cfg->n_index = cfg->n_index ? 2 * cfg->n_index : 64;
        cfg->index = odbk_xcalloc(cfg->n_index, sizeof(*cfg->index));
        for (i = 0; i < cfg->n_sections; i++)
            index_put(cfg, i);
    } else {
        index_put(cfg, cfg->n_sections - 1);
    }
    return cur;
}

int odbk_config_parse_string(const char *text, const char *file, struct odbk_config **out,
                             struct odbk_err *err)
{
    return odbk_config_parse_text(text, strlen(text), file, out, err);
}

int odbk_config_parse_text(const char *text, size_t size, const char *file, struct odbk_config **out,
                           struct odbk_err *err)
{
    struct odbk_config *cfg = odbk_xcalloc(1, sizeof(*cfg));
    char *line;
    struct odbk_config_section *cur = NULL;
    int lineno = 0;
    const char *next = text, *text_end = text + size;

    cfg->path = odbk_xstrdup(file);
    while (next && next < text_end) {
        const char *nl = memchr(next, '\n', (size_t)(text_end - next));
        size_t len = nl ? (size_t)(nl - next) : (size_t)(text_end - next);
        char *buf;
        lineno++;
        /* a NUL would end the line, and everything after it, without a word: refuse the file instead */
        if (memchr(next, '\0', len)) {
            odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: NUL byte in the line", file, lineno);
            odbk_err_hint(err, "odbk.conf is a text file; remove the NUL byte (e.g. with: tr -d '\\000')");
            goto fail;
        }
        buf = odbk_xstrndup(next, len);
        next = nl ? nl + 1 : NULL;
        strip_comment(buf);
        line = trim(buf);
        if (!*line) {
            free(buf);
            continue;
        }
        if (*line == '[') {
            char *end = strchr(line, ']'), *kind, *name, *sp;
            size_t i;
            if (!end || trim(end + 1)[0]) {
                odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: malformed section header '%s'", file, lineno, line);
                odbk_err_hint(err, "write sections as [storage NAME], [env NAME], [policy] or [policy ENV]");
                free(buf);
                goto fail;
            }
            *end = '\0';
            kind = trim(line + 1);
            sp = kind;
            while (*sp && !isspace((unsigned char)*sp))
                sp++;
            name = NULL;
            if (*sp) {
                *sp = '\0';
                name = trim(sp + 1);
                if (!*name)
                    name = NULL;
            }
            for (i = 0; section_kinds[i] && strcmp(section_kinds[i], kind); i++)
                ;
            if (!section_kinds[i]) {
                const char *dym = odbk_did_you_mean(kind, section_kinds);
                odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: unknown section kind '%s'%s%s%s", file, lineno, kind,
                             dym ? " (did you mean '" : "", dym ? dym : "", dym ? "'?)" : "");
                odbk_err_hint(err, "sections are [storage NAME], [env NAME], [policy], [policy ENV] and [catalog]");
                free(buf);
                goto fail;
            }
            if (name && !odbk_name_is_safe(name)) {
                odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: [%s %s]: the name must not contain '/', spaces or "
                             "control characters", file, lineno, kind, name);
                free(buf);
                goto fail;
            }
            if (name && strpbrk(name, " \t")) {
                odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: [%s %s]: the name must be one word", file, lineno,
                             kind, name);
                free(buf);
                goto fail;
            }
            if (!name && strcmp(kind, "policy") && strcmp(kind, "catalog")) {
                odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: [%s] needs a name, as in [%s NAME]", file, lineno,
                             kind, kind);
                free(buf);
                goto fail;
            }
            if (odbk_config_find(cfg, kind, name)) {
                const struct odbk_config_section *prev = odbk_config_find(cfg, kind, name);
                odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: [%s%s%s] is defined twice (first at line %d)", file,
                             lineno, kind, name ? " " : "", name ? name : "", prev->line);
                free(buf);
                goto fail;
            }
            cur = section_add(cfg, kind, name);
            cur->line = lineno;
            free(buf);
            continue;
        }
        {
            char *eq = strchr(line, '='), *key, *val;
            size_t i;
            if (!eq) {
                odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: expected 'key = value', got '%s'", file, lineno, line);
                free(buf);
                goto fail;
            }
            if (!cur) {
                odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: key outside of any section", file, lineno);
                odbk_err_hint(err, "start the file with a section such as [env NAME]");
                free(buf);
                goto fail;
            }
            *eq = '\0';
            key = trim(line);
            val = trim(eq + 1);
            if (!*key) {
                odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: empty key", file, lineno);
                free(buf);
                goto fail;
            }
            if (strlen(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[strlen(val) - 1] == val[0]) {
                val[strlen(val) - 1] = '\0';
                val++;
            }
            for (i = 0; i < cur->n_kv; i++)
                if (!strcmp(cur->kv[i].key, key)) {
                    odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: [%s%s%s] key '%s' is set twice (first at line %d)",
                                 file, lineno, cur->kind, cur->name ? " " : "", cur->name ? cur->name : "", key,
                                 cur->kv[i].line);
                    free(buf);
                    goto fail;
                }
            cur->kv = odbk_xrealloc(cur->kv, (cur->n_kv + 1) * sizeof(*cur->kv));
            cur->kv[cur->n_kv].key = odbk_xstrdup(key);
            cur->kv[cur->n_kv].value = odbk_xstrdup(val);
            cur->kv[cur->n_kv].line = lineno;
            cur->n_kv++;
        }
        free(buf);
    }
    {
        size_t i;
        for (i = 0; i < cfg->n_sections; i++)
            cfg->sections[i].file = cfg->path;
    }
    *out = cfg;
    return 0;
fail:
    odbk_config_free(cfg);
    return -1;
}

int odbk_config_check_private(const char *path, const char *what, struct odbk_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return odbk_err_sys(err, ODBK_E_CONFIG, "cannot read %s '%s'", what, path);
    if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
        odbk_err_set(err, ODBK_E_PERM, "%s '%s' can be read by others (mode %04o)", what, path,
                     (unsigned)(st.st_mode & 07777));
        odbk_err_hint(err, "run: chmod 600 '%s'", path);
        return -1;
    }
    return 0;
}

int odbk_config_parse_file(const char *path, struct odbk_config **out, struct odbk_err *err)
{
    char *text = NULL;
    size_t len = 0;
    int r;
    struct stat st;
    if (stat(path, &st) != 0)
        return odbk_err_sys(err, ODBK_E_CONFIG, "cannot read config file '%s'", path);
    if (S_ISDIR(st.st_mode))
        return odbk_err_set(err, ODBK_E_CONFIG, "config file '%s' is a directory", path);
    if (odbk_config_check_private(path, "config file", err) < 0) {
        err->code = ODBK_E_CONFIG;
        return -1;
    }
    if (odbk_read_small_file_len(path, 64 << 20, &text, &len, err) < 0) {
        err->code = ODBK_E_CONFIG;
        return -1;
    }
    r = odbk_config_parse_text(text, len, path, out, err);
    free(text);
    return r;
}

int odbk_config_load(const char *explicit_path, int allow_missing, struct odbk_config **out,
                     struct odbk_err *err)
{
    const char *env = odbk_getenv("ODBK_CONFIG");
    char *xdg = NULL;
    int r;
    if (explicit_path && *explicit_path)
        return odbk_config_parse_file(explicit_path, out, err);
    if (env && *env)
        return odbk_config_parse_file(env, out, err);
    if (geteuid() != 0) {
        const char *x = odbk_getenv("XDG_CONFIG_HOME"), *home = odbk_getenv("HOME");
        if (x && *x)
            xdg = odbk_xasprintf("%s/odbk/odbk.conf", x);
        else if (home && *home)
            xdg = odbk_xasprintf("%s/.config/odbk/odbk.conf", home);
        if (xdg && access(xdg, F_OK) == 0) {
            r = odbk_config_parse_file(xdg, out, err);
            free(xdg);
            return r;
        }
    }
    if (access("/etc/odbk/odbk.conf", F_OK) == 0) {
        free(xdg);
        return odbk_config_parse_file("/etc/odbk/odbk.conf", out, err);
    }
    if (allow_missing) {
        free(xdg);
        *out = odbk_xcalloc(1, sizeof(**out));
        return 0;
    }
    odbk_err_set(err, ODBK_E_CONFIG, "no configuration file found (looked for $ODBK_CONFIG, %s%s/etc/odbk/odbk.conf)",
                 xdg ? xdg : "", xdg ? ", " : "");
    odbk_err_hint(err, "create one (see odbk.conf(5)) or pass --config FILE");
    free(xdg);
    return -1;
}

const struct odbk_config_section *odbk_config_find(const struct odbk_config *cfg, const char *kind,
                                                   const char *name)
{
    size_t i;
    if (!cfg || !cfg->n_index)
        return NULL;
    for (i = section_hash(kind, name) & (cfg->n_index - 1); cfg->index[i]; i = (i + 1) & (cfg->n_index - 1))
        if (section_is(&cfg->sections[cfg->index[i] - 1], kind, name))
            return &cfg->sections[cfg->index[i] - 1];
    return NULL;
}

const struct odbk_config_kv *odbk_config_get_kv(const struct odbk_config_section *sec, const char *key)
{
    size_t i;
    if (!sec)
        return NULL;
    for (i = sec->n_kv; i > 0; i--)
        if (!strcmp(sec->kv[i - 1].key, key))
            return &sec->kv[i - 1];
    return NULL;
}

const char *odbk_config_get(const struct odbk_config_section *sec, const char *key)
{
    const struct odbk_config_kv *kv = odbk_config_get_kv(sec, key);
    return kv ? kv->value : NULL;
}

int odbk_config_error(struct odbk_err *err, const struct odbk_config_section *sec,
                      const struct odbk_config_kv *kv, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (kv)
        return odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: [%s%s%s] %s: %s", sec->file ? sec->file : "config",
                            kv->line, sec->kind, sec->name ? " " : "", sec->name ? sec->name : "", kv->key, msg);
    return odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: [%s%s%s] %s", sec->file ? sec->file : "config", sec->line,
                        sec->kind, sec->name ? " " : "", sec->name ? sec->name : "", msg);
}

int odbk_config_check_keys(const struct odbk_config_section *sec, const char *const *known,
                           struct odbk_err *err)
{
    size_t i, j;
    for (i = 0; i < sec->n_kv; i++) {
        const char *k = sec->kv[i].key;
        for (j = 0; known[j] && strcmp(known[j], k); j++)
            ;
        if (!known[j]) {
            const char *dym = odbk_did_you_mean(k, known);
            odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: [%s%s%s] unknown key '%s'%s%s%s",
                         sec->file ? sec->file : "config", sec->kv[i].line, sec->kind, sec->name ? " " : "",
                         sec->name ? sec->name : "", k, dym ? " (did you mean '" : "", dym ? dym : "",
                         dym ? "'?)" : "");
            odbk_err_hint(err, "see odbk.conf(5) for the keys of [%s] sections", sec->kind);
            return -1;
        }
    }
    return 0;
}

int odbk_config_bool(const struct odbk_config_section *sec, const char *key, int def, int *out,
                     struct odbk_err *err)
{
    const struct odbk_config_kv *kv = odbk_config_get_kv(sec, key);
    const char *v;
    if (!kv) {
        *out = def;
        return 0;
    }
    v = kv->value;
    if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"))
        *out = 1;
    else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") || !strcmp(v, "0"))
        *out = 0;
    else
        return odbk_config_error(err, sec, kv, "'%s' is not a boolean (use true or false)", v);
    return 0;
}

/* A decimal number from lo to hi, with an optional unit suffix; 0 and *out set, or -1. */
static int number(const char *v, const char *suffix, long long lo, long long hi, long long *out)
{
    char *end;
    long long n;
    if (*v < '0' || *v > '9')
        return -1;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (suffix && !strcmp(end, suffix))
        end += strlen(end);
    if (errno || *end || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

int odbk_config_uint(const struct odbk_config_section *sec, const char *key, unsigned def, unsigned lo,
                     unsigned hi, unsigned *out, struct odbk_err *err)
{
    const struct odbk_config_kv *kv = odbk_config_get_kv(sec, key);
    long long v;
    if (!kv) {
        *out = def;
        return 0;
    }
    if (number(kv->value, NULL, lo, hi, &v) < 0)
        return odbk_config_error(err, sec, kv, "'%s' is not a number from %u to %u", kv->value, lo, hi);
    *out = (unsigned)v;
    return 0;
}

int odbk_config_seconds(const struct odbk_config_section *sec, const char *key, long def, long lo, long hi,
                        long *out, struct odbk_err *err)
{
    const struct odbk_config_kv *kv = odbk_config_get_kv(sec, key);
    long long v;
    if (!kv) {
        *out = def;
        return 0;
    }
    if (number(kv->value, "s", lo, hi, &v) < 0)
        return odbk_config_error(err, sec, kv, "'%s' is not a number of seconds from %ld to %ld", kv->value, lo,
                                 hi);
    *out = (long)v;
    return 0;
}

/* 5242880 → "5MiB": the largest binary unit that divides n. */
static void size_text(uint64_t n, char *out, size_t size)
{
    static const char *const units[] = {"", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (u < 4 && n && n % 1024 == 0) {
        n /= 1024;
        u++;
    }
    snprintf(out, size, "%llu%s", (unsigned long long)n, units[u]);
}

int odbk_config_size(const struct odbk_config_section *sec, const char *key, uint64_t def, uint64_t lo,
                     uint64_t hi, uint64_t *out, struct odbk_err *err)
{
    const struct odbk_config_kv *kv = odbk_config_get_kv(sec, key);
    char los[32], his[32];
    if (!kv) {
        *out = def;
        return 0;
    }
    if (odbk_parse_size(kv->value, out) == 0 && *out >= lo && *out <= hi)
        return 0;
    size_text(lo, los, sizeof(los));
    size_text(hi, his, sizeof(his));
    return odbk_config_error(err, sec, kv, "'%s' is not a size from %s to %s", kv->value, los, his);
}

int odbk_config_secret(const struct odbk_config_section *sec, const char *key, const char *env_var,
                       char **out, struct odbk_err *err)
{
    char filekey[128];
    const struct odbk_config_kv *kv = odbk_config_get_kv(sec, key), *fkv;
    *out = NULL;
    snprintf(filekey, sizeof(filekey), "%s-file", key);
    fkv = odbk_config_get_kv(sec, filekey);
    if (kv && fkv)
        return odbk_config_error(err, sec, fkv, "set either '%s' or '%s', not both", key, filekey);
    if (kv) {
        *out = odbk_xstrdup(kv->value);
        return 0;
    }
    if (fkv) {
        if (odbk_config_check_private(fkv->value, "secret file", err) < 0) {
            odbk_err_prefix(err, "%s:%d: [%s%s%s] %s", sec->file ? sec->file : "config", fkv->line, sec->kind,
                            sec->name ? " " : "", sec->name ? sec->name : "", filekey);
            if (err->code != ODBK_E_PERM)
                err->code = ODBK_E_CONFIG;
            return -1;
        }
        if (odbk_read_small_file(fkv->value, 64 << 10, out, err) < 0) {
            odbk_err_prefix(err, "%s:%d: [%s%s%s] %s", sec->file ? sec->file : "config", fkv->line, sec->kind,
                            sec->name ? " " : "", sec->name ? sec->name : "", filekey);
            err->code = ODBK_E_CONFIG;
            return -1;
        }
        return 0;
    }
    if (env_var) {
        const char *v = odbk_getenv(env_var);
        if (v && *v)
            *out = odbk_xstrdup(v);
    }
    return 0;
}

/* ---- environments ---- */

static const char *const env_keys[] = {"project", "database", "filestore", "data-dir", "pg", "storage",
                                       "pg-bindir", "odoo-conf", "db-owner",
                                       "filestore-owner", "addons-path", "filestore-mode", NULL};

void odbk_env_release(struct odbk_env *env)
{
    if (!env)
        return;
    free(env->name);
    free(env->project);
    free(env->database);
    free(env->filestore);
    free(env->pg);
    free(env->storage);
    free(env->odoo_conf);
    free(env->addons_path);
    free(env->data_dir);
    free(env->http_port);
    free(env->db_owner);
    free(env->filestore_owner);
    free(env->odoo_db_user);
    memset(env, 0, sizeof(*env));
}

size_t odbk_config_env_names(const struct odbk_config *cfg, const char ***out)
{
    size_t i, n = 0;
    *out = odbk_xcalloc(cfg->n_sections + 1, sizeof(char *));
    for (i = 0; i < cfg->n_sections; i++)
        if (!strcmp(cfg->sections[i].kind, "env"))
            (*out)[n++] = cfg->sections[i].name;
    return n;
}

/* Read the env's odoo-conf file; its errors are reported at the odbk.conf key, keeping their own file:line. */
static int read_odoo_conf(const struct odbk_config_section *sec, const char *path, struct odbk_odooconf *oc,
                          char **home, struct odbk_err *err)
{
    struct odbk_err e = {0};
    if (odbk_odooconf_load(path, oc, home, &e) == 0)
        return 0;
    odbk_config_error(err, sec, odbk_config_get_kv(sec, "odoo-conf"), "%s", e.msg);
    if (e.hint[0])
        snprintf(err->hint, sizeof(err->hint), "%s", e.hint);
    else
        odbk_err_hint(err, "point odoo-conf at the config Odoo runs with (odoo -c FILE), readable by odbk");
    return -1;
}

/* A conninfo "host='..' port='..' user='..'" of odoo.conf's settings, without the password. */
static char *odoo_conninfo(const struct odbk_odooconf *oc)
{
    const char *keys[] = {"host", "port", "user"}, *vals[] = {oc->db_host, oc->db_port, oc->db_user};
    char *s = odbk_xstrdup("");
    size_t i;
    for (i = 0; i < 3; i++) {
        char *q, *p, *n;
        const char *c;
        if (!vals[i])
            continue;
        q = p = odbk_xmalloc(2 * strlen(vals[i]) + 1);
        for (c = vals[i]; *c; c++) {
            if (*c == '\\' || *c == '\'')
                *p++ = '\\';
            *p++ = *c;
        }
        *p = '\0';
        n = odbk_xasprintf("%s%s%s='%s'", s, *s ? " " : "", keys[i], q);
        free(q);
        free(s);
        s = n;
    }
    return s;
}

/* PGPASSWORD as odbk found it, before an odoo.conf's db_password replaced it: an env that takes no password
 * from odoo.conf gets this back, so one env's password never goes to another env's server. */
static int pgpassword_saved;
static char *pgpassword_orig;

static void pgpassword_use(const char *password)
{
    if (!pgpassword_saved) {
        const char *o = odbk_getenv("PGPASSWORD");
        pgpassword_orig = o ? odbk_xstrdup(o) : NULL;
        pgpassword_saved = 1;
    }
    if (password)
        setenv("PGPASSWORD", password, 1);
    else if (pgpassword_orig)
        setenv("PGPASSWORD", pgpassword_orig, 1);
    else
        unsetenv("PGPASSWORD");
}

/* db-owner and filestore-owner: their form only (empty = unset, as every env key) */
static int env_owners(const struct odbk_config_section *sec, struct odbk_env *out, struct odbk_err *err)
{
    const char *v = odbk_config_get(sec, "db-owner");
    struct odbk_err e = {0};
    size_t i;
    if (v && *v) {
        for (i = 0; v[i] && (unsigned char)v[i] >= ' ' && v[i] != 0x7f; i++)
            ;
        if (v[i] || i > 63)
            return odbk_config_error(err, sec, odbk_config_get_kv(sec, "db-owner"), "'%.80s' is not a PostgreSQL "
                                     "role name (1 to 63 bytes, no control characters)", v);
        out->db_owner = odbk_xstrdup(v);
    }
    v = odbk_config_get(sec, "filestore-owner");
    if (v && *v) {
        if (odbk_userspec_check(v, &e) < 0)
            return odbk_config_error(err, sec, odbk_config_get_kv(sec, "filestore-owner"), "%s", e.msg);
        out->filestore_owner = odbk_xstrdup(v);
    }
    return 0;
}

/* The home of the user "odoo", or NULL: looked up once per process (a user database lookup is some 30
 * system calls, and states, compliance and --due resolve every env: 10,000 lookups) */
static char *odoo_home;
static pthread_once_t odoo_home_once = PTHREAD_ONCE_INIT;

static void odoo_home_lookup(void)
{
    struct passwd *pw = getpwnam("odoo");
    if (pw && pw->pw_dir)
        odoo_home = odbk_xstrdup(pw->pw_dir);
}

static const char *odoo_user_home(void)
{
    pthread_once(&odoo_home_once, odoo_home_lookup);
    return odoo_home;
}

int odbk_config_env(const struct odbk_config *cfg, const char *name, struct odbk_env *out,
                    struct odbk_err *err)
{
    const struct odbk_config_section *sec = odbk_config_find(cfg, "env", name);
    const char *v;
    struct odbk_odooconf oc = {0};
    char *oc_home = NULL;
    memset(out, 0, sizeof(*out));
    if (!sec) {
        const char **names;
        size_t n = odbk_config_env_names(cfg, &names), i, len = 0;
        char list[512] = "";
        const char *dym = n ? odbk_did_you_mean(name, names) : NULL;
        for (i = 0; i < n && len < sizeof(list) - 64; i++)
            len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", names[i]);
        free(names);
        odbk_err_set(err, ODBK_E_CONFIG, "unknown environment '%s'%s%s%s", name, dym ? " (did you mean '" : "",
                     dym ? dym : "", dym ? "'?)" : "");
        if (n)
            odbk_err_hint(err, "environments in %s: %s", cfg->path ? cfg->path : "the config", list);
        else
            odbk_err_hint(err, "add an [env %s] section to %s", name, cfg->path ? cfg->path : "the config file");
        return -1;
    }
    if (odbk_config_check_keys(sec, env_keys, err) < 0)
        return -1;
    out->section = sec;
    v = odbk_config_get(sec, "odoo-conf");
    if (v && *v && read_odoo_conf(sec, v, &oc, &oc_home, err) < 0)
        return -1;
    if (v && *v)
        out->odoo_conf = odbk_xstrdup(v);
    out->name = odbk_xstrdup(name);
    out->project = odbk_xstrdup(odbk_config_get(sec, "project"));
    v = odbk_config_get(sec, "database");
    out->database_from = v && *v ? "odbk.conf" : oc.db_name ? "odoo.conf" : "default";
    out->database = odbk_xstrdup(v && *v ? v : oc.db_name ? oc.db_name : name);
    v = odbk_config_get(sec, "pg");
    if (pgpassword_saved && (v || !(oc.db_host || oc.db_port || oc.db_user || oc.db_password)))
        pgpassword_use(NULL);   /* this env's password is not odoo.conf's: the one odbk found */
    if (v) {
        out->pg = odbk_xstrdup(v);
        out->pg_from = "odbk.conf";
    } else if (oc.db_host || oc.db_port || oc.db_user || oc.db_password) {
        out->pg = odoo_conninfo(&oc);
        out->pg_from = "odoo.conf";
        /* libpq and the client tools read it from the environment: never an argv, a conninfo or the catalog */
        pgpassword_use(oc.db_password);
    } else {
        out->pg = odbk_xstrdup("");
        out->pg_from = "default";
    }
    v = odbk_config_get(sec, "addons-path");
    out->addons_path_from = v && *v ? "odbk.conf" : "odoo.conf";
    out->addons_path = v && *v ? odbk_odooconf_addons_list(v) : oc.addons_path ? odbk_odooconf_addons_list(oc.addons_path) : NULL;
    out->http_port = oc.http_port ? odbk_xstrdup(oc.http_port) : NULL;
    out->odoo_db_user = oc.db_user ? odbk_xstrdup(oc.db_user) : NULL;
    if (env_owners(sec, out, err) < 0) {
        odbk_odooconf_release(&oc);
        free(oc_home);
        odbk_env_release(out);
        return -1;
    }
    v = odbk_config_get(sec, "filestore-mode");
    if (v && strcmp(v, "incremental") && strcmp(v, "full")) {
        odbk_config_error(err, sec, odbk_config_get_kv(sec, "filestore-mode"),
                          "filestore-mode '%s' is not 'incremental' or 'full'", v);
        odbk_err_hint(err, "write 'filestore-mode = incremental' (the default) or 'filestore-mode = full'");
        odbk_odooconf_release(&oc);
        free(oc_home);
        odbk_env_release(out);
        return -1;
    }
    out->filestore_full = v && !strcmp(v, "full");
    v = odbk_config_get(sec, "storage");
    out->storage = v && *v ? odbk_xstrdup(v) : NULL;
    {
        /* Odoo's data_dir (its filestore/<db> and addons/<series> live there): data-dir, else odoo.conf's,
         * else Odoo's default ~/.local/share/Odoo of the user Odoo runs as (its config's owner; without an
         * odoo.conf, the user "odoo", else this one) */
        const char *dd = odbk_config_get(sec, "data-dir");
        const char *dd_from = "odbk.conf";
        if (dd && *dd) {
            out->data_dir = odbk_xstrdup(dd);
        } else if (oc.data_dir || out->odoo_conf) {
            out->data_dir = oc.data_dir ? odbk_xstrdup(oc.data_dir)
                                        : odbk_xasprintf("%s/.local/share/Odoo", oc_home ? oc_home : "");
            dd_from = "odoo.conf";
        } else {
            const char *home = odbk_getenv("HOME"), *odoo = odoo_user_home();
            out->data_dir = odbk_xasprintf("%s/.local/share/Odoo", odoo ? odoo : home ? home : "");
            dd_from = "default";
        }
        v = odbk_config_get(sec, "filestore");
        out->filestore_from = v && *v ? "odbk.conf" : dd_from;
        out->filestore = v && *v ? odbk_xstrdup(v) : odbk_xasprintf("%s/filestore/%s", out->data_dir, out->database);
    }
    odbk_odooconf_release(&oc);
    free(oc_home);
    if (out->storage && !odbk_config_find(cfg, "storage", out->storage)) {
        const struct odbk_config_kv *kv = odbk_config_get_kv(sec, "storage");
        odbk_config_error(err, sec, kv, "no [storage %s] section", out->storage);
        odbk_env_release(out);
        return -1;
    }
    return 0;
}

int odbk_config_select_envs(const struct odbk_config *cfg, int all, char *const *names, size_t n,
                            const char ***out, size_t *count, struct odbk_err *err)
{
    size_t i;
    if (all) {
        *count = odbk_config_env_names(cfg, out);
        return 0;
    }
    *out = odbk_xcalloc(n + 1, sizeof(char *));
    for (i = 0; i < n; i++) {
        struct odbk_env e;
        if (odbk_config_env(cfg, names[i], &e, err) < 0) {
            free(*out);
            *out = NULL;
            return -1;
        }
        odbk_env_release(&e);
        (*out)[i] = names[i];
    }
    *count = n;
    return 0;
}

static const char *const catalog_keys[] = {"catalog", "host", "password", "password-file", NULL};

/* postgresql://user:PASSWORD@host/... or ?password=...: a URL that holds a password (what its redaction,
 * the one parser of such URLs, takes out) */
static int url_has_password(const char *url)
{
    char *shown = odbk_db_redact(url);
    int has = strcmp(shown, url) != 0;
    free(shown);
    return has;
}

int odbk_config_catalog(const struct odbk_config *cfg, const char *explicit_path, char **path, char **password,
                        struct odbk_err *err)
{
    const struct odbk_config_section *sec = odbk_config_find(cfg, "catalog", NULL);
    const char *v;
    *path = *password = NULL;
    if (sec && odbk_config_check_keys(sec, catalog_keys, err) < 0)
        return -1;
    if (explicit_path && *explicit_path && odbk_db_is_pg(explicit_path) && url_has_password(explicit_path)) {
        odbk_err_set(err, ODBK_E_USAGE, "--catalog: a password in the URL is seen by every user of this host");
        odbk_err_hint(err, "put it in ~/.pgpass (PGPASSFILE), or 'password-file =' in [catalog] of odbk.conf");
        return -1;
    }
    if (sec) {
        if ((v = odbk_config_get(sec, "host")) && *v)
            odbk_set_hostname(v);
        if (odbk_config_secret(sec, "password", NULL, password, err) < 0)
            return -1;
    }
    v = sec ? odbk_config_get(sec, "catalog") : NULL;
    *path = (explicit_path && *explicit_path) || (odbk_getenv("ODBK_CATALOG") && *odbk_getenv("ODBK_CATALOG")) ||
                    !v || !*v
                ? odbk_config_catalog_path(explicit_path)
                : odbk_xstrdup(v);
    return 0;
}

char *odbk_config_catalog_path(const char *explicit_path)
{
    const char *e = odbk_getenv("ODBK_CATALOG");
    if (explicit_path && *explicit_path)
        return odbk_xstrdup(explicit_path);
    if (e && *e)
        return odbk_xstrdup(e);
    if (geteuid() != 0) {
        const char *x = odbk_getenv("XDG_STATE_HOME"), *home = odbk_getenv("HOME");
        if (x && *x)
            return odbk_xasprintf("%s/odbk/catalog.db", x);
        if (home && *home)
            return odbk_xasprintf("%s/.local/state/odbk/catalog.db", home);
    }
    return odbk_xstrdup("/var/lib/odbk/catalog.db");
}
