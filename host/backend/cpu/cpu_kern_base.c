/* cpu_kern_base.c: the cpu_kernels variant for any processor, compiled with the build's default flags (on x86-64: SSE2, the FMA through fmaf). */
#define KERN_VW 4
#define KERN_MR 4
#define KERN_NP 2  /* 8 accumulators + 2 loaded vectors + a broadcast */
#define KERN_WACC 12
#define KERN_WMV 2 /* 2 x 6: 12 accumulators + 2 loaded + a broadcast */
#define KERN_HWC_WM1 4 /* wgrad_hwc: rows m per tile for 1, 2, 4 channel vectors (12 accumulators each) */
#define KERN_HWC_WM2 2
#define KERN_HWC_WM4 1
#define KERN_TABLE cpu_kernels_baseline
#define KERN_NAME "baseline"
#include "backend/cpu/cpu_kern_impl.h"
