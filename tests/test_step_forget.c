/* test_step_forget.c: the recorded-step table (find, add, forget), the forget_steps op of the backend table, and that the destroy paths of a test rig and a model call it before freeing what a recorded step uses. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/backend.h"
#include "backend/step_cache.h"
#include "gpu_rig.h"
#include "model/model.h"
#include "testlib.h"

/*
 * The bug this guards against (issue: a stale graph replayed at a reused address) can
 * only show on a GPU, where tests/gpu_graph_forget.c shows it end to end. What can be
 * pinned everywhere is the bookkeeping the CUDA backend does it with (step_cache.c,
 * the same code the CUDA run_step uses), and the order of calls on destroy: the rig
 * and the model must tell the backend to forget before they free anything. That order
 * is read off a CPU backend whose table is copied with forget_steps and free wrapped to
 * log their calls (they still do the CPU backend's work).
 */

static void step_a(void *ctx) { (void)ctx; }
static void step_b(void *ctx) { (void)ctx; }

static int released[16];
static int n_released;

static void note_release(void *handle, void *arg)
{
    (void)arg;
    if (n_released < 16)
        released[n_released] = (int)(intptr_t)handle;
    n_released++;
}

static void test_cache(void)
{
    printf("step_cache\n");
    step_cache c;
    memset(&c, 0, sizeof c);
    int x = 0, y = 0; /* two contexts: only their addresses matter */
    CHECK(step_cache_find(&c, step_a, &x) == NULL, "an empty table finds something");
    CHECK(step_cache_add(&c, step_a, &x, (void *)1) == 0, "add 1");
    CHECK(step_cache_add(&c, step_a, &y, (void *)2) == 0, "add 2");
    CHECK(step_cache_add(&c, step_b, &x, (void *)3) == 0, "add 3");
    CHECK(step_cache_find(&c, step_a, &x) == (void *)1 && step_cache_find(&c, step_a, &y) == (void *)2 &&
              step_cache_find(&c, step_b, &x) == (void *)3,
          "find does not return what was added under (step, ctx)");
    CHECK(step_cache_find(&c, step_b, &y) == NULL, "find matches on one half of the key only");

    n_released = 0;
    const int dropped = step_cache_forget(&c, &x, note_release, NULL);
    CHECK(dropped == 2 && n_released == 2 && released[0] == 1 && released[1] == 3,
          "forget(x) dropped %d and released %d (%d, %d), want 2: handles 1 and 3", dropped, n_released,
          released[0], released[1]);
    CHECK(step_cache_find(&c, step_a, &x) == NULL && step_cache_find(&c, step_b, &x) == NULL,
          "a forgotten context is still found: a new object at its address would replay the old recording");
    CHECK(c.n == 1 && step_cache_find(&c, step_a, &y) == (void *)2, "forget(x) touched y's entry");

    n_released = 0;
    CHECK(step_cache_forget(&c, &x, note_release, NULL) == 0 && n_released == 0,
          "forgetting an absent context released something");
    CHECK(step_cache_add(&c, step_a, &x, (void *)4) == 0 && step_cache_find(&c, step_a, &x) == (void *)4,
          "a forgotten key cannot be recorded again");

    n_released = 0;
    CHECK(step_cache_forget(&c, NULL, note_release, NULL) == 2 && n_released == 2 && c.n == 0,
          "forget(NULL) must drop everything: %d released, %d left", n_released, c.n);

    int ctxs[STEP_CACHE_MAX + 1];
    for (int i = 0; i < STEP_CACHE_MAX; i++)
        CHECK(step_cache_add(&c, step_a, &ctxs[i], (void *)(intptr_t)(10 + i)) == 0, "add %d of %d", i + 1,
              STEP_CACHE_MAX);
    CHECK(step_cache_add(&c, step_a, &ctxs[STEP_CACHE_MAX], (void *)99) == -1 && c.n == STEP_CACHE_MAX,
          "a full table accepted one more entry");
    n_released = 0;
    step_cache_forget(&c, &ctxs[3], note_release, NULL);
    CHECK(n_released == 1 && released[0] == 13 && c.n == STEP_CACHE_MAX - 1, "forget in a full table");
    for (int i = 0; i < STEP_CACHE_MAX; i++)
        CHECK((step_cache_find(&c, step_a, &ctxs[i]) != NULL) == (i != 3), "entry %d after forgetting entry 3",
              i);
}

/* ---- the op in the CPU backend's table ---- */

static int step_runs;
static void count_step(void *ctx)
{
    (void)ctx;
    step_runs++;
}

