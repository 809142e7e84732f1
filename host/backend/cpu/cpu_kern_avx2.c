/* cpu_kern_avx2.c: the cpu_kernels variant for AVX2 (16 registers of 8 floats; no FMA), compiled with -mavx2 and used only where the processor has it. */
#define KERN_VW 8
#define KERN_MR 4
#define KERN_NP 2 /* 8 accumulators + 2 loaded vectors + a broadcast */
#define KERN_WACC 12
#define KERN_WMV 2 /* up to 2 x 6: 12 accumulators + 2 loaded + a broadcast */
#define KERN_TABLE cpu_kernels_avx2
#define KERN_NAME "avx2"
#include "backend/cpu/cpu_kern_impl.h"
