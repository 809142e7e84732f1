/* gpu_train.c: one whole training step of a small ResNet on the CUDA backend (TF32 off) against the CPU reference, and restore_if_rejected on the GPU (skips without a GPU). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/backend.h"
#include "gpu_rig.h"
#include "model/model.h"
#include "model/model_act.h"
#include "testlib.h"
#include "gpu_require.h"

/*
 * The step is ResNet-8 (every kind of block: an identity shortcut in stage 1, option-A
 * shortcuts into stages 2 and 3), batch 8, augmentation and shuffle on, He et al.'s
 * schedule and optimizer, from the same initial parameters on both backends. The batch
 * itself is bit-identical (batch.h on both sides); every other difference is fp32
 * rounding in another summation order, since strict_fp32 keeps TF32 out of cuDNN and
 * cuBLAS and restricts the convolutions to GEMM-family algorithms.
 *
 * Tolerances, each measured per named view (tensor) of the model against the largest
 * magnitude in that view, so a tensor of small values is not drowned by a large one:
 *   - gradients and momenta (v = g + wd*w after one step from v = 0): 1e-4. One fp32
 *     dot product of K terms errs by about eps*sqrt(K) ~ 6e-8 * 24 = 1.4e-6 of its scale
 *     (K <= 576 here). The backward chain of ResNet-8 crosses 8 weighted layers (7 convs
 *     + the classifier) and 7 BN backward passes; their errors add along the chain, and
 *     BN backward subtracts two projections of dy (a cancellation that can magnify the
 *     relative error a few times). 8 layers x 1.4e-6 x ~5 ~ 6e-5 is a pessimistic bound;
 *     1e-4 sits above it. TF32 (10-bit mantissa, ~5e-4 per product) fails it by an
 *     order of magnitude, and any indexing, scaling or accumulate-vs-overwrite bug errs
 *     by O(1).
 *   - updated weights w' = w - lr*v: |w'gpu - w'cpu| <= lr * 1e-4 * max|v| + 1 ulp of
 *     max|w| in the view: the momentum tolerance carried through the update, plus the
 *     final fp32 rounding of w - lr*v, which may round the two sides apart by one ulp.
 *   - BN running statistics: their change in the step (0.1 * batch mean, 0.1 * unbiased
 *     batch variance - 0.1) within 1e-4 of the view's largest change. A forward-only
 *     quantity (errors ~1e-6), and 1e-4 still catches the wrong variance estimator: with
 *     m >= 512 values per channel, biased vs unbiased differ by 1/(m-1) ~ 2e-3.
 *   - loss: 1e-5 relative (forward only: logits err ~1e-6 of their scale, and the loss
 *     is summed in double on both sides); correct count and learning rate exact.
 *
 * ReLU gates. Where a pre-activation lies within rounding of zero, the two backends can
 * take different sides of max(0, x), and that one element's gradient then differs by
 * O(1), which shows as ~1e-2 in a view: not a bug, a discontinuity. Some 600k gates,
 * each disagreeing with probability ~1e-6, make that a 10-30% chance for one batch.
 * So the test counts disagreeing gates (comparing the ReLU outputs both backends kept
 * for backward) and, when there are any, moves to the next synthetic data seed (at most
 * MAX_TRIES); the tolerances are never widened.
 */

#define DEPTH 8
#define BATCH 8
#define CLASSES 10
#define N_IMAGES 100 /* batch 8 draws from 100 shuffled records: the plan's modulo runs */
#define MODEL_SEED 7ull
#define MAX_TRIES 6
#define TOL_GRAD 1e-4
#define TOL_STAT 1e-4
#define TOL_LOSS 1e-5

static backend *C, *G;

/* He et al.'s ResNet-110 recipe; step 1 runs at 0.01. */
static const sched_params HE = {.warmup_shape = WARMUP_CONSTANT, .decay_shape = DECAY_STEP,
                                .warmup_steps = 400, .total_steps = 64000, .peak_lr = 0.1, .start_lr = 0.01,
                                .until_train_error = 0.8, .gamma = 0.1, .n_milestones = 2,
                                .milestones = {32000, 48000}};

static long map_count(const conv_shape *s) { return (long)s->n * s->k * s->oh * s->ow; }

