/* odooconf.c - the settings odbk takes from an Odoo config file (odooconf.h). */
#include "odoo/odooconf.h"

#include <ctype.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"

#define ODOOCONF_MAX_FILE (1u << 20)
#define ODOOCONF_MAX_LINE (64u << 10)

void odbk_odooconf_release(struct odbk_odooconf *c)
{
    if (!c)
        return;
    free(c->db_host);
    free(c->db_port);
    free(c->db_user);
    if (c->db_password) {
        memset(c->db_password, 0, strlen(c->db_password));
        free(c->db_password);
    }
    free(c->db_name);
    free(c->data_dir);
    free(c->addons_path);
    free(c->http_port);
    memset(c, 0, sizeof(*c));
}

#define N_KEYS 8
static const char *const keys[N_KEYS] = {"db_host", "db_port", "db_user", "db_password", "db_name", "data_dir",
                                         "addons_path", "http_port"};

/* The fields of c, in the order of keys[]. */
static void slots_of(struct odbk_odooconf *c, char **slots[N_KEYS])
{
    slots[0] = &c->db_host;
    slots[1] = &c->db_port;
    slots[2] = &c->db_user;
    slots[3] = &c->db_password;
    slots[4] = &c->db_name;
    slots[5] = &c->data_dir;
    slots[6] = &c->addons_path;
    slots[7] = &c->http_port;
}

static char *trim_ws(char *s)
{
    char *e;
    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* Odoo's config.py turns False/false into False; None is its "no value": both mean unset here. */
static int value_is_unset(const char *v)
{
    return !*v || !strcmp(v, "False") || !strcmp(v, "false") || !strcmp(v, "None");
}

static int bad_port(const char *v, const char *key, const char *file, int line, struct odbk_err *err)
{
    char *end;
    long p;
    if (!v)
        return 0;
    p = strtol(v, &end, 10);
    if (*end || p <= 0 || p > 65535 || !isdigit((unsigned char)*v)) {
        odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: %s '%s' is not a port number", file, line, key, v);
        odbk_err_hint(err, "a port is a number from 1 to 65535");
        return -1;
    }
    return 0;
}

/* Check the values odbk relies on; line numbers are those of the keys. */
static int check_values(struct odbk_odooconf *c, const char *file, const int *lines, struct odbk_err *err)
{
    if (c->db_name && strchr(c->db_name, ',')) {
        /* a list of databases (odoo -d a,b): it names no single one */
        free(c->db_name);
        c->db_name = NULL;
    }
    if (c->db_name && (!odbk_name_is_safe(c->db_name) || strpbrk(c->db_name, " \t\n\\'\"") ||
                       strlen(c->db_name) > 63)) {
        odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: db_name is not a safe database name", file, lines[4]);
        odbk_err_hint(err, "a database name has no spaces, quotes, slashes or control characters and at most 63 "
                      "bytes; or set 'database =' in the odbk env");
        return -1;
    }
    if (c->data_dir && c->data_dir[0] != '/') {
        odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: data_dir '%s' is not an absolute path", file, lines[5],
                     c->data_dir);
        odbk_err_hint(err, "Odoo resolves a relative data_dir against its working directory, which odbk cannot "
                      "know; write it absolute, or set 'filestore =' in the odbk env");
        return -1;
    }
    if (bad_port(c->db_port, "db_port", file, lines[1], err) ||
        bad_port(c->http_port, "http_port", file, lines[7], err))
        return -1;
    if ((c->db_host && strpbrk(c->db_host, "\n\r")) || (c->db_user && strpbrk(c->db_user, "\n\r"))) {
        odbk_err_set(err, ODBK_E_CONFIG, "%s: db_host or db_user spans several lines", file);
        return -1;
    }
    return 0;
}

