/* sweep_results.c: the sweep's result tables (runs.csv, cells.csv, stable_lr.csv) and the summary printed at the end. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "common/exitcodes.h"
#include "common/fileio.h"
#include "sweep/stats.h"
#include "common/csv.h"
#include "sweep/sweep.h"

static int complete(const sw_result *r)
{
    return !strcmp(r->status, "finished") || !strcmp(r->status, "diverged");
}

/* Rows of one cell are contiguous in plan order (runs are listed cell by cell). */
int sweep_cells(const sweep_table *t, sw_cellstat **out)
{
    sw_cellstat *cs = calloc((size_t)(t->n ? t->n : 1), sizeof *cs);
    double *errs = malloc((size_t)(t->n ? t->n : 1) * sizeof *errs);
    double *steps = malloc((size_t)(t->n ? t->n : 1) * sizeof *steps);
    int n = 0;
    if (!cs || !errs || !steps) {
        free(cs);
        free(errs);
        free(steps);
        *out = NULL;
        return -1;
    }
    for (int i = 0; i < t->n;) {
        int j = i;
        while (j < t->n && !strcmp(t->row[j].cell, t->row[i].cell))
            j++;
        sw_cellstat *c = &cs[n++];
        int n_err = 0, n_step = 0;
        c->first_row = i;
        for (int k = i; k < j; k++) {
            const sw_result *r = &t->row[k];
            if (!complete(r)) {
                c->incomplete++;
                continue;
            }
            c->runs++;
            c->spikes += r->spikes;
            c->stalled += r->stalled == 1;
            if (!strcmp(r->status, "diverged")) {
                c->failures++;
                if (r->fail_step >= 0)
                    steps[n_step++] = (double)r->fail_step;
            } else if (isfinite(r->final_err)) {
                errs[n_err++] = r->final_err;
            }
        }
        c->survivors = n_err;
        c->rate = c->runs ? (double)c->failures / c->runs : NAN;
        stats_wilson(c->failures, c->runs, STATS_Z95, &c->lo, &c->hi);
        if (!c->runs)
            c->lo = c->hi = NAN;
        c->median_fail_step = stats_median(steps, n_step);
        c->mean_err = stats_mean(errs, n_err);
        c->sd_err = stats_sd(errs, n_err);
        i = j;
    }
    free(errs);
    free(steps);
    *out = cs;
    return n;
}

static void fmt_num(char *out, size_t n, double v, const char *fmt)
{
    if (isfinite(v))
        snprintf(out, n, fmt, v);
    else
        out[0] = '\0';
}

static int peak_key(const sweep_table *t)
{
    for (int k = 0; k < t->n_keys; k++)
        if (!strcmp(t->key[k], SW_PEAK_KEY))
            return k;
    return -1;
}

/* A stable-rate group: the variant and every grid value except the peak rate. */
static int same_group(const sweep_table *t, const sw_result *a, const sw_result *b)
{
    const int pk = peak_key(t);
    if (strcmp(a->variant, b->variant))
        return 0;
    for (int k = 0; k < t->n_keys; k++)
        if (k != pk && strcmp(a->val[k], b->val[k]))
            return 0;
    return 1;
}

typedef struct stable_row {
    int first_row, rates, incomplete;
    double max_stable, min_any_fail, min_all_fail;
} stable_row;

static int stable_groups(const sweep_table *t, const sw_cellstat *cs, int nc, stable_row *g)
{
    int ng = 0;
    for (int c = 0; c < nc; c++) {
        const sw_result *r = &t->row[cs[c].first_row];
        int k = 0;
        while (k < ng && !same_group(t, &t->row[g[k].first_row], r))
            k++;
        if (k == ng)
            g[ng++] = (stable_row){cs[c].first_row, 0, 0, NAN, NAN, NAN};
        stable_row *s = &g[k];
        s->incomplete += cs[c].incomplete > 0;
        if (!cs[c].runs)
            continue;
        s->rates++;
        const double lr = r->peak_lr;
        if (cs[c].failures == 0 && !(lr <= s->max_stable))
            s->max_stable = lr;
        if (cs[c].failures > 0 && !(lr >= s->min_any_fail))
            s->min_any_fail = lr;
        if (cs[c].failures == cs[c].runs && !(lr >= s->min_all_fail))
            s->min_all_fail = lr;
    }
    return ng;
}

