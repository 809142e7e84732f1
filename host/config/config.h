/* config.h: the run config (every key of a run YAML), its loader, validator and printer. */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdio.h>
#include "schedule.h"

#define CFG_MAX_PATH 1024
#define CFG_MAX_TRAIN_FILES 16

enum backend_kind { BACKEND_AUTO = 0, BACKEND_CUDA, BACKEND_CPU };
enum nonfinite_policy { NONFINITE_STOP = 0, NONFINITE_SKIP };

typedef struct run_config {
    /* where the config came from, for messages */
    char source[CFG_MAX_PATH];

    struct {
        int depth;       /* 6n+2 */
        int num_classes; /* 2..256 */
    } model;

    struct {
        char dir[CFG_MAX_PATH];
        int n_train;
        char train[CFG_MAX_TRAIN_FILES][CFG_MAX_PATH];
        char test[CFG_MAX_PATH];
        int augment;
        int shuffle;
        long limit_train; /* use only the first N training images; 0 = all */
    } data;

    struct {
        int batch_size;
        long steps;       /* total steps T; resolved from epochs when epochs is given */
        double epochs;    /* 0 when steps was given */
        unsigned long long seed;
        int backend;      /* enum backend_kind */
        long eval_every;  /* 0 = only at the end */
        long log_every;
        long checkpoint_every; /* 0 = only at the end */
        int nonfinite;    /* enum nonfinite_policy */
        int cuda_graph;
        int tf32;         /* let cuDNN/cuBLAS run fp32 convolutions and GEMMs on TF32 tensor cores */
        int threads;      /* CPU backend threads; 0 = auto (backend_cpu_auto_threads) */
    } train;

    struct {
        double momentum;
        int nesterov;
        double weight_decay;
    } optim;

    /* schedule.* maps one to one onto the device-side parameters */
    sched_params schedule;

    /* when a run counts as diverged, besides a non-finite value (checked on the device) */
    struct {
        double loss_bound;      /* loss above this halts the run; 0 = off */
        double loss_soft_bound; /* loss above this for soft_steps steps in a row halts it; 0 = off */
        int soft_steps;
    } divergence;

    struct {
        char dir[CFG_MAX_PATH];
        int overwrite;
    } output;
} run_config;

/*
 * Load FILE, apply the `--set KEY=VALUE` overrides in order, fill defaults, resolve
 * epochs to steps (reads the training files' sizes), and validate.
 * On error: prints "FILE:LINE:COL: KEY.PATH: what was expected" (or "--set KEY=VALUE: ...")
 * to stderr and returns nonzero (EXIT_USAGE); `cfg` is then unusable.
 */
int config_load(const char *path, int n_sets, char *const sets[], run_config *cfg);

/* Print the fully resolved config as YAML that config_load accepts back unchanged. */
void config_print(const run_config *cfg, FILE *out);

/* Path of data file NAME inside data.dir (NAME as written when absolute). */
void config_data_path(const run_config *cfg, const char *name, char *out, size_t out_size);

#endif
