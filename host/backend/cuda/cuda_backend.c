/* cuda_backend.c: the CUDA backend's context (device, stream, cuDNN and cuBLAS handles, workspaces), memory ops, kernel wrappers and function table. */
#include <stdio.h>
#include <stdlib.h>
#include "backend/cuda/cuda_internal.h"
#include "backend/cuda/cuda_check.h"
#include "cuda_kernels.h"

/*
 * Everything is enqueued on one non-blocking stream that the cuDNN and cuBLAS handles
 * are bound to, so the order of operations is the order of calls, and a training step
 * can be captured from that stream as one CUDA graph. Before any capture: handles exist,
 * cuBLAS has a preallocated workspace, every convolution shape has been prepared
 * (algorithm search, workspace), and every buffer is allocated.
 */

/* ---- memory ---- */

static void *cuda_alloc(backend *b, size_t bytes, const char *what)
{
    cuda_backend *cb = cuda_ctx(b);
    void *p = NULL;
    const size_t n = bytes ? bytes : 1; /* NULL means out of memory to the caller */
    const cudaError_t e = cudaMalloc(&p, n);
    if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        gpu_report_oom(bytes, what);
        return NULL;
    }
    CUDA_CHECK(e);
    /* On the stream, so no later kernel on it can see the memory before it is zero. */
    CUDA_CHECK(cudaMemsetAsync(p, 0, n, cb->stream));
    return p;
}

static void cuda_free_op(backend *b, void *p)
{
    (void)b;
    if (p)
        CUDA_CHECK(cudaFree(p)); /* synchronizes the device: queued work may still use p */
}

/* From pageable host memory the call returns once the source has been staged, so the
   caller may reuse `src` at once; the transfer itself stays ordered on the stream. */
static void cuda_upload(backend *b, void *dst, const void *src, size_t bytes)
{
    if (bytes)
        CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, cuda_ctx(b)->stream));
}

static void cuda_download(backend *b, void *dst, const void *src, size_t bytes)
{
    cuda_backend *cb = cuda_ctx(b);
    if (!bytes)
        return;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, cb->stream));
    CUDA_CHECK(cudaStreamSynchronize(cb->stream));
}

static void cuda_copy(backend *b, void *dst, const void *src, size_t bytes)
{
    if (bytes && dst != src)
        CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cuda_ctx(b)->stream));
}

static void cuda_zero(backend *b, void *p, size_t bytes)
{
    if (bytes)
        CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, cuda_ctx(b)->stream));
}

static void cuda_sync(backend *b)
{
    CUDA_CHECK(cudaStreamSynchronize(cuda_ctx(b)->stream));
}

/* ---- thin wrappers over the kernels: the stream is the context's ---- */

static void cuda_make_batch(backend *b, const uint8_t *images, const uint8_t *labels, long n_images,
                            const batch_spec *spec, const train_scalars *ts, float *x, int32_t *y)
{
    cuk_make_batch(cuda_ctx(b)->stream, images, labels, n_images, *spec, ts, x, y);
}

static void cuda_relu_fwd(backend *b, long count, const float *x, float *y)
{
    cuk_relu_fwd(cuda_ctx(b)->stream, count, x, y);
}

static void cuda_add_relu_fwd(backend *b, long count, const float *a, const float *c, float *y)
{
    cuk_add_relu_fwd(cuda_ctx(b)->stream, count, a, c, y);
}

static void cuda_relu_bwd(backend *b, long count, const float *y, const float *dy, float *dx)
{
    cuk_relu_bwd(cuda_ctx(b)->stream, count, y, dy, dx);
}

static void cuda_add_acc(backend *b, long count, const float *x, float *y)
{
    cuk_add_acc(cuda_ctx(b)->stream, count, x, y);
}

static void cuda_shortcut_fwd(backend *b, int n, int c_in, int h, int w, int c_out, const float *x, float *y)
{
    cuk_shortcut_fwd(cuda_ctx(b)->stream, n, c_in, h, w, c_out, x, y);
}

static void cuda_shortcut_bwd_acc(backend *b, int n, int c_in, int h, int w, int c_out, const float *dy,
                                  float *dx)
{
    cuk_shortcut_bwd_acc(cuda_ctx(b)->stream, n, c_in, h, w, c_out, dy, dx);
}

static void cuda_avgpool_fwd(backend *b, int n, int c, int hw, const float *x, float *y)
{
    cuk_avgpool_fwd(cuda_ctx(b)->stream, n, c, hw, x, y);
}

static void cuda_avgpool_bwd(backend *b, int n, int c, int hw, const float *dy, float *dx)
{
    cuk_avgpool_bwd(cuda_ctx(b)->stream, n, c, hw, dy, dx);
}

static void cuda_softmax_xent(backend *b, int n, int k, const float *logits, const int32_t *labels,
                              float *dlogits, train_scalars *ts)
{
    cuk_softmax_xent(cuda_ctx(b)->stream, n, k, logits, labels, dlogits, ts);
}

static void cuda_health(backend *b, long count, const float *grads, const float *weights, train_scalars *ts)
{
    cuda_backend *cb = cuda_ctx(b);
    cuk_health(cb->stream, count, grads, weights, ts, cb->health_sq, cb->health_bits);
}

static void cuda_sched_step(backend *b, const sched_params *p, const step_policy *pol, int batch,
                            train_scalars *ts, step_record *history, int history_len)
{
    /* p and pol are copied into the launch by value: fixed for the run, so a captured
       graph replays them correctly; the step counter itself lives in ts. */
    cuk_sched_step(cuda_ctx(b)->stream, *p, *pol, batch, ts, history, history_len);
}

static void cuda_sgd_update(backend *b, long count, float *w, const float *g, float *v, const sgd_hyper *h,
                            train_scalars *ts)
{
    cuk_sgd_update(cuda_ctx(b)->stream, count, w, g, v, *h, ts);
}