/* ReLU outputs kept for backward whose sign pattern differs between the backends. */
static long count_gate_flips(rig *rc, rig *rg, long *total)
{
    const struct model_act *Ac = rc->m->act, *Ag = rg->m->act;
    const int nb = 3 * rc->m->L->n;
    long flips = 0;
    *total = 0;
    for (int i = 0; i < 1 + 2 * nb; i++) {
        /* 0: the stem; then per block its conv1 ReLU and its add+ReLU output. */
        const int b = (i - 1) / 2;
        const unit_buf *uc = i == 0 ? &Ac->u[0] : &Ac->u[1 + 2 * b];
        const float *pc = i == 0 ? Ac->u[0].a : (i % 2 ? Ac->u[1 + 2 * b].a : Ac->block_out[b]);
        const float *pg = i == 0 ? Ag->u[0].a : (i % 2 ? Ag->u[1 + 2 * b].a : Ag->block_out[b]);
        const long n = map_count(&uc->s);
        float *hc = rig_get_floats(rc, pc, n), *hg = rig_get_floats(rg, pg, n);
        for (long j = 0; j < n; j++)
            flips += (hc[j] > 0.0f) != (hg[j] > 0.0f);
        *total += n;
        free(hc);
        free(hg);
    }
    return flips;
}

static double max_abs(const float *a, const float *base, long n)
{
    double m = 0.0;
    for (long i = 0; i < n; i++) {
        const double v = fabs((double)a[i] - (base ? (double)base[i] : 0.0));
        if (v > m)
            m = v;
    }
    return m;
}

/*
 * Per view: max |gpu - cpu| / max |cpu - base| (base NULL: 0), checked against tol.
 * Prints every view when `all`, else the worst; returns the worst ratio.
 */
static double compare_views(const char *what, const param_view *views, int n_views, const float *gpu,
                            const float *cpu, const float *base, double tol, int all, const char *why)
{
    double worst = 0.0;
    int worst_v = 0;
    printf("%s (tol %.0e per view: %s)\n", what, tol, why);
    for (int vi = 0; vi < n_views; vi++) {
        const param_view *v = &views[vi];
        const float *g = gpu + v->offset, *c = cpu + v->offset, *b = base ? base + v->offset : NULL;
        const double scale = max_abs(c, b, v->count);
        double err = 0.0;
        long at = 0;
        for (long j = 0; j < v->count; j++) {
            const double e = isnan(g[j]) || isnan(c[j]) ? INFINITY : fabs((double)g[j] - c[j]);
            if (e > err) {
                err = e;
                at = j;
            }
        }
        const double rel = scale > 0 ? err / scale : (err > 0 ? INFINITY : 0.0);
        if (all)
            printf("  %-24s max|cpu| %-10.3g rel err %.3g\n", v->name, scale, rel);
        CHECK(scale > 0, "%s %s: all zero on the CPU: the comparison would prove nothing", what, v->name);
        CHECK(rel <= tol, "%s %s: rel err %.3g > %.0e; worst [%ld]: gpu %.9g cpu %.9g", what, v->name, rel, tol,
              at, g[at], c[at]);
        if (rel > worst || vi == 0) {
            worst = rel;
            worst_v = vi;
        }
    }
    printf("  worst view: %s, rel err %.3g\n", views[worst_v].name, worst);
    return worst;
}

/* w' = w - lr*v: within the momentum tolerance carried through the update plus one ulp. */
static void compare_weights(const model_layout *L, const float *wg, const float *wc, const float *vc, double lr)
{
    double worst = 0.0;
    int worst_v = 0;
    printf("updated weights (per view: |gpu - cpu| <= lr * %.0e * max|v| + 1 ulp of max|w|)\n", TOL_GRAD);
    for (int vi = 0; vi < L->n_views; vi++) {
        const param_view *v = &L->views[vi];
        const double allowed = lr * TOL_GRAD * max_abs(vc + v->offset, NULL, v->count) +
                               ldexp(max_abs(wc + v->offset, NULL, v->count), -23);
        long at = 0;
        double err = 0.0;
        for (long j = 0; j < v->count; j++) {
            const double e = isnan(wg[v->offset + j]) ? INFINITY : fabs((double)wg[v->offset + j] - wc[v->offset + j]);
            if (e > err) {
                err = e;
                at = j;
            }
        }
        const double ratio = err / allowed;
        CHECK(ratio <= 1.0, "weights %s: |gpu - cpu| = %.3g > allowed %.3g; worst [%ld]: gpu %.9g cpu %.9g", v->name,
              err, allowed, at, wg[v->offset + at], wc[v->offset + at]);
        if (ratio > worst || vi == 0) {
            worst = ratio;
            worst_v = vi;
        }
    }
    printf("  worst view: %s, %.3g of the allowed error\n", L->views[worst_v].name, worst);
}

