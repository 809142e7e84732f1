/* cpu_kern_impl.h: the body of one cpu_kernels variant (cpu_kern.h), included by cpu_kern_avx512.c, cpu_kern_avx2.c and cpu_kern_base.c with their tile sizes. */
/*
 * The including file defines, before including this once:
 *   KERN_VW     floats per hardware vector (16, 8, 4)
 *   KERN_MR     conv_rows: rows of the output per register tile
 *   KERN_NP     conv_rows: vectors of KERN_VW outputs along p per register tile
 *   KERN_WACC   wgrad_rows: accumulator vectors per register tile
 *   KERN_WMV    wgrad_rows: most vectors of KERN_VW rows m per tile (a multiple of 2);
 *               a tile holds KERN_WACC / KERN_WMV rows j (KERN_WJ1, KERN_WJ2 when one
 *               or two vectors of m are left)
 *   KERN_TABLE  the name of the cpu_kernels table to define
 *   KERN_NAME   its name as a string
 * Tiles hold KERN_MR * KERN_NP (and KERN_WACC) accumulator vectors, sized to the
 * variant's register file. GCC's vector extensions keep the code one plain C loop nest
 * for every variant; the one operation that differs is kfma(), a fused multiply-add
 * (one rounding) lane by lane: the instruction where the variant's flags provide it,
 * else the C library's fmaf, which is exact by definition (and slow where the
 * processor has no FMA: x86-64 before 2013).
 */
#include <math.h>
#include <string.h>
#include "backend/cpu/cpu_kern.h"
/* The vector types here never cross a call to another file, so the ABI a wider type
   would have is no concern. */
#pragma GCC diagnostic ignored "-Wpsabi"
#include "ops_math.h"
#if defined(__SSE__)
#include <immintrin.h>
#endif

#define KERN_WJ (KERN_WACC / KERN_WMV)
#ifndef KERN_WJ1
#define KERN_WJ1 KERN_WACC /* rows j of a tile one vector of m wide */
#endif
#ifndef KERN_WJ2
#define KERN_WJ2 (KERN_WACC / 2) /* rows j of a tile two vectors of m wide */
#endif
#if KERN_WACC % KERN_WMV || KERN_WACC % 2 || KERN_WMV < 2 || KERN_WMV % 2
#error "bad wgrad_rows tile"
#endif

typedef float kvec __attribute__((vector_size(KERN_VW * 4)));
/* The same, for loads and stores at any float-aligned address into float arrays. */
typedef float kvec_u __attribute__((vector_size(KERN_VW * 4), aligned(4), may_alias));

static inline kvec kload(const float *p) { return *(const kvec_u *)p; }
static inline void kstore(float *p, kvec v) { *(kvec_u *)p = v; }

/* a * b + c, rounded once, in every lane. */
static inline kvec kfma(kvec a, kvec b, kvec c)
{
#if KERN_VW == 16 && defined(__AVX512F__)
    return _mm512_fmadd_ps(a, b, c);
#elif KERN_VW == 8 && defined(__FMA__)
    return _mm256_fmadd_ps(a, b, c);
#elif KERN_VW == 4 && defined(__FMA__)
    return _mm_fmadd_ps(a, b, c);
#else
    kvec r;
    for (int l = 0; l < KERN_VW; l++)
        r[l] = fmaf(a[l], b[l], c[l]);
    return r;
#endif
}

/* x in every lane (exactly: a broadcast, not 0 + x, which would turn -0 into +0). */
static inline kvec kset1(float x)
{
#if KERN_VW == 16 && defined(__AVX512F__)
    return _mm512_set1_ps(x);
#elif KERN_VW == 8 && defined(__AVX__)
    return _mm256_set1_ps(x);
#elif KERN_VW == 4 && defined(__SSE__)
    return _mm_set1_ps(x);
#else
    kvec r;
    for (int l = 0; l < KERN_VW; l++)
        r[l] = x;
    return r;
#endif
}

static void pack_a(int M, int K, const float *a, long sm, long sj, float *out)
{
    for (int m0 = 0; m0 < M; m0 += KERN_MR)
        for (int j = 0; j < K; j++)
            for (int i = 0; i < KERN_MR; i++) {
                const int m = m0 + i;
                *out++ = m < M ? a[m * sm + j * sj] : 0.0f;
            }
}

