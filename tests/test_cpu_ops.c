/* test_cpu_ops.c: CPU backend forward values against naive loops, and batch assembly, health, scheduler and SGD against hand values. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/backend.h"
#include "batch.h"
#include "testlib.h"

static backend *B;
static uint64_t rng = 0x0DDB1A5E5BAD5EEDull;

static double urand(void) /* [0, 1), splitmix64 */
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static float *frand(long n, double lo, double hi)
{
    float *p = xcalloc((size_t)n, sizeof(float));
    for (long i = 0; i < n; i++)
        p[i] = (float)(lo + (hi - lo) * urand());
    return p;
}

/* fp32 unit roundoff. A dot product of K terms summed in ANY order in fp32 is within
   (K + 1) * U * sum|terms| of the exact value (the classic a-priori bound): a rigorous
   tolerance for GEMM-based ops against a double reference, independent of how the CPU kernels
   order their sums. Any index error moves an output by a whole term, far more. */
#define U 5.9604645e-8

/* ---- convolution ---- */
static void conv_case(int n, int c, int h, int k, int r, int stride, int pad)
{
    const conv_shape s = conv_shape_make(n, c, h, h, k, r, stride, pad);
    const int w = h, oh = s.oh, ow = s.ow;
    const long nx = (long)n * c * h * w, nw = (long)k * c * r * r, ny = (long)n * k * oh * ow;
    float *x = frand(nx, -1, 1), *wt = frand(nw, -1, 1), *y = frand(ny, -9, 9), *y2 = xcalloc(ny, 4);
    float *dy = frand(ny, -1, 1), *dx = frand(nx, -9, 9), *dw = frand(nw, -9, 9);
    double *rdx = xcalloc(nx, sizeof(double)), *adx = xcalloc(nx, sizeof(double));
    double *rdw = xcalloc(nw, sizeof(double)), *adw = xcalloc(nw, sizeof(double));
    B->ops->conv_prepare(B, &s);
    B->ops->conv_fwd(B, &s, x, wt, y);
    B->ops->conv_bwd_data(B, &s, dy, wt, dx);
    B->ops->conv_bwd_filter(B, &s, x, dy, dw);
    int bad_y = 0;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < k; o++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double sum = 0.0, abs_sum = 0.0;
                    const long yi = (((long)i * k + o) * oh + oy) * ow + ox;
                    for (int ci = 0; ci < c; ci++)
                        for (int kh = 0; kh < r; kh++)
                            for (int kw = 0; kw < r; kw++) {
                                const int iy = oy * stride - pad + kh, ix = ox * stride - pad + kw;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                                    continue;
                                const long xi = (((long)i * c + ci) * h + iy) * w + ix;
                                const long wi = (((long)o * c + ci) * r + kh) * r + kw;
                                sum += (double)x[xi] * wt[wi];
                                abs_sum += fabs((double)x[xi] * wt[wi]);
                                /* the adjoints, by the same loop nest */
                                rdx[xi] += (double)dy[yi] * wt[wi];
                                adx[xi] += fabs((double)dy[yi] * wt[wi]);
                                rdw[wi] += (double)dy[yi] * x[xi];
                                adw[wi] += fabs((double)dy[yi] * x[xi]);
                            }
                    if (fabs(y[yi] - sum) > (c * r * r + 1) * U * abs_sum + 1e-30)
                        bad_y++;
                }
    int bad_dx = 0, bad_dw = 0;
    /* bwd_data sums k*r*r terms at most; bwd_filter n*oh*ow, in float across images. */
    for (long i = 0; i < nx; i++)
        bad_dx += fabs(dx[i] - rdx[i]) > (k * r * r + 1) * U * adx[i] + 1e-30;
    for (long i = 0; i < nw; i++)
        bad_dw += fabs(dw[i] - rdw[i]) > ((long)n * oh * ow + 1) * U * adw[i] + 1e-30;
    CHECK(!bad_y, "conv fwd n%d c%d %dx%d k%d r%d s%d p%d: %d outputs off the direct loop", n, c, h, h, k, r, stride, pad, bad_y);
    CHECK(!bad_dx, "conv bwd_data n%d c%d %dx%d k%d s%d: %d values off the direct loop", n, c, h, h, k, stride, bad_dx);
    CHECK(!bad_dw, "conv bwd_filter n%d c%d %dx%d k%d s%d: %d values off the direct loop", n, c, h, h, k, stride, bad_dw);
    /* Determinism: the same call again gives the same bits. */
    B->ops->conv_fwd(B, &s, x, wt, y2);
    CHECK(!memcmp(y, y2, sizeof(float) * (size_t)ny), "conv fwd not bit-identical run to run");
    free(x), free(wt), free(y), free(y2), free(dy), free(dx), free(dw);
    free(rdx), free(adx), free(rdw), free(adw);
}

