/* progress.h: the live progress line on a terminal, or plain periodic lines when stderr is not one. */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdio.h>

typedef struct progress {
    FILE *out;
    int tty;        /* rewrite one line with \r */
    int live;       /* a live line is on screen and not yet ended */
} progress;

void progress_init(progress *p, FILE *out);

/* One update: epoch, step/total, loss and lr (when have_loss; none yet otherwise), images/s, ETA. */
void progress_update(progress *p, double epoch, long step, long total, int have_loss, double loss, double lr,
                     double images_per_s, double eta_s);

/* A whole line of its own (an evaluation, a checkpoint), without garbling the live line. */
void progress_note(progress *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Ends the live line, if any. */
void progress_end(progress *p);

#endif
