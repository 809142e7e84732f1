/* testlib.h: tiny assertion helpers shared by the ctest executables. */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <stdio.h>

extern int test_failures;

/* Record a failure with file:line and a formatted reason; keep going. */
#define CHECK(cond, ...)                                                           \
    do {                                                                           \
        if (!(cond)) {                                                             \
            test_failures++;                                                       \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                          \
            fputc('\n', stderr);                                                   \
        }                                                                          \
    } while (0)

/* |a-b| <= tol * max(1,|b|)-style relative check; prints both values on failure. */
#define CHECK_CLOSE(a, b, rtol, what)                                                  \
    do {                                                                               \
        double a_ = (a), b_ = (b);                                                     \
        double d_ = a_ > b_ ? a_ - b_ : b_ - a_;                                       \
        double s_ = b_ < 0 ? -b_ : b_;                                                 \
        if (!(d_ <= (rtol) * (s_ > 1e-30 ? s_ : 1e-30))) {                             \
            test_failures++;                                                           \
            fprintf(stderr, "%s:%d: %s: got %.10g, want %.10g (rel tol %g)\n",         \
                    __FILE__, __LINE__, what, a_, b_, (double)(rtol));                 \
        }                                                                              \
    } while (0)

/* Exit status for main: prints a one-line verdict. */
int test_summary(const char *name);

/* Skip the whole test (ctest SKIP_RETURN_CODE 77) with a reason on stdout. */
void test_skip(const char *reason);

/* Environment variable or a fallback. */
const char *test_env(const char *name, const char *fallback);

#endif
