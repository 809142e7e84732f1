/* stop_signals.c: SIGINT/SIGTERM/SIGHUP as a request to stop cleanly (a second one ends the process at once), for a training run and for a sweep; SIGXFSZ and SIGPIPE as write errors. */
#include "common/stop_signals.h"
#include <string.h>

/* The one piece of global state: a signal handler receives no context pointer. */
static volatile sig_atomic_t stop_signal = 0;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
    /* Whichever came first, the next SIGINT or SIGTERM takes the default action (the
       process ends at once): sigaction is async-signal-safe. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    sigaction(SIGHUP, &dfl, NULL);
}

void stop_signals_install(stop_signals *s)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    /* One-shot: after the first delivery the default action (terminate) is back, so a
       second Ctrl-C is not swallowed by a run busy finishing its step. SA_RESETHAND for
       the signal delivered, the handler itself for the other one; both blocked while it
       runs, so two signals at once cannot both be taken for the first. No SA_RESTART: the
       loop polls between steps, and regular-file I/O is not interrupted anyway. */
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGHUP);
    stop_signal = 0;
    sigaction(SIGINT, &sa, &s->old_int);
    sigaction(SIGTERM, &sa, &s->old_term);
    /* A closed terminal (or `kill -HUP`) is a request to stop, not a reason to lose the
       steps since the last checkpoint. */
    sigaction(SIGHUP, &sa, &s->old_hup);
}

void file_size_limit_as_error(void)
{
    /* By default a write past the file size limit (ulimit -f) kills the process with
       SIGXFSZ; ignored, the write fails with EFBIG like a full disk, and the run ends
       with a message naming the file and exit 3, its previous checkpoint whole. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGXFSZ, &sa, NULL);
}

void closed_output_as_error(void)
{
    /* `resnet train ... | head` closes the pipe after a few lines; by default the next
       progress line would kill the run with SIGPIPE, without a checkpoint. Ignored, the
       write fails with EPIPE, which the progress line does not check: the run goes on and
       keeps its record in the run folder. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
}

void stop_signals_restore(const stop_signals *s)
{
    sigaction(SIGINT, &s->old_int, NULL);
    sigaction(SIGTERM, &s->old_term, NULL);
    sigaction(SIGHUP, &s->old_hup, NULL);
}

int stop_signal_received(void) { return stop_signal; }
