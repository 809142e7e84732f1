/* testlib.c: implementation of the shared test helpers. */
#include "testlib.h"
#include <stdlib.h>

int test_failures = 0;

int test_summary(const char *name)
{
    if (test_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, test_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

void test_skip(const char *reason)
{
    printf("SKIPPED: %s\n", reason);
    fflush(stdout);
    exit(77);
}

const char *test_env(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}
