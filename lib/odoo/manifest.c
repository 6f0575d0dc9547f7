/* manifest.c - the backup manifest as JSON (cJSON), both ways. */
#include "odoo/manifest.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/util.h"

static void add_str(cJSON *o, const char *k, const char *v)
{
    cJSON_AddStringToObject(o, k, v ? v : "");
}

/* odoo.release.version_info of a series, as Odoo's dump_db_manifest writes it: "17.0" gives
 * [17, 0, 0, "final", 0, ""], "saas~17.2" gives ["saas~17", 2, 0, "final", 0, ""]; NULL for a series
 * that is not one (an unknown version: better none than a made-up one). */
static cJSON *version_info(const char *series)
{
    const char *p = series ? series : "", *dot;
    char *end;
    long major, minor;
    cJSON *v;
    int saas = !strncmp(p, "saas~", 5);
    dot = strchr(p + (saas ? 5 : 0), '.');
    if (!dot || !isdigit((unsigned char)p[saas ? 5 : 0]) || !isdigit((unsigned char)dot[1]))
        return NULL;
    major = strtol(p + (saas ? 5 : 0), &end, 10);
    if (end != dot || major <= 0 || major > 1000)
        return NULL;
    minor = strtol(dot + 1, &end, 10);
    if (*end || minor < 0 || minor > 1000)
        return NULL;
    v = cJSON_CreateArray();
    if (saas) {
        char first[32];
        snprintf(first, sizeof(first), "saas~%ld", major);
        cJSON_AddItemToArray(v, cJSON_CreateString(first));
    } else {
        cJSON_AddItemToArray(v, cJSON_CreateNumber((double)major));
    }
    cJSON_AddItemToArray(v, cJSON_CreateNumber((double)minor));
    cJSON_AddItemToArray(v, cJSON_CreateNumber(0));
    cJSON_AddItemToArray(v, cJSON_CreateString("final"));
    cJSON_AddItemToArray(v, cJSON_CreateNumber(0));
    cJSON_AddItemToArray(v, cJSON_CreateString(""));
    return v;
}

static void add_odoo_keys(cJSON *o, const struct odbk_manifest *m)
{
    cJSON *mods = m->modules_json ? cJSON_Parse(m->modules_json) : NULL, *vi = version_info(m->odoo_version);
    add_str(o, "odoo_dump", "1");
    add_str(o, "db_name", m->database);
    add_str(o, "version", m->odoo_version);
    if (vi)
        cJSON_AddItemToObject(o, "version_info", vi);
    add_str(o, "major_version", m->odoo_major);
    add_str(o, "pg_version", m->odoo_pg_version);
    cJSON_AddItemToObject(o, "modules", mods ? mods : cJSON_CreateObject());
}

