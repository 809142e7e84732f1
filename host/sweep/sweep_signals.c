/* sweep_signals.c: signals to a running sweep: SIGINT, SIGTERM and SIGHUP ask it to stop its runs cleanly (a second one ends it at once, and its runs with it); SIGPIPE is ignored. */
#include <signal.h>
#include <string.h>
#include "sweep/sweep.h"

/* The one piece of global state: a signal handler receives no context pointer. */
static volatile sig_atomic_t stop_signal = 0;

static void on_stop(int sig)
{
    stop_signal = sig;
    /* The next one takes the default action: the sweep dies, and its runs with it
       (PR_SET_PDEATHSIG), for a user who will not wait for them to checkpoint. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    sigaction(SIGHUP, &dfl, NULL);
}

void sweep_signals_install(void)
{
    /* Installed whatever the sweep inherited: a sweep started as a script's background
       job has SIGINT ignored, and would otherwise go on while each run it starts is
       stopped by the same Ctrl-C. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESETHAND; /* no SA_RESTART: the wait for the runs polls */
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGHUP);
    stop_signal = 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* Progress into a closed pipe (`resnet sweep ... | head`) must not kill the sweep,
       which would take its runs down with it. */
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, NULL);
}

int sweep_stop_signal(void) { return stop_signal; }
