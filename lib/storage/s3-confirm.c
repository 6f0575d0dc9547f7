/* s3-confirm.c - what an S3 store confirms of an object odbk has just written, without reading it back
 * (odbk_storage_confirm; `verify = store`).
 *
 * Every request's body is signed with its SHA-256 (x-amz-content-sha256, s3-http.c), and AWS and RGW
 * refuse a body that arrives otherwise: the store received what was sent.  That it holds it is what its
 * answers say: the ETag of a single PUT or of each part is, on most stores, the MD5 of what it stored,
 * which the writer compares with the MD5 of what it sent (s3-upload.c records it here), and a HEAD after
 * the upload gives the object's size and ETag (a multipart object's: the MD5 of the parts' MD5s, "-N").
 *
 * Not every store's ETags are MD5s (SSE-KMS and SSE-C objects on AWS; others by design), and a store says
 * so only for server-side encryption.  So an ETag that differs fails the backup only when another ETag of
 * the same object was the MD5 (the store is one of MD5 ETags): otherwise the object is confirmed by its
 * size, and the note says why no more. */
#include "storage/s3-internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/util.h"

static void hex(const unsigned char *md, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* An ETag of MD5 form ("HEX32" or "HEX32-N", quoted or not) into out, lower case: 1; any other: 0. */
static int etag_form(const char *etag, char out[48])
{
    size_t n, i;
    if (!etag)
        return 0;
    if (!strncmp(etag, "W/", 2))
        etag += 2;
    n = strlen(etag);
    if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"')
        etag++, n -= 2;
    if (n < 32 || n > 32 + 6)
        return 0;
    for (i = 0; i < n; i++) {
        if (i < 32 ? !isxdigit((unsigned char)etag[i]) : i == 32 ? etag[i] != '-' : !isdigit((unsigned char)etag[i]))
            return 0;
        out[i] = (char)tolower((unsigned char)etag[i]);
    }
    if (n == 33)
        return 0;   /* "HEX32-" */
    out[n] = '\0';
    return 1;
}

void odbk_s3_written_add(struct odbk_s3 *s, char *key, uint64_t size, unsigned parts, const unsigned char *md5,
                         char *const *etags, int not_md5)
{
    struct odbk_s3_written *w = odbk_xcalloc(1, sizeof(*w));
    unsigned n = parts ? parts : 1, i;
    w->key = key;
    w->size = size;
    w->not_md5 = not_md5;
    if (!parts) {
        hex(md5, 16, w->expect);
    } else {   /* a multipart object's ETag: the MD5 of the parts' MD5s, and their number */
        unsigned char all[16];
        EVP_Digest(md5, (size_t)parts * 16, all, NULL, EVP_md5(), NULL);
        hex(all, 16, w->expect);
        snprintf(w->expect + 32, sizeof(w->expect) - 32, "-%u", parts);
    }
    for (i = 0; i < n; i++) {
        char got[48], want[33];
        if (!etag_form(etags[i], got))
            continue;
        hex(md5 + 16 * (size_t)i, 16, want);
        if (!strcmp(got, want)) {
            w->matched++;
        } else if (!w->differ++) {
            w->bad_part = parts ? i + 1 : 0;
            w->bad_etag = odbk_xstrdup(etags[i]);
        }
    }
    pthread_mutex_lock(&s->written_mu);
    w->next = s->written;
    s->written = w;
    pthread_mutex_unlock(&s->written_mu);
}

static void written_free(struct odbk_s3_written *w)
{
    if (!w)
        return;
    free(w->key);
    free(w->bad_etag);
    free(w);
}

/* The record of key, taken out of the list (NULL: none: written by another process, or twice). */
static struct odbk_s3_written *written_take(struct odbk_s3 *s, const char *key)
{
    struct odbk_s3_written **p, *w = NULL;
    pthread_mutex_lock(&s->written_mu);
    for (p = &s->written; *p; p = &(*p)->next) {
        if (!strcmp((*p)->key, key)) {
            w = *p;
            *p = w->next;
            break;
        }
    }
    pthread_mutex_unlock(&s->written_mu);
    return w;
}

void odbk_s3_written_free(struct odbk_s3 *s)
{
    while (s->written) {
        struct odbk_s3_written *w = s->written;
        s->written = w->next;
        written_free(w);
    }
}

/* The ETags against the MD5s sent: 0 with *level (and *note when no checksum was confirmed), or -1
 * (ODBK_E_DATA) when the store gives MD5s and one is not the MD5 of what was sent. */
static int judge_etags(struct odbk_s3 *s, const struct odbk_s3_written *w, const struct odbk_s3_req *head,
                       enum odbk_confirm *level, char **note, struct odbk_err *err)
{
    char got[48];
    int head_md5 = !head->etag_not_md5 && etag_form(head->etag, got);
    int head_match = head_md5 && !strcmp(got, w->expect);
    if (w->not_md5 || head->etag_not_md5) {
        *note = odbk_xasprintf("'%s' is encrypted with KMS or a customer key, whose ETags are not MD5s", w->key);
        return 0;
    }
    if ((w->differ || (head_md5 && !head_match)) && (w->matched || head_match)) {
        if (w->differ && w->bad_part)
            return odbk_err_set(err, ODBK_E_DATA, "storage '%s': part %u of '%s' was stored with ETag %s, not the "
                                "MD5 of the bytes sent: the store holds other bytes", s->name, w->bad_part, w->key,
                                w->bad_etag);
        if (w->differ)
            return odbk_err_set(err, ODBK_E_DATA, "storage '%s': '%s' was stored with ETag %s, not the MD5 of the "
                                "bytes sent: the store holds other bytes", s->name, w->key, w->bad_etag);
        return odbk_err_set(err, ODBK_E_DATA, "storage '%s': '%s' has ETag %s, not \"%s\" (that of the bytes "
                            "sent): the store holds other bytes", s->name, w->key, head->etag, w->expect);
    }
    if (w->matched || head_match) {
        *level = ODBK_CONFIRM_CHECKSUM;
        return 0;
    }
    *note = odbk_xasprintf(!head->etag && !w->differ ? "the store gave no ETag for '%s'"
                           : "the store's ETags for '%s' are not the MD5 of its bytes", w->key);
    return 0;
}

int odbk_s3_confirm(struct odbk_storage *st, const char *path, uint64_t size, enum odbk_confirm *level, char **note,
                    struct odbk_err *err)
{
    struct odbk_s3 *s = st->priv;
    struct odbk_s3_req req = {0};
    char *key = odbk_s3_full_key(s, path);
    struct odbk_s3_written *w = written_take(s, key);
    int r;
    *level = ODBK_CONFIRM_NOTHING;
    *note = NULL;
    r = odbk_s3_head(s, key, "confirm", &req, err);
    if (r == 1) {
        r = odbk_err_set(err, ODBK_E_NOINPUT, "storage '%s': '%s' is gone right after it was written", s->name, key);
    } else if (r == 0 && !req.has_length) {
        *note = odbk_xasprintf("the store's HEAD of '%s' gave no size", key);
    } else if (r == 0 && req.content_length != size) {
        r = odbk_err_set(err, ODBK_E_DATA, "storage '%s' holds %llu bytes of '%s', %llu were written", s->name,
                         (unsigned long long)req.content_length, key, (unsigned long long)size);
    } else if (r == 0) {
        *level = ODBK_CONFIRM_SIZE;
        if (w)
            r = judge_etags(s, w, &req, level, note, err);
    }
    odbk_s3_req_reset(&req);
    written_free(w);
    free(key);
    return r;
}
