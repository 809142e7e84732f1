/* train_step.h: one whole training step enqueued through the backend table, shared by the trainer and the GPU tests. */
#ifndef TRAIN_STEP_H
#define TRAIN_STEP_H

#include "backend/backend.h"
#include "model/model.h"

/* Everything a step reads or writes; fixed for a run, so a captured step stays valid. */
typedef struct step_inputs {
    model *m;
    const uint8_t *images, *labels; /* the device-resident training set */
    long n_images;
    const batch_spec *spec;
    const sched_params *sched;
    const step_policy *pol;
    const sgd_hyper *hyper;
    train_scalars *ts;              /* device memory */
    step_record *hist;              /* device ring of hist_len records */
    int hist_len;
    float *stats_backup;            /* n_stats floats of device memory */
} step_inputs;

/*
 * Batch, forward, loss, backward, health, scheduler, SGD: nothing read per step from the
 * host (the batch position, the rate and the stop decision come from ts in device
 * memory), so a backend may record the sequence once as a CUDA graph and replay it.
 */
void train_step_enqueue(backend *be, const step_inputs *in);

#endif
