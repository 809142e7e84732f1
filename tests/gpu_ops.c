/* gpu_ops.c: every CUDA backend op against the CPU reference backend on fresh random inputs, at stated tolerances (skips without a GPU). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "backend/backend.h"
#include "batch.h"
#include "testlib.h"
#include "gpu_pair.h"
#include "gpu_require.h"

/*
 * Inputs are fresh each run (the seed is printed; GPU_OPS_SEED=<n> repeats a run) and
 * never all zeros. Outputs the interface says are overwritten are filled with NaN
 * first, so a value the GPU forgets to write, or an accumulation into stale memory,
 * fails. Three kinds of tolerance, each stated where used:
 *   - 0 ulp: the GPU kernel runs the same ops_math.h/sgd.h/batch.h function, or the
 *     same arithmetic in the same order, as the CPU loop. This needs the CUDA sources
 *     compiled with -fmad=false: nvcc otherwise fuses a*b+c into one FMA (one rounding
 *     instead of two) and the last bit differs;
 *   - a few ulp: the same formula through different libm implementations (CUDA's
 *     expf/cos/pow against glibc's), each within 1-2 ulp of exact;
 *   - normalized error |gpu - cpu| / (|cpu| + rms(cpu)): sums in a different order
 *     (cuDNN, cuBLAS, tree reductions). With TF32 off (strict_fp32) an fp32 dot product
 *     of K terms is off by about eps*sqrt(K) ~ 1e-6 of the output scale for the K <= 4096
 *     used here, and rarely more than ~1e-5; TF32's 10-bit mantissa gives ~1e-3. So 5e-5
 *     separates fp32 from TF32, and any indexing or semantics bug errs by O(1).
 */

/* ---- memory ---- */

static void test_memory(void)
{
    printf("memory\n");
    const long n = 100003;
    buf z = buf_new(sizeof(float) * n);
    float *h = buf_get(z, 1);
    long nonzero = 0;
    for (long i = 0; i < n; i++)
        nonzero += h[i] != 0.0f;
    CHECK(nonzero == 0, "alloc is not zero-filled: %ld nonzero floats", nonzero);
    free(h);
    buf r = buf_rand(n, -1, 1);
    G->ops->copy(G, z.g, r.g, r.bytes);
    C->ops->copy(C, z.c, r.c, r.bytes);
    compare("upload/copy/download round trip", z, n, ULP, 0, "bytes moved, no arithmetic");
    G->ops->zero(G, z.g, z.bytes);
    C->ops->zero(C, z.c, z.bytes);
    compare("zero", z, n, ULP, 0, "memset");
    FREE_BUFS(z, r);
}

/* ---- batch assembly ---- */

static void test_make_batch(void)
{
    printf("make_batch\n");
    const long n_img = 1000;
    uint8_t *img = malloc((size_t)n_img * 3072), *lab = malloc((size_t)n_img);
    for (long i = 0; i < n_img * 3072; i++)
        img[i] = (uint8_t)next_u64();
    for (long i = 0; i < n_img; i++)
        lab[i] = (uint8_t)(next_u64() % 10);
    buf bi = buf_from(img, (size_t)n_img * 3072), bl = buf_from(lab, (size_t)n_img);
    train_scalars ts0 = {0};
    ts0.sched.step = 7; /* positions 896..1023 cross the epoch boundary at 1000 */
    buf ts = buf_from(&ts0, sizeof ts0);
    batch_spec spec = {128, 1, 0, 1, 1, next_u64(),
                       {CIFAR10_MEAN_R, CIFAR10_MEAN_G, CIFAR10_MEAN_B},
                       {1.0f / CIFAR10_STD_R, 1.0f / CIFAR10_STD_G, 1.0f / CIFAR10_STD_B}};
    for (int mode = 0; mode < 2; mode++) {
        if (mode == 1) {
            spec.train = 0;
            spec.batch = 100;
            spec.first = 900;
        }
        buf x = buf_poisoned((long)spec.batch * 3072), y = buf_new(sizeof(int32_t) * spec.batch);
        C->ops->make_batch(C, bi.c, bl.c, n_img, &spec, ts.c, x.c, y.c);
        G->ops->make_batch(G, bi.g, bl.g, n_img, &spec, ts.g, x.g, y.g);
        compare(mode ? "make_batch eval x" : "make_batch train x", x, (long)spec.batch * 3072, ULP, 0,
                "same batch.h plan and pixel functions");
        int32_t *yc = buf_get(y, 0), *yg = buf_get(y, 1);
        CHECK(!memcmp(yc, yg, y.bytes), "make_batch labels differ (mode %d)", mode);
        free(yc);
        free(yg);
        FREE_BUFS(x, y);
    }
    FREE_BUFS(bi, bl, ts);
    free(img);
    free(lab);
}

