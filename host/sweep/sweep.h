/* sweep.h: `resnet sweep` and `resnet report`: the sweep file, its expansion into runs, the child runs, the result tables and the plots. */
#ifndef SWEEP_H
#define SWEEP_H

#include <stdio.h>
#include "common/csv.h"
#include "sweep/sweep_slurm_conf.h"

/* Entry points; register them in main.c's command table. */
int cmd_sweep(int argc, char **argv);
int cmd_report(int argc, char **argv);

#define SW_PATH 1024
#define SW_KEY 128       /* a dotted run-config key */
#define SW_VAL 256       /* a value as YAML text, as passed to --set */
#define SW_NAME 64       /* a variant name, a key's short name in slugs */
#define SW_SLUG 224      /* a run folder name */
#define SW_MAX_KEYS 12   /* grid keys */
#define SW_MAX_VALUES 24 /* values per grid key */
#define SW_MAX_VARIANTS 32
#define SW_MAX_SETTINGS 24 /* settings per variant, and in `set` */
#define SW_MAX_SEEDS 64
#define SW_MAX_RUNS 20000
#define SW_PEAK_KEY "schedule.peak_lr"

/* One KEY=VALUE with where it was written (1-based; 0 when it came from the command line). */
typedef struct sw_setting {
    char key[SW_KEY];
    char val[SW_VAL];
    int line, col;
} sw_setting;

typedef struct sw_grid_key {
    char key[SW_KEY];
    char short_name[SW_NAME]; /* the shortest dotted suffix unique among the grid keys */
    int line, col;
    int n;
    char val[SW_MAX_VALUES][SW_VAL];
    int vline[SW_MAX_VALUES], vcol[SW_MAX_VALUES];
} sw_grid_key;

typedef struct sw_variant {
    char name[SW_NAME];
    int line, col;
    int n;
    sw_setting set[SW_MAX_SETTINGS];
} sw_variant;

/* The failure and analysis criteria (sweep file section `divergence`). */
typedef struct sw_criteria {
    double loss_bound;      /* passed to the trainer as divergence.loss_bound; 0 = off */
    double loss_soft_bound; /* divergence.loss_soft_bound; 0 = off */
    long soft_steps;        /* divergence.soft_steps */
    double stall_error;     /* computed here from metrics.csv */
    long stall_steps;
    long spike_window;
} sw_criteria;

/* Protocol defaults (docs: "Measuring NaN-avoidance"): 10 ln 10, 3 ln 10 for 50 steps, 90% after 2k. */
#define SW_DEFAULT_CRITERIA {23.025850929940457, 6.907755278982137, 50, 0.9, 2000, 50}

typedef struct sweep_spec {
    char file[SW_PATH];   /* the sweep file as given */
    char base[SW_PATH];   /* the run config, resolved against the sweep file's folder */
    char output[SW_PATH]; /* the sweep folder */
    int n_seeds;
    unsigned long long seed[SW_MAX_SEEDS];
    int n_grid;
    sw_grid_key grid[SW_MAX_KEYS];
    int n_variants; /* 0: one implicit variant named "default" with no settings */
    sw_variant variant[SW_MAX_VARIANTS];
    int n_fixed;
    sw_setting fixed[SW_MAX_SETTINGS]; /* `set`, then the command line's --set */
    sw_criteria crit;
    sw_slurm slurm; /* section `slurm`: cluster settings of --engine slurm (sweep_slurm_conf.c) */
    int rerun_changed;    /* --rerun-changed: redo finished runs made by another config, in place */
} sweep_spec;

/* One cell (a variant x one value of each grid key) and one run (a cell x a seed). */
typedef struct sw_cell {
    int variant;
    int value[SW_MAX_KEYS]; /* index into grid[k].val */
    char slug[SW_SLUG];
} sw_cell;

typedef struct sw_run {
    int cell;
    int seed_index;
    char name[SW_SLUG]; /* folder name under the sweep folder */
} sw_run;

typedef struct sweep_plan {
    int n_cells, n_runs;
    sw_cell *cells;
    sw_run *runs; /* cell-major: cell 0's seeds, then cell 1's... */
} sweep_plan;

/* ---- sweep_file.c ---- */

