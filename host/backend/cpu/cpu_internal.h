/* cpu_internal.h: the CPU backend's private state and the ops its source files (host/backend/cpu/cpu_*.c) share. */
#ifndef CPU_INTERNAL_H
#define CPU_INTERNAL_H

#include <stddef.h>
#include "backend/backend.h"

/* The CPU backend: the public header first, so a backend* is a cpu_backend*. */
typedef struct cpu_backend {
    backend base;
    float *ws;          /* im2col/col2im scratch, grown on demand and reused across calls */
    size_t ws_floats;
} cpu_backend;

/* ---- cpu_common.c ---- */
/* A scratch buffer of at least `floats` floats, valid until the next call; exits on OOM. */
float *cpu_workspace(backend *b, size_t floats);

/* Reports an unrecoverable backend failure and exits with EXIT_RUNTIME. */
void cpu_fatal(const char *fmt, ...);

/* ---- cpu_conv.c ---- */
void cpu_conv_fwd(backend *b, const conv_shape *s, const float *x, const float *w, float *y);
void cpu_conv_bwd_data(backend *b, const conv_shape *s, const float *dy, const float *w, float *dx);
void cpu_conv_bwd_filter(backend *b, const conv_shape *s, const float *x, const float *dy, float *dw);

/* ---- cpu_bn.c ---- */
void cpu_bn_train_fwd(backend *b, int n, int c, int hw, const float *x, const float *gamma,
                      const float *beta, float *running_mean, float *running_var,
                      float *save_mean, float *save_inv_std, float *y);
void cpu_bn_infer_fwd(backend *b, int n, int c, int hw, const float *x, const float *gamma,
                      const float *beta, const float *running_mean, const float *running_var,
                      float *y);
void cpu_bn_bwd(backend *b, int n, int c, int hw, const float *x, const float *dy,
                const float *gamma, const float *save_mean, const float *save_inv_std,
                float *dx, float *dgamma, float *dbeta);

/* ---- cpu_ops.c ---- */
void cpu_relu_fwd(backend *b, long count, const float *x, float *y);
void cpu_add_relu_fwd(backend *b, long count, const float *a, const float *c, float *y);
void cpu_relu_bwd(backend *b, long count, const float *y, const float *dy, float *dx);
void cpu_add_acc(backend *b, long count, const float *x, float *y);
void cpu_shortcut_fwd(backend *b, int n, int c_in, int h, int w, int c_out, const float *x, float *y);
void cpu_shortcut_bwd_acc(backend *b, int n, int c_in, int h, int w, int c_out, const float *dy, float *dx);
void cpu_avgpool_fwd(backend *b, int n, int c, int hw, const float *x, float *y);
void cpu_avgpool_bwd(backend *b, int n, int c, int hw, const float *dy, float *dx);
void cpu_linear_fwd(backend *b, int n, int in, int out, const float *x, const float *w,
                    const float *bias, float *y);
void cpu_linear_bwd(backend *b, int n, int in, int out, const float *x, const float *w,
                    const float *dy, float *dx, float *dw, float *dbias);
void cpu_softmax_xent(backend *b, int n, int k, const float *logits, const int32_t *labels,
                      float *dlogits, train_scalars *ts);

/* ---- cpu_step.c ---- */
void cpu_make_batch(backend *b, const uint8_t *images, const uint8_t *labels, long n_images,
                    const batch_spec *spec, const train_scalars *ts, float *x, int32_t *y);
void cpu_health(backend *b, long count, const float *grads, const float *weights, train_scalars *ts);
void cpu_sched_step(backend *b, const sched_params *p, const step_policy *pol, int batch,
                    train_scalars *ts, step_record *history, int history_len);
void cpu_sgd_update(backend *b, long count, float *w, const float *g, float *v,
                    const sgd_hyper *h, train_scalars *ts);
void cpu_restore_if_rejected(backend *b, long count, const float *src, float *dst, const train_scalars *ts);

#endif