static void test_conv(void)
{
    conv_case(2, 3, 6, 5, 3, 1, 1);
    conv_case(2, 3, 6, 5, 3, 2, 1);
    conv_case(2, 3, 7, 5, 3, 2, 1);
    conv_case(3, 16, 8, 32, 3, 2, 1); /* a stage transition of the CIFAR ResNet */
    conv_case(2, 16, 16, 16, 3, 1, 1);
    conv_case(1, 4, 5, 3, 1, 1, 0);
}

/* ---- batch norm ---- */
static void test_bn(void)
{
    const int n = 2, c = 3, hw = 4; /* m = 8: n/(n-1) = 8/7 separates the variances clearly */
    const int m = n * hw;
    float *x = frand(n * c * hw, -2, 3), *y = xcalloc(n * c * hw, 4);
    float g1[3] = {1, 1, 1}, b0[3] = {0, 0, 0}, rm[3] = {0.3f, -0.2f, 0.0f}, rv[3] = {2.0f, 0.5f, 1.0f};
    float sm[3], sis[3];
    const float rm0[3] = {0.3f, -0.2f, 0.0f}, rv0[3] = {2.0f, 0.5f, 1.0f};
    B->ops->bn_train_fwd(B, n, c, hw, x, g1, b0, rm, rv, sm, sis, y);
    for (int ch = 0; ch < c; ch++) {
        double mean = 0, var = 0, ymean = 0, yvar = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++)
                mean += x[(i * c + ch) * hw + j], ymean += y[(i * c + ch) * hw + j];
        mean /= m, ymean /= m;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) {
                const double d = x[(i * c + ch) * hw + j] - mean, e = y[(i * c + ch) * hw + j] - ymean;
                var += d * d, yvar += e * e;
            }
        var /= m, yvar /= m;
        /* Outputs: mean 0 and biased variance var/(var+eps) (1 up to eps), to fp32 rounding. */
        CHECK(fabs(ymean) < 1e-6, "bn ch%d: output mean %g, want 0", ch, ymean);
        CHECK_CLOSE(yvar, var / (var + 1e-5), 1e-5, "bn output variance");
        CHECK_CLOSE(sm[ch], mean, 1e-6, "bn save_mean");
        CHECK_CLOSE(sis[ch], 1.0 / sqrt(var + 1e-5), 1e-6, "bn save_inv_std");
        CHECK_CLOSE(rm[ch], 0.9 * rm0[ch] + 0.1 * mean, 1e-6, "bn running_mean");
        CHECK_CLOSE(rv[ch], 0.9 * rv0[ch] + 0.1 * var * m / (m - 1), 1e-6, "bn running_var (unbiased)");
    }
    /* With gamma and beta: y = gamma * xhat + beta. */
    float gam[3] = {0.5f, 2.0f, -1.0f}, bet[3] = {0.1f, -0.3f, 1.0f};
    B->ops->bn_train_fwd(B, n, c, hw, x, gam, bet, rm, rv, sm, sis, y);
    int bad = 0;
    for (int i = 0; i < n * c * hw; i++) {
        const int ch = (i / hw) % c;
        const double want = gam[ch] * ((double)x[i] - sm[ch]) * sis[ch] + bet[ch];
        bad += fabs(y[i] - want) > 1e-6 * (1 + fabs(want));
    }
    CHECK(!bad, "bn train with gamma/beta: %d values off", bad);
    /* Inference: the running statistics, not the batch's. */
    float irm[3] = {0.5f, -1.0f, 2.0f}, irv[3] = {4.0f, 0.25f, 1.0f};
    B->ops->bn_infer_fwd(B, n, c, hw, x, gam, bet, irm, irv, y);
    bad = 0;
    for (int i = 0; i < n * c * hw; i++) {
        const int ch = (i / hw) % c;
        const double want = gam[ch] * ((double)x[i] - irm[ch]) / sqrt((double)irv[ch] + 1e-5) + bet[ch];
        bad += fabs(y[i] - want) > 1e-6 * (1 + fabs(want));
    }
    CHECK(!bad, "bn inference: %d values off gamma*(x-rm)/sqrt(rv+eps)+beta", bad);
    free(x), free(y);
}

