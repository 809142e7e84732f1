/* sweep_load.c: a sweep folder's plan (plan.csv, sweep.json) and each run's results (summary.json, metrics.csv) read back into one table. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/exitcodes.h"
#include "common/fileio.h"
#include "common/json_min.h"
#include "common/csv.h"
#include "sweep/sweep.h"

int sweep_write_plan(const sweep_spec *spec, const sweep_plan *plan, const double *peak_lr, int with_div)
{
    char path[FILEIO_PATH_MAX], err[512], num[64];
    atomic_file af;
    path_join(path, sizeof path, spec->output, SW_PLAN_FILE);
    FILE *f = atomic_open(&af, path, err, sizeof err);
    if (!f)
        goto fail;
    fputs("run,cell,variant,", f);
    for (int g = 0; g < spec->n_grid; g++)
        csv_put(f, spec->grid[g].key, 0);
    fputs("seed,peak_lr\n", f);
    for (int r = 0; r < plan->n_runs; r++) {
        const sw_run *run = &plan->runs[r];
        const sw_cell *cell = &plan->cells[run->cell];
        csv_put(f, run->name, 0);
        csv_put(f, cell->slug, 0);
        csv_put(f, sweep_variant_name(spec, cell->variant), 0);
        for (int g = 0; g < spec->n_grid; g++)
            csv_put(f, spec->grid[g].val[cell->value[g]], 0);
        fprintf(f, "%llu,%.17g\n", spec->seed[run->seed_index], peak_lr[run->cell]);
    }
    if (atomic_commit(&af, err, sizeof err) != 0)
        goto fail;

    path_join(path, sizeof path, spec->output, SW_PARAMS_FILE);
    f = atomic_open(&af, path, err, sizeof err);
    if (!f)
        goto fail;
    const sw_criteria *c = &spec->crit;
    fprintf(f, "{\n  \"sweep_file\": \"");
    for (const char *s = spec->file; *s; s++)
        fprintf(f, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
    snprintf(num, sizeof num, "%.17g", c->loss_bound);
    fprintf(f, "\",\n  \"loss_bound\": %s,\n", num);
    fprintf(f, "  \"loss_soft_bound\": %.17g,\n  \"soft_steps\": %ld,\n", c->loss_soft_bound, c->soft_steps);
    fprintf(f, "  \"loss_bounds_applied\": %s,\n", with_div ? "true" : "false");
    fprintf(f, "  \"stall_error\": %.17g,\n  \"stall_steps\": %ld,\n  \"spike_window\": %ld\n}\n", c->stall_error,
            c->stall_steps, c->spike_window);
    if (atomic_commit(&af, err, sizeof err) != 0)
        goto fail;
    return 0;
fail:
    fprintf(stderr, "sweep: %s\n", err);
    return EXIT_RUNTIME;
}

/* A sorted window of the last W finite losses, for the running median. */
typedef struct median_window {
    double *ring, *sorted;
    long cap, n, pos;
} median_window;

static void window_push(median_window *w, double x)
{
    if (w->n == w->cap) {
        /* drop the oldest value from the sorted copy */
        double old = w->ring[w->pos];
        long i = 0;
        while (i < w->n && w->sorted[i] != old)
            i++;
        memmove(w->sorted + i, w->sorted + i + 1, (size_t)(w->n - i - 1) * sizeof(double));
        w->n--;
    }
    w->ring[w->pos] = x;
    w->pos = (w->pos + 1) % w->cap;
    long i = w->n;
    while (i > 0 && w->sorted[i - 1] > x) {
        w->sorted[i] = w->sorted[i - 1];
        i--;
    }
    w->sorted[i] = x;
    w->n++;
}

static double window_median(const median_window *w)
{
    return w->n % 2 ? w->sorted[w->n / 2] : 0.5 * (w->sorted[w->n / 2 - 1] + w->sorted[w->n / 2]);
}

/*
 * Spikes: a spike starts at a step whose loss exceeds twice the median of the previous
 * spike_window losses (judged once min(spike_window, 10) losses are known, so the first
 * steps of a run are not compared with nothing) and ends at the first step back at or below
 * that same threshold, frozen at the spike's start: a loss that settles on a higher plateau
 * has not recovered. A non-finite loss is above any threshold.
 * Stall: the mean training error of the 100 steps up to step stall_steps is still at or
 * above stall_error; -1 when the run ended earlier.
 */
