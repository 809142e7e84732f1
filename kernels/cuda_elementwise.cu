/* cuda_elementwise.cu: ReLU, add+ReLU, accumulate, option-A shortcut, global average pool and the classifier bias, as grid-stride loops. */
#include "cuda_kernels.h"
#include "ops_math.h"
#include "backend/cuda/cuda_check.h"

/*
 * Each kernel is the GPU twin of a loop in host/backend/cpu/cpu_ops.c around the same ops_math.h
 * function, with the same arithmetic in the same order, so tests/gpu_ops.c can demand
 * bit-identical results, provided nvcc does not contract a*b+c into an FMA (-fmad=false
 * for the CUDA sources). Indices are long: a batch of activations can pass 2^31 values.
 */

#define GRID_STRIDE(i, count) \
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (count); i += (long)blockDim.x * gridDim.x)

static int grid_for(long count)
{
    const long blocks = (count + CUK_THREADS - 1) / CUK_THREADS;
    return (int)(blocks < CUK_MAX_BLOCKS ? blocks : CUK_MAX_BLOCKS);
}

__global__ void k_relu_fwd(long count, const float *x, float *y)
{
    GRID_STRIDE(i, count)
    y[i] = relu_one(x[i]);
}

__global__ void k_add_relu_fwd(long count, const float *a, const float *c, float *y)
{
    GRID_STRIDE(i, count)
    y[i] = relu_one(a[i] + c[i]);
}

__global__ void k_relu_bwd(long count, const float *y, const float *dy, float *dx)
{
    GRID_STRIDE(i, count)
    dx[i] = relu_grad_one(y[i], dy[i]);
}

__global__ void k_add_acc(long count, const float *x, float *y)
{
    GRID_STRIDE(i, count)
    y[i] += x[i];
}

/* One thread per output value; see cpu_shortcut_fwd for the padding convention
   (pad = (c_out - c_in) / 2 zero channels before the identity, the rest after). */
__global__ void k_shortcut_fwd(long count, int c_in, int h, int w, int c_out, const float *x, float *y)
{
    const int oh = (h + 1) / 2, ow = (w + 1) / 2, pad = (c_out - c_in) / 2;
    GRID_STRIDE(i, count)
    {
        const int ox = (int)(i % ow);
        long t = i / ow;
        const int oy = (int)(t % oh);
        t /= oh;
        const int co = (int)(t % c_out);
        const long n = t / c_out;
        const int ci = co - pad;
        y[i] = (ci >= 0 && ci < c_in) ? x[((n * c_in + ci) * h + 2 * oy) * (long)w + 2 * ox] : 0.0f;
    }
}

/* One thread per identity value of dy (count = n * c_in * oh * ow): each dx value is
   written by at most one thread, so the accumulation needs no atomics. */
__global__ void k_shortcut_bwd_acc(long count, int c_in, int h, int w, int c_out, const float *dy, float *dx)
{
    const int oh = (h + 1) / 2, ow = (w + 1) / 2, pad = (c_out - c_in) / 2;
    GRID_STRIDE(i, count)
    {
        const int ox = (int)(i % ow);
        long t = i / ow;
        const int oy = (int)(t % oh);
        t /= oh;
        const int ci = (int)(t % c_in);
        const long n = t / c_in;
        dx[((n * c_in + ci) * h + 2 * oy) * (long)w + 2 * ox] +=
            dy[((n * c_out + ci + pad) * oh + oy) * (long)ow + ox];
    }
}

/* One thread per (sample, channel) plane, summing in double in index order and dividing
   in double, exactly as cpu_avgpool_fwd: both round the same double to float. */
__global__ void k_avgpool_fwd(long planes, int hw, const float *x, float *y)
{
    GRID_STRIDE(p, planes)
    {
        const float *xp = x + p * hw;
        double sum = 0.0;
        for (int j = 0; j < hw; j++)
            sum += xp[j];
        y[p] = (float)(sum / hw);
    }
}

/* dx = dy * (1/hw), the reciprocal rounded to float first, as cpu_avgpool_bwd. */
__global__ void k_avgpool_bwd(long count, int hw, const float *dy, float *dx)
{
    const float inv = 1.0f / (float)hw;
    GRID_STRIDE(i, count)
    dx[i] = dy[i / hw] * inv;
}

