/* cuda_internal.h: the CUDA backend's context struct and the functions its host files (host/backend/cuda/cuda_*.c) share. */
#ifndef CUDA_INTERNAL_H
#define CUDA_INTERNAL_H

#include <stddef.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <cublas_v2.h>
#include "backend/backend.h"
#include "backend/step_cache.h"

/* Distinct shapes a run meets: ResNet-110 has 6 conv shapes and 3 BN shapes per batch
   size (training and evaluation batches may differ); tests use a few more. */
#define CUDA_MAX_CONV_SHAPES 64
#define CUDA_MAX_BN_SHAPES 64

/* cuBLAS's recommended workspace on Hopper (cuBLAS docs, cublasSetWorkspace): 32 MiB. */
#define CUDA_CUBLAS_WORKSPACE ((size_t)32 << 20)
/* The most cuDNN workspace one convolution algorithm may claim; faster algorithms that
   want more are passed over rather than starving the activations of memory. */
#define CUDA_CONV_WORKSPACE_CAP ((size_t)512 << 20)

/* One distinct convolution shape: its descriptors and the algorithm of each direction. */
typedef struct cuda_conv {
    conv_shape s;
    cudnnTensorDescriptor_t x, y;
    cudnnFilterDescriptor_t w;
    /* One convolution descriptor per direction: each carries the math type of the
       algorithm chosen for that direction, which cuDNN reports per algorithm. */
    cudnnConvolutionDescriptor_t fwd_desc, bwd_data_desc, bwd_filter_desc;
    cudnnConvolutionFwdAlgo_t fwd_algo;
    cudnnConvolutionBwdDataAlgo_t bwd_data_algo;
    cudnnConvolutionBwdFilterAlgo_t bwd_filter_algo;
} cuda_conv;

/* One distinct batch-norm shape: x as (n, c, hw, 1) and the derived 1 x c x 1 x 1. */
typedef struct cuda_bn {
    int n, c, hw;
    cudnnTensorDescriptor_t x, param;
} cuda_bn;

/* The CUDA backend: the public header first, so a backend* is a cuda_backend*. */
typedef struct cuda_backend {
    backend base;
    int device;
    int strict_fp32;           /* TF32 off in cuDNN and cuBLAS (tests against the CPU) */
    cudaStream_t stream;       /* every op is enqueued here; graphs are captured here */
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;
    void *cublas_ws;           /* set with cublasSetWorkspace so capture never allocates */
    void *ws;                  /* cuDNN workspace, grown only in conv_prepare */
    size_t ws_size;
    double *health_sq;         /* CUK_MAX_BLOCKS partial sums of the health check */
    int *health_bits;
    int n_convs, n_bns;
    cuda_conv convs[CUDA_MAX_CONV_SHAPES];
    cuda_bn bns[CUDA_MAX_BN_SHAPES];
    step_cache graphs;         /* captured steps: handles are cudaGraphExec_t */
} cuda_backend;

static inline cuda_backend *cuda_ctx(backend *b) { return (cuda_backend *)b; }

/* ---- cuda_graph.c ---- */
void cuda_run_step(backend *b, void (*step)(void *ctx), void *ctx, int capture);
void cuda_forget_steps(backend *b, const void *ctx);
/* Waits for the stream, then destroys the captured graphs of ctx (all when NULL). */
void cuda_forget_graphs(cuda_backend *cb, const void *ctx);
/* Teardown: destroys every graph without reporting (errors here would mask the one
   that led to the teardown). */
void cuda_release_graphs(cuda_backend *cb);

/* ---- cuda_conv.c ---- */
void cuda_conv_prepare(backend *b, const conv_shape *s);
void cuda_conv_fwd(backend *b, const conv_shape *s, const float *x, const float *w, float *y);
void cuda_conv_bwd_data(backend *b, const conv_shape *s, const float *dy, const float *w, float *dx);
void cuda_conv_bwd_filter(backend *b, const conv_shape *s, const float *x, const float *dy, float *dw);
void cuda_conv_release(cuda_backend *cb);

/* ---- cuda_bn.c ---- */
void cuda_bn_train_fwd(backend *b, int n, int c, int hw, const float *x, const float *gamma,
                       const float *beta, float *running_mean, float *running_var,
                       float *save_mean, float *save_inv_std, float *y);
void cuda_bn_infer_fwd(backend *b, int n, int c, int hw, const float *x, const float *gamma,
                       const float *beta, const float *running_mean, const float *running_var,
                       float *y);
void cuda_bn_bwd(backend *b, int n, int c, int hw, const float *x, const float *dy,
                 const float *gamma, const float *save_mean, const float *save_inv_std,
                 float *dx, float *dgamma, float *dbeta);
void cuda_bn_release(cuda_backend *cb);

/* ---- cuda_linear.c ---- */
void cuda_linear_fwd(backend *b, int n, int in, int out, const float *x, const float *w,
                     const float *bias, float *y);
void cuda_linear_bwd(backend *b, int n, int in, int out, const float *x, const float *w,
                     const float *dy, float *dx, float *dw, float *dbias);

#endif
