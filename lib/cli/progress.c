/* progress.c - the progress bar and the JSON progress lines (progress.h).
 *
 * The bar keeps the lines it drew on the screen: a redraw goes back to the first of them (cursor up),
 * clears to the end of the screen and draws the phases under way again, each line shorter than the
 * terminal so that none wraps (a wrapped line would put the cursor-up count off and leave copies). */
#include "cli/progress.h"

#include <cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#define MAX_LINES 8

struct phase {
    char *name;
    int open;                  /* started, not yet finished or failed */
    uint64_t bytes, expected;
    int estimated;
    const char *unit;          /* NULL bytes, else the event's unit (a static string) */
    struct timespec start;
};

struct odbk_progress {
    enum odbk_progress_mode mode;
    pthread_mutex_t mu;
    struct timespec run_start;
    struct phase *ph;
    size_t n;
    int lines;                 /* bar lines on the screen, the cursor at the end of the last */
    char *env;                 /* of the last event, for the bar */
};

static double since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* ---- one line ---- */

static void fmt_duration(double s, char out[16])
{
    long v = s < 0 ? 0 : s > 359999 ? 359999 : (long)(s + 0.5);
    if (v < 60)
        snprintf(out, 16, "%lds", v);
    else if (v < 3600)
        snprintf(out, 16, "%ldm%02lds", v / 60, v % 60);
    else
        snprintf(out, 16, "%ldh%02ldm", v / 3600, v % 3600 / 60);
}

/* a count of things: "1234", the unit after the total (or after the count when the total goes) */
static void fmt_count(uint64_t n, char out[32])
{
    snprintf(out, 32, "%llu", (unsigned long long)n);
}

/* The figures at a level of detail: 0 all, then without the rate, the total, the ETA, the bytes.  With a
 * unit, counts of it ("120 of 10000 manifests  850/s"), not bytes. */
static size_t figures(char *out, size_t size, int level, uint64_t bytes, uint64_t expected, int estimated,
                      double seconds, const char *unit)
{
    char b[32], t[32], r[32], eta[16], pc[16];
    const char *tilde = estimated ? "~" : "";
    double rate = seconds > 0.2 ? (double)bytes / seconds : 0;
    size_t len = 0;
    if (unit)
        fmt_count(bytes, b);
    else
        odbk_fmt_size(bytes, b);
    out[0] = 0;
    if (expected) {
        uint64_t pct = bytes >= expected ? 100 : bytes * 100 / expected;
        if (pct > 99)
            pct = 99;   /* 100% is the phase's end, not a guess that was short */
        snprintf(pc, sizeof(pc), "%s%u%%", tilde, (unsigned)pct);
        len += (size_t)snprintf(out + len, size - len, "%4s", pc);
    }
    if (level < 4 || !expected)
        len += (size_t)snprintf(out + len, size - len, "%s%s", len ? "  " : "", b);
    if (expected && level < 2) {
        if (unit)
            fmt_count(expected, t);
        else
            odbk_fmt_size(expected, t);
        len += (size_t)snprintf(out + len, size - len, " of %s%s", tilde, t);
    }
    if (unit && (level < 4 || !expected))
        len += (size_t)snprintf(out + len, size - len, " %s", unit);
    if (rate > 0 && level < 1) {
        if (unit)
            snprintf(r, sizeof(r), "%.0f", rate);
        else
            odbk_fmt_size((uint64_t)rate, r);
        len += (size_t)snprintf(out + len, size - len, "  %s/s", r);
    }
    if (expected && rate > 0 && bytes < expected && level < 3) {
        fmt_duration((double)(expected - bytes) / rate, eta);
        len += (size_t)snprintf(out + len, size - len, "  ETA %s%s", tilde, eta);
    }
    return len < size ? len : size - 1;
}

/* s with every byte that is not printable ASCII as '?' (a name from the config could hold escapes) */
static void printable(char *dst, size_t size, const char *s)
{
    size_t i;
    for (i = 0; s && s[i] && i + 1 < size; i++)
        dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    dst[i] = 0;
}

#define BAR_MIN 10
#define BAR_MAX 20

