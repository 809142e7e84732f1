/* report.c: plots of a sweep folder or one run folder: data files and gnuplot scripts in plots/, rendered to PNG and SVG by a gnuplot child process. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "config/config.h"
#include "common/exitcodes.h"
#include "common/fileio.h"
#include "schedule.h"
#include "sweep/sweep.h"

#define GNUPLOT "gnuplot"

typedef struct plotter {
    char dir[FILEIO_PATH_MAX]; /* the plots/ folder */
    int have_gnuplot;
    int made, failed;
} plotter;

/* Whether NAME is an executable file in a folder of $PATH. */
static int on_path(const char *name)
{
    const char *path = getenv("PATH");
    char buf[FILEIO_PATH_MAX];
    while (path && *path) {
        size_t n = strcspn(path, ":");
        if (n > 0 && snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, name) < (int)sizeof buf &&
            access(buf, X_OK) == 0)
            return 1;
        path += n + (path[n] == ':');
    }
    return 0;
}

static int plotter_init(plotter *p, const char *dir)
{
    memset(p, 0, sizeof *p);
    if (path_join(p->dir, sizeof p->dir, dir, "plots") != 0 || (mkdir(p->dir, 0777) != 0 && errno != EEXIST)) {
        fprintf(stderr, "report: cannot create %s/plots: %s\n", dir, strerror(errno));
        return EXIT_RUNTIME;
    }
    p->have_gnuplot = on_path(GNUPLOT);
    return 0;
}

static FILE *open_in(const plotter *p, const char *name, const char *mode)
{
    char path[FILEIO_PATH_MAX];
    if (path_join(path, sizeof path, p->dir, name) != 0)
        return NULL;
    FILE *f = fopen(path, mode);
    if (!f)
        fprintf(stderr, "report: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

/* Size in bytes of plots/NAME, 0 when missing. */
static long out_size(const plotter *p, const char *name)
{
    char path[FILEIO_PATH_MAX];
    struct stat st;
    return path_join(path, sizeof path, p->dir, name) == 0 && stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/*
 * Writes NAME.gp (the same BODY drawn once to NAME.png, once to NAME.svg) and runs
 * gnuplot on it inside plots/, so the scripts' relative paths hold when a user reruns
 * them there. gnuplot's messages go to plots/gnuplot.log.
 */
static void render(plotter *p, const char *name, const char *body)
{
    char gp[SW_SLUG + 16], png[SW_SLUG + 16], svg[SW_SLUG + 16];
    snprintf(gp, sizeof gp, "%s.gp", name);
    snprintf(png, sizeof png, "%s.png", name);
    snprintf(svg, sizeof svg, "%s.svg", name);
    FILE *f = open_in(p, gp, "w");
    if (!f) {
        p->failed++;
        return;
    }
    fprintf(f, "# %s: written by `resnet report`; run `gnuplot %s` in this folder to render it again.\n", gp, gp);
    fprintf(f, "set datafile separator ','\nset datafile missing ''\nset grid\n");
    fprintf(f, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
               "  set terminal pngcairo size 1000,650 noenhanced font ',10'\n"
               "} else {\n  set terminal png size 1000,650 noenhanced\n}\n");
    fprintf(f, "set output '%s'\n%s\nset terminal svg size 1000,650 dynamic noenhanced\nset output '%s'\n%s\n"
               "unset output\n", png, body, svg, body);
    if (fclose(f) != 0) {
        p->failed++;
        return;
    }
    if (!p->have_gnuplot)
        return;
    char log[FILEIO_PATH_MAX];
    path_join(log, sizeof log, p->dir, "gnuplot.log");
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0666);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(p->dir) != 0)
            _exit(127);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp(GNUPLOT, GNUPLOT, gp, (char *)NULL);
        _exit(127);
    }
    if (fd >= 0)
        close(fd);
    int status = 0;
    while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || out_size(p, png) == 0 || out_size(p, svg) == 0) {
        fprintf(stderr, "report: gnuplot could not draw %s/%s (see %s)\n", p->dir, gp, log);
        p->failed++;
    } else {
        p->made++;
    }
}

