/* gpu_rig.h: the trainer's training step set up for the GPU tests (data, model, scalars, history ring) on any backend. */
#ifndef GPU_RIG_H
#define GPU_RIG_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/backend.h"
#include "batch.h"
#include "model/model.h"
#include "train/train_step.h"

/*
 * The trainer also owns files, signals and a config; the tests need the step alone on a
 * backend of their choosing. They run the trainer's own op sequence (train_step_enqueue
 * in host/train/train_step.c) on buffers set up here as trainer.c's setup() does.
 *
 * Header-only (static functions) because each tests/gpu_*.c is its own executable.
 */

typedef struct rig {
    backend *be;
    model *m;
    uint64_t model_seed;
    const uint8_t *h_img, *h_lab; /* the caller's host data (kept for re-uploads) */
    uint8_t *d_img, *d_lab;
    long n_images;
    train_scalars *d_ts;
    step_record *d_hist;
    int hist_len;
    float *d_stats_backup;
    batch_spec spec;
    sched_params sched;
    step_policy pol;
    sgd_hyper hyper;
} rig;

static void rig_die(const char *what)
{
    fprintf(stderr, "gpu test: %s\n", what);
    exit(1);
}

static void *rig_alloc(backend *be, size_t bytes, const char *what)
{
    void *p = be->ops->alloc(be, bytes, what);
    if (!p)
        rig_die("out of memory on the backend");
    return p;
}

/* Random uint8 images and labels from a seed: noise is enough for a one-step or
   100-step comparison, and every pixel value 0..255 occurs. */
static void rig_synth_data(uint64_t seed, long n, int classes, uint8_t **img, uint8_t **lab)
{
    *img = malloc((size_t)n * 3072);
    *lab = malloc((size_t)n);
    if (!*img || !*lab)
        rig_die("out of host memory for the synthetic data");
    for (long i = 0; i < n * 3072; i++)
        (*img)[i] = (uint8_t)(rng_hash(seed, 201, (uint64_t)i) >> 56);
    for (long i = 0; i < n; i++)
        (*lab)[i] = (uint8_t)(rng_hash(seed, 202, (uint64_t)i) % (uint64_t)classes);
}

/* The model in its initial state (model_create's values, momentum and gradients zero),
   the scalars at step 0 and an empty history ring: a run can start again from here. */
static void rig_reset(rig *r)
{
    const struct backend_ops *o = r->be->ops;
    model *m = r->m;
    const long np = m->L->n_params, ns = m->L->n_stats;
    float *w = malloc(sizeof(float) * (size_t)np), *s = malloc(sizeof(float) * (size_t)ns);
    if (!w || !s)
        rig_die("out of host memory");
    model_layout_init_values(m->L, r->model_seed, w, s);
    o->upload(r->be, m->w, w, sizeof(float) * (size_t)np);
    o->upload(r->be, m->stats, s, sizeof(float) * (size_t)ns);
    o->zero(r->be, m->g, sizeof(float) * (size_t)np);
    o->zero(r->be, m->v, sizeof(float) * (size_t)np);
    train_scalars ts;
    memset(&ts, 0, sizeof ts);
    sched_state_init(&r->sched, &ts.sched);
    o->upload(r->be, r->d_ts, &ts, sizeof ts);
    o->zero(r->be, r->d_hist, sizeof(step_record) * (size_t)r->hist_len);
    o->sync(r->be);
    free(w);
    free(s);
}

/* Uploads (new) host data of the rig's size; the caller keeps it alive. */
static void rig_set_data(rig *r, const uint8_t *img, const uint8_t *lab)
{
    r->h_img = img;
    r->h_lab = lab;
    r->be->ops->upload(r->be, r->d_img, img, (size_t)r->n_images * 3072);
    r->be->ops->upload(r->be, r->d_lab, lab, (size_t)r->n_images);
    r->be->ops->sync(r->be);
}

/* A model on `be` with the trainer's batch spec (augment and shuffle on, CIFAR-10
   normalization), optimizer and the given schedule and policy, reset to step 0, in the
   caller's storage *r (a test that must reuse one address, as a new object may). */