/* ---- convolution ---- */

static void test_conv_shape(conv_shape s, backend *g2)
{
    const long nx = (long)s.n * s.c * s.h * s.w, nw = (long)s.k * s.c * s.r * s.r,
               ny = (long)s.n * s.k * s.oh * s.ow;
    char what[96];
    snprintf(what, sizeof what, "%dx%dx%dx%d k%d r%d s%d p%d", s.n, s.c, s.h, s.w, s.k, s.r, s.stride, s.pad);
    printf("conv %s\n", what);
    C->ops->conv_prepare(C, &s);
    G->ops->conv_prepare(G, &s);
    buf x = buf_rand(nx, -1, 1), w = buf_rand(nw, -0.5f, 0.5f), dy = buf_rand(ny, -1, 1);
    buf y = buf_poisoned(ny), dx = buf_poisoned(nx), dw = buf_poisoned(nw);
    C->ops->conv_fwd(C, &s, x.c, w.c, y.c);
    G->ops->conv_fwd(G, &s, x.g, w.g, y.g);
    compare("conv_fwd", y, ny, REL, 5e-5, "fp32 sums of c*r*r terms in another order");
    C->ops->conv_bwd_data(C, &s, dy.c, w.c, dx.c);
    G->ops->conv_bwd_data(G, &s, dy.g, w.g, dx.g);
    compare("conv_bwd_data", dx, nx, REL, 5e-5, "fp32 sums of k*r*r terms in another order");
    C->ops->conv_bwd_filter(C, &s, x.c, dy.c, dw.c);
    G->ops->conv_bwd_filter(G, &s, x.g, dy.g, dw.g);
    compare("conv_bwd_filter", dw, nw, REL, 5e-5, "fp32 sums of n*oh*ow terms in another order");

    /* Deterministic algorithms: a second run gives the same bits. */
    void *before = buf_get(dw, 1);
    G->ops->conv_bwd_filter(G, &s, x.g, dy.g, dw.g);
    same_bits("conv_bwd_filter rerun (deterministic algorithm)", dw, before);
    before = buf_get(dx, 1);
    G->ops->conv_bwd_data(G, &s, dy.g, w.g, dx.g);
    same_bits("conv_bwd_data rerun (deterministic algorithm)", dx, before);

    if (g2) { /* TF32 allowed: reported, not checked (its error is why strict mode exists) */
        G->ops->sync(G);
        g2->ops->conv_fwd(g2, &s, x.g, w.g, y.g); /* same device and context: G's buffers serve */
        g2->ops->sync(g2);
        compare("conv_fwd, strict_fp32 off", y, ny, REL, -1, "TF32 allowed: reported only");
    }
    FREE_BUFS(x, w, dy, y, dx, dw);
}

/* ---- batch norm ---- */

