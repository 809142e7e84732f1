/* progress.c: the live progress line on a terminal, or plain periodic lines when stderr is not one. */
#include "common/progress.h"
#include <math.h>
#include <stdarg.h>
#include <unistd.h>

void progress_init(progress *p, FILE *out)
{
    p->out = out;
    p->tty = isatty(fileno(out));
    p->live = 0;
}

static void fmt_duration(char *buf, size_t n, double s)
{
    if (!(s >= 0.0) || s > 360000.0) {
        snprintf(buf, n, "--:--");
        return;
    }
    const long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

void progress_update(progress *p, double epoch, long step, long total, int have_loss, double loss, double lr,
                     double images_per_s, double eta_s)
{
    char eta[32], ls[32], lrs[32];
    fmt_duration(eta, sizeof eta, eta_s);
    /* printf may write a NaN as "-nan"; the metrics files say "nan", so does this line. */
    if (!have_loss)
        snprintf(ls, sizeof ls, "--");
    else if (isnan(loss))
        snprintf(ls, sizeof ls, "nan");
    else
        snprintf(ls, sizeof ls, "%.4f", loss);
    if (have_loss)
        snprintf(lrs, sizeof lrs, "%.4g", lr);
    else
        snprintf(lrs, sizeof lrs, "--");
    /* \033[K clears what a longer previous line left behind. */
    fprintf(p->out, "%sepoch %.2f  step %ld/%ld  loss %s  lr %s  %.0f img/s  ETA %s%s",
            p->tty ? "\r" : "", epoch, step, total, ls, lrs, images_per_s, eta,
            p->tty ? "\033[K" : "\n");
    p->live = p->tty;
    fflush(p->out);
}

void progress_note(progress *p, const char *fmt, ...)
{
    progress_end(p);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->out, fmt, ap);
    va_end(ap);
    fputc('\n', p->out);
    fflush(p->out);
}

void progress_end(progress *p)
{
    if (p->live) {
        fputc('\n', p->out);
        fflush(p->out);
    }
    p->live = 0;
}
