/* cpu_ops.c: the CPU backend's elementwise ops, option-A shortcut, average pool, linear layer and softmax cross-entropy; the large ones split into fixed chunks across threads. */
#include <math.h>
#include <string.h>
#include "backend/cpu/cpu_internal.h"
#include "ops_math.h"

/* One elementwise pass: y[i] = f(a[i], c[i]) over a fixed chunk of [0, count) per task. */
typedef struct ew_job {
    long count;
    const float *a, *c;
    float *y;
} ew_job;

static void relu_task(void *ctx, int t, int worker)
{
    (void)worker;
    const ew_job *J = ctx;
    long lo, hi;
    cpu_chunk_range(t, J->count, &lo, &hi);
    for (long i = lo; i < hi; i++)
        J->y[i] = relu_one(J->a[i]);
}

static void add_relu_task(void *ctx, int t, int worker)
{
    (void)worker;
    const ew_job *J = ctx;
    long lo, hi;
    cpu_chunk_range(t, J->count, &lo, &hi);
    for (long i = lo; i < hi; i++)
        J->y[i] = relu_one(J->a[i] + J->c[i]);
}

static void relu_bwd_task(void *ctx, int t, int worker)
{
    (void)worker;
    const ew_job *J = ctx;
    long lo, hi;
    cpu_chunk_range(t, J->count, &lo, &hi);
    for (long i = lo; i < hi; i++)
        J->y[i] = relu_grad_one(J->a[i], J->c[i]);
}

static void add_acc_task(void *ctx, int t, int worker)
{
    (void)worker;
    const ew_job *J = ctx;
    long lo, hi;
    cpu_chunk_range(t, J->count, &lo, &hi);
    for (long i = lo; i < hi; i++)
        J->y[i] += J->a[i];
}

void cpu_relu_fwd(backend *b, long count, const float *x, float *y)
{
    ew_job J = {count, x, NULL, y};
    cpu_parallel(b, cpu_chunks(count), relu_task, &J);
}

void cpu_add_relu_fwd(backend *b, long count, const float *a, const float *c, float *y)
{
    ew_job J = {count, a, c, y};
    cpu_parallel(b, cpu_chunks(count), add_relu_task, &J);
}

void cpu_relu_bwd(backend *b, long count, const float *y, const float *dy, float *dx)
{
    ew_job J = {count, y, dy, dx};
    cpu_parallel(b, cpu_chunks(count), relu_bwd_task, &J);
}

void cpu_add_acc(backend *b, long count, const float *x, float *y)
{
    ew_job J = {count, x, NULL, y};
    cpu_parallel(b, cpu_chunks(count), add_acc_task, &J);
}

/*
 * Option A (He et al.): the identity, subsampled at even coordinates (2i, 2j) of an
 * (h, w) map into ceil(h/2) x ceil(w/2), as x[:, :, ::2, ::2] in the PyTorch
 * reproductions; the c_out - c_in new channels are zeros, pad = (c_out - c_in) / 2 of
 * them BEFORE the input channels and the rest after, so input channel ch lands in output
 * channel ch + pad (for 16 -> 32: channels 8..23 carry the identity).
 */
typedef struct sc_job {
    int c_in, h, w, c_out;
    const float *in;
    float *out;
} sc_job;

static void shortcut_fwd_task(void *ctx, int i, int worker)
{
    (void)worker;
    const sc_job *J = ctx;
    const int h = J->h, w = J->w, oh = (h + 1) / 2, ow = (w + 1) / 2, pad = (J->c_out - J->c_in) / 2;
    const size_t ohw = (size_t)oh * ow;
    for (int co = 0; co < J->c_out; co++) {
        float *yc = J->out + ((size_t)i * J->c_out + co) * ohw;
        const int ci = co - pad;
        if (ci < 0 || ci >= J->c_in) {
            memset(yc, 0, sizeof(float) * ohw);
            continue;
        }
        const float *xc = J->in + ((size_t)i * J->c_in + ci) * h * w;
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                yc[oy * ow + ox] = xc[(2 * oy) * w + 2 * ox];
    }
}

void cpu_shortcut_fwd(backend *b, int n, int c_in, int h, int w, int c_out, const float *x, float *y)
{
    sc_job J = {c_in, h, w, c_out, x, y};
    cpu_parallel(b, n, shortcut_fwd_task, &J);
}

static void shortcut_bwd_task(void *ctx, int i, int worker)
{
    (void)worker;
    const sc_job *J = ctx;
    const int h = J->h, w = J->w, oh = (h + 1) / 2, ow = (w + 1) / 2, pad = (J->c_out - J->c_in) / 2;
    const size_t ohw = (size_t)oh * ow;
    for (int ci = 0; ci < J->c_in; ci++) {
        const float *dyc = J->in + ((size_t)i * J->c_out + ci + pad) * ohw;
        float *dxc = J->out + ((size_t)i * J->c_in + ci) * h * w;
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                dxc[(2 * oy) * w + 2 * ox] += dyc[oy * ow + ox];
    }
}

void cpu_shortcut_bwd_acc(backend *b, int n, int c_in, int h, int w, int c_out, const float *dy, float *dx)
{
    sc_job J = {c_in, h, w, c_out, dy, dx};
    cpu_parallel(b, n, shortcut_bwd_task, &J);
}

