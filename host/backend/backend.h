/* backend.h: the one function table every compute backend (CPU reference, CUDA) implements. */
#ifndef BACKEND_H
#define BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include "schedule.h"
#include "train_scalars.h"

/*
 * All tensors are fp32 NCHW in the backend's own memory ("device memory"; plain host
 * memory for the CPU backend). Every output is OVERWRITTEN unless the name says _acc
 * (accumulate): stale-gradient bugs come from mixing the two, so the table makes it
 * explicit. Scalars a training step produces (loss, correct count, gradient norm,
 * non-finite flags, the learning rate, the scheduler counter) live in one
 * `train_scalars` block in device memory, so no per-step value crosses to the host.
 *
 * A runtime failure inside a backend (a CUDA error, say) is reported with the call, file
 * and line, and the process exits with EXIT_RUNTIME: there is no way to continue a step
 * after a device fault, and every file the program writes is written atomically.
 */

typedef struct conv_shape {
    int n, c, h, w;   /* input */
    int k;            /* output channels */
    int r;            /* square filter size */
    int stride, pad;
    int oh, ow;       /* output size, filled by conv_shape_make */
} conv_shape;

/* Fills oh/ow from the rest. */
conv_shape conv_shape_make(int n, int c, int h, int w, int k, int r, int stride, int pad);

/* The optimizer's constants (the rate itself comes from train_scalars.lr). */
typedef struct sgd_hyper {
    float momentum;
    float weight_decay;
    int nesterov;
} sgd_hyper;

/* How make_batch builds a batch: see kernels/batch.h for the exact per-sample rule. */
typedef struct batch_spec {
    int batch;             /* images in the batch */
    int train;             /* 1: positions come from ts->sched.step (shuffle/augment apply);
                              0: records first..first+batch-1 in file order, no augmentation */
    long first;            /* first record when train == 0 */
    int augment, shuffle;
    uint64_t seed;
    float mean[3], inv_std[3]; /* per-channel normalization on the 0-255 scale */
} batch_spec;

typedef struct backend backend;

struct backend_ops {
    const char *name;
    void (*destroy)(backend *b);

    /* ---- memory ---- */
    /* Zero-filled; NULL (with a message saying how much was asked) when out of memory. */
    void *(*alloc)(backend *b, size_t bytes, const char *what);
    void (*free)(backend *b, void *p);
    void (*upload)(backend *b, void *dst, const void *src, size_t bytes);
    void (*download)(backend *b, void *dst, const void *src, size_t bytes);
    void (*copy)(backend *b, void *dst, const void *src, size_t bytes);
    void (*zero)(backend *b, void *p, size_t bytes);
    /* Wait until all queued work is done. */
    void (*sync)(backend *b);

    /* ---- data ---- */
    /* images: n_images x 3072 uint8 (R, G, B planes); labels: n_images uint8. */
    void (*make_batch)(backend *b, const uint8_t *images, const uint8_t *labels, long n_images,
                       const batch_spec *spec, const train_scalars *ts, float *x, int32_t *y);

    /* ---- convolution (no bias) ---- */
    /* Called once per distinct shape before training (cuDNN algorithm search). */
    void (*conv_prepare)(backend *b, const conv_shape *s);
    void (*conv_fwd)(backend *b, const conv_shape *s, const float *x, const float *w, float *y);
    void (*conv_bwd_data)(backend *b, const conv_shape *s, const float *dy, const float *w, float *dx);
    void (*conv_bwd_filter)(backend *b, const conv_shape *s, const float *x, const float *dy, float *dw);

    /* ---- batch norm, per channel over n*hw values, eps = 1e-5 ---- */
    /* Batch statistics (biased variance); running = 0.9*running + 0.1*batch with the
       unbiased variance for running_var; saves mean and 1/sqrt(var+eps) for backward. */
    void (*bn_train_fwd)(backend *b, int n, int c, int hw, const float *x, const float *gamma,
                         const float *beta, float *running_mean, float *running_var,
                         float *save_mean, float *save_inv_std, float *y);
    void (*bn_infer_fwd)(backend *b, int n, int c, int hw, const float *x, const float *gamma,
                         const float *beta, const float *running_mean, const float *running_var,
                         float *y);
    void (*bn_bwd)(backend *b, int n, int c, int hw, const float *x, const float *dy,
                   const float *gamma, const float *save_mean, const float *save_inv_std,
                   float *dx, float *dgamma, float *dbeta);

    /* ---- elementwise ---- */
    void (*relu_fwd)(backend *b, long count, const float *x, float *y);          /* y may be x */
    void (*add_relu_fwd)(backend *b, long count, const float *a, const float *c, float *y);
    /* dx = dy where y > 0 else 0 (y is the ReLU's output); dx may be dy. */
    void (*relu_bwd)(backend *b, long count, const float *y, const float *dy, float *dx);
    void (*add_acc)(backend *b, long count, const float *x, float *y);           /* y += x */

    /* ---- option-A shortcut: stride-2 subsample, zero channels split half before, half after ---- */
    void (*shortcut_fwd)(backend *b, int n, int c_in, int h, int w, int c_out, const float *x, float *y);
    /* dx[.., 2i, 2j] += dy[.., c + pad, i, j]; dx is (n, c_in, h, w) */
    void (*shortcut_bwd_acc)(backend *b, int n, int c_in, int h, int w, int c_out, const float *dy, float *dx);

