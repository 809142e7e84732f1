/* cuda_fail.c: the CUDA backend's fatal-error helpers (fatal message, checked allocation, capture guard), below every cuda_*.c that uses them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "backend/cuda/cuda_check.h"

void cuda_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("resnet: cuda backend: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(EXIT_RUNTIME);
}

void *cuda_alloc_or_die(size_t bytes, const char *what)
{
    void *p = NULL;
    const cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError(); /* allocation failures are not sticky; clear the record */
        gpu_report_oom(bytes, what);
        exit(EXIT_RUNTIME);
    }
    CUDA_CHECK(e);
    return p;
}

void cuda_forbid_capture(cudaStream_t stream, const char *what)
{
    enum cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
    CUDA_CHECK(cudaStreamIsCapturing(stream, &st));
    if (st != cudaStreamCaptureStatusNone)
        cuda_fatal("%s is not allowed while a CUDA graph is being captured; do it before the first "
                   "captured step (a warm-up step without capture does it)", what);
}
