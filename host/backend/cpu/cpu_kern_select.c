/* cpu_kern_select.c: which cpu_kernels variant this processor runs, and the RESNET_CPU_KERNELS override. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/cpu/cpu_kern.h"

/* Widest first. The x86 variants are built only for x86-64 (RESNET_KERN_X86). */
static const cpu_kernels *const VARIANTS[] = {
#ifdef RESNET_KERN_X86
    &cpu_kernels_avx512,
    &cpu_kernels_avx2,
#endif
    &cpu_kernels_baseline,
};
#define N_VARIANTS ((int)(sizeof VARIANTS / sizeof VARIANTS[0]))

int cpu_kernels_supported(const cpu_kernels *k)
{
#ifdef RESNET_KERN_X86
    /* libgcc's check includes the OS's support (XGETBV) for the wider registers. */
    __builtin_cpu_init();
    if (k == &cpu_kernels_avx512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    if (k == &cpu_kernels_avx2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return k == &cpu_kernels_baseline;
}

const cpu_kernels *cpu_kernels_pick(char *err, unsigned long err_size)
{
    const char *want = getenv("RESNET_CPU_KERNELS");
    if (want && *want) {
        char known[64] = "";
        for (int i = 0; i < N_VARIANTS; i++) {
            if (!strcmp(want, VARIANTS[i]->name)) {
                if (cpu_kernels_supported(VARIANTS[i]))
                    return VARIANTS[i];
                snprintf(err, err_size, "RESNET_CPU_KERNELS=%s: this processor does not run the %s kernels",
                         want, want);
                return NULL;
            }
            strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
            strncat(known, VARIANTS[i]->name, sizeof known - strlen(known) - 1);
        }
        snprintf(err, err_size, "RESNET_CPU_KERNELS=%s: expected one of %s", want, known);
        return NULL;
    }
    for (int i = 0; i < N_VARIANTS; i++)
        if (cpu_kernels_supported(VARIANTS[i]))
            return VARIANTS[i];
#ifdef RESNET_KERN_X86
    fprintf(stderr, "cpu backend: warning: this processor has neither AVX2 with FMA nor AVX-512; the baseline "
                    "kernels compute the same bits through the C library's fmaf, many times slower\n");
#endif
    return &cpu_kernels_baseline;
}