static void test_cpu_op(void)
{
    printf("forget_steps on the CPU backend\n");
    backend *b = backend_cpu_create(0, NULL, 0);
    CHECK(b && b->ops->forget_steps != NULL, "the CPU backend's table has no forget_steps");
    if (!b || !b->ops->forget_steps)
        return;
    int ctx = 0;
    step_runs = 0;
    b->ops->run_step(b, count_step, &ctx, 1);
    b->ops->forget_steps(b, &ctx);
    b->ops->forget_steps(b, NULL);
    b->ops->run_step(b, count_step, &ctx, 1);
    CHECK(step_runs == 2, "run_step ran the step %d times around forget_steps, want 2", step_runs);
    b->ops->destroy(b);
}

/* ---- the destroy paths, read off a logging copy of the CPU table ---- */

enum { EV_FORGET, EV_FREE };
typedef struct event {
    int kind;
    const void *arg;
} event;

static event events[4096];
static int n_events;
static struct backend_ops cpu_ops_copy;

static void log_event(int kind, const void *arg)
{
    if (n_events < (int)(sizeof events / sizeof events[0]))
        events[n_events] = (event){kind, arg};
    n_events++;
}

static void logging_forget(backend *b, const void *ctx)
{
    log_event(EV_FORGET, ctx);
    cpu_ops_copy.forget_steps(b, ctx);
}

static void logging_free(backend *b, void *p)
{
    log_event(EV_FREE, p);
    cpu_ops_copy.free(b, p);
}

/* The index of the first event of this kind and argument, or -1. */
static int first_event(int kind, const void *arg)
{
    for (int i = 0; i < n_events; i++)
        if (events[i].kind == kind && events[i].arg == arg)
            return i;
    return -1;
}

static int first_free(void)
{
    for (int i = 0; i < n_events; i++)
        if (events[i].kind == EV_FREE)
            return i;
    return -1;
}

static void test_destroy_paths(void)
{
    printf("destroy paths call forget_steps before they free\n");
    backend *b = backend_cpu_create(0, NULL, 0);
    if (!b)
        return;
    cpu_ops_copy = *b->ops;
    struct backend_ops logging = cpu_ops_copy;
    logging.forget_steps = logging_forget;
    logging.free = logging_free;
    b->ops = &logging;

    uint8_t *img, *lab;
    rig_synth_data(3, 40, 10, &img, &lab);
    const sched_params sp = {.warmup_shape = WARMUP_NONE, .decay_shape = DECAY_STEP, .total_steps = 10,
                             .peak_lr = 0.1, .gamma = 0.1};
    const step_policy pol = {0, 0.0f, 0.0f, 0};
    rig *r = rig_create(b, 8, 10, 4, 5, img, lab, 40, &sp, &pol, 4);
    b->ops->run_step(b, rig_step, r, 1); /* a "captured" step, as the trainer runs them */
    rig_snap snap = rig_snapshot(r);
    CHECK(snap.ts.sched.step == 1, "the rig's step did not run (step counter %ld)", snap.ts.sched.step);
    rig_snap_free(&snap);
    const void *model_w, *rig_ts = r->d_ts;
    n_events = 0;
    rig_destroy(r);
    const int f_rig = first_event(EV_FORGET, r), f_all = first_event(EV_FORGET, NULL), free1 = first_free();
    printf("  rig_destroy: %d events; forget(rig) at %d, forget(all) at %d, first free at %d\n", n_events, f_rig,
           f_all, free1);
    CHECK(f_rig >= 0, "rig_destroy never calls forget_steps for the rig: its graph would outlive it");
    CHECK(free1 >= 0 && f_rig >= 0 && f_rig < free1, "rig_destroy frees a buffer before it forgets its steps");
    CHECK(first_event(EV_FREE, rig_ts) > f_rig, "the rig's scalars were not freed after the forget");

    /* model_destroy on its own (a model whose owner lives on): it cannot know which
       recordings use its buffers, so it forgets them all before the first free. */
    char err[256];
    model *m = model_create(b, 8, 10, 4, 5, err, sizeof err);
    CHECK(m != NULL, "model_create: %s", err);
    if (m) {
        model_w = m->w;
        n_events = 0;
        model_destroy(m);
        const int fa = first_event(EV_FORGET, NULL), fw = first_event(EV_FREE, model_w);
        printf("  model_destroy: forget(all) at %d, the parameters freed at %d\n", fa, fw);
        CHECK(fa >= 0 && fw >= 0 && fa < first_free(), "model_destroy frees before it forgets (forget at %d, "
                                                        "first free at %d)", fa, first_free());
    }
    free(img);
    free(lab);
    b->ops = &cpu_ops_copy;
    b->ops->destroy(b);
}

int main(void)
{
    test_cache();
    test_cpu_op();
    test_destroy_paths();
    return test_summary("test_step_forget");
}
