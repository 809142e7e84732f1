/* cuda_conv.c: convolutions through cuDNN's legacy API: per-shape descriptors, one algorithm search per shape, one shared workspace. */
#include <stdio.h>
#include <stdlib.h>
#include "backend/cuda/cuda_internal.h"
#include "backend/cuda/cuda_check.h"

/*
 * cuDNN 9 still ships the legacy convolution API (cudnn_cnn.h; marked deprecated, with
 * warnings only under CUDNN_WARN_DEPRECATED). It is used here because it is small, and
 * because its algorithm search reports per algorithm the two facts we need: whether it
 * is deterministic and which math type it ran.
 *
 * Rules this file keeps:
 *   - all setup (descriptors, search, workspace growth) happens in conv_prepare, before
 *     any graph capture; a step only looks its shape up in a small table;
 *   - beta = 0 in every call: the outputs are overwritten (cuDNN does not read the
 *     output when beta is zero, so a stale or NaN-filled buffer is harmless);
 *   - backward algorithms must be CUDNN_DETERMINISTIC (backward-data ALGO_0 and
 *     backward-filter ALGO_0/ALGO_3 use atomics and change in the last bits from run
 *     to run), so repeated runs and graph vs. no-graph runs agree bit for bit;
 *   - strict_fp32: CUDNN_FMA_MATH on the descriptors (no TF32 tensor cores; the default
 *     math type permits TF32 on Ampere and later), results whose reported math type is
 *     not FMA are rejected, and only the GEMM-family algorithms are accepted: FFT and
 *     Winograd transforms carry their own rounding error, well above the ~1e-6 of a
 *     direct fp32 dot product, which would blur the GPU-vs-CPU comparison the strict
 *     mode exists for;
 *   - otherwise CUDNN_DEFAULT_MATH (TF32 allowed, as PyTorch's default for fp32
 *     convolutions) and any deterministic algorithm, fastest first.
 * When the search offers nothing acceptable, a fixed always-supported algorithm
 * (implicit GEMM forward, ALGO_1 backward) is used instead.
 */

static const float ONE = 1.0f, ZERO = 0.0f;

static int same_shape(const conv_shape *a, const conv_shape *b)
{
    return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w && a->k == b->k && a->r == b->r &&
           a->stride == b->stride && a->pad == b->pad;
}

static cuda_conv *find_conv(cuda_backend *cb, const conv_shape *s)
{
    for (int i = 0; i < cb->n_convs; i++)
        if (same_shape(&cb->convs[i].s, s))
            return &cb->convs[i];
    return NULL;
}

/* Grows the shared workspace; never shrinks it (several shapes take turns using it). */
static void ensure_workspace(cuda_backend *cb, size_t bytes)
{
    if (bytes <= cb->ws_size)
        return;
    cuda_forbid_capture(cb->stream, "growing the cuDNN workspace");
    /* Work already queued may still use the old buffer. */
    CUDA_CHECK(cudaStreamSynchronize(cb->stream));
    /* Captured steps hold the old address: drop them; run_step captures them again. */
    cuda_forget_graphs(cb, NULL);
    CUDA_CHECK(cudaFree(cb->ws));
    cb->ws = NULL;
    cb->ws_size = 0;
    cb->ws = cuda_alloc_or_die(bytes, "the cuDNN convolution workspace");
    cb->ws_size = bytes;
}

static int math_ok(const cuda_backend *cb, cudnnMathType_t m)
{
    return !cb->strict_fp32 || m == CUDNN_FMA_MATH;
}

static int fwd_ok(const cuda_backend *cb, const cudnnConvolutionFwdAlgoPerf_t *p)
{
    if (p->status != CUDNN_STATUS_SUCCESS || p->determinism != CUDNN_DETERMINISTIC ||
        p->memory > CUDA_CONV_WORKSPACE_CAP || !math_ok(cb, p->mathType))
        return 0;
    if (cb->strict_fp32)
        return p->algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM ||
               p->algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ||
               p->algo == CUDNN_CONVOLUTION_FWD_ALGO_GEMM || p->algo == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
    return 1;
}