int sweep_analyze_metrics(const char *path, const sw_criteria *c, int *spikes, int *unrecovered, int *stalled)
{
    *spikes = *unrecovered = 0;
    *stalled = -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    enum { ERR_WINDOW = 100 };
    median_window w = {malloc((size_t)c->spike_window * sizeof(double)),
                       malloc((size_t)c->spike_window * sizeof(double)), c->spike_window, 0, 0};
    double errs[ERR_WINDOW];
    long n_err = 0;
    char *line = NULL, *field[16];
    size_t cap = 0;
    int col_step = -1, col_loss = -1, col_err = -1, in_spike = 0, rc = 0;
    double threshold = 0;
    const long min_known = c->spike_window < 10 ? c->spike_window : 10;
    if (!w.ring || !w.sorted || getline(&line, &cap, f) < 0) {
        rc = -1;
        goto done;
    }
    int nf = csv_split(line, field, 16);
    for (int i = 0; i < nf; i++) {
        if (!strcmp(field[i], "step"))
            col_step = i;
        else if (!strcmp(field[i], "loss"))
            col_loss = i;
        else if (!strcmp(field[i], "train_error"))
            col_err = i;
    }
    if (col_step < 0 || col_loss < 0 || col_err < 0) {
        rc = -1;
        goto done;
    }
    while (getline(&line, &cap, f) > 0) {
        nf = csv_split(line, field, 16);
        if (nf <= col_step || nf <= col_loss || nf <= col_err)
            continue; /* a half-written last line of a killed run */
        const long step = strtol(field[col_step], NULL, 10);
        const double loss = strtod(field[col_loss], NULL), terr = strtod(field[col_err], NULL);
        if (in_spike) {
            if (isfinite(loss) && loss <= threshold) {
                in_spike = 0;
                (*spikes)++;
            }
        } else if (w.n >= min_known) {
            const double t = 2.0 * window_median(&w);
            if (!isfinite(loss) || loss > t) {
                in_spike = 1;
                threshold = t;
            }
        }
        if (isfinite(loss))
            window_push(&w, loss);
        errs[n_err % ERR_WINDOW] = terr;
        n_err++;
        if (*stalled < 0 && step >= c->stall_steps) {
            const long k = n_err < ERR_WINDOW ? n_err : ERR_WINDOW;
            double s = 0;
            for (long i = 0; i < k; i++)
                s += errs[i];
            *stalled = s / (double)k >= c->stall_error;
        }
    }
    *unrecovered = in_spike;
done:
    free(line);
    free(w.ring);
    free(w.sorted);
    fclose(f);
    return rc;
}

static void num_or_nan(const json_flat *j, const char *a, const char *b, double *v)
{
    if (!json_get_num(j, a, v) && !(b && json_get_num(j, b, v)))
        *v = NAN;
}

static const char *str_either(const json_flat *j, const char *a, const char *b)
{
    const char *s = json_get(j, a);
    return s ? s : b ? json_get(j, b) : NULL;
}

void sweep_summary_phrase(const struct json_flat *j, char *out, size_t out_size)
{
    const char *st = json_get(j, "status");
    double e;
    if (!st) {
        snprintf(out, out_size, "?");
    } else if (!strcmp(st, "diverged")) {
        const char *step = str_either(j, "divergence.step", "fail_step");
        const char *why = str_either(j, "divergence.reason", "fail_criterion");
        snprintf(out, out_size, "diverged at step %s (%s)", step ? step : "?", why ? why : "?");
    } else if (!strcmp(st, "finished") && json_get_num(j, "final_test_error", &e)) {
        snprintf(out, out_size, "finished, test error %.2f%%", 100 * e);
    } else {
        snprintf(out, out_size, "%s", st);
    }
}

/*
 * One run's row from its folder. The summary is read tolerantly: flat keys as the sweep
 * protocol names them (fail_criterion, fail_step, ...) or the trainer's nested
 * "divergence" object (reason, step, lr, phase, nonfinite); "decay" as a phase is the
 * protocol's "later".
 */
