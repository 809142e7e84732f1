/* ops_math.h: per-element math of the layers (ReLU, BN apply and backward, softmax pieces), shared by CPU and GPU. */
#ifndef OPS_MATH_H
#define OPS_MATH_H

#include "hd.h"
#include <math.h>

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f /* PyTorch's: running = (1 - 0.1) * running + 0.1 * batch */

HD static inline float relu_one(float x) { return x > 0.0f ? x : 0.0f; }

/* Gradient through a ReLU whose output was y. */
HD static inline float relu_grad_one(float y, float dy) { return y > 0.0f ? dy : 0.0f; }

/* y = gamma * (x - mean) * inv_std + beta */
HD static inline float bn_apply_one(float x, float mean, float inv_std, float gamma, float beta)
{
    return gamma * (x - mean) * inv_std + beta;
}

HD static inline float bn_inv_std(float var) { return 1.0f / sqrtf(var + BN_EPS); }

/* Running-statistics update; var_unbiased = var_biased * m / (m - 1), m = n * hw. */
HD static inline float bn_running_update(float running, float batch_value)
{
    return (1.0f - BN_MOMENTUM) * running + BN_MOMENTUM * batch_value;
}

/*
 * BN backward for one element, given the channel sums over m = n*hw values:
 * sum_dy = sum(dy), sum_dy_xhat = sum(dy * xhat), xhat = (x - mean) * inv_std:
 *   dx = gamma * inv_std / m * (m*dy - sum_dy - xhat * sum_dy_xhat)
 * (dgamma = sum_dy_xhat, dbeta = sum_dy).
 */
HD static inline float bn_bwd_one(float x, float dy, float mean, float inv_std, float gamma,
                                  float sum_dy, float sum_dy_xhat, float m)
{
    const float xhat = (x - mean) * inv_std;
    return gamma * inv_std / m * (m * dy - sum_dy - xhat * sum_dy_xhat);
}

/* Softmax cross-entropy gradient for one logit: (p - [j == label]) / n, p = exp(z - max) / sum. */
HD static inline float xent_grad_one(float z, float zmax, float sum_exp, int is_label, float inv_n)
{
    const float p = expf(z - zmax) / sum_exp;
    return (p - (is_label ? 1.0f : 0.0f)) * inv_n;
}

/* Loss of one sample: log(sum exp(z - max)) - (z_label - max). */
HD static inline float xent_loss_one(float z_label, float zmax, float sum_exp)
{
    return logf(sum_exp) - (z_label - zmax);
}

/*
 * One sample of softmax cross-entropy over the logits z[0..k): the prediction is the
 * first index of the maximum; the exp sum accumulates in double and is rounded to float
 * once, so both backends see the same sum_exp. Writes dz[j] (when dz is not NULL), sets
 * *correct, returns the sample's loss. The caller has checked 0 <= label < k.
 */
HD static inline float xent_sample(const float *z, int k, int label, float inv_n, float *dz, int *correct)
{
    int arg = 0;
    float zmax = z[0];
    for (int j = 1; j < k; j++)
        if (z[j] > zmax) {
            zmax = z[j];
            arg = j;
        }
    double se = 0.0;
    for (int j = 0; j < k; j++)
        se += expf(z[j] - zmax);
    const float sum_exp = (float)se;
    *correct = arg == label;
    if (dz)
        for (int j = 0; j < k; j++)
            dz[j] = xent_grad_one(z[j], zmax, sum_exp, j == label, inv_n);
    return xent_loss_one(z[label], zmax, sum_exp);
}

/* 1 when x is NaN or +-Inf. Written without isfinite() so it survives fast-math flags. */
HD static inline int nonfinite_one(float x)
{
    return !(x - x == 0.0f);
}

#endif
