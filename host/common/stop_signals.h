/* stop_signals.h: SIGINT/SIGTERM/SIGHUP as a request to stop cleanly (a second one ends the process at once), for a training run and for a sweep; SIGXFSZ and SIGPIPE as write errors. */
#ifndef STOP_SIGNALS_H
#define STOP_SIGNALS_H

#include <signal.h>

/* The dispositions in force before stop_signals_install, for stop_signals_restore. */
typedef struct stop_signals {
    struct sigaction old_int, old_term, old_hup;
} stop_signals;

/*
 * Installs the handlers for SIGINT, SIGTERM and SIGHUP, one-shot: the first delivery of
 * any only records the signal, which the caller's loop polls (the trainer between steps,
 * the sweep between waits for its runs), and puts all
 * three back to the default action, so a second one kills the process at once,
 * e.g. while a long step or the checkpoint write is still running. Killed there, the
 * folder still holds the previous checkpoint or the new one, whole (fileio.h).
 */
void stop_signals_install(stop_signals *s);

/* Puts back the dispositions saved by stop_signals_install. */
void stop_signals_restore(const stop_signals *s);

/* Ignores SIGXFSZ for the rest of the process, so a file grown past the size limit
   (ulimit -f) is a write error (EFBIG) that the run reports, not a silent death. */
void file_size_limit_as_error(void);

/* Ignores SIGPIPE for the rest of the process: a closed stdout or stderr (a pipe into
   `head`) makes writes to it fail instead of ending the run. */
void closed_output_as_error(void);

/* The signal number received since stop_signals_install, or 0. */
int stop_signal_received(void);

#endif