/* Parses a sweep file strictly (errors print "FILE:LINE:COL: KEY: ..."); 0 or EXIT_USAGE. */
int sweep_parse(const char *path, sweep_spec *spec);

/* Why KEY is the sweep's own (train.seed, output.*, divergence.*), or NULL. */
const char *sweep_owned_key(const char *key);

/* ---- sweep_value.c ---- */

/* Whether two values' YAML texts are one value: numbers compare as numbers (0.1, 0.10 and
   1e-1 are one), flow lists item by item, anything else as text. */
int sweep_same_value(const char *a, const char *b);

/* ---- sweep_expand.c ---- */

/* Adds a command-line `KEY=VALUE` applied to every run; 0 or EXIT_USAGE (message printed). */
int sweep_add_cli_set(sweep_spec *spec, const char *arg);

/* Expands the cells and runs, names them and checks the names are unique; 0 or EXIT_USAGE. */
int sweep_expand(const sweep_spec *spec, sweep_plan *plan);
void sweep_plan_free(sweep_plan *plan);

/* The variant's name ("default" when the sweep has none). */
const char *sweep_variant_name(const sweep_spec *spec, int v);

/* Every KEY=VALUE of the cell, in the order they are passed: `set` (and --set), then the variant's, then the grid's. */
int sweep_cell_settings(const sweep_spec *spec, const sw_cell *cell, sw_setting *out, int max);

/* ---- sweep_run.c ---- */

/* Settings of one run: the cell's, the seed, the trainer's failure criteria, the folder. */
#define SW_RUN_SETS (2 * SW_MAX_SETTINGS + SW_MAX_KEYS + 8)
/* Room for the child's argument vector: resnet train BASE, a --set per setting, --resume DIR, NULL. */
#define SW_CHILD_ARGV (2 * SW_RUN_SETS + 6)

/* One run's settings as the KEY=VALUE texts of its --set arguments. */
typedef struct sw_run_args {
    int n;
    char text[SW_RUN_SETS][SW_KEY + SW_PATH + 2];
} sw_run_args;

/* The settings of the run of CELL with SEED in RUN_DIR, in the order they are passed;
   with_div: whether the trainer gets the divergence.* keys (sweep_validate says). */
void sweep_run_args(const sweep_spec *spec, const sw_cell *cell, unsigned long long seed, int with_div,
                    const char *run_dir, sw_run_args *a);

/* The child's command line, `resnet train BASE --set K=V...`, into argv (SW_CHILD_ARGV
   entries, NULL-terminated; pointing into SPEC and A); returns argc. Both engines run
   exactly this: the local one as a child process, Slurm's array task by exec. */
int sweep_child_argv(const sweep_spec *spec, const sw_run_args *a, char **argv);

/* Loads every cell's run config (nothing runs on a bad one) and checks what the runs need
   before anything runs: each cell's data files, no two cells the same config, and every
   finished run made by the config its cell asks for now. EXIT_OK and, per cell, its peak
   rate and whether the run config takes the divergence.* keys; else EXIT_USAGE. With
   --rerun-changed, finished runs of another config are no error but marked in STALE (per
   run; may be NULL) to be redone in place. */
int sweep_validate(const sweep_spec *spec, const sweep_plan *plan, int *with_div, double *peak_lr,
                   unsigned char *stale);

/* Removes a run folder to be redone, unless a resnet process holds it (then a message); 0 or -1. */
int sweep_clear_run(const char *dir);

/* mkdir -p; 0 or -1 with errno set. */
int sweep_mkdir_p(const char *path);

/* Removes PATH and everything below it (absent is fine); 0 or -1 with errno set. */
int sweep_rm_tree(const char *path);

/* Locks DIR/.sweep.lock for the life of the process, or says who holds it: the open
   descriptor, or -1 after a message (two sweeps in one folder would redo each other's runs). */
int sweep_lock_dir(const char *dir);

/* Validates every cell's run config, writes the plan, runs what is unfinished K at a
   time; EXIT_OK when every run ended (finished or diverged), else the first error code. */
int sweep_execute(const sweep_spec *spec, const sweep_plan *plan, int jobs);

/* Only the validation of every cell's run config (--dry-run); EXIT_OK or EXIT_USAGE. */
int sweep_check(const sweep_spec *spec, const sweep_plan *plan);

