/* cpu_conv.c: the CPU backend's convolution (forward, backward-data, backward-filter): shifted input planes as the column matrix of stride-1 "same" convolutions, im2col/col2im for the rest, around the cpu_kernels loops, one image (or a fixed group) per task. */
#include <string.h>
#include "backend/cpu/cpu_internal.h"

/*
 * Layout: x (n, c, h, w), w (k, c, r, r), y (n, k, oh, ow), all row-major NCHW. For one
 * image, the column matrix col has c*r*r rows j = (ci, kh, kw) and oh*ow columns
 * p = (oy, ox): col[j][p] = x[ci][oy*stride - pad + kh][ox*stride - pad + kw], zero
 * outside the image. Then y_img (k x ohw) = W (k x crr) * col, and the two backward
 * passes are the two other products of the same three matrices.
 *
 * The kernels (cpu_kern.h) read col through one pointer per row, so col need not exist.
 * For a stride-1 convolution that keeps the size (oh = h, ow = w: r = 2*pad + 1), row
 * j is input plane ci read from a fixed offset, (kh - pad) * w + (kw - pad) floats
 * along: shifted_planes() makes r copies of the image's planes, one per column shift d =
 * kw - pad, each with pad*(w+1) zeros before and after every plane (rows above and below
 * the image) and, in each row, the |d| columns zeroed that a shifted read would take
 * from the neighbouring row instead of the padding. Every read then sees exactly
 * im2col's value, zeros included, so the sums are im2col's to the bit (test_cpu_ops
 * compares the two paths). Other shapes (the stride-2 convolutions that open stages 2
 * and 3) build col with im2col.
 *
 * The transposed product (backward data) of such a convolution is itself one: dx = dy
 * convolved with W flipped in both spatial axes and with its two channel axes swapped,
 * at the same padding, so it takes the same path; other shapes multiply W^T * dy into a
 * column buffer and scatter it back with col2im.
 *
 * The weight gradient of a 3x3 convolution whose input channels fill whole vectors (16
 * of them, any stride and padding: all but the stem in a CIFAR ResNet) takes wgrad_hwc
 * instead: each input image transposed once to channel-minor with zero padding, dy read
 * where it lies, the channels along the vector. The same terms in the same order as
 * wgrad_rows on the column matrix, so the same bits (test_cpu_repro compares the two);
 * it needs neither the shifted copies nor dy transposed, and the stride-2 ones no im2col.
 *
 * Threads: the forward and backward-data passes split the batch into one task per image,
 * each writing its own output; the weight gradient splits it into fixed groups of images
 * (wgrad_group(): a size from the shape alone), each summing into its own partial
 * gradient, and the partials are added in group order. No sum depends on the thread
 * count.
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


/* The column matrix's rows for a stride-1 size-keeping convolution, through shifted copies. */
static int implicit_ok(backend *b, const conv_shape *s)
{
    return !((cpu_backend *)b)->conv_im2col_only && s->stride == 1 && s->oh == s->h && s->ow == s->w &&
           s->pad < s->w;
}

/* One copy's plane stride: the image with its margins, in whole 64-byte lines. */
static long plane_stride(int h, int w, int pad) { return ((long)h * w + 2L * pad * (w + 1) + 15) / 16 * 16; }

/* Floats that shifted_planes takes for c planes: r copies, each with 16 floats of
   slack to align it (below). */
static long planes_floats(int c, int h, int w, int r, int pad) { return (long)r * (c * plane_stride(h, w, pad) + 16); }

/* r copies of the c planes (h x w) at x into buf (64-byte aligned, planes_floats of
   them), and the c*r*r row pointers of the column matrix into rows (see the top of
   this file). Each copy starts where its rows for kh = pad fall on 64-byte lines (and
   so do all its rows when w is a multiple of 16): the kernels' vector loads then never
   straddle two lines. */