static void rig_init(rig *r, backend *be, int depth, int classes, int batch, uint64_t seed, const uint8_t *img,
                     const uint8_t *lab, long n_images, const sched_params *sp, const step_policy *pol,
                     int hist_len)
{
    char err[256];
    memset(r, 0, sizeof *r);
    r->be = be;
    r->model_seed = seed;
    r->m = model_create(be, depth, classes, batch, seed, err, sizeof err);
    if (!r->m)
        rig_die(err);
    r->n_images = n_images;
    r->d_img = rig_alloc(be, (size_t)n_images * 3072, "images");
    r->d_lab = rig_alloc(be, (size_t)n_images, "labels");
    r->d_ts = rig_alloc(be, sizeof(train_scalars), "scalars");
    r->hist_len = hist_len;
    r->d_hist = rig_alloc(be, sizeof(step_record) * (size_t)hist_len, "history");
    r->d_stats_backup = rig_alloc(be, sizeof(float) * (size_t)r->m->L->n_stats, "stats backup");
    /* As trainer.c setup() fills them. */
    const batch_spec spec = {batch, 1, 0, 1, 1, seed, /* the trainer: one seed for both */
                             {CIFAR10_MEAN_R, CIFAR10_MEAN_G, CIFAR10_MEAN_B},
                             {1.0f / CIFAR10_STD_R, 1.0f / CIFAR10_STD_G, 1.0f / CIFAR10_STD_B}};
    r->spec = spec;
    r->sched = *sp;
    r->pol = *pol;
    r->hyper.momentum = 0.9f;
    r->hyper.weight_decay = 1e-4f;
    r->hyper.nesterov = 0;
    rig_set_data(r, img, lab);
    rig_reset(r);
}

/* rig_init in new heap storage. */
static rig *rig_create(backend *be, int depth, int classes, int batch, uint64_t seed, const uint8_t *img,
                       const uint8_t *lab, long n_images, const sched_params *sp, const step_policy *pol,
                       int hist_len)
{
    rig *r = calloc(1, sizeof *r);
    if (!r)
        rig_die("out of host memory");
    rig_init(r, be, depth, classes, batch, seed, img, lab, n_images, sp, pol, hist_len);
    return r;
}

/* Frees what rig_init made; the storage *r itself stays the caller's. The backend's
   recordings of rig_step for r go first: they are keyed by r's address and use the
   buffers freed here. */
static void rig_release(rig *r)
{
    const struct backend_ops *o = r->be->ops;
    o->forget_steps(r->be, r);
    void *bufs[] = {r->d_img, r->d_lab, r->d_ts, r->d_hist, r->d_stats_backup};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        o->free(r->be, bufs[i]);
    model_destroy(r->m);
    memset(r, 0, sizeof *r);
}

static void rig_destroy(rig *r)
{
    if (!r)
        return;
    rig_release(r);
    free(r);
}

/* The trainer's own step sequence (host/train/train_step.c) on this rig's buffers. */
static void rig_step(void *ctx)
{
    rig *r = ctx;
    const step_inputs in = {r->m, r->d_img, r->d_lab, r->n_images, &r->spec, &r->sched,
                            &r->pol, &r->hyper, r->d_ts, r->d_hist, r->hist_len, r->d_stats_backup};
    train_step_enqueue(r->be, &in);
}

/* Host copies of everything a step changes. */
typedef struct rig_snap {
    long np, ns;
    float *w, *g, *v, *stats;
    train_scalars ts;
    step_record *hist; /* the ring as it is, hist_len records */
    int hist_len;
} rig_snap;

static float *rig_get_floats(rig *r, const float *d, long n)
{
    float *h = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    if (!h)
        rig_die("out of host memory");
    r->be->ops->download(r->be, h, d, sizeof(float) * (size_t)n);
    return h;
}

static rig_snap rig_snapshot(rig *r)
{
    rig_snap s;
    const struct backend_ops *o = r->be->ops;
    o->sync(r->be);
    s.np = r->m->L->n_params;
    s.ns = r->m->L->n_stats;
    s.w = rig_get_floats(r, r->m->w, s.np);
    s.g = rig_get_floats(r, r->m->g, s.np);
    s.v = rig_get_floats(r, r->m->v, s.np);
    s.stats = rig_get_floats(r, r->m->stats, s.ns);
    o->download(r->be, &s.ts, r->d_ts, sizeof s.ts);
    s.hist_len = r->hist_len;
    s.hist = malloc(sizeof(step_record) * (size_t)r->hist_len);
    if (!s.hist)
        rig_die("out of host memory");
    o->download(r->be, s.hist, r->d_hist, sizeof(step_record) * (size_t)r->hist_len);
    return s;
}

static void rig_snap_free(rig_snap *s)
{
    free(s->w);
    free(s->g);
    free(s->v);
    free(s->stats);
    free(s->hist);
    memset(s, 0, sizeof *s);
}

#endif