/* One register tile of conv_rows: KERN_MR rows (mr of them stored) by np vectors from p0. */
static inline __attribute__((always_inline)) void rows_tile(int np, int K, const float *ap,
                                                          const float *const *rows, long p0, float *out,
                                                          long ldo, int mr)
{
    kvec acc[KERN_MR][KERN_NP];
    for (int i = 0; i < KERN_MR; i++)
        for (int n = 0; n < np; n++)
            acc[i][n] = (kvec){0};
    for (int j = 0; j < K; j++) {
        const float *r = rows[j] + p0;
        kvec b[KERN_NP];
        for (int n = 0; n < np; n++)
            b[n] = kload(r + n * KERN_VW);
        const float *a = ap + (long)j * KERN_MR;
        for (int i = 0; i < KERN_MR; i++) {
            const kvec ai = kset1(a[i]);
            for (int n = 0; n < np; n++)
                acc[i][n] = kfma(ai, b[n], acc[i][n]);
        }
    }
    for (int i = 0; i < mr; i++)
        for (int n = 0; n < np; n++)
            kstore(out + i * ldo + p0 + n * KERN_VW, acc[i][n]);
}

static void conv_rows(int M, int K, long P, const float *ap, const float *const *rows, float *out, long ldo)
{
    const long tile = KERN_NP * KERN_VW, full = P / tile * tile, vec = P / KERN_VW * KERN_VW;
    for (long p0 = 0; p0 < P;) {
        const long step = p0 < full ? tile : p0 < vec ? KERN_VW : P - p0;
        for (int m0 = 0; m0 < M; m0 += KERN_MR) {
            const float *apm = ap + (long)m0 * K;
            const int mr = M - m0 < KERN_MR ? M - m0 : KERN_MR;
            float *o = out + (long)m0 * ldo;
            if (step == tile)
                rows_tile(KERN_NP, K, apm, rows, p0, o, ldo, mr);
            else if (step == KERN_VW)
                rows_tile(1, K, apm, rows, p0, o, ldo, mr);
            else /* the last P % KERN_VW outputs: the same sums, one lane at a time */
                for (int i = 0; i < mr; i++)
                    for (long p = p0; p < P; p++) {
                        float acc = 0.0f;
                        for (int j = 0; j < K; j++)
                            acc = fmaf(apm[(long)j * KERN_MR + i], rows[j][p], acc);
                        o[i * ldo + p] = acc;
                    }
        }
        p0 += step;
    }
}

/* One register tile of wgrad_rows: mv vectors of m from vector mv0, by wj rows from j0
   (rows past J repeat the last, computed and not stored). */
static inline __attribute__((always_inline)) void wgrad_tile(int mv, int wj, int M, int J, int G, long P,
                                                           long ldt, const float *at,
                                                           const float *const *rows, int mv0, int j0,
                                                           float *out)
{
    kvec acc[KERN_WACC]; /* acc[v * wj + q] */
    for (int e = 0; e < mv * wj; e++)
        acc[e] = (kvec){0};
    for (int g = 0; g < G; g++) {
        const float *rr[KERN_WACC];
        for (int q = 0; q < wj; q++)
            rr[q] = rows[(long)g * J + (j0 + q < J ? j0 + q : J - 1)];
        const float *t = at + (long)g * P * ldt + (long)mv0 * KERN_VW;
        for (long p = 0; p < P; p++, t += ldt) {
            kvec d[KERN_WMV];
            for (int v = 0; v < mv; v++)
                d[v] = kload(t + v * KERN_VW);
            for (int q = 0; q < wj; q++) {
                const kvec x = kset1(rr[q][p]);
                for (int v = 0; v < mv; v++)
                    acc[v * wj + q] = kfma(d[v], x, acc[v * wj + q]);
            }
        }
    }
    for (int v = 0; v < mv; v++)
        for (int q = 0; q < wj && j0 + q < J; q++) {
            float lane[KERN_VW];
            kstore(lane, acc[v * wj + q]);
            for (int l = 0; l < KERN_VW; l++) {
                const int m = (mv0 + v) * KERN_VW + l;
                if (m < M)
                    out[(long)m * J + j0 + q] = lane[l];
            }
        }
}

