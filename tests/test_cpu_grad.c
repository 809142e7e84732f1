/* test_cpu_grad.c: finite-difference checks of every CPU backward op (conv, BN, ReLU, shortcut, pool, linear, softmax) in fp32. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/backend.h"
#include "testlib.h"

/*
 * Method: for an op with output y = f(x) and a fixed random projection r, the scalar
 * L(x) = sum r*y is computed in double over the fp32 outputs, and the backward op fed
 * dy = r must return dL/dx. Compared: (1) the directional derivative along a random d,
 * as the central difference L(x+eps d) - L(x-eps d) against <g, (x+eps d) - (x-eps d)>
 * (the perturbation actually stored in fp32, so rounding of x +- eps d is no error);
 * (2) single coordinates, always the first and the last (where index bugs collect) and
 * random others.
 *
 * EPS = 1e-2 on inputs of size O(1): conv, linear, pool and shortcut are linear, so
 * the central difference is exact but for rounding; BN and softmax have third
 * derivatives of O(1) there, giving a truncation error of O(eps^2) = 1e-4 relative
 * (at 5e-2 the truncation of BN over m = 16 values already exceeds TOL, measured).
 * Rounding: each fp32 output carries about 1e-7 relative error, so L, a sum of a few
 * hundred of them, is noisy by about 1e-6 absolute, against L+ - L- = 2*eps*|grad| of
 * 1e-3..1. The worst case is BN and softmax, where moving one input moves every output
 * of its channel or sample: measured worst 7e-4 on their smallest coordinates, 2e-4 or
 * less elsewhere (conv, linear, pool: 1e-5 typical).
 *
 * TOL = 2e-3 relative: three times the worst noise measured, while a wrong index, a
 * transposed weight, a missing term or a factor off by n/(n-1) changes the gradient by
 * O(1e-2..1) relative. Each check also proves it: the same comparison is run on the
 * gradient with one element changed by one typical gradient magnitude (rejected at
 * 3e-2 or more, measured), and on the gradient shifted by one index (rejected at 1 or
 * more), and both must be REJECTED.
 *
 * Coordinate errors are relative to max(|numeric|, 0.1 * rms(grad)): some coordinates
 * are legitimately zero (ReLU-masked, odd pixels under the shortcut), where a purely
 * relative error is undefined; the floor still sees any error of a tenth of a typical
 * entry, far above the noise.
 */
#define EPS 1e-2
#define TOL 2e-3
#define N_COORDS 8

static backend *B;
static uint64_t rng = 0x1234567887654321ull;

static double urand(void) /* [0, 1), splitmix64 */
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* Random sign, magnitude in [lo, hi]: never zero, and for ReLU inputs away from the kink. */
static void fill(float *x, long n, double lo, double hi)
{
    for (long i = 0; i < n; i++) {
        const double m = lo + (hi - lo) * urand();
        x[i] = (float)(urand() < 0.5 ? -m : m);
    }
}