static void put_keys(FILE *f, const sweep_table *t, int skip)
{
    for (int k = 0; k < t->n_keys; k++)
        if (k != skip)
            csv_put(f, t->key[k], 0);
}

static void put_vals(FILE *f, const sweep_table *t, const sw_result *r, int skip)
{
    for (int k = 0; k < t->n_keys; k++)
        if (k != skip)
            csv_put(f, r->val[k], 0);
}

static int write_runs(const sweep_table *t, char *err, size_t en)
{
    char path[FILEIO_PATH_MAX], a[64], b[64], c[64], d[64], e[64];
    atomic_file af;
    path_join(path, sizeof path, t->dir, "runs.csv");
    FILE *f = atomic_open(&af, path, err, en);
    if (!f)
        return -1;
    fputs("run,variant,", f);
    put_keys(f, t, -1);
    fputs("seed,status,fail_criterion,fail_step,fail_lr,fail_phase,fail_values,spikes,unrecovered_spike,stalled,"
          "final_test_error,best_test_error,steps,wall_s\n", f);
    for (int i = 0; i < t->n; i++) {
        const sw_result *r = &t->row[i];
        csv_put(f, r->run, 0);
        csv_put(f, r->variant, 0);
        put_vals(f, t, r, -1);
        fmt_num(a, sizeof a, r->fail_lr, "%.6g");
        fmt_num(b, sizeof b, r->final_err, "%.6g");
        fmt_num(c, sizeof c, r->best_err, "%.6g");
        fmt_num(d, sizeof d, r->wall_s, "%.3f");
        fprintf(f, "%llu,%s,%s,", r->seed, r->status, r->criterion);
        if (r->fail_step >= 0)
            fprintf(f, "%ld", r->fail_step);
        fprintf(f, ",%s,%s,", a, r->phase);
        csv_put(f, r->fail_values, 0);
        snprintf(e, sizeof e, "%d", r->stalled);
        fprintf(f, "%d,%d,%s,%s,%s,", r->spikes, r->unrecovered, r->stalled < 0 ? "" : e, b, c);
        if (r->steps >= 0)
            fprintf(f, "%ld", r->steps);
        fprintf(f, ",%s\n", d);
    }
    return atomic_commit(&af, err, en);
}

static int write_cells(const sweep_table *t, const sw_cellstat *cs, int nc, char *err, size_t en)
{
    char path[FILEIO_PATH_MAX], v[6][64];
    atomic_file af;
    path_join(path, sizeof path, t->dir, "cells.csv");
    FILE *f = atomic_open(&af, path, err, en);
    if (!f)
        return -1;
    fputs("cell,variant,", f);
    put_keys(f, t, -1);
    fputs("runs,failures,failure_rate,wilson_lo,wilson_hi,median_fail_step,survivors,mean_final_test_error,"
          "sd_final_test_error,stalled,spikes,incomplete\n", f);
    for (int c = 0; c < nc; c++) {
        const sw_cellstat *s = &cs[c];
        const sw_result *r = &t->row[s->first_row];
        csv_put(f, r->cell, 0);
        csv_put(f, r->variant, 0);
        put_vals(f, t, r, -1);
        fmt_num(v[0], 64, s->rate, "%.6g");
        fmt_num(v[1], 64, s->lo, "%.6f");
        fmt_num(v[2], 64, s->hi, "%.6f");
        fmt_num(v[3], 64, s->median_fail_step, "%.1f");
        fmt_num(v[4], 64, s->mean_err, "%.6g");
        fmt_num(v[5], 64, s->sd_err, "%.6g");
        fprintf(f, "%d,%d,%s,%s,%s,%s,%d,%s,%s,%d,%d,%d\n", s->runs, s->failures, v[0], v[1], v[2], v[3],
                s->survivors, v[4], v[5], s->stalled, s->spikes, s->incomplete);
    }
    return atomic_commit(&af, err, en);
}

