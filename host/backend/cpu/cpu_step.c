/* cpu_step.c: the CPU backend's step control: batch assembly, health check, scheduler step and SGD update, the large passes split into fixed chunks across threads. */
#include "backend/cpu/cpu_internal.h"
#include "batch.h"
#include "ops_math.h"
#include "sgd.h"

#define IMG_PIXELS 1024 /* 32 x 32 */
#define IMG_BYTES 3072  /* 3 planes */

/*
 * Training batches follow kernels/batch.h: sample i of the step that ts->sched.step
 * counts is stream position p = step * batch + i, whose record, crop and flip are pure
 * functions of (seed, p), the same ones the GPU kernel evaluates. Evaluation batches are
 * records first..first+batch-1 as they are (the centre crop of the padded image, no flip).
 */
typedef struct batch_job {
    const uint8_t *images, *labels;
    long n_images;
    const batch_spec *spec;
    long step;
    float *x;
    int32_t *y;
} batch_job;

static void make_batch_task(void *ctx, int i, int worker)
{
    (void)worker;
    const batch_job *J = ctx;
    const batch_spec *spec = J->spec;
    sample_plan sp;
    if (spec->train) {
        const long p = J->step * (long)spec->batch + i;
        sp = batch_plan_train(spec->seed, p, J->n_images, spec->shuffle, spec->augment);
    } else {
        sp.record = spec->first + i;
        sp.dx = sp.dy = 4;
        sp.flip = 0;
    }
    if (sp.record < 0 || sp.record >= J->n_images)
        cpu_fatal("make_batch: record %ld is outside the %ld images", sp.record, J->n_images);
    const uint8_t *rec = J->images + (size_t)sp.record * IMG_BYTES;
    float *xi = J->x + (size_t)i * IMG_BYTES;
    for (int ch = 0; ch < 3; ch++)
        for (int py = 0; py < 32; py++)
            for (int px = 0; px < 32; px++)
                xi[ch * IMG_PIXELS + py * 32 + px] = batch_pixel(rec, &sp, ch, py, px, spec->mean, spec->inv_std);
    J->y[i] = J->labels[sp.record];
}

/*
 * Training batches follow kernels/batch.h: sample i of the step that ts->sched.step
 * counts is stream position p = step * batch + i, whose record, crop and flip are pure
 * functions of (seed, p), the same ones the GPU kernel evaluates. Evaluation batches are
 * records first..first+batch-1 as they are (the centre crop of the padded image, no flip).
 */
void cpu_make_batch(backend *b, const uint8_t *images, const uint8_t *labels, long n_images,
                    const batch_spec *spec, const train_scalars *ts, float *x, int32_t *y)
{
    batch_job J = {images, labels, n_images, spec, ts->sched.step, x, y};
    cpu_parallel(b, spec->batch, make_batch_task, &J);
}

/* Per-chunk results of the health check, combined in chunk order. */
typedef struct health_part {
    double sq;
    int bad_g, bad_w;
} health_part;

typedef struct health_job {
    long count;
    const float *grads, *weights;
    health_part *part;
} health_job;

static void health_task(void *ctx, int t, int worker)
{
    (void)worker;
    const health_job *J = ctx;
    long lo, hi;
    cpu_chunk_range(t, J->count, &lo, &hi);
    double sq = 0.0;
    int bad_g = 0, bad_w = 0;
    for (long i = lo; i < hi; i++) {
        const float g = J->grads[i];
        sq += (double)g * g;
        bad_g |= nonfinite_one(g);
    }
    if (J->weights)
        for (long i = lo; i < hi; i++)
            bad_w |= nonfinite_one(J->weights[i]);
    J->part[t] = (health_part){sq, bad_g, bad_w};
}

/* The flags are this step's alone: overwritten, never carried over from the last step.
   weights may be NULL (a check of gradients alone). */
void cpu_health(backend *b, long count, const float *grads, const float *weights, train_scalars *ts)
{
    const int tasks = cpu_chunks(count);
    health_part *part = cpu_scratch_get(&((cpu_backend *)b)->shared[CPU_SB_HEALTH],
                                        sizeof(health_part) * (size_t)(tasks ? tasks : 1));
    health_job J = {count, grads, weights, part};
    cpu_parallel(b, tasks, health_task, &J);
    double sq = 0.0;
    int bad_g = 0, bad_w = 0;
    for (int t = 0; t < tasks; t++) {
        sq += part[t].sq;
        bad_g |= part[t].bad_g;
        bad_w |= part[t].bad_w;
    }
    ts->grad_sq = (float)sq;
    ts->nonfinite = (nonfinite_one(ts->loss) ? NONFINITE_LOSS : 0) | (bad_g ? NONFINITE_GRAD : 0) |
                    (bad_w ? NONFINITE_WEIGHT : 0);
}

/* The shared scheduler step (kernels/train_scalars.h), the same function the GPU's
   one-thread kernel runs. */
void cpu_sched_step(backend *b, const sched_params *p, const step_policy *pol, int batch,
                    train_scalars *ts, step_record *history, int history_len)
{
    (void)b;
    sched_step_one(p, pol, batch, ts, history, history_len);
}

typedef struct sgd_job {
    long count;
    float *w, *v;
    const float *g;
    const sgd_hyper *h;
    float lr;
} sgd_job;

static void sgd_task(void *ctx, int t, int worker)
{
    (void)worker;
    const sgd_job *J = ctx;
    long lo, hi;
    cpu_chunk_range(t, J->count, &lo, &hi);
    const float m = J->h->momentum, wd = J->h->weight_decay;
    for (long i = lo; i < hi; i++)
        sgd_update_one(&J->w[i], J->g[i], &J->v[i], J->lr, m, wd, J->h->nesterov);
}

void cpu_sgd_update(backend *b, long count, float *w, const float *g, float *v,
                    const sgd_hyper *h, train_scalars *ts)
{
    /* The scheduler's judgement (step_judge) already ran: a flagged or halted step's
       gradients are not applied, so weights and momenta stay as they were. A weight
       this pass makes non-finite is flagged by the next step's health check. */
    if (ts->nonfinite != 0 || ts->halted != 0)
        return;
    sgd_job J = {count, w, v, g, h, ts->lr};
    cpu_parallel(b, cpu_chunks(count), sgd_task, &J);
}

void cpu_restore_if_rejected(backend *b, long count, const float *src, float *dst, const train_scalars *ts)
{
    (void)b;
    if (ts->nonfinite == 0 && ts->halted == 0)
        return;
    for (long i = 0; i < count; i++)
        dst[i] = src[i];
}
