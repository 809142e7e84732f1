/* cpu_bn.c: the CPU backend's batch norm (training forward with batch statistics, inference forward, backward), one channel per task. */
#include "backend/cpu/cpu_internal.h"
#include "ops_math.h"

/*
 * x and y are (n, c, hw); channel ch's m = n*hw values sit in n runs of hw floats. Each
 * channel is one task, so its sums never depend on the thread count. Channel sums
 * accumulate in double: at m = 128*1024 a float running sum loses about 17 bits, which
 * would make the CPU a poor oracle for the GPU's statistics. They run as SUM_LANES
 * interleaved partial sums (value j of each run goes to sum j mod SUM_LANES), added in a
 * fixed tree at the end: one long chain of dependent double adds would make these
 * passes wait on the adder rather than on memory. The per-element arithmetic is the
 * shared ops_math.h code, as in the CUDA kernels.
 */

#define SUM_LANES 8

static double lanes_total(const double *s)
{
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

typedef struct bn_job {
    int n, c, hw;
    const float *x, *dy, *gamma, *beta, *mean, *var, *inv_std;
    float *running_mean, *running_var, *save_mean, *save_inv_std, *y, *dgamma, *dbeta;
} bn_job;

static void train_fwd_task(void *ctx, int ch, int worker)
{
    (void)worker;
    const bn_job *J = ctx;
    const int n = J->n, hw = J->hw;
    const double m = (double)n * hw;
    const size_t cs = (size_t)J->c * hw;
    double s[SUM_LANES] = {0};
    for (int i = 0; i < n; i++) {
        const float *xc = J->x + i * cs + (size_t)ch * hw;
        int j = 0;
        for (; j + SUM_LANES <= hw; j += SUM_LANES)
            for (int l = 0; l < SUM_LANES; l++)
                s[l] += xc[j + l];
        for (int l = 0; j < hw; j++, l++)
            s[l] += xc[j];
    }
    const double mean = lanes_total(s) / m;
    /* Two passes: the variance as the mean of squared deviations, free of the
       cancellation that E[x^2] - E[x]^2 suffers when |mean| >> std. */
    double q[SUM_LANES] = {0};
    for (int i = 0; i < n; i++) {
        const float *xc = J->x + i * cs + (size_t)ch * hw;
        int j = 0;
        for (; j + SUM_LANES <= hw; j += SUM_LANES)
            for (int l = 0; l < SUM_LANES; l++) {
                const double d = xc[j + l] - mean;
                q[l] += d * d;
            }
        for (int l = 0; j < hw; j++, l++) {
            const double d = xc[j] - mean;
            q[l] += d * d;
        }
    }
    const double ssd = lanes_total(q);
    const double var = ssd / m; /* biased: what normalizes this batch */
    /* Unbiased for the running estimate, as PyTorch; with one value per channel
       there is no unbiased estimate, and the biased one (0) is kept. */
    const double var_unbiased = m > 1.0 ? ssd / (m - 1.0) : var;
    const float fmean = (float)mean, inv_std = bn_inv_std((float)var);
    J->running_mean[ch] = bn_running_update(J->running_mean[ch], fmean);
    J->running_var[ch] = bn_running_update(J->running_var[ch], (float)var_unbiased);
    J->save_mean[ch] = fmean;
    J->save_inv_std[ch] = inv_std;
    const float g = J->gamma[ch], be = J->beta[ch];
    for (int i = 0; i < n; i++) {
        const float *xc = J->x + i * cs + (size_t)ch * hw;
        float *yc = J->y + i * cs + (size_t)ch * hw;
        for (int j = 0; j < hw; j++)
            yc[j] = bn_apply_one(xc[j], fmean, inv_std, g, be);
    }
}

void cpu_bn_train_fwd(backend *b, int n, int c, int hw, const float *x, const float *gamma,
                      const float *beta, float *running_mean, float *running_var,
                      float *save_mean, float *save_inv_std, float *y)
{
    bn_job J = {.n = n, .c = c, .hw = hw, .x = x, .gamma = gamma, .beta = beta, .running_mean = running_mean,
                .running_var = running_var, .save_mean = save_mean, .save_inv_std = save_inv_std, .y = y};
    cpu_parallel(b, c, train_fwd_task, &J);
}

static void infer_fwd_task(void *ctx, int ch, int worker)
{
    (void)worker;
    const bn_job *J = ctx;
    const size_t cs = (size_t)J->c * J->hw;
    const float mean = J->mean[ch], inv_std = bn_inv_std(J->var[ch]);
    const float g = J->gamma[ch], be = J->beta[ch];
    for (int i = 0; i < J->n; i++) {
        const float *xc = J->x + i * cs + (size_t)ch * J->hw;
        float *yc = J->y + i * cs + (size_t)ch * J->hw;
        for (int j = 0; j < J->hw; j++)
            yc[j] = bn_apply_one(xc[j], mean, inv_std, g, be);
    }
}

void cpu_bn_infer_fwd(backend *b, int n, int c, int hw, const float *x, const float *gamma,
                      const float *beta, const float *running_mean, const float *running_var,
                      float *y)
{
    bn_job J = {.n = n, .c = c, .hw = hw, .x = x, .gamma = gamma, .beta = beta, .mean = running_mean,
                .var = running_var, .y = y};
    cpu_parallel(b, c, infer_fwd_task, &J);
}

static void bwd_task(void *ctx, int ch, int worker)
{
    (void)worker;
    const bn_job *J = ctx;
    const int n = J->n, hw = J->hw;
    const size_t cs = (size_t)J->c * hw;
    const float m = (float)((double)n * hw);
    const float mean = J->mean[ch], inv_std = J->inv_std[ch];
    double sd[SUM_LANES] = {0}, sx[SUM_LANES] = {0};
    for (int i = 0; i < n; i++) {
        const float *xc = J->x + i * cs + (size_t)ch * hw;
        const float *dyc = J->dy + i * cs + (size_t)ch * hw;
        int j = 0;
        /* xhat rounded to float exactly as bn_bwd_one forms it. */
        for (; j + SUM_LANES <= hw; j += SUM_LANES)
            for (int l = 0; l < SUM_LANES; l++) {
                const float xhat = (xc[j + l] - mean) * inv_std;
                sd[l] += dyc[j + l];
                sx[l] += (double)dyc[j + l] * xhat;
            }
        for (int l = 0; j < hw; j++, l++) {
            const float xhat = (xc[j] - mean) * inv_std;
            sd[l] += dyc[j];
            sx[l] += (double)dyc[j] * xhat;
        }
    }
    const double sum_dy = lanes_total(sd), sum_dy_xhat = lanes_total(sx);
    J->dgamma[ch] = (float)sum_dy_xhat;
    J->dbeta[ch] = (float)sum_dy;
    const float g = J->gamma[ch], sdy = (float)sum_dy, sdyx = (float)sum_dy_xhat;
    for (int i = 0; i < n; i++) {
        const float *xc = J->x + i * cs + (size_t)ch * hw;
        const float *dyc = J->dy + i * cs + (size_t)ch * hw;
        float *dxc = J->y + i * cs + (size_t)ch * hw;
        for (int j = 0; j < hw; j++)
            dxc[j] = bn_bwd_one(xc[j], dyc[j], mean, inv_std, g, sdy, sdyx, m);
    }
}

void cpu_bn_bwd(backend *b, int n, int c, int hw, const float *x, const float *dy,
                const float *gamma, const float *save_mean, const float *save_inv_std,
                float *dx, float *dgamma, float *dbeta)
{
    bn_job J = {.n = n, .c = c, .hw = hw, .x = x, .dy = dy, .gamma = gamma, .mean = save_mean,
                .inv_std = save_inv_std, .y = dx, .dgamma = dgamma, .dbeta = dbeta};
    cpu_parallel(b, c, bwd_task, &J);
}