/* ---- elementwise ---- */
static void test_elementwise(void)
{
    float x[6] = {-2, -0.0f, 0.5f, 3, -1e-8f, 1e-8f}, y[6], a[6] = {1, 1, 1, 1, 1, 1}, dy[6] = {1, 2, 3, 4, 5, 6};
    B->ops->relu_fwd(B, 6, x, y);
    const float want[6] = {0, 0, 0.5f, 3, 0, 1e-8f};
    CHECK(!memcmp(y, want, sizeof y), "relu_fwd values");
    B->ops->relu_fwd(B, 6, x, x); /* in place */
    CHECK(!memcmp(x, want, sizeof x), "relu_fwd in place");
    B->ops->relu_bwd(B, 6, y, dy, dy); /* in place: dx = dy */
    const float wantd[6] = {0, 0, 3, 4, 0, 6};
    CHECK(!memcmp(dy, wantd, sizeof dy), "relu_bwd in place");
    float c2[6] = {-3, 0, -0.25f, -4, 2, -1};
    B->ops->add_relu_fwd(B, 6, a, c2, y);
    const float wanta[6] = {0, 1, 0.75f, 0, 3, 0};
    CHECK(!memcmp(y, wanta, sizeof y), "add_relu_fwd values");
    B->ops->add_acc(B, 6, a, y);
    const float wantacc[6] = {1, 2, 1.75f, 1, 4, 1};
    CHECK(!memcmp(y, wantacc, sizeof y), "add_acc accumulates");
}

/* ---- option-A shortcut ---- */
static void test_shortcut(void)
{
    const int n = 2, ci = 16, co = 32, h = 8, w = 8, oh = 4, ow = 4;
    float *x = frand(n * ci * h * w, 0.5, 1.5), *y = frand(n * co * oh * ow, -9, 9);
    B->ops->shortcut_fwd(B, n, ci, h, w, co, x, y);
    int bad_zero = 0, bad_val = 0;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < co; o++)
            for (int p = 0; p < oh * ow; p++) {
                const float v = y[(i * co + o) * oh * ow + p];
                if (o < 8 || o >= 24)
                    bad_zero += v != 0.0f;
                else
                    bad_val += v != x[((i * ci + o - 8) * h + 2 * (p / ow)) * w + 2 * (p % ow)];
            }
    CHECK(!bad_zero, "shortcut 16->32: %d nonzero values in channels 0..7, 24..31", bad_zero);
    CHECK(!bad_val, "shortcut 16->32: %d values not x[c-8][2i][2j]", bad_val);
    CHECK(y[8 * oh * ow] == x[0], "shortcut: input channel 0 must land in output channel 8");
    /* Backward accumulates into dx at even coordinates only. */
    float *dx = xcalloc(n * ci * h * w, 4), *dy = frand(n * co * oh * ow, -1, 1);
    for (int i = 0; i < n * ci * h * w; i++)
        dx[i] = 1.0f;
    B->ops->shortcut_bwd_acc(B, n, ci, h, w, co, dy, dx);
    int bad = 0;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < ci; c++)
            for (int yy = 0; yy < h; yy++)
                for (int xx = 0; xx < w; xx++) {
                    const float got = dx[((i * ci + c) * h + yy) * w + xx];
                    const float want = (yy % 2 || xx % 2) ? 1.0f
                                       : 1.0f + dy[((i * co + c + 8) * oh + yy / 2) * ow + xx / 2];
                    bad += got != want;
                }
    CHECK(!bad, "shortcut_bwd_acc: %d values not 1 + dy[c+8] at even coordinates", bad);
    free(x), free(y), free(dx), free(dy);
}