/* odbk_progress_line with a bar of at most bar_max; *bar_room: how wide the bar could have been */
static size_t format_line(char *buf, size_t size, int width, size_t pad, size_t bar_max, size_t *bar_room,
                          const char *env, const char *phase, uint64_t bytes, uint64_t expected, int estimated,
                          double seconds, const char *unit)
{
    char e[64], ph[64], fig[128], label[160];
    size_t avail = width > 1 ? (size_t)width - 1 : 1, fl = 0, pl, budget, len;
    int level;
    printable(e, sizeof(e), env);
    printable(ph, sizeof(ph), phase ? phase : "");
    pl = strlen(ph);
    /* the most figures beside the whole phase name; the env name gives way first */
    for (level = 0; level <= 4; level++) {
        fl = figures(fig, sizeof(fig), level, bytes, expected, estimated, seconds, unit);
        if (pl + 2 + fl <= avail)
            break;
    }
    if (level > 4)
        level = 4;
    budget = avail > fl + 2 ? avail - fl - 2 : 0;
    if (*e && strlen(e) + 3 + pl <= budget)
        snprintf(label, sizeof(label), "[%s] %s", e, ph);
    else if (*e && budget >= pl + 7)   /* "[ab..] phase" */
        snprintf(label, sizeof(label), "[%.*s..] %s", (int)(budget - pl - 5), e, ph);
    else if (pl <= budget)
        snprintf(label, sizeof(label), "%s", ph);
    else if (budget >= 3)
        snprintf(label, sizeof(label), "%.*s..", (int)(budget - 2), ph);
    else
        snprintf(label, sizeof(label), "%.*s", (int)(budget < pl ? budget : pl), ph);
    len = strlen(label);
    if (pad > budget)
        pad = budget;
    len = (size_t)snprintf(buf, size, "%-*s", (int)(len < pad ? pad : len), label);
    /* room for "  [" + a bar + "]" */
    *bar_room = expected && avail >= len + 2 + fl + 4 + BAR_MIN ? avail - len - 2 - fl - 4 : 0;
    if (*bar_room && bar_max >= BAR_MIN) {
        size_t w = *bar_room < bar_max ? *bar_room : bar_max, k, i;
        k = bytes >= expected ? w : (size_t)((double)w * (double)bytes / (double)expected);
        len += (size_t)snprintf(buf + len, size - len, "  [");
        for (i = 0; i < w && len + 1 < size; i++)
            buf[len++] = i < k ? '#' : '-';
        buf[len] = 0;
        len += (size_t)snprintf(buf + len, size - len, "]");
        if (len >= size)
            len = size - 1;
    }
    if (fl && len < size)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "  " : "", fig);
    if (len >= size)
        len = size - 1;
    if (len > avail)   /* a terminal too narrow for anything whole */
        len = avail;
    buf[len] = 0;
    return len;
}

size_t odbk_progress_line(char *buf, size_t size, int width, size_t pad, const char *env, const char *phase,
                          uint64_t bytes, uint64_t expected, int estimated, double seconds)
{
    size_t room;
    return format_line(buf, size, width, pad, BAR_MAX, &room, env, phase, bytes, expected, estimated, seconds,
                       NULL);
}

/* ---- the bar on the terminal ---- */

static void term_size(int *cols, int *rows)
{
    struct winsize ws;
    const char *c = odbk_getenv("COLUMNS");
    *cols = 80;
    *rows = 24;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        *cols = ws.ws_col;
        *rows = ws.ws_row > 0 ? ws.ws_row : 24;
    } else if (c && atoi(c) > 0 && atoi(c) < 10000) {
        *cols = atoi(c);
    }
}

/* a phase whose sub-phases are under way ("safety backup" while "safety backup: database" runs) is not
 * a line of its own */
static int has_open_child(const struct odbk_progress *p, const struct phase *ph)
{
    size_t i, l = strlen(ph->name);
    for (i = 0; i < p->n; i++)
        if (p->ph[i].open && !strncmp(p->ph[i].name, ph->name, l) && !strncmp(p->ph[i].name + l, ": ", 2))
            return 1;
    return 0;
}

