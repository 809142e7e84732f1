/* trainer_io.h: a training run's files in output.dir: the folder check, config.yaml, metrics.csv, eval.csv and summary.json. */
#ifndef TRAINER_IO_H
#define TRAINER_IO_H

#include <stdio.h>
#include "config/config.h"

#define RUN_CONFIG_FILE "config.yaml"
#define RUN_METRICS_FILE "metrics.csv"
#define RUN_EVAL_FILE "eval.csv"
#define RUN_SUMMARY_FILE "summary.json"

#define METRICS_HEADER "step,epoch,lr,loss,train_error,grad_norm,images_per_s,train_s,wall_s"
#define EVAL_HEADER "step,test_loss,test_error"

/*
 * Checks output.dir without changing anything: a folder another process holds (its
 * lock) is refused; a folder that already holds a run (any of the files above or
 * checkpoint.bin) is refused unless output.overwrite; a resumed run needs the folder and
 * its checkpoint. 0, or EXIT_USAGE with a message in err.
 */
int run_dir_check(const run_config *cfg, int resume, char *err, size_t err_size);

/*
 * Takes the folder for this process once everything else (data, backend, checkpoint)
 * has been accepted: a fresh run creates it (and its parents); then the folder's lock
 * (common/run_lock.h), held until the process ends, so no other resnet process writes
 * there meanwhile; then run_dir_check again under the lock. The lock file is the only
 * thing this may add to a folder. 0, or EXIT_USAGE (the folder cannot be made or written
 * into, is in use, or changed) with a message in err; *lock_fd is set when the lock was taken.
 */
int run_dir_claim(const run_config *cfg, int resume, int *lock_fd, char *err, size_t err_size);

/*
 * Makes the claimed output.dir ready, so a refused run never costs the user a previous
 * one (nothing in the folder changes before this). Fresh run under output.overwrite:
 * removes the previous run's files (summary.json first), and only those. Resume:
 * removes summary.json (it described the run before this resume) and any temporary
 * *.tmp files a killed run left. 0, or EXIT_RUNTIME (a file cannot be removed) with a
 * message in err.
 */
int run_dir_prepare(const run_config *cfg, int resume, char *err, size_t err_size);

/* config.yaml, written atomically. */
int run_write_config(const run_config *cfg, char *err, size_t err_size);

/* Best and latest rows of eval.csv, for the summary. */
typedef struct eval_record {
    long n;                 /* rows so far */
    long last_step, best_step;
    double last_loss, last_error, best_error;
} eval_record;

/* Adds one evaluation to the record (the lowest error wins; an earlier one on ties). */
void eval_record_add(eval_record *r, long step, double loss, double error);

/* The run's time up to a step, from metrics.csv's train_s and wall_s columns. */
typedef struct run_timing {
    double train_s;  /* seconds in training steps (evaluations and checkpoints excluded) */
    double wall_s;   /* wall-clock seconds of the pieces of the run that produced the rows */
    int known;       /* 0 when the row of the checkpoint's step is missing (a file edited by hand) */
} run_timing;

/*
 * Opens metrics.csv and eval.csv for appending. Fresh: both are created with their
 * headers. Resume: both are rewritten atomically keeping only the complete rows with
 * step <= keep_step (the checkpoint's step; a killed run may have logged further, or left
 * half a line), eval's kept rows are replayed into *er, and *prior is the time the run
 * had taken by keep_step (the train_s and wall_s of its row). 0 or EXIT_RUNTIME.
 */
int run_open_logs(const run_config *cfg, int resume, long keep_step, FILE **metrics, FILE **eval,
                  eval_record *er, run_timing *prior, char *err, size_t err_size);

/* What summary.json says about a run. */
typedef struct run_summary {
    const char *status;      /* "finished", "diverged" or "stopped" */
    long steps_run;          /* the last completed step (the failing step for a divergence) */
    long total_steps;
    long resumed_from;       /* checkpoint step a --resume started from; -1 for a fresh run */
    double wall_s;           /* wall time of the whole run: every piece of a resumed run added up */
    double images_per_s;     /* training throughput over those pieces, evaluation excluded */
    const char *config_sha256; /* config_identity() of the resolved config */
    const char *backend;
    const char *math;        /* "fp32", or "tf32" where the GPU may use TF32 tensor cores */
    int cpu_threads;         /* the CPU backend's threads and kernel variant; 0 and NULL on a GPU */
    const char *cpu_kernels;
    int depth, num_classes, batch_size;
    long parameters;
    unsigned long long seed;
    const char *nonfinite_policy;
    long skipped;
    eval_record eval;
    /* divergence (status "diverged") */
    const char *reason;      /* "nonfinite", "loss_bound", "loss_plateau" */
    long fail_step;
    double fail_lr, fail_loss;
    int fail_bits;           /* NONFINITE_* */
    const char *phase;       /* "warmup", "peak" or "decay" */
} run_summary;

/* summary.json, written atomically. */
int run_write_summary(const run_config *cfg, const run_summary *s, char *err, size_t err_size);

#endif
