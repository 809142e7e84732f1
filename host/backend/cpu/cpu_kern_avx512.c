/* cpu_kern_avx512.c: the cpu_kernels variant for AVX-512F (32 registers of 16 floats), compiled with -mavx512f -mfma and used only where the processor has both. */
#define KERN_VW 16
#define KERN_MR 8
#define KERN_NP 3   /* 24 accumulators + 3 loaded vectors + a broadcast */
#define KERN_WACC 24
#define KERN_WMV 4  /* 4 x 6: 24 accumulators + 4 loaded vectors + a broadcast */
#define KERN_WJ1 12 /* one vector of m: 12 rows j (24 row pointers would not fit the integer registers) */
/* wgrad_hwc: rows m per tile for 1 and 2 channel vectors (24 accumulators). Not 4
   vectors (2 rows): GCC then reads each loaded vector twice from memory, and 64
   channels run faster as two halves of 2. */
#define KERN_HWC_WM1 8
#define KERN_HWC_WM2 4
#define KERN_HWC_WM4 0
#define KERN_TABLE cpu_kernels_avx512
#define KERN_NAME "avx512"
#include "backend/cpu/cpu_kern_impl.h"