static int bwd_data_ok(const cuda_backend *cb, const cudnnConvolutionBwdDataAlgoPerf_t *p)
{
    if (p->status != CUDNN_STATUS_SUCCESS || p->determinism != CUDNN_DETERMINISTIC ||
        p->memory > CUDA_CONV_WORKSPACE_CAP || !math_ok(cb, p->mathType))
        return 0;
    if (cb->strict_fp32)
        return p->algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
    return 1;
}

static int bwd_filter_ok(const cuda_backend *cb, const cudnnConvolutionBwdFilterAlgoPerf_t *p)
{
    if (p->status != CUDNN_STATUS_SUCCESS || p->determinism != CUDNN_DETERMINISTIC ||
        p->memory > CUDA_CONV_WORKSPACE_CAP || !math_ok(cb, p->mathType))
        return 0;
    if (cb->strict_fp32)
        return p->algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
    return 1;
}

static void make_conv_desc(cudnnConvolutionDescriptor_t *d, const conv_shape *s, cudnnMathType_t math)
{
    CUDNN_CHECK(cudnnCreateConvolutionDescriptor(d));
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(*d, s->pad, s->pad, s->stride, s->stride, 1, 1,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_CHECK(cudnnSetConvolutionMathType(*d, math));
}

/*
 * The search: cudnnFind*Algorithm (not the *Ex variants) allocates its own scratch
 * buffers and workspace and frees them, so no tensors of the shape need to exist yet.
 * Results come sorted fastest first; the first acceptable one wins.
 *
 * How many results: Find tries each algorithm with the descriptor's math type and with
 * the default one, so an algorithm can appear twice, and the list can be longer than
 * the algorithm count. A request of only *_ALGO_COUNT entries may then be filled by the
 * fastest (TF32) entries alone and cut off the FMA entries a strict-fp32 search needs,
 * leaving it with the fallback. So the request and the array are twice the algorithm
 * count, or cuDNN's own maximum (cudnnGet*AlgorithmMaxCount) when that is larger.
 */
static int find_capacity(int algo_count, int max_count)
{
    return max_count > 2 * algo_count ? max_count : 2 * algo_count;
}

/* The fallback is legitimate but worth seeing in a log: in strict mode it is the symptom
   of a search that returned no FMA-math GEMM-family entry. */
static void note_fallback(const cuda_backend *cb, const char *dir, const conv_shape *s, int got, const char *algo)
{
    fprintf(stderr, "resnet: cuda backend: note: %s convolution %dx%dx%dx%d k=%d r=%d stride %d: none of %d "
                    "search results is acceptable%s; using %s\n", dir, s->n, s->c, s->h, s->w, s->k, s->r,
            s->stride, got, cb->strict_fp32 ? " in strict fp32" : "", algo);
}

static void *perf_array(int n, size_t each)
{
    void *p = calloc((size_t)n, each);
    if (!p)
        cuda_fatal("out of host memory for %d cuDNN search results", n);
    return p;
}
static void choose_fwd(cuda_backend *cb, cuda_conv *cv, size_t *need)
{
    int max_count = 0, got = 0;
    CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(cb->cudnn, &max_count));
    const int cap = find_capacity(CUDNN_CONVOLUTION_FWD_ALGO_COUNT, max_count);
    cudnnConvolutionFwdAlgoPerf_t *perf = perf_array(cap, sizeof *perf);
    CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(cb->cudnn, cv->x, cv->w, cv->fwd_desc, cv->y, cap, &got,
                                                     perf));
    for (int i = 0; i < got; i++)
        if (fwd_ok(cb, &perf[i])) {
            cv->fwd_algo = perf[i].algo;
            CUDNN_CHECK(cudnnSetConvolutionMathType(cv->fwd_desc, perf[i].mathType));
            CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(cb->cudnn, cv->x, cv->w, cv->fwd_desc, cv->y,
                                                                cv->fwd_algo, need));
            free(perf);
            return;
        }
    free(perf);
    note_fallback(cb, "forward", &cv->s, got, "IMPLICIT_GEMM");
    cv->fwd_algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(cb->cudnn, cv->x, cv->w, cv->fwd_desc, cv->y,
                                                        cv->fwd_algo, need));
}