__global__ void k_bias_add(long count, int out, const float *bias, float *y)
{
    GRID_STRIDE(i, count)
    y[i] += bias[i % out];
}

/* One thread per output column, rows in order, accumulated in double as cpu_linear_bwd. */
__global__ void k_bias_grad(int n, int out, const float *dy, float *dbias)
{
    GRID_STRIDE(o, (long)out)
    {
        double s = 0.0;
        for (int i = 0; i < n; i++)
            s += dy[(long)i * out + o];
        dbias[o] = (float)s;
    }
}

extern "C" {

void cuk_relu_fwd(cudaStream_t st, long count, const float *x, float *y)
{
    if (count <= 0)
        return;
    k_relu_fwd<<<grid_for(count), CUK_THREADS, 0, st>>>(count, x, y);
    CUDA_LAUNCH_CHECK();
}

void cuk_add_relu_fwd(cudaStream_t st, long count, const float *a, const float *c, float *y)
{
    if (count <= 0)
        return;
    k_add_relu_fwd<<<grid_for(count), CUK_THREADS, 0, st>>>(count, a, c, y);
    CUDA_LAUNCH_CHECK();
}

void cuk_relu_bwd(cudaStream_t st, long count, const float *y, const float *dy, float *dx)
{
    if (count <= 0)
        return;
    k_relu_bwd<<<grid_for(count), CUK_THREADS, 0, st>>>(count, y, dy, dx);
    CUDA_LAUNCH_CHECK();
}

void cuk_add_acc(cudaStream_t st, long count, const float *x, float *y)
{
    if (count <= 0)
        return;
    k_add_acc<<<grid_for(count), CUK_THREADS, 0, st>>>(count, x, y);
    CUDA_LAUNCH_CHECK();
}

void cuk_shortcut_fwd(cudaStream_t st, int n, int c_in, int h, int w, int c_out, const float *x, float *y)
{
    const long count = (long)n * c_out * ((h + 1) / 2) * ((w + 1) / 2);
    if (count <= 0)
        return;
    k_shortcut_fwd<<<grid_for(count), CUK_THREADS, 0, st>>>(count, c_in, h, w, c_out, x, y);
    CUDA_LAUNCH_CHECK();
}

void cuk_shortcut_bwd_acc(cudaStream_t st, int n, int c_in, int h, int w, int c_out, const float *dy,
                          float *dx)
{
    const long count = (long)n * c_in * ((h + 1) / 2) * ((w + 1) / 2);
    if (count <= 0)
        return;
    k_shortcut_bwd_acc<<<grid_for(count), CUK_THREADS, 0, st>>>(count, c_in, h, w, c_out, dy, dx);
    CUDA_LAUNCH_CHECK();
}

void cuk_avgpool_fwd(cudaStream_t st, int n, int c, int hw, const float *x, float *y)
{
    const long planes = (long)n * c;
    if (planes <= 0 || hw <= 0)
        return;
    k_avgpool_fwd<<<grid_for(planes), CUK_THREADS, 0, st>>>(planes, hw, x, y);
    CUDA_LAUNCH_CHECK();
}

void cuk_avgpool_bwd(cudaStream_t st, int n, int c, int hw, const float *dy, float *dx)
{
    const long count = (long)n * c * hw;
    if (count <= 0)
        return;
    k_avgpool_bwd<<<grid_for(count), CUK_THREADS, 0, st>>>(count, hw, dy, dx);
    CUDA_LAUNCH_CHECK();
}

void cuk_bias_add(cudaStream_t st, int n, int out, const float *bias, float *y)
{
    const long count = (long)n * out;
    if (count <= 0)
        return;
    k_bias_add<<<grid_for(count), CUK_THREADS, 0, st>>>(count, out, bias, y);
    CUDA_LAUNCH_CHECK();
}

void cuk_bias_grad(cudaStream_t st, int n, int out, const float *dy, float *dbias)
{
    if (out <= 0)
        return;
    k_bias_grad<<<grid_for(out), CUK_THREADS, 0, st>>>(n, out, dy, dbias);
    CUDA_LAUNCH_CHECK();
}

} /* extern "C" */