static void test_bn(int n, int c, int hw)
{
    printf("batch norm n=%d c=%d hw=%d (m=%d)\n", n, c, hw, n * hw);
    const long nx = (long)n * c * hw;
    /* An offset mean, so a missing mean subtraction or a one-pass variance shows. */
    buf x = buf_rand(nx, 0.5f, 2.5f), dy = buf_rand(nx, -1, 1);
    buf gamma = buf_rand(c, 0.5f, 1.5f), beta = buf_rand(c, -0.5f, 0.5f);
    buf rmean = buf_rand(c, -0.5f, 0.5f), rvar = buf_rand(c, 0.5f, 1.5f);
    buf smean = buf_poisoned(c), sinv = buf_poisoned(c), y = buf_poisoned(nx);
    C->ops->bn_train_fwd(C, n, c, hw, x.c, gamma.c, beta.c, rmean.c, rvar.c, smean.c, sinv.c, y.c);
    G->ops->bn_train_fwd(G, n, c, hw, x.g, gamma.g, beta.g, rmean.g, rvar.g, smean.g, sinv.g, y.g);
    compare("bn_train_fwd y", y, nx, REL, 5e-5, "batch statistics summed in another order");
    compare("bn_train_fwd save_mean", smean, c, REL, 5e-5, "a sum of m values in another order");
    compare("bn_train_fwd save_inv_std", sinv, c, REL, 5e-5, "1/sqrt(biased var + 1e-5)");
    compare("bn_train_fwd running_mean", rmean, c, REL, 5e-5, "0.9 * old + 0.1 * batch mean");
    /* A biased estimate would move running_var by 0.1*var/(m-1): about 6e-4 of the scale at
       m = 32, 10x the tolerance; at m = 512 only ~3e-5, so the m = 32 case pins the estimator. */
    compare("bn_train_fwd running_var", rvar, c, REL, 5e-5, "0.9 * old + 0.1 * unbiased var");
    buf yi = buf_poisoned(nx);
    C->ops->bn_infer_fwd(C, n, c, hw, x.c, gamma.c, beta.c, rmean.c, rvar.c, yi.c);
    G->ops->bn_infer_fwd(G, n, c, hw, x.g, gamma.g, beta.g, rmean.g, rvar.g, yi.g);
    compare("bn_infer_fwd y", yi, nx, REL, 5e-5, "per element, cuDNN's rounding");
    buf dx = buf_poisoned(nx), dg = buf_poisoned(c), db = buf_poisoned(c);
    C->ops->bn_bwd(C, n, c, hw, x.c, dy.c, gamma.c, smean.c, sinv.c, dx.c, dg.c, db.c);
    G->ops->bn_bwd(G, n, c, hw, x.g, dy.g, gamma.g, smean.g, sinv.g, dx.g, dg.g, db.g);
    compare("bn_bwd dx", dx, nx, REL, 5e-5, "channel sums of dy and dy*xhat in another order");
    compare("bn_bwd dgamma", dg, c, REL, 5e-5, "a sum of m products");
    compare("bn_bwd dbeta", db, c, REL, 5e-5, "a sum of m values");
    FREE_BUFS(x, dy, gamma, beta, rmean, rvar, smean, sinv, y, yi, dx, dg, db);
}

/* ---- elementwise, shortcut, pooling ---- */

