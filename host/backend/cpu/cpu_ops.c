/* cpu_ops.c: the CPU backend's elementwise ops, option-A shortcut, average pool, linear layer and softmax cross-entropy. */
#include <math.h>
#include <string.h>
#include <cblas.h>
#include "backend/cpu/cpu_internal.h"
#include "ops_math.h"

void cpu_relu_fwd(backend *b, long count, const float *x, float *y)
{
    (void)b;
    for (long i = 0; i < count; i++)
        y[i] = relu_one(x[i]);
}

void cpu_add_relu_fwd(backend *b, long count, const float *a, const float *c, float *y)
{
    (void)b;
    for (long i = 0; i < count; i++)
        y[i] = relu_one(a[i] + c[i]);
}

void cpu_relu_bwd(backend *b, long count, const float *y, const float *dy, float *dx)
{
    (void)b;
    for (long i = 0; i < count; i++)
        dx[i] = relu_grad_one(y[i], dy[i]);
}

void cpu_add_acc(backend *b, long count, const float *x, float *y)
{
    (void)b;
    for (long i = 0; i < count; i++)
        y[i] += x[i];
}

/*
 * Option A (He et al.): the identity, subsampled at even coordinates (2i, 2j) of an
 * (h, w) map into ceil(h/2) x ceil(w/2), as x[:, :, ::2, ::2] in the PyTorch
 * reproductions; the c_out - c_in new channels are zeros, pad = (c_out - c_in) / 2 of
 * them BEFORE the input channels and the rest after, so input channel ch lands in output
 * channel ch + pad (for 16 -> 32: channels 8..23 carry the identity).
 */
void cpu_shortcut_fwd(backend *b, int n, int c_in, int h, int w, int c_out, const float *x, float *y)
{
    (void)b;
    const int oh = (h + 1) / 2, ow = (w + 1) / 2, pad = (c_out - c_in) / 2;
    const size_t ohw = (size_t)oh * ow;
    for (int i = 0; i < n; i++)
        for (int co = 0; co < c_out; co++) {
            float *yc = y + ((size_t)i * c_out + co) * ohw;
            const int ci = co - pad;
            if (ci < 0 || ci >= c_in) {
                memset(yc, 0, sizeof(float) * ohw);
                continue;
            }
            const float *xc = x + ((size_t)i * c_in + ci) * h * w;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    yc[oy * ow + ox] = xc[(2 * oy) * w + 2 * ox];
        }
}

void cpu_shortcut_bwd_acc(backend *b, int n, int c_in, int h, int w, int c_out, const float *dy, float *dx)
{
    (void)b;
    const int oh = (h + 1) / 2, ow = (w + 1) / 2, pad = (c_out - c_in) / 2;
    const size_t ohw = (size_t)oh * ow;
    for (int i = 0; i < n; i++)
        for (int ci = 0; ci < c_in; ci++) {
            const float *dyc = dy + ((size_t)i * c_out + ci + pad) * ohw;
            float *dxc = dx + ((size_t)i * c_in + ci) * h * w;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    dxc[(2 * oy) * w + 2 * ox] += dyc[oy * ow + ox];
        }
}

void cpu_avgpool_fwd(backend *b, int n, int c, int hw, const float *x, float *y)
{
    (void)b;
    const long planes = (long)n * c;
    for (long p = 0; p < planes; p++) {
        const float *xp = x + p * hw;
        double sum = 0.0;
        for (int j = 0; j < hw; j++)
            sum += xp[j];
        y[p] = (float)(sum / hw);
    }
}

void cpu_avgpool_bwd(backend *b, int n, int c, int hw, const float *dy, float *dx)
{
    (void)b;
    const long planes = (long)n * c;
    const float inv = 1.0f / (float)hw;
    for (long p = 0; p < planes; p++) {
        const float g = dy[p] * inv;
        float *dxp = dx + p * hw;
        for (int j = 0; j < hw; j++)
            dxp[j] = g;
    }
}

void cpu_linear_fwd(backend *b, int n, int in, int out, const float *x, const float *w,
                    const float *bias, float *y)
{
    (void)b;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++)
            y[(size_t)i * out + o] = bias ? bias[o] : 0.0f;
    /* y (n x out) += x (n x in) * W^T, W stored (out x in) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, w, in, 1.0f, y, out);
}

/* dx, dw or dbias may be NULL when the caller does not need that gradient. */
void cpu_linear_bwd(backend *b, int n, int in, int out, const float *x, const float *w,
                    const float *dy, float *dx, float *dw, float *dbias)
{
    (void)b;
    if (dx) /* dx (n x in) = dy (n x out) * W (out x in) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
    if (dw) /* dW (out x in) = dy^T (out x n) * x (n x in) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, dy, out, x, in, 0.0f, dw, in);
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