static void choose_bwd_data(cuda_backend *cb, cuda_conv *cv, size_t *need)
{
    int max_count = 0, got = 0;
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cb->cudnn, &max_count));
    const int cap = find_capacity(CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, max_count);
    cudnnConvolutionBwdDataAlgoPerf_t *perf = perf_array(cap, sizeof *perf);
    CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(cb->cudnn, cv->w, cv->y, cv->bwd_data_desc, cv->x, cap,
                                                          &got, perf));
    for (int i = 0; i < got; i++)
        if (bwd_data_ok(cb, &perf[i])) {
            cv->bwd_data_algo = perf[i].algo;
            CUDNN_CHECK(cudnnSetConvolutionMathType(cv->bwd_data_desc, perf[i].mathType));
            CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(cb->cudnn, cv->w, cv->y, cv->bwd_data_desc,
                                                                     cv->x, cv->bwd_data_algo, need));
            free(perf);
            return;
        }
    free(perf);
    note_fallback(cb, "backward-data", &cv->s, got, "ALGO_1");
    cv->bwd_data_algo = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(cb->cudnn, cv->w, cv->y, cv->bwd_data_desc, cv->x,
                                                             cv->bwd_data_algo, need));
}

static void choose_bwd_filter(cuda_backend *cb, cuda_conv *cv, size_t *need)
{
    int max_count = 0, got = 0;
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cb->cudnn, &max_count));
    const int cap = find_capacity(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, max_count);
    cudnnConvolutionBwdFilterAlgoPerf_t *perf = perf_array(cap, sizeof *perf);
    CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(cb->cudnn, cv->x, cv->y, cv->bwd_filter_desc, cv->w,
                                                            cap, &got, perf));
    for (int i = 0; i < got; i++)
        if (bwd_filter_ok(cb, &perf[i])) {
            cv->bwd_filter_algo = perf[i].algo;
            CUDNN_CHECK(cudnnSetConvolutionMathType(cv->bwd_filter_desc, perf[i].mathType));
            CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(cb->cudnn, cv->x, cv->y, cv->bwd_filter_desc,
                                                                       cv->w, cv->bwd_filter_algo, need));
            free(perf);
            return;
        }
    free(perf);
    note_fallback(cb, "backward-filter", &cv->s, got, "ALGO_1");
    cv->bwd_filter_algo = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(cb->cudnn, cv->x, cv->y, cv->bwd_filter_desc, cv->w,
                                                               cv->bwd_filter_algo, need));
}