/* ---- average pool and linear ---- */
static void test_head(void)
{
    const int n = 3, c = 4, hw = 64, in = 64, out = 10;
    float *x = frand(n * c * hw, -1, 2), *y = xcalloc(n * c, 4), *dy = frand(n * c, -1, 1), *dx = xcalloc(n * c * hw, 4);
    B->ops->avgpool_fwd(B, n, c, hw, x, y);
    B->ops->avgpool_bwd(B, n, c, hw, dy, dx);
    int bad = 0, badb = 0;
    for (int p = 0; p < n * c; p++) {
        double s = 0;
        for (int j = 0; j < hw; j++) {
            s += x[p * hw + j];
            badb += dx[p * hw + j] != dy[p] / hw; /* 1/64 is exact */
        }
        bad += fabs(y[p] - s / hw) > 1e-6 * fabs(s / hw) + 1e-7;
    }
    CHECK(!bad, "avgpool_fwd: %d means off", bad);
    CHECK(!badb, "avgpool_bwd: %d values not dy/hw", badb);
    free(x), free(y), free(dy), free(dx);

    float *lx = frand(n * in, -1, 1), *lw = frand(out * in, -1, 1), *lb = frand(out, -1, 1), *ly = xcalloc(n * out, 4);
    B->ops->linear_fwd(B, n, in, out, lx, lw, lb, ly);
    bad = 0;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double s = lb[o], a = fabs(lb[o]);
            for (int j = 0; j < in; j++)
                s += (double)lx[i * in + j] * lw[o * in + j], a += fabs((double)lx[i * in + j] * lw[o * in + j]);
            bad += fabs(ly[i * out + o] - s) > (in + 2) * U * a;
        }
    CHECK(!bad, "linear_fwd: %d outputs off x W^T + b", bad);
    free(lx), free(lw), free(lb), free(ly);
}

/* ---- softmax cross-entropy ---- */
static void test_xent(void)
{
    /* softmax([0, ln 2, ln 4]) = [1, 2, 4] / 7 */
    const float z[6] = {0, (float)log(2.0), (float)log(4.0), 0, (float)log(2.0), (float)log(4.0)};
    const int32_t lab[2] = {0, 2};
    float dz[6];
    train_scalars ts;
    memset(&ts, 0, sizeof ts);
    B->ops->softmax_xent(B, 2, 3, z, lab, dz, &ts);
    CHECK_CLOSE(ts.loss, (log(7.0) + log(7.0 / 4.0)) / 2, 1e-6, "xent loss of [0, ln2, ln4]");
    CHECK(ts.correct == 1.0f, "xent correct %g, want 1 (sample 1 only)", ts.correct);
    const double p[3] = {1.0 / 7, 2.0 / 7, 4.0 / 7};
    for (int j = 0; j < 3; j++) {
        CHECK_CLOSE(dz[j], (p[j] - (j == 0)) / 2, 1e-6, "xent dlogits sample 0");
        CHECK_CLOSE(dz[3 + j], (p[j] - (j == 2)) / 2, 1e-6, "xent dlogits sample 1");
    }
    /* Ties go to the lowest index: [1, 3, 3, 0] predicts class 1. */
    const float t[8] = {1, 3, 3, 0, 1, 3, 3, 0};
    const int32_t tl[2] = {1, 2};
    B->ops->softmax_xent(B, 2, 4, t, tl, NULL, &ts);
    CHECK(ts.correct == 1.0f, "xent ties: correct %g, want 1 (label 1 right, label 2 wrong)", ts.correct);
    /* Stability: huge logits give finite exact losses. */
    const float big[4] = {1000, 1000, 1000, 0};
    const int32_t bl[2] = {0, 1};
    B->ops->softmax_xent(B, 2, 2, big, bl, dz, &ts);
    CHECK_CLOSE(ts.loss, (log(2.0) + 1000.0) / 2, 1e-6, "xent loss of [1000,1000] and [1000,0]");
    CHECK(ts.correct == 1.0f, "xent big: correct %g, want 1", ts.correct);
    CHECK_CLOSE(dz[0], -0.25, 1e-6, "xent dlogits with big logits (tie, label 0)");
    CHECK_CLOSE(dz[3], -0.5, 1e-6, "xent dlogits with big logits (label 1)");
}

