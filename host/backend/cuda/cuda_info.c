/* cuda_info.c: CUDA device discovery and the CUDA lines of `resnet info` (build versions, loaded library versions, devices). */
#include <stdio.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <cublas_v2.h>
#include <library_types.h>
#include "backend/backend.h"

/*
 * Neither function exits on a missing device or driver: `resnet info` must work on any
 * machine, and `train.backend: auto` falls back to the CPU when the count is 0.
 */

int backend_cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        /* cudaErrorNoDevice, cudaErrorInsufficientDriver, no driver at all: none usable. */
        (void)cudaGetLastError();
        return 0;
    }
    return n;
}

/* CUDA runtime/driver versions are 1000 * major + 10 * minor. */
static void print_cuda_version(const char *label, int v)
{
    printf("%s %d.%d", label, v / 1000, (v % 1000) / 10);
}

void backend_cuda_info(void)
{
    int rt = 0, drv = 0;
    if (cudaRuntimeGetVersion(&rt) != cudaSuccess)
        (void)cudaGetLastError();
    if (cudaDriverGetVersion(&drv) != cudaSuccess)
        (void)cudaGetLastError();
    print_cuda_version("cuda: runtime", rt);
    print_cuda_version(" (static; built against", CUDART_VERSION);
    if (drv > 0)
        print_cuda_version("), driver supports", drv);
    else
        printf("), driver: none found");
    printf("\n");

    /* cuDNN and cuBLAS versions are 10000 * major + 100 * minor + patch. Both calls
       only read the loaded library's constants and need no device. */
    const size_t dnn = cudnnGetVersion();
    printf("cudnn: %zu.%zu.%zu loaded (built against %d.%d.%d)%s\n", dnn / 10000, (dnn % 10000) / 100, dnn % 100,
           CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL,
           dnn / 10000 == (size_t)CUDNN_MAJOR ? "" : "  WARNING: major version differs from the build");
    int bmaj = 0, bmin = 0, bpatch = 0;
    if (cublasGetProperty(MAJOR_VERSION, &bmaj) != CUBLAS_STATUS_SUCCESS ||
        cublasGetProperty(MINOR_VERSION, &bmin) != CUBLAS_STATUS_SUCCESS ||
        cublasGetProperty(PATCH_LEVEL, &bpatch) != CUBLAS_STATUS_SUCCESS)
        printf("cublas: version unknown (built against %d.%d.%d)\n", CUBLAS_VER_MAJOR, CUBLAS_VER_MINOR,
               CUBLAS_VER_PATCH);
    else
        printf("cublas: %d.%d.%d loaded (built against %d.%d.%d)\n", bmaj, bmin, bpatch, CUBLAS_VER_MAJOR,
               CUBLAS_VER_MINOR, CUBLAS_VER_PATCH);

    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        printf("devices: none found (%s)\n", cudaGetErrorString(e));
        return;
    }
    if (n == 0) {
        printf("devices: none found (the driver reports 0 CUDA devices)\n");
        return;
    }
    printf("devices: %d\n", n);
    for (int i = 0; i < n; i++) {
        struct cudaDeviceProp prop;
        if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
            const cudaError_t pe = cudaGetLastError();
            printf("  device %d: properties unavailable (%s)\n", i, cudaGetErrorString(pe));
            continue;
        }
        printf("  device %d: %s, compute capability %d.%d, %.1f GiB, %d SMs\n", i, prop.name, prop.major,
               prop.minor, (double)prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0), prop.multiProcessorCount);
    }
}