static void shifted_planes(int c, int h, int w, int r, int pad, const float *x, float *buf, const float **rows)
{
    const long hw = (long)h * w, marg = (long)pad * (w + 1), plane = plane_stride(h, w, pad);
    for (int kw = 0; kw < r; kw++) {
        const int d = kw - pad;
        float *cp = buf + (long)kw * (c * plane + 16);
        cp += ((-(marg + d)) % 16 + 16) % 16;
        for (int ci = 0; ci < c; ci++) {
            float *dst = cp + ci * plane;
            memset(dst, 0, sizeof(float) * (size_t)marg);
            memcpy(dst + marg, x + ci * hw, sizeof(float) * (size_t)hw);
            memset(dst + marg + hw, 0, sizeof(float) * (size_t)marg);
            /* A read for output column ox lands at column ox + d of the same row when
               that is inside 0..w-1; otherwise it lands in the previous row's last -d
               columns (d < 0) or the next row's first d (d > 0), which this copy zeroes:
               no in-range read ever takes them. */
            const int z0 = d < 0 ? w + d : 0, z1 = d < 0 ? w : d;
            float *row = dst + marg;
            if (z1 - z0 == 1) /* 3x3 filters: one store a row (a loop here becomes a memset call) */
                for (int y = 0; y < h; y++)
                    row[(long)y * w + z0] = 0.0f;
            else
                for (int y = 0; y < h && d != 0; y++)
                    memset(row + (long)y * w + z0, 0, sizeof(float) * (size_t)(z1 - z0));
        }
        for (int ci = 0; ci < c; ci++)
            for (int kh = 0; kh < r; kh++)
                rows[(ci * r + kh) * r + kw] = cp + ci * plane + marg + (long)(kh - pad) * w + d;
    }
}

/* Floats of worker scratch one image's column matrix takes (column_rows). */
static long column_floats(backend *b, const conv_shape *s)
{
    if (implicit_ok(b, s))
        return planes_floats(s->c, s->h, s->w, s->r, s->pad);
    return (long)s->c * s->r * s->r * s->oh * s->ow;
}

/* The column matrix of image x (c x h x w) for s, shifted planes or an im2col buffer, in
   buf (column_floats of them); its c*r*r row pointers into rows. */
static void column_rows(backend *b, const conv_shape *s, float *buf, const float *x, const float **rows)
{
    if (implicit_ok(b, s)) {
        shifted_planes(s->c, s->h, s->w, s->r, s->pad, x, buf, rows);
    } else {
        const int crr = s->c * s->r * s->r;
        const long ohw = (long)s->oh * s->ow;
        im2col(s, x, buf);
        for (int j = 0; j < crr; j++)
            rows[j] = buf + j * ohw;
    }
}

/* Worker scratch for `images` column matrices (grown once, before any is built: a
   buffer that grows loses what it held). */
static float *column_buf(backend *b, const conv_shape *s, int worker, int images)
{
    return cpu_worker_buf(b, worker, CPU_WB_PLANES, sizeof(float) * (size_t)column_floats(b, s) * (size_t)images);
}

typedef struct conv_job {
    backend *b;
    const conv_shape *s;
    const float *in, *ap;   /* the image batch read, the packed weights */
    float *out;
    int G;                  /* wgrad: images per task */
} conv_job;

static void fwd_task(void *ctx, int i, int worker)
{
    const conv_job *J = ctx;
    const conv_shape *s = J->s;
    const int crr = s->c * s->r * s->r;
    const long ohw = (long)s->oh * s->ow;
    const float **rows = cpu_worker_buf(J->b, worker, CPU_WB_ROWS, sizeof(float *) * (size_t)crr);
    column_rows(J->b, s, column_buf(J->b, s, worker, 1), J->in + (size_t)i * s->c * s->h * s->w, rows);
    ((cpu_backend *)J->b)->kern->conv_rows(s->k, crr, ohw, J->ap, rows, J->out + (size_t)i * s->k * ohw, ohw);
}

/* Packed weights a (M x K, element (m, j) at a[m * sm + j * sj]) in shared scratch. */
static const float *packed(backend *b, int M, int K, const float *a, long sm, long sj)
{
    const cpu_kernels *kern = ((cpu_backend *)b)->kern;
    const long mp = (M + kern->mr - 1) / kern->mr * kern->mr;
    float *ap = cpu_shared(b, CPU_SB_APACK, (size_t)(mp * K));
    kern->pack_a(M, K, a, sm, sj, ap);
    return ap;
}

void cpu_conv_fwd(backend *b, const conv_shape *s, const float *x, const float *w, float *y)
{
    const int crr = s->c * s->r * s->r;
    conv_job J = {b, s, x, packed(b, s->k, crr, w, crr, 1), y, 0};
    cpu_parallel(b, s->n, fwd_task, &J);
}