/* ---- batch assembly ---- */
#define NREC 1000
static void test_make_batch(void)
{
    uint8_t *img = xcalloc(NREC, 3072), lab[NREC];
    for (long i = 0; i < NREC * 3072L; i++)
        img[i] = (uint8_t)(urand() * 256);
    for (int i = 0; i < NREC; i++) {
        /* The record's number in its first two bytes, so a sample tells where it came from. */
        img[i * 3072L] = (uint8_t)(i & 255);
        img[i * 3072L + 1] = (uint8_t)(i >> 8);
        lab[i] = (uint8_t)(i * 7 % 10);
    }
    const int bs = 100;
    float *x = xcalloc((size_t)bs * 3072, 4);
    int32_t y[100];
    train_scalars ts;
    memset(&ts, 0, sizeof ts);
    batch_spec sp = {bs, 1, 0, 0, 0, 42, {CIFAR10_MEAN_R, CIFAR10_MEAN_G, CIFAR10_MEAN_B},
                     {1 / CIFAR10_STD_R, 1 / CIFAR10_STD_G, 1 / CIFAR10_STD_B}};

    /* No augmentation, no shuffle: sample i of step s is record s*bs + i mod NREC, normalized. */
    const long steps[3] = {0, 3, 10};
    for (int t = 0; t < 3; t++) {
        ts.sched.step = steps[t];
        B->ops->make_batch(B, img, lab, NREC, &sp, &ts, x, y);
        int bad = 0;
        for (int i = 0; i < bs; i++) {
            const long rec = (steps[t] * bs + i) % NREC;
            bad += y[i] != lab[rec];
            for (int ch = 0; ch < 3; ch++)
                for (int j = 0; j < 1024; j++)
                    bad += x[i * 3072 + ch * 1024 + j] != ((float)img[rec * 3072 + ch * 1024 + j] - sp.mean[ch]) * sp.inv_std[ch];
        }
        CHECK(!bad, "make_batch plain, step %ld: %d values differ from the normalized records", steps[t], bad);
    }

    /* Augmentation: the padded-crop-flip built by hand for the plan batch.h returns. */
    sp.augment = 1, sp.shuffle = 1;
    ts.sched.step = 5;
    B->ops->make_batch(B, img, lab, NREC, &sp, &ts, x, y);
    int bad = 0, flips = 0, shifted = 0;
    static float padded[40][40];
    for (int i = 0; i < bs; i++) {
        const sample_plan pl = batch_plan_train(sp.seed, 5L * bs + i, NREC, 1, 1);
        flips += pl.flip, shifted += pl.dx != 4 || pl.dy != 4;
        bad += y[i] != lab[pl.record];
        for (int ch = 0; ch < 3; ch++) {
            memset(padded, 0, sizeof padded);
            for (int r = 0; r < 32; r++)
                for (int c = 0; c < 32; c++)
                    padded[r + 4][c + 4] = img[pl.record * 3072 + ch * 1024 + r * 32 + c];
            for (int r = 0; r < 32; r++)
                for (int c = 0; c < 32; c++) {
                    const float crop = padded[r + pl.dy][(pl.flip ? 31 - c : c) + pl.dx];
                    bad += x[i * 3072 + ch * 1024 + r * 32 + c] != (crop - sp.mean[ch]) * sp.inv_std[ch];
                }
        }
    }
    CHECK(!bad, "make_batch augmented: %d values differ from the hand-made crop/flip", bad);
    CHECK(flips > 20 && flips < 80 && shifted > 50, "augmentation barely exercised: %d flips, %d shifted", flips, shifted);

    /* Evaluation: records first.., no augmentation or shuffle whatever the spec says. */
    sp.train = 0, sp.first = 950, sp.batch = 50;
    B->ops->make_batch(B, img, lab, NREC, &sp, &ts, x, y);
    bad = 0;
    for (int i = 0; i < 50; i++) {
        bad += y[i] != lab[950 + i];
        for (int j = 0; j < 3072; j++)
            bad += x[i * 3072 + j] != ((float)img[(950 + i) * 3072L + j] - sp.mean[j / 1024]) * sp.inv_std[j / 1024];
    }
    CHECK(!bad, "make_batch eval: %d values differ from records 950..999", bad);

    /* Shuffle: every record exactly once per epoch, and epochs in different orders. */
    batch_spec sh = {bs, 1, 0, 0, 1, 7, {0, 0, 0}, {1, 1, 1}};
    int seen[NREC], order0[NREC], same_order = 0;
    for (int e = 0; e < 2; e++) {
        memset(seen, 0, sizeof seen);
        for (int s = 0; s < 10; s++) {
            ts.sched.step = e * 10 + s;
            B->ops->make_batch(B, img, lab, NREC, &sh, &ts, x, y);
            for (int i = 0; i < bs; i++) {
                const int rec = (int)x[i * 3072] + 256 * (int)x[i * 3072 + 1];
                if (rec >= 0 && rec < NREC)
                    seen[rec]++;
                if (e == 0)
                    order0[s * bs + i] = rec;
                else
                    same_order += order0[s * bs + i] == rec;
            }
        }
        int once = 0;
        for (int i = 0; i < NREC; i++)
            once += seen[i] == 1;
        CHECK(once == NREC, "shuffle epoch %d: %d of %d records seen exactly once", e, once, NREC);
    }
    CHECK(same_order < 50, "shuffle: epochs 0 and 1 agree at %d of 1000 positions", same_order);
    free(img), free(x);
}

