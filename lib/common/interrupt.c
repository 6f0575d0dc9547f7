/* interrupt.c - stop signals as a flag and a self-pipe (see interrupt.h). */
#include "common/interrupt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static int pipefd[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    if (!got)
        got = sig;
    if (pipefd[1] >= 0 && write(pipefd[1], "", 1) < 0) {
        /* the pipe is full: it is readable already */
    }
    errno = saved;
}

void odbk_interrupt_install(void)
{
    const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
    struct sigaction sa;
    size_t i;
    if (pipefd[0] >= 0)
        return;
    if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0)
        pipefd[0] = pipefd[1] = -1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        struct sigaction old;
        /* a signal ignored by whoever started us (nohup, a background job) stays ignored */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sigaction(sigs[i], &sa, NULL);
    }
}

int odbk_interrupted(void)
{
    return got;
}

int odbk_interrupt_fd(void)
{
    return pipefd[0];
}

const char *odbk_interrupt_name(void)
{
    int sig = got;
    return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : sig == SIGHUP ? "SIGHUP" : "a signal";
}

int odbk_interrupt_err(struct odbk_err *err)
{
    return odbk_err_set(err, ODBK_E_FAILED, "interrupted by %s", odbk_interrupt_name());
}

int odbk_interrupt_exit_code(void)
{
    return got ? 128 + got : 0;
}
