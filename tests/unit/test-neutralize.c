/* test-neutralize.c - how --neutralize finds a module's data/neutralize.sql: Odoo's module names only,
 * the addons directories in Odoo's order (its own odoo/addons first), the first file found, a module
 * present without a file, and addons paths that odbk cannot use. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "odoo/neutralize.h"
#include "odoo/odoo.h"
#include "tap.h"

static char root[PATH_MAX];

/* root/REL, created with its parents; a file when content is not NULL */
static void make(const char *rel, const char *content)
{
    char *p = odbk_xasprintf("%s/%s", root, rel), *s;
    for (s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(p, 0755);
        *s = '/';
    }
    if (content) {
        FILE *f = fopen(p, "w");
        fputs(content, f);
        fclose(f);
    } else {
        mkdir(p, 0755);
    }
    free(p);
}

static char *at(const char *rel)
{
    return odbk_xasprintf("%s/%s", root, rel);
}

/* the path found for module m in dirs, relative to root ("-" none in a dir holding it, "!" no module) */
static char *found(char **dirs, const char *m)
{
    char *path = NULL, *r;
    int f = odbk_odoo_neutralize_file(dirs, m, &path);
    if (f < 0)
        return odbk_xstrdup("!");
    if (f == 0)
        return odbk_xstrdup("-");
    r = odbk_xstrdup(path + strlen(root) + 1);
    free(path);
    return r;
}

