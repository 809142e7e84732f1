/* cpu_internal.h: the CPU backend's private state and the ops its source files (host/backend/cpu/cpu_*.c) share. */
#ifndef CPU_INTERNAL_H
#define CPU_INTERNAL_H

#include <stddef.h>
#include "backend/backend.h"
#include "backend/cpu/cpu_kern.h"
#include "backend/cpu/cpu_pool.h"

/* A grow-only scratch buffer: reused across calls, so a training step allocates
   nothing after its first. */
typedef struct cpu_scratch {
    void *p;
    size_t bytes;
} cpu_scratch;

/* What the calling thread fills before an op's tasks run (shared, read-only in tasks). */
enum { CPU_SB_APACK, CPU_SB_WFLIP, CPU_SB_PARTIAL, CPU_SB_HEALTH, CPU_SB_COUNT };
/* Each worker's own scratch, written by its tasks only. */
enum { CPU_WB_PLANES, CPU_WB_ROWS, CPU_WB_COL, CPU_WB_DYT, CPU_WB_COUNT };

/* The CPU backend: the public header first, so a backend* is a cpu_backend*. */
typedef struct cpu_backend {
    backend base;
    cpu_pool *pool;
    const cpu_kernels *kern;
    int threads;
    cpu_scratch shared[CPU_SB_COUNT];
    cpu_scratch *worker;  /* threads x CPU_WB_COUNT */
    int conv_im2col_only; /* tests: take the im2col path for every shape (cpu_conv.c) */
} cpu_backend;

/* ---- cpu_common.c ---- */
/* The buffer, grown to at least `bytes` (64-byte aligned; contents not kept when it
   grows); exits on OOM. */
void *cpu_scratch_get(cpu_scratch *s, size_t bytes);
void cpu_scratch_free(cpu_scratch *s);
static inline float *cpu_shared(backend *b, int which, size_t floats)
{
    return cpu_scratch_get(&((cpu_backend *)b)->shared[which], floats * sizeof(float));
}
static inline void *cpu_worker_buf(backend *b, int worker, int which, size_t bytes)
{
    return cpu_scratch_get(&((cpu_backend *)b)->worker[worker * CPU_WB_COUNT + which], bytes);
}

/* Runs fn(ctx, t, worker) for t in 0..tasks-1 on the backend's threads (cpu_pool.h). */
static inline void cpu_parallel(backend *b, int tasks, cpu_task_fn fn, void *ctx)
{
    cpu_pool_run(((cpu_backend *)b)->pool, tasks, fn, ctx);
}

/* Elementwise ops split `count` values into chunks of this many (a fixed size, so the
   chunks, and any per-chunk partial sums, do not depend on the thread count). */
#define CPU_CHUNK 16384L
static inline int cpu_chunks(long count) { return (int)((count + CPU_CHUNK - 1) / CPU_CHUNK); }
/* Task t's chunk of COUNT items: [*lo, *hi). */
static inline void cpu_chunk_range(int t, long count, long *lo, long *hi)
{
    *lo = (long)t * CPU_CHUNK;
    *hi = *lo + CPU_CHUNK < count ? *lo + CPU_CHUNK : count;
}

/* ---- cpu_threads.c ---- */
/* The cores this process may run on (its affinity mask). */
int cpu_cores_allowed(void);

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
