/* test_cifar_real.c: the CIFAR-10 reader on the real data in CIFAR10_DIR (skipped, with the reason, when absent). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/cifar.h"
#include "testlib.h"

static const char *data_dir;

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", data_dir, name); }

static int present(const char *name)
{
    char path[2048];
    path_of(path, sizeof path, name);
    return access(path, R_OK) == 0;
}

static long load(cifar_set *set, const char *name)
{
    char path[2048], err[2048] = "";
    path_of(path, sizeof path, name);
    const long before = set->n;
    int rc = cifar_load(set, path, 0, 10, err, sizeof err);
    CHECK(rc == 0, "load %s: rc %d: %s", name, rc, err);
    return set->n - before;
}

int main(void)
{
    data_dir = test_env("CIFAR10_DIR", NULL);
    if (!data_dir)
        test_skip("CIFAR10_DIR is not set (ctest sets it to ../shared/data/cifar-10-batches-bin)");
    if (!present("data_batch_1.bin") || !present("test_batch_first1000.bin")) {
        char why[2400];
        snprintf(why, sizeof why, "%s lacks data_batch_1.bin or test_batch_first1000.bin", data_dir);
        test_skip(why);
    }

    char path[2048], err[2048];
    path_of(path, sizeof path, "data_batch_1.bin");
    CHECK(cifar_count(path, err, sizeof err) == 10000, "cifar_count data_batch_1.bin");
    path_of(path, sizeof path, "test_batch_first1000.bin");
    CHECK(cifar_count(path, err, sizeof err) == 1000, "cifar_count test_batch_first1000.bin");

    cifar_set set;
    memset(&set, 0, sizeof set);
    CHECK(load(&set, "data_batch_1.bin") == 10000, "data_batch_1.bin holds 10,000 records");
    /* The published first labels of data_batch_1 (frog truck truck deer automobile ...). */
    const int first[10] = {6, 9, 9, 4, 1, 1, 2, 7, 8, 3};
    for (int i = 0; i < 10 && set.n >= 10; i++)
        CHECK(set.labels[i] == first[i], "data_batch_1 label %d: %d want %d", i, set.labels[i], first[i]);
    long counts[10] = {0}, total = 0;
    for (long i = 0; i < set.n; i++)
        counts[set.labels[i]]++;
    for (int c = 0; c < 10; c++) {
        CHECK(counts[c] > 0, "class %d absent from data_batch_1", c);
        total += counts[c];
    }
    CHECK(total == 10000, "data_batch_1 label counts sum to %ld", total);
    cifar_free(&set);

    memset(&set, 0, sizeof set);
    CHECK(load(&set, "test_batch_first1000.bin") == 1000, "test_batch_first1000.bin holds 1,000 records");
    cifar_free(&set);
    /* A folder made by datasets/get_cifar10.sh from the official archive has the full test file. */
    if (present("test_batch.bin")) {
        memset(&set, 0, sizeof set);
        CHECK(load(&set, "test_batch.bin") == 10000, "test_batch.bin holds 10,000 records");
        cifar_free(&set);
    }

    const char *batches[5] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                              "data_batch_5.bin"};
    int all = 1;
    for (int b = 0; b < 5; b++)
        all &= present(batches[b]);
    if (!all) {
        printf("not all five training batches in %s: per-channel means not checked\n", data_dir);
    } else {
        memset(&set, 0, sizeof set);
        for (int b = 0; b < 5; b++)
            load(&set, batches[b]);
        CHECK(set.n == 50000, "five batches hold %ld records", set.n);
        /* Sums in double: 51.2M integers sum exactly (far below 2^53), so the only error
           is the final division, ~1e-16. 1e-6 relative is what the published 8-digit
           (125.30691805) statistics can support. */
        double sum[3] = {0, 0, 0};
        for (long i = 0; i < set.n; i++)
            for (int ch = 0; ch < 3; ch++) {
                const uint8_t *p = set.images + (size_t)i * CIFAR_PIXELS + ch * 1024;
                long s = 0;
                for (int k = 0; k < 1024; k++)
                    s += p[k];
                sum[ch] += (double)s;
            }
        const double want[3] = {125.30691805, 122.95039414, 113.86538318};
        const char *names[3] = {"mean R", "mean G", "mean B"};
        for (int ch = 0; ch < 3; ch++)
            CHECK_CLOSE(sum[ch] / (50000.0 * 1024.0), want[ch], 1e-6, names[ch]);
        long lc[10] = {0};
        for (long i = 0; i < set.n; i++)
            lc[set.labels[i]]++;
        for (int c = 0; c < 10; c++)
            CHECK(lc[c] == 5000, "class %d has %ld of 50,000 training images, want 5,000", c, lc[c]);
        cifar_free(&set);
    }
    return test_summary("test_cifar_real");
}