/* Planes of hw values per pooling task: about one elementwise chunk. */
static long pool_planes(int hw) { return hw >= CPU_CHUNK ? 1 : CPU_CHUNK / (hw > 0 ? hw : 1); }

typedef struct pool_job {
    long planes, per_task;
    int hw;
    const float *in;
    float *out;
} pool_job;

static void avgpool_fwd_task(void *ctx, int t, int worker)
{
    (void)worker;
    const pool_job *J = ctx;
    const long lo = t * J->per_task, hi = lo + J->per_task < J->planes ? lo + J->per_task : J->planes;
    for (long p = lo; p < hi; p++) {
        const float *xp = J->in + p * J->hw;
        double sum = 0.0;
        for (int j = 0; j < J->hw; j++)
            sum += xp[j];
        J->out[p] = (float)(sum / J->hw);
    }
}

static void avgpool_bwd_task(void *ctx, int t, int worker)
{
    (void)worker;
    const pool_job *J = ctx;
    const long lo = t * J->per_task, hi = lo + J->per_task < J->planes ? lo + J->per_task : J->planes;
    const float inv = 1.0f / (float)J->hw;
    for (long p = lo; p < hi; p++) {
        const float g = J->in[p] * inv;
        float *dxp = J->out + p * J->hw;
        for (int j = 0; j < J->hw; j++)
            dxp[j] = g;
    }
}

void cpu_avgpool_fwd(backend *b, int n, int c, int hw, const float *x, float *y)
{
    pool_job J = {(long)n * c, pool_planes(hw), hw, x, y};
    cpu_parallel(b, (int)((J.planes + J.per_task - 1) / J.per_task), avgpool_fwd_task, &J);
}

void cpu_avgpool_bwd(backend *b, int n, int c, int hw, const float *dy, float *dx)
{
    pool_job J = {(long)n * c, pool_planes(hw), hw, dy, dx};
    cpu_parallel(b, (int)((J.planes + J.per_task - 1) / J.per_task), avgpool_bwd_task, &J);
}

/*
 * The classifier is a few ten thousand multiply-adds (batch x 64 x classes): plain
 * loops on the calling thread, each dot product summed in index order. (A BLAS would
 * sum in an order of its own choosing, which differs between the kernels it picks for
 * different processors.)
 */
void cpu_linear_fwd(backend *b, int n, int in, int out, const float *x, const float *w,
                    const float *bias, float *y)
{
    (void)b;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            const float *xi = x + (size_t)i * in, *wo = w + (size_t)o * in;
            float acc = 0.0f;
            for (int k = 0; k < in; k++)
                acc += xi[k] * wo[k];
            y[(size_t)i * out + o] = bias ? acc + bias[o] : acc;
        }
}

/* dx, dw or dbias may be NULL when the caller does not need that gradient. */
void cpu_linear_bwd(backend *b, int n, int in, int out, const float *x, const float *w,
                    const float *dy, float *dx, float *dw, float *dbias)
{
    (void)b;
    if (dx) /* dx (n x in) = dy (n x out) * W (out x in) */
        for (int i = 0; i < n; i++)
            for (int k = 0; k < in; k++) {
                float acc = 0.0f;
                for (int o = 0; o < out; o++)
                    acc += dy[(size_t)i * out + o] * w[(size_t)o * in + k];
                dx[(size_t)i * in + k] = acc;
            }
    if (dw) /* dW (out x in) = dy^T (out x n) * x (n x in) */
        for (int o = 0; o < out; o++)
            for (int k = 0; k < in; k++) {
                float acc = 0.0f;
                for (int i = 0; i < n; i++)
                    acc += dy[(size_t)i * out + o] * x[(size_t)i * in + k];
                dw[(size_t)o * in + k] = acc;
            }
    if (dbias)
        for (int o = 0; o < out; o++) {
            double s = 0.0;
            for (int i = 0; i < n; i++)
                s += dy[(size_t)i * out + o];
            dbias[o] = (float)s;
        }
}

/*
 * Softmax cross-entropy with accuracy. Stable: exponents are taken of z - max(z), so no
 * term exceeds 1 and the sum is at least 1. A sample counts as correct when its label is
 * the first index holding the maximum logit (ties go to the lowest index, like argmax in
 * NumPy and PyTorch). dlogits may be NULL (evaluation needs only the loss and count).
 */
void cpu_softmax_xent(backend *b, int n, int k, const float *logits, const int32_t *labels,
                      float *dlogits, train_scalars *ts)
{
    (void)b;
    double loss = 0.0;
    int correct = 0;
    const float inv_n = n > 0 ? 1.0f / (float)n : 0.0f;
    for (int i = 0; i < n; i++) {
        const int label = labels[i];
        if (label < 0 || label >= k)
            cpu_fatal("softmax_xent: label %d of sample %d is outside 0..%d", label, i, k - 1);
        int hit;
        loss += xent_sample(logits + (size_t)i * k, k, label, inv_n, dlogits ? dlogits + (size_t)i * k : NULL, &hit);
        correct += hit;
    }
    ts->loss = n > 0 ? (float)(loss / n) : 0.0f;
    ts->correct = (float)correct;
}
