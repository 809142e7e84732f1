/* cpu_conv.c: the CPU backend's convolution (forward, backward-data, backward-filter) as im2col/col2im around OpenBLAS sgemm. */
#include <string.h>
#include <cblas.h>
#include "backend/cpu/cpu_internal.h"

/*
 * Layout: x (n, c, h, w), w (k, c, r, r), y (n, k, oh, ow), all row-major NCHW. For one
 * image, the column matrix col has c*r*r rows (ci, kh, kw) and oh*ow columns (oy, ox):
 * col[(ci, kh, kw)][(oy, ox)] = x[ci][oy*stride - pad + kh][ox*stride - pad + kw], zero
 * outside the image. Then y_img (k x ohw) = W (k x crr) * col, and the two backward
 * passes are the two other products of the same three matrices. Work is per image so the
 * scratch buffer stays small (c*r*r*oh*ow floats) whatever the batch size.
 */

/* ceil(a / b) for b > 0 and a >= 0 (callers clamp a first). */
static int ceil_div(int a, int b) { return (a + b - 1) / b; }

/* The output columns [lo, hi) whose input column ox*stride - pad + kw lies inside 0..w-1. */
static void valid_range(int w, int ow, int stride, int pad, int kw, int *lo, int *hi)
{
    const int a = pad - kw, bnd = w + pad - kw;
    int l = a > 0 ? ceil_div(a, stride) : 0;
    int h = bnd > 0 ? ceil_div(bnd, stride) : 0;
    if (l > ow)
        l = ow;
    if (h > ow)
        h = ow;
    if (h < l)
        h = l;
    *lo = l;
    *hi = h;
}

static void im2col(const conv_shape *s, const float *x, float *col)
{
    const int ohw = s->oh * s->ow, r = s->r, st = s->stride;
    for (int ci = 0; ci < s->c; ci++)
        for (int kh = 0; kh < r; kh++)
            for (int kw = 0; kw < r; kw++) {
                float *row = col + (size_t)((ci * r + kh) * r + kw) * ohw;
                int lo, hi;
                valid_range(s->w, s->ow, st, s->pad, kw, &lo, &hi);
                for (int oy = 0; oy < s->oh; oy++) {
                    float *dst = row + oy * s->ow;
                    const int iy = oy * st - s->pad + kh;
                    if (iy < 0 || iy >= s->h) {
                        memset(dst, 0, sizeof(float) * (size_t)s->ow);
                        continue;
                    }
                    /* Input column of output column ox: ox*st + off (off may be negative). */
                    const float *src = x + ((size_t)ci * s->h + iy) * s->w;
                    const int off = kw - s->pad;
                    for (int ox = 0; ox < lo; ox++)
                        dst[ox] = 0.0f;
                    if (st == 1 && hi > lo)
                        memcpy(dst + lo, src + (lo + off), sizeof(float) * (size_t)(hi - lo));
                    else
                        for (int ox = lo; ox < hi; ox++)
                            dst[ox] = src[ox * st + off];
                    for (int ox = hi; ox < s->ow; ox++)
                        dst[ox] = 0.0f;
                }
            }
}

/* The adjoint of im2col: dx (zeroed by the caller) += every column entry at its pixel. */
static void col2im_acc(const conv_shape *s, const float *col, float *dx)
{
    const int ohw = s->oh * s->ow, r = s->r, st = s->stride;
    for (int ci = 0; ci < s->c; ci++)
        for (int kh = 0; kh < r; kh++)
            for (int kw = 0; kw < r; kw++) {
                const float *row = col + (size_t)((ci * r + kh) * r + kw) * ohw;
                int lo, hi;
                valid_range(s->w, s->ow, st, s->pad, kw, &lo, &hi);
                for (int oy = 0; oy < s->oh; oy++) {
                    const int iy = oy * st - s->pad + kh;
                    if (iy < 0 || iy >= s->h)
                        continue;
                    const float *src = row + oy * s->ow;
                    float *dst = dx + ((size_t)ci * s->h + iy) * s->w;
                    const int off = kw - s->pad;
                    for (int ox = lo; ox < hi; ox++)
                        dst[ox * st + off] += src[ox];
                }
            }
}

void cpu_conv_fwd(backend *b, const conv_shape *s, const float *x, const float *w, float *y)
{
    const int crr = s->c * s->r * s->r, ohw = s->oh * s->ow;
    const size_t in_img = (size_t)s->c * s->h * s->w, out_img = (size_t)s->k * ohw;
    float *col = cpu_workspace(b, (size_t)crr * ohw);
    for (int i = 0; i < s->n; i++) {
        im2col(s, x + i * in_img, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->k, ohw, crr, 1.0f, w, crr, col, ohw,
                    0.0f, y + i * out_img, ohw);
    }
}

void cpu_conv_bwd_data(backend *b, const conv_shape *s, const float *dy, const float *w, float *dx)
{
    const int crr = s->c * s->r * s->r, ohw = s->oh * s->ow;
    const size_t in_img = (size_t)s->c * s->h * s->w, out_img = (size_t)s->k * ohw;
    float *col = cpu_workspace(b, (size_t)crr * ohw);
    for (int i = 0; i < s->n; i++) {
        /* dcol (crr x ohw) = W^T (crr x k) * dy_img (k x ohw) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, crr, ohw, s->k, 1.0f, w, crr,
                    dy + i * out_img, ohw, 0.0f, col, ohw);
        float *dxi = dx + i * in_img;
        memset(dxi, 0, sizeof(float) * in_img);
        col2im_acc(s, col, dxi);
    }
}

void cpu_conv_bwd_filter(backend *b, const conv_shape *s, const float *x, const float *dy, float *dw)
{
    const int crr = s->c * s->r * s->r, ohw = s->oh * s->ow;
    const size_t in_img = (size_t)s->c * s->h * s->w, out_img = (size_t)s->k * ohw;
    if (s->n <= 0) {
        memset(dw, 0, sizeof(float) * (size_t)s->k * crr);
        return;
    }
    float *col = cpu_workspace(b, (size_t)crr * ohw);
    for (int i = 0; i < s->n; i++) {
        im2col(s, x + i * in_img, col);
        /* dW (k x crr) (+)= dy_img (k x ohw) * col^T; beta 0 on the first image overwrites
           whatever the buffer held, as the interface promises. */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->k, crr, ohw, 1.0f, dy + i * out_img, ohw,
                    col, ohw, i == 0 ? 0.0f : 1.0f, dw, crr);
    }
}
