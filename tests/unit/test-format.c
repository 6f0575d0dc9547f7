/* test-format.c - the table of backup formats (lib/backup/format.h): its names are odbk_vocab_format's in
 * the same order (the option parser and the messages read that one), every format has the operations it
 * needs, and a single file's first bytes are checked: too short, empty, a zip called .dump, a dump called
 * .zip are refused, the right magic is taken. */
#include <string.h>

#include "backup/format.h"
#include "common/vocab.h"
#include "tap.h"

int main(void)
{
    static const unsigned char zip[30] = "PK\003\004", dump[5] = "PGDMP";
    const struct odbk_format_ops *z = odbk_format_find("zip"), *d = odbk_format_find("dump");
    struct odbk_err err = {0};
    int i, names_ok = 1, ops_ok = 1;

    for (i = 0; odbk_formats[i]; i++) {
        const struct odbk_format_ops *f = odbk_formats[i];
        const char *v = odbk_vocab_name(&odbk_vocab_format, i);
        if (!v || strcmp(v, f->name) || odbk_format_find(f->name) != f)
            names_ok = 0;
        if (!f->write || !f->load || !f->loader || !f->main_role || (f->suffix && (!f->detect || !f->magic || !f->what)))
            ops_ok = 0;
    }
    ok(names_ok && odbk_vocab_name(&odbk_vocab_format, i) == NULL, "the registry names odbk_vocab_format's formats in order");
    ok(ops_ok, "every format writes and loads; one with a file extension detects its first bytes");
    is_str(odbk_formats[0]->name, "odbk", "odbk is the default");
    ok(odbk_format_find("ODBK") == NULL && odbk_format_find("") == NULL && odbk_format_find(NULL) == NULL,
       "no format by another spelling, empty or NULL");

    ok(z && z->detect("a.zip", zip, sizeof(zip), &err) == 0, "a zip's local header is a zip");
    ok(z->detect("a.zip", zip, 29, &err) < 0 && strstr(err.msg, "too short"), "29 bytes are too short for a zip");
    ok(z->detect("a.zip", NULL, 0, &err) < 0, "an empty .zip is refused");
    ok(z->detect("a.zip", dump, sizeof(dump), &err) < 0 && err.code == ODBK_E_DATA, "a dump called .zip is refused");
    ok(d && d->detect("a.dump", dump, sizeof(dump), &err) == 0, "PGDMP is a dump");
    ok(d->detect("a.dump", dump, 4, &err) < 0, "PGDM is not");
    ok(d->detect("a.dump", zip, sizeof(zip), &err) < 0 && strstr(err.msg, "'a.dump' is not a pg_dump"),
       "a zip called .dump is refused, naming the file");
    return done_testing();
}