static void test_elementwise(void)
{
    printf("elementwise\n");
    const long n = 300007; /* more than CUK_MAX_BLOCKS * 256 threads: the grid-stride loop runs */
    buf a = buf_rand(n, -1, 1), b = buf_rand(n, -1, 1), y = buf_poisoned(n);
    C->ops->relu_fwd(C, n, a.c, y.c);
    G->ops->relu_fwd(G, n, a.g, y.g);
    compare("relu_fwd", y, n, ULP, 0, "relu_one: a selection");
    C->ops->relu_bwd(C, n, y.c, b.c, a.c); /* in place is allowed for dx; here out of place */
    G->ops->relu_bwd(G, n, y.g, b.g, a.g);
    compare("relu_bwd", a, n, ULP, 0, "relu_grad_one: a selection");
    C->ops->add_relu_fwd(C, n, a.c, b.c, y.c);
    G->ops->add_relu_fwd(G, n, a.g, b.g, y.g);
    compare("add_relu_fwd", y, n, ULP, 0, "one IEEE add then relu_one");
    C->ops->add_acc(C, n, b.c, y.c);
    G->ops->add_acc(G, n, b.g, y.g);
    compare("add_acc", y, n, ULP, 0, "one IEEE add");
    C->ops->relu_fwd(C, n, b.c, b.c);
    G->ops->relu_fwd(G, n, b.g, b.g);
    compare("relu_fwd in place", b, n, ULP, 0, "relu_one: a selection");
    FREE_BUFS(a, b, y);

    const int sizes[][5] = {{3, 16, 8, 8, 32}, {2, 32, 7, 5, 64}}; /* n, c_in, h, w, c_out */
    for (int t = 0; t < 2; t++) {
        const int sn = sizes[t][0], ci = sizes[t][1], h = sizes[t][2], w = sizes[t][3], co = sizes[t][4];
        const long nin = (long)sn * ci * h * w, nout = (long)sn * co * ((h + 1) / 2) * ((w + 1) / 2);
        buf x = buf_rand(nin, -1, 1), s = buf_poisoned(nout), ds = buf_rand(nout, -1, 1), dx = buf_rand(nin, -1, 1);
        C->ops->shortcut_fwd(C, sn, ci, h, w, co, x.c, s.c);
        G->ops->shortcut_fwd(G, sn, ci, h, w, co, x.g, s.g);
        compare(t ? "shortcut_fwd (odd h, w)" : "shortcut_fwd", s, nout, ULP, 0, "a copy with zero channels");
        C->ops->shortcut_bwd_acc(C, sn, ci, h, w, co, ds.c, dx.c);
        G->ops->shortcut_bwd_acc(G, sn, ci, h, w, co, ds.g, dx.g);
        compare(t ? "shortcut_bwd_acc (odd h, w)" : "shortcut_bwd_acc", dx, nin, ULP, 0, "one IEEE add per value");
        FREE_BUFS(x, s, ds, dx);
    }

    const int pn = 37, pc = 64, hw = 64;
    buf px = buf_rand((long)pn * pc * hw, -1, 1), py = buf_poisoned((long)pn * pc);
    buf pdy = buf_rand((long)pn * pc, -1, 1), pdx = buf_poisoned((long)pn * pc * hw);
    C->ops->avgpool_fwd(C, pn, pc, hw, px.c, py.c);
    G->ops->avgpool_fwd(G, pn, pc, hw, px.g, py.g);
    compare("avgpool_fwd", py, (long)pn * pc, ULP, 0, "double sum in index order, one rounding");
    C->ops->avgpool_bwd(C, pn, pc, hw, pdy.c, pdx.c);
    G->ops->avgpool_bwd(G, pn, pc, hw, pdy.g, pdx.g);
    compare("avgpool_bwd", pdx, (long)pn * pc * hw, ULP, 0, "dy * (1/hw) rounded alike");
    FREE_BUFS(px, py, pdy, pdx);
}

/* ---- head: linear, softmax cross-entropy ---- */

static void test_linear(void)
{
    const int n = 37, in = 64, out = 10;
    printf("linear n=%d in=%d out=%d\n", n, in, out);
    buf x = buf_rand((long)n * in, -1, 1), w = buf_rand((long)out * in, -0.5f, 0.5f), b = buf_rand(out, -1, 1);
    buf dy = buf_rand((long)n * out, -1, 1), y = buf_poisoned((long)n * out);
    buf dx = buf_poisoned((long)n * in), dw = buf_poisoned((long)out * in), db = buf_poisoned(out);
    C->ops->linear_fwd(C, n, in, out, x.c, w.c, b.c, y.c);
    G->ops->linear_fwd(G, n, in, out, x.g, w.g, b.g, y.g);
    compare("linear_fwd", y, (long)n * out, REL, 5e-5, "64-term dot products plus bias, another order");
    C->ops->linear_bwd(C, n, in, out, x.c, w.c, dy.c, dx.c, dw.c, db.c);
    G->ops->linear_bwd(G, n, in, out, x.g, w.g, dy.g, dx.g, dw.g, db.g);
    compare("linear_bwd dx", dx, (long)n * in, REL, 5e-5, "10-term dot products");
    compare("linear_bwd dw", dw, (long)out * in, REL, 5e-5, "37-term dot products");
    compare("linear_bwd dbias", db, out, ULP, 0, "double column sums in row order");
    G->ops->zero(G, dw.g, dw.bytes);
    G->ops->linear_bwd(G, n, in, out, x.g, w.g, dy.g, NULL, dw.g, NULL); /* NULL gradients are skipped */
    compare("linear_bwd dw (dx, dbias NULL)", dw, (long)out * in, REL, 5e-5, "as above");
    FREE_BUFS(x, w, b, dy, y, dx, dw, db);
}

