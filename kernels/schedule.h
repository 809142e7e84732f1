/* schedule.h: the learning-rate schedule as pure host+device functions (CPU trainer, `resnet schedule`, GPU scheduler kernel). */
#ifndef SCHEDULE_H
#define SCHEDULE_H

#include "hd.h"
#include <math.h>

/*
 * Convention (configs/README.md documents it for users):
 *   - the optimizer step s runs from 1 to T (T = total steps);
 *   - warmup covers steps 1..W, where W is the configured warmup length, or less for
 *     He's rule (warmup ends at the first step after the running training error falls
 *     below `until_train_error`); W_e below is that effective warmup length;
 *   - the decay shape governs every step s > W_e and counts its progress from W_e, as
 *     the seed trainer's cosine does; step-decay milestones are absolute step numbers and
 *     the rate after milestone m applies from step m+1;
 *   - past T the decay holds its end value (a cosine never climbs back).
 */

enum warmup_shape {
    WARMUP_NONE = 0,
    WARMUP_CONSTANT,
    WARMUP_LINEAR,
    WARMUP_POWER,
    WARMUP_EXPONENTIAL,
    WARMUP_LOG
};

enum decay_shape {
    DECAY_CONSTANT = 0,
    DECAY_COSINE,
    DECAY_STEP,
    DECAY_POLY,
    DECAY_LINEAR,
    DECAY_EXPONENTIAL
};

#define SCHED_MAX_MILESTONES 16

/* Plain old data: copied by value into a kernel argument, so no pointers. */
typedef struct sched_params {
    int warmup_shape;            /* enum warmup_shape */
    int decay_shape;             /* enum decay_shape */
    long warmup_steps;           /* W; 0 for WARMUP_NONE */
    long total_steps;            /* T */
    double peak_lr;
    double start_lr;             /* constant, linear and log warmup start here */
    double warmup_power;         /* power warmup exponent p */
    double warmup_tau;           /* exponential warmup time constant, in steps */
    double until_train_error;    /* He's rule threshold in [0,1]; 0 = never met */
    double end_lr;               /* cosine, poly, linear and exponential decay end here */
    double gamma;                /* step decay factor per milestone */
    double decay_power;          /* poly decay exponent */
    int n_milestones;
    long milestones[SCHED_MAX_MILESTONES];
} sched_params;

/* The warmup part, valid for 1 <= s <= W. */
HD static inline double sched_warmup_lr(const sched_params *p, long s)
{
    const double W = (double)p->warmup_steps, x = (double)s;
    switch (p->warmup_shape) {
    case WARMUP_CONSTANT:
        return p->start_lr;
    case WARMUP_LINEAR:
        return p->start_lr + (p->peak_lr - p->start_lr) * x / W;
    case WARMUP_POWER:
        return p->peak_lr * pow(x / W, p->warmup_power);
    case WARMUP_EXPONENTIAL:
        return p->peak_lr * (1.0 - exp(-x / p->warmup_tau));
    case WARMUP_LOG:
        /* W >= 2 is enforced by validation: ln(1) = 0 would divide by zero. */
        return p->start_lr + (p->peak_lr - p->start_lr) * log(x) / log(W);
    default:
        return p->peak_lr;
    }
}

/* The decay part, for s > we (we = effective warmup length). */
HD static inline double sched_decay_lr(const sched_params *p, long s, long we)
{
    const double peak = p->peak_lr, end = p->end_lr;
    const long T = p->total_steps;
    /* Progress through the decay, 0 just after warmup, 1 at T, held at 1 past T. */
    double u = T > we ? (double)(s - we) / (double)(T - we) : 1.0;
    if (u > 1.0)
        u = 1.0;
    switch (p->decay_shape) {
    case DECAY_COSINE:
        return end + 0.5 * (peak - end) * (1.0 + cos(3.14159265358979323846 * u));
    case DECAY_STEP: {
        double lr = peak;
        for (int i = 0; i < p->n_milestones; i++)
            if (p->milestones[i] < s)
                lr *= p->gamma;
        return lr;
    }
    case DECAY_POLY:
        return end + (peak - end) * pow(1.0 - u, p->decay_power);
    case DECAY_LINEAR:
        return end + (peak - end) * (1.0 - u);
    case DECAY_EXPONENTIAL:
        /* Geometric from peak to end_lr at T (validation requires end_lr > 0). */
        return peak * pow(end / peak, u);
    default:
        return peak;
    }
}

/* The rate of step s (1-based) when the warmup ended after step `we` (we <= W). */
HD static inline double sched_lr(const sched_params *p, long s, long we)
{
    if (s <= we)
        return sched_warmup_lr(p, s);
    return sched_decay_lr(p, s, we);
}

/*
 * Scheduler state, held in device memory on the GPU and in host memory on the CPU.
 * `step` counts completed steps; `warmup_end` starts at W and moves earlier when He's
 * rule fires; `train_error` is the running training error the rule reads.
 */
typedef struct sched_state {
    long step;
    long warmup_end;
    double train_error; /* exponential moving average; < 0 before the first step */
} sched_state;

/* Smoothing of the running training error: the mean over about the last 1/a batches. */
#define SCHED_ERROR_EMA 0.1

HD static inline void sched_state_init(const sched_params *p, sched_state *st)
{
    st->step = 0;
    st->warmup_end = p->warmup_shape == WARMUP_NONE ? 0 : p->warmup_steps;
    st->train_error = -1.0;
}

/* The rate for the next step (st->step + 1), without advancing. */
HD static inline double sched_next_lr(const sched_params *p, const sched_state *st)
{
    return sched_lr(p, st->step + 1, st->warmup_end);
}

/*
 * Record the finished step's batch error (fraction wrong, 0..1) and advance the counter.
 * He's rule: if the running error is now below the threshold while still warming up,
 * warmup ends with this step, so the next step already runs the decay schedule.
 */
HD static inline void sched_state_advance(const sched_params *p, sched_state *st, double batch_error)
{
    st->step += 1;
    st->train_error = st->train_error < 0.0
        ? batch_error
        : (1.0 - SCHED_ERROR_EMA) * st->train_error + SCHED_ERROR_EMA * batch_error;
    if (st->step < st->warmup_end && st->train_error < p->until_train_error)
        st->warmup_end = st->step;
}

#endif