char *odbk_manifest_to_json(const struct odbk_manifest *m)
{
    cJSON *o = cJSON_CreateObject(), *files = cJSON_CreateArray();
    char *s, *r;
    size_t i;
    /* version 1 unless the filestore is incremental: an older odbk still reads every other backup */
    int incremental = m->filestore_mode == ODBK_FILESTORE_INCREMENTAL;
    cJSON_AddNumberToObject(o, "odbk_manifest", incremental ? 2 : 1);
    add_str(o, "id", m->id);
    add_str(o, "uuid", m->uuid);
    add_str(o, "env", m->env);
    add_str(o, "project", m->project);
    add_str(o, "database", m->database);
    add_str(o, "type", odbk_type_name(m->type));
    add_str(o, "format", odbk_format_name(m->format));
    odbk_json_time(o, "created_at", m->created_at);
    odbk_json_time(o, "finished_at", m->finished_at);
    add_str(o, "retention", odbk_tier_name(m->retention));
    add_str(o, "comment", m->comment);
    add_str(o, "host", m->host);
    add_str(o, "odbk_version", m->odbk_version);
    add_str(o, "pg_server_version", m->pg_server_version);
    add_str(o, "pg_dump_version", m->pg_dump_version);
    if (m->key_id && *m->key_id)
        add_str(o, "key_id", m->key_id);
    add_odoo_keys(o, m);
    if (m->tables_json) {
        cJSON *t = cJSON_Parse(m->tables_json);
        if (t)
            cJSON_AddItemToObject(o, "tables", t);
    }
    if (m->fs_files >= 0 && m->fs_bytes >= 0) {   /* an empty filestore too: 0 files is a figure */
        cJSON_AddNumberToObject(o, "filestore_files", (double)m->fs_files);
        cJSON_AddNumberToObject(o, "filestore_bytes", (double)m->fs_bytes);
    }
    for (i = 0; i < m->n_files; i++) {
        const struct odbk_manifest_file *f = &m->files[i];
        cJSON *jf = cJSON_CreateObject();
        add_str(jf, "name", f->name);
        add_str(jf, "role", f->role);
        cJSON_AddNumberToObject(jf, "size", (double)f->size);
        add_str(jf, "sha256", f->sha256);
        add_str(jf, "compression", f->compression);
        if (f->raw_size)
            cJSON_AddNumberToObject(jf, "raw_size", (double)f->raw_size);
        cJSON_AddItemToArray(files, jf);
    }
    cJSON_AddItemToObject(o, "files", files);
    if (incremental) {
        cJSON *packs = cJSON_CreateArray();
        add_str(o, "filestore_mode", odbk_filestore_mode_name(m->filestore_mode));
        add_str(o, "parent", m->parent);
        cJSON_AddNumberToObject(o, "added_bytes", (double)m->added_bytes);
        odbk_manifest_sort_packs((struct odbk_manifest *)m);
        for (i = 0; i < m->n_packs; i++) {
            cJSON *jp = cJSON_CreateObject();
            add_str(jp, "name", m->packs[i].name);
            cJSON_AddNumberToObject(jp, "size", (double)m->packs[i].size);
            add_str(jp, "sha256", m->packs[i].sha256);
            cJSON_AddItemToArray(packs, jp);
        }
        cJSON_AddItemToObject(o, "packs", packs);
    }
    s = cJSON_Print(o);
    cJSON_Delete(o);
    r = odbk_xasprintf("%s\n", s);
    free(s);
    return r;
}

char *odbk_manifest_odoo_json(const struct odbk_manifest *m)
{
    cJSON *o = cJSON_CreateObject();
    char *s, *r;
    add_odoo_keys(o, m);
    s = cJSON_Print(o);
    cJSON_Delete(o);
    r = odbk_xstrdup(s);
    free(s);
    return r;
}