int odbk_odooconf_parse_text(const char *text, size_t size, const char *file, struct odbk_odooconf *out,
                             struct odbk_err *err)
{
    const char *next = text, *end = text + size;
    int lineno = 0, in_options = 0, seen_line[N_KEYS] = {0};
    char **last = NULL;   /* the value a continuation line extends */
    char **slots[N_KEYS];
    char **seen_keys = NULL;  /* keys of the current section, for RawConfigParser's duplicate check */
    int *seen_at = NULL;
    size_t n_seen = 0, i;
    memset(out, 0, sizeof(*out));
    slots_of(out, slots);
    while (next < end) {
        const char *nl = memchr(next, '\n', (size_t)(end - next));
        size_t len = nl ? (size_t)(nl - next) : (size_t)(end - next);
        char *buf, *line;
        lineno++;
        if (memchr(next, '\0', len)) {
            odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: NUL byte in the line", file, lineno);
            goto fail;
        }
        if (len > ODOOCONF_MAX_LINE) {
            odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: line longer than %u bytes", file, lineno, ODOOCONF_MAX_LINE);
            goto fail;
        }
        buf = odbk_xstrndup(next, len);
        next = nl ? nl + 1 : end;
        line = trim_ws(buf);
        if (!*line || *line == '#' || *line == ';') {
            if (!*line)
                last = NULL;
            free(buf);
            continue;
        }
        if ((buf[0] == ' ' || buf[0] == '\t') && last) {
            /* a continuation line: RawConfigParser appends it to the value, joined by a newline */
            if (in_options && *last) {
                char *v = odbk_xasprintf("%s\n%s", *last, line);
                free(*last);
                *last = v;
            }
            free(buf);
            continue;
        }
        if (*line == '[') {
            char *close = strchr(line, ']');
            if (!close) {
                odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: malformed section header", file, lineno);
                free(buf);
                goto fail;
            }
            *close = '\0';
            in_options = !strcmp(line + 1, "options");
            for (i = 0; i < n_seen; i++)
                free(seen_keys[i]);
            n_seen = 0;
            last = NULL;
            free(buf);
            continue;
        }
        {
            size_t k = strcspn(line, "=:");
            char *key, *val;
            size_t j;
            if (!line[k] || !k) {
                odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: expected 'key = value'", file, lineno);
                odbk_err_hint(err, "odoo.conf is an INI file: [options] then key = value lines");
                free(buf);
                goto fail;
            }
            line[k] = '\0';
            key = trim_ws(line);
            val = trim_ws(line + k + 1);
            for (char *p = key; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            for (i = 0; i < n_seen; i++)
                if (!strcmp(seen_keys[i], key)) {
                    odbk_err_set(err, ODBK_E_CONFIG, "%s:%d: key '%s' is set twice (first at line %d)", file,
                                 lineno, key, seen_at[i]);
                    free(buf);
                    goto fail;
                }
            seen_keys = odbk_xrealloc(seen_keys, (n_seen + 1) * sizeof(*seen_keys));
            seen_at = odbk_xrealloc(seen_at, (n_seen + 1) * sizeof(*seen_at));
            seen_keys[n_seen] = odbk_xstrdup(key);
            seen_at[n_seen++] = lineno;
            last = NULL;
            for (j = 0; in_options && j < N_KEYS && strcmp(keys[j], key); j++)
                ;
            if (in_options && j < N_KEYS) {
                seen_line[j] = lineno;
                *slots[j] = odbk_xstrdup(value_is_unset(val) ? "" : val);
                last = slots[j];
            }
        }
        free(buf);
    }
    for (i = 0; i < n_seen; i++)
        free(seen_keys[i]);
    free(seen_keys);
    free(seen_at);
    /* "" marked a key set to an unset value (kept so that continuation lines stay unset) */
    for (i = 0; i < N_KEYS; i++)
        if (*slots[i] && !**slots[i]) {
            free(*slots[i]);
            *slots[i] = NULL;
        }
    return check_values(out, file, seen_line, err) < 0 ? (odbk_odooconf_release(out), -1) : 0;
fail:
    for (i = 0; i < n_seen; i++)
        free(seen_keys[i]);
    free(seen_keys);
    free(seen_at);
    odbk_odooconf_release(out);
    return -1;
}

int odbk_odooconf_load(const char *path, struct odbk_odooconf *out, char **owner_home, struct odbk_err *err)
{
    char *text = NULL;
    size_t len = 0;
    struct stat st;
    int r;
    memset(out, 0, sizeof(*out));
    if (owner_home)
        *owner_home = NULL;
    if (stat(path, &st) < 0)
        return odbk_err_sys(err, ODBK_E_CONFIG, "cannot read Odoo config '%s'", path);
    if (!S_ISREG(st.st_mode))
        return odbk_err_set(err, ODBK_E_CONFIG, "Odoo config '%s' is not a regular file", path);
    if ((size_t)st.st_size > ODOOCONF_MAX_FILE)
        return odbk_err_set(err, ODBK_E_CONFIG, "Odoo config '%s' is larger than 1 MiB", path);
    if (odbk_read_small_file_len(path, ODOOCONF_MAX_FILE, &text, &len, err) < 0) {
        err->code = ODBK_E_CONFIG;
        return -1;
    }
    r = odbk_odooconf_parse_text(text, len, path, out, err);
    memset(text, 0, len);
    free(text);
    if (r == 0 && owner_home) {
        struct passwd *pw = getpwuid(st.st_uid);
        if (pw && pw->pw_dir && *pw->pw_dir)
            *owner_home = odbk_xstrdup(pw->pw_dir);
    }
    return r;
}

char *odbk_odooconf_addons_list(const char *v)
{
    char *list = odbk_xstrdup(v), *save = NULL, *item, *out = NULL;
    for (item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *e, *n;
        while (*item == ' ' || *item == '\t' || *item == '\n' || *item == '\r')
            item++;
        e = item + strlen(item);
        while (e > item && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
            *--e = '\0';
        if (!*item)
            continue;
        n = odbk_xasprintf("%s%s%s", out ? out : "", out ? "," : "", item);
        free(out);
        out = n;
    }
    free(list);
    return out;
}
