/* cpu_kern_avx2.c: the cpu_kernels variant for AVX2 with FMA (16 registers of 8 floats), compiled with -mavx2 -mfma and used only where the processor has both. */
#define KERN_VW 8
#define KERN_MR 4
#define KERN_NP 3  /* 12 accumulators + 3 loaded vectors + a broadcast */
#define KERN_WACC 12
#define KERN_WMV 2 /* 2 x 6: 12 accumulators + 2 loaded + a broadcast */
#define KERN_HWC_WM1 4 /* wgrad_hwc: rows m per tile for 1, 2, 4 channel vectors (12 accumulators each) */
#define KERN_HWC_WM2 2
#define KERN_HWC_WM4 1
#define KERN_TABLE cpu_kernels_avx2
#define KERN_NAME "avx2"
#include "backend/cpu/cpu_kern_impl.h"