/* A string value, "" when absent or not a string (o keeps it). */
static const char *get_name(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static char *get_str(const cJSON *o, const char *k)
{
    return odbk_xstrdup(get_name(o, k));
}

/* A time: absent or null is 0; a string must be RFC 3339 (*bad set otherwise). */
static time_t get_time(const cJSON *o, const char *k, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    time_t t = 0;
    if (cJSON_IsString(v) ? odbk_time_parse_rfc3339(v->valuestring, &t) != 0 : v && !cJSON_IsNull(v))
        *bad = 1;
    return t;
}

static int is_sha256(const char *s)
{
    return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* A size: a whole number of bytes, 0 .. ODBK_MANIFEST_MAX_SIZE. */
static int size_ok(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= (double)ODBK_MANIFEST_MAX_SIZE &&
           v->valuedouble == (double)(uint64_t)v->valuedouble;
}

/* Version 2's keys, each checked: they name objects of the storage that a restore reads and a deletion
 * keeps or removes, so a hostile manifest must not name anything else. */
static int parse_v2(const cJSON *o, const char *what, struct odbk_manifest *m, struct odbk_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "filestore_mode"), *packs, *p;
    m->filestore_mode = ODBK_FILESTORE_FULL;
    if (v && (!cJSON_IsString(v) || odbk_filestore_mode_parse(v->valuestring, &m->filestore_mode) < 0))
        return odbk_err_set(err, ODBK_E_DATA, "'%s' has a filestore_mode that is not \"incremental\" or \"full\"",
                            what);
    v = cJSON_GetObjectItemCaseSensitive(o, "parent");
    if (v && (!cJSON_IsString(v) || (*v->valuestring && !odbk_backup_id_ok(v->valuestring))))
        return odbk_err_set(err, ODBK_E_DATA, "'%s' has a parent that is not a backup id", what);
    m->parent = odbk_xstrdup(v ? v->valuestring : "");
    v = cJSON_GetObjectItemCaseSensitive(o, "added_bytes");
    if (v && !size_ok(v))
        return odbk_err_set(err, ODBK_E_DATA, "'%s' has an added_bytes that is not a size (0 to %d TiB)", what,
                            (int)(ODBK_MANIFEST_MAX_SIZE >> 40));
    m->has_added_bytes = v != NULL;
    m->added_bytes = v ? (uint64_t)v->valuedouble : 0;
    packs = cJSON_GetObjectItemCaseSensitive(o, "packs");
    if (!packs)
        return 0;
    if (!cJSON_IsArray(packs))
        return odbk_err_set(err, ODBK_E_DATA, "'%s' has packs that are not a list", what);
    if (m->filestore_mode != ODBK_FILESTORE_INCREMENTAL && cJSON_GetArraySize(packs) > 0)
        return odbk_err_set(err, ODBK_E_DATA, "'%s' lists packs but its filestore is not incremental", what);
    cJSON_ArrayForEach(p, packs)
    {
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(p, "size");
        const char *name = get_name(p, "name"), *sha = get_name(p, "sha256");
        if (!odbk_pack_name_ok(name) || !size_ok(size) || !is_sha256(sha))
            return odbk_err_set(err, ODBK_E_DATA, "'%s' lists a pack without a valid name, size and sha256", what);
        if (m->n_packs && strcmp(m->packs[m->n_packs - 1].name, name) >= 0)
            return odbk_err_set(err, ODBK_E_DATA, "'%s' lists pack '%s' twice or out of order", what, name);
        odbk_manifest_add_pack(m, name, (uint64_t)size->valuedouble, sha);
    }
    return 0;
}

int odbk_manifest_parse(const char *json, const char *what, struct odbk_manifest *m, struct odbk_err *err)
{
    cJSON *o = cJSON_Parse(json), *v, *files, *f;
    int bad_time = 0, type = 0, format = 0;
    memset(m, 0, sizeof(*m));
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return odbk_err_set(err, ODBK_E_DATA, "'%s' is not valid JSON", what);
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "odbk_manifest");
    if (!cJSON_IsNumber(v)) {
        cJSON_Delete(o);
        return odbk_err_set(err, ODBK_E_DATA, "'%s' is not an odbk manifest (no odbk_manifest key)", what);
    }
    m->version = v->valueint;
    if (m->version > ODBK_MANIFEST_VERSION) {
        cJSON_Delete(o);
        odbk_err_set(err, ODBK_E_DATA, "'%s' has manifest format %d, newer than this odbk reads (%d)", what,
                     m->version, ODBK_MANIFEST_VERSION);
        odbk_err_hint(err, "upgrade odbk");
        return -1;
    }
    m->id = get_str(o, "id");
    m->uuid = get_str(o, "uuid");
    m->env = get_str(o, "env");
    m->project = get_str(o, "project");
    m->database = get_str(o, "database");
    m->comment = get_str(o, "comment");
    m->host = get_str(o, "host");
    m->odbk_version = get_str(o, "odbk_version");
    m->pg_server_version = get_str(o, "pg_server_version");
    m->pg_dump_version = get_str(o, "pg_dump_version");
    if (odbk_vocab_parse(&odbk_vocab_type, get_name(o, "type"), &type, ODBK_E_DATA, err) < 0 ||
        odbk_vocab_parse(&odbk_vocab_format, get_name(o, "format"), &format, ODBK_E_DATA, err) < 0 ||
        odbk_tier_parse(get_name(o, "retention"), &m->retention, ODBK_E_DATA, err) < 0) {
        odbk_err_prefix(err, "'%s'", what);
        cJSON_Delete(o);
        odbk_manifest_release(m);
        return -1;
    }
    m->type = (enum odbk_backup_type)type;
    m->format = (enum odbk_backup_format)format;
    m->key_id = get_str(o, "key_id");
    if (*m->key_id && (strlen(m->key_id) != 16 || strspn(m->key_id, "0123456789abcdef") != 16)) {
        cJSON_Delete(o);
        odbk_manifest_release(m);
        return odbk_err_set(err, ODBK_E_DATA, "'%s' has a key_id that is not 16 hex digits", what);
    }
    m->created_at = get_time(o, "created_at", &bad_time);
    m->finished_at = get_time(o, "finished_at", &bad_time);
    if (bad_time) {
        cJSON_Delete(o);
        odbk_manifest_release(m);
        return odbk_err_set(err, ODBK_E_DATA, "'%s' has a created_at or finished_at that is not an RFC 3339 time",
                            what);
    }
    m->odoo_version = get_str(o, "version");
    m->odoo_major = get_str(o, "major_version");
    m->odoo_pg_version = get_str(o, "pg_version");
    v = cJSON_GetObjectItemCaseSensitive(o, "modules");
    m->modules_json = v ? cJSON_PrintUnformatted(v) : odbk_xstrdup("{}");
    v = cJSON_GetObjectItemCaseSensitive(o, "tables");
    m->tables_json = cJSON_IsObject(v) ? cJSON_PrintUnformatted(v) : NULL;
    v = cJSON_GetObjectItemCaseSensitive(o, "filestore_files");
    m->fs_files = size_ok(v) ? (int64_t)v->valuedouble : -1;
    v = cJSON_GetObjectItemCaseSensitive(o, "filestore_bytes");
    m->fs_bytes = size_ok(v) ? (int64_t)v->valuedouble : -1;
    files = cJSON_GetObjectItemCaseSensitive(o, "files");
    cJSON_ArrayForEach(f, files)
    {
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(f, "size");
        const cJSON *raw = cJSON_GetObjectItemCaseSensitive(f, "raw_size");
        char *name = get_str(f, "name"), *role = get_str(f, "role"), *sha = get_str(f, "sha256"),
             *comp = get_str(f, "compression");
        if (!*name || !odbk_name_is_safe(name) || !size_ok(size) || (raw && !size_ok(raw)) || !is_sha256(sha)) {
            free(name);
            free(role);
            free(sha);
            free(comp);
            cJSON_Delete(o);
            odbk_manifest_release(m);
            return odbk_err_set(err, ODBK_E_DATA, "'%s' lists a file without a valid name, size (0 to %d TiB) and sha256", what,
                                (int)(ODBK_MANIFEST_MAX_SIZE >> 40));
        }
        if (m->n_files < ODBK_MANIFEST_MAX_FILES)
            odbk_manifest_add_file(m, name, role, (uint64_t)size->valuedouble, sha, comp,
                                   cJSON_IsNumber(raw) ? (uint64_t)raw->valuedouble : 0);
        free(name);
        free(role);
        free(sha);
        free(comp);
    }
    if (parse_v2(o, what, m, err) < 0) {
        cJSON_Delete(o);
        odbk_manifest_release(m);
        return -1;
    }
    cJSON_Delete(o);
    if (!*m->id || !odbk_name_is_safe(m->id) || !*m->env || !odbk_name_is_safe(m->env)) {
        odbk_manifest_release(m);
        return odbk_err_set(err, ODBK_E_DATA, "'%s' has no valid id or env", what);
    }
    return 0;
}

