/* test-progress.c - the progress bar's lines fit the terminal whatever the names and figures (the env
 * name gives way before the figures), names cannot smuggle escapes onto the terminal, a redraw replaces
 * the lines drawn before and the run's end takes them off; JSON lines carry env, backup, phase, status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/progress.h"
#include "tap.h"

static const char *long_env = "production-eu-west-customer-with-a-very-long-environment-name-that-goes-on";

static int all_fit(void)
{
    const char *envs[] = {NULL, "prod", long_env, "x"};
    const char *phases[] = {"database", "safety backup: verify filestore", "restore: filestore", ""};
    const uint64_t bytes[] = {0, 999, 123456789, 98765432109876ULL};
    char buf[512];
    int w;
    size_t e, p, b, x;
    for (w = 1; w <= 200; w++)
        for (e = 0; e < 4; e++)
            for (p = 0; p < 4; p++)
                for (b = 0; b < 4; b++)
                    for (x = 0; x < 2; x++) {
                        size_t len = odbk_progress_line(buf, sizeof(buf), w, (size_t)w / 2, envs[e], phases[p], bytes[b],
                                                        x ? 2 * bytes[b] + 1 : 0, (int)x, 7.5);
                        size_t max = w > 1 ? (size_t)w - 1 : 1;
                        if (len != strlen(buf) || len > max) {
                            printf("# width %d: '%s' (%zu)\n", w, buf, len);
                            return 0;
                        }
                    }
    return 1;
}

/* the text written to stderr while f runs */
static char *capture_stderr(void (*f)(void *), void *arg)
{
    char path[] = "/tmp/test-progress-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    FILE *in;
    char *s = calloc(1, 65536);
    fflush(stderr);
    dup2(fd, 2);
    f(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    in = fopen(path, "r");
    if (in) {
        size_t n = fread(s, 1, 65535, in);
        s[n] = 0;
        fclose(in);
    }
    close(fd);
    unlink(path);
    return s;
}

static void ev(struct odbk_progress *p, const char *phase, enum odbk_progress_status st, uint64_t bytes,
               uint64_t expected)
{
    struct odbk_progress_event e = {"prod", "20260102T030405Z-1a2b3c", phase, st, bytes, expected, 1, NULL, NULL};
    if (st == ODBK_PHASE_FAILED)
        e.error = "pg_dump: \"quoted\" failure";
    odbk_progress_event(p, &e);
}

static void a_run(void *mode)
{
    struct odbk_progress *p = odbk_progress_new(*(enum odbk_progress_mode *)mode, 0);
    ev(p, NULL, ODBK_PHASE_STARTED, 0, 0);
    ev(p, "database", ODBK_PHASE_STARTED, 0, 1000000);
    ev(p, "filestore", ODBK_PHASE_STARTED, 0, 2000000);
    ev(p, "database", ODBK_PHASE_RUNNING, 500000, 1000000);
    ev(p, "filestore", ODBK_PHASE_RUNNING, 100000, 2000000);
    ev(p, "database", ODBK_PHASE_FINISHED, 1000000, 1000000);
    ev(p, "filestore", ODBK_PHASE_RUNNING, 200000, 2000000);
    ev(p, NULL, ODBK_PHASE_FAILED, 0, 0);   /* the filestore is still open: it fails with the run */
    odbk_progress_free(p);
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (s = strstr(s, what); s; s = strstr(s + 1, what))
        n++;
    return n;
}

int main(void)
{
    char buf[512], *out;
    enum odbk_progress_mode mode;

    ok(all_fit(), "every line is shorter than the terminal, from 1 to 200 columns");

    odbk_progress_line(buf, sizeof(buf), 80, 0, long_env, "database", 45000000, 100000000, 1, 10);
    printf("# %s\n", buf);
    ok(strstr(buf, "~45%") && strstr(buf, "45.0 MB of ~100.0 MB") && strstr(buf, "4.5 MB/s") &&
           strstr(buf, "ETA ~12s"), "80 columns, a long env name: every figure is there");
    ok(strstr(buf, "] database") && strstr(buf, "[production") && strstr(buf, "..]"),
       "the env name is shortened, the phase whole");
    odbk_progress_line(buf, sizeof(buf), 80, 0, "prod", "database", 45000000, 100000000, 0, 10);
    printf("# %s\n", buf);
    ok(!strncmp(buf, "[prod] database  [", 18) && strstr(buf, "#--") && strstr(buf, "  45%  45.0 MB of 100.0 MB  4.5 MB/s  ETA 12s"), "room left: a bar");
    odbk_progress_line(buf, sizeof(buf), 80, 0, "prod", "database", 150, 100, 1, 10);
    ok(strstr(buf, "~99%") && !strstr(buf, "ETA"), "an estimate that was short stays at ~99%, without an ETA");
    odbk_progress_line(buf, sizeof(buf), 80, 0, "prod", "database", 4500000, 0, 0, 1);
    printf("# %s\n", buf);
    ok(!strchr(buf, '%') && strstr(buf, "4.5 MB  4.5 MB/s"), "nothing expected: bytes and rate, no percentage");
    odbk_progress_line(buf, sizeof(buf), 80, 0, "prod\033[2J\033]0;x\007", "data\nbase", 1, 0, 0, 1);
    ok(!strchr(buf, '\033') && !strchr(buf, '\007') && !strchr(buf, '\n') && strstr(buf, "[prod?[2J?]0;x?] data?base"),
       "control characters of a name are shown as '?'");
    odbk_progress_line(buf, sizeof(buf), 30, 0, long_env, "safety backup: verify filestore", 45000000, 100000000, 1, 10);
    printf("# %s\n", buf);
    ok(strlen(buf) <= 29 && strstr(buf, "~45%"), "30 columns: the percentage stays");

    setenv("COLUMNS", "60", 1);
    mode = ODBK_PROGRESS_BAR;
    out = capture_stderr(a_run, &mode);
    ok(count(out, "\r\033[J") >= 7 && count(out, "\033[1A") >= 2, "each redraw goes back up and clears");
    ok(strstr(out, "[prod] database") && strstr(out, "[prod] filestore"), "one line per phase");
    ok(strlen(out) >= 4 && !strcmp(out + strlen(out) - 4, "\r\033[J"), "the run's end leaves a cleared line");
    free(out);

    mode = ODBK_PROGRESS_JSON;
    out = capture_stderr(a_run, &mode);
    printf("# %s", out);
    ok(strstr(out, "{\"env\":\"prod\",\"backup\":\"20260102T030405Z-1a2b3c\",\"phase\":null,\"status\":\"started\""),
       "the run's start");
    ok(strstr(out, "\"phase\":\"database\",\"status\":\"finished\",\"bytes\":1000000,\"expected\":1000000,"
                   "\"estimated\":true"),
       "a phase's end");
    ok(strstr(out, "\"phase\":\"filestore\",\"status\":\"failed\"") &&
           strstr(out, "\"phase\":null,\"status\":\"failed\""),
       "an open phase fails with its run, then the run");
    ok(strstr(out, "\"error\":\"pg_dump: \\\"quoted\\\" failure\""), "the error, escaped");
    is_int(count(out, "\n"), 9, "one line per event, and one for the phase ended by the run");
    free(out);

    ok(odbk_progress_new(ODBK_PROGRESS_NONE, 0) == NULL, "none: nothing");
    odbk_progress_event(NULL, NULL);
    odbk_progress_clear(NULL);
    ok(1, "a NULL progress is a no-op");
    return done_testing();
}
