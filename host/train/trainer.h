/* trainer.h: `resnet train`: runs a whole training run from a resolved config through the backend table. */
#ifndef TRAINER_H
#define TRAINER_H

#include "config/config.h"

/*
 * Trains as cfg says, writing config.yaml, metrics.csv, eval.csv, summary.json and
 * checkpoint.bin into cfg->output.dir. resume: continue from output.dir/checkpoint.bin
 * (the folder must hold one). stop_after > 0: stop after that step as if interrupted
 * (checkpoint, summary status "stopped") and return EXIT_OK, so a long run can be cut
 * into pieces that --resume joins. Returns the process exit code: EXIT_OK (finished),
 * EXIT_USAGE (bad data, folder or checkpoint), EXIT_RUNTIME (I/O), EXIT_DIVERGED
 * (halted by the non-finite or loss policy), 128 + signal when SIGINT/SIGTERM stopped it
 * (after a checkpoint and a summary with status "stopped").
 */
int trainer_run(const run_config *cfg, int resume, long stop_after);

#endif