static void test_softmax(int n, int k)
{
    printf("softmax_xent n=%d k=%d\n", n, k);
    buf z = buf_rand((long)n * k, -4, 4), d = buf_poisoned((long)n * k);
    int32_t *lab = malloc(sizeof(int32_t) * n);
    for (int i = 0; i < n; i++)
        lab[i] = (int32_t)(next_u64() % (uint64_t)k);
    buf l = buf_from(lab, sizeof(int32_t) * n);
    train_scalars t0 = {0};
    buf ts = buf_from(&t0, sizeof t0);
    C->ops->softmax_xent(C, n, k, z.c, l.c, d.c, ts.c);
    G->ops->softmax_xent(G, n, k, z.g, l.g, d.g, ts.g);
    G->ops->softmax_xent(G, n, k, z.g, l.g, d.g, ts.g); /* twice: loss is overwritten, not summed */
    compare("softmax_xent dlogits", d, (long)n * k, REL, 1e-5, "CUDA expf vs glibc expf, <= 2 ulp each");
    train_scalars tc, tg;
    scalars_get(ts, &tc, &tg);
    CHECK_CLOSE(tg.loss, tc.loss, 1e-6, "softmax_xent loss (double sums, few-ulp expf/logf)");
    CHECK(tg.correct == tc.correct, "softmax_xent correct: gpu %g cpu %g", tg.correct, tc.correct);
    printf("  loss gpu %.8g cpu %.8g, correct gpu %g cpu %g\n", tg.loss, tc.loss, tg.correct, tc.correct);
    FREE_BUFS(z, d, l, ts);
    free(lab);
}

/* ---- step control ---- */

static void test_health(void)
{
    printf("health\n");
    const long n = 300007;
    float *g = host_floats(n, -1, 1), *w = host_floats(n, -1, 1);
    buf bg = buf_from(g, sizeof(float) * n), bw = buf_from(w, sizeof(float) * n);
    train_scalars t0 = {0};
    t0.loss = 2.3f;
    t0.nonfinite = NONFINITE_GRAD | NONFINITE_WEIGHT; /* stale bits: must be overwritten */
    buf ts = buf_from(&t0, sizeof t0);
    train_scalars tc, tg;
    C->ops->health(C, n, bg.c, bw.c, ts.c);
    G->ops->health(G, n, bg.g, bw.g, ts.g);
    scalars_get(ts, &tc, &tg);
    CHECK(llabs(ordered(tg.grad_sq) - ordered(tc.grad_sq)) <= 1,
          "health grad_sq gpu %.9g cpu %.9g (double sums in another order, then one rounding: <= 1 ulp)",
          tg.grad_sq, tc.grad_sq);
    CHECK(tg.nonfinite == 0 && tc.nonfinite == 0, "health flags on finite values: gpu %d cpu %d", tg.nonfinite,
          tc.nonfinite);
    printf("  grad_sq gpu %.9g cpu %.9g\n", tg.grad_sq, tc.grad_sq);
    /* One bad value of each kind, one at a time and together. */
    const struct {
        int grad, weight, loss, want;
    } cases[] = {{1, 0, 0, NONFINITE_GRAD}, {0, 1, 0, NONFINITE_WEIGHT}, {0, 0, 1, NONFINITE_LOSS},
                 {1, 1, 1, NONFINITE_GRAD | NONFINITE_WEIGHT | NONFINITE_LOSS}};
    for (int i = 0; i < 4; i++) {
        const float keep_g = g[12345], keep_w = w[n - 1];
        g[12345] = cases[i].grad ? NAN : keep_g;
        w[n - 1] = cases[i].weight ? INFINITY : keep_w;
        t0.loss = cases[i].loss ? NAN : 2.3f;
        t0.nonfinite = 0;
        buf_put(bg, g);
        buf_put(bw, w);
        buf_put(ts, &t0);
        g[12345] = keep_g;
        w[n - 1] = keep_w;
        C->ops->health(C, n, bg.c, bw.c, ts.c);
        G->ops->health(G, n, bg.g, bw.g, ts.g);
        scalars_get(ts, &tc, &tg);
        CHECK(tg.nonfinite == cases[i].want && tc.nonfinite == cases[i].want,
              "health case %d: flags gpu %d cpu %d, want %d", i, tg.nonfinite, tc.nonfinite, cases[i].want);
    }
    FREE_BUFS(bg, bw, ts);
    free(g);
    free(w);
}

