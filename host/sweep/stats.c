/* stats.c: Wilson score interval, median, mean and sample standard deviation for the sweep tables. */
#include <math.h>
#include <stdlib.h>
#include "sweep/stats.h"

void stats_wilson(long k, long n, double z, double *lo, double *hi)
{
    if (n <= 0) {
        *lo = 0.0;
        *hi = 1.0;
        return;
    }
    const double nn = (double)n, p = (double)k / nn, z2 = z * z;
    const double denom = 1.0 + z2 / nn;
    const double center = (p + z2 / (2.0 * nn)) / denom;
    const double half = z * sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn)) / denom;
    /* Clamp only rounding: at k = 0 the lower end is exactly 0 in exact arithmetic. */
    *lo = k == 0 ? 0.0 : fmax(0.0, center - half);
    *hi = k == n ? 1.0 : fmin(1.0, center + half);
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double stats_median(double *v, int n)
{
    if (n <= 0)
        return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double stats_mean(const double *v, int n)
{
    if (n <= 0)
        return NAN;
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return s / n;
}

double stats_sd(const double *v, int n)
{
    if (n < 2)
        return NAN;
    /* Two passes: the mean first, then squared deviations, which keeps the rounding of
       nearly equal error rates (e.g. 0.0712, 0.0715) from swamping the spread. */
    const double m = stats_mean(v, n);
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += (v[i] - m) * (v[i] - m);
    return sqrt(s / (n - 1));
}
