/* stats.h: the few statistics a sweep reports: Wilson score interval, median, mean and sample standard deviation. */
#ifndef STATS_H
#define STATS_H

/* The normal quantile for a two-sided 95% interval. */
#define STATS_Z95 1.959964

/*
 * Wilson score interval for k successes out of n trials at normal quantile z. Unlike the
 * Wald interval it stays inside [0, 1] and is not degenerate at k = 0 or k = n, which is
 * exactly where a sweep cell with 5 seeds usually sits. n = 0 gives [0, 1].
 */
void stats_wilson(long k, long n, double z, double *lo, double *hi);

/* Median of v[0..n-1] (sorts v in place); the mean of the middle two when n is even; NAN when n = 0. */
double stats_median(double *v, int n);

/* Mean of v[0..n-1]; NAN when n = 0. */
double stats_mean(const double *v, int n);

/* Sample standard deviation (divisor n - 1); NAN when n < 2. */
double stats_sd(const double *v, int n);

#endif