static int write_stable(const sweep_table *t, const stable_row *g, int ng, char *err, size_t en)
{
    char path[FILEIO_PATH_MAX], a[64], b[64], c[64];
    atomic_file af;
    const int pk = peak_key(t);
    path_join(path, sizeof path, t->dir, "stable_lr.csv");
    FILE *f = atomic_open(&af, path, err, en);
    if (!f)
        return -1;
    fputs("variant,", f);
    put_keys(f, t, pk);
    fputs("rates_tested,max_stable_lr,min_any_fail_lr,min_all_fail_lr,incomplete_cells\n", f);
    for (int i = 0; i < ng; i++) {
        const sw_result *r = &t->row[g[i].first_row];
        csv_put(f, r->variant, 0);
        put_vals(f, t, r, pk);
        fmt_num(a, sizeof a, g[i].max_stable, "%.6g");
        fmt_num(b, sizeof b, g[i].min_any_fail, "%.6g");
        fmt_num(c, sizeof c, g[i].min_all_fail, "%.6g");
        fprintf(f, "%d,%s,%s,%s,%d\n", g[i].rates, a, b, c, g[i].incomplete);
    }
    return atomic_commit(&af, err, en);
}

/* ---- the printed summary: a table of strings with columns padded to their widest entry ---- */

#define TT_COLS (SW_MAX_KEYS + 12)
#define TT_W 64

typedef struct text_table {
    int ncol, nrow, cap;
    char (*cell)[TT_COLS][TT_W];
} text_table;

static char *tt_add_row(text_table *tt)
{
    if (tt->nrow == tt->cap) {
        tt->cap = tt->cap ? 2 * tt->cap : 32;
        void *grown = realloc(tt->cell, (size_t)tt->cap * sizeof *tt->cell);
        if (!grown)
            return NULL;
        tt->cell = grown;
    }
    memset(tt->cell[tt->nrow], 0, sizeof tt->cell[0]);
    return tt->cell[tt->nrow++][0];
}

static void tt_set(text_table *tt, int col, const char *s)
{
    if (tt->nrow > 0 && col < TT_COLS) {
        /* cut long values (list-valued grid keys) to the column's storage */
        size_t n = strnlen(s, TT_W - 1);
        memcpy(tt->cell[tt->nrow - 1][col], s, n);
        tt->cell[tt->nrow - 1][col][n] = '\0';
        if (col + 1 > tt->ncol)
            tt->ncol = col + 1;
    }
}

static void tt_print(const text_table *tt, FILE *out)
{
    int w[TT_COLS] = {0};
    for (int r = 0; r < tt->nrow; r++)
        for (int c = 0; c < tt->ncol; c++)
            if ((int)strlen(tt->cell[r][c]) > w[c])
                w[c] = (int)strlen(tt->cell[r][c]);
    for (int r = 0; r < tt->nrow; r++) {
        for (int c = 0; c < tt->ncol; c++)
            if (c + 1 < tt->ncol)
                fprintf(out, "%-*s  ", w[c], tt->cell[r][c]);
            else
                fputs(tt->cell[r][c], out);
        fputc('\n', out);
    }
}

/* The part of a key after its last dot: column headers stay narrow. */
static const char *short_key(const char *k)
{
    const char *d = strrchr(k, '.');
    return d ? d + 1 : k;
}

