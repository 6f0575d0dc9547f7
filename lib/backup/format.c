/* format.c - the table of backup formats (format.h): adding a format is one line here. */
#include "backup/format.h"

#include <cJSON.h>

#include <string.h>

extern const struct odbk_format_ops odbk_format_odbk;
extern const struct odbk_format_ops odbk_format_zip;
extern const struct odbk_format_ops odbk_format_dump;

const struct odbk_format_ops *const odbk_formats[] = {
    &odbk_format_odbk,
    &odbk_format_zip,
    &odbk_format_dump,
    NULL,
};

const struct odbk_format_ops *odbk_format_find(const char *name)
{
    size_t i;
    for (i = 0; name && odbk_formats[i]; i++)
        if (!strcmp(odbk_formats[i]->name, name))
            return odbk_formats[i];
    return NULL;
}

const struct odbk_format_ops *odbk_format_of(enum odbk_backup_format f)
{
    return odbk_formats[f];
}

char *odbk_format_tables_json(const struct odbk_writer *counter)
{
    const struct odbk_copy_count *cv;
    size_t k, nc = odbk_filter_copycount_get(counter, &cv);
    cJSON *t = cJSON_CreateObject();
    char *s;
    for (k = 0; k < nc; k++)
        cJSON_AddNumberToObject(t, cv[k].table, (double)cv[k].rows);
    s = cJSON_PrintUnformatted(t);
    cJSON_Delete(t);
    return s;
}
