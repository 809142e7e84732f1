/* gpu_sched.c: the device scheduler over He et al.'s whole 64,000-step recipe, read back from the step-record ring, against sched_step_one on the host, bit for bit (skips without a GPU). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/backend.h"
#include "testlib.h"
#include "gpu_require.h"

/*
 * Only the sched_step op runs (no model): 64,000 launches, the ring downloaded every
 * HIST steps as the trainer's flush does. Bit for bit: the kernel's one thread and
 * this host loop call the same sched_step_one (kernels/train_scalars.h), whose rates
 * here are products of double constants (0.01; 0.1 times gamma per milestone passed)
 * and whose He rule is a double moving average; the CUDA sources are built with
 * -fmad=false and the host with -ffp-contract=off, so neither side fuses a multiply-add
 * the other rounds twice.
 *
 * The batch's correct count stands in for a training run: fixed within each chunk and
 * uploaded into ts->correct between chunks (never per step): 6 of 128 right (error
 * 0.95) for steps 1..100, then 64 (error 0.5). The running error then falls
 * 0.95 -> 0.5 at rate 0.1 per step and crosses 0.8 on the 4th step of the second
 * chunk, so He's rule ends warmup after step 104, well inside the 400-step bound.
 */

#define STEPS 64000
#define HIST 100
#define BATCH 128

static const sched_params HE = {.warmup_shape = WARMUP_CONSTANT, .decay_shape = DECAY_STEP,
                                .warmup_steps = 400, .total_steps = STEPS, .peak_lr = 0.1, .start_lr = 0.01,
                                .until_train_error = 0.8, .gamma = 0.1, .n_milestones = 2,
                                .milestones = {32000, 48000}};

static float correct_for_chunk(long first_step) { return first_step <= 100 ? 6.0f : 64.0f; }

/* The rate the recipe says, written out independently of schedule.h. */
static float expected_lr(long s, long warmup_end)
{
    if (s <= warmup_end)
        return (float)0.01;
    double lr = 0.1;
    if (s > 32000)
        lr *= 0.1;
    if (s > 48000)
        lr *= 0.1;
    return (float)lr;
}

int main(void)
{
    backend *G = gpu_backend_or_skip("gpu_sched", 1);
    const struct backend_ops *o = G->ops;
    const step_policy pol = {1, 0.0f, 0.0f, 0};
    train_scalars host;
    memset(&host, 0, sizeof host);
    sched_state_init(&HE, &host.sched);
    host.loss = 2.302585f; /* recorded as is; the policy has no loss bounds */
    train_scalars *d_ts = o->alloc(G, sizeof host, "scalars");
    step_record *d_hist = o->alloc(G, sizeof(step_record) * HIST, "history");
    step_record h_ring[HIST], d_ring[HIST];
    if (!d_ts || !d_hist) {
        fprintf(stderr, "gpu_sched: out of device memory\n");
        return 1;
    }
    memset(h_ring, 0, sizeof h_ring);
    o->upload(G, d_ts, &host, sizeof host);

    long bad = 0, first_bad = -1, off_recipe = 0;
    for (long first = 1; first <= STEPS; first += HIST) {
        host.correct = correct_for_chunk(first);
        o->upload(G, (char *)d_ts + offsetof(train_scalars, correct), &host.correct, sizeof host.correct);
        for (long s = first; s < first + HIST; s++) {
            o->sched_step(G, &HE, &pol, BATCH, d_ts, d_hist, HIST);
            sched_step_one(&HE, &pol, BATCH, &host, h_ring, HIST);
        }
        o->sync(G);
        o->download(G, d_ring, d_hist, sizeof d_ring);
        for (long s = first; s < first + HIST; s++) {
            const step_record *g = &d_ring[(s - 1) % HIST], *c = &h_ring[(s - 1) % HIST];
            if (memcmp(g, c, sizeof *g) || g->step != s) {
                if (first_bad < 0) {
                    first_bad = s;
                    fprintf(stderr, "step %ld: gpu record step %ld lr %.9g correct %g; cpu step %ld lr %.9g "
                                    "correct %g\n", s, g->step, g->lr, g->correct, c->step, c->lr, c->correct);
                }
                bad++;
            }
            off_recipe += g->lr != expected_lr(s, 104);
        }
    }
    train_scalars dev;
    o->download(G, &dev, d_ts, sizeof dev);
    printf("%d steps of He et al.'s recipe: %ld step records differ from the host's (first at %ld)\n", STEPS, bad,
           first_bad);
    printf("warmup ended after step %ld (gpu) / %ld (cpu), expected 104; running error %.17g / %.17g\n",
           dev.sched.warmup_end, host.sched.warmup_end, dev.sched.train_error, host.sched.train_error);
    CHECK(bad == 0, "%ld of %d step records differ between the device ring and sched_step_one", bad, STEPS);
    CHECK(!memcmp(&dev, &host, sizeof dev), "the final scalar blocks differ (step %ld/%ld, warmup_end %ld/%ld)",
          dev.sched.step, host.sched.step, dev.sched.warmup_end, host.sched.warmup_end);
    /* Not only equal to each other: equal to the recipe. */
    CHECK(dev.sched.warmup_end == 104, "He's rule ended warmup after step %ld, expected 104",
          dev.sched.warmup_end);
    CHECK(off_recipe == 0, "%ld device rates differ from the recipe written out (0.01 to step 104, 0.1, 0.01 "
                           "after 32000, 0.001 after 48000)", off_recipe);
    o->free(G, d_ts);
    o->free(G, d_hist);
    o->destroy(G);
    return test_summary("gpu_sched");
}
