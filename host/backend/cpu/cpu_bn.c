/* cpu_bn.c: the CPU backend's batch norm (training forward with batch statistics, inference forward, backward), one channel per task. */
#include "backend/cpu/cpu_internal.h"
#include "ops_math.h"

/*
 * x and y are (n, c, hw); channel ch's m = n*hw values sit in n runs of hw floats. Each
 * channel is one task, so its sums never depend on the thread count. Channel sums
 * accumulate in double: at m = 128*1024 a float running sum loses about 17 bits, which
 * would make the CPU a poor oracle for the GPU's statistics. They run as
 * CPU_KERN_SUM_LANES interleaved partial sums (cpu_kern.h), added in a fixed tree at the
 * end: one long chain of dependent double adds would make these passes wait on the
 * adder rather than on memory. The passes themselves are the kernel variant's (vector
 * code; every lane the same IEEE operations on every variant); the per-element
 * arithmetic is the shared ops_math.h code, as in the CUDA kernels.
 */

/* Asks the memory for the n floats at p ahead of their use (a hint: no value changes).
   The first pass over a channel reads its n runs from memory, c * hw floats apart; the
   hardware prefetcher follows a run but not the jump to the next, so without this the
   pass waited on memory at the start of every run (the next run is asked for while the
   current one is summed). */
static void prefetch_run(const float *p, long n)
{
    for (long j = 0; j < n; j += 16)
        __builtin_prefetch(p + j);
}

static double lanes_total(const double *s)
{
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

typedef struct bn_job {
    const cpu_kernels *k;
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
    double s[CPU_KERN_SUM_LANES] = {0};
    for (int i = 0; i < n; i++) {
        if (i + 1 < n)
            prefetch_run(J->x + (i + 1) * cs + (size_t)ch * hw, hw);
        J->k->bn_sum(J->x + i * cs + (size_t)ch * hw, hw, s);
    }
    const double mean = lanes_total(s) / m;
    /* Two passes: the variance as the mean of squared deviations, free of the
       cancellation that E[x^2] - E[x]^2 suffers when |mean| >> std. */
    double q[CPU_KERN_SUM_LANES] = {0};
    for (int i = 0; i < n; i++)
        J->k->bn_sqdev(J->x + i * cs + (size_t)ch * hw, hw, mean, q);
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
    for (int i = 0; i < n; i++)
        J->k->bn_apply(J->x + i * cs + (size_t)ch * hw, hw, fmean, inv_std, J->gamma[ch], J->beta[ch],
                       J->y + i * cs + (size_t)ch * hw);
}

void cpu_bn_train_fwd(backend *b, int n, int c, int hw, const float *x, const float *gamma,
                      const float *beta, float *running_mean, float *running_var,
                      float *save_mean, float *save_inv_std, float *y)
{
    bn_job J = {.k = ((cpu_backend *)b)->kern, .n = n, .c = c, .hw = hw, .x = x, .gamma = gamma, .beta = beta, .running_mean = running_mean,
                .running_var = running_var, .save_mean = save_mean, .save_inv_std = save_inv_std, .y = y};
    cpu_parallel(b, c, train_fwd_task, &J);
}

static void infer_fwd_task(void *ctx, int ch, int worker)
{
    (void)worker;
    const bn_job *J = ctx;
    const size_t cs = (size_t)J->c * J->hw;
    const float mean = J->mean[ch], inv_std = bn_inv_std(J->var[ch]);
    for (int i = 0; i < J->n; i++)
        J->k->bn_apply(J->x + i * cs + (size_t)ch * J->hw, J->hw, mean, inv_std, J->gamma[ch], J->beta[ch],
                       J->y + i * cs + (size_t)ch * J->hw);
}

void cpu_bn_infer_fwd(backend *b, int n, int c, int hw, const float *x, const float *gamma,
                      const float *beta, const float *running_mean, const float *running_var,
                      float *y)
{
    bn_job J = {.k = ((cpu_backend *)b)->kern, .n = n, .c = c, .hw = hw, .x = x, .gamma = gamma, .beta = beta, .mean = running_mean,
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
    double sd[CPU_KERN_SUM_LANES] = {0}, sx[CPU_KERN_SUM_LANES] = {0};
    for (int i = 0; i < n; i++) {
        if (i + 1 < n) {
            prefetch_run(J->x + (i + 1) * cs + (size_t)ch * hw, hw);
            prefetch_run(J->dy + (i + 1) * cs + (size_t)ch * hw, hw);
        }
        J->k->bn_bwd_sums(J->x + i * cs + (size_t)ch * hw, J->dy + i * cs + (size_t)ch * hw, hw, mean, inv_std,
                          sd, sx);
    }
    const double sum_dy = lanes_total(sd), sum_dy_xhat = lanes_total(sx);
    J->dgamma[ch] = (float)sum_dy_xhat;
    J->dbeta[ch] = (float)sum_dy;
    for (int i = 0; i < n; i++)
        J->k->bn_bwd_apply(J->x + i * cs + (size_t)ch * hw, J->dy + i * cs + (size_t)ch * hw, hw, mean, inv_std,
                           J->gamma[ch], (float)sum_dy, (float)sum_dy_xhat, m, J->y + i * cs + (size_t)ch * hw);
}

void cpu_bn_bwd(backend *b, int n, int c, int hw, const float *x, const float *dy,
                const float *gamma, const float *save_mean, const float *save_inv_std,
                float *dx, float *dgamma, float *dbeta)
{
    bn_job J = {.k = ((cpu_backend *)b)->kern, .n = n, .c = c, .hw = hw, .x = x, .dy = dy, .gamma = gamma, .mean = save_mean,
                .inv_std = save_inv_std, .y = dx, .dgamma = dgamma, .dbeta = dbeta};
    cpu_parallel(b, c, bwd_task, &J);
}
