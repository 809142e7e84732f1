/* cpu_info.c: the CPU backend's lines in `resnet info`: which kernel variant this processor runs and what train.threads 0 stands for here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/cpu/cpu_internal.h"

void backend_cpu_info(void)
{
    char err[160];
    const cpu_kernels *k = cpu_kernels_pick(err, sizeof err);
    const cpu_kernels *const all[] = {&cpu_kernels_baseline,
#ifdef RESNET_KERN_X86
                                      &cpu_kernels_avx2, &cpu_kernels_avx512
#endif
    };
    char runs[64] = "";
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (cpu_kernels_supported(all[i])) {
            strncat(runs, *runs ? ", " : "", sizeof runs - strlen(runs) - 1);
            strncat(runs, all[i]->name, sizeof runs - strlen(runs) - 1);
        }
    if (k)
        printf("cpu kernels: %s (this processor runs %s; every variant computes the same bits)\n", k->name, runs);
    else
        printf("cpu kernels: %s\n", err);
    const int jobs = backend_cpu_parallel_jobs();
    printf("cpu threads: train.threads 0 (auto) = %d here (%d cores allowed", backend_cpu_auto_threads(),
           cpu_cores_allowed());
    if (jobs > 1)
        printf(", shared by %s=%d processes", RESNET_PARALLEL_JOBS_ENV, jobs);
    printf("); results do not depend on it\n");
}
