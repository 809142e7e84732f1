/* trainer.h: `resnet train`: runs a whole training run from a resolved config through the backend table. */
#ifndef TRAINER_H
#define TRAINER_H

#include "config/config.h"

/*
 * Trains as cfg says, writing config.yaml, data_files.csv, metrics.csv, eval.csv,
 * summary.json and checkpoint.bin into cfg->output.dir, which it holds locked while it
 * runs. resume: continue from output.dir/checkpoint.bin (the folder must hold one) with
 * the config and data the run started with, but for the keys a resume may change
 * (logged in resumes.csv); a finished run is left alone. stop_after > 0: stop after that
 * step as if interrupted (checkpoint, summary status "stopped") and return EXIT_OK, so a
 * long run can be cut into pieces that --resume joins; at step T the run finishes.
 * Returns the process exit code: EXIT_OK (finished, or nothing to do), EXIT_USAGE (bad
 * data, folder, checkpoint or a changed config; the folder in use), EXIT_RUNTIME (I/O),
 * EXIT_DIVERGED (halted by the non-finite or loss policy), 128 + signal when
 * SIGINT/SIGTERM/SIGHUP stopped it (after a checkpoint and a summary with status "stopped").
 */
int trainer_run(const run_config *cfg, int resume, long stop_after);

#endif