/* Whether RUN_DIR holds a summary.json whose status is finished or diverged. */
int sweep_run_complete(const char *run_dir);

/* ---- sweep_stale.c ---- */

struct run_config;

/*
 * Whether the finished run in RUN_DIR was made by a config of another identity than
 * CFG (config_identity; the run's summary.json records its own): 0 the same run; 1
 * another, with the changed keys ("train.steps: 200 -> 400; ...") in OUT.
 */
int sweep_run_changed(const char *run_dir, const struct run_config *cfg, char *out, size_t out_size);

/* Whether every data file CFG's run reads is there, regular and readable; 0 or EXIT_USAGE with a message. */
int sweep_check_data(const struct run_config *cfg, char *err, size_t err_size);

/* ---- sweep_results.c ---- */

#define SW_PLAN_FILE "plan.csv"
#define SW_PARAMS_FILE "sweep.json"

/* One row of runs.csv. */
typedef struct sw_result {
    char run[SW_SLUG], cell[SW_SLUG], variant[SW_NAME];
    char val[SW_MAX_KEYS][SW_VAL];
    unsigned long long seed;
    double peak_lr;
    char status[16];       /* finished, diverged, stopped, or missing (no summary) */
    char criterion[16];    /* nonfinite, loss_bound, loss_plateau; "" when none */
    char phase[16];        /* warmup, peak, later */
    char fail_values[64];  /* e.g. "loss,gradient" */
    long fail_step;        /* -1 when none */
    double fail_lr;
    int spikes, unrecovered; /* recovered spikes; 1 when the run ended inside one */
    int stalled;           /* 1, 0, or -1 when the run ended before stall_steps */
    double final_err, best_err, wall_s; /* NAN when unknown */
    long steps;            /* -1 when unknown */
} sw_result;

typedef struct sweep_table {
    char dir[SW_PATH];
    int n_keys;
    char key[SW_MAX_KEYS][SW_KEY];
    int n;
    sw_result *row;
    sw_criteria crit;
} sweep_table;

/* One row of cells.csv. */
typedef struct sw_cellstat {
    int first_row;         /* a row of the cell, for its variant and grid values */
    int runs, failures, survivors, stalled, spikes, incomplete;
    double rate, lo, hi, median_fail_step, mean_err, sd_err;
} sw_cellstat;

/* Writes plan.csv and sweep.json (what `resnet report` needs without the sweep file). */
/* with_div: whether the trainer was given the divergence.* keys (recorded for the reader). */
int sweep_write_plan(const sweep_spec *spec, const sweep_plan *plan, const double *cell_peak_lr, int with_div);

/* How a run ended, in a few words, from its summary.json: "diverged at step S (WHY)",
   "finished, test error E%", or the status itself ("?" without one). */
struct json_flat;
void sweep_summary_phrase(const struct json_flat *j, char *out, size_t out_size);

/* Reads DIR's plan and every run's summary.json and metrics.csv; 0 or an exit code. */
int sweep_table_load(const char *dir, sweep_table *t);
void sweep_table_free(sweep_table *t);

/* Aggregates the cells (in plan order); returns the count, stats in *cells (malloc'd). */
int sweep_cells(const sweep_table *t, sw_cellstat **cells);

/* Writes runs.csv, cells.csv, stable_lr.csv atomically and prints the summary to OUT; 0 or EXIT_RUNTIME. */
int sweep_write_tables(const sweep_table *t, FILE *out);

/* Counts recovered loss spikes, an unrecovered one, and the stall, from metrics.csv at PATH. */
int sweep_analyze_metrics(const char *path, const sw_criteria *c, int *spikes, int *unrecovered,
                          int *stalled);


/* ---- report_data.c ---- */

/* The complete data rows of the CSV file at PATH, and how many hold a finite number (> 0
   with `positive`, for a log scale) in COLUMN. 0, or -1 when the file cannot be read. */
int report_column(const char *path, const char *column, int positive, long *rows, long *usable);

/* The step of the last complete row of a metrics.csv (1 when none). */
long report_last_step(const char *path);

/* ---- report.c ---- */

/* Plots a sweep folder (holding plan.csv) or a run folder (holding metrics.csv). */
int report_sweep(const sweep_table *t);
int report_run(const char *run_dir);

#endif