static float *fnew(long n)
{
    float *p = calloc((size_t)n, sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static float *frand(long n, double lo, double hi)
{
    float *p = fnew(n);
    fill(p, n, lo, hi);
    return p;
}

static double dot_r(const float *r, const float *y, long n)
{
    double s = 0.0;
    for (long i = 0; i < n; i++)
        s += (double)r[i] * y[i];
    return s;
}

typedef double (*loss_fn)(void *ctx);

static double rms(const float *g, long n)
{
    double s = 0.0;
    for (long i = 0; i < n; i++)
        s += (double)g[i] * g[i];
    return sqrt(s / (double)(n > 0 ? n : 1));
}

/* Worst relative error of gradient g of L with respect to x (x is restored on return).
   The directions and coordinates depend only on `seed`, so a corrupted gradient is judged
   on exactly the comparisons the true one passed. */
static double fd_worst(float *x, long n, const float *g, loss_fn L, void *ctx, uint64_t seed)
{
    const uint64_t saved = rng;
    rng = seed;
    float *x0 = fnew(n), *xp = fnew(n), *xm = fnew(n);
    memcpy(x0, x, sizeof(float) * (size_t)n);
    /* Direction entries of magnitude 0.5..1: every coordinate weighs in, none vanishes. */
    for (long i = 0; i < n; i++) {
        const double d = (0.5 + 0.5 * urand()) * (urand() < 0.5 ? -1.0 : 1.0);
        xp[i] = (float)(x0[i] + EPS * d);
        xm[i] = (float)(x0[i] - EPS * d);
    }
    memcpy(x, xp, sizeof(float) * (size_t)n);
    const double lp = L(ctx);
    memcpy(x, xm, sizeof(float) * (size_t)n);
    const double lm = L(ctx);
    memcpy(x, x0, sizeof(float) * (size_t)n);
    double analytic = 0.0;
    for (long i = 0; i < n; i++)
        analytic += (double)g[i] * ((double)xp[i] - (double)xm[i]);
    const double numeric = lp - lm;
    double worst = fabs(analytic - numeric) / fmax(fabs(numeric), 1e-30);

    const double floor = 0.1 * rms(g, n);
    const int nc = n <= N_COORDS ? (int)n : N_COORDS;
    for (int c = 0; c < nc; c++) {
        long j = n <= N_COORDS ? c : c == 0 ? 0 : c == 1 ? n - 1 : (long)(urand() * (double)n);
        const float orig = x[j];
        const float hi = (float)(orig + EPS), lo = (float)(orig - EPS);
        x[j] = hi;
        const double a = L(ctx);
        x[j] = lo;
        const double bb = L(ctx);
        x[j] = orig;
        const double num = (a - bb) / ((double)hi - (double)lo);
        const double err = fabs((double)g[j] - num) / fmax(fmax(fabs(num), floor), 1e-30);
        if (err > worst)
            worst = err;
    }
    free(x0);
    free(xp);
    free(xm);
    rng = saved;
    return worst;
}

static double overall_worst = 0.0;

/* Checks g, then proves the comparison rejects a one-element change and a shift by one. */
static void grad_check(const char *what, float *x, long n, const float *g, loss_fn L, void *ctx)
{
    const uint64_t seed = rng ^ 0xA5A5A5A5ull;
    const double worst = fd_worst(x, n, g, L, ctx, seed);
    CHECK(worst <= TOL, "%s: worst relative error %.3g above tolerance %g", what, worst, TOL);
    if (worst > overall_worst)
        overall_worst = worst;

    float *bad = fnew(n);
    const double typical = rms(g, n);
    memcpy(bad, g, sizeof(float) * (size_t)n);
    const long j = (long)(urand() * (double)n);
    bad[j] += (float)typical;
    const double w1 = fd_worst(x, n, bad, L, ctx, seed);
    CHECK(w1 > TOL, "%s: one element changed by rms(g) passed (worst %.3g)", what, w1);
    if (n > 1) {
        for (long i = 0; i < n; i++)
            bad[i] = g[(i + 1) % n];
        const double w2 = fd_worst(x, n, bad, L, ctx, seed);
        CHECK(w2 > TOL, "%s: gradient shifted by one index passed (worst %.3g)", what, w2);
        printf("  %-28s worst rel err %.2e (tol %.0e); corrupted: one element %.2e, shifted %.2e\n",
               what, worst, TOL, w1, w2);
    } else {
        printf("  %-28s worst rel err %.2e (tol %.0e); corrupted: one element %.2e\n", what, worst,
               TOL, w1);
    }
    free(bad);
}

/* A gradient buffer full of garbage: a backward op that accumulated instead of
   overwriting would fail its check. */
static float *fgarbage(long n)
{
    float *p = fnew(n);
    for (long i = 0; i < n; i++)
        p[i] = 1000.0f + (float)i;
    return p;
}

/* ---- convolution ---- */
typedef struct conv_ctx {
    conv_shape s;
    float *x, *w, *r, *y;
} conv_ctx;

static double conv_loss(void *p)
{
    conv_ctx *c = p;
    B->ops->conv_fwd(B, &c->s, c->x, c->w, c->y);
    return dot_r(c->r, c->y, (long)c->s.n * c->s.k * c->s.oh * c->s.ow);
}

static void check_conv(int n, int ch, int h, int k, int r, int stride, int pad)
{
    conv_ctx c;
    c.s = conv_shape_make(n, ch, h, h, k, r, stride, pad);
    const long nx = (long)n * ch * h * h, nw = (long)k * ch * r * r;
    const long ny = (long)n * k * c.s.oh * c.s.ow;
    c.x = frand(nx, 0.1, 1.0);
    c.w = frand(nw, 0.1, 1.0);
    c.r = frand(ny, 0.1, 1.0);
    c.y = fnew(ny);
    float *dx = fgarbage(nx), *dw = fgarbage(nw);
    B->ops->conv_prepare(B, &c.s);
    B->ops->conv_bwd_data(B, &c.s, c.r, c.w, dx);
    B->ops->conv_bwd_filter(B, &c.s, c.x, c.r, dw);
    char name[96];
    snprintf(name, sizeof name, "conv c%d k%d %dx%d r%d s%d p%d dx", ch, k, h, h, r, stride, pad);
    grad_check(name, c.x, nx, dx, conv_loss, &c);
    snprintf(name, sizeof name, "conv c%d k%d %dx%d r%d s%d p%d dw", ch, k, h, h, r, stride, pad);
    grad_check(name, c.w, nw, dw, conv_loss, &c);
    free(c.x), free(c.w), free(c.r), free(c.y), free(dx), free(dw);
}

/* ---- batch norm (training mode) ---- */
typedef struct bn_ctx {
    int n, c, hw;
    float *x, *gamma, *beta, *r, *y, *rm, *rv, *sm, *sis;
} bn_ctx;

static double bn_loss(void *p)
{
    bn_ctx *b = p;
    B->ops->bn_train_fwd(B, b->n, b->c, b->hw, b->x, b->gamma, b->beta, b->rm, b->rv, b->sm, b->sis, b->y);
    return dot_r(b->r, b->y, (long)b->n * b->c * b->hw);
}

static void check_bn(int n, int c, int hw)
{
    bn_ctx b = {n, c, hw, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    const long nx = (long)n * c * hw;
    b.x = frand(nx, 0.1, 2.0);
    /* A per-channel offset, so the mean subtraction matters. */
    for (long i = 0; i < nx; i++)
        b.x[i] += 0.5f * (float)((i / hw) % c);
    b.gamma = frand(c, 0.5, 1.5);
    b.beta = frand(c, 0.1, 1.0);
    b.r = frand(nx, 0.1, 1.0);
    b.y = fnew(nx);
    b.rm = fnew(c), b.rv = fnew(c), b.sm = fnew(c), b.sis = fnew(c);
    bn_loss(&b); /* fills save_mean / save_inv_std at the unperturbed point */
    float *dx = fgarbage(nx), *dg = fgarbage(c), *db = fgarbage(c);
    B->ops->bn_bwd(B, n, c, hw, b.x, b.r, b.gamma, b.sm, b.sis, dx, dg, db);
    char name[64];
    snprintf(name, sizeof name, "bn n%d c%d hw%d dx", n, c, hw);
    grad_check(name, b.x, nx, dx, bn_loss, &b);
    snprintf(name, sizeof name, "bn n%d c%d hw%d dgamma", n, c, hw);
    grad_check(name, b.gamma, c, dg, bn_loss, &b);
    snprintf(name, sizeof name, "bn n%d c%d hw%d dbeta", n, c, hw);
    grad_check(name, b.beta, c, db, bn_loss, &b);
    free(b.x), free(b.gamma), free(b.beta), free(b.r), free(b.y);
    free(b.rm), free(b.rv), free(b.sm), free(b.sis), free(dx), free(dg), free(db);
}

/* ---- ReLU and add+ReLU ---- */
typedef struct relu_ctx {
    long n;
    float *a, *c, *r, *y;
} relu_ctx;

static double relu_loss(void *p)
{
    relu_ctx *c = p;
    B->ops->relu_fwd(B, c->n, c->a, c->y);
    return dot_r(c->r, c->y, c->n);
}

static double add_relu_loss(void *p)
{
    relu_ctx *c = p;
    B->ops->add_relu_fwd(B, c->n, c->a, c->c, c->y);
    return dot_r(c->r, c->y, c->n);
}

static void check_relu(void)
{
    const long n = 200;
    /* |x| >= 0.1 > EPS: no difference straddles the kink at 0. */
    relu_ctx c = {n, frand(n, 0.1, 1.0), fnew(n), frand(n, 0.1, 1.0), fnew(n)};
    float *dx = fgarbage(n);
    relu_loss(&c);
    B->ops->relu_bwd(B, n, c.y, c.r, dx);
    grad_check("relu dx", c.a, n, dx, relu_loss, &c);

    /* add+ReLU: c = s - a with |s| >= 0.1, so a + c stays clear of the kink under
       perturbations of either input (2*EPS < 0.1 at worst when both move). */
    float *s = frand(n, 0.1, 1.0);
    for (long i = 0; i < n; i++)
        c.c[i] = s[i] - c.a[i];
    add_relu_loss(&c);
    B->ops->relu_bwd(B, n, c.y, c.r, dx);
    grad_check("add_relu da", c.a, n, dx, add_relu_loss, &c);
    grad_check("add_relu dc", c.c, n, dx, add_relu_loss, &c);
    free(c.a), free(c.c), free(c.r), free(c.y), free(dx), free(s);
}

/* ---- option-A shortcut ---- */
typedef struct sc_ctx {
    int n, ci, h, co;
    float *x, *r, *y;
} sc_ctx;

static double sc_loss(void *p)
{
    sc_ctx *c = p;
    B->ops->shortcut_fwd(B, c->n, c->ci, c->h, c->h, c->co, c->x, c->y);
    return dot_r(c->r, c->y, (long)c->n * c->co * (c->h / 2) * (c->h / 2));
}

static void check_shortcut(int n, int ci, int h, int co)
{
    const long nx = (long)n * ci * h * h, ny = (long)n * co * (h / 2) * (h / 2);
    sc_ctx c = {n, ci, h, co, frand(nx, 0.1, 1.0), frand(ny, 0.1, 1.0), fnew(ny)};
    float *dx = fnew(nx); /* the op accumulates: start from zero */
    B->ops->shortcut_bwd_acc(B, n, ci, h, h, co, c.r, dx);
    char name[64];
    snprintf(name, sizeof name, "shortcut %d->%d %dx%d dx", ci, co, h, h);
    grad_check(name, c.x, nx, dx, sc_loss, &c);
    free(c.x), free(c.r), free(c.y), free(dx);
}

/* ---- global average pool ---- */
typedef struct pool_ctx {
    int n, c, hw;
    float *x, *r, *y;
} pool_ctx;

static double pool_loss(void *p)
{
    pool_ctx *c = p;
    B->ops->avgpool_fwd(B, c->n, c->c, c->hw, c->x, c->y);
    return dot_r(c->r, c->y, (long)c->n * c->c);
}

static void check_avgpool(int n, int ch, int hw)
{
    const long nx = (long)n * ch * hw;
    pool_ctx c = {n, ch, hw, frand(nx, 0.1, 1.0), frand((long)n * ch, 0.1, 1.0), fnew((long)n * ch)};
    float *dx = fgarbage(nx);
    B->ops->avgpool_bwd(B, n, ch, hw, c.r, dx);
    grad_check("avgpool dx", c.x, nx, dx, pool_loss, &c);
    free(c.x), free(c.r), free(c.y), free(dx);
}

/* ---- linear ---- */
typedef struct lin_ctx {
    int n, in, out;
    float *x, *w, *b, *r, *y;
} lin_ctx;

static double lin_loss(void *p)
{
    lin_ctx *c = p;
    B->ops->linear_fwd(B, c->n, c->in, c->out, c->x, c->w, c->b, c->y);
    return dot_r(c->r, c->y, (long)c->n * c->out);
}

static void check_linear(int n, int in, int out)
{
    lin_ctx c = {n, in, out, frand((long)n * in, 0.1, 1.0), frand((long)out * in, 0.1, 1.0),
                 frand(out, 0.1, 1.0), frand((long)n * out, 0.1, 1.0), fnew((long)n * out)};
    float *dx = fgarbage((long)n * in), *dw = fgarbage((long)out * in), *db = fgarbage(out);
    B->ops->linear_bwd(B, n, in, out, c.x, c.w, c.r, dx, dw, db);
    grad_check("linear dx", c.x, (long)n * in, dx, lin_loss, &c);
    grad_check("linear dw", c.w, (long)out * in, dw, lin_loss, &c);
    grad_check("linear db", c.b, out, db, lin_loss, &c);
    free(c.x), free(c.w), free(c.b), free(c.r), free(c.y), free(dx), free(dw), free(db);
}

/* ---- softmax cross-entropy: L is the batch mean loss itself ---- */
typedef struct xent_ctx {
    int n, k;
    float *z;
    int32_t *labels;
} xent_ctx;

static double xent_loss(void *p)
{
    xent_ctx *c = p;
    train_scalars ts;
    memset(&ts, 0, sizeof ts);
    B->ops->softmax_xent(B, c->n, c->k, c->z, c->labels, NULL, &ts);
    return ts.loss;
}

static void check_xent(int n, int k)
{
    xent_ctx c = {n, k, frand((long)n * k, 0.1, 2.0), malloc(sizeof(int32_t) * (size_t)n)};
    for (int i = 0; i < n; i++)
        c.labels[i] = (int32_t)(urand() * k);
    float *dz = fgarbage((long)n * k);
    train_scalars ts;
    memset(&ts, 0, sizeof ts);
    B->ops->softmax_xent(B, n, k, c.z, c.labels, dz, &ts);
    grad_check("softmax_xent dlogits", c.z, (long)n * k, dz, xent_loss, &c);
    free(c.z), free(c.labels), free(dz);
}

int main(void)
{
    B = backend_cpu_create(0, NULL, 0);
    if (!B)
        return 1;
    printf("finite-difference checks, eps %g, relative tolerance %g\n", EPS, TOL);
    check_conv(2, 3, 6, 5, 3, 1, 1);
    check_conv(2, 3, 6, 5, 3, 2, 1);
    check_conv(2, 3, 7, 5, 3, 2, 1); /* odd size: the last row/column of windows is clipped */
    check_conv(2, 4, 5, 3, 1, 1, 0); /* 1x1, no padding */
    check_bn(2, 3, 36);
    check_bn(4, 5, 4);
    check_relu();
    check_shortcut(2, 4, 6, 8);
    check_shortcut(2, 3, 4, 7); /* odd difference: 2 zero channels before, 2 after */
    check_avgpool(2, 3, 36);
    check_linear(3, 7, 5);
    check_xent(4, 10);
    printf("worst relative error over all checks: %.2e\n", overall_worst);
    B->ops->destroy(B);
    return test_summary("test_cpu_grad");
}
