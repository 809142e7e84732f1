/* cpu_kern.h: the CPU backend's inner loops (the convolution's product over row pointers, the weight gradient's two forms, batch norm's passes), one table per instruction set. */
#ifndef CPU_KERN_H
#define CPU_KERN_H

/*
 * conv_rows and wgrad_rows read their second operand through an array of row pointers,
 * rows[j][p]: a convolution's column matrix without building it (cpu_conv.c points each
 * (channel, kernel row, kernel column) at a shifted copy of the input plane), or an
 * im2col buffer where the shape needs one. wgrad_hwc computes wgrad_rows' sums for 3x3
 * filters from the input laid out channel-minor instead (hwc_pad), with the channels
 * along the vector.
 *
 * The same bits on every processor. Each variant (cpu_kern_avx512.c, cpu_kern_avx2.c,
 * cpu_kern_base.c: one source, cpu_kern_impl.h, compiled with different -m flags)
 * computes every output as one sum in the order stated below, each term added by a
 * fused multiply-add (acc = fma(a, b, acc): the product and the sum rounded once, in
 * IEEE single precision); vector lanes only ever hold different outputs. The variants
 * differ only in how many outputs one register tile holds, which changes no sum, and
 * in whether the FMA is an instruction or the C library's exact fmaf. Tests compare
 * every variant the processor runs, bit for bit (test_cpu_ops). The FMA is the
 * convolutions' own: the per-element math that the CPU and CUDA backends share
 * (the kernels/ headers) is built without contraction (-ffp-contract=off, -fmad=false).
 */

/* wgrad_rows reads its first operand transposed, at[g][p][m] with m padded to a
   multiple of this (the widest variant's vector): the same buffer suits every variant. */
#define CPU_KERN_MPAD 16

/* Batch norm's channel sums run in this many interleaved double partial sums: value j of
   a run goes to sum j mod 8 (the run's last n mod 8 values to sums 0, 1, ...). */
#define CPU_KERN_SUM_LANES 8

/* The operands of wgrad_hwc (cpu_conv.c fills it). */
typedef struct cpu_wgrad_geom {
    int M;               /* output channels: rows of dy */
    int C;               /* input channels, a multiple of CPU_KERN_MPAD */
    int G;               /* images */
    int oh, ow, stride;  /* the output's size; the filter's step on the input */
    int W2;              /* positions per row of xt: the input's width with both paddings */
    long xt_img, dy_img; /* floats from one image to the next in xt and in dy */
} cpu_wgrad_geom;

typedef struct cpu_kernels {
    const char *name;  /* "avx512", "avx2", "baseline" */
    int mr;            /* rows per tile of conv_rows: pack_a pads M to a multiple of it */

    /* Packs a (M x K, element (m, j) at a[m * sm + j * sj]) for conv_rows, into
       ceil(M / mr) * mr * K floats at out; rows past M are zeros. */
    void (*pack_a)(int M, int K, const float *a, long sm, long sj, float *out);

    /* out[m * ldo + p] = sum over j = 0..K-1, in that order, of a(m, j) * rows[j][p],
       for m < M and p < P; `ap` from pack_a. Overwrites out. */
    void (*conv_rows)(int M, int K, long P, const float *ap, const float *const *rows, float *out, long ldo);

    /* out[m * J + j] = sum over images g = 0..G-1, then p = 0..P-1, in that order, of
       a_g(m, p) * rows[g * J + j][p], where a_g(m, p) = at[(g * P + p) * ldt + m] (ldt a
       multiple of CPU_KERN_MPAD, rows m >= M of `at` readable). Overwrites out. */
    void (*wgrad_rows)(int M, int J, int G, long P, long ldt, const float *at, const float *const *rows,
                       float *out);

    /* The weight gradient of a 3x3 convolution from its input transposed and padded,
       xt_g[(iy * W2 + ix) * C + ci] (iy, ix counted from the padding's first row and
       column, which hold zeros), and dy_g as it is:
         out[m * 9C + ci * 9 + kh * 3 + kw] = sum over images g = 0..G-1, then oy =
         0..oh-1, ox = 0..ow-1, in that order, of dy_g[m * oh*ow + oy*ow + ox] *
         xt_g[((oy * stride + kh) * W2 + ox * stride + kw) * C + ci],
       xt_g = xt + g * xt_img, dy_g = dy + g * dy_img. These are wgrad_rows' terms on the
       same convolution's column matrix in wgrad_rows' order, so it gives the same bits.
       Overwrites out. */
    void (*wgrad_hwc)(const cpu_wgrad_geom *q, const float *xt, const float *dy, float *out);
    /* xt = image x (c x h x w, c a multiple of CPU_KERN_MPAD) channel-minor with its
       padding, the layout wgrad_hwc reads: xt[((y + pad) * W2 + x + pad) * c + ci] =
       x[(ci * h + y) * w + x] for W2 = w + 2 pad, and zeros in the padding. Moves values
       only, so every variant writes the same bits. */
    void (*hwc_pad)(int c, int h, int w, int pad, const float *x, float *xt);

    /* Batch norm over one run of n values of a channel (cpu_bn.c), the sums added into
       the CPU_KERN_SUM_LANES partial sums s, q, sd, sx: */
    void (*bn_sum)(const float *x, long n, double *s);                     /* s += x */
    void (*bn_sqdev)(const float *x, long n, double mean, double *q);      /* q += (x - mean)^2 */
    /* sd += dy, sx += dy * xhat, xhat = (x - mean) * inv_std rounded to float as bn_bwd_one has it */
    void (*bn_bwd_sums)(const float *x, const float *dy, long n, float mean, float inv_std, double *sd,
                        double *sx);
    /* y = bn_apply_one(x, ...), dx = bn_bwd_one(x, dy, ...) (kernels/ops_math.h) */
    void (*bn_apply)(const float *x, long n, float mean, float inv_std, float g, float be, float *y);
    void (*bn_bwd_apply)(const float *x, const float *dy, long n, float mean, float inv_std, float g, float sdy,
                         float sdyx, float m, float *dx);
} cpu_kernels;

extern const cpu_kernels cpu_kernels_avx512, cpu_kernels_avx2, cpu_kernels_baseline;

/* Whether this processor (and OS) runs variant k. */
int cpu_kernels_supported(const cpu_kernels *k);

/* The widest variant this processor runs, or the one RESNET_CPU_KERNELS names
   (avx512, avx2 or baseline; for tests and for measuring). NULL with a message in err
   when that variable names an unknown or unsupported variant. */
const cpu_kernels *cpu_kernels_pick(char *err, unsigned long err_size);

#endif
