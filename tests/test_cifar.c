/* test_cifar.c: the CIFAR-10 reader on small files written here: exact read-back, `limit`, and every data error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/cifar.h"
#include "common/exitcodes.h"
#include "testlib.h"

static char dir[256]; /* short, so every path built from it fits 512 bytes */

/* Pixel value of (record, byte) in the files written here: distinct enough that a
   shifted record or plane shows up. */
static uint8_t pix(long r, int i) { return (uint8_t)((r * 131 + i * 7 + i / 1024) & 0xff); }

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

/* Writes `n` records with the given labels, then `extra` stray bytes. */
static void write_file(const char *name, long n, const uint8_t *labels, long extra)
{
    char path[512];
    path_of(path, sizeof path, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    uint8_t rec[CIFAR_RECORD_BYTES];
    for (long r = 0; r < n; r++) {
        rec[0] = labels[r];
        for (int i = 0; i < CIFAR_PIXELS; i++)
            rec[1 + i] = pix(r, i);
        fwrite(rec, sizeof rec, 1, f);
    }
    for (long i = 0; i < extra; i++)
        fputc(0, f);
    fclose(f);
}

/* Loads PATH expecting failure with CODE; checks the message names the file and holds `needle`. */
static void expect_error(const char *name, int num_classes, int code, const char *needle)
{
    char path[512], err[1024] = "";
    path_of(path, sizeof path, name);
    cifar_set set;
    memset(&set, 0, sizeof set);
    int rc = cifar_load(&set, path, 0, num_classes, err, sizeof err);
    CHECK(rc == code, "%s: cifar_load returned %d, want %d (%s)", name, rc, code, err);
    CHECK(strstr(err, path) != NULL, "%s: message does not name the file: '%s'", name, err);
    CHECK(strstr(err, needle) != NULL, "%s: message lacks '%s': '%s'", name, needle, err);
    CHECK(set.n == 0, "%s: a failed load left %ld records counted", name, set.n);
    printf("  %s -> %d: %s\n", name, rc, err);
    cifar_free(&set);
}

static void expect_count_error(const char *name, const char *needle)
{
    char path[512], err[1024] = "";
    path_of(path, sizeof path, name);
    long n = cifar_count(path, err, sizeof err);
    CHECK(n == -1, "%s: cifar_count returned %ld, want -1", name, n);
    CHECK(strstr(err, path) != NULL, "%s: count message does not name the file: '%s'", name, err);
    CHECK(strstr(err, needle) != NULL, "%s: count message lacks '%s': '%s'", name, needle, err);
}

static void test_good_file(void)
{
    const uint8_t labels[5] = {3, 0, 9, 1, 7};
    write_file("good.bin", 5, labels, 0);
    char path[512], err[1024] = "";
    path_of(path, sizeof path, "good.bin");

    CHECK(cifar_count(path, err, sizeof err) == 5, "cifar_count good.bin: %s", err);

    cifar_set set;
    memset(&set, 0, sizeof set);
    int rc = cifar_load(&set, path, 0, 10, err, sizeof err);
    CHECK(rc == 0, "load good.bin: %d %s", rc, err);
    CHECK(set.n == 5, "good.bin: n = %ld", set.n);
    for (long r = 0; r < set.n; r++) {
        CHECK(set.labels[r] == labels[r], "label %ld: %d", r, set.labels[r]);
        const int probes[] = {0, 1, 31, 32, 1023, 1024, 2047, 2048, 3071};
        for (int k = 0; k < 9; k++) {
            const int i = probes[k];
            CHECK(set.images[r * CIFAR_PIXELS + i] == pix(r, i), "record %ld pixel %d: %d want %d", r, i,
                  set.images[r * CIFAR_PIXELS + i], pix(r, i));
        }
    }
    /* every byte, to catch an off-by-one in the record stride */
    long wrong = 0;
    for (long r = 0; r < set.n; r++)
        for (int i = 0; i < CIFAR_PIXELS; i++)
            wrong += set.images[r * CIFAR_PIXELS + i] != pix(r, i);
    CHECK(wrong == 0, "good.bin: %ld pixels differ", wrong);

    /* A second load appends. */
    rc = cifar_load(&set, path, 2, 10, err, sizeof err);
    CHECK(rc == 0 && set.n == 7, "append with limit 2: rc %d n %ld", rc, set.n);
    CHECK(set.labels[5] == 3 && set.labels[6] == 0, "appended labels %d %d", set.labels[5], set.labels[6]);
    CHECK(set.images[6 * CIFAR_PIXELS + 100] == pix(1, 100), "appended pixels");
    cifar_free(&set);
    CHECK(set.n == 0 && set.images == NULL && set.labels == NULL, "cifar_free resets the set");

    /* limit: smaller, equal, larger than the file, and <= 0 meaning all */
    const long limits[] = {1, 3, 5, 100, 0, -1};
    const long want[] = {1, 3, 5, 5, 5, 5};
    for (int k = 0; k < 6; k++) {
        memset(&set, 0, sizeof set);
        rc = cifar_load(&set, path, limits[k], 10, err, sizeof err);
        CHECK(rc == 0 && set.n == want[k], "limit %ld: rc %d n %ld want %ld", limits[k], rc, set.n, want[k]);
        cifar_free(&set);
    }

    /* fewer classes: label 9 is fine with 10, wrong with 9 (record 2) */
    expect_error("good.bin", 9, EXIT_USAGE, "record 2");
    /* ...but a limit that stops before the bad record reads fine */
    memset(&set, 0, sizeof set);
    rc = cifar_load(&set, path, 2, 9, err, sizeof err);
    CHECK(rc == 0 && set.n == 2, "limit 2 stops before the bad label: rc %d n %ld", rc, set.n);
    cifar_free(&set);
}

static void test_errors(void)
{
    expect_error("missing.bin", 10, EXIT_USAGE, "no such file");
    expect_count_error("missing.bin", "no such file");

    write_file("empty.bin", 0, NULL, 0);
    expect_error("empty.bin", 10, EXIT_USAGE, "empty");
    expect_count_error("empty.bin", "empty");

    char sub[512];
    path_of(sub, sizeof sub, "adir");
    CHECK(mkdir(sub, 0700) == 0, "mkdir %s", sub);
    expect_error("adir", 10, EXIT_USAGE, "directory");
    expect_count_error("adir", "directory");

    /* 3073*2 + 5 bytes: the message gives the size and what is left over */
    const uint8_t two[2] = {1, 2};
    write_file("trunc.bin", 2, two, 5);
    expect_error("trunc.bin", 10, EXIT_USAGE, "6151");
    expect_error("trunc.bin", 10, EXIT_USAGE, "5 bytes left over");
    expect_count_error("trunc.bin", "not a multiple of the 3073");

    /* label 10 at record 1 with 10 classes */
    const uint8_t bad[3] = {0, 10, 2};
    write_file("badlabel.bin", 3, bad, 0);
    expect_error("badlabel.bin", 10, EXIT_USAGE, "record 1 ");
    expect_error("badlabel.bin", 10, EXIT_USAGE, "label 10");
    char path[512], err[1024];
    path_of(path, sizeof path, "badlabel.bin");
    /* counting reads no labels, so the size is all it judges */
    CHECK(cifar_count(path, err, sizeof err) == 3, "cifar_count of a file with a bad label");

    /* a failed load leaves an earlier successful one intact */
    cifar_set set;
    memset(&set, 0, sizeof set);
    char good[512];
    path_of(good, sizeof good, "good.bin");
    CHECK(cifar_load(&set, good, 0, 10, err, sizeof err) == 0, "reload good.bin");
    CHECK(cifar_load(&set, path, 0, 10, err, sizeof err) == EXIT_USAGE, "bad label after a good file");
    CHECK(set.n == 5, "after a failed append n stays 5, got %ld", set.n);
    cifar_free(&set);
}

static void cleanup(void)
{
    const char *names[] = {"good.bin", "empty.bin", "trunc.bin", "badlabel.bin"};
    char path[512];
    for (int i = 0; i < 4; i++) {
        path_of(path, sizeof path, names[i]);
        unlink(path);
    }
    path_of(path, sizeof path, "adir");
    rmdir(path);
    rmdir(dir);
}

int main(void)
{
    const int len = snprintf(dir, sizeof dir, "%s/test_cifar_XXXXXX", test_env("TMPDIR", "/tmp"));
    if (len >= (int)sizeof dir || !mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_good_file();
    test_errors();
    cleanup();
    return test_summary("test_cifar");
}
