/* cuda_check.h: CUDA_CHECK / CUDNN_CHECK / CUBLAS_CHECK and CUDA_LAUNCH_CHECK, the one way every GPU call is checked. */
#ifndef CUDA_CHECK_H
#define CUDA_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <cublas_v2.h>
#include "common/exitcodes.h"

/*
 * A failed GPU call cannot be recovered inside a training step (the stream, and often
 * the context, are poisoned), so the checks report and exit with EXIT_RUNTIME. The
 * report names the expression, where it is, and what the library says, because a
 * GPU failure is usually read from a log long after the run.
 */

/* What a failed graph call, or an error only a capture produces, adds to its report:
   the same run goes on without graphs, and that run tells whether the graph is at fault. */
#define CUDA_GRAPH_HINT                                                                  \
    "the CUDA graph of the training step failed; the run can go on without graphs: "    \
    "rerun with --set train.cuda_graph=false (or train.cuda_graph: false in the config)"

__attribute__((noreturn)) static inline void gpu_check_fail(const char *lib, const char *expr,
                                                            const char *file, int line, const char *msg,
                                                            const char *hint)
{
    fprintf(stderr, "resnet: %s call failed: %s\n  at %s:%d\n  %s\n", lib, expr, file, line, msg);
    if (hint)
        fprintf(stderr, "  %s\n", hint);
    fflush(stderr);
    exit(EXIT_RUNTIME);
}

/* The errors that only stream capture produces (driver_types.h, 900-910): whichever call
   reports one, a graph is involved. */
static inline const char *cuda_error_hint(cudaError_t e)
{
    return (e >= cudaErrorStreamCaptureUnsupported && e <= cudaErrorStreamCaptureWrongThread) ||
                   e == cudaErrorGraphExecUpdateFailure
               ? CUDA_GRAPH_HINT
               : NULL;
}

static inline const char *graph_hint(cudaError_t e)
{
    (void)e;
    return CUDA_GRAPH_HINT;
}

static inline const char *no_hint(int status)
{
    (void)status;
    return NULL;
}

/* The one macro: evaluates `expr` once, compares with the library's success value. */
#define GPU_CHECK_(lib, type, ok, to_string, hint_of, expr)                                    \
    do {                                                                                       \
        const type gpu_status_ = (expr);                                                       \
        if (gpu_status_ != (ok))                                                               \
            gpu_check_fail(lib, #expr, __FILE__, __LINE__, to_string(gpu_status_), hint_of(gpu_status_)); \
    } while (0)

#define CUDA_CHECK(expr) GPU_CHECK_("CUDA", cudaError_t, cudaSuccess, cudaGetErrorString, cuda_error_hint, expr)
/* For the graph calls themselves (begin/end capture, instantiate, launch): every failure
   carries the hint. */
#define CUDA_GRAPH_CHECK(expr) GPU_CHECK_("CUDA", cudaError_t, cudaSuccess, cudaGetErrorString, graph_hint, expr)
#define CUDNN_CHECK(expr) \
    GPU_CHECK_("cuDNN", cudnnStatus_t, CUDNN_STATUS_SUCCESS, cudnnGetErrorString, no_hint, expr)
#define CUBLAS_CHECK(expr) \
    GPU_CHECK_("cuBLAS", cublasStatus_t, CUBLAS_STATUS_SUCCESS, cublasGetStatusString, no_hint, expr)

/*
 * After every kernel launch: a bad launch configuration shows up only in
 * cudaGetLastError. The sync-check build also waits for the kernel, so a fault is
 * reported at the launch that caused it rather than at some later call; that build
 * cannot capture CUDA graphs (synchronizing inside a capture is illegal), and
 * run_step falls back to plain launches there.
 */
#ifdef RESNET_CUDA_SYNC_CHECK
#define CUDA_LAUNCH_CHECK()                       \
    do {                                          \
        CUDA_CHECK(cudaGetLastError());           \
        CUDA_CHECK(cudaDeviceSynchronize());      \
    } while (0)
#else
#define CUDA_LAUNCH_CHECK() CUDA_CHECK(cudaGetLastError())
#endif

/* The out-of-memory report: how much, for what, and what the user can lower. */
static inline void gpu_report_oom(size_t bytes, const char *what)
{
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess)
        (void)cudaGetLastError();
    fprintf(stderr,
            "resnet: out of GPU memory allocating %zu bytes (%.1f MiB) for %s "
            "(%.1f MiB free of %.1f MiB); lower train.batch_size or model.depth\n",
            bytes, (double)bytes / 1048576.0, what ? what : "a buffer",
            (double)free_b / 1048576.0, (double)total_b / 1048576.0);
}

/* ---- cuda_fail.c: the helpers every CUDA host file may call ---- */
#ifdef __cplusplus
extern "C" {
#endif
/* Reports "resnet: cuda backend: <message>" and exits with EXIT_RUNTIME. */
__attribute__((noreturn)) void cuda_fatal(const char *fmt, ...);
/* cudaMalloc that reports out-of-memory (bytes, purpose, what to lower) and exits. */
void *cuda_alloc_or_die(size_t bytes, const char *what);
/* Exits with a message when `stream` is being captured: for work that cannot be
   recorded into a graph (algorithm search, allocation). */
void cuda_forbid_capture(cudaStream_t stream, const char *what);
#ifdef __cplusplus
}
#endif

#endif