/* A training error that falls from ~95% to ~5% over the first 1000 steps, noisy. */
static float correct_at(long s, int batch)
{
    double err = 0.95 - 0.9 * (s < 1000 ? (double)s / 1000.0 : 1.0) + 0.1 * (rng_uniform(next_u64()) - 0.5);
    err = err < 0.0 ? 0.0 : err > 1.0 ? 1.0 : err;
    return (float)(long)((1.0 - err) * batch + 0.5);
}

static void test_sched(const char *name, const sched_params *p, long steps, int max_ulp, const char *why)
{
    printf("sched_step: %s, %ld steps\n", name, steps);
    const int batch = 128;
    const step_policy pol = {1, 0.0f, 0.0f, 0};
    train_scalars t0 = {0};
    sched_state_init(p, &t0.sched);
    t0.loss = 2.3f;
    buf ts = buf_from(&t0, sizeof t0);
    buf hist = buf_new(sizeof(step_record) * (size_t)steps);
    const size_t off = offsetof(train_scalars, correct);
    for (long s = 1; s <= steps; s++) {
        const float corr = correct_at(s, batch);
        C->ops->upload(C, (char *)ts.c + off, &corr, sizeof corr);
        G->ops->upload(G, (char *)ts.g + off, &corr, sizeof corr);
        C->ops->sched_step(C, p, &pol, batch, ts.c, hist.c, (int)steps);
        G->ops->sched_step(G, p, &pol, batch, ts.g, hist.g, (int)steps);
    }
    step_record *hc = buf_get(hist, 0), *hg = buf_get(hist, 1);
    long bad = 0, diff = 0, first_bad = -1;
    for (long i = 0; i < steps; i++) {
        const int64_t u = llabs(ordered(hg[i].lr) - ordered(hc[i].lr));
        diff += u != 0;
        if (u > max_ulp || hg[i].step != hc[i].step || hg[i].step != i + 1) {
            if (first_bad < 0)
                first_bad = i;
            bad++;
        }
    }
    printf("  %ld of %ld rates differ at all (tol %d ulp: %s)\n", diff, steps, max_ulp, why);
    CHECK(bad == 0, "%s: %ld steps differ; first at step %ld: gpu lr %.9g cpu lr %.9g", name, bad, first_bad + 1,
          first_bad >= 0 ? hg[first_bad].lr : 0.0f, first_bad >= 0 ? hc[first_bad].lr : 0.0f);
    train_scalars tc, tg;
    scalars_get(ts, &tc, &tg);
    CHECK(tg.sched.step == steps && tc.sched.step == steps, "step counters gpu %ld cpu %ld", tg.sched.step,
          tc.sched.step);
    CHECK(tg.sched.warmup_end == tc.sched.warmup_end, "warmup end gpu %ld cpu %ld", tg.sched.warmup_end,
          tc.sched.warmup_end);
    CHECK(tg.sched.train_error == tc.sched.train_error,
          "running error gpu %.17g cpu %.17g (the same double ops; differs only if nvcc fused them: -fmad=false)",
          tg.sched.train_error, tc.sched.train_error);
    printf("  warmup ended after step %ld (configured %ld)\n", tg.sched.warmup_end, p->warmup_steps);
    free(hc);
    free(hg);
    FREE_BUFS(ts, hist);
}

