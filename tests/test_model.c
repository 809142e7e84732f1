/* test_model.c: the ResNet parameter table (counts, names, offsets, init) and a whole-network finite-difference gradient check on the CPU backend. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/backend.h"
#include "model/model.h"
#include "testlib.h"

/*
 * The gradient check: depth 8 (one block per stage, so both option-A shortcuts), batch 2,
 * 10 classes, BN in training mode with non-trivial gamma and beta. Loss L = mean
 * cross-entropy, computed here in double from the fp32 logits. Checked against central
 * differences: the input image, the conv weights of the stem and of each stage, all BN
 * gammas, all BN betas, the linear weight and its bias.
 *
 * (1) Per group, the directional derivative along d = unit(unit(g) + unit(random)):
 *     (L(p + H d) - L(p - H d)) against <g, (p+Hd) - (p-Hd)> (the perturbation as stored
 *     in fp32, so rounding p +- H d is no error), divided by 2H |g_group|. d leans on g so
 *     the derivative is about 0.7 |g| rather than the |g|/sqrt(size) of a random
 *     direction, which in a 55k-coordinate group drowns in fp32 noise; the random half
 *     still sees errors orthogonal to g.
 *     H = 2e-3 (along a unit vector): fp32 noise in L is ~1e-7..1e-6, i.e. ~1e-4 of
 *     2H|g|; curvature and ReLUs whose input crosses zero within +-H add an error that
 *     grows linearly with H (measured: 1e-2 at H = 1e-1, 1e-3 at H = 1e-2).
 *     Measured worst over 12 seeds (GC_SEEDS=12): 2.4e-3. TOL_DIR = 5e-3.
 *     It can fail: the same comparison runs on the gradient scaled by 0.97 (a 3% error,
 *     less than a missing n/(n-1) at small m or a lost 1/n; gives ~2e-2), on conv
 *     weight gradients with every 3x3 kernel flipped (convolution instead of
 *     correlation in backward-filter; gives 0.3..10) and on the input gradient shifted
 *     by one pixel (gives 1..4); each must be REJECTED.
 * (2) Single coordinates, the 4 largest |g| of each group and 2 random ones, step
 *     HC = 1e-3, error |num - g_i| / max(|g_i|, 0.2 max|g|). A lone fp32 coordinate is
 *     far noisier than a direction (ReLU crossings of a whole output channel; at the
 *     largest coordinates measured worst 9.7e-2 over 12 seeds), so TOL_COORD = 0.15:
 *     this part catches gross index errors (a gradient landing on the wrong weight is
 *     off by O(1)), the directional part catches the small ones.
 */
