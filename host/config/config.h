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
/* The same with its messages sent to /dev/null, for probes whose failure is an answer, not
   an error (is this cell a valid run? does a finished run's config.yaml still load?). */
int config_load_quiet(const char *path, int n_sets, char *const sets[], run_config *cfg);

/* Print the fully resolved config as YAML that config_load accepts back unchanged. */
void config_print(const run_config *cfg, FILE *out);

/* Path of data file NAME inside data.dir (NAME as written when absolute). */
void config_data_path(const run_config *cfg, const char *name, char *out, size_t out_size);

/* ---- config_diff.c: which keys two resolved configs differ in, and the config's identity ---- */

/* What changing a key between a run's start and a --resume of it means. */
enum cfg_change_class {
    CFG_CHANGE_REFUSED = 0, /* changes what the run computes: a resume refuses it */
    CFG_CHANGE_SAFE,        /* a length or evaluation cadence: allowed on resume, logged */
    CFG_CHANGE_NEUTRAL,     /* changes no number of the run's record (logging cadence, output): allowed, logged */
    CFG_CHANGE_DATA         /* where a data file lies: allowed when the files' contents are the same */
};

#define CFG_VALUE_TEXT 320 /* a value shown in a message or a log (longer ones are cut with "...") */
#define CFG_MAX_CHANGES 48

typedef struct cfg_change {
    const char *key;        /* the dotted key */
    int cls;                /* enum cfg_change_class, as the schema classes the key */
    const char *why;        /* a refusal's reason beyond the class, e.g. a length that shrank; or NULL */
    char old_text[CFG_VALUE_TEXT], new_text[CFG_VALUE_TEXT];
} cfg_change;

/*
 * Every key whose resolved value differs between OLD and NEW, in the schema's order
 * (the spellings resolution consumes, such as train.epochs, are compared through what
 * they resolve to). A key that may only grow (train.steps) and shrank comes back as
 * CFG_CHANGE_REFUSED with `why` set. Returns the count (at most max).
 */
int config_diff(const run_config *old_cfg, const run_config *new_cfg, cfg_change *out, int max);


/* The keys a resume may change, as a readable list for messages (configs/README.md has the table). */
const char *config_resume_safe_keys(void);

/*
 * SHA-256 of the config's identity: every key that can change a number in the run's
 * record, as config.yaml prints it (so where the run folder lies, the logging and
 * checkpoint cadence and the CUDA graph switch are left out). Two configs with the same
 * identity produce the same run; a sweep compares it to decide whether a finished run
 * is still the run its file asks for.
 */
void config_identity(const run_config *cfg, char hex[65]);

#endif
