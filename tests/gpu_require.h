/* gpu_require.h: how every gpu test gets its CUDA backend: skipped (exit 77) without a usable device, failed instead when RESNET_REQUIRE_GPU=1 says a device must be there. */
#ifndef GPU_REQUIRE_H
#define GPU_REQUIRE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/backend.h"
#include "testlib.h"

/*
 * On a machine without a GPU the gpu tests skip, so that the suite passes there. On the
 * machine that is meant to have one (bench/gpu_check.sh sets RESNET_REQUIRE_GPU=1), a
 * missing device, a driver older than the runtime or a build without CUDA is what the
 * run must report, not four skips that read as a clean stage.
 */
static int gpu_required(void)
{
    const char *v = getenv("RESNET_REQUIRE_GPU");
    return v && *v && strcmp(v, "0") != 0;
}

/* The CUDA backend on device 0, or a skip, or (required) exit 1 with the reason. */
static backend *gpu_backend_or_skip(const char *test, int strict_fp32)
{
    char err[256] = "";
    const int count = backend_cuda_device_count();
    backend *g = backend_cuda_create(0, strict_fp32, err, sizeof err);
    if (g)
        return g;
    if (count > 0) {
        fprintf(stderr, "%s: a CUDA device is there but the backend cannot be created: %s\n", test, err);
        exit(1);
    }
    if (gpu_required()) {
        fprintf(stderr, "%s: FAILED: RESNET_REQUIRE_GPU=%s asks for a GPU, and there is none usable: %s\n", test,
                getenv("RESNET_REQUIRE_GPU"), err);
        exit(1);
    }
    char reason[400];
    snprintf(reason, sizeof reason, "no usable CUDA device (%s); the gpu tests need one "
                                    "(RESNET_REQUIRE_GPU=1 makes this a failure)", err);
    test_skip(reason);
    return NULL;
}

#endif
