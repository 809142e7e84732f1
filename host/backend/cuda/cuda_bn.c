/* cuda_bn.c: batch norm through cuDNN (spatial mode): training forward with running statistics, inference forward, backward. */
#include "backend/cuda/cuda_internal.h"
#include "backend/cuda/cuda_check.h"
#include "ops_math.h"

/*
 * Semantics the interface fixes, and how cuDNN meets them:
 *   - normalization with the biased batch variance, eps = BN_EPS (1e-5) in forward and
 *     backward (cuDNN 9's CUDNN_BN_MIN_EPSILON is 0, so 1e-5 is accepted as is);
 *   - running = (1 - f) * running + f * batch with f = BN_MOMENTUM = 0.1: cuDNN's
 *     exponentialAverageFactor is that f ("runningMean = newMean*factor +
 *     runningMean*(1-factor)", cudnn_ops.h);
 *   - the running variance takes the UNBIASED batch variance (m / (m - 1)), as
 *     PyTorch's. cuDNN's header and API reference do not spell the estimator out, but
 *     cuDNN does use the unbiased one: MXNet measured it (apache/mxnet issue #21111:
 *     "the biased (non-cudnn) and the unbiased (cudnn) computations"), and PyTorch
 *     passes its running_var straight to cudnnBatchNormalizationForwardTraining while
 *     documenting an unbiased running_var, with the same results as its native
 *     kernel (pytorch/pytorch issue #19902: "The cudnn version has the same problem").
 *     tests/gpu_ops.c checks it against the CPU backend on a small batch, where the two
 *     estimators differ by several percent;
 *   - resultSaveInvVariance is 1/sqrt(var + eps) despite its name (microsoft/onnxruntime
 *     PR #8172 found the same), which is what the interface calls save_inv_std, and
 *     what cudnnBatchNormalizationBackward takes back as savedInvVariance;
 *   - alpha = 1, beta = 0 for data and parameter gradients: dx, dgamma and dbeta are
 *     overwritten (the parameter gradients of a step are written once, by this call).
 * x is described as (n, c, hw, 1): spatial mode normalizes over n, h and w alike.
 */

static const float ONE = 1.0f, ZERO = 0.0f;

/* Descriptors are host objects: creating one on a miss allocates no device memory and
   enqueues nothing, so a first use is harmless even inside a capture. */
static const cuda_bn *get_bn(cuda_backend *cb, int n, int c, int hw)
{
    for (int i = 0; i < cb->n_bns; i++)
        if (cb->bns[i].n == n && cb->bns[i].c == c && cb->bns[i].hw == hw)
            return &cb->bns[i];
    if (cb->n_bns == CUDA_MAX_BN_SHAPES)
        cuda_fatal("more than %d distinct batch-norm shapes", CUDA_MAX_BN_SHAPES);
    cuda_bn *e = &cb->bns[cb->n_bns];
    e->n = n;
    e->c = c;
    e->hw = hw;
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&e->x));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(e->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, hw, 1));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&e->param));
    CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(e->param, e->x, CUDNN_BATCHNORM_SPATIAL));
    cb->n_bns++;
    return e;
}

void cuda_bn_train_fwd(backend *b, int n, int c, int hw, const float *x, const float *gamma,
                       const float *beta, float *running_mean, float *running_var,
                       float *save_mean, float *save_inv_std, float *y)
{
    cuda_backend *cb = cuda_ctx(b);
    const cuda_bn *e = get_bn(cb, n, c, hw);
    CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(cb->cudnn, CUDNN_BATCHNORM_SPATIAL, &ONE, &ZERO, e->x, x,
                                                       e->x, y, e->param, gamma, beta, (double)BN_MOMENTUM,
                                                       running_mean, running_var, (double)BN_EPS, save_mean,
                                                       save_inv_std));
}

void cuda_bn_infer_fwd(backend *b, int n, int c, int hw, const float *x, const float *gamma,
                       const float *beta, const float *running_mean, const float *running_var,
                       float *y)
{
    cuda_backend *cb = cuda_ctx(b);
    const cuda_bn *e = get_bn(cb, n, c, hw);
    CUDNN_CHECK(cudnnBatchNormalizationForwardInference(cb->cudnn, CUDNN_BATCHNORM_SPATIAL, &ONE, &ZERO, e->x, x,
                                                        e->x, y, e->param, gamma, beta, running_mean, running_var,
                                                        (double)BN_EPS));
}

void cuda_bn_bwd(backend *b, int n, int c, int hw, const float *x, const float *dy,
                 const float *gamma, const float *save_mean, const float *save_inv_std,
                 float *dx, float *dgamma, float *dbeta)
{
    cuda_backend *cb = cuda_ctx(b);
    const cuda_bn *e = get_bn(cb, n, c, hw);
    CUDNN_CHECK(cudnnBatchNormalizationBackward(cb->cudnn, CUDNN_BATCHNORM_SPATIAL, &ONE, &ZERO, &ONE, &ZERO, e->x,
                                                x, e->x, dy, e->x, dx, e->param, gamma, dgamma, dbeta,
                                                (double)BN_EPS, save_mean, save_inv_std));
}

void cuda_bn_release(cuda_backend *cb)
{
    for (int i = 0; i < cb->n_bns; i++) {
        cudnnDestroyTensorDescriptor(cb->bns[i].x);
        cudnnDestroyTensorDescriptor(cb->bns[i].param);
    }
    cb->n_bns = 0;
}
