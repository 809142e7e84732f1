/* test_stats.c: the Wilson interval, median, mean and sample sd against hand-computed values. */
#include <math.h>
#include "sweep/stats.h"
#include "testlib.h"

/* Wilson bounds are quoted to 4 decimals in references; 1e-4 absolute separates them from
   the Wald interval (0/5 would give [0, 0]) and from a z of 1.96 vs 2 (0.4345 vs 0.4444). */
static void check_wilson(long k, long n, double want_lo, double want_hi)
{
    double lo, hi;
    stats_wilson(k, n, STATS_Z95, &lo, &hi);
    CHECK(fabs(lo - want_lo) <= 1e-4, "wilson %ld/%ld lower %.6f, want %.4f", k, n, lo, want_lo);
    CHECK(fabs(hi - want_hi) <= 1e-4, "wilson %ld/%ld upper %.6f, want %.4f", k, n, hi, want_hi);
    CHECK(lo >= 0 && hi <= 1 && lo <= hi, "wilson %ld/%ld [%g, %g] outside [0,1] or reversed", k, n, lo, hi);
}

int main(void)
{
    /* p = k/n, z = 1.959964: (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n), by hand. */
    check_wilson(0, 5, 0.0, 0.4345);
    check_wilson(5, 5, 0.5655, 1.0);
    check_wilson(2, 5, 0.1176, 0.7693);
    check_wilson(1, 10, 0.0179, 0.4042);
    check_wilson(0, 1, 0.0, 0.7935);
    check_wilson(0, 0, 0.0, 1.0); /* no runs: no information */
    /* Symmetry: k of n failures mirrors n-k of n. */
    double a, b, c, d;
    stats_wilson(3, 7, STATS_Z95, &a, &b);
    stats_wilson(4, 7, STATS_Z95, &c, &d);
    CHECK(fabs(a - (1 - d)) < 1e-12 && fabs(b - (1 - c)) < 1e-12, "3/7 and 4/7 are not mirror images");

    double odd[] = {5, 1, 3};
    CHECK(stats_median(odd, 3) == 3, "median of {5,1,3}");
    double even[] = {4, 1, 3, 10};
    CHECK(stats_median(even, 4) == 3.5, "median of {4,1,3,10} is the mean of 3 and 4");
    double one[] = {7};
    CHECK(stats_median(one, 1) == 7, "median of one value");
    CHECK(isnan(stats_median(one, 0)), "median of nothing is NAN");

    /* 2,4,4,4,5,5,7,9: mean 5, squared deviations sum to 32, sample sd sqrt(32/7). */
    const double v[] = {2, 4, 4, 4, 5, 5, 7, 9};
    CHECK_CLOSE(stats_mean(v, 8), 5.0, 1e-15, "mean");
    CHECK_CLOSE(stats_sd(v, 8), sqrt(32.0 / 7.0), 1e-14, "sample sd (n-1), not population sd 2");
    const double two[] = {0.0712, 0.0715};
    CHECK_CLOSE(stats_sd(two, 2), 0.0003 / sqrt(2.0), 1e-9, "sd of two close error rates");
    CHECK(isnan(stats_sd(v, 1)), "sd of one value is NAN (no spread to estimate)");
    CHECK(isnan(stats_mean(v, 0)), "mean of nothing is NAN");
    return test_summary("test_stats");
}
