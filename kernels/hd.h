/* hd.h: the HD macro, which marks math shared by the CPU backend and the CUDA kernels (host+device under nvcc). */
#ifndef HD_H
#define HD_H

#ifdef __CUDACC__
#define HD __host__ __device__
#else
#define HD
#endif

#endif
