/* model_act.h: the model's private activation and scratch buffers, shared by model.c (allocation) and model_pass.c (forward/backward). */
#ifndef MODEL_ACT_H
#define MODEL_ACT_H

#include "model/model.h"

/* One conv + BN at the model's batch size. */
typedef struct unit_buf {
    conv_shape s;
    const float *in;   /* the conv's input (previous activation or the image batch) */
    float *z;          /* conv output = BN input, kept for BN backward */
    float *a;          /* BN output; the stem and every conv1 apply ReLU in place, so this
                          is the activation the next conv reads (kept for backward); every
                          conv2 writes a shared scratch, since only z2 and the block output
                          are needed backward */
    float *save_mean, *save_inv_std; /* BN's batch statistics for backward */
} unit_buf;

struct model_act {
    unit_buf *u;        /* L->n_units */
    float **block_in;   /* 3n: each block's input (the stem's or the previous block's output) */
    float **block_out;  /* 3n: after the residual add and ReLU */
    float *bn2;         /* scratch: BN output of a conv2 before the add */
    float *sc;          /* scratch: option-A shortcut output */
    float *pool;        /* batch x 64 */
    float *dpool;       /* batch x 64 */
    float *d[4];        /* backward scratch, each the largest activation: the gradient of
                           the current block output, of the previous one, dz, da1 */
    void **owned;       /* every allocation, freed by model_destroy */
    int n_owned, cap_owned;
};

#endif