/* ---- health ---- */
static void test_health(void)
{
    const long n = 1000;
    float *g = frand(n, -1, 1), *w = frand(n, -1, 1);
    train_scalars ts;
    memset(&ts, 0, sizeof ts);
    ts.loss = 2.0f;
    ts.nonfinite = 7; /* stale bits from an earlier step must not survive */
    B->ops->health(B, n, g, w, &ts);
    double sq = 0;
    for (long i = 0; i < n; i++)
        sq += (double)g[i] * g[i];
    CHECK_CLOSE(ts.grad_sq, sq, 1e-6, "health grad_sq");
    CHECK(ts.nonfinite == 0, "health: finite step flagged %d", ts.nonfinite);
    ts.loss = NAN;
    B->ops->health(B, n, g, w, &ts);
    CHECK(ts.nonfinite == NONFINITE_LOSS, "health: NaN loss gave bits %d", ts.nonfinite);
    ts.loss = 1.0f;
    g[n - 1] = INFINITY;
    B->ops->health(B, n, g, w, &ts);
    CHECK(ts.nonfinite == NONFINITE_GRAD, "health: Inf gradient gave bits %d", ts.nonfinite);
    g[n - 1] = 0.5f, g[0] = NAN, ts.loss = -INFINITY;
    B->ops->health(B, n, g, w, &ts);
    CHECK(ts.nonfinite == (NONFINITE_LOSS | NONFINITE_GRAD), "health: NaN grad + -Inf loss gave bits %d", ts.nonfinite);
    g[0] = 0.5f, ts.loss = 1.0f, w[17] = NAN;
    B->ops->health(B, n, g, w, &ts);
    CHECK(ts.nonfinite == NONFINITE_WEIGHT, "health: NaN weight gave bits %d", ts.nonfinite);
    w[17] = 0.5f;
    B->ops->health(B, n, g, w, &ts);
    CHECK(ts.nonfinite == 0, "health: flags not cleared on a finite step (%d)", ts.nonfinite);
    free(g), free(w);
}