int main(void)
{
    struct odbk_err err = {0};
    char **dirs = NULL, *path, *s, *a, *b, *c;
    char tmpl[] = "/tmp/odbk-test-neutralize-XXXXXX";
    static const char *const bad[] = {"", "..", "../../etc", "/etc", "a/b", "Base", "mail.x", "mail-x", "a b",
                                      "l10n\n", "\xc3\xa9t\xc3\xa9"};
    size_t i;
    char longname[ODBK_ODOO_MODULE_MAX + 2];

    if (!mkdtemp(tmpl) || !realpath(tmpl, root))
        return 1;

    ok(odbk_odoo_module_name_ok("l10n_es_edi_sii") && odbk_odoo_module_name_ok("base") &&
       odbk_odoo_module_name_ok("x_custom_01"), "Odoo module names are accepted");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ok(!odbk_odoo_module_name_ok(bad[i]), "a name that is no module name is refused");
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ok(!odbk_odoo_module_name_ok(longname), "a name over the length limit is refused");
    ok(!odbk_odoo_module_name_ok(NULL), "no name is refused");

    /* a series read from a database names a folder (<data_dir>/addons/<series>) only in Odoo's form */
    {
        static const char *const good_series[] = {"17.0", "16.0", "saas~17.2", "9.0"};
        static const char *const bad_series[] = {"", "17", "17.", ".0", "17.0.1", "../17.0", "17.0/..", "saas~",
                                                 "saas~17", "1/../../x", "17.0 ", "1700.0", "17.123"};
        char *p1, *p2, *dd = at("dd"), *dda = at("dd/addons"), *dds = at("dd/addons/17.0");
        for (i = 0; i < sizeof(good_series) / sizeof(good_series[0]); i++)
            ok(odbk_odoo_series_ok(good_series[i]), "series in Odoo's form accepted");
        for (i = 0; i < sizeof(bad_series) / sizeof(bad_series[0]); i++)
            ok(!odbk_odoo_series_ok(bad_series[i]), "a series that is not one is refused");
        mkdir(dd, 0755);
        mkdir(dda, 0755);
        mkdir(dds, 0755);
        p1 = odbk_odoo_addons_path_of("/x,/y", dd, "17.0");
        p2 = odbk_xasprintf("%s,/x,/y", dds);
        is_str(p1, p2, "addons path: <data_dir>/addons/<series> first when it exists");
        free(p1);
        free(p2);
        p1 = odbk_odoo_addons_path_of("/x,/y", dd, "16.0");
        is_str(p1, "/x,/y", "addons path: as given when the series has no folder there");
        free(p1);
        p1 = odbk_odoo_addons_path_of("/x", dd, "../dd/addons/17.0");
        is_str(p1, "/x", "addons path: a hostile series names no folder");
        free(p1);
        ok(odbk_odoo_addons_path_of(NULL, dd, "17.0") == NULL, "addons path: none without an addons path");
        free(dd);
        free(dda);
        free(dds);
    }

    /* an Odoo source tree: <root>/odoo/addons holds base, <root>/addons the others; plus two custom dirs */
    make("src/odoo/addons/base/__manifest__.py", "{}\n");
    make("src/odoo/addons/base/data/neutralize.sql", "UPDATE ir_cron SET active = false;\n");
    make("src/addons/mail/__manifest__.py", "{}\n");
    make("src/addons/mail/data/neutralize.sql", "UPDATE mail_template SET mail_server_id = NULL;\n");
    make("src/addons/sale/__manifest__.py", "{}\n");
    make("custom/mail/__manifest__.py", "{}\n");
    make("custom/mail/data/neutralize.sql", "SELECT 1;\n");
    make("custom/own/__manifest__.py", "{}\n");
    make("custom/own/data/neutralize.sql", "SELECT 2;\n");
    make("custom/legacy/__openerp__.py", "{}\n");
    make("more/own/__manifest__.py", "{}\n");
    make("more/own/data/neutralize.sql", "SELECT 3;\n");
    make("more/nosql/__manifest__.py", "{}\n");
    make("etc/data/neutralize.sql", "SELECT 4;\n");
    make("notadir", "x\n");

    a = at("src/addons");
    b = at("custom");
    c = at("more");
    s = odbk_xasprintf(" %s ,\n%s,%s/../more,, %s", a, b, b, c);
    ok(odbk_odoo_addons_dirs(s, &dirs, &err) == 0, "an addons path of a source tree and two more dirs");
    free(s);
    if (dirs) {
        char *want0 = at("src/odoo/addons");
        is_str(dirs[0], want0, "Odoo's own odoo/addons comes first, found beside <root>/addons");
        is_str(dirs[1], a, "then the entries in order");
        is_str(dirs[2], b, "the second entry");
        is_str(dirs[3], c, "an entry by its real path, a directory listed twice once");
        ok(dirs[4] == NULL, "nothing more");
        free(want0);
    }
    s = found(dirs, "base");
    is_str(s, "src/odoo/addons/base/data/neutralize.sql", "base's file from Odoo's own dir");
    free(s);
    s = found(dirs, "mail");
    is_str(s, "src/addons/mail/data/neutralize.sql", "the first dir with the file wins (mail in addons, not custom)");
    free(s);
    s = found(dirs, "own");
    is_str(s, "custom/own/data/neutralize.sql", "a module in two custom dirs: the first");
    free(s);
    s = found(dirs, "sale");
    is_str(s, "-", "a module present without a neutralize.sql: nothing to run");
    free(s);
    s = found(dirs, "legacy");
    is_str(s, "-", "a module with an __openerp__.py manifest is present");
    free(s);
    s = found(dirs, "nosql");
    is_str(s, "-", "present in the last dir, no file");
    free(s);
    s = found(dirs, "absent");
    is_str(s, "!", "a module no dir holds");
    free(s);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = found(dirs, bad[i]);
        is_str(s, "!", "a hostile module name never becomes a path");
        free(s);
    }
    path = (char *)"unchanged";
    ok(odbk_odoo_neutralize_file(dirs, "../etc", &path) == -1 && path == NULL, "'../etc' is refused, no path");
    odbk_odoo_dirs_free(dirs);
    dirs = NULL;

    /* the dir that holds base itself (a package install: every module in odoo/addons) is moved first */
    s = odbk_xasprintf("%s,%s/src/odoo/addons", b, root);
    ok(odbk_odoo_addons_dirs(s, &dirs, &err) == 0, "an entry that holds base");
    free(s);
    if (dirs) {
        char *want0 = at("src/odoo/addons");
        is_str(dirs[0], want0, "it comes first, as odoo.addons.__path__ has it");
        is_str(dirs[1], b, "then the others");
        ok(dirs[2] == NULL, "each once");
        free(want0);
    }
    odbk_odoo_dirs_free(dirs);
    dirs = NULL;

    /* paths odbk cannot use */
    ok(odbk_odoo_addons_dirs("addons,/opt", &dirs, &err) < 0 && err.code == ODBK_E_CONFIG &&
       strstr(err.msg, "'addons' is not an absolute path"), "a relative entry is refused (its base is unknown)");
    s = odbk_xasprintf("%s/nope", root);
    ok(odbk_odoo_addons_dirs(s, &dirs, &err) < 0 && err.code == ODBK_E_CONFIG && strstr(err.msg, "not a directory"),
       "a missing directory is refused");
    free(s);
    s = at("notadir");
    ok(odbk_odoo_addons_dirs(s, &dirs, &err) < 0 && strstr(err.msg, "not a directory"), "a file is refused");
    free(s);
    ok(odbk_odoo_addons_dirs("", &dirs, &err) == 0 && dirs && !dirs[0], "an empty path gives no dirs");
    odbk_odoo_dirs_free(dirs);

    free(a);
    free(b);
    free(c);
    s = odbk_xasprintf("rm -rf '%s'", root);
    if (system(s) != 0)
        diag("cannot remove %s", root);
    free(s);
    return done_testing();
}
