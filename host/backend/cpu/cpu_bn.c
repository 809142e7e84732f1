/* cpu_bn.c: the CPU backend's batch norm (training forward with batch statistics, inference forward, backward). */
#include "backend/cpu/cpu_internal.h"
#include "ops_math.h"

/*
 * x and y are (n, c, hw); channel ch's m = n*hw values sit in n runs of hw floats.
 * Channel sums accumulate in double: at m = 128*1024 a float running sum loses about
 * 17 bits, which would make the CPU a poor oracle for the GPU's statistics. The
 * per-element arithmetic is the shared ops_math.h code, as in the CUDA kernels.
 */

void cpu_bn_train_fwd(backend *b, int n, int c, int hw, const float *x, const float *gamma,
                      const float *beta, float *running_mean, float *running_var,
                      float *save_mean, float *save_inv_std, float *y)
{
    (void)b;
    const double m = (double)n * hw;
    const size_t cs = (size_t)c * hw;
    for (int ch = 0; ch < c; ch++) {
        double sum = 0.0;
        for (int i = 0; i < n; i++) {
            const float *xc = x + i * cs + (size_t)ch * hw;
            for (int j = 0; j < hw; j++)
                sum += xc[j];
        }
        const double mean = sum / m;
        /* Two passes: the variance as the mean of squared deviations, free of the
           cancellation that E[x^2] - E[x]^2 suffers when |mean| >> std. */
        double ssd = 0.0;
        for (int i = 0; i < n; i++) {
            const float *xc = x + i * cs + (size_t)ch * hw;
            for (int j = 0; j < hw; j++) {
                const double d = xc[j] - mean;
                ssd += d * d;
            }
        }
        const double var = ssd / m; /* biased: what normalizes this batch */
        /* Unbiased for the running estimate, as PyTorch; with one value per channel
           there is no unbiased estimate, and the biased one (0) is kept. */
        const double var_unbiased = m > 1.0 ? ssd / (m - 1.0) : var;
        const float fmean = (float)mean, inv_std = bn_inv_std((float)var);
        running_mean[ch] = bn_running_update(running_mean[ch], fmean);
        running_var[ch] = bn_running_update(running_var[ch], (float)var_unbiased);
        save_mean[ch] = fmean;
        save_inv_std[ch] = inv_std;
        const float g = gamma[ch], be = beta[ch];
        for (int i = 0; i < n; i++) {
            const float *xc = x + i * cs + (size_t)ch * hw;
            float *yc = y + i * cs + (size_t)ch * hw;
            for (int j = 0; j < hw; j++)
                yc[j] = bn_apply_one(xc[j], fmean, inv_std, g, be);
        }
    }
}

void cpu_bn_infer_fwd(backend *b, int n, int c, int hw, const float *x, const float *gamma,
                      const float *beta, const float *running_mean, const float *running_var,
                      float *y)
{
    (void)b;
    const size_t cs = (size_t)c * hw;
    for (int ch = 0; ch < c; ch++) {
        const float mean = running_mean[ch], inv_std = bn_inv_std(running_var[ch]);
        const float g = gamma[ch], be = beta[ch];
        for (int i = 0; i < n; i++) {
            const float *xc = x + i * cs + (size_t)ch * hw;
            float *yc = y + i * cs + (size_t)ch * hw;
            for (int j = 0; j < hw; j++)
                yc[j] = bn_apply_one(xc[j], mean, inv_std, g, be);
        }
    }
}

void cpu_bn_bwd(backend *b, int n, int c, int hw, const float *x, const float *dy,
                const float *gamma, const float *save_mean, const float *save_inv_std,
                float *dx, float *dgamma, float *dbeta)
{
    (void)b;
    const size_t cs = (size_t)c * hw;
    const float m = (float)((double)n * hw);
    for (int ch = 0; ch < c; ch++) {
        const float mean = save_mean[ch], inv_std = save_inv_std[ch];
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int i = 0; i < n; i++) {
            const float *xc = x + i * cs + (size_t)ch * hw;
            const float *dyc = dy + i * cs + (size_t)ch * hw;
            for (int j = 0; j < hw; j++) {
                /* xhat rounded to float exactly as bn_bwd_one forms it. */
                const float xhat = (xc[j] - mean) * inv_std;
                sum_dy += dyc[j];
                sum_dy_xhat += (double)dyc[j] * xhat;
            }
        }
        dgamma[ch] = (float)sum_dy_xhat;
        dbeta[ch] = (float)sum_dy;
        const float g = gamma[ch], sdy = (float)sum_dy, sdyx = (float)sum_dy_xhat;
        for (int i = 0; i < n; i++) {
            const float *xc = x + i * cs + (size_t)ch * hw;
            const float *dyc = dy + i * cs + (size_t)ch * hw;
            float *dxc = dx + i * cs + (size_t)ch * hw;
            for (int j = 0; j < hw; j++)
                dxc[j] = bn_bwd_one(xc[j], dyc[j], mean, inv_std, g, sdy, sdyx, m);
        }
    }
}