static void wgrad_rows(int M, int J, int G, long P, long ldt, const float *at, const float *const *rows,
                       float *out)
{
    const int nv = (M + KERN_VW - 1) / KERN_VW;
    for (int v0 = 0; v0 < nv;) {
        /* As many vectors of m as fit (KERN_WMV, else 2, else 1), with as many rows j as
           the accumulator budget leaves: the tile shape changes no sum. */
        const int mv = nv - v0 >= KERN_WMV ? KERN_WMV : nv - v0 >= 2 ? 2 : 1;
        for (int j0 = 0; j0 < J;) {
            if (mv == KERN_WMV) {
                wgrad_tile(KERN_WMV, KERN_WJ, M, J, G, P, ldt, at, rows, v0, j0, out);
                j0 += KERN_WJ;
            } else if (mv == 2) {
                wgrad_tile(2, KERN_WJ2, M, J, G, P, ldt, at, rows, v0, j0, out);
                j0 += KERN_WJ2;
            } else {
                wgrad_tile(1, KERN_WJ1, M, J, G, P, ldt, at, rows, v0, j0, out);
                j0 += KERN_WJ1;
            }
        }
        v0 += mv;
    }
}

/* One register tile of wgrad_hwc: wm rows m from m0, by kernel row kh's three columns kw
   times nvt vectors of input channels from vector v0. The channels lie along the vector
   (xt is channel-minor), so each accumulator lane is one output and no horizontal sum
   is needed; dy's value at a position is the broadcast operand, read where dy lies. */
static inline __attribute__((always_inline)) void hwc_tile(int wm, int nvt, const cpu_wgrad_geom *q,
                                                         const float *xt, const float *dy, int m0, int kh,
                                                         int v0, float *out)
{
    kvec acc[KERN_WACC]; /* acc[(i * 3 + kw) * nvt + v] */
    for (int e = 0; e < wm * 3 * nvt; e++)
        acc[e] = (kvec){0};
    const long C = q->C, P = (long)q->oh * q->ow, step = (long)q->stride * C;
    const long rowstep = (long)q->stride * q->W2 * C;
    for (int g = 0; g < q->G; g++) {
        const float *xr = xt + g * q->xt_img + kh * q->W2 * C + v0 * KERN_VW;
        const float *dr = dy + g * q->dy_img + m0 * P;
        for (int oy = 0; oy < q->oh; oy++, xr += rowstep, dr += q->ow) {
            const float *x = xr;
            for (int ox = 0; ox < q->ow; ox++, x += step) {
                kvec b[KERN_WACC];
                for (int i = 0; i < wm; i++)
                    b[i] = kset1(dr[i * P + ox]);
                for (int kw = 0; kw < 3; kw++)
                    for (int v = 0; v < nvt; v++) {
                        const kvec xv = kload(x + kw * C + v * KERN_VW);
                        for (int i = 0; i < wm; i++)
                            acc[(i * 3 + kw) * nvt + v] = kfma(xv, b[i], acc[(i * 3 + kw) * nvt + v]);
                    }
            }
        }
    }
    for (int i = 0; i < wm; i++)
        for (int kw = 0; kw < 3; kw++)
            for (int v = 0; v < nvt; v++) {
                float lane[KERN_VW];
                kstore(lane, acc[(i * 3 + kw) * nvt + v]);
                float *o = out + (long)(m0 + i) * 9 * C + (long)(v0 + v) * KERN_VW * 9 + kh * 3 + kw;
                for (int l = 0; l < KERN_VW; l++)
                    o[l * 9] = lane[l];
            }
}

/* Rows m per tile for nvt vectors of channels: the accumulators (wm * 3 * nvt) and
   the wm broadcasts must stay in registers. */
#define HWC_TILES(nvt, WM)                                                                                  \
    for (int m0 = 0; m0 < q->M;) {                                                                         \
        if (q->M - m0 >= (WM)) {                                                                           \
            hwc_tile((WM), (nvt), q, xt, dy, m0, kh, v0, out);                                             \
            m0 += (WM);                                                                                    \
        } else {                                                                                           \
            hwc_tile(1, (nvt), q, xt, dy, m0, kh, v0, out);                                                \
            m0 += 1;                                                                                       \
        }                                                                                                  \
    }

