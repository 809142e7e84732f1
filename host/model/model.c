/* model.c: the ResNet-(6n+2) parameter layout, its deterministic initialization, and model creation (all buffers allocated once). */
#include "model/model.h"
#include "model/model_act.h"
#include "batch.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int STAGE_CHANNELS[3] = {16, 32, 64};
static const int STAGE_SIZE[3] = {32, 16, 8};

static int add_view(param_view *tab, int *nv, long *total, int kind, int fan_in, int rank,
                    const int *shape, const char *fmt, ...)
{
    param_view *v = &tab[*nv];
    memset(v, 0, sizeof *v);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->name, sizeof v->name, fmt, ap);
    va_end(ap);
    v->kind = kind;
    v->rank = rank;
    v->count = 1;
    for (int i = 0; i < rank; i++) {
        v->shape[i] = shape[i];
        v->count *= shape[i];
    }
    v->offset = *total;
    v->fan_in = fan_in;
    *total += v->count;
    return (*nv)++;
}

/* Appends the views of one conv + BN named PREFIX.convS / PREFIX.bnS (S may be empty). */
static void add_unit(model_layout *L, conv_unit_desc *u, const char *prefix, const char *suffix,
                     int c_in, int c_out, int h_in, int stride)
{
    const int wshape[4] = {c_out, c_in, 3, 3}, cshape[1] = {c_out};
    u->c_in = c_in;
    u->c_out = c_out;
    u->h_in = h_in;
    u->stride = stride;
    u->w_view = add_view(L->views, &L->n_views, &L->n_params, VIEW_CONV_WEIGHT, c_in * 9, 4,
                         wshape, "%s.conv%s.weight", prefix, suffix);
    u->gamma_view = add_view(L->views, &L->n_views, &L->n_params, VIEW_BN_GAMMA, 0, 1, cshape,
                             "%s.bn%s.gamma", prefix, suffix);
    u->beta_view = add_view(L->views, &L->n_views, &L->n_params, VIEW_BN_BETA, 0, 1, cshape,
                            "%s.bn%s.beta", prefix, suffix);
    u->mean_view = add_view(L->stat_views, &L->n_stat_views, &L->n_stats, VIEW_BN_RUNNING_MEAN, 0,
                            1, cshape, "%s.bn%s.running_mean", prefix, suffix);
    u->var_view = add_view(L->stat_views, &L->n_stat_views, &L->n_stats, VIEW_BN_RUNNING_VAR, 0,
                           1, cshape, "%s.bn%s.running_var", prefix, suffix);
}

model_layout *model_layout_create(int depth, int num_classes, char *err, size_t err_size)
{
    if (depth < 8 || (depth - 2) % 6 != 0) {
        snprintf(err, err_size, "model.depth %d is not 6n+2 with n >= 1 (8, 14, 20, 32, 44, 56, 110, ...)", depth);
        return NULL;
    }
    if (num_classes < 2) {
        snprintf(err, err_size, "model.num_classes %d must be at least 2", num_classes);
        return NULL;
    }
    model_layout *L = calloc(1, sizeof *L);
    if (!L) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    L->depth = depth;
    L->n = (depth - 2) / 6;
    L->num_classes = num_classes;
    L->n_units = 1 + 6 * L->n;
    L->units = calloc((size_t)L->n_units, sizeof *L->units);
    L->views = calloc((size_t)(3 * L->n_units + 2), sizeof *L->views);
    L->stat_views = calloc((size_t)(2 * L->n_units), sizeof *L->stat_views);
    if (!L->units || !L->views || !L->stat_views) {
        model_layout_destroy(L);
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    add_unit(L, &L->units[0], "stem", "", 3, 16, 32, 1);
    int c_prev = 16;
    for (int st = 0; st < 3; st++) {
        for (int b = 0; b < L->n; b++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "stage%d.block%d", st + 1, b);
            const int first = b == 0 && st > 0;
            const int blk = st * L->n + b;
            add_unit(L, &L->units[1 + 2 * blk], prefix, "1", c_prev, STAGE_CHANNELS[st],
                     first ? STAGE_SIZE[st - 1] : STAGE_SIZE[st], first ? 2 : 1);
            add_unit(L, &L->units[2 + 2 * blk], prefix, "2", STAGE_CHANNELS[st], STAGE_CHANNELS[st],
                     STAGE_SIZE[st], 1);
            c_prev = STAGE_CHANNELS[st];
        }
    }
    const int fshape[2] = {num_classes, 64}, bshape[1] = {num_classes};
    L->fc_w_view = add_view(L->views, &L->n_views, &L->n_params, VIEW_FC_WEIGHT, 64, 2, fshape, "fc.weight");
    L->fc_b_view = add_view(L->views, &L->n_views, &L->n_params, VIEW_FC_BIAS, 64, 1, bshape, "fc.bias");
    return L;
}