/* dx of a size-keeping stride-1 convolution: the forward loop on dy's shifted planes. */
static void bwd_data_implicit_task(void *ctx, int i, int worker)
{
    const conv_job *J = ctx;
    const conv_shape *s = J->s;
    const int kr2 = s->k * s->r * s->r;
    const long hw = (long)s->h * s->w;
    const float **rows = cpu_worker_buf(J->b, worker, CPU_WB_ROWS, sizeof(float *) * (size_t)kr2);
    const long per = planes_floats(s->k, s->h, s->w, s->r, s->pad);
    float *buf = cpu_worker_buf(J->b, worker, CPU_WB_PLANES, sizeof(float) * (size_t)per);
    shifted_planes(s->k, s->h, s->w, s->r, s->pad, J->in + (size_t)i * s->k * hw, buf, rows);
    ((cpu_backend *)J->b)->kern->conv_rows(s->c, kr2, hw, J->ap, rows, J->out + (size_t)i * s->c * hw, hw);
}

/* dx of any other convolution: dcol = W^T dy_img, then col2im. */
static void bwd_data_col_task(void *ctx, int i, int worker)
{
    const conv_job *J = ctx;
    const conv_shape *s = J->s;
    const int crr = s->c * s->r * s->r;
    const long ohw = (long)s->oh * s->ow;
    const size_t in_img = (size_t)s->c * s->h * s->w;
    const float **rows = cpu_worker_buf(J->b, worker, CPU_WB_ROWS, sizeof(float *) * (size_t)s->k);
    float *dcol = cpu_worker_buf(J->b, worker, CPU_WB_COL, sizeof(float) * (size_t)crr * (size_t)ohw);
    const float *dyi = J->in + (size_t)i * s->k * ohw;
    for (int kk = 0; kk < s->k; kk++)
        rows[kk] = dyi + kk * ohw;
    ((cpu_backend *)J->b)->kern->conv_rows(crr, s->k, ohw, J->ap, (const float *const *)rows, dcol, ohw);
    float *dxi = J->out + (size_t)i * in_img;
    memset(dxi, 0, sizeof(float) * in_img);
    col2im_acc(s, dcol, dxi);
}

void cpu_conv_bwd_data(backend *b, const conv_shape *s, const float *dy, const float *w, float *dx)
{
    const int r = s->r, rr = r * r, crr = s->c * rr, kr2 = s->k * rr;
    conv_job J = {b, s, dy, NULL, dx, 0};
    if (implicit_ok(b, s)) {
        /* wflip[ci][(kk, a, e)] = w[kk][ci][r-1-a][r-1-e] */
        float *wf = cpu_shared(b, CPU_SB_WFLIP, (size_t)s->c * (size_t)kr2);
        for (int ci = 0; ci < s->c; ci++)
            for (int kk = 0; kk < s->k; kk++)
                for (int t = 0; t < rr; t++)
                    wf[(long)ci * kr2 + kk * rr + t] = w[(long)kk * crr + ci * rr + (rr - 1 - t)];
        J.ap = packed(b, s->c, kr2, wf, kr2, 1);
        cpu_parallel(b, s->n, bwd_data_implicit_task, &J);
    } else {
        J.ap = packed(b, crr, s->k, w, 1, crr); /* W^T: element (q, kk) = w[kk * crr + q] */
        cpu_parallel(b, s->n, bwd_data_col_task, &J);
    }
}

/* Images per weight-gradient task: enough that each task sums over at least 512 output
   positions (the kernel's register tile then outlives its loads), from the shape alone. */
static int wgrad_group(const conv_shape *s)
{
    const long ohw = (long)s->oh * s->ow;
    long g = ohw >= 512 ? 1 : (512 + ohw - 1) / (ohw > 0 ? ohw : 1);
    return (int)(g < s->n ? g : s->n);
}

/* The weight gradient through wgrad_hwc (cpu_kern.h): 3x3 filters on whole vectors of
   input channels, any stride and padding. It needs no column matrix and no transposed
   dy, only each input image transposed once, and gives wgrad_rows' bits. */
static int wgrad_hwc_ok(backend *b, const conv_shape *s)
{
    return !((cpu_backend *)b)->conv_im2col_only && s->r == 3 && s->c % CPU_KERN_MPAD == 0;
}

/* Floats of one image transposed with its padding (hwc_pad). */
static long padded_floats(const conv_shape *s)
{
    return (long)(s->h + 2 * s->pad) * (s->w + 2 * s->pad) * s->c;
}