/* ---- scheduler step ---- */
static void test_sched(void)
{
    sched_params p;
    memset(&p, 0, sizeof p);
    p.warmup_shape = WARMUP_LINEAR, p.decay_shape = DECAY_COSINE;
    p.warmup_steps = 5, p.total_steps = 20, p.peak_lr = 0.4, p.start_lr = 0.01, p.end_lr = 0.0;
    step_policy pol;
    memset(&pol, 0, sizeof pol);
    train_scalars ts;
    memset(&ts, 0, sizeof ts);
    sched_state_init(&p, &ts.sched);
    step_record hist[8];
    memset(hist, 0, sizeof hist);
    int bad = 0;
    for (long s = 1; s <= 20; s++) {
        ts.correct = 64, ts.loss = 1.5f;
        B->ops->sched_step(B, &p, &pol, 128, &ts, hist, 8);
        bad += ts.lr != (float)sched_lr(&p, s, 5);
        bad += ts.sched.step != s;
        bad += hist[(s - 1) % 8].step != s || hist[(s - 1) % 8].lr != ts.lr;
    }
    CHECK(!bad, "sched_step: %d rates, counters or records differ from sched_lr", bad);
    CHECK(fabs(ts.sched.train_error - 0.5) < 1e-12, "sched_step: train error %g, want 0.5", ts.sched.train_error);
    CHECK(ts.halted == 0, "sched_step halted a healthy run");

    /* A non-finite step: skipped under skip, halted under stop. */
    pol.skip_nonfinite = 1;
    ts.nonfinite = NONFINITE_GRAD;
    B->ops->sched_step(B, &p, &pol, 128, &ts, hist, 8);
    CHECK(ts.skipped == 1 && ts.halted == 0, "skip policy: skipped %ld halted %d", ts.skipped, ts.halted);
    pol.skip_nonfinite = 0;
    B->ops->sched_step(B, &p, &pol, 128, &ts, hist, 8);
    CHECK(ts.halted == HALT_NONFINITE && ts.fail_step == 22 && ts.fail_bits == NONFINITE_GRAD,
          "stop policy: halted %d at step %ld bits %d", ts.halted, ts.fail_step, ts.fail_bits);
}