static void compare_step(rig *rc, rig *rg, const float *w0, const float *s0)
{
    const model_layout *L = rc->m->L;
    rig_snap c = rig_snapshot(rc), g = rig_snapshot(rg);

    /* The batch: bit-identical by construction (batch.h on both sides). */
    const long nx = (long)BATCH * 3072;
    float *xc = rig_get_floats(rc, rc->m->x, nx), *xg = rig_get_floats(rg, rg->m->x, nx);
    CHECK(!memcmp(xc, xg, sizeof(float) * (size_t)nx), "the augmented batch differs between the backends");
    free(xc);
    free(xg);

    printf("loss gpu %.9g cpu %.9g; correct gpu %g cpu %g; lr gpu %.9g cpu %.9g\n", g.ts.loss, c.ts.loss,
           g.ts.correct, c.ts.correct, g.ts.lr, c.ts.lr);
    CHECK_CLOSE(g.ts.loss, c.ts.loss, TOL_LOSS, "loss (forward only; sums in double on both sides)");
    CHECK(g.ts.correct == c.ts.correct, "correct count gpu %g cpu %g", g.ts.correct, c.ts.correct);
    CHECK(g.ts.lr == c.ts.lr && c.ts.lr == 0.01f, "step 1 rate gpu %.9g cpu %.9g, want 0.01 (He's warmup)",
          g.ts.lr, c.ts.lr);
    CHECK(g.ts.sched.step == 1 && c.ts.sched.step == 1, "step counters gpu %ld cpu %ld", g.ts.sched.step,
          c.ts.sched.step);
    CHECK(g.ts.nonfinite == 0 && c.ts.nonfinite == 0 && g.ts.halted == 0 && c.ts.halted == 0,
          "a finite step was flagged: gpu nonfinite %d halted %d, cpu nonfinite %d halted %d", g.ts.nonfinite,
          g.ts.halted, c.ts.nonfinite, c.ts.halted);
    /* The sum of squares is dominated by the largest gradients, each within ~1e-4. */
    CHECK_CLOSE(g.ts.grad_sq, c.ts.grad_sq, 2 * TOL_GRAD, "grad_sq (sum of squared gradients)");
    CHECK(g.hist[0].step == 1 && c.hist[0].step == 1 && g.hist[0].lr == c.hist[0].lr,
          "history record 1: gpu step %ld lr %.9g, cpu step %ld lr %.9g", g.hist[0].step, g.hist[0].lr,
          c.hist[0].step, c.hist[0].lr);

    compare_views("gradients", L->views, L->n_views, g.g, c.g, NULL, TOL_GRAD, 1,
                  "fp32 backward chain of 8 layers, see the top of the file");
    compare_views("momenta", L->views, L->n_views, g.v, c.v, NULL, TOL_GRAD, 0,
                  "v = g + wd*w: the gradient's error");
    compare_weights(L, g.w, c.w, c.v, (double)c.ts.lr);
    compare_views("BN running statistics, change in the step", L->stat_views, L->n_stat_views, g.stats,
                  c.stats, s0, TOL_STAT, 0, "forward-only batch statistics");
    /* Weights moved at all (else the update comparison would be vacuous). */
    long moved = 0;
    for (long i = 0; i < c.np; i++)
        moved += c.w[i] != w0[i];
    CHECK(moved > c.np / 2, "only %ld of %ld weights changed in the step", moved, c.np);
    rig_snap_free(&c);
    rig_snap_free(&g);
}

