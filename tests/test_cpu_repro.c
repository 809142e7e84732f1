/* test_cpu_repro.c: every CPU backend op gives the same bits on 1, 2 and 3 threads, on every kernel variant this processor runs, and (convolutions) through shifted planes and through im2col. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/backend.h"
#include "backend/cpu/cpu_internal.h"
#include "testlib.h"

/*
 * The reference is the widest variant on 1 thread; every other configuration must
 * reproduce its outputs bit for bit (memcmp), the promise backend.h makes. Shapes are
 * chosen to hit the edges of the fixed task split: batches that are not a multiple of
 * the weight gradient's image groups, spatial sizes that are not a multiple of a
 * vector (the kernels' scalar tails), channel counts that are not a multiple of a
 * register tile, element counts just past a CPU_CHUNK boundary.
 */

static uint64_t rng;

static float urand(void) /* [-1, 1), splitmix64 */
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)((double)(z >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

static float *frand(long n, uint64_t seed)
{
    rng = seed;
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (long i = 0; i < n; i++)
        p[i] = urand();
    return p;
}

typedef struct config {
    const cpu_kernels *kern;
    int threads;
    int im2col_only;
} config;

static backend *open_config(const config *c)
{
    setenv("RESNET_CPU_KERNELS", c->kern->name, 1);
    backend *b = backend_cpu_create(c->threads, NULL, 0);
    if (!b) {
        fprintf(stderr, "cannot create a CPU backend (%s, %d threads)\n", c->kern->name, c->threads);
        exit(1);
    }
    ((cpu_backend *)b)->conv_im2col_only = c->im2col_only;
    return b;
}

/* Output of one op: `floats` values written by run(b, out). */
typedef void (*op_fn)(backend *b, float *out);

/* Runs op on the reference and on every configuration, comparing the bits. */
static void same_everywhere(const char *name, long floats, op_fn op, const config *cfgs, int n_cfgs, int conv_paths)
{
    float *want = calloc((size_t)floats, sizeof(float)), *got = calloc((size_t)floats, sizeof(float));
    backend *b = open_config(&cfgs[0]);
    op(b, want);
    b->ops->destroy(b);
    for (int i = 1; i < n_cfgs; i++) {
        if (cfgs[i].im2col_only && !conv_paths)
            continue;
        memset(got, 0xA5, sizeof(float) * (size_t)floats); /* no stale result can pass */
        b = open_config(&cfgs[i]);
        op(b, got);
        b->ops->destroy(b);
        long diff = 0;
        for (long e = 0; e < floats; e++)
            diff += memcmp(&want[e], &got[e], sizeof(float)) != 0;
        CHECK(!diff, "%s: %ld of %ld values differ on %s, %d thread(s)%s from %s on 1 thread", name, diff, floats,
              cfgs[i].kern->name, cfgs[i].threads, cfgs[i].im2col_only ? ", im2col path" : "", cfgs[0].kern->name);
    }
    free(want);
    free(got);
}

/* ---- convolutions ---- */
static conv_shape S;
static float *X, *Wt, *DY;

static void conv_fwd_op(backend *b, float *out) { b->ops->conv_fwd(b, &S, X, Wt, out); }
static void conv_bwd_data_op(backend *b, float *out) { b->ops->conv_bwd_data(b, &S, DY, Wt, out); }
static void conv_bwd_filter_op(backend *b, float *out) { b->ops->conv_bwd_filter(b, &S, X, DY, out); }

static void conv_case(const config *cfgs, int n_cfgs, int n, int c, int h, int w, int k, int r, int stride, int pad)
{
    S = conv_shape_make(n, c, h, w, k, r, stride, pad);
    const long nx = (long)n * c * h * w, ny = (long)n * k * S.oh * S.ow, nw = (long)k * c * r * r;
    X = frand(nx, 1 + (uint64_t)nx);
    Wt = frand(nw, 2 + (uint64_t)nw);
    DY = frand(ny, 3 + (uint64_t)ny);
    char name[128];
    snprintf(name, sizeof name, "conv n%d c%d %dx%d k%d r%d s%d p%d fwd", n, c, h, w, k, r, stride, pad);
    same_everywhere(name, ny, conv_fwd_op, cfgs, n_cfgs, 1);
    /* backward data sums in another order through im2col (W^T dy, then col2im), so
       only the thread counts and variants must agree there */
    snprintf(name, sizeof name, "conv n%d c%d %dx%d k%d r%d s%d p%d bwd_data", n, c, h, w, k, r, stride, pad);
    same_everywhere(name, nx, conv_bwd_data_op, cfgs, n_cfgs, 0);
    snprintf(name, sizeof name, "conv n%d c%d %dx%d k%d r%d s%d p%d bwd_filter", n, c, h, w, k, r, stride, pad);
    same_everywhere(name, nw, conv_bwd_filter_op, cfgs, n_cfgs, 1);
    free(X), free(Wt), free(DY);
}

/* ---- batch norm, elementwise, head, step ops ---- */
enum { BN_N = 5, BN_C = 6, BN_HW = 37 };
#define BN_COUNT ((long)BN_N * BN_C * BN_HW)
static float *A1, *A2, *A3;

/* y, then save_mean, save_inv_std, running mean and var, after two updates */
static void bn_fwd_op(backend *b, float *out)
{
    float rm[BN_C], rv[BN_C];
    for (int i = 0; i < BN_C; i++)
        rm[i] = A3[i], rv[i] = 1.0f + A3[BN_C + i] * A3[BN_C + i];
    float *y = out, *sm = out + BN_COUNT, *si = sm + BN_C;
    b->ops->bn_train_fwd(b, BN_N, BN_C, BN_HW, A1, A3 + 2 * BN_C, A3 + 3 * BN_C, rm, rv, sm, si, y);
    b->ops->bn_train_fwd(b, BN_N, BN_C, BN_HW, A2, A3 + 2 * BN_C, A3 + 3 * BN_C, rm, rv, sm, si, y);
    memcpy(si + BN_C, rm, sizeof rm);
    memcpy(si + 2 * BN_C, rv, sizeof rv);
}

static void bn_bwd_op(backend *b, float *out)
{
    float mean[BN_C], inv_std[BN_C];
    for (int i = 0; i < BN_C; i++)
        mean[i] = 0.1f * A3[i], inv_std[i] = 1.0f + A3[BN_C + i] * A3[BN_C + i];
    b->ops->bn_bwd(b, BN_N, BN_C, BN_HW, A1, A2, A3 + 2 * BN_C, mean, inv_std, out, out + BN_COUNT,
                   out + BN_COUNT + BN_C);
}

static void bn_infer_op(backend *b, float *out)
{
    float rv[BN_C];
    for (int i = 0; i < BN_C; i++)
        rv[i] = 1.0f + A3[BN_C + i] * A3[BN_C + i];
    b->ops->bn_infer_fwd(b, BN_N, BN_C, BN_HW, A1, A3 + 2 * BN_C, A3 + 3 * BN_C, A3, rv, out);
}

/* Past three CPU_CHUNK boundaries, not a multiple of any vector. */
#define EW_COUNT (3 * CPU_CHUNK + 123)

static void elementwise_op(backend *b, float *out)
{
    const long n = EW_COUNT;
    b->ops->add_relu_fwd(b, n, A1, A2, out);
    b->ops->relu_fwd(b, n, A2, out + n);
    b->ops->relu_bwd(b, n, A1, A2, out + 2 * n);
    memcpy(out + 3 * n, A2, sizeof(float) * (size_t)n);
    b->ops->add_acc(b, n, A1, out + 3 * n);
}

/* health (grad_sq and flags) and one SGD step with Nesterov momentum and weight decay */
static void step_op(backend *b, float *out)
{
    const long n = EW_COUNT;
    train_scalars ts;
    memset(&ts, 0, sizeof ts);
    b->ops->health(b, n, A1, A2, &ts);
    out[0] = ts.grad_sq;
    out[1] = (float)ts.nonfinite;
    ts.lr = 0.05f;
    const sgd_hyper h = {0.9f, 1e-4f, 1};
    memcpy(out + 2, A2, sizeof(float) * (size_t)n);
    memcpy(out + 2 + n, A3, sizeof(float) * (size_t)n);
    b->ops->sgd_update(b, n, out + 2, A1, out + 2 + n, &h, &ts);
}

enum { HEAD_N = 7, HEAD_C = 12, HEAD_HW = 9, HEAD_K = 10, SC_H = 7 };

static void head_op(backend *b, float *out)
{
    float *pool = out, *logits = pool + HEAD_N * HEAD_C, *dlogits = logits + HEAD_N * HEAD_K;
    float *dx = dlogits + HEAD_N * HEAD_K, *dw = dx + HEAD_N * HEAD_C, *dbias = dw + HEAD_K * HEAD_C;
    float *dmap = dbias + HEAD_K, *sc = dmap + HEAD_N * HEAD_C * HEAD_HW;
    float *scb = sc + (long)HEAD_N * 2 * HEAD_C * 16;
    b->ops->avgpool_fwd(b, HEAD_N, HEAD_C, HEAD_HW, A1, pool);
    b->ops->linear_fwd(b, HEAD_N, HEAD_C, HEAD_K, pool, A2, A2 + HEAD_K * HEAD_C, logits);
    int32_t labels[HEAD_N];
    for (int i = 0; i < HEAD_N; i++)
        labels[i] = (i * 3) % HEAD_K;
    train_scalars ts;
    memset(&ts, 0, sizeof ts);
    b->ops->softmax_xent(b, HEAD_N, HEAD_K, logits, labels, dlogits, &ts);
    b->ops->linear_bwd(b, HEAD_N, HEAD_C, HEAD_K, pool, A2, dlogits, dx, dw, dbias);
    b->ops->avgpool_bwd(b, HEAD_N, HEAD_C, HEAD_HW, dx, dmap);
    /* option-A shortcut, 12 -> 24 channels on a 7x7 map (4x4 out) */
    b->ops->shortcut_fwd(b, HEAD_N, HEAD_C, SC_H, SC_H, 2 * HEAD_C, A1, sc);
    memcpy(scb, A3, sizeof(float) * (size_t)HEAD_N * HEAD_C * SC_H * SC_H);
    b->ops->shortcut_bwd_acc(b, HEAD_N, HEAD_C, SC_H, SC_H, 2 * HEAD_C, sc, scb);
    scb[(long)HEAD_N * HEAD_C * SC_H * SC_H] = ts.loss;
    scb[(long)HEAD_N * HEAD_C * SC_H * SC_H + 1] = ts.correct;
}
#define HEAD_FLOATS                                                                                         \
    ((long)HEAD_N * HEAD_C + 2L * HEAD_N * HEAD_K + HEAD_N * HEAD_C + HEAD_K * HEAD_C + HEAD_K +            \
     (long)HEAD_N * HEAD_C * HEAD_HW + (long)HEAD_N * 2 * HEAD_C * 16 + (long)HEAD_N * HEAD_C * SC_H * SC_H + 2)

static uint8_t images[40 * 3072], labels8[40];

static void batch_op(backend *b, float *out)
{
    batch_spec spec = {.batch = 13, .train = 1, .augment = 1, .shuffle = 1, .seed = 7};
    for (int ch = 0; ch < 3; ch++)
        spec.mean[ch] = 120.0f + ch, spec.inv_std[ch] = 1.0f / (60.0f + ch);
    train_scalars ts;
    memset(&ts, 0, sizeof ts);
    ts.sched.step = 5;
    int32_t y[13];
    b->ops->make_batch(b, images, labels8, 40, &spec, &ts, out, y);
    for (int i = 0; i < 13; i++)
        out[13 * 3072 + i] = (float)y[i];
}

int main(void)
{
    const cpu_kernels *const all[] = {
#if defined(__x86_64__)
        &cpu_kernels_avx512, &cpu_kernels_avx2,
#endif
        &cpu_kernels_baseline};
    config cfgs[16];
    int n = 0;
    for (size_t v = 0; v < sizeof all / sizeof all[0]; v++) {
        if (!cpu_kernels_supported(all[v])) {
            printf("test_cpu_repro: this processor does not run the %s kernels; not compared\n", all[v]->name);
            continue;
        }
        for (int t = 1; t <= 3; t++)
            cfgs[n++] = (config){all[v], t, 0};
        cfgs[n++] = (config){all[v], 2, 1};
    }
    printf("test_cpu_repro: %d configurations, reference %s on 1 thread\n", n, cfgs[0].kern->name);

    /* The CIFAR ResNet's shapes (small batches), then the edges. */
    conv_case(cfgs, n, 3, 16, 32, 32, 16, 3, 1, 1);
    conv_case(cfgs, n, 5, 16, 16, 16, 32, 3, 2, 1); /* 5 images: a group of 2 + 2 + 1 */
    conv_case(cfgs, n, 9, 32, 8, 8, 32, 3, 1, 1);   /* 9 images: groups of 8 + 1 */
    conv_case(cfgs, n, 2, 3, 32, 32, 16, 3, 1, 1);  /* the stem */
    conv_case(cfgs, n, 3, 5, 7, 9, 11, 3, 1, 1);    /* nothing a multiple of anything */
    /* The weight gradient's channel-minor path (3x3, channels a multiple of 16) against
       im2col: a map that is not a multiple of a vector (the transpose's tail), output
       channels that leave tiles short, 48 and 64 channels (3 and 4 vectors), stride 2 on
       an odd size, no padding. */
    conv_case(cfgs, n, 3, 16, 5, 7, 11, 3, 1, 1);
    conv_case(cfgs, n, 2, 48, 6, 5, 9, 3, 1, 1);
    conv_case(cfgs, n, 3, 64, 4, 4, 7, 3, 1, 1);
    conv_case(cfgs, n, 2, 16, 7, 7, 5, 3, 2, 1);
    conv_case(cfgs, n, 2, 32, 6, 6, 3, 3, 1, 0);
    conv_case(cfgs, n, 2, 4, 9, 9, 6, 5, 1, 2);     /* 5x5 "same" */
    conv_case(cfgs, n, 2, 6, 6, 6, 7, 1, 1, 0);     /* 1x1 */
    conv_case(cfgs, n, 2, 3, 6, 6, 5, 3, 1, 0);     /* stride 1 without padding: im2col */
    conv_case(cfgs, n, 3, 2, 1, 1, 3, 3, 1, 1);     /* a 1x1 map with padding 1: im2col */

    A1 = frand(EW_COUNT, 11);
    A2 = frand(EW_COUNT, 12);
    A3 = frand(EW_COUNT, 13);
    same_everywhere("bn_train_fwd", BN_COUNT + 4 * BN_C, bn_fwd_op, cfgs, n, 0);
    same_everywhere("bn_bwd", BN_COUNT + 2 * BN_C, bn_bwd_op, cfgs, n, 0);
    same_everywhere("bn_infer_fwd", BN_COUNT, bn_infer_op, cfgs, n, 0);
    same_everywhere("elementwise", 4L * EW_COUNT, elementwise_op, cfgs, n, 0);
    same_everywhere("health + sgd", 2 + 2L * EW_COUNT, step_op, cfgs, n, 0);
    same_everywhere("pool, linear, softmax, shortcut", HEAD_FLOATS, head_op, cfgs, n, 0);
    rng = 21;
    for (size_t i = 0; i < sizeof images; i++)
        images[i] = (uint8_t)(urand() * 127.0f + 128.0f);
    for (int i = 0; i < 40; i++)
        labels8[i] = (uint8_t)(i % 10);
    same_everywhere("make_batch", 13 * 3072 + 13, batch_op, cfgs, n, 0);
    free(A1), free(A2), free(A3);
    return test_summary("test_cpu_repro");
}
