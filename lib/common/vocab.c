/* vocab.c - the name tables of vocab.h. */
#include "common/vocab.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"

#define WORDS(var, what_, ...)                                                   \
    static const char *const var##_names[] = {__VA_ARGS__, NULL};                \
    const struct odbk_vocab var = {what_, ODBK_VOCAB_WORDS, var##_names}

WORDS(odbk_vocab_type, "type", "manual", "scheduled", "pre-restore", "pre-upgrade", "pre-destroy");
WORDS(odbk_vocab_tier, "retention tier", "daily", "weekly", "monthly", "yearly", "permanent");
WORDS(odbk_vocab_format, "format", "odbk", "zip", "dump");
WORDS(odbk_vocab_compression, "codec", "gzip", "zstd");
WORDS(odbk_vocab_status, "state", "pending", "in_progress", "uploading", "completed", "failed", "expired");
WORDS(odbk_vocab_progress, "mode", "auto", "bar", "json", "none");
WORDS(odbk_vocab_download_as, "form", "zip");
WORDS(odbk_vocab_verify, "verify level", "store", "read", "none");
WORDS(odbk_vocab_verified, "verification", "no", "read", "checksum", "size");

const struct odbk_vocab odbk_vocab_file = {"file", ODBK_VOCAB_FILE, NULL};
const struct odbk_vocab odbk_vocab_dir = {"directory", ODBK_VOCAB_DIR, NULL};
const struct odbk_vocab odbk_vocab_env = {"environment", ODBK_VOCAB_ENV, NULL};
const struct odbk_vocab odbk_vocab_storage = {"storage", ODBK_VOCAB_STORAGE, NULL};
const struct odbk_vocab odbk_vocab_backup = {"backup", ODBK_VOCAB_BACKUP, NULL};
const struct odbk_vocab odbk_vocab_user = {"user", ODBK_VOCAB_USER, NULL};

int odbk_vocab_find(const struct odbk_vocab *v, const char *s)
{
    int i;
    for (i = 0; v->names && v->names[i]; i++)
        if (!strcmp(v->names[i], s))
            return i;
    return -1;
}

const char *odbk_vocab_name(const struct odbk_vocab *v, int i)
{
    int k;
    for (k = 0; v->names && v->names[k] && k < i; k++)
        ;
    return i >= 0 && v->names && k == i ? v->names[i] : NULL;
}

void odbk_vocab_list(const struct odbk_vocab *v, char *buf, size_t size)
{
    size_t len = 0, i;
    buf[0] = '\0';
    for (i = 0; v->names && v->names[i] && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", v->names[i]);
}

int odbk_vocab_error(const struct odbk_vocab *v, const char *s, enum odbk_errcode code, struct odbk_err *err)
{
    char list[256];
    const char *dym = v->names ? odbk_did_you_mean(s, v->names) : NULL;
    odbk_vocab_list(v, list, sizeof(list));
    if (dym)
        odbk_err_set(err, code, "unknown %s '%s' (did you mean '%s'?)", v->what, s, dym);
    else
        odbk_err_set(err, code, "unknown %s '%s' (%s)", v->what, s, list);
    if (dym)
        odbk_err_hint(err, "one of: %s", list);
    return -1;
}

int odbk_vocab_parse(const struct odbk_vocab *v, const char *s, int *out, enum odbk_errcode code,
                     struct odbk_err *err)
{
    int i = odbk_vocab_find(v, s ? s : "");
    if (i < 0)
        return odbk_vocab_error(v, s ? s : "", code, err);
    *out = i;
    return 0;
}

const char *odbk_type_name(enum odbk_backup_type t)
{
    return odbk_vocab_name(&odbk_vocab_type, (int)t);
}

const char *odbk_format_name(enum odbk_backup_format f)
{
    return odbk_vocab_name(&odbk_vocab_format, (int)f);
}

const char *odbk_status_name(enum odbk_backup_status s)
{
    return odbk_vocab_name(&odbk_vocab_status, (int)s);
}

const char *odbk_tier_name(enum odbk_retention_tier t)
{
    const char *s = t == ODBK_TIER_NONE ? NULL : odbk_vocab_name(&odbk_vocab_tier, (int)t - ODBK_TIER_DAILY);
    return s ? s : "";
}

int odbk_tier_parse(const char *s, enum odbk_retention_tier *out, enum odbk_errcode code, struct odbk_err *err)
{
    int i;
    if (!s || !*s) {
        *out = ODBK_TIER_NONE;
        return 0;
    }
    if (odbk_vocab_parse(&odbk_vocab_tier, s, &i, code, err) < 0)
        return -1;
    *out = (enum odbk_retention_tier)(ODBK_TIER_DAILY + i);
    return 0;
}