static void wgrad_hwc(const cpu_wgrad_geom *q, const float *xt, const float *dy, float *out)
{
    const int nv = q->C / KERN_VW;
    /* Channel vectors per tile: 4, 2 or 1, whichever divides the channels' and fits. */
    const int nvt = nv % 4 == 0 && KERN_HWC_WM4 ? 4 : nv % 2 == 0 && KERN_HWC_WM2 ? 2 : 1;
    for (int v0 = 0; v0 < nv; v0 += nvt)
        for (int kh = 0; kh < 3; kh++) {
            if (nvt == 4) {
                HWC_TILES(4, KERN_HWC_WM4 ? KERN_HWC_WM4 : 1)
            } else if (nvt == 2) {
                HWC_TILES(2, KERN_HWC_WM2 ? KERN_HWC_WM2 : 1)
            } else {
                HWC_TILES(1, KERN_HWC_WM1)
            }
        }
}

/* Masks of the transpose in hwc_pad: stage b exchanges bit b between the row and the
   column index of every element whose two bits differ (rows i and i + b, i without
   bit b); after the stages for every bit, element (i, j) sits at (j, i). */
typedef int kivec __attribute__((vector_size(KERN_VW * 4)));
#define HWC_LO(j, b) (((j) & (b)) ? KERN_VW + (j) - (b) : (j))
#define HWC_HI(j, b) (((j) & (b)) ? KERN_VW + (j) : (j) + (b))
#if KERN_VW == 16
#define HWC_MASK(F, b)                                                                                      \
    {F(0, b), F(1, b), F(2, b),  F(3, b),  F(4, b),  F(5, b),  F(6, b),  F(7, b),                          \
     F(8, b), F(9, b), F(10, b), F(11, b), F(12, b), F(13, b), F(14, b), F(15, b)}
#elif KERN_VW == 8
#define HWC_MASK(F, b) {F(0, b), F(1, b), F(2, b), F(3, b), F(4, b), F(5, b), F(6, b), F(7, b)}
#else
#define HWC_MASK(F, b) {F(0, b), F(1, b), F(2, b), F(3, b)}
#endif
#define HWC_STAGE(r, b)                                                                                     \
    for (int i = 0; i < KERN_VW; i++)                                                                      \
        if (!(i & (b))) {                                                                                  \
            const kvec lo = __builtin_shuffle(r[i], r[i + (b)], (kivec)HWC_MASK(HWC_LO, b));               \
            r[i + (b)] = __builtin_shuffle(r[i], r[i + (b)], (kivec)HWC_MASK(HWC_HI, b));                  \
            r[i] = lo;                                                                                     \
        }

static void hwc_pad(int c, int h, int w, int pad, const float *x, float *xt)
{
    const long W2 = w + 2 * pad, rowf = W2 * c, hw = (long)h * w, side = (long)pad * c;
    memset(xt, 0, sizeof(float) * (size_t)(pad * rowf));
    memset(xt + (pad + h) * rowf, 0, sizeof(float) * (size_t)(pad * rowf));
    for (int y = 0; y < h; y++) {
        memset(xt + (y + pad) * rowf, 0, sizeof(float) * (size_t)side);
        memset(xt + (y + pad) * rowf + (long)(pad + w) * c, 0, sizeof(float) * (size_t)side);
    }
    /* KERN_VW positions (along the plane, across its rows) by KERN_VW channels at a time:
       a row of vector loads from each plane, transposed in registers, each position's
       channels stored as one vector. */
    long p = 0;
    for (; p + KERN_VW <= hw; p += KERN_VW)
        for (int c0 = 0; c0 < c; c0 += KERN_VW) {
            kvec r[KERN_VW];
            for (int i = 0; i < KERN_VW; i++)
                r[i] = kload(x + (c0 + i) * hw + p);
#if KERN_VW >= 16
            HWC_STAGE(r, 8)
#endif
#if KERN_VW >= 8
            HWC_STAGE(r, 4)
#endif
            HWC_STAGE(r, 2)
            HWC_STAGE(r, 1)
            long y = p / w, xx = p % w;
            for (int j = 0; j < KERN_VW; j++) {
                kstore(xt + ((y + pad) * W2 + xx + pad) * c + c0, r[j]);
                if (++xx == w)
                    xx = 0, y++;
            }
        }
    for (; p < hw; p++) /* the last hw mod KERN_VW positions */
        for (int ci = 0; ci < c; ci++)
            xt[((p / w + pad) * W2 + p % w + pad) * c + ci] = x[ci * hw + p];
}

