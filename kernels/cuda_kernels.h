/* cuda_kernels.h: C-callable launchers of the project's own CUDA kernels (kernels/cuda_*.cu), used by host/backend/cuda/cuda_*.c. */
#ifndef CUDA_KERNELS_H
#define CUDA_KERNELS_H

#include <stdint.h>
#include <cuda_runtime_api.h>
#include "backend/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every launcher enqueues on `st` and checks the launch. Arguments are device pointers
 * and values fixed for a run (shapes, hyperparameters, the schedule), never a value
 * that changes from step to step: per-step values (the step counter, the rate, the
 * non-finite flags) are read by the kernels from the train_scalars block in device
 * memory, so a captured CUDA graph replays the step correctly.
 *
 * Grids are capped at CUK_MAX_BLOCKS blocks of CUK_THREADS threads (grid-stride loops
 * cover the rest). The cap is a constant rather than a function of the device so that
 * reductions visit values in the same order on every GPU.
 */
#define CUK_THREADS 256
#define CUK_MAX_BLOCKS 1024

/* ---- kernels/cuda_elementwise.cu ---- */
void cuk_relu_fwd(cudaStream_t st, long count, const float *x, float *y);
void cuk_add_relu_fwd(cudaStream_t st, long count, const float *a, const float *c, float *y);
void cuk_relu_bwd(cudaStream_t st, long count, const float *y, const float *dy, float *dx);
void cuk_add_acc(cudaStream_t st, long count, const float *x, float *y);
void cuk_shortcut_fwd(cudaStream_t st, int n, int c_in, int h, int w, int c_out, const float *x, float *y);
void cuk_shortcut_bwd_acc(cudaStream_t st, int n, int c_in, int h, int w, int c_out, const float *dy,
                          float *dx);
void cuk_avgpool_fwd(cudaStream_t st, int n, int c, int hw, const float *x, float *y);
void cuk_avgpool_bwd(cudaStream_t st, int n, int c, int hw, const float *dy, float *dx);
/* y[i, j] += bias[j] for an n x out row-major y (after the cuBLAS product). */
void cuk_bias_add(cudaStream_t st, int n, int out, const float *bias, float *y);
/* dbias[j] = sum over i of dy[i, j], summed in row order (deterministic). */
void cuk_bias_grad(cudaStream_t st, int n, int out, const float *dy, float *dbias);

/* ---- kernels/cuda_step.cu ---- */
void cuk_make_batch(cudaStream_t st, const uint8_t *images, const uint8_t *labels, long n_images,
                    batch_spec spec, const train_scalars *ts, float *x, int32_t *y);
void cuk_softmax_xent(cudaStream_t st, int n, int k, const float *logits, const int32_t *labels,
                      float *dlogits, train_scalars *ts);
/* partial_sq / partial_bits: CUK_MAX_BLOCKS entries each, preallocated by the backend. */
void cuk_health(cudaStream_t st, long count, const float *grads, const float *weights, train_scalars *ts,
                double *partial_sq, int *partial_bits);
void cuk_sched_step(cudaStream_t st, sched_params p, step_policy pol, int batch, train_scalars *ts,
                    step_record *history, int history_len);
void cuk_sgd_update(cudaStream_t st, long count, float *w, const float *g, float *v, sgd_hyper h,
                    train_scalars *ts);
void cuk_restore_if_rejected(cudaStream_t st, long count, const float *src, float *dst,
                             const train_scalars *ts);

#ifdef __cplusplus
}
#endif

#endif