static void print_summary(const sweep_table *t, const sw_cellstat *cs, int nc, const stable_row *g, int ng,
                          FILE *out)
{
    text_table tt = {0};
    char s[TT_W], a[24], b[24];
    const int pk = peak_key(t);
    int col = 0;
    if (!tt_add_row(&tt))
        return;
    tt_set(&tt, col++, "variant");
    for (int k = 0; k < t->n_keys; k++)
        tt_set(&tt, col++, short_key(t->key[k]));
    const char *head[] = {"runs", "failed", "rate", "95% interval", "median fail step", "final test error",
                          "stalled", "spikes"};
    for (int i = 0; i < 8; i++)
        tt_set(&tt, col++, head[i]);
    for (int c = 0; c < nc && tt_add_row(&tt); c++) {
        const sw_cellstat *x = &cs[c];
        const sw_result *r = &t->row[x->first_row];
        col = 0;
        tt_set(&tt, col++, r->variant);
        for (int k = 0; k < t->n_keys; k++)
            tt_set(&tt, col++, r->val[k]);
        snprintf(s, sizeof s, "%d%s", x->runs, x->incomplete ? "+" : "");
        tt_set(&tt, col++, s);
        snprintf(s, sizeof s, "%d", x->failures);
        tt_set(&tt, col++, s);
        fmt_num(s, sizeof s, 100 * x->rate, "%.0f%%");
        tt_set(&tt, col++, s);
        if (x->runs)
            snprintf(s, sizeof s, "[%.0f%%, %.0f%%]", 100 * x->lo, 100 * x->hi);
        else
            s[0] = '\0';
        tt_set(&tt, col++, s);
        fmt_num(s, sizeof s, x->median_fail_step, "%.0f");
        tt_set(&tt, col++, isfinite(x->median_fail_step) ? s : "-");
        fmt_num(a, sizeof a, 100 * x->mean_err, "%.2f%%");
        fmt_num(b, sizeof b, 100 * x->sd_err, " +- %.2f");
        snprintf(s, sizeof s, "%s%s (n=%d)", x->survivors ? a : "-", b, x->survivors);
        tt_set(&tt, col++, s);
        snprintf(s, sizeof s, "%d", x->stalled);
        tt_set(&tt, col++, s);
        snprintf(s, sizeof s, "%d", x->spikes);
        tt_set(&tt, col++, s);
    }
    fprintf(out, "\nCells of %s: failure = diverged run; Wilson 95%% interval; final test error of the survivors "
                 "(mean +- sd):\n", t->dir);
    tt_print(&tt, out);
    tt.nrow = tt.ncol = 0;
    col = 0;
    if (tt_add_row(&tt)) {
        tt_set(&tt, col++, "variant");
        for (int k = 0; k < t->n_keys; k++)
            if (k != pk)
                tt_set(&tt, col++, short_key(t->key[k]));
        tt_set(&tt, col++, "largest stable peak_lr");
        tt_set(&tt, col++, "smallest failing");
        tt_set(&tt, col++, "smallest all-failed");
    }
    for (int i = 0; i < ng && tt_add_row(&tt); i++) {
        const sw_result *r = &t->row[g[i].first_row];
        col = 0;
        tt_set(&tt, col++, r->variant);
        for (int k = 0; k < t->n_keys; k++)
            if (k != pk)
                tt_set(&tt, col++, r->val[k]);
        fmt_num(s, sizeof s, g[i].max_stable, "%g");
        tt_set(&tt, col++, s[0] ? s : "none");
        fmt_num(s, sizeof s, g[i].min_any_fail, "%g");
        tt_set(&tt, col++, s[0] ? s : "none");
        fmt_num(s, sizeof s, g[i].min_all_fail, "%g");
        tt_set(&tt, col++, s[0] ? s : "none");
    }
    fprintf(out, "\nPeak learning rates (0 of n seeds failed / some failed / all failed):\n");
    tt_print(&tt, out);
    int incomplete = 0;
    for (int c = 0; c < nc; c++)
        incomplete += cs[c].incomplete;
    if (incomplete)
        fprintf(out, "\n%d runs have not completed (a + after the run count); rerun the sweep to finish them.\n",
                incomplete);
    free(tt.cell);
}

int sweep_write_tables(const sweep_table *t, FILE *out)
{
    sw_cellstat *cs = NULL;
    int nc = sweep_cells(t, &cs);
    stable_row *g = malloc((size_t)(nc > 0 ? nc : 1) * sizeof *g);
    char err[512];
    int rc = EXIT_OK;
    if (nc < 0 || !g) {
        fprintf(stderr, "sweep: out of memory\n");
        free(cs);
        free(g);
        return EXIT_RUNTIME;
    }
    int ng = stable_groups(t, cs, nc, g);
    if (write_runs(t, err, sizeof err) || write_cells(t, cs, nc, err, sizeof err) ||
        write_stable(t, g, ng, err, sizeof err)) {
        fprintf(stderr, "sweep: %s\n", err);
        rc = EXIT_RUNTIME;
    }
    if (out)
        print_summary(t, cs, nc, g, ng, out);
    free(cs);
    free(g);
    return rc;
}
