/* cuda_step.cu: the step-control kernels: batch assembly, softmax cross-entropy, health check, device-side scheduler and fused SGD. */
#include "cuda_kernels.h"
#include "batch.h"
#include "ops_math.h"
#include "sgd.h"
#include "backend/cuda/cuda_check.h"

/*
 * Per-step values (the step counter, the rate, the non-finite flags) are read here from
 * the train_scalars block in device memory, never passed from the host, so the launches
 * can be captured once in a CUDA graph. Reductions are deterministic: fixed grids, each
 * thread summing a fixed set of values in a fixed order, then a fixed tree in shared
 * memory; no atomics on floating-point values. The scheduler and SGD kernels repeat the
 * CPU's arithmetic bit for bit only when nvcc is told not to fuse a*b+c into one FMA
 * (-fmad=false for the CUDA sources): tests/gpu_ops.c checks that.
 */

#define IMG_BYTES 3072 /* 3 planes of 32 x 32 */
#define RED_THREADS CUK_THREADS /* the reduction blocks; the trees below halve it */
static_assert((RED_THREADS & (RED_THREADS - 1)) == 0, "tree reductions need a power of two");

#define GRID_STRIDE(i, count) \
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (count); i += (long)blockDim.x * gridDim.x)

static int grid_for(long count)
{
    const long blocks = (count + CUK_THREADS - 1) / CUK_THREADS;
    return (int)(blocks < CUK_MAX_BLOCKS ? blocks : CUK_MAX_BLOCKS);
}

/* ---- batch assembly: one block per sample; thread 0 draws the plan, all threads write pixels ---- */

__global__ void k_make_batch(const uint8_t *images, const uint8_t *labels, long n_images, batch_spec spec,
                             const train_scalars *ts, float *x, int32_t *y)
{
    __shared__ sample_plan sp;
    const int i = blockIdx.x;
    if (threadIdx.x == 0) {
        if (spec.train) {
            /* The step counter comes from device memory: a replayed graph sees each step's. */
            const long p = ts->sched.step * (long)spec.batch + i;
            sp = batch_plan_train(spec.seed, p, n_images, spec.shuffle, spec.augment);
        } else {
            sp.record = spec.first + i;
            sp.dx = sp.dy = 4;
            sp.flip = 0;
        }
        /* An out-of-range record is a caller bug (the CPU backend exits on it). A kernel
           cannot exit: read record 0 instead of out of bounds and give the sample label
           -1, which softmax_xent turns into a NaN loss that the health check flags. */
        if (sp.record < 0 || sp.record >= n_images) {
            sp.record = 0;
            y[i] = -1;
        } else {
            y[i] = labels[sp.record];
        }
    }
    __syncthreads();
    const uint8_t *rec = images + sp.record * IMG_BYTES;
    float *xi = x + (long)i * IMG_BYTES;
    for (int t = threadIdx.x; t < IMG_BYTES; t += blockDim.x) {
        const int ch = t >> 10, py = (t >> 5) & 31, px = t & 31;
        xi[t] = batch_pixel(rec, &sp, ch, py, px, spec.mean, spec.inv_std);
    }
}

/* ---- softmax cross-entropy: one block; thread t takes samples t, t+256, ... ---- */

__global__ void k_softmax_xent(int n, int k, const float *logits, const int32_t *labels, float *dlogits,
                               train_scalars *ts)
{
    __shared__ double s_loss[RED_THREADS];
    __shared__ int s_correct[RED_THREADS];
    const float inv_n = n > 0 ? 1.0f / (float)n : 0.0f;
    double loss = 0.0;
    int correct = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        /* The shared per-sample function, as in cpu_softmax_xent. */
        const int label = labels[i];
        if (label < 0 || label >= k) {
            /* No exit from a kernel: a NaN loss makes the health check flag the step. */
            loss += nan("");
            continue;
        }
        int hit;
        loss += xent_sample(logits + (long)i * k, k, label, inv_n, dlogits ? dlogits + (long)i * k : NULL, &hit);
        correct += hit;
    }
    s_loss[threadIdx.x] = loss;
    s_correct[threadIdx.x] = correct;
    __syncthreads();
    for (int half = RED_THREADS / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) {
            s_loss[threadIdx.x] += s_loss[threadIdx.x + half];
            s_correct[threadIdx.x] += s_correct[threadIdx.x + half];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        /* Overwritten every step: the block holds this batch's values only. */
        ts->loss = n > 0 ? (float)(s_loss[0] / n) : 0.0f;
        ts->correct = (float)s_correct[0];
    }
}

/* ---- health: pass 1, per-block partial sums of squares and non-finite bits ---- */

/* Sums sq and ORs bits over the block, in a fixed tree order, into s_sq[0] and s_bits[0]. */
__device__ static void block_reduce_sq_bits(double *s_sq, int *s_bits, double sq, int bits)
{
    s_sq[threadIdx.x] = sq;
    s_bits[threadIdx.x] = bits;
    __syncthreads();
    for (int half = RED_THREADS / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) {
            s_sq[threadIdx.x] += s_sq[threadIdx.x + half];
            s_bits[threadIdx.x] |= s_bits[threadIdx.x + half];
        }
        __syncthreads();
    }
}