#define H 2e-3
#define HC 1e-3
#define TOL_DIR 5e-3
#define TOL_COORD 0.15

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double urand(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

static double nrand(void)
{
    double u1 = 1.0 - urand(), u2 = urand();
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- the table alone ---- */

static void test_counts(void)
{
    CHECK(model_param_count(110, 10) == 1727962, "ResNet-110: %ld parameters", model_param_count(110, 10));
    CHECK(model_param_count(20, 10) == 269722, "ResNet-20: %ld parameters", model_param_count(20, 10));
    CHECK(model_param_count(32, 10) == 464154, "ResNet-32: %ld parameters", model_param_count(32, 10));
    CHECK(model_param_count(21, 10) == -1, "depth 21 must be refused");
    CHECK(model_param_count(2, 10) == -1, "depth 2 must be refused");
    /* 100 classes: only the classifier grows, by 90 * 65 parameters. */
    CHECK(model_param_count(20, 100) == 269722 + 90 * 65, "ResNet-20/100: %ld", model_param_count(20, 100));
}

static void test_table(int depth)
{
    char err[200];
    model_layout *L = model_layout_create(depth, 10, err, sizeof err);
    CHECK(L != NULL, "layout %d: %s", depth, err);
    if (!L)
        return;
    const int n = (depth - 2) / 6;
    CHECK(L->n_views == 3 * (1 + 6 * n) + 2, "depth %d: %d views", depth, L->n_views);
    CHECK(L->n_stat_views == 2 * (1 + 6 * n), "depth %d: %d stat views", depth, L->n_stat_views);
    for (int s = 0; s < 2; s++) {
        const param_view *tab = s ? L->stat_views : L->views;
        const int nv = s ? L->n_stat_views : L->n_views;
        long at = 0;
        for (int i = 0; i < nv; i++) {
            long c = 1;
            for (int k = 0; k < tab[i].rank; k++)
                c *= tab[i].shape[k];
            CHECK(tab[i].offset == at, "%s: offset %ld, expected %ld (contiguous)", tab[i].name, tab[i].offset, at);
            CHECK(tab[i].count == c, "%s: count %ld, shape says %ld", tab[i].name, tab[i].count, c);
            at += tab[i].count;
            for (int j = 0; j < i; j++)
                CHECK(strcmp(tab[i].name, tab[j].name) != 0, "duplicate name %s", tab[i].name);
            CHECK(model_layout_find(L, s, tab[i].name) == i, "find %s", tab[i].name);
        }
        CHECK(at == (s ? L->n_stats : L->n_params), "depth %d: views cover %ld of %ld", depth, at,
              s ? L->n_stats : L->n_params);
    }
    /* Names a checkpoint reader relies on. */
    const char *name = "stage2.block0.conv1.weight";
    const int v = model_layout_find(L, 0, name);
    CHECK(v >= 0 && L->views[v].shape[0] == 32 && L->views[v].shape[1] == 16 && L->views[v].shape[2] == 3,
          "%s: (32, 16, 3, 3) expected", name);
    CHECK(model_layout_find(L, 0, "stem.conv.weight") == 0, "stem.conv.weight comes first");
    CHECK(model_layout_find(L, 0, "fc.bias") == L->n_views - 1, "fc.bias comes last");
    CHECK(model_layout_find(L, 1, "stage3.block0.bn2.running_var") >= 0, "running_var name");
    model_layout_destroy(L);
}

/* The initial values: He normal std per layer, uniform linear, BN constants; seed-determined. */
static void test_init(void)
{
    char err[200];
    model_layout *L = model_layout_create(20, 10, err, sizeof err);
    float *p = malloc((size_t)L->n_params * sizeof *p), *q = malloc((size_t)L->n_params * sizeof *q);
    float *st = malloc((size_t)L->n_stats * sizeof *st);
    model_layout_init_values(L, 7, p, st);
    model_layout_init_values(L, 7, q, st);
    CHECK(memcmp(p, q, (size_t)L->n_params * sizeof *p) == 0, "same seed, same init");
    model_layout_init_values(L, 8, q, st);
    CHECK(memcmp(p, q, (size_t)L->n_params * sizeof *p) != 0, "another seed, another init");
    for (int i = 0; i < L->n_views; i++) {
        const param_view *v = &L->views[i];
        double s1 = 0, s2 = 0, mx = 0;
        for (long j = 0; j < v->count; j++) {
            const double x = p[v->offset + j];
            s1 += x, s2 += x * x;
            mx = fabs(x) > mx ? fabs(x) : mx;
        }
        const double mean = s1 / v->count, sd = sqrt(s2 / v->count - mean * mean);
        if (v->kind == VIEW_CONV_WEIGHT) {
            const double want = sqrt(2.0 / v->fan_in);
            /* 432 .. 36864 samples: the sample sd is within ~5/sqrt(2N) of the truth. */
            CHECK(fabs(sd / want - 1.0) < 5.0 / sqrt(2.0 * v->count), "%s: sd %g, He std %g", v->name, sd, want);
            CHECK(fabs(mean) < 5.0 * want / sqrt((double)v->count), "%s: mean %g", v->name, mean);
        } else if (v->kind == VIEW_FC_WEIGHT || v->kind == VIEW_FC_BIAS) {
            CHECK(mx <= 0.125 && mx > 0.08, "%s: max |w| %g, bound 1/8", v->name, mx);
        } else if (v->kind == VIEW_BN_GAMMA) {
            CHECK(mean == 1.0 && sd == 0.0, "%s: gamma must start at 1", v->name);
        } else {
            CHECK(mean == 0.0 && sd == 0.0, "%s: beta must start at 0", v->name);
        }
    }
    for (int i = 0; i < L->n_stat_views; i++) {
        const param_view *v = &L->stat_views[i];
        const float want = v->kind == VIEW_BN_RUNNING_VAR ? 1.0f : 0.0f;
        for (long j = 0; j < v->count; j++)
            if (st[v->offset + j] != want) {
                CHECK(0, "%s[%ld] = %g", v->name, j, st[v->offset + j]);
                break;
            }
    }
    free(p), free(q), free(st);
    model_layout_destroy(L);
}

/* ---- whole-network gradient check ---- */

typedef struct gcheck {
    backend *be;
    model *m;
    int batch, k;
    float *x;      /* host copy of the input */
    float *w;      /* host copy of the parameters */
    int32_t y[8];
    train_scalars *d_ts;
} gcheck;

/* Mean cross-entropy in double from the fp32 logits of a training-mode forward pass. */
static double loss_at(gcheck *c)
{
    backend *be = c->be;
    model *m = c->m;
    be->ops->upload(be, m->x, c->x, (size_t)c->batch * 3072 * sizeof(float));
    be->ops->upload(be, m->w, c->w, (size_t)m->L->n_params * sizeof(float));
    model_forward(m, 1);
    float z[8 * 10];
    be->ops->download(be, z, m->logits, (size_t)c->batch * c->k * sizeof(float));
    double sum = 0;
    for (int i = 0; i < c->batch; i++) {
        double mx = z[i * c->k];
        for (int j = 1; j < c->k; j++)
            mx = z[i * c->k + j] > mx ? z[i * c->k + j] : mx;
        double se = 0;
        for (int j = 0; j < c->k; j++)
            se += exp(z[i * c->k + j] - mx);
        sum += log(se) + mx - z[i * c->k + c->y[i]];
    }
    return sum / c->batch;
}

/* A group of coordinates: either the input (x) or a list of parameter views. */
typedef struct group {
    const char *name;
    int is_input;
    int kinds;        /* bit mask of 1 << VIEW_* for parameter groups */
    int stage;        /* conv weights: 0 stem, 1..3 stage; -1 any */
} group;

static int in_group(const model_layout *L, const group *gr, const param_view *v)
{
    if (!(gr->kinds & (1 << v->kind)))
        return 0;
    if (gr->stage < 0)
        return 1;
    if (gr->stage == 0)
        return strncmp(v->name, "stem.", 5) == 0;
    char pre[32];
    snprintf(pre, sizeof pre, "stage%d.", gr->stage);
    (void)L;
    return strncmp(v->name, pre, strlen(pre)) == 0;
}

/* Variants of the analytic gradient that a correct check must reject. */
enum { G_TRUE = 0, G_SCALED, G_FLIPPED, G_SHIFTED };

/* The analytic gradient of index i in variant `how`. */
static double grad_variant(const float *g, long i, long base, int how, int is_conv, int is_input)
{
    if (how == G_SCALED)
        return 0.97 * g[i];
    if (how == G_FLIPPED && is_conv) {
        const long j = i - base, kk = j % 9; /* flip the 3x3 kernel: (r, s) -> (2-r, 2-s) */
        return g[base + j - kk + (8 - kk)];
    }
    if (how == G_SHIFTED && is_input) {
        const long px = i % 32;
        return px < 31 ? g[i + 1] : 0.0; /* off by one pixel */
    }
    return g[i];
}

/* Runs one group's checks; returns the directional relative error of the true gradient. */
static double check_group(gcheck *c, const group *gr, const float *g_params, const float *g_input,
                          double *worst_coord)
{
    model *m = c->m;
    const model_layout *L = m->L;
    /* The coordinates of the group, as (buffer, index, view base, is_conv). */
    long n_idx = 0, cap = gr->is_input ? (long)c->batch * 3072 : L->n_params;
    long *idx = malloc((size_t)cap * sizeof *idx), *base = malloc((size_t)cap * sizeof *base);
    if (gr->is_input) {
        for (long i = 0; i < cap; i++)
            idx[n_idx] = i, base[n_idx++] = 0;
    } else {
        for (int v = 0; v < L->n_views; v++)
            if (in_group(L, gr, &L->views[v]))
                for (long j = 0; j < L->views[v].count; j++)
                    idx[n_idx] = L->views[v].offset + j, base[n_idx++] = L->views[v].offset;
    }
    float *buf = gr->is_input ? c->x : c->w;
    const float *g = gr->is_input ? g_input : g_params;
    const int is_conv = !gr->is_input && gr->kinds == (1 << VIEW_CONV_WEIGHT);

    /* (1) directional derivative along a random unit direction */
    double *d = malloc((size_t)n_idx * sizeof *d), norm = 0;
    float *saved = malloc((size_t)n_idx * sizeof *saved), *plus = malloc((size_t)n_idx * sizeof *plus);
    double gn = 0, rn = 0;
    for (long i = 0; i < n_idx; i++)
        d[i] = nrand(), rn += d[i] * d[i], gn += (double)g[idx[i]] * g[idx[i]];
    rn = sqrt(rn), gn = sqrt(gn);
    for (long i = 0; i < n_idx; i++)
        d[i] = d[i] / rn + g[idx[i]] / gn, norm += d[i] * d[i];
    norm = sqrt(norm);
    for (long i = 0; i < n_idx; i++) {
        d[i] /= norm;
        saved[i] = buf[idx[i]];
        buf[idx[i]] = (float)(saved[i] + H * d[i]);
        plus[i] = buf[idx[i]];
    }
    const double lp = loss_at(c);
    for (long i = 0; i < n_idx; i++)
        buf[idx[i]] = (float)(saved[i] - H * d[i]);
    const double lm = loss_at(c);
    double an[4] = {0, 0, 0, 0};
    for (long i = 0; i < n_idx; i++) {
        const double step = (double)plus[i] - (double)buf[idx[i]]; /* stored in fp32 */
        for (int how = 0; how < 4; how++)
            an[how] += grad_variant(g, idx[i], base[i], how, is_conv, gr->is_input) * step;
        buf[idx[i]] = saved[i];
    }
    const double fd = lp - lm;
    double rel[4];
    for (int how = 0; how < 4; how++)
        rel[how] = fabs(an[how] - fd) / (2 * H * gn);
    printf("  %-20s %6ld coords  analytic %+.6e  numeric %+.6e  err %.2e   wrong gradients: x0.97 %.2e",
           gr->name, n_idx, an[0] / (2 * H), fd / (2 * H), rel[0], rel[G_SCALED]);
    if (is_conv)
        printf(", flipped kernel %.2e", rel[G_FLIPPED]);
    if (gr->is_input)
        printf(", shifted pixel %.2e", rel[G_SHIFTED]);
    printf("\n");
    CHECK(rel[0] <= TOL_DIR, "%s: directional derivative off by %.2e relative (analytic %g, numeric %g)",
          gr->name, rel[0], an[0], fd);
    CHECK(rel[G_SCALED] > TOL_DIR, "%s: a 3%% wrong gradient passed (%.2e)", gr->name, rel[G_SCALED]);
    if (is_conv)
        CHECK(rel[G_FLIPPED] > TOL_DIR, "%s: a flipped-kernel gradient passed (%.2e)", gr->name, rel[G_FLIPPED]);
    if (gr->is_input)
        CHECK(rel[G_SHIFTED] > TOL_DIR, "%s: a shifted gradient passed (%.2e)", gr->name, rel[G_SHIFTED]);

    /* (2) single coordinates: the 4 largest |g| and 2 random */
    double gmax = 0;
    for (long i = 0; i < n_idx; i++)
        gmax = fmax(gmax, fabs((double)g[idx[i]]));
    long pick[6];
    int n_pick = 0;
    for (int t = 0; t < 4 && t < n_idx; t++) {
        long best = -1;
        for (long i = 0; i < n_idx; i++) {
            int used = 0;
            for (int q = 0; q < n_pick; q++)
                used |= pick[q] == i;
            if (!used && (best < 0 || fabs(g[idx[i]]) > fabs(g[idx[best]])))
                best = i;
        }
        pick[n_pick++] = best;
    }
    for (int t = 0; t < 2; t++)
        pick[n_pick++] = (long)(urand() * n_idx);
    for (int t = 0; t < n_pick; t++) {
        const long i = idx[pick[t]];
        const float s0 = buf[i];
        const double hc = HC;
        buf[i] = (float)(s0 + hc);
        const float p1 = buf[i];
        const double a = loss_at(c);
        buf[i] = (float)(s0 - hc);
        const float p2 = buf[i];
        const double b = loss_at(c);
        buf[i] = s0;
        const double num = (a - b) / ((double)p1 - (double)p2);
        const double e = fabs(num - g[i]) / fmax(fabs((double)g[i]), 0.2 * gmax);
        *worst_coord = fmax(*worst_coord, e);
        CHECK(e <= TOL_COORD, "%s[%ld]: analytic %g, numeric %g (rel err %.2e)", gr->name, i, g[i], num, e);
    }
    free(idx), free(base), free(d), free(saved), free(plus);
    return rel[0];
}

static void test_gradcheck(uint64_t seed)
{
    char err[200];
    gcheck c = {0};
    c.be = backend_cpu_create(0, NULL, 0);
    c.batch = 2;
    c.k = 10;
    c.m = model_create(c.be, 8, 10, c.batch, seed, err, sizeof err);
    CHECK(c.m != NULL, "model: %s", err);
    if (!c.m)
        return;
    model *m = c.m;
    const long np = m->L->n_params;
    c.x = malloc((size_t)c.batch * 3072 * sizeof(float));
    c.w = malloc((size_t)np * sizeof(float));
    for (long i = 0; i < (long)c.batch * 3072; i++)
        c.x[i] = (float)nrand();
    c.be->ops->download(c.be, c.w, m->w, (size_t)np * sizeof(float));
    /* Non-trivial BN parameters, so gamma != 1 and beta != 0 paths are exercised. */
    for (int v = 0; v < m->L->n_views; v++) {
        const param_view *pv = &m->L->views[v];
        for (long j = 0; j < pv->count; j++) {
            if (pv->kind == VIEW_BN_GAMMA)
                c.w[pv->offset + j] = (float)(1.0 + 0.3 * nrand());
            else if (pv->kind == VIEW_BN_BETA)
                c.w[pv->offset + j] = (float)(0.2 * nrand());
        }
    }
    c.y[0] = 3;
    c.y[1] = 7;
    c.be->ops->upload(c.be, m->y, c.y, sizeof(int32_t) * 2);
    c.d_ts = c.be->ops->alloc(c.be, sizeof(train_scalars), "ts");

    /* Analytic gradients at the base point. */
    const double l0 = loss_at(&c);
    c.be->ops->softmax_xent(c.be, c.batch, c.k, m->logits, m->y, m->dlogits, c.d_ts);
    model_backward(m, 1);
    float *g = malloc((size_t)np * sizeof(float)), *gx = malloc((size_t)c.batch * 3072 * sizeof(float));
    c.be->ops->download(c.be, g, m->g, (size_t)np * sizeof(float));
    c.be->ops->download(c.be, gx, m->dx, (size_t)c.batch * 3072 * sizeof(float));
    train_scalars ts;
    c.be->ops->download(c.be, &ts, c.d_ts, sizeof ts);
    CHECK_CLOSE(ts.loss, l0, 1e-5, "softmax_xent loss vs the double recomputation");
    printf("seed %llu: loss %.6f\n", (unsigned long long)seed, l0);

    const group groups[] = {
        {"input image", 1, 0, -1},
        {"stem conv weight", 0, 1 << VIEW_CONV_WEIGHT, 0},
        {"stage1 conv weights", 0, 1 << VIEW_CONV_WEIGHT, 1},
        {"stage2 conv weights", 0, 1 << VIEW_CONV_WEIGHT, 2},
        {"stage3 conv weights", 0, 1 << VIEW_CONV_WEIGHT, 3},
        {"BN gammas", 0, 1 << VIEW_BN_GAMMA, -1},
        {"BN betas", 0, 1 << VIEW_BN_BETA, -1},
        {"fc weight", 0, 1 << VIEW_FC_WEIGHT, -1},
        {"fc bias", 0, 1 << VIEW_FC_BIAS, -1},
    };
    double worst_dir = 0, worst_coord = 0;
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        worst_dir = fmax(worst_dir, check_group(&c, &groups[i], g, gx, &worst_coord));
    printf("seed %llu: worst directional rel err %.2e (tol %.0e), worst coordinate rel err %.2e (tol %.2g)\n",
           (unsigned long long)seed, worst_dir, TOL_DIR, worst_coord, TOL_COORD);
    free(g), free(gx), free(c.x), free(c.w);
    c.be->ops->free(c.be, c.d_ts);
    model_destroy(m);
    c.be->ops->destroy(c.be);
}

int main(void)
{
    test_counts();
    test_table(8);
    test_table(20);
    test_table(110);
    test_init();
    /* GC_SEEDS=N runs N seeds, to re-measure the tolerances. */
    int n_seeds = getenv("GC_SEEDS") ? atoi(getenv("GC_SEEDS")) : 2;
    for (int sd = 1; sd <= n_seeds; sd++)
        test_gradcheck((uint64_t)sd);
    return test_summary("test_model");
}
