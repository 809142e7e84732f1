/* trainer_internal.h: the trainer's state, shared by trainer.c (set-up and the loop), trainer_log.c (metrics, progress, evaluation, checkpoints) and trainer_end.c (the summary); no other file includes it. */
#ifndef TRAINER_INTERNAL_H
#define TRAINER_INTERNAL_H

#include <sys/types.h>
#include "backend/backend.h"
#include "common/fileio.h"
#include "common/progress.h"
#include "config/config.h"
#include "data/cifar.h"
#include "model/model.h"
#include "train/checkpoint.h"
#include "train/run_data.h"
#include "train/run_resume.h"
#include "train/trainer_io.h"

typedef struct trainer {
    const run_config *cfg;
    backend *be;
    model *m;
    progress pg;
    cifar_set train, test;
    data_ident data;          /* size and SHA-256 of every data file read */
    resume_plan resume;       /* the changes a --resume accepted, logged once the folder is ours */
    uint8_t *d_train_x, *d_train_y, *d_test_x, *d_test_y;
    train_scalars *d_ts, *d_eval_ts;
    step_record *d_hist, *h_hist;
    float *d_stats_backup;    /* BN running statistics as they were before this step */
    int hist_len;
    batch_spec spec;          /* training batches; evaluation derives its own */
    step_policy pol;
    sgd_hyper hyper;
    train_scalars ts;         /* host copy as of the last flush */
    ckpt_state ck;            /* the run's identity, written into checkpoints */
    struct { dev_t dev; ino_t ino; off_t size; long mtime_ns; } ckpt_file; /* the checkpoint a resume read */
    FILE *metrics, *eval;
    eval_record er;
    int lock_fd;              /* the run folder's lock, held until the process ends; -1 before */
    long last_logged;         /* metrics.csv holds every step up to this one */
    long last_eval, last_ckpt;
    double t_start;           /* this process's start */
    double interval_t0;       /* start of the current throughput interval */
    long interval_steps;
    double train_s;           /* time spent in training steps by this process */
    double logged_wall_s;     /* this process's wall time at the last flush */
    run_timing prior;         /* training and wall time of the pieces before a --resume */
    long steps_here;          /* steps this process ran */
    long stop_after;          /* stop (checkpoint, status "stopped") after this step; 0 = never */
    double last_ips;
    double last_live;         /* when the live progress line was last redrawn */
    char err[2 * FILEIO_PATH_MAX];
} trainer;

double trainer_now(void);

/* %.9g (round-trips a float), but NaN always as "nan": printf may write "-nan". */
const char *trainer_num9(char *buf, size_t n, double x);

/* ---- trainer_log.c ---- */

/* Downloads the scalars and the history ring after step `step` and appends the metrics.csv rows since the last flush. */
int trainer_flush(trainer *t, long step);

/* The progress line after a flush (every log_every steps). */
void trainer_show_progress(trainer *t, long step);

/* On a terminal, redraws the progress line when a second has passed since the last one. */
void trainer_live_progress(trainer *t, long step);

/* Test loss and error at `step`, appended to eval.csv. */
int trainer_evaluate(trainer *t, long step);

/* checkpoint.bin at `step`, after syncing the logs. */
int trainer_save_checkpoint(trainer *t, long step);

/* ---- trainer_end.c ---- */

/* Writes summary.json for a run that ended with `status` and prints how it ended; the exit code. */
int trainer_finish(trainer *t, int resume, long start, const char *status, int rc);

#endif