/* ---- SGD ---- */
static void sgd_case(float momentum, float wd, int nesterov)
{
    enum { N = 5, STEPS = 3 };
    const float lrs[STEPS] = {0.1f, 0.05f, 0.2f};
    float w[N], v[N] = {0}, g[STEPS][N];
    double ew[N], ev[N] = {0};
    for (int i = 0; i < N; i++)
        ew[i] = w[i] = (float)(0.5 + urand());
    for (int s = 0; s < STEPS; s++)
        for (int i = 0; i < N; i++)
            g[s][i] = (float)(urand() - 0.5);
    const sgd_hyper h = {momentum, wd, nesterov};
    train_scalars ts;
    memset(&ts, 0, sizeof ts);
    for (int s = 0; s < STEPS; s++) {
        ts.lr = lrs[s];
        B->ops->sgd_update(B, N, w, g[s], v, &h, &ts);
        /* PyTorch SGD (dampening 0): d = g + wd*w; v = m*v + d;
           w -= lr*v, or with Nesterov w -= lr*(d + m*v). */
        for (int i = 0; i < N; i++) {
            const double d = (double)g[s][i] + (double)wd * ew[i];
            ev[i] = (double)momentum * ev[i] + d;
            ew[i] -= (double)lrs[s] * (nesterov ? d + (double)momentum * ev[i] : ev[i]);
        }
    }
    char what[80];
    snprintf(what, sizeof what, "sgd m=%g wd=%g nesterov=%d after 3 steps", momentum, wd, nesterov);
    for (int i = 0; i < N; i++) {
        CHECK_CLOSE(w[i], ew[i], 1e-6, what);
        CHECK_CLOSE(v[i], ev[i], 1e-5, what);
    }
    /* A flagged or halted step changes nothing. */
    float w0[N], v0[N];
    memcpy(w0, w, sizeof w), memcpy(v0, v, sizeof v);
    ts.nonfinite = NONFINITE_LOSS;
    B->ops->sgd_update(B, N, w, g[0], v, &h, &ts);
    CHECK(!memcmp(w, w0, sizeof w) && !memcmp(v, v0, sizeof v), "sgd applied a non-finite step");
    ts.nonfinite = 0, ts.halted = HALT_LOSS_BOUND;
    B->ops->sgd_update(B, N, w, g[0], v, &h, &ts);
    CHECK(!memcmp(w, w0, sizeof w) && !memcmp(v, v0, sizeof v), "sgd applied a step after a halt");
}

static void test_memory(void)
{
    float *p = B->ops->alloc(B, 4096 * sizeof(float), "test buffer");
    CHECK(p != NULL, "alloc failed");
    if (!p)
        return;
    int nz = 0;
    for (int i = 0; i < 4096; i++)
        nz += p[i] != 0.0f;
    CHECK(!nz, "alloc not zero-filled (%d nonzero)", nz);
    float src[4] = {1, 2, 3, 4}, back[4];
    B->ops->upload(B, p, src, sizeof src);
    B->ops->copy(B, p + 4, p, sizeof src);
    B->ops->download(B, back, p + 4, sizeof back);
    CHECK(!memcmp(src, back, sizeof src), "upload/copy/download round trip");
    B->ops->zero(B, p, 8 * sizeof(float));
    CHECK(p[0] == 0 && p[7] == 0, "zero");
    B->ops->sync(B);
    B->ops->free(B, p);
}

/* A rejected step's BN statistics come back from the copy; an applied step's stay. */
static void test_restore_if_rejected(void)
{
    const float saved[3] = {1.0f, 2.0f, 3.0f};
    const float moved[3] = {NAN, 5.0f, -1.0f};
    float stats[3];
    train_scalars ts;
    memset(&ts, 0, sizeof ts);
    memcpy(stats, moved, sizeof stats);
    B->ops->restore_if_rejected(B, 3, saved, stats, &ts);
    CHECK(!memcmp(stats, moved, sizeof stats), "an applied step's statistics were restored");
    ts.nonfinite = NONFINITE_LOSS;
    B->ops->restore_if_rejected(B, 3, saved, stats, &ts);
    CHECK(!memcmp(stats, saved, sizeof stats), "a non-finite step's statistics were kept");
    memcpy(stats, moved, sizeof stats);
    ts.nonfinite = 0;
    ts.halted = HALT_LOSS_BOUND;
    B->ops->restore_if_rejected(B, 3, saved, stats, &ts);
    CHECK(!memcmp(stats, saved, sizeof stats), "a halted step's statistics were kept");
}

int main(void)
{
    B = backend_cpu_create(0, NULL, 0);
    if (!B)
        return 1;
    test_memory();
    test_conv();
    test_bn();
    test_elementwise();
    test_shortcut();
    test_head();
    test_xent();
    test_make_batch();
    test_health();
    test_sched();
    test_restore_if_rejected();
    sgd_case(0.9f, 0.0f, 0);
    sgd_case(0.9f, 0.1f, 0);
    sgd_case(0.9f, 0.1f, 1);
    sgd_case(0.0f, 0.0f, 0);
    B->ops->destroy(B);
    return test_summary("test_cpu_ops");
}
