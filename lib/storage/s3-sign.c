/* s3-sign.c - AWS Signature Version 4 for S3, done here with libcrypto rather than with curl's
 * CURLOPT_AWS_SIGV4: the same code then signs headers and presigned URLs (query signing, which curl does
 * not do), and every request carries the real x-amz-content-sha256 of its body (curl 7.88 neither sends
 * nor signs that header, which S3 requires).  Reference: "Authenticating Requests (AWS Signature Version
 * 4)", S3 API docs.  The secret key only ever enters HMAC here. */
#include "storage/s3-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/util.h"

static void hexify(const unsigned char *md, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * n] = '\0';
}

void odbk_s3_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    hexify(md, 32, hex);
}

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &n);
}

char *odbk_s3_uri_encode(const char *s, int keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    char *out = odbk_xmalloc(3 * strlen(s) + 1), *o = out;
    const unsigned char *p;
    for (p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
            *p == '_' || *p == '.' || *p == '~' || (keep_slash && *p == '/')) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = digits[*p >> 4];
            *o++ = digits[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

void odbk_s3_locate(struct odbk_s3 *s, const char *key, char **host, char **path)
{
    char *ekey = key ? odbk_s3_uri_encode(key, 1) : NULL;
    if (s->path_style) {
        char *ebucket = odbk_s3_uri_encode(s->bucket, 0);
        *host = odbk_xstrdup(s->endpoint_host);
        *path = ekey ? odbk_xasprintf("/%s/%s", ebucket, ekey) : odbk_xasprintf("/%s", ebucket);
        free(ebucket);
    } else {
        *host = odbk_xasprintf("%s.%s", s->bucket, s->endpoint_host);
        *path = odbk_xasprintf("/%s", ekey ? ekey : "");
    }
    free(ekey);
}

/* The signing key and the credential scope ("20260102/us-east-1/s3/aws4_request") of a date. */
static void signing_key(struct odbk_s3 *s, const char *amz_date, unsigned char key[32], char scope[128])
{
    char day[9];
    char *k0 = odbk_xasprintf("AWS4%s", s->secret_key);
    unsigned char k1[32], k2[32], k3[32];
    memcpy(day, amz_date, 8);
    day[8] = '\0';
    hmac(k0, strlen(k0), day, k1);
    hmac(k1, 32, s->region, k2);
    hmac(k2, 32, "s3", k3);
    hmac(k3, 32, "aws4_request", key);
    OPENSSL_cleanse(k0, strlen(k0));
    OPENSSL_cleanse(k1, sizeof(k1));
    OPENSSL_cleanse(k2, sizeof(k2));
    OPENSSL_cleanse(k3, sizeof(k3));
    free(k0);
    snprintf(scope, 128, "%s/%s/s3/aws4_request", day, s->region);
}

/* hex(HMAC(signing key, string to sign)) of a canonical request. */
static void sign(struct odbk_s3 *s, const char *amz_date, const char *canonical, char scope[128], char sig[65])
{
    unsigned char key[32], mac[32];
    char creq_hash[65], *sts;
    odbk_s3_sha256_hex(canonical, strlen(canonical), creq_hash);
    signing_key(s, amz_date, key, scope);
    sts = odbk_xasprintf("AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, creq_hash);
    hmac(key, 32, sts, mac);
    OPENSSL_cleanse(key, sizeof(key));
    hexify(mac, 32, sig);
    free(sts);
}

char *odbk_s3_authorization(struct odbk_s3 *s, const char *method, const char *host, const char *path,
                            const char *query, const char *payload_sha256, const char *amz_date)
{
    char scope[128], sig[65], *canonical, *auth;
    const char *signed_headers = s->session_token ? "host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
                                                  : "host;x-amz-content-sha256;x-amz-date";
    char *token_line = s->session_token ? odbk_xasprintf("x-amz-security-token:%s\n", s->session_token)
                                        : odbk_xstrdup("");
    canonical = odbk_xasprintf("%s\n%s\n%s\nhost:%s\nx-amz-content-sha256:%s\nx-amz-date:%s\n%s\n%s\n%s", method,
                               path, query ? query : "", host, payload_sha256, amz_date, token_line,
                               signed_headers, payload_sha256);
    sign(s, amz_date, canonical, scope, sig);
    auth = odbk_xasprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s", s->access_key,
                          scope, signed_headers, sig);
    free(canonical);
    free(token_line);
    return auth;
}

static void amz_date_of(time_t t, char out[17])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

char *odbk_s3_presign_url(struct odbk_s3 *s, const char *key, long seconds, time_t now)
{
    char amz_date[17], scope[128], sig[65], day[9];
    char *host, *path, *cred, *ecred, *etoken = NULL, *query, *canonical, *url;
    amz_date_of(now, amz_date);
    memcpy(day, amz_date, 8);
    day[8] = '\0';
    odbk_s3_locate(s, key, &host, &path);
    cred = odbk_xasprintf("%s/%s/%s/s3/aws4_request", s->access_key, day, s->region);
    ecred = odbk_s3_uri_encode(cred, 0);
    if (s->session_token)
        etoken = odbk_s3_uri_encode(s->session_token, 0);
    /* parameters in byte order, as the canonical query wants them */
    query = odbk_xasprintf("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%s&X-Amz-Date=%s&X-Amz-Expires=%ld"
                           "%s%s&X-Amz-SignedHeaders=host",
                           ecred, amz_date, seconds, etoken ? "&X-Amz-Security-Token=" : "", etoken ? etoken : "");
    canonical = odbk_xasprintf("GET\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD", path, query, host);
    sign(s, amz_date, canonical, scope, sig);
    url = odbk_xasprintf("%s://%s%s?%s&X-Amz-Signature=%s", s->scheme, host, path, query, sig);
    free(host);
    free(path);
    free(cred);
    free(ecred);
    free(etoken);
    free(query);
    free(canonical);
    return url;
}