    /* ---- head ---- */
    void (*avgpool_fwd)(backend *b, int n, int c, int hw, const float *x, float *y);
    void (*avgpool_bwd)(backend *b, int n, int c, int hw, const float *dy, float *dx);
    /* y[n,out] = x[n,in] W[out,in]^T + bias[out] */
    void (*linear_fwd)(backend *b, int n, int in, int out, const float *x, const float *w,
                       const float *bias, float *y);
    void (*linear_bwd)(backend *b, int n, int in, int out, const float *x, const float *w,
                       const float *dy, float *dx, float *dw, float *dbias);
    /* Mean cross-entropy over the batch into ts->loss, correct count into ts->correct,
       dlogits = (softmax - onehot) / n. */
    void (*softmax_xent)(backend *b, int n, int k, const float *logits, const int32_t *labels,
                         float *dlogits, train_scalars *ts);

    /* ---- step control ---- */
    /* ts->grad_sq = sum of squares of grads; ts->nonfinite = NONFINITE_* bits for the
       loss, any gradient and any weight (overwritten each step). */
    void (*health)(backend *b, long count, const float *grads, const float *weights, train_scalars *ts);
    /* One thread: ts->lr = rate of step s = ts->sched.step + 1; step_judge(pol, ts, s);
       history[(s - 1) % history_len] = this step's record; then advance the counter
       with this batch's error (1 - correct / batch). */
    void (*sched_step)(backend *b, const sched_params *p, const step_policy *pol, int batch,
                       train_scalars *ts, step_record *history, int history_len);
    /* One pass over the flat buffers with ts->lr; does nothing when ts->nonfinite or
       ts->halted is set (the step was judged not to be applied). */
    void (*sgd_update)(backend *b, long count, float *w, const float *g, float *v,
                       const sgd_hyper *h, train_scalars *ts);
    /* dst = src when the step was judged not to be applied (ts->nonfinite or ts->halted),
       else nothing: undoes what a rejected step's forward pass wrote outside the weights
       (the BN running statistics), from a copy taken at the start of the step. */
    void (*restore_if_rejected)(backend *b, long count, const float *src, float *dst,
                                const train_scalars *ts);

    /* ---- the whole step ---- */
    /* Runs step(ctx), which enqueues one whole training step through this table. With
       `capture`, a backend that can (CUDA graphs) records the call once and replays the
       recording on later calls, so step() must enqueue identical work every time and
       read nothing per step from the host; the CPU backend just calls it. */
    void (*run_step)(backend *b, void (*step)(void *ctx), void *ctx, int capture);
    /* Drops what run_step recorded for ctx (every recording when ctx is NULL); the next
       captured call records step(ctx) anew. Recordings are keyed by the addresses of step
       and ctx and hold the raw addresses of the buffers the step used, so call this
       before ctx, or a buffer a recorded step uses, is freed: a new object at a reused
       address would otherwise replay the old recording. Not during a capture. */
    void (*forget_steps)(backend *b, const void *ctx);
};

struct backend {
    const struct backend_ops *ops;
};

/*
 * The CPU reference backend (host/backend/cpu/) on `threads` threads (train.threads),
 * 0 for backend_cpu_auto_threads(). Results are the same bits for every thread count and
 * on every processor (host/backend/cpu/cpu_kern.h). NULL with a message in err (or on
 * stderr when err is NULL) when the threads cannot be started or RESNET_CPU_KERNELS
 * names kernels this processor lacks.
 */
backend *backend_cpu_create(int threads, char *err, size_t err_size);

/* The number of training processes sharing this process's cores, from the environment
   variable below (1 when unset); `resnet sweep --jobs K` sets it to K for its runs. */
#define RESNET_PARALLEL_JOBS_ENV "RESNET_PARALLEL_JOBS"
int backend_cpu_parallel_jobs(void);

/* train.threads 0: the cores in this process's affinity mask (what taskset, a container's
   cpuset or a Slurm allocation grants) divided by backend_cpu_parallel_jobs(), at least 1. */
int backend_cpu_auto_threads(void);

/* A CPU backend's thread count, and the name of the kernel variant it runs ("avx512",
   "avx2" or "baseline"). Only for a backend made by backend_cpu_create. */
int backend_cpu_threads(const backend *b);
const char *backend_cpu_kernels(const backend *b);

/* Prints the CPU backend's lines for `resnet info`: its kernels and default threads. */
void backend_cpu_info(void);

/*
 * The CUDA backend (host/backend/cuda/ and kernels/ .cu files). `strict_fp32` turns TF32 off in
 * cuDNN and cuBLAS (tests compare against the CPU). NULL with a message in err when
 * no device is usable or the build has no CUDA.
 */
backend *backend_cuda_create(int device, int strict_fp32, char *err, size_t err_size);

/* Number of CUDA devices (0 without CUDA or without a driver). */
int backend_cuda_device_count(void);

/* Prints the CUDA build and device lines for `resnet info`. */
void backend_cuda_info(void);

#endif
