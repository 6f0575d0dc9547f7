/* test-curl.c - the one mapping of transfer outcomes (net/curl.h): CURLcode and HTTP status to an error
 * kind, and what another attempt may cure. */
#include "net/curl.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

/* An HTTP server for one request that sends its header lines slowly (one each 100 ms for 1.6 s) and then
 * a body: activity, but no body byte, for less than the 2 s stall. */
static int say(int fd, const char *s)
{
    return write(fd, s, strlen(s)) == (ssize_t)strlen(s);
}

static void *slow_headers(void *arg)
{
    int ls = *(int *)arg, fd = accept(ls, NULL, NULL), i;
    char buf[4096];
    struct timespec tick = {0, 100 * 1000000L};
    if (fd < 0)
        return NULL;
    if (read(fd, buf, sizeof(buf)) <= 0 || !say(fd, "HTTP/1.1 200 OK\r\n"))
        goto out;
    for (i = 0; i < 16; i++) {
        nanosleep(&tick, NULL);
        if (!say(fd, "X-Slow: 1\r\n"))
            goto out;
    }
    say(fd, "Content-Length: 2\r\nConnection: close\r\n\r\nok");
out:
    close(fd);
    return NULL;
}

int main(void)
{
    struct odbk_err err = {0};
    is_int(odbk_curl_kind(CURLE_OK, 403), ODBK_E_PERM, "HTTP 403: permission (77)");
    is_int(odbk_curl_kind(CURLE_OK, 401), ODBK_E_PERM, "HTTP 401: permission");
    is_int(odbk_curl_kind(CURLE_OK, 404), ODBK_E_NOINPUT, "HTTP 404: no input (66)");
    is_int(odbk_curl_kind(CURLE_OK, 410), ODBK_E_NOINPUT, "HTTP 410: no input");
    is_int(odbk_curl_kind(CURLE_OK, 503), ODBK_E_TEMPFAIL, "HTTP 503: temporary (75)");
    is_int(odbk_curl_kind(CURLE_OK, 429), ODBK_E_TEMPFAIL, "HTTP 429: temporary");
    is_int(odbk_curl_kind(CURLE_OK, 500), ODBK_E_UNAVAILABLE, "HTTP 500: unavailable (69)");
    is_int(odbk_curl_kind(CURLE_OK, 400), ODBK_E_IO, "HTTP 400: I/O");
    is_int(odbk_curl_kind(CURLE_COULDNT_CONNECT, 0), ODBK_E_UNAVAILABLE, "refused connection: unavailable");
    is_int(odbk_curl_kind(CURLE_COULDNT_RESOLVE_HOST, 0), ODBK_E_UNAVAILABLE, "unknown host: unavailable");
    is_int(odbk_curl_kind(CURLE_OPERATION_TIMEDOUT, 0), ODBK_E_TEMPFAIL, "timeout (and stall): temporary");
    is_int(odbk_curl_kind(CURLE_ABORTED_BY_CALLBACK, 0), ODBK_E_FAILED, "cancelled: failed");
    is_int(odbk_curl_kind(CURLE_LOGIN_DENIED, 0), ODBK_E_PERM, "login denied: permission");
    is_int(odbk_curl_kind(CURLE_REMOTE_FILE_NOT_FOUND, 0), ODBK_E_NOINPUT, "no such remote file: no input");
    is_int(odbk_curl_kind(CURLE_RECV_ERROR, 0), ODBK_E_UNAVAILABLE, "connection reset: unavailable");
    is_int(odbk_curl_kind(CURLE_BAD_CONTENT_ENCODING, 0), ODBK_E_IO, "anything else: I/O");

    ok(odbk_curl_transient(CURLE_OK, 503), "503 is worth another attempt");
    ok(odbk_curl_transient(CURLE_OK, 500), "500 too");
    ok(odbk_curl_transient(CURLE_OK, 429), "429 too");
    ok(odbk_curl_transient(CURLE_OK, 408), "408 too");
    ok(!odbk_curl_transient(CURLE_OK, 404), "404 is not");
    ok(!odbk_curl_transient(CURLE_OK, 403), "403 is not");
    ok(odbk_curl_transient(CURLE_SEND_ERROR, 0), "a reset connection is");
    ok(odbk_curl_transient(CURLE_OPERATION_TIMEDOUT, 0), "a stall is");
    ok(odbk_curl_transient(CURLE_FTP_ACCEPT_TIMEOUT, 0), "an FTP data connection that never came is");
    ok(!odbk_curl_transient(CURLE_LOGIN_DENIED, 0), "a refused login is not");
    ok(!odbk_curl_transient(CURLE_PEER_FAILED_VERIFICATION, 0), "an untrusted certificate is not");
    ok(!odbk_curl_transient(CURLE_ABORTED_BY_CALLBACK, 0), "a cancel is not");

    /* FTP: the reply code in place of the HTTP status */
    ok(odbk_curl_ftp_transient(CURLE_UPLOAD_FAILED, 425), "FTP 425 (no data connection) is worth another attempt");
    ok(odbk_curl_ftp_transient(CURLE_QUOTE_ERROR, 421), "FTP 421 (closing) too");
    ok(odbk_curl_ftp_transient(CURLE_RECV_ERROR, 0), "a reset FTP connection too");
    ok(!odbk_curl_ftp_transient(CURLE_UPLOAD_FAILED, 553), "FTP 553 is not");
    ok(!odbk_curl_ftp_transient(CURLE_QUOTE_ERROR, 550), "FTP 550 is not");
    ok(!odbk_curl_ftp_transient(CURLE_OK, 500), "a transfer that worked is not (whatever the code)");
    is_int(odbk_curl_ftp_kind(CURLE_UPLOAD_FAILED, 452), ODBK_E_UNAVAILABLE, "FTP 4xx: unavailable (69)");
    is_int(odbk_curl_ftp_kind(CURLE_QUOTE_ERROR, 550), ODBK_E_NOINPUT, "FTP 550: no input (66)");
    is_int(odbk_curl_ftp_kind(CURLE_QUOTE_ERROR, 530), ODBK_E_PERM, "FTP 530: permission (77)");
    is_int(odbk_curl_ftp_kind(CURLE_UPLOAD_FAILED, 553), ODBK_E_IO, "FTP 553: I/O (74)");
    is_int(odbk_curl_ftp_kind(CURLE_LOGIN_DENIED, 530), ODBK_E_PERM, "a refused login: permission");
    is_int(odbk_curl_ftp_kind(CURLE_OPERATION_TIMEDOUT, 0), ODBK_E_TEMPFAIL, "an FTP stall: temporary (75)");
    is_int(odbk_curl_ftp_kind(CURLE_REMOTE_FILE_NOT_FOUND, 550), ODBK_E_NOINPUT, "no such remote file: no input");

    is_int(odbk_curl_init(&err), 0, "libcurl initialises");
    {
        /* a refused connection, through the one set-up: the message and the kind */
        static const struct odbk_curl_opts opts = {.protocols = "http,https", .connect_timeout = 5, .stall = 5};
        struct odbk_curl *c = odbk_curl_new();
        CURLcode cc;
        odbk_curl_setup(c, &opts);
        curl_easy_setopt(c->h, CURLOPT_URL, "http://127.0.0.1:1/x");
        cc = odbk_curl_perform(c);
        ok(cc != CURLE_OK, "nothing listens on port 1");
        is_int(odbk_curl_fail(c, cc, &err, "cannot fetch '%s'", "x"), -1, "odbk_curl_fail returns -1");
        ok(!strncmp(err.msg, "cannot fetch 'x': ", 18), "the message starts with what failed");
        is_int(err.code, ODBK_E_UNAVAILABLE, "of kind unavailable");
        odbk_curl_setup(c, &(struct odbk_curl_opts){.protocols = "ftp"});
        curl_easy_setopt(c->h, CURLOPT_URL, "http://127.0.0.1:1/x");
        cc = odbk_curl_perform(c);
        is_int(cc, CURLE_UNSUPPORTED_PROTOCOL, "a protocol the set-up does not allow is refused");
        odbk_curl_free(c);
    }
    {
        /* the stall watchdog counts time, not clock seconds: a transfer started at 0.6 s past a second
         * that waits 1.6 s for its first body byte is no 2 s stall (it was dropped at the next second
         * boundary but one, 1.4 s in) */
        static const struct odbk_curl_opts opts = {.protocols = "http", .connect_timeout = 5, .stall = 2};
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t sl = sizeof(sa);
        int ls = socket(AF_INET, SOCK_STREAM, 0);
        struct odbk_curl *c = odbk_curl_new();
        struct timespec now, wait = {0, 0};
        pthread_t th;
        char url[64];
        CURLcode cc;
        ok(ls >= 0 && bind(ls, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(ls, 1) == 0 &&
               getsockname(ls, (struct sockaddr *)&sa, &sl) == 0,
           "a local server listens");
        pthread_create(&th, NULL, slow_headers, &ls);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", ntohs(sa.sin_port));
        odbk_curl_setup(c, &opts);
        curl_easy_setopt(c->h, CURLOPT_URL, url);
        clock_gettime(CLOCK_MONOTONIC, &now);   /* start 0.6 s past a second of the watchdog's clock */
        wait.tv_nsec = (600000000L - now.tv_nsec + 1000000000L) % 1000000000L;
        nanosleep(&wait, NULL);
        cc = odbk_curl_perform(c);
        is_int(cc, CURLE_OK, "1.6 s of header lines without a body byte is no 2 s stall");
        if (cc != CURLE_OK)
            diag("%s", odbk_curl_why(c, cc));
        pthread_join(th, NULL);
        close(ls);
        odbk_curl_free(c);
    }
    return done_testing();
}