void model_layout_destroy(model_layout *L)
{
    if (!L)
        return;
    free(L->units);
    free(L->views);
    free(L->stat_views);
    free(L);
}

int model_layout_find(const model_layout *L, int stats, const char *name)
{
    const param_view *tab = stats ? L->stat_views : L->views;
    const int nv = stats ? L->n_stat_views : L->n_views;
    for (int i = 0; i < nv; i++)
        if (!strcmp(tab[i].name, name))
            return i;
    return -1;
}

long model_param_count(int depth, int num_classes)
{
    char err[160];
    model_layout *L = model_layout_create(depth, num_classes, err, sizeof err);
    if (!L)
        return -1;
    const long n = L->n_params;
    model_layout_destroy(L);
    return n;
}

/* Standard normal from the two uniforms of flat index i (Box-Muller, cosine branch). */
static double init_normal(uint64_t seed, long i)
{
    /* 1 - u lies in (0, 1], so the logarithm is finite. */
    const double u1 = 1.0 - rng_uniform(rng_hash(seed, RNG_STREAM_INIT, 2 * (uint64_t)i));
    const double u2 = rng_uniform(rng_hash(seed, RNG_STREAM_INIT, 2 * (uint64_t)i + 1));
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

void model_layout_init_values(const model_layout *L, uint64_t seed, float *params, float *stats)
{
    for (int vi = 0; vi < L->n_views; vi++) {
        const param_view *v = &L->views[vi];
        float *p = params + v->offset;
        for (long j = 0; j < v->count; j++) {
            const long i = v->offset + j; /* the flat index keys the random stream */
            switch (v->kind) {
            case VIEW_CONV_WEIGHT:
                p[j] = (float)(sqrt(2.0 / v->fan_in) * init_normal(seed, i));
                break;
            case VIEW_FC_WEIGHT:
            case VIEW_FC_BIAS: {
                const double bound = 1.0 / sqrt((double)v->fan_in);
                const double u = rng_uniform(rng_hash(seed, RNG_STREAM_INIT, 2 * (uint64_t)i));
                p[j] = (float)(bound * (2.0 * u - 1.0));
                break;
            }
            case VIEW_BN_GAMMA:
                p[j] = 1.0f;
                break;
            default:
                p[j] = 0.0f;
                break;
            }
        }
    }
    for (int vi = 0; vi < L->n_stat_views; vi++) {
        const param_view *v = &L->stat_views[vi];
        const float val = v->kind == VIEW_BN_RUNNING_VAR ? 1.0f : 0.0f;
        for (long j = 0; j < v->count; j++)
            stats[v->offset + j] = val;
    }
}

/* ---- instance ---- */

static void *act_alloc(model *m, size_t bytes, const char *what)
{
    struct model_act *A = m->act;
    if (A->n_owned == A->cap_owned) {
        const int cap = A->cap_owned ? 2 * A->cap_owned : 64;
        void **o = realloc(A->owned, (size_t)cap * sizeof *o);
        if (!o)
            return NULL;
        A->owned = o;
        A->cap_owned = cap;
    }
    void *p = m->be->ops->alloc(m->be, bytes, what);
    if (p)
        A->owned[A->n_owned++] = p;
    return p;
}

static int same_shape(const conv_shape *a, const conv_shape *b)
{
    return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w && a->k == b->k &&
           a->r == b->r && a->stride == b->stride && a->pad == b->pad;
}

model *model_create(backend *be, int depth, int num_classes, int batch, uint64_t seed,
                    char *err, size_t err_size)
{
    if (batch < 1) {
        snprintf(err, err_size, "batch size %d must be at least 1", batch);
        return NULL;
    }
    model_layout *L = model_layout_create(depth, num_classes, err, err_size);
    if (!L)
        return NULL;
    model *m = calloc(1, sizeof *m);
    struct model_act *A = calloc(1, sizeof *A);
    if (!m || !A) {
        free(m);
        free(A);
        model_layout_destroy(L);
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    m->be = be;
    m->L = L;
    m->batch = batch;
    m->act = A;
    const int nb = 3 * L->n;
    A->u = calloc((size_t)L->n_units, sizeof *A->u);
    A->block_in = calloc((size_t)nb, sizeof *A->block_in);
    A->block_out = calloc((size_t)nb, sizeof *A->block_out);
    float *host_w = malloc((size_t)L->n_params * sizeof(float));
    float *host_s = malloc((size_t)L->n_stats * sizeof(float));
    int ok = A->u && A->block_in && A->block_out && host_w && host_s;

    const size_t fb = sizeof(float), img = (size_t)batch * 3 * 32 * 32;
    const size_t biggest = (size_t)batch * 16 * 32 * 32; /* stage 1 maps are the largest */
#define ALLOC(dst, bytes, what) \
    do { if (ok && !((dst) = act_alloc(m, (bytes), (what)))) ok = 0; } while (0)
    ALLOC(m->w, (size_t)L->n_params * fb, "parameters");
    ALLOC(m->g, (size_t)L->n_params * fb, "gradients");
    ALLOC(m->v, (size_t)L->n_params * fb, "momentum buffers");
    ALLOC(m->stats, (size_t)L->n_stats * fb, "BN running statistics");
    ALLOC(m->x, img * fb, "input batch");
    ALLOC(m->y, (size_t)batch * sizeof(int32_t), "labels");
    ALLOC(m->logits, (size_t)batch * num_classes * fb, "logits");
    ALLOC(m->dlogits, (size_t)batch * num_classes * fb, "logit gradients");
    ALLOC(m->dx, img * fb, "input gradient");
    ALLOC(A->bn2, biggest * fb, "BN scratch");
    ALLOC(A->sc, biggest * fb, "shortcut scratch");
    ALLOC(A->pool, (size_t)batch * 64 * fb, "pooled features");
    ALLOC(A->dpool, (size_t)batch * 64 * fb, "pooled feature gradients");
    for (int i = 0; i < 4; i++)
        ALLOC(A->d[i], biggest * fb, "backward scratch");

    /* Conv units: the stem reads x; block b's conv1 reads the block input, conv2 reads a1. */
    const float *prev = NULL;
    for (int ui = 0; ok && ui < L->n_units; ui++) {
        const conv_unit_desc *d = &L->units[ui];
        unit_buf *u = &A->u[ui];
        u->s = conv_shape_make(batch, d->c_in, d->h_in, d->h_in, d->c_out, 3, d->stride, 1);
        const size_t out = (size_t)batch * d->c_out * u->s.oh * u->s.ow;
        ALLOC(u->z, out * fb, "conv outputs");
        ALLOC(u->save_mean, (size_t)d->c_out * fb, "BN saved mean");
        ALLOC(u->save_inv_std, (size_t)d->c_out * fb, "BN saved inverse std");
        if (!ok)
            break;
        if (ui == 0) {
            u->in = m->x;
            ALLOC(u->a, out * fb, "activations");
            prev = u->a;
        } else if (ui % 2 == 1) { /* conv1 of block (ui - 1) / 2 */
            const int b = (ui - 1) / 2;
            A->block_in[b] = (float *)prev;
            u->in = prev;
            ALLOC(u->a, out * fb, "activations");
        } else {                  /* conv2: BN into scratch, the sum into the block output */
            const int b = (ui - 2) / 2;
            u->in = A->u[ui - 1].a;
            u->a = A->bn2;
            ALLOC(A->block_out[b], out * fb, "block outputs");
            prev = A->block_out[b];
        }
    }
#undef ALLOC
    if (!ok) {
        snprintf(err, err_size, "could not allocate the model's buffers (depth %d, batch %d) on backend %s",
                 depth, batch, be->ops->name);
        free(host_w);
        free(host_s);
        model_destroy(m);
        return NULL;
    }

    /* Algorithm search once per distinct shape, before any step (and before graph capture). */
    for (int ui = 0; ui < L->n_units; ui++) {
        int seen = 0;
        for (int uj = 0; uj < ui && !seen; uj++)
            seen = same_shape(&A->u[uj].s, &A->u[ui].s);
        if (!seen)
            be->ops->conv_prepare(be, &A->u[ui].s);
    }

    model_layout_init_values(L, seed, host_w, host_s);
    be->ops->upload(be, m->w, host_w, (size_t)L->n_params * fb);
    be->ops->upload(be, m->stats, host_s, (size_t)L->n_stats * fb);
    be->ops->sync(be);
    free(host_w);
    free(host_s);
    return m;
}

void model_destroy(model *m)
{
    if (!m)
        return;
    struct model_act *A = m->act;
    if (A) {
        /* A captured step may use these buffers, and which steps do is the callers' affair:
           every recording on the backend goes, and is captured again on its next use. */
        if (A->n_owned > 0)
            m->be->ops->forget_steps(m->be, NULL);
        for (int i = 0; i < A->n_owned; i++)
            m->be->ops->free(m->be, A->owned[i]);
        free(A->owned);
        free(A->u);
        free(A->block_in);
        free(A->block_out);
        free(A);
    }
    model_layout_destroy(m->L);
    free(m);
}
