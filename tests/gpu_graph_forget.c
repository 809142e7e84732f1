/* gpu_graph_forget.c: a captured CUDA graph never replays for a new object at a reused address, and forget_steps makes a live object's next captured step record anew (skips without a GPU unless RESNET_REQUIRE_GPU=1). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/backend.h"
#include "gpu_rig.h"
#include "gpu_require.h"
#include "testlib.h"

/*
 * The CUDA backend keys a captured step by the addresses of the step function and its
 * context. Two checks, both read from the step records each step writes into its rig's
 * history ring (what rate it ran at, which step it was), so a stale graph cannot hide:
 *
 * 1. Reused address. Rig A (ResNet-8, batch 16, peak rate 0.1) lives in one static
 *    storage slot and runs captured steps; it is released (rig_release calls
 *    forget_steps) and rig B (ResNet-14, batch 32, peak 0.05, other data) is made in
 *    the same slot, so B's context has A's address. B's captured run must then equal
 *    B's uncaptured run bit for bit (the property tests/gpu_graph.c establishes), and
 *    its records must carry B's rate. A replay of A's graph would run A's kernels on
 *    A's freed buffers: B's ring would stay empty (or the freed memory would fault).
 *
 * 2. A live object. The graph freezes what a launch takes by value, such as the
 *    schedule (cuda_sched_step copies sched_params into the launch). Changing the rig's
 *    peak rate after capture leaves the replayed rate unchanged, which is what
 *    makes forgetting necessary; after forget_steps the next captured step records the
 *    new rate.
 */

#define CLASSES 10
#define STEPS 12
#define SEED_A 21ull
#define SEED_B 22ull

static sched_params constant_rate(double peak)
{
    const sched_params p = {.warmup_shape = WARMUP_NONE, .decay_shape = DECAY_STEP, .total_steps = 1000,
                            .peak_lr = peak, .gamma = 0.1};
    return p;
}

static rig slot; /* one address for rig A, then rig B */

/* STEPS steps from the reset state; the ring's records of the last hist_len steps. */
static rig_snap run_steps(rig *r, int capture)
{
    rig_reset(r);
    for (int s = 0; s < STEPS; s++)
        r->be->ops->run_step(r->be, rig_step, r, capture);
    return rig_snapshot(r);
}

/* Every rig here has a ring of STEPS records, so after STEPS steps slot i holds step i + 1. */
static void check_records(const char *what, const rig_snap *s, float lr)
{
    for (int i = 0; i < s->hist_len; i++) {
        const step_record *h = &s->hist[i];
        CHECK(h->step == i + 1 && h->lr == lr, "%s: ring slot %d holds step %ld at rate %.9g, want step %d at %.9g",
              what, i, h->step, h->lr, i + 1, lr);
    }
}

static void test_reused_address(backend *G)
{
    printf("== a new rig at the address of a released one\n");
    const step_policy pol = {0, 0.0f, 0.0f, 0};
    uint8_t *img_a, *lab_a, *img_b, *lab_b;
    rig_synth_data(SEED_A, 200, CLASSES, &img_a, &lab_a);
    rig_synth_data(SEED_B, 300, CLASSES, &img_b, &lab_b);

    const sched_params sa = constant_rate(0.1), sb = constant_rate(0.05);
    rig_init(&slot, G, 8, CLASSES, 16, SEED_A, img_a, lab_a, 200, &sa, &pol, STEPS);
    G->ops->run_step(G, rig_step, &slot, 0); /* the trainer's uncaptured warm-up step */
    rig_snap a = run_steps(&slot, 1);
    printf("rig A (ResNet-8, batch 16, rate 0.1) at %p: %d captured steps, loss %.6g\n", (void *)&slot, STEPS,
           a.ts.loss);
    check_records("rig A", &a, 0.1f);
    rig_snap_free(&a);
    rig_release(&slot);

    rig_init(&slot, G, 14, CLASSES, 32, SEED_B, img_b, lab_b, 300, &sb, &pol, STEPS);
    /* New shapes: their cuDNN kernels finish their lazy set-up in an uncaptured step, as
       every trainer process does before its first capture. */
    G->ops->run_step(G, rig_step, &slot, 0);
    rig_snap b_graph = run_steps(&slot, 1);
    rig_snap b_plain = run_steps(&slot, 0);
    printf("rig B (ResNet-14, batch 32, rate 0.05) at %p: captured loss %.6g, uncaptured %.6g\n", (void *)&slot,
           b_graph.ts.loss, b_plain.ts.loss);
    CHECK(b_graph.ts.sched.step == STEPS, "rig B's captured run left its step counter at %ld, want %d: another "
                                          "graph ran instead of B's", b_graph.ts.sched.step, STEPS);
    check_records("rig B captured", &b_graph, 0.05f);
    check_records("rig B uncaptured", &b_plain, 0.05f);
    const int same = !memcmp(b_graph.w, b_plain.w, sizeof(float) * (size_t)b_graph.np) &&
                     !memcmp(b_graph.stats, b_plain.stats, sizeof(float) * (size_t)b_graph.ns) &&
                     !memcmp(&b_graph.ts, &b_plain.ts, sizeof b_graph.ts);
    printf("  captured vs uncaptured: %s\n", same ? "bit-identical" : "DIFFER");
    CHECK(same, "rig B with the graph differs from rig B without it: the replayed graph is not B's step");
    rig_snap_free(&b_graph);
    rig_snap_free(&b_plain);
    rig_release(&slot);
    free(img_a);
    free(lab_a);
    free(img_b);
    free(lab_b);
}

static void test_forget_live(backend *G)
{
    printf("== forget_steps on a live rig re-records its step\n");
    const step_policy pol = {0, 0.0f, 0.0f, 0};
    uint8_t *img, *lab;
    rig_synth_data(SEED_A, 200, CLASSES, &img, &lab);
    const sched_params s1 = constant_rate(0.1);
    rig *r = rig_create(G, 8, CLASSES, 16, SEED_A, img, lab, 200, &s1, &pol, STEPS);
    G->ops->run_step(G, rig_step, r, 0);
    rig_snap first = run_steps(r, 1);
    check_records("before the change", &first, 0.1f);
    rig_snap_free(&first);

    r->sched = constant_rate(0.02); /* a launch argument: frozen into the captured graph */
    rig_snap stale = run_steps(r, 1);
    printf("  rate changed to 0.02 without forget_steps: the replay ran at %.9g\n", stale.hist[0].lr);
    CHECK(stale.hist[0].lr == 0.1f, "the replayed graph did not keep its captured rate (%.9g): then this test "
                                    "cannot tell a forgotten graph from a kept one", stale.hist[0].lr);
    rig_snap_free(&stale);

    G->ops->forget_steps(G, r);
    rig_snap fresh = run_steps(r, 1);
    printf("  after forget_steps: %.9g\n", fresh.hist[0].lr);
    check_records("after forget_steps", &fresh, 0.02f);
    rig_snap_free(&fresh);
    rig_destroy(r);
    free(img);
    free(lab);
}

int main(void)
{
    backend *G = gpu_backend_or_skip("gpu_graph_forget", 1);
    test_reused_address(G);
    test_forget_live(G);
    G->ops->destroy(G);
    return test_summary("gpu_graph_forget");
}
