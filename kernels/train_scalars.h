/* train_scalars.h: the per-step scalars, the stop rule and the per-step record a training step keeps in device memory. */
#ifndef TRAIN_SCALARS_H
#define TRAIN_SCALARS_H

#include "hd.h"
#include "schedule.h"

/* Bits of train_scalars.nonfinite: which value went non-finite this step. */
enum {
    NONFINITE_LOSS = 1,
    NONFINITE_GRAD = 2,
    NONFINITE_WEIGHT = 4
};

/* Why a run halted (train_scalars.halted); 0 while it runs. */
enum {
    HALT_NONE = 0,
    HALT_NONFINITE = 1,   /* a non-finite loss, gradient or weight under policy stop */
    HALT_LOSS_BOUND = 2,  /* loss above policy.loss_bound */
    HALT_LOSS_PLATEAU = 3 /* loss above policy.loss_soft_bound for soft_steps steps in a row */
};

/* What a step does about bad values; fixed for a run (passed by value to kernels). */
typedef struct step_policy {
    int skip_nonfinite;    /* 1: skip the update and go on; 0: halt */
    float loss_bound;      /* halt when loss > this; 0 = off */
    float loss_soft_bound; /* halt when loss > this for soft_steps consecutive steps; 0 = off */
    int soft_steps;
} step_policy;

/*
 * One block in device memory, written by the step's kernels; the host copies it back
 * every log_every steps. Nothing here is set by the host per step.
 */
typedef struct train_scalars {
    sched_state sched; /* step counter and He's-rule state (scheduler) */
    float lr;          /* this step's rate (scheduler writes, SGD reads) */
    float loss;        /* batch mean cross-entropy (softmax_xent) */
    float correct;     /* correctly classified images in the batch (softmax_xent) */
    float grad_sq;     /* sum of squared gradients (health) */
    int nonfinite;     /* NONFINITE_* bits of this step (health overwrites each step) */
    int halted;        /* HALT_* once the run must stop; sticky; no update after it */
    long skipped;      /* steps whose update was skipped under skip_nonfinite */
    int above_count;   /* consecutive steps with loss above loss_soft_bound */
    int fail_bits;     /* nonfinite bits at the halting step */
    long fail_step;    /* the halting step (1-based) */
    float fail_lr;     /* its rate */
    float fail_loss;   /* its loss */
} train_scalars;

/* One row of the per-step history ring the scheduler writes (metrics.csv). */
typedef struct step_record {
    long step;
    float lr, loss, correct, grad_sq;
    int nonfinite, halted;
} step_record;

/*
 * Judge the step just computed (loss, health bits and rate known), before the update.
 * Returns 1 when the update must not be applied. Called by the scheduler step.
 */
HD static inline int step_judge(const step_policy *pol, train_scalars *ts, long step)
{
    if (ts->halted)
        return 1;
    int halt = HALT_NONE;
    if (ts->nonfinite) {
        if (pol->skip_nonfinite) {
            ts->skipped += 1;
            return 1;
        }
        halt = HALT_NONFINITE;
    } else if (pol->loss_bound > 0.0f && ts->loss > pol->loss_bound) {
        halt = HALT_LOSS_BOUND;
    } else if (pol->loss_soft_bound > 0.0f) {
        ts->above_count = ts->loss > pol->loss_soft_bound ? ts->above_count + 1 : 0;
        if (ts->above_count >= pol->soft_steps)
            halt = HALT_LOSS_PLATEAU;
    }
    if (halt == HALT_NONE)
        return 0;
    ts->halted = halt;
    ts->fail_bits = ts->nonfinite;
    ts->fail_step = step;
    ts->fail_lr = ts->lr;
    ts->fail_loss = ts->loss;
    return 1;
}

/*
 * The scheduler's whole step, run by one CPU loop iteration or one GPU thread: the rate
 * of step s = step + 1 from the schedule, the policy's judgement, the history record,
 * then the counter advanced with this batch's error (1 - correct / batch).
 */
HD static inline void sched_step_one(const sched_params *p, const step_policy *pol, int batch,
                                     train_scalars *ts, step_record *history, int history_len)
{
    const long s = ts->sched.step + 1;
    ts->lr = (float)sched_next_lr(p, &ts->sched);
    step_judge(pol, ts, s);
    if (history && history_len > 0) {
        step_record *rec = &history[(s - 1) % history_len];
        rec->step = s;
        rec->lr = ts->lr;
        rec->loss = ts->loss;
        rec->correct = ts->correct;
        rec->grad_sq = ts->grad_sq;
        rec->nonfinite = ts->nonfinite;
        rec->halted = ts->halted;
    }
    const double error = batch > 0 ? 1.0 - (double)ts->correct / batch : 0.0;
    sched_state_advance(p, &ts->sched, error);
}

#endif
