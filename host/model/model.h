/* model.h: He et al.'s CIFAR ResNet-(6n+2): the parameter layout, initialization, forward and backward through the backend table. */
#ifndef MODEL_H
#define MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "backend/backend.h"

/*
 * Architecture (He et al. 2016, section 4.2; ../shared/docs/reference.md):
 *   stem:   conv3x3 3->16, BN, ReLU                                  32x32
 *   stage1: n basic blocks, 16 channels                              32x32
 *   stage2: n basic blocks, 32 channels, first conv stride 2         16x16
 *   stage3: n basic blocks, 64 channels, first conv stride 2          8x8
 *   head:   global average pool, linear 64 -> num_classes with bias
 * A basic block is conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut, then ReLU. Where the
 * shape changes the shortcut is option A (the backend's shortcut ops: stride-2
 * subsampling, zero channels half before and half after), so it has no parameters.
 * Convolutions have no bias: BN's beta plays that role.
 *
 * All trainable parameters live in ONE flat float buffer, and so do their gradients and
 * momentum buffers (same layout), so that the health check and the SGD update are each a
 * single pass. The BN running statistics live in a second flat buffer. A table of named
 * views (name, shape, offset) says where each tensor sits; checkpoints store tensors by
 * these names.
 */

#define MODEL_NAME_MAX 48

enum view_kind {
    VIEW_CONV_WEIGHT = 0, /* (k, c, r, r) */
    VIEW_BN_GAMMA,        /* (c) */
    VIEW_BN_BETA,         /* (c) */
    VIEW_FC_WEIGHT,       /* (num_classes, 64) */
    VIEW_FC_BIAS,         /* (num_classes) */
    VIEW_BN_RUNNING_MEAN, /* (c), in the stats buffer */
    VIEW_BN_RUNNING_VAR   /* (c), in the stats buffer */
};

typedef struct param_view {
    char name[MODEL_NAME_MAX];
    int kind;     /* enum view_kind */
    int rank;
    int shape[4];
    long offset;  /* in floats from the start of its buffer */
    long count;
    int fan_in;   /* inputs per output unit (conv: c*r*r; linear: 64) */
} param_view;

/* One convolution with the BN that follows it (indices into the view tables). */
typedef struct conv_unit_desc {
    int c_in, c_out, h_in, stride; /* 3x3 filters, padding 1 */
    int w_view, gamma_view, beta_view; /* into views */
    int mean_view, var_view;           /* into stat_views */
} conv_unit_desc;

/*
 * The network as tables, independent of any backend or batch size: unit 0 is the stem,
 * block b (0 .. 3n-1, stage b / n) owns units 1 + 2b (conv1) and 2 + 2b (conv2).
 */
typedef struct model_layout {
    int depth, n, num_classes;
    int n_views;
    param_view *views;
    long n_params;
    int n_stat_views;
    param_view *stat_views;
    long n_stats;
    int n_units;
    conv_unit_desc *units;
    int fc_w_view, fc_b_view;
} model_layout;

/* NULL with a message in err for a depth that is not 6n+2 (n >= 1) or bad num_classes. */
model_layout *model_layout_create(int depth, int num_classes, char *err, size_t err_size);
void model_layout_destroy(model_layout *L);

/* Index of the view named `name` in views (stats: 0) or stat_views (stats: 1); -1 if none. */
int model_layout_find(const model_layout *L, int stats, const char *name);

/*
 * Initial values on the host, a pure function of (seed, flat index), so every backend
 * starts from the same bits:
 *   conv weights: He/MSRA normal, std = sqrt(2 / fan_in), fan_in = c_in * 3 * 3 (the
 *     "fan_in" mode of PyTorch's kaiming_normal_, its default; He et al. derive the
 *     forward-pass variant too). Normal deviates by Box-Muller from two uniforms
 *     rng_hash(seed, RNG_STREAM_INIT, 2i) and (.., 2i+1) of kernels/batch.h;
 *   linear weight and bias: uniform(-1/sqrt(64), 1/sqrt(64)), PyTorch's nn.Linear default,
 *     from rng_hash(seed, RNG_STREAM_INIT, 2i);
 *   BN gamma 1, beta 0; running mean 0, running variance 1.
 * params holds n_params floats, stats n_stats.
 */
void model_layout_init_values(const model_layout *L, uint64_t seed, float *params, float *stats);

/*
 * A model instance on a backend for a fixed batch size: every buffer (parameters,
 * gradients, momentum, statistics, activations, backward scratch) is allocated once here,
 * so a training step allocates nothing and can be captured as a CUDA graph.
 */
typedef struct model model;

struct model {
    backend *be;
    model_layout *L;
    int batch;
    /* flat device buffers (n_params floats each; stats n_stats) */
    float *w, *g, *v, *stats;
    /* the step's input and output ends */
    float *x;        /* batch x 3 x 32 x 32, written by make_batch */
    int32_t *y;      /* batch labels */
    float *logits;   /* batch x num_classes */
    float *dlogits;  /* batch x num_classes, written by softmax_xent */
    float *dx;       /* batch x 3 x 32 x 32: gradient of the input, only when asked */
    struct model_act *act; /* activations and scratch (model.c) */
};

/* NULL with a message in err on a bad shape or out of memory. Parameters initialized
   from `seed` as model_layout_init_values says; momentum zero. */
model *model_create(backend *be, int depth, int num_classes, int batch, uint64_t seed,
                    char *err, size_t err_size);
void model_destroy(model *m);

/* logits from x. train: BN with batch statistics (running averages updated);
   else BN with the running statistics. */
void model_forward(model *m, int train);

/* Gradients of everything from dlogits, after a training-mode forward on the same x.
   Every gradient is overwritten. want_dx: also the gradient of the input into m->dx. */
void model_backward(model *m, int want_dx);

/* Parameter count of depth / num_classes without building anything (-1 if invalid). */
long model_param_count(int depth, int num_classes);

#endif