static void draw(struct odbk_progress *p)
{
    char out[MAX_LINES * 512 + 64], line[512];
    size_t len = 0, i, pad = 0, bar = BAR_MAX, room;
    int cols, rows, n = 0, max;
    term_size(&cols, &rows);
    max = rows - 1 < MAX_LINES ? rows - 1 : MAX_LINES;
    if (max < 1)
        max = 1;
    if (p->lines > 1)
        len += (size_t)snprintf(out + len, sizeof(out) - len, "\033[%dA", p->lines - 1);
    len += (size_t)snprintf(out + len, sizeof(out) - len, "\r\033[J");
    for (i = 0; i < p->n; i++)   /* the lines' labels padded to the same width, their bars aligned */
        if (p->ph[i].open && !has_open_child(p, &p->ph[i]))
            pad = strlen(p->ph[i].name) > pad ? strlen(p->ph[i].name) : pad;
    if (p->env)
        pad += strlen(p->env) + 3;
    for (i = 0; i < p->n; i++)   /* and their bars of the same width: the narrowest room, or none */
        if (p->ph[i].open && !has_open_child(p, &p->ph[i]) && p->ph[i].expected) {
            const struct phase *ph = &p->ph[i];
            format_line(line, sizeof(line), cols, pad, 0, &room, p->env, ph->name, ph->bytes, ph->expected,
                        ph->estimated, since(&ph->start), ph->unit);
            bar = room < bar ? room : bar;
        }
    for (i = 0; i < p->n && n < max; i++) {
        const struct phase *ph = &p->ph[i];
        if (!ph->open || has_open_child(p, ph))
            continue;
        format_line(line, sizeof(line), cols, pad, bar, &room, p->env, ph->name, ph->bytes, ph->expected,
                    ph->estimated, since(&ph->start), ph->unit);
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", n ? "\n" : "", line);
        n++;
    }
    fwrite(out, 1, len < sizeof(out) ? len : sizeof(out) - 1, stderr);
    fflush(stderr);
    p->lines = n;
}

static void clear_locked(struct odbk_progress *p)
{
    if (p->mode != ODBK_PROGRESS_BAR || !p->lines)
        return;
    if (p->lines > 1)
        fprintf(stderr, "\033[%dA", p->lines - 1);
    fputs("\r\033[J", stderr);
    fflush(stderr);
    p->lines = 0;
}

/* ---- JSON lines ---- */

static const char *status_name(enum odbk_progress_status s)
{
    switch (s) {
    case ODBK_PHASE_STARTED: return "started";
    case ODBK_PHASE_RUNNING: return "running";
    case ODBK_PHASE_FINISHED: return "finished";
    case ODBK_PHASE_FAILED: return "failed";
    }
    return "running";
}

static void json_line(const struct odbk_progress_event *ev, const char *phase, enum odbk_progress_status st,
                      uint64_t bytes, uint64_t expected, int estimated, double elapsed, const char *unit)
{
    cJSON *o = cJSON_CreateObject();
    char *s;
    if (ev->env)
        cJSON_AddStringToObject(o, "env", ev->env);
    else
        cJSON_AddNullToObject(o, "env");
    if (ev->backup_id)
        cJSON_AddStringToObject(o, "backup", ev->backup_id);
    else
        cJSON_AddNullToObject(o, "backup");
    if (phase)
        cJSON_AddStringToObject(o, "phase", phase);
    else
        cJSON_AddNullToObject(o, "phase");
    cJSON_AddStringToObject(o, "status", status_name(st));
    cJSON_AddNumberToObject(o, "bytes", (double)bytes);
    cJSON_AddNumberToObject(o, "expected", (double)expected);
    cJSON_AddBoolToObject(o, "estimated", estimated);
    if (unit)   /* bytes and expected count these, not bytes */
        cJSON_AddStringToObject(o, "unit", unit);
    cJSON_AddNumberToObject(o, "elapsed", (double)(long long)(elapsed * 10 + 0.5) / 10);
    if (st == ODBK_PHASE_FAILED && ev->error)
        cJSON_AddStringToObject(o, "error", ev->error);
    s = cJSON_PrintUnformatted(o);
    fprintf(stderr, "%s\n", s);
    fflush(stderr);
    free(s);
    cJSON_Delete(o);
}

/* ---- events ---- */