/* (a) the whole step, CPU vs GPU. */
static void test_one_step(void)
{
    printf("== one training step, ResNet-%d, batch %d, CPU vs CUDA (strict fp32)\n", DEPTH, BATCH);
    const step_policy pol = {0, 0.0f, 0.0f, 0};
    uint8_t *img, *lab;
    rig_synth_data(1000, N_IMAGES, CLASSES, &img, &lab);
    rig *rc = rig_create(C, DEPTH, CLASSES, BATCH, MODEL_SEED, img, lab, N_IMAGES, &HE, &pol, 16);
    rig *rg = rig_create(G, DEPTH, CLASSES, BATCH, MODEL_SEED, img, lab, N_IMAGES, &HE, &pol, 16);
    const model_layout *L = rc->m->L;
    float *w0 = malloc(sizeof(float) * (size_t)L->n_params), *s0 = malloc(sizeof(float) * (size_t)L->n_stats);
    model_layout_init_values(L, MODEL_SEED, w0, s0);
    printf("%ld parameters in %d views, %ld BN statistics\n", L->n_params, L->n_views, L->n_stats);
    for (int t = 0; t < MAX_TRIES; t++) {
        if (t > 0) {
            free(img);
            free(lab);
            rig_synth_data(1000 + (uint64_t)t, N_IMAGES, CLASSES, &img, &lab);
            rig_set_data(rc, img, lab);
            rig_set_data(rg, img, lab);
        }
        rig_reset(rc);
        rig_reset(rg);
        C->ops->run_step(C, rig_step, rc, 0);
        G->ops->run_step(G, rig_step, rg, 0);
        G->ops->sync(G);
        long total = 0;
        const long flips = count_gate_flips(rc, rg, &total);
        printf("data seed %d: %ld of %ld ReLU gates differ\n", 1000 + t, flips, total);
        if (flips == 0 || t == MAX_TRIES - 1) {
            CHECK(flips == 0, "%ld ReLU gates differ on every one of %d data seeds: the forward passes disagree "
                              "by more than rounding", flips, MAX_TRIES);
            compare_step(rc, rg, w0, s0);
            break;
        }
        printf("  (a pre-activation within rounding of zero: the next data seed)\n");
    }
    free(w0);
    free(s0);
    free(img);
    free(lab);
    rig_destroy(rc);
    rig_destroy(rg);
}

/* (d) restore_if_rejected: the op itself, then inside whole steps. */
static void test_restore_op(void)
{
    printf("== restore_if_rejected, the op\n");
    const long n = 5000;
    float *src = malloc(sizeof(float) * n), *dst = malloc(sizeof(float) * n), *got = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++) {
        src[i] = (float)rng_uniform(rng_hash(9, 1, (uint64_t)i)) + 0.5f;
        dst[i] = -(float)rng_uniform(rng_hash(9, 2, (uint64_t)i)) - 0.5f;
    }
    float *ds = rig_alloc(G, sizeof(float) * n, "src"), *dd = rig_alloc(G, sizeof(float) * n, "dst");
    train_scalars *dts = rig_alloc(G, sizeof(train_scalars), "scalars");
    G->ops->upload(G, ds, src, sizeof(float) * n);
    const struct {
        int nonfinite, halted, restores;
        const char *what;
    } cases[] = {{0, 0, 0, "applied step"},
                 {NONFINITE_LOSS, 0, 1, "non-finite loss"},
                 {NONFINITE_GRAD | NONFINITE_WEIGHT, 0, 1, "non-finite gradient and weight"},
                 {0, HALT_LOSS_BOUND, 1, "halted run"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        train_scalars ts;
        memset(&ts, 0, sizeof ts);
        ts.nonfinite = cases[k].nonfinite;
        ts.halted = cases[k].halted;
        G->ops->upload(G, dd, dst, sizeof(float) * n);
        G->ops->upload(G, dts, &ts, sizeof ts);
        G->ops->restore_if_rejected(G, n, ds, dd, dts);
        G->ops->download(G, got, dd, sizeof(float) * n);
        const float *want = cases[k].restores ? src : dst;
        CHECK(!memcmp(got, want, sizeof(float) * n), "restore_if_rejected, %s: dst should %s", cases[k].what,
              cases[k].restores ? "equal src" : "be unchanged");
    }
    G->ops->free(G, ds);
    G->ops->free(G, dd);
    G->ops->free(G, dts);
    free(src);
    free(dst);
    free(got);
}

static long count_diff(const float *a, const float *b, long n)
{
    long d = 0;
    for (long i = 0; i < n; i++)
        d += memcmp(&a[i], &b[i], sizeof(float)) != 0;
    return d;
}

