/* cpu_kern_base.c: the cpu_kernels variant for any processor (SSE2 on x86-64: 16 registers of 4 floats), compiled with the build's default flags. */
#define KERN_VW 4
#define KERN_MR 4
#define KERN_NP 2 /* 8 accumulators + 2 loaded vectors + a broadcast */
#define KERN_WACC 12
#define KERN_WMV 2 /* up to 2 x 6: 12 accumulators + 2 loaded + a broadcast */
#define KERN_TABLE cpu_kernels_baseline
#define KERN_NAME "baseline"
#include "backend/cpu/cpu_kern_impl.h"