static void load_result(const char *dir, const sw_criteria *crit, sw_result *r)
{
    char path[FILEIO_PATH_MAX], err[512];
    json_flat j;
    r->fail_step = r->steps = -1;
    r->fail_lr = r->final_err = r->best_err = r->wall_s = NAN;
    r->stalled = -1;
    snprintf(r->status, sizeof r->status, "missing");
    snprintf(path, sizeof path, "%s/%s/summary.json", dir, r->run);
    const int jrc = json_flat_load(path, &j, err, sizeof err);
    /* A summary that is there but unreadable (truncated, edited) is not a run that has
       not ended: say which file, so a table's "missing" is never a silent one. */
    if ((jrc != 0 && access(path, F_OK) == 0) || (jrc == 0 && !json_get(&j, "status")))
        fprintf(stderr, "warning: %s%s; the run is counted as missing\n", jrc ? err : path,
                jrc ? "" : ": no \"status\"");
    if (jrc == 0 && json_get(&j, "status")) {
        const char *s;
        double v;
        snprintf(r->status, sizeof r->status, "%s", json_get(&j, "status"));
        if ((s = str_either(&j, "fail_criterion", "divergence.reason")))
            snprintf(r->criterion, sizeof r->criterion, "%s", s);
        if ((s = str_either(&j, "fail_phase", "divergence.phase")))
            snprintf(r->phase, sizeof r->phase, "%s", !strcmp(s, "decay") ? "later" : s);
        if ((s = str_either(&j, "fail_values", "divergence.nonfinite")))
            snprintf(r->fail_values, sizeof r->fail_values, "%s", s);
        if (json_get_num(&j, "fail_step", &v) || json_get_num(&j, "divergence.step", &v))
            r->fail_step = (long)v;
        num_or_nan(&j, "fail_lr", "divergence.lr", &r->fail_lr);
        num_or_nan(&j, "final_test_error", NULL, &r->final_err);
        num_or_nan(&j, "best_test_error", NULL, &r->best_err);
        num_or_nan(&j, "wall_s", "wall_time_s", &r->wall_s);
        if (json_get_num(&j, "steps", &v) || json_get_num(&j, "steps_run", &v))
            r->steps = (long)v;
    }
    snprintf(path, sizeof path, "%s/%s/metrics.csv", dir, r->run);
    sweep_analyze_metrics(path, crit, &r->spikes, &r->unrecovered, &r->stalled);
}

static void load_criteria(const char *dir, sw_criteria *c)
{
    const sw_criteria defaults = SW_DEFAULT_CRITERIA;
    char path[FILEIO_PATH_MAX], err[512];
    json_flat j;
    double v;
    *c = defaults;
    path_join(path, sizeof path, dir, SW_PARAMS_FILE);
    if (json_flat_load(path, &j, err, sizeof err) != 0)
        return;
    if (json_get_num(&j, "stall_error", &v))
        c->stall_error = v;
    if (json_get_num(&j, "stall_steps", &v) && v >= 1)
        c->stall_steps = (long)v;
    if (json_get_num(&j, "spike_window", &v) && v >= 2)
        c->spike_window = (long)v;
    if (json_get_num(&j, "loss_bound", &v))
        c->loss_bound = v;
}

int sweep_table_load(const char *dir, sweep_table *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "%s", dir);
    load_criteria(dir, &t->crit);
    char path[FILEIO_PATH_MAX], *line = NULL, *field[SW_MAX_KEYS + 8];
    size_t cap = 0;
    path_join(path, sizeof path, dir, SW_PLAN_FILE);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: %s (not a sweep folder?)\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    int rc = EXIT_USAGE, cap_rows = 0;
    if (getline(&line, &cap, f) < 0)
        goto bad;
    int nf = csv_split(line, field, SW_MAX_KEYS + 8);
    if (nf < 5 || strcmp(field[0], "run") || strcmp(field[2], "variant") || strcmp(field[nf - 2], "seed"))
        goto bad;
    t->n_keys = nf - 5;
    for (int k = 0; k < t->n_keys; k++)
        snprintf(t->key[k], sizeof t->key[k], "%s", field[3 + k]);
    while (getline(&line, &cap, f) > 0) {
        if (csv_split(line, field, SW_MAX_KEYS + 8) != nf)
            goto bad;
        if (t->n == cap_rows) {
            cap_rows = cap_rows ? 2 * cap_rows : 64;
            sw_result *grown = realloc(t->row, (size_t)cap_rows * sizeof *grown);
            if (!grown) {
                rc = EXIT_RUNTIME;
                goto bad;
            }
            t->row = grown;
        }
        sw_result *r = &t->row[t->n++];
        memset(r, 0, sizeof *r);
        snprintf(r->run, sizeof r->run, "%s", field[0]);
        snprintf(r->cell, sizeof r->cell, "%s", field[1]);
        snprintf(r->variant, sizeof r->variant, "%s", field[2]);
        for (int k = 0; k < t->n_keys; k++)
            snprintf(r->val[k], sizeof r->val[k], "%s", field[3 + k]);
        r->seed = strtoull(field[nf - 2], NULL, 10);
        r->peak_lr = strtod(field[nf - 1], NULL);
        load_result(dir, &t->crit, r);
    }
    free(line);
    fclose(f);
    return EXIT_OK;
bad:
    if (rc == EXIT_USAGE)
        fprintf(stderr, "%s: not a plan written by `resnet sweep`\n", path);
    free(line);
    fclose(f);
    sweep_table_free(t);
    return rc;
}

void sweep_table_free(sweep_table *t)
{
    free(t->row);
    t->row = NULL;
    t->n = 0;
}