void odbk_manifest_add_file(struct odbk_manifest *m, const char *name, const char *role, uint64_t size,
                            const char *sha256, const char *compression, uint64_t raw_size)
{
    struct odbk_manifest_file *f;
    if (m->n_files >= ODBK_MANIFEST_MAX_FILES)
        return;
    f = &m->files[m->n_files++];
    f->name = odbk_xstrdup(name);
    f->role = odbk_xstrdup(role);
    f->size = size;
    f->sha256 = odbk_xstrdup(sha256);
    f->compression = odbk_xstrdup(compression);
    f->raw_size = raw_size;
}

const struct odbk_manifest_file *odbk_manifest_file_by_role(const struct odbk_manifest *m, const char *role)
{
    size_t i;
    for (i = 0; i < m->n_files; i++)
        if (!strcmp(m->files[i].role, role))
            return &m->files[i];
    return NULL;
}

void odbk_manifest_add_pack(struct odbk_manifest *m, const char *name, uint64_t size, const char *sha256)
{
    struct odbk_manifest_pack *p;
    if ((m->n_packs & (m->n_packs - 1)) == 0)    /* 0, 1, 2, 4, ...: grow by doubling */
        m->packs = odbk_xrealloc(m->packs, (m->n_packs ? m->n_packs * 2 : 1) * sizeof(*m->packs));
    p = &m->packs[m->n_packs++];
    p->name = odbk_xstrdup(name);
    p->size = size;
    snprintf(p->sha256, sizeof(p->sha256), "%s", sha256);
}