/* One step on the GPU; checks what it left against the snapshot from before it. */
static void restore_step(rig *r, int capture, int want_applied, const char *what)
{
    rig_snap before = rig_snapshot(r);
    G->ops->run_step(G, rig_step, r, capture);
    rig_snap after = rig_snapshot(r);
    const long ns = before.ns, np = before.np;
    const long ds = count_diff(before.stats, after.stats, ns), dw = count_diff(before.w, after.w, np),
               dv = count_diff(before.v, after.v, np);
    printf("  %-44s nonfinite %d halted %d skipped %ld: %ld of %ld stats, %ld weights, %ld momenta changed\n",
           what, after.ts.nonfinite, after.ts.halted, after.ts.skipped, ds, ns, dw, dv);
    CHECK(after.ts.sched.step == before.ts.sched.step + 1, "%s: the step counter did not advance", what);
    if (want_applied) {
        CHECK(after.ts.nonfinite == 0 && after.ts.halted == 0, "%s: flagged (nonfinite %d, halted %d)", what,
              after.ts.nonfinite, after.ts.halted);
        /* Every channel's running mean and variance moves in an applied step. */
        CHECK(ds == ns, "%s: only %ld of %ld BN statistics moved: restored although applied?", what, ds, ns);
        CHECK(dw > np / 2 && dv > np / 2, "%s: the update was not applied (%ld weights, %ld momenta moved)", what,
              dw, dv);
    } else {
        CHECK(after.ts.nonfinite != 0 || after.ts.halted != 0, "%s: the step was not flagged", what);
        CHECK(ds == 0, "%s: %ld BN statistics kept the rejected step's values", what, ds);
        CHECK(dw == 0 && dv == 0, "%s: %ld weights and %ld momenta changed in a rejected step", what, dw, dv);
    }
    rig_snap_free(&before);
    rig_snap_free(&after);
}

static void test_restore_steps(void)
{
    uint8_t *img, *lab;
    rig_synth_data(77, N_IMAGES, CLASSES, &img, &lab);
    const step_policy skip = {1, 0.0f, 0.0f, 0};
    rig *r = rig_create(G, DEPTH, CLASSES, BATCH, MODEL_SEED, img, lab, N_IMAGES, &HE, &skip, 16);
    /* A NaN in the stem's first filter: every statistic downstream of it goes NaN in
       the forward pass, so only the restore can bring them back. */
    float *w_stem = r->m->w + r->m->L->views[r->m->L->units[0].w_view].offset;
    float good;
    const float bad = NAN;
    G->ops->download(G, &good, w_stem, sizeof good);

    printf("== restore_if_rejected in whole steps, policy skip, CUDA graph on (the trainer's default)\n");
    rig_reset(r);
    restore_step(r, 1, 1, "step 1 (captured), applied");
    G->ops->upload(G, w_stem, &bad, sizeof bad);
    restore_step(r, 1, 0, "step 2 (replayed), NaN weight: skipped");
    G->ops->upload(G, w_stem, &good, sizeof good);
    restore_step(r, 1, 1, "step 3 (replayed), weight repaired: applied");
    train_scalars ts;
    G->ops->download(G, &ts, r->d_ts, sizeof ts);
    CHECK(ts.skipped == 1 && ts.halted == 0, "skip policy: skipped %ld halted %d, want 1 and 0", ts.skipped,
          ts.halted);

    printf("== restore_if_rejected in whole steps, policy stop, no graph\n");
    r->pol.skip_nonfinite = 0; /* read per call without a graph (a graph would keep the old value) */
    rig_reset(r);
    restore_step(r, 0, 1, "step 1, applied");
    G->ops->upload(G, w_stem, &bad, sizeof bad);
    restore_step(r, 0, 0, "step 2, NaN weight: halts the run");
    G->ops->upload(G, w_stem, &good, sizeof good);
    restore_step(r, 0, 0, "step 3, after the halt: nothing applied");
    G->ops->download(G, &ts, r->d_ts, sizeof ts);
    CHECK(ts.halted == HALT_NONFINITE && ts.fail_step == 2 && (ts.fail_bits & NONFINITE_WEIGHT),
          "stop policy: halted %d at step %ld with bits %d, want %d at step 2 with the weight bit", ts.halted,
          ts.fail_step, ts.fail_bits, HALT_NONFINITE);
    rig_destroy(r);
    free(img);
    free(lab);
}

int main(void)
{
    G = gpu_backend_or_skip("gpu_train", 1);
    C = backend_cpu_create(0, NULL, 0);
    if (!C) {
        fprintf(stderr, "gpu_train: cannot create the CPU backend\n");
        return 1;
    }
    test_one_step();
    test_restore_op();
    test_restore_steps();
    G->ops->destroy(G);
    C->ops->destroy(C);
    return test_summary("gpu_train");
}