void cuda_conv_prepare(backend *b, const conv_shape *s)
{
    cuda_backend *cb = cuda_ctx(b);
    if (find_conv(cb, s))
        return;
    cuda_forbid_capture(cb->stream, "preparing a convolution shape (cuDNN algorithm search)");
    if (cb->n_convs == CUDA_MAX_CONV_SHAPES)
        cuda_fatal("more than %d distinct convolution shapes", CUDA_MAX_CONV_SHAPES);
    const conv_shape chk = conv_shape_make(s->n, s->c, s->h, s->w, s->k, s->r, s->stride, s->pad);
    if (chk.oh != s->oh || chk.ow != s->ow || s->oh <= 0 || s->ow <= 0)
        cuda_fatal("convolution shape %dx%dx%dx%d k=%d r=%d stride=%d pad=%d has output %dx%d, expected %dx%d",
                   s->n, s->c, s->h, s->w, s->k, s->r, s->stride, s->pad, s->oh, s->ow, chk.oh, chk.ow);

    cuda_conv *cv = &cb->convs[cb->n_convs];
    cv->s = *s;
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&cv->x));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(cv->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s->n, s->c, s->h, s->w));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&cv->y));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(cv->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s->n, s->k, s->oh, s->ow));
    CUDNN_CHECK(cudnnCreateFilterDescriptor(&cv->w));
    CUDNN_CHECK(cudnnSetFilter4dDescriptor(cv->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, s->k, s->c, s->r, s->r));
    const cudnnMathType_t math = cb->strict_fp32 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
    make_conv_desc(&cv->fwd_desc, s, math);
    make_conv_desc(&cv->bwd_data_desc, s, math);
    make_conv_desc(&cv->bwd_filter_desc, s, math);

    /* cuDNN's own output-size rule must agree with conv_shape_make's. */
    int on, oc, oh, ow;
    CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(cv->fwd_desc, cv->x, cv->w, &on, &oc, &oh, &ow));
    if (on != s->n || oc != s->k || oh != s->oh || ow != s->ow)
        cuda_fatal("cuDNN computes a %dx%dx%dx%d output for a convolution the model sizes %dx%dx%dx%d", on, oc,
                   oh, ow, s->n, s->k, s->oh, s->ow);

    size_t need_f = 0, need_d = 0, need_w = 0;
    choose_fwd(cb, cv, &need_f);
    choose_bwd_data(cb, cv, &need_d);
    choose_bwd_filter(cb, cv, &need_w);
    size_t need = need_f;
    if (need_d > need)
        need = need_d;
    if (need_w > need)
        need = need_w;
    ensure_workspace(cb, need);
    cb->n_convs++;
}

/* The shape's entry; preparing it on first use outside a capture (tests, evaluation). */
static cuda_conv *get_conv(backend *b, const conv_shape *s)
{
    cuda_backend *cb = cuda_ctx(b);
    cuda_conv *cv = find_conv(cb, s);
    if (!cv) {
        cuda_conv_prepare(b, s);
        cv = find_conv(cb, s);
    }
    return cv;
}

void cuda_conv_fwd(backend *b, const conv_shape *s, const float *x, const float *w, float *y)
{
    cuda_backend *cb = cuda_ctx(b);
    const cuda_conv *cv = get_conv(b, s);
    CUDNN_CHECK(cudnnConvolutionForward(cb->cudnn, &ONE, cv->x, x, cv->w, w, cv->fwd_desc, cv->fwd_algo, cb->ws,
                                        cb->ws_size, &ZERO, cv->y, y));
}

void cuda_conv_bwd_data(backend *b, const conv_shape *s, const float *dy, const float *w, float *dx)
{
    cuda_backend *cb = cuda_ctx(b);
    const cuda_conv *cv = get_conv(b, s);
    CUDNN_CHECK(cudnnConvolutionBackwardData(cb->cudnn, &ONE, cv->w, w, cv->y, dy, cv->bwd_data_desc,
                                             cv->bwd_data_algo, cb->ws, cb->ws_size, &ZERO, cv->x, dx));
}

void cuda_conv_bwd_filter(backend *b, const conv_shape *s, const float *x, const float *dy, float *dw)
{
    cuda_backend *cb = cuda_ctx(b);
    const cuda_conv *cv = get_conv(b, s);
    CUDNN_CHECK(cudnnConvolutionBackwardFilter(cb->cudnn, &ONE, cv->x, x, cv->y, dy, cv->bwd_filter_desc,
                                               cv->bwd_filter_algo, cb->ws, cb->ws_size, &ZERO, cv->w, dw));
}

void cuda_conv_release(cuda_backend *cb)
{
    for (int i = 0; i < cb->n_convs; i++) {
        cuda_conv *cv = &cb->convs[i];
        cudnnDestroyConvolutionDescriptor(cv->fwd_desc);
        cudnnDestroyConvolutionDescriptor(cv->bwd_data_desc);
        cudnnDestroyConvolutionDescriptor(cv->bwd_filter_desc);
        cudnnDestroyFilterDescriptor(cv->w);
        cudnnDestroyTensorDescriptor(cv->x);
        cudnnDestroyTensorDescriptor(cv->y);
    }
    cb->n_convs = 0;
}