static void test_sgd(int nesterov)
{
    printf("sgd_update nesterov=%d\n", nesterov);
    const long n = 300007;
    buf w = buf_rand(n, -1, 1), g = buf_rand(n, -1, 1), v = buf_rand(n, -0.1f, 0.1f);
    const sgd_hyper h = {0.9f, 5e-4f, nesterov};
    train_scalars t0 = {0};
    t0.lr = 0.1f;
    buf ts = buf_from(&t0, sizeof t0);
    C->ops->sgd_update(C, n, w.c, g.c, v.c, &h, ts.c);
    G->ops->sgd_update(G, n, w.g, g.g, v.g, &h, ts.g);
    compare("sgd_update w", w, n, ULP, 0, "sgd_update_one, same operations in the same order");
    compare("sgd_update v", v, n, ULP, 0, "sgd_update_one");
    /* A flagged or halted step leaves weights and momenta untouched. */
    for (int k = 0; k < 2; k++) {
        t0.nonfinite = k == 0 ? NONFINITE_GRAD : 0;
        t0.halted = k == 1 ? HALT_LOSS_BOUND : 0;
        buf_put(ts, &t0);
        void *w0 = buf_get(w, 1), *v0 = buf_get(v, 1);
        G->ops->sgd_update(G, n, w.g, g.g, v.g, &h, ts.g);
        same_bits(k == 0 ? "w after a non-finite step" : "w after a halted step", w, w0);
        same_bits(k == 0 ? "v after a non-finite step" : "v after a halted step", v, v0);
    }
    FREE_BUFS(w, g, v, ts);
}

int main(void)
{
    G = gpu_backend_or_skip("gpu_ops", 1);
    const char *env = getenv("GPU_OPS_SEED");
    const uint64_t seed = env && *env ? strtoull(env, NULL, 10)
                                      : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    printf("gpu_ops: seed %llu (GPU_OPS_SEED=%llu repeats this run)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    rng_state = seed;
    char err[256];
    C = backend_cpu_create(0, NULL, 0);
    if (!C) {
        fprintf(stderr, "gpu_ops: cannot create the CPU backend\n");
        return 1;
    }
    backend *g2 = backend_cuda_create(0, 0, err, sizeof err);

    test_memory();
    test_make_batch();
    const conv_shape shapes[] = {
        conv_shape_make(4, 3, 32, 32, 16, 3, 1, 1),  /* the stem */
        conv_shape_make(4, 16, 16, 16, 32, 3, 2, 1), /* a stage's first, strided conv */
        conv_shape_make(2, 64, 8, 8, 64, 3, 1, 1),   /* the last stage: K = 576 */
        conv_shape_make(3, 5, 7, 9, 6, 3, 2, 1),     /* odd, non-square: catches h/w swaps */
        conv_shape_make(2, 4, 6, 6, 3, 1, 1, 0),     /* 1x1 */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        test_conv_shape(shapes[i], i == 2 ? g2 : NULL);
    test_bn(2, 8, 16);   /* m = 32: unbiased and biased running variance differ by 3% */
    test_bn(8, 16, 64);  /* m = 512 */
    test_elementwise();
    test_linear();
    test_softmax(128, 10);
    test_softmax(300, 10); /* more samples than threads in the block */
    test_health();

    /* He et al.: 0.01 until the training error is below 80%, then 0.1, /10 at 32k and 48k. */
    const sched_params he = {.warmup_shape = WARMUP_CONSTANT, .decay_shape = DECAY_STEP, .warmup_steps = 2000,
                             .total_steps = 64000, .peak_lr = 0.1, .start_lr = 0.01, .until_train_error = 0.8,
                             .gamma = 0.1, .n_milestones = 2, .milestones = {32000, 48000}};
    test_sched("He et al. ResNet-110", &he, 64000, 0, "products of constants: same double ops");
    /* Run past T = 5000: the cosine must hold its end value. */
    const sched_params ec = {.warmup_shape = WARMUP_EXPONENTIAL, .decay_shape = DECAY_COSINE, .warmup_steps = 500,
                             .warmup_tau = 100.0, .total_steps = 5000, .peak_lr = 0.4, .end_lr = 1e-4};
    test_sched("exponential warmup, cosine decay", &ec, 6000, 1,
               "CUDA exp/cos vs glibc, <= 2 double ulp, may move a float rounding by 1");
    test_sgd(0);
    test_sgd(1);

    if (g2)
        g2->ops->destroy(g2);
    G->ops->destroy(G);
    C->ops->destroy(C);
    return test_summary("gpu_ops");
}