/* A growing string for a script body. */
typedef struct sbuf {
    char *s;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0)
        return;
    if (b->n + (size_t)need + 1 > b->cap) {
        size_t cap = (b->cap + (size_t)need + 1) * 2;
        char *g = realloc(b->s, cap);
        if (!g)
            return;
        b->s = g;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

/*
 * Text as a gnuplot string: single-quoted (no backquote command substitution there, as
 * there is in double quotes). gnuplot's '' escape fails next to another quote (four
 * quotes in a row are a syntax error), so text holding a quote becomes a concatenation
 * in which each quote is the expression "'" of its own: ('it' . "'" . 's').
 */
static void sb_quoted(sbuf *b, const char *s)
{
    if (!strchr(s, '\'')) {
        sb_add(b, "'%s'", s);
        return;
    }
    sb_add(b, "(");
    int parts = 0;
    for (const char *p = s;;) {
        const size_t n = strcspn(p, "'");
        if (n)
            sb_add(b, "%s'%.*s'", parts++ ? " . " : "", (int)n, p);
        if (!p[n])
            break;
        sb_add(b, "%s\"'\"", parts++ ? " . " : "");
        p += n + 1;
    }
    sb_add(b, ")");
}

/* ---------------------------------------------------------------- one run ---- */

/* A panel with nothing to draw: the axes and a note saying why, instead of an error. */
static void note_panel(sbuf *b, const char *ylabel, const char *why)
{
    sb_add(b, "set ylabel ");
    sb_quoted(b, ylabel);
    sb_add(b, "\nset label 1 ");
    sb_quoted(b, why);
    sb_add(b, " at graph 0.5, graph 0.5 center\nset yrange [0:1]\nplot NaN notitle\nunset label 1\nset yrange [*:*]\n");
}

int report_run(const char *run_dir)
{
    plotter p;
    int rc = plotter_init(&p, run_dir);
    if (rc)
        return rc;
    char eval[FILEIO_PATH_MAX], metrics[FILEIO_PATH_MAX];
    path_join(eval, sizeof eval, run_dir, "eval.csv");
    path_join(metrics, sizeof metrics, run_dir, "metrics.csv");
    /* gnuplot refuses a plot with no point it can draw (all undefined): such a panel gets
       a note instead, and the figure is drawn all the same. */
    long rows = 0, lr_ok = 0, loss_ok = 0, eval_rows = 0, eval_ok = 0;
    report_column(metrics, "lr", 0, &rows, &lr_ok);
    report_column(metrics, "loss", 1, &rows, &loss_ok);
    report_column(eval, "test_error", 0, &eval_rows, &eval_ok);
    const int with_eval = eval_rows > 0;
    sbuf b = {0};
    sb_add(&b, "set multiplot layout %d,1 title ", with_eval ? 3 : 2);
    sb_quoted(&b, run_dir);
    /* One step axis for all panels: evaluations are sparse and would get their own range. */
    sb_add(&b, "\nset xrange [0:%ld]\nset key off\nset xlabel 'step'\n", report_last_step(metrics));
    char why[160];
    if (!rows)
        snprintf(why, sizeof why, "metrics.csv has no rows yet");
    if (lr_ok)
        sb_add(&b, "set ylabel 'learning rate'\nset yrange [0:*]\nplot '../metrics.csv' using 'step':'lr' with lines "
                   "lw 2\nset yrange [*:*]\n");
    else {
        if (rows)
            snprintf(why, sizeof why, "no finite learning rate in the %ld rows of metrics.csv", rows);
        note_panel(&b, "learning rate", why);
        fprintf(stderr, "report: %s: %s; its panel says so\n", run_dir, why);
    }
    if (loss_ok)
        sb_add(&b, "set logscale y\nset ylabel 'training loss (log)'\nplot '../metrics.csv' using 'step':'loss' with "
                   "lines\nunset logscale y\n");
    else {
        if (rows)
            snprintf(why, sizeof why, "no finite positive training loss in the %ld rows of metrics.csv", rows);
        note_panel(&b, "training loss (log)", why);
        if (rows)
            fprintf(stderr, "report: %s: %s; its panel says so\n", run_dir, why);
    }
    if (with_eval && eval_ok)
        sb_add(&b, "set ylabel 'test error'\nset yrange [0:*]\n"
                   "plot '../eval.csv' using 'step':'test_error' with linespoints pt 7\nset yrange [*:*]\n");
    else if (with_eval)
        note_panel(&b, "test error", "no finite test error in eval.csv");
    sb_add(&b, "unset multiplot");
    render(&p, "run", b.s ? b.s : "");
    free(b.s);
    if (!p.have_gnuplot) {
        fprintf(stderr, "report: gnuplot was not found on PATH, so no PNG or SVG was drawn; install it (Debian/Ubuntu: "
                        "apt-get install gnuplot-nox), then rerun `resnet report %s` or run `gnuplot run.gp` in "
                        "%s\n", run_dir, p.dir);
        return EXIT_RUNTIME;
    }
    if (p.failed)
        return EXIT_RUNTIME;
    fprintf(stderr, "report: wrote %s/run.png and run.svg\n", p.dir);
    return EXIT_OK;
}

/* ------------------------------------------------------------- a sweep ---- */

static int peak_index(const sweep_table *t)
{
    for (int k = 0; k < t->n_keys; k++)
        if (!strcmp(t->key[k], SW_PEAK_KEY))
            return k;
    return -1;
}

/* Whether rows a and b agree on every grid value except the peak rate (and, with_variant, on the variant). */
static int same_other(const sweep_table *t, const sw_result *a, const sw_result *b, int with_variant)
{
    const int pk = peak_index(t);
    if (with_variant && strcmp(a->variant, b->variant))
        return 0;
    for (int k = 0; k < t->n_keys; k++)
        if (k != pk && strcmp(a->val[k], b->val[k]))
            return 0;
    return 1;
}

/* "depth=110 shape=step" for a row's grid values other than the peak rate. */
static void other_label(const sweep_table *t, const sw_result *r, char *out, size_t n)
{
    const int pk = peak_index(t);
    size_t used = 0;
    out[0] = '\0';
    for (int k = 0; k < t->n_keys && used < n; k++)
        if (k != pk) {
            const char *d = strrchr(t->key[k], '.');
            used += (size_t)snprintf(out + used, n - used, "%s%s=%s", used ? " " : "", d ? d + 1 : t->key[k],
                                     r->val[k]);
        }
}

/* Learning-rate curves, divided by each run's peak rate so the shapes line up; identical curves once. */
static void plot_schedules(plotter *p, const sweep_table *t)
{
    enum { MAX_CURVES = 48 };
    double *curve[MAX_CURVES];
    char title[MAX_CURVES][SW_SLUG];
    long len[MAX_CURVES], zoom = 0;
    int n = 0;
    run_config *cfg = malloc(sizeof *cfg);
    for (int i = 0; cfg && i < t->n && n < MAX_CURVES; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = same_other(t, &t->row[j], &t->row[i], 1) && t->row[j].status[0] != 'm';
        char path[FILEIO_PATH_MAX];
        if (seen || snprintf(path, sizeof path, "%s/%s/config.yaml", t->dir, t->row[i].run) >= (int)sizeof path ||
            access(path, R_OK) != 0)
            continue;
        fflush(stderr);
        if (config_load(path, 0, NULL, cfg) != 0)
            continue;
        const sched_params *sp = &cfg->schedule;
        const long T = sp->total_steps;
        double *c = malloc((size_t)T * sizeof *c);
        if (!c)
            break;
        sched_state st;
        sched_state_init(sp, &st);
        for (long s = 0; s < T; s++) {
            c[s] = sched_next_lr(sp, &st) / sp->peak_lr; /* He's rule drawn at its full length */
            sched_state_advance(sp, &st, 1.0);
        }
        int dup = 0;
        for (int k = 0; k < n && !dup; k++) {
            dup = len[k] == T;
            for (long s = 0; dup && s < T; s++)
                dup = fabs(curve[k][s] - c[s]) <= 1e-9;
        }
        if (dup) {
            free(c);
            continue;
        }
        if (2 * sp->warmup_steps > zoom)
            zoom = 2 * sp->warmup_steps;
        curve[n] = c;
        len[n] = T;
        char other[SW_SLUG];
        other_label(t, &t->row[i], other, sizeof other);
        if (snprintf(title[n++], sizeof title[0], "%s%s%s", t->row[i].variant, other[0] ? " " : "", other) < 0)
            title[n - 1][0] = '\0';
    }
    free(cfg);
    if (!n)
        return;
    FILE *f = open_in(p, "schedules.csv", "w");
    for (int k = 0; f && k < n; k++) {
        /* Every step of the warmup zoom, then about 2000 points, plus both sides of each jump. */
        const long stride = len[k] / 2000 > 1 ? len[k] / 2000 : 1;
        fprintf(f, "%s# %s\nstep,lr_over_peak\n", k ? "\n\n" : "", title[k]);
        for (long s = 0; s < len[k]; s++)
            if (s < zoom || s % stride == 0 || s + 1 == len[k] ||
                (s > 0 && fabs(curve[k][s] - curve[k][s - 1]) > 0.02) ||
                (s + 1 < len[k] && fabs(curve[k][s + 1] - curve[k][s]) > 0.02))
                fprintf(f, "%ld,%.6g\n", s + 1, curve[k][s]);
    }
    if (f)
        fclose(f);
    sbuf b = {0};
    sb_add(&b, "set multiplot layout %d,1 title 'learning rate / peak rate of each schedule'\n"
               "set xlabel 'step'\nset ylabel 'lr / peak'\nset yrange [0:1.05]\nset key outside right\n",
           zoom ? 2 : 1);
    for (int pass = 0; pass < (zoom ? 2 : 1); pass++) {
        if (pass)
            sb_add(&b, "set title 'first %ld steps (warmup)'\nset xrange [0:%ld]\n", zoom, zoom);
        sb_add(&b, "plot ");
        for (int k = 0; k < n; k++) {
            sb_add(&b, "%s'schedules.csv' index %d using 1:2 with lines lw 2 title ", k ? ", \\\n     " : "", k);
            sb_quoted(&b, title[k]);
        }
        sb_add(&b, "\n");
    }
    sb_add(&b, "unset multiplot\nset xrange [*:*]\nset yrange [*:*]\nunset title");
    render(p, "schedules", b.s ? b.s : "");
    free(b.s);
    for (int k = 0; k < n; k++)
        free(curve[k]);
}

/* Training loss of every seed of each cell, one figure per cell, read from the runs' metrics.csv. */
static void plot_losses(plotter *p, const sweep_table *t, const sw_cellstat *cs, int nc)
{
    for (int c = 0; c < nc; c++) {
        const sw_result *first = &t->row[cs[c].first_row];
        sbuf b = {0};
        int n = 0;
        sb_add(&b, "set title '%s: %d of %d runs diverged'\nset logscale y\nset xlabel 'step'\n"
                   "set ylabel 'training loss (log)'\nset key outside right\nplot ", first->cell, cs[c].failures,
               cs[c].runs);
        for (int i = cs[c].first_row; i < t->n && !strcmp(t->row[i].cell, first->cell); i++) {
            char path[FILEIO_PATH_MAX];
            long rows = 0, usable = 0;
            if (snprintf(path, sizeof path, "%s/%s/metrics.csv", t->dir, t->row[i].run) >= (int)sizeof path ||
                report_column(path, "loss", 1, &rows, &usable) != 0 || usable == 0)
                continue; /* nothing a log scale can draw */
            sb_add(&b, "%s'../%s/metrics.csv' using 'step':'loss' with lines title 'seed %llu (%s)'",
                   n++ ? ", \\\n     " : "", t->row[i].run, t->row[i].seed, t->row[i].status);
        }
        char name[SW_SLUG + 8];
        snprintf(name, sizeof name, "loss_%s", first->cell);
        if (n)
            render(p, name, b.s);
        else
            fprintf(stderr, "report: %s: no run of cell %s has a finite training loss to draw; no figure\n", name,
                    first->cell);
        free(b.s);
    }
}

/* Per group of other grid values: a failure-rate heat map (variant x peak rate) and final error against peak rate. */
static void plot_groups(plotter *p, const sweep_table *t, const sw_cellstat *cs, int nc)
{
    int *done = calloc((size_t)nc, sizeof *done);
    double *rates = malloc((size_t)nc * sizeof *rates);
    int *vrow = malloc((size_t)nc * sizeof *vrow);
    int n_groups = 0;
    for (int g0 = 0; done && rates && vrow && g0 < nc; g0++) {
        if (done[g0])
            continue;
        const sw_result *lead = &t->row[cs[g0].first_row];
        int nr = 0, nv = 0, members = 0;
        char vname[SW_MAX_VARIANTS + 1][SW_NAME];
        for (int c = g0; c < nc; c++) {
            const sw_result *r = &t->row[cs[c].first_row];
            if (!same_other(t, lead, r, 0))
                continue;
            done[c] = 1;
            members++;
            int k = 0;
            while (k < nr && rates[k] != r->peak_lr)
                k++;
            if (k == nr)
                rates[nr++] = r->peak_lr;
            k = 0;
            while (k < nv && strcmp(vname[k], r->variant))
                k++;
            if (k == nv && nv <= SW_MAX_VARIANTS)
                snprintf(vname[nv++], SW_NAME, "%s", r->variant);
            vrow[c] = k;
        }
        for (int i = 1; i < nr; i++) /* ascending rates */
            for (int j = i; j > 0 && rates[j] < rates[j - 1]; j--) {
                double x = rates[j];
                rates[j] = rates[j - 1];
                rates[j - 1] = x;
            }
        char other[SW_SLUG], suffix[SW_SLUG + 8], name[SW_SLUG + 32], data[SW_SLUG + 40];
        other_label(t, lead, other, sizeof other);
        snprintf(suffix, sizeof suffix, n_groups ? "_%d" : "", n_groups + 1);
        n_groups++;

        snprintf(name, sizeof name, "failure_rate%s", suffix);
        snprintf(data, sizeof data, "%s.csv", name);
        FILE *f = open_in(p, data, "w");
        if (f) {
            fprintf(f, "rate_index,variant_index,failure_rate,label\n");
            for (int c = 0; c < nc; c++) {
                const sw_result *r = &t->row[cs[c].first_row];
                if (!same_other(t, lead, r, 0))
                    continue;
                int x = 0;
                while (rates[x] != r->peak_lr)
                    x++;
                if (cs[c].runs)
                    fprintf(f, "%d,%d,%.6g,%d/%d\n", x, vrow[c], cs[c].rate, cs[c].failures, cs[c].runs);
                else
                    fprintf(f, "%d,%d,,none\n", x, vrow[c]);
            }
            fclose(f);
            sbuf b = {0};
            char title[SW_SLUG + 40];
            snprintf(title, sizeof title, "failed runs (diverged)%s%s", other[0] ? " at " : "", other);
            sb_add(&b, "set title ");
            sb_quoted(&b, title);
            sb_add(&b, "\nset xlabel 'peak learning rate'\n"
                       "set ylabel 'variant'\nset xrange [-0.5:%d.5]\nset yrange [%d.5:-0.5]\nset cbrange [0:1]\n"
                       "set cblabel 'failure rate'\nset palette defined (0 '#1a9850', 0.5 '#fee08b', 1 '#d73027')\n"
                       "unset grid\nset key off\nset xtics (", nr - 1, nv - 1);
            for (int i = 0; i < nr; i++)
                sb_add(&b, "%s'%g' %d", i ? ", " : "", rates[i], i);
            sb_add(&b, ")\nset ytics (");
            for (int i = 0; i < nv; i++)
                sb_add(&b, "%s'%s' %d", i ? ", " : "", vname[i], i);
            sb_add(&b, ")\nplot '%s' using 1:2:(0.5):(0.5):3 skip 1 with boxxyerror fs solid 1 noborder "
                       "fc palette, \\\n     '' using 1:2:4 skip 1 with labels\nset grid\nset xtics autofreq\n"
                       "set ytics autofreq\nset xrange [*:*]\nset yrange [*:*]", data);
            render(p, name, b.s ? b.s : "");
            free(b.s);
        }

        snprintf(name, sizeof name, "final_error%s", suffix);
        snprintf(data, sizeof data, "%s.csv", name);
        f = open_in(p, data, "w");
        if (!f)
            continue;
        sbuf b = {0};
        int blocks = 0;
        char title[SW_SLUG + 96];
        snprintf(title, sizeof title, "final test error of the runs that did not diverge (mean +- sd over seeds)%s%s",
                 other[0] ? " " : "", other);
        sb_add(&b, "set title ");
        sb_quoted(&b, title);
        sb_add(&b, "\nset xlabel 'peak learning rate'\nset ylabel 'test error (%%)'\nset key outside right\n%s"
                   "set xtics (", nr > 1 ? "set logscale x 2\n" : "");
        for (int i = 0; i < nr; i++)
            sb_add(&b, "%s'%g' %.17g", i ? ", " : "", rates[i], rates[i]);
        sb_add(&b, ")\nset offsets graph 0.05, graph 0.05, 0, 0\nplot ");
        for (int v = 0; v < nv; v++) {
            int pts = 0;
            for (int i = 0; i < nr; i++)
                for (int c = 0; c < nc; c++)
                    if (vrow[c] == v && same_other(t, lead, &t->row[cs[c].first_row], 0) &&
                        t->row[cs[c].first_row].peak_lr == rates[i] && cs[c].survivors > 0) {
                        if (!pts++)
                            fprintf(f, "%s# %s\npeak_lr,mean_error_pct,sd_error_pct,survivors\n",
                                    blocks ? "\n\n" : "", vname[v]);
                        fprintf(f, "%.6g,%.6g,%.6g,%d\n", rates[i], 100 * cs[c].mean_err,
                                isfinite(cs[c].sd_err) ? 100 * cs[c].sd_err : 0.0, cs[c].survivors);
                    }
            if (pts) {
                sb_add(&b, "%s'%s' index %d using 1:2:3 with yerrorlines lw 2 pt 7 title '%s'",
                       blocks ? ", \\\n     " : "", data, blocks, vname[v]);
                blocks++;
            }
        }
        fclose(f);
        sb_add(&b, "\nunset logscale x\nset xtics autofreq\nset offsets 0, 0, 0, 0");
        if (blocks)
            render(p, name, b.s);
        free(b.s);
    }
    free(done);
    free(rates);
    free(vrow);
}

int report_sweep(const sweep_table *t)
{
    plotter p;
    int rc = plotter_init(&p, t->dir);
    if (rc)
        return rc;
    sw_cellstat *cs = NULL;
    int nc = sweep_cells(t, &cs);
    if (nc < 0) {
        fprintf(stderr, "report: out of memory\n");
        return EXIT_RUNTIME;
    }
    plot_schedules(&p, t);
    plot_groups(&p, t, cs, nc);
    plot_losses(&p, t, cs, nc);
    free(cs);
    if (!p.have_gnuplot) {
        fprintf(stderr, "report: gnuplot was not found on PATH, so no PNG or SVG was drawn; the tables (runs.csv, "
                        "cells.csv, stable_lr.csv), the plot data and the scripts (*.gp) are written. Install gnuplot "
                        "(Debian/Ubuntu: apt-get install gnuplot-nox), then rerun `resnet report %s`, or run "
                        "`gnuplot NAME.gp` in %s\n", t->dir, p.dir);
        return EXIT_RUNTIME;
    }
    fprintf(stderr, "report: %d figures (PNG and SVG) in %s%s\n", p.made, p.dir,
            p.failed ? "; some could not be drawn (see gnuplot.log)" : "");
    return p.failed ? EXIT_RUNTIME : EXIT_OK;
}
