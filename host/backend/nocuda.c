/* nocuda.c: the CUDA backend's entry points in a build without CUDA (RESNET_CUDA=OFF). */
#include <stdio.h>
#include "backend/backend.h"

backend *backend_cuda_create(int device, int strict_fp32, char *err, size_t err_size)
{
    (void)device;
    (void)strict_fp32;
    snprintf(err, err_size, "this build has no CUDA backend (configured with RESNET_CUDA=OFF)");
    return NULL;
}

int backend_cuda_device_count(void) { return 0; }

void backend_cuda_info(void)
{
    printf("cuda: not built (configured with RESNET_CUDA=OFF)\n");
    printf("devices: none (no CUDA in this build)\n");
}