static void cuda_restore_if_rejected(backend *b, long count, const float *src, float *dst,
                                     const train_scalars *ts)
{
    cuk_restore_if_rejected(cuda_ctx(b)->stream, count, src, dst, ts);
}

/* ---- lifetime ---- */

static void cuda_destroy(backend *b)
{
    if (!b)
        return;
    cuda_backend *cb = cuda_ctx(b);
    /* Teardown reports nothing: errors here would mask the error that led to it. */
    cudaStreamSynchronize(cb->stream);
    cuda_release_graphs(cb);
    cuda_conv_release(cb);
    cuda_bn_release(cb);
    cudaFree(cb->ws);
    cudaFree(cb->cublas_ws);
    cudaFree(cb->health_sq);
    cudaFree(cb->health_bits);
    if (cb->cublas)
        cublasDestroy(cb->cublas);
    if (cb->cudnn)
        cudnnDestroy(cb->cudnn);
    if (cb->stream)
        cudaStreamDestroy(cb->stream);
    free(cb);
}

static const struct backend_ops CUDA_OPS = {
    .name = "cuda",
    .destroy = cuda_destroy,
    .alloc = cuda_alloc,
    .free = cuda_free_op,
    .upload = cuda_upload,
    .download = cuda_download,
    .copy = cuda_copy,
    .zero = cuda_zero,
    .sync = cuda_sync,
    .make_batch = cuda_make_batch,
    .conv_prepare = cuda_conv_prepare,
    .conv_fwd = cuda_conv_fwd,
    .conv_bwd_data = cuda_conv_bwd_data,
    .conv_bwd_filter = cuda_conv_bwd_filter,
    .bn_train_fwd = cuda_bn_train_fwd,
    .bn_infer_fwd = cuda_bn_infer_fwd,
    .bn_bwd = cuda_bn_bwd,
    .relu_fwd = cuda_relu_fwd,
    .add_relu_fwd = cuda_add_relu_fwd,
    .relu_bwd = cuda_relu_bwd,
    .add_acc = cuda_add_acc,
    .shortcut_fwd = cuda_shortcut_fwd,
    .shortcut_bwd_acc = cuda_shortcut_bwd_acc,
    .avgpool_fwd = cuda_avgpool_fwd,
    .avgpool_bwd = cuda_avgpool_bwd,
    .linear_fwd = cuda_linear_fwd,
    .linear_bwd = cuda_linear_bwd,
    .softmax_xent = cuda_softmax_xent,
    .health = cuda_health,
    .sched_step = cuda_sched_step,
    .sgd_update = cuda_sgd_update,
    .restore_if_rejected = cuda_restore_if_rejected,
    .run_step = cuda_run_step,
    .forget_steps = cuda_forget_steps,
};

backend *backend_cuda_create(int device, int strict_fp32, char *err, size_t err_size)
{
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        snprintf(err, err_size, "no usable CUDA device (%s)", cudaGetErrorString(e));
        return NULL;
    }
    if (count == 0) {
        snprintf(err, err_size, "no CUDA device found");
        return NULL;
    }
    if (device < 0 || device >= count) {
        snprintf(err, err_size, "CUDA device %d does not exist (%d found, numbered from 0)", device, count);
        return NULL;
    }
    cuda_backend *cb = calloc(1, sizeof *cb);
    if (!cb) {
        snprintf(err, err_size, "out of host memory allocating the CUDA backend (%zu bytes)", sizeof *cb);
        return NULL;
    }
    cb->base.ops = &CUDA_OPS;
    cb->device = device;
    cb->strict_fp32 = strict_fp32;
    CUDA_CHECK(cudaSetDevice(device));
    /* Non-blocking: no implicit synchronization with the legacy default stream, which a
       library call elsewhere might use; graph capture needs a non-default stream. */
    CUDA_CHECK(cudaStreamCreateWithFlags(&cb->stream, cudaStreamNonBlocking));

    CUDNN_CHECK(cudnnCreate(&cb->cudnn));
    CUDNN_CHECK(cudnnSetStream(cb->cudnn, cb->stream));

    CUBLAS_CHECK(cublasCreate(&cb->cublas));
    /* cublasSetStream resets the handle to cuBLAS's default workspace pool (cuBLAS docs,
       cublasSetStream), so the stream comes first and our own workspace after it. A
       workspace of our own means cuBLAS never allocates during a capture. */
    CUBLAS_CHECK(cublasSetStream(cb->cublas, cb->stream));
    cb->cublas_ws = cuda_alloc_or_die(CUDA_CUBLAS_WORKSPACE, "the cuBLAS workspace");
    CUBLAS_CHECK(cublasSetWorkspace(cb->cublas, cb->cublas_ws, CUDA_CUBLAS_WORKSPACE));
    /* Strict: CUBLAS_PEDANTIC_MATH, "the matching _PEDANTIC compute type" (cublas_api.h):
       fp32 products in fp32 with no reduced-precision shortcut. Otherwise
       CUBLAS_TF32_TENSOR_OP_MATH, the opt-in that lets fp32 SGEMM use TF32 tensor
       cores, matching the cuDNN default the non-strict convolutions use. */
    CUBLAS_CHECK(cublasSetMathMode(cb->cublas, strict_fp32 ? CUBLAS_PEDANTIC_MATH : CUBLAS_TF32_TENSOR_OP_MATH));

    cb->health_sq = cuda_alloc_or_die(sizeof(double) * CUK_MAX_BLOCKS, "the health-check partial sums");
    cb->health_bits = cuda_alloc_or_die(sizeof(int) * CUK_MAX_BLOCKS, "the health-check partial flags");
    return &cb->base;
}
