/* gpu_pair.h: gpu_ops' paired buffers (one CPU and one GPU copy of each input or output), random inputs and the compare/same-bits checks. */
#ifndef GPU_PAIR_H
#define GPU_PAIR_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/backend.h"
#include "testlib.h"

/* Header-only (static state and functions) because it serves the one executable gpu_ops;
   C and G are the CPU and CUDA backends that main() creates. */
static backend *C, *G;
static uint64_t rng_state;

static uint64_t next_u64(void)
{
    rng_state += 0x9E3779B97F4A7C15ull;
    return rng_mix64(rng_state);
}

/* Uniform in [lo, hi), never within 1e-3 of zero: zeros hide sign and scaling bugs. */
static float urand(float lo, float hi)
{
    for (;;) {
        const float v = lo + (hi - lo) * (float)rng_uniform(next_u64());
        if (fabsf(v) >= 1e-3f)
            return v;
    }
}

static float *host_floats(long n, float lo, float hi)
{
    float *h = malloc(sizeof(float) * (size_t)n);
    for (long i = 0; h && i < n; i++)
        h[i] = urand(lo, hi);
    return h;
}

/* The same buffer on both backends. */
typedef struct buf {
    void *c, *g;
    size_t bytes;
} buf;

static buf buf_new(size_t bytes)
{
    buf b = {C->ops->alloc(C, bytes, "test buffer"), G->ops->alloc(G, bytes, "test buffer"), bytes};
    if (!b.c || !b.g) {
        fprintf(stderr, "gpu_ops: cannot allocate %zu bytes\n", bytes);
        exit(1);
    }
    return b;
}

static void buf_put(buf b, const void *h)
{
    C->ops->upload(C, b.c, h, b.bytes);
    G->ops->upload(G, b.g, h, b.bytes);
}

static buf buf_from(const void *h, size_t bytes)
{
    buf b = buf_new(bytes);
    buf_put(b, h);
    return b;
}

/* Random floats in [lo, hi), identical on both backends. */
static buf buf_rand(long n, float lo, float hi)
{
    float *h = host_floats(n, lo, hi);
    buf b = buf_from(h, sizeof(float) * (size_t)n);
    free(h);
    return b;
}

/* NaN everywhere: an output the op should overwrite. */
static buf buf_poisoned(long n)
{
    float *h = malloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++)
        h[i] = NAN;
    buf b = buf_from(h, sizeof(float) * (size_t)n);
    free(h);
    return b;
}

static void *buf_get(buf b, int gpu)
{
    void *h = malloc(b.bytes ? b.bytes : 1);
    if (gpu)
        G->ops->download(G, h, b.g, b.bytes);
    else
        C->ops->download(C, h, b.c, b.bytes);
    return h;
}

static void buf_free(buf b)
{
    C->ops->free(C, b.c);
    G->ops->free(G, b.g);
}

#define FREE_BUFS(...)                                              \
    do {                                                            \
        const buf list_[] = {__VA_ARGS__};                          \
        for (size_t i_ = 0; i_ < sizeof list_ / sizeof list_[0]; i_++) \
            buf_free(list_[i_]);                                    \
    } while (0)

static int64_t ordered(float f)
{
    int32_t i;
    memcpy(&i, &f, sizeof i);
    return i < 0 ? (int64_t)INT32_MIN - i : i;
}

enum { ULP, REL };

/* Compares the first n floats of b across backends; prints the worst error seen. A
   negative tol only reports (no check). */
static void compare(const char *what, buf b, long n, int kind, double tol, const char *why)
{
    float *c = buf_get(b, 0), *g = buf_get(b, 1);
    double rms = 0.0;
    if (kind == REL) {
        for (long i = 0; i < n; i++)
            rms += (double)c[i] * c[i];
        rms = sqrt(rms / (n > 0 ? n : 1));
    }
    double worst = 0.0;
    long worst_i = 0, bad = 0;
    for (long i = 0; i < n; i++) {
        double err;
        if (isnan(g[i]) || isnan(c[i])) /* no input here yields NaN: it is an unwritten value */
            err = INFINITY;
        else if (kind == ULP)
            err = (double)llabs(ordered(g[i]) - ordered(c[i]));
        else
            err = fabs((double)g[i] - c[i]) / (fabs((double)c[i]) + rms + 1e-30);
        if (tol >= 0 && err > tol)
            bad++;
        if (err > worst) {
            worst = err;
            worst_i = i;
        }
    }
    char tol_s[16] = "-";
    if (tol >= 0)
        snprintf(tol_s, sizeof tol_s, "%.3g", tol);
    printf("  %-34s max %s %-9.3g tol %-7s (%s)\n", what, kind == ULP ? "ulp" : "err", worst, tol_s, why);
    CHECK(bad == 0, "%s: %ld of %ld values out of tolerance; worst [%ld]: gpu %.9g cpu %.9g%s", what, bad, n,
          worst_i, g[worst_i], c[worst_i],
          kind == ULP ? " (if only last bits differ: are the CUDA sources built with -fmad=false?)" : "");
    free(c);
    free(g);
}

/* Checks that b's GPU contents still equal `before` (taken with buf_get); frees it. */
static void same_bits(const char *what, buf b, void *before)
{
    void *now = buf_get(b, 1);
    CHECK(!memcmp(before, now, b.bytes), "%s: the GPU contents changed", what);
    free(before);
    free(now);
}

static void scalars_get(buf ts, train_scalars *c, train_scalars *g)
{
    C->ops->download(C, c, ts.c, sizeof *c);
    G->ops->download(G, g, ts.g, sizeof *g);
}

#endif