struct odbk_progress *odbk_progress_new(enum odbk_progress_mode mode, int quiet)
{
    struct odbk_progress *p;
    if (mode == ODBK_PROGRESS_AUTO)
        mode = !quiet && isatty(STDERR_FILENO) ? ODBK_PROGRESS_BAR : ODBK_PROGRESS_NONE;
    if (mode == ODBK_PROGRESS_NONE)
        return NULL;
    p = odbk_xcalloc(1, sizeof(*p));
    p->mode = mode;
    pthread_mutex_init(&p->mu, NULL);
    clock_gettime(CLOCK_MONOTONIC, &p->run_start);
    return p;
}

static void forget_phases(struct odbk_progress *p)
{
    size_t i;
    for (i = 0; i < p->n; i++)
        free(p->ph[i].name);
    free(p->ph);
    p->ph = NULL;
    p->n = 0;
}

static struct phase *find_phase(struct odbk_progress *p, const char *name)
{
    size_t i;
    for (i = 0; i < p->n; i++)
        if (!strcmp(p->ph[i].name, name))
            return &p->ph[i];
    p->ph = odbk_xrealloc(p->ph, (p->n + 1) * sizeof(*p->ph));
    memset(&p->ph[p->n], 0, sizeof(*p->ph));
    p->ph[p->n].name = odbk_xstrdup(name);
    clock_gettime(CLOCK_MONOTONIC, &p->ph[p->n].start);
    return &p->ph[p->n++];
}

/* The phases still open when their run (prefix NULL) or parent phase ends end with it. */
static void end_children(struct odbk_progress *p, const struct odbk_progress_event *ev, enum odbk_progress_status st)
{
    size_t i, l = ev->phase ? strlen(ev->phase) : 0;
    for (i = 0; i < p->n; i++) {
        struct phase *ph = &p->ph[i];
        if (!ph->open || (ev->phase && (strncmp(ph->name, ev->phase, l) || strncmp(ph->name + l, ": ", 2))))
            continue;
        ph->open = 0;
        if (p->mode == ODBK_PROGRESS_JSON)
            json_line(ev, ph->name, st, ph->bytes, ph->expected, ph->estimated, since(&ph->start), ph->unit);
    }
}

void odbk_progress_event(void *ctx, const struct odbk_progress_event *ev)
{
    struct odbk_progress *p = ctx;
    struct phase *ph = NULL;
    double elapsed;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    if (!ev->phase && ev->status == ODBK_PHASE_STARTED) {   /* a new run */
        forget_phases(p);
        clock_gettime(CLOCK_MONOTONIC, &p->run_start);
    }
    if (ev->status == ODBK_PHASE_FINISHED || ev->status == ODBK_PHASE_FAILED)
        end_children(p, ev, ev->status);
    if (ev->phase) {
        ph = find_phase(p, ev->phase);
        if (ev->status == ODBK_PHASE_STARTED) {
            clock_gettime(CLOCK_MONOTONIC, &ph->start);
            ph->bytes = 0;
        }
        ph->open = ev->status == ODBK_PHASE_STARTED || ev->status == ODBK_PHASE_RUNNING;
        ph->bytes = ev->bytes;
        ph->expected = ev->expected;
        ph->estimated = ev->estimated;
        ph->unit = ev->unit;
    }
    elapsed = since(ph ? &ph->start : &p->run_start);
    free(p->env);
    p->env = ev->env ? odbk_xstrdup(ev->env) : NULL;
    if (p->mode == ODBK_PROGRESS_JSON)
        json_line(ev, ev->phase, ev->status, ev->bytes, ev->expected, ev->estimated, elapsed, ev->unit);
    else if (!ev->phase && ev->status != ODBK_PHASE_STARTED && ev->status != ODBK_PHASE_RUNNING)
        clear_locked(p);   /* the run is over: what the program prints next gets a clean line */
    else
        draw(p);
    pthread_mutex_unlock(&p->mu);
}

void odbk_progress_clear(struct odbk_progress *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    clear_locked(p);
    pthread_mutex_unlock(&p->mu);
}

void odbk_progress_free(struct odbk_progress *p)
{
    if (!p)
        return;
    clear_locked(p);
    forget_phases(p);
    free(p->env);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