static void wgrad_hwc_task(void *ctx, int t, int worker)
{
    const conv_job *J = ctx;
    const conv_shape *s = J->s;
    const cpu_kernels *kern = ((cpu_backend *)J->b)->kern;
    const int i0 = t * J->G, G = s->n - i0 < J->G ? s->n - i0 : J->G;
    const long per = padded_floats(s), ohw = (long)s->oh * s->ow;
    float *xt = cpu_worker_buf(J->b, worker, CPU_WB_PLANES, sizeof(float) * (size_t)(per * J->G));
    for (int g = 0; g < G; g++)
        kern->hwc_pad(s->c, s->h, s->w, s->pad, J->in + (size_t)(i0 + g) * s->c * s->h * s->w, xt + per * g);
    const cpu_wgrad_geom q = {.M = s->k, .C = s->c, .G = G, .oh = s->oh, .ow = s->ow, .stride = s->stride,
                              .W2 = s->w + 2 * s->pad, .xt_img = per, .dy_img = (long)s->k * ohw};
    kern->wgrad_hwc(&q, xt, J->ap + (size_t)i0 * s->k * ohw,
                                           J->out + (size_t)t * s->k * s->c * 9);
}

static void wgrad_task(void *ctx, int t, int worker)
{
    const conv_job *J = ctx;
    const conv_shape *s = J->s;
    const int crr = s->c * s->r * s->r, i0 = t * J->G, G = s->n - i0 < J->G ? s->n - i0 : J->G;
    const long ohw = (long)s->oh * s->ow, ldt = (s->k + CPU_KERN_MPAD - 1) / CPU_KERN_MPAD * CPU_KERN_MPAD;
    const float **rows = cpu_worker_buf(J->b, worker, CPU_WB_ROWS, sizeof(float *) * (size_t)J->G * (size_t)crr);
    float *buf = column_buf(J->b, s, worker, J->G);
    float *dyt = cpu_worker_buf(J->b, worker, CPU_WB_DYT, sizeof(float) * (size_t)(J->G * ohw * ldt));
    const long per = column_floats(J->b, s);
    for (int g = 0; g < G; g++) {
        const int i = i0 + g;
        column_rows(J->b, s, buf + per * g, J->in + (size_t)i * s->c * s->h * s->w, rows + (size_t)g * crr);
        /* dy of image i transposed, (p, m) with m padded by zeros to ldt */
        const float *dyi = J->ap + (size_t)i * s->k * ohw; /* ap holds dy here */
        float *tg = dyt + (size_t)g * ohw * ldt;
        /* Read dy_i in order (its first touch, from memory: the prefetcher follows a
           plain stream); the scattered writes stay in this worker's cache. */
        for (int m = 0; m < s->k; m++) {
            const float *src = dyi + m * ohw;
            for (long p = 0; p < ohw; p++)
                tg[p * ldt + m] = src[p];
        }
        for (long p = 0; p < ohw && s->k < ldt; p++)
            for (long m = s->k; m < ldt; m++)
                tg[p * ldt + m] = 0.0f;
    }
    ((cpu_backend *)J->b)->kern->wgrad_rows(s->k, crr, G, ohw, ldt, dyt, rows, J->out + (size_t)t * s->k * crr);
}

typedef struct sum_job {
    const float *partial;
    long count;   /* floats per partial */
    int parts;
    float *out;
} sum_job;

/* out = partial 0 + partial 1 + ..., in that order, one chunk of outputs per task. */
static void sum_task(void *ctx, int t, int worker)
{
    (void)worker;
    const sum_job *S = ctx;
    long lo, hi;
    cpu_chunk_range(t, S->count, &lo, &hi);
    float *out = S->out;
    memcpy(out + lo, S->partial + lo, sizeof(float) * (size_t)(hi - lo));
    for (int q = 1; q < S->parts; q++) {
        const float *pq = S->partial + (size_t)q * S->count;
        for (long e = lo; e < hi; e++)
            out[e] += pq[e];
    }
}

void cpu_conv_bwd_filter(backend *b, const conv_shape *s, const float *x, const float *dy, float *dw)
{
    const int crr = s->c * s->r * s->r;
    const long nw = (long)s->k * crr;
    if (s->n <= 0 || nw == 0) {
        memset(dw, 0, sizeof(float) * (size_t)nw);
        return;
    }
    const int G = wgrad_group(s), tasks = (s->n + G - 1) / G;
    float *partial = cpu_shared(b, CPU_SB_PARTIAL, (size_t)tasks * (size_t)nw);
    conv_job J = {b, s, x, dy, partial, G};
    cpu_parallel(b, tasks, wgrad_hwc_ok(b, s) ? wgrad_hwc_task : wgrad_task, &J);
    sum_job S = {partial, nw, tasks, dw};
    cpu_parallel(b, cpu_chunks(nw), sum_task, &S);
}