/* ---- batch norm's passes over one run of n values of a channel ---- */

typedef double kd8 __attribute__((vector_size(64)));
typedef float kf8 __attribute__((vector_size(32)));
typedef float kf8_u __attribute__((vector_size(32), aligned(4), may_alias));

static inline kd8 kd8_load(const double *s)
{
    kd8 v;
    memcpy(&v, s, sizeof v);
    return v;
}

static inline kd8 kf8_widen(const float *x) { return __builtin_convertvector(*(const kf8_u *)x, kd8); }

static void bn_sum(const float *x, long n, double *s)
{
    kd8 acc = kd8_load(s);
    long j = 0;
    for (; j + CPU_KERN_SUM_LANES <= n; j += CPU_KERN_SUM_LANES)
        acc += kf8_widen(x + j);
    memcpy(s, &acc, sizeof acc);
    for (int l = 0; j < n; j++, l++)
        s[l] += x[j];
}

static void bn_sqdev(const float *x, long n, double mean, double *q)
{
    kd8 acc = kd8_load(q);
    long j = 0;
    for (; j + CPU_KERN_SUM_LANES <= n; j += CPU_KERN_SUM_LANES) {
        const kd8 d = kf8_widen(x + j) - mean;
        acc += d * d;
    }
    memcpy(q, &acc, sizeof acc);
    for (int l = 0; j < n; j++, l++) {
        const double d = x[j] - mean;
        q[l] += d * d;
    }
}

static void bn_bwd_sums(const float *x, const float *dy, long n, float mean, float inv_std, double *sd, double *sx)
{
    kd8 ad = kd8_load(sd), ax = kd8_load(sx);
    long j = 0;
    for (; j + CPU_KERN_SUM_LANES <= n; j += CPU_KERN_SUM_LANES) {
        /* xhat rounded to float exactly as bn_bwd_one forms it */
        const kf8 xhat = (*(const kf8_u *)(x + j) - mean) * inv_std;
        const kd8 d = kf8_widen(dy + j);
        ad += d;
        ax += d * __builtin_convertvector(xhat, kd8);
    }
    memcpy(sd, &ad, sizeof ad);
    memcpy(sx, &ax, sizeof ax);
    for (int l = 0; j < n; j++, l++) {
        const float xhat = (x[j] - mean) * inv_std;
        sd[l] += dy[j];
        sx[l] += (double)dy[j] * xhat;
    }
}

static void bn_apply(const float *x, long n, float mean, float inv_std, float g, float be, float *y)
{
    for (long j = 0; j < n; j++)
        y[j] = bn_apply_one(x[j], mean, inv_std, g, be);
}

static void bn_bwd_apply(const float *x, const float *dy, long n, float mean, float inv_std, float g, float sdy,
                         float sdyx, float m, float *dx)
{
    for (long j = 0; j < n; j++)
        dx[j] = bn_bwd_one(x[j], dy[j], mean, inv_std, g, sdy, sdyx, m);
}

const cpu_kernels KERN_TABLE = {
    .name = KERN_NAME,
    .mr = KERN_MR,
    .pack_a = pack_a,
    .conv_rows = conv_rows,
    .wgrad_rows = wgrad_rows,
    .wgrad_hwc = wgrad_hwc,
    .hwc_pad = hwc_pad,
    .bn_sum = bn_sum,
    .bn_sqdev = bn_sqdev,
    .bn_bwd_sums = bn_bwd_sums,
    .bn_apply = bn_apply,
    .bn_bwd_apply = bn_bwd_apply,
};