__global__ void k_health_partial(long count, const float *g, const float *w, double *partial_sq,
                                 int *partial_bits)
{
    __shared__ double s_sq[RED_THREADS];
    __shared__ int s_bits[RED_THREADS];
    double sq = 0.0;
    int bits = 0;
    GRID_STRIDE(i, count)
    {
        const float gi = g[i];
        sq += (double)gi * gi;
        if (nonfinite_one(gi))
            bits |= NONFINITE_GRAD;
        if (w && nonfinite_one(w[i]))
            bits |= NONFINITE_WEIGHT;
    }
    block_reduce_sq_bits(s_sq, s_bits, sq, bits);
    if (threadIdx.x == 0) {
        partial_sq[blockIdx.x] = s_sq[0];
        partial_bits[blockIdx.x] = s_bits[0];
    }
}

/* ---- health: pass 2, one block folds the partials in a fixed order ---- */

__global__ void k_health_final(int n_partials, const double *partial_sq, const int *partial_bits,
                               train_scalars *ts)
{
    __shared__ double s_sq[RED_THREADS];
    __shared__ int s_bits[RED_THREADS];
    double sq = 0.0;
    int bits = 0;
    for (int i = threadIdx.x; i < n_partials; i += blockDim.x) {
        sq += partial_sq[i];
        bits |= partial_bits[i];
    }
    block_reduce_sq_bits(s_sq, s_bits, sq, bits);
    if (threadIdx.x == 0) {
        ts->grad_sq = (float)s_sq[0];
        /* Overwritten, not OR-ed into: the flags are this step's alone. */
        ts->nonfinite = (nonfinite_one(ts->loss) ? NONFINITE_LOSS : 0) | s_bits[0];
    }
}

/* ---- scheduler: one thread ---- */

/* One thread runs the shared sched_step_one (kernels/train_scalars.h), as the CPU backend
   does. The parameters arrive by value (sched_params is plain data), fixed for the run. */
__global__ void k_sched_step(sched_params p, step_policy pol, int batch, train_scalars *ts,
                             step_record *history, int history_len)
{
    sched_step_one(&p, &pol, batch, ts, history, history_len);
}

/* ---- SGD: one pass over the flat buffers with the device-side rate ---- */

__global__ void k_sgd_update(long count, float *w, const float *g, float *v, sgd_hyper h,
                             const train_scalars *ts)
{
    /* The scheduler's judgement already ran this step; every thread reads the same
       flags, and nothing in this kernel writes them, so all threads agree. */
    if (ts->nonfinite != 0 || ts->halted != 0)
        return;
    const float lr = ts->lr;
    GRID_STRIDE(i, count)
    {
        float wi = w[i], vi = v[i];
        sgd_update_one(&wi, g[i], &vi, lr, h.momentum, h.weight_decay, h.nesterov);
        w[i] = wi;
        v[i] = vi;
    }
}

/* ---- undo a rejected step's side effects (BN running statistics) ---- */

__global__ void k_restore_if_rejected(long count, const float *src, float *dst, const train_scalars *ts)
{
    if (ts->nonfinite == 0 && ts->halted == 0)
        return;
    GRID_STRIDE(i, count)
    {
        dst[i] = src[i];
    }
}

extern "C" {

void cuk_make_batch(cudaStream_t st, const uint8_t *images, const uint8_t *labels, long n_images,
                    batch_spec spec, const train_scalars *ts, float *x, int32_t *y)
{
    if (spec.batch <= 0)
        return;
    k_make_batch<<<spec.batch, CUK_THREADS, 0, st>>>(images, labels, n_images, spec, ts, x, y);
    CUDA_LAUNCH_CHECK();
}

void cuk_softmax_xent(cudaStream_t st, int n, int k, const float *logits, const int32_t *labels,
                      float *dlogits, train_scalars *ts)
{
    k_softmax_xent<<<1, RED_THREADS, 0, st>>>(n, k, logits, labels, dlogits, ts);
    CUDA_LAUNCH_CHECK();
}

void cuk_health(cudaStream_t st, long count, const float *grads, const float *weights, train_scalars *ts,
                double *partial_sq, int *partial_bits)
{
    /* At least one block, so the final pass always has a partial to read. */
    const int blocks = count > 0 ? grid_for(count) : 1;
    k_health_partial<<<blocks, RED_THREADS, 0, st>>>(count, grads, weights, partial_sq, partial_bits);
    CUDA_LAUNCH_CHECK();
    k_health_final<<<1, RED_THREADS, 0, st>>>(blocks, partial_sq, partial_bits, ts);
    CUDA_LAUNCH_CHECK();
}

void cuk_sched_step(cudaStream_t st, sched_params p, step_policy pol, int batch, train_scalars *ts,
                    step_record *history, int history_len)
{
    k_sched_step<<<1, 1, 0, st>>>(p, pol, batch, ts, history, history_len);
    CUDA_LAUNCH_CHECK();
}

void cuk_sgd_update(cudaStream_t st, long count, float *w, const float *g, float *v, sgd_hyper h,
                    train_scalars *ts)
{
    if (count <= 0)
        return;
    k_sgd_update<<<grid_for(count), CUK_THREADS, 0, st>>>(count, w, g, v, h, ts);
    CUDA_LAUNCH_CHECK();
}

void cuk_restore_if_rejected(cudaStream_t st, long count, const float *src, float *dst,
                             const train_scalars *ts)
{
    if (count <= 0)
        return;
    k_restore_if_rejected<<<grid_for(count), CUK_THREADS, 0, st>>>(count, src, dst, ts);
    CUDA_LAUNCH_CHECK();
}

} /* extern "C" */
