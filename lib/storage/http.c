/* http.c - the read-only storage of one object behind an http(s) URL (odbk-restore --from-url), on
 * net/curl.h.  Not in registry.c: no `[storage]` section opens it, only odbk_storage_open_url().
 *
 * Its one object is key "": read streams it (redirects followed to http and https only, at most 5; a 30 s
 * connect timeout and the 120 s stall watchdog) in 1 MiB chunks; an HTTP error is reported with its
 * status (404 and 410: ODBK_E_NOINPUT, 401 and 403: ODBK_E_PERM), any other failure as unavailable.
 * Nothing else: no stat, no listing, no writes. */
#include "storage/storage.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "net/curl.h"

#define CHUNK (1024 * 1024)

struct http {
    char *url;
};

struct url_read {
    struct odbk_writer *dst;
    struct odbk_err *err;
    char *buf;
    size_t have;
    int failed;
};

static size_t url_write(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct url_read *u = ctx;
    size_t len = size * nmemb, done = 0;
    while (done < len) {
        size_t n = CHUNK - u->have < len - done ? CHUNK - u->have : len - done;
        memcpy(u->buf + u->have, data + done, n);
        u->have += n;
        done += n;
        if (u->have == CHUNK) {
            if (odbk_writer_write(u->dst, u->buf, u->have, u->err) < 0) {
                u->failed = 1;
                return 0;
            }
            u->have = 0;
        }
    }
    return len;
}

static int http_read(struct odbk_storage *st, const char *path, struct odbk_writer *dst, struct odbk_err *err)
{
    static const struct odbk_curl_opts opts = {.protocols = "http,https", .connect_timeout = 30, .stall = 120};
    struct http *h = st->priv;
    struct odbk_curl *c;
    struct url_read u = {dst, err, NULL, 0, 0};
    CURLcode rc;
    int r = 0;
    if (*path)
        return odbk_err_set(err, ODBK_E_NOINPUT, "'%s' holds one file, not '%s'", st->name, path);
    c = odbk_curl_new();
    u.buf = odbk_xmalloc(CHUNK);
    odbk_curl_setup(c, &opts);
    curl_easy_setopt(c->h, CURLOPT_URL, h->url);
    curl_easy_setopt(c->h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c->h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c->h, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, url_write);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &u);
    rc = odbk_curl_perform(c);
    if (u.failed) {
        r = -1;
    } else if (rc != CURLE_OK) {
        long code = odbk_curl_status(c);
        enum odbk_errcode kind = odbk_curl_kind(CURLE_OK, code);
        if (kind == ODBK_E_NOINPUT || kind == ODBK_E_PERM)
            r = odbk_err_set(err, kind, "'%s': HTTP %ld", st->name, code);
        else
            r = odbk_err_set(err, ODBK_E_UNAVAILABLE, "cannot download '%s': %s", st->name, odbk_curl_why(c, rc));
    } else if (u.have && odbk_writer_write(dst, u.buf, u.have, err) < 0) {
        r = -1;
    }
    free(u.buf);
    odbk_curl_free(c);
    return r;
}

static void http_close(struct odbk_storage *st)
{
    struct http *h = st->priv;
    if (!h)
        return;
    free(h->url);
    free(h);
    st->priv = NULL;
}

static const struct odbk_storage_driver http_driver = {
    .type = "http",
    .close = http_close,
    .read = http_read,
};

int odbk_storage_open_url(const char *url, struct odbk_storage **out)
{
    struct http *h = odbk_xcalloc(1, sizeof(*h));
    char *name = odbk_xstrndup(url, strcspn(url, "?#"));
    h->url = odbk_xstrdup(url);
    *out = odbk_storage_new_bare(&http_driver, name, h);
    free(name);
    return 0;
}