static int pack_cmp(const void *a, const void *b)
{
    return strcmp(((const struct odbk_manifest_pack *)a)->name, ((const struct odbk_manifest_pack *)b)->name);
}

void odbk_manifest_sort_packs(struct odbk_manifest *m)
{
    size_t i, n = 0;
    if (m->n_packs < 2)
        return;
    qsort(m->packs, m->n_packs, sizeof(*m->packs), pack_cmp);
    for (i = 0; i < m->n_packs; i++) {
        if (n && !strcmp(m->packs[n - 1].name, m->packs[i].name)) {
            free(m->packs[i].name);
            continue;
        }
        m->packs[n++] = m->packs[i];
    }
    m->n_packs = n;
}

const struct odbk_manifest_pack *odbk_manifest_pack_find(const struct odbk_manifest *m, const char *name)
{
    struct odbk_manifest_pack k = {(char *)name, 0, {0}};
    return m->n_packs ? bsearch(&k, m->packs, m->n_packs, sizeof(*m->packs), pack_cmp) : NULL;
}

const char *odbk_filestore_mode_name(enum odbk_filestore_mode mode)
{
    return mode == ODBK_FILESTORE_INCREMENTAL ? "incremental" : "full";
}

int odbk_filestore_mode_parse(const char *s, enum odbk_filestore_mode *out)
{
    if (!strcmp(s, "incremental"))
        *out = ODBK_FILESTORE_INCREMENTAL;
    else if (!strcmp(s, "full"))
        *out = ODBK_FILESTORE_FULL;
    else
        return -1;
    return 0;
}

int odbk_backup_id_ok(const char *id)
{
    size_t i;
    if (strlen(id) != 23 || id[8] != 'T' || id[15] != 'Z' || id[16] != '-')
        return 0;
    for (i = 0; i < 23; i++)
        if (i != 8 && i != 15 && i != 16 && !(i < 16 ? isdigit((unsigned char)id[i]) : isxdigit((unsigned char)id[i])))
            return 0;
    return 1;
}

int odbk_pack_name_ok(const char *s)
{
    char id[24];
    const char *suffix;
    if (strlen(s) < 30 || s[23] != '-' || strspn(s + 24, "0123456789") < 6 || !strncmp(s + 24, "000000", 6))
        return 0;
    memcpy(id, s, 23);
    id[23] = 0;
    suffix = s + 30;
    return odbk_backup_id_ok(id) && (!strcmp(suffix, ".tar.gz") || !strcmp(suffix, ".tar.zst") || !strcmp(suffix, ".tar"));
}

void odbk_manifest_release(struct odbk_manifest *m)
{
    size_t i;
    char **strs[] = {&m->parent, &m->id, &m->uuid, &m->env, &m->project, &m->database, &m->comment, &m->host,
                     &m->odbk_version, &m->pg_server_version, &m->pg_dump_version, &m->key_id,
                     &m->odoo_version, &m->odoo_major, &m->odoo_pg_version, &m->modules_json, &m->tables_json};
    for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    for (i = 0; i < m->n_files; i++) {
        free(m->files[i].name);
        free(m->files[i].role);
        free(m->files[i].sha256);
        free(m->files[i].compression);
    }
    m->n_files = 0;
    for (i = 0; i < m->n_packs; i++)
        free(m->packs[i].name);
    free(m->packs);
    m->packs = NULL;
    m->n_packs = 0;
}
