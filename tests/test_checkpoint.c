/* test_checkpoint.c: checkpoint.bin round trip, and every kind of damaged or mismatched file refused with a message naming the problem. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "backend/backend.h"
#include "train/checkpoint.h"
#include "model/model.h"
#include "testlib.h"

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    if (fread(b, 1, *n, f) != *n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

/* Rewrites the trailing CRC so a deliberate edit reaches the checks behind the checksum. */
static void fix_crc(unsigned char *b, size_t n)
{
    const uint32_t c = ckpt_crc32(0, b, n - 4);
    for (int i = 0; i < 4; i++)
        b[n - 4 + i] = (unsigned char)(c >> (8 * i));
}

static long find(const unsigned char *b, size_t n, const char *s)
{
    const size_t l = strlen(s);
    for (size_t i = 0; i + l <= n; i++)
        if (!memcmp(b + i, s, l))
            return (long)i;
    return -1;
}

/* Loads `b` as a checkpoint into m; expects failure with `want` in the message. */
static void expect_refused(const char *path, const unsigned char *b, size_t n, const ckpt_state *e, model *m,
                           const char *want, const char *what)
{
    char err[512] = "";
    ckpt_state got;
    spit(path, b, n);
    const int rc = checkpoint_load(path, e, m, &got, err, sizeof err);
    CHECK(rc != 0, "%s: accepted", what);
    CHECK(strstr(err, want) != NULL, "%s: message '%s' lacks '%s'", what, err, want);
    printf("  %-28s -> %s\n", what, err);
}

int main(void)
{
    /* The CRC of the standard check string. */
    CHECK(ckpt_crc32(0, "123456789", 9) == 0xCBF43926u, "CRC-32 check value %08x", ckpt_crc32(0, "123456789", 9));

    char dir[] = "/tmp/test_checkpoint_XXXXXX", err[512], path[600], bad[600];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/%s", dir, CKPT_FILE);
    snprintf(bad, sizeof bad, "%s/bad.bin", dir);
    backend *be = backend_cpu_create(0, NULL, 0);
    model *a = model_create(be, 8, 10, 4, 11, err, sizeof err), *b = model_create(be, 8, 10, 4, 12, err, sizeof err);
    const model_layout *L = a->L;
    /* Distinct, non-trivial contents in every buffer. */
    float *w = malloc((size_t)L->n_params * sizeof *w), *v = malloc((size_t)L->n_params * sizeof *v);
    float *s = malloc((size_t)L->n_stats * sizeof *s);
    for (long i = 0; i < L->n_params; i++)
        w[i] = 0.001f * (float)(i % 997) - 0.3f, v[i] = -0.0005f * (float)(i % 389);
    for (long i = 0; i < L->n_stats; i++)
        s[i] = 0.5f + 0.01f * (float)i;
    be->ops->upload(be, a->w, w, (size_t)L->n_params * sizeof *w);
    be->ops->upload(be, a->v, v, (size_t)L->n_params * sizeof *v);
    be->ops->upload(be, a->stats, s, (size_t)L->n_stats * sizeof *s);

    const ckpt_state st = {11, 8, 10, 4, 512, 123, 45, 0.375, 6, 2};
    CHECK(checkpoint_save(dir, &st, a, err, sizeof err) == 0, "save: %s", err);
    CHECK(access(path, F_OK) == 0 && access(bad, F_OK) != 0, "saved under its final name");

    /* Round trip into a model initialized differently. */
    ckpt_state got;
    CHECK(checkpoint_load(path, &st, b, &got, err, sizeof err) == 0, "load: %s", err);
    CHECK(got.step == 123 && got.warmup_end == 45 && got.train_error == 0.375 && got.skipped == 6 &&
              got.above_count == 2, "state fields round trip");
    float *w2 = malloc((size_t)L->n_params * sizeof *w2), *v2 = malloc((size_t)L->n_params * sizeof *v2);
    float *s2 = malloc((size_t)L->n_stats * sizeof *s2);
    be->ops->download(be, w2, b->w, (size_t)L->n_params * sizeof *w2);
    be->ops->download(be, v2, b->v, (size_t)L->n_params * sizeof *v2);
    be->ops->download(be, s2, b->stats, (size_t)L->n_stats * sizeof *s2);
    CHECK(!memcmp(w, w2, (size_t)L->n_params * sizeof *w), "parameters round trip bit for bit");
    CHECK(!memcmp(v, v2, (size_t)L->n_params * sizeof *v), "momentum round trips bit for bit");
    CHECK(!memcmp(s, s2, (size_t)L->n_stats * sizeof *s), "BN statistics round trip bit for bit");

    size_t n = 0;
    unsigned char *orig = slurp(path, &n), *x = malloc(n);
    /* The layout of docs/checkpoint.md, byte for byte: 80-byte header, tensors, CRC. */
    size_t want = 80 + 4;
    for (int pass = 0; pass < 3; pass++) {
        const param_view *tab = pass == 1 ? L->stat_views : L->views;
        const int nv = pass == 1 ? L->n_stat_views : L->n_views;
        for (int i = 0; i < nv; i++)
            want += 2 + strlen(tab[i].name) + (pass == 2 ? strlen(CKPT_MOMENTUM_PREFIX) : 0) + 2 +
                    4 * (size_t)tab[i].rank + 4 * (size_t)tab[i].count;
    }
    CHECK(orig && n == want, "file size %zu, the documented layout says %zu", n, want);
    printf("checkpoint of depth 8: %zu bytes\n", n);

    /* Damage, one kind at a time. */
    memcpy(x, orig, n);
    x[n / 2] ^= 1;
    expect_refused(bad, x, n, &st, b, "checksum mismatch", "one flipped bit");
    /* A truncated tail is named as such (the sizes inside the file say how long it must be). */
    expect_refused(bad, orig, n - 1, &st, b, "truncated: the file ends after", "one byte short");
    expect_refused(bad, orig, n / 2, &st, b, "truncated: the file ends after", "half the file");
    expect_refused(bad, orig, 50, &st, b, "truncated: the file ends after 50 bytes, inside the header", "half the header");
    expect_refused(bad, orig, 10, &st, b, "truncated: 10 bytes", "10 bytes");
    expect_refused(bad, orig, 0, &st, b, "empty file", "empty file");
    /* Bytes appended after the trailer: a corrupt file, not a short one. */
    unsigned char *longer = malloc(n + 3);
    memcpy(longer, orig, n);
    memset(longer + n, 0, 3);
    expect_refused(bad, longer, n + 3, &st, b, "checksum mismatch", "3 bytes appended");
    free(longer);
    memcpy(x, orig, n);
    x[0] = 'X';
    expect_refused(bad, x, n, &st, b, "magic", "bad magic");
    memcpy(x, orig, n);
    x[8] = 2;
    expect_refused(bad, x, n, &st, b, "version 2", "other format version");

    /* Mismatches behind a valid checksum. */
    ckpt_state other = st;
    other.seed = 99;
    expect_refused(bad, orig, n, &other, b, "train.seed", "other seed");
    other = st;
    other.n_train = 1000;
    expect_refused(bad, orig, n, &other, b, "training images", "other training set");
    const long at = find(orig, n, "stage2.block0.conv1.weight");
    CHECK(at > 0, "tensor name in the file");
    const long dims = at + (long)strlen("stage2.block0.conv1.weight") + 2; /* after dtype and rank */
    memcpy(x, orig, n);
    x[dims] = 31; /* (32, 16, 3, 3) -> (31, 16, 3, 3) */
    fix_crc(x, n);
    expect_refused(bad, x, n, &st, b, "'stage2.block0.conv1.weight' has shape (31, 16, 3, 3) in the file but (32, 16, 3, 3)",
                   "wrong shape");
    memcpy(x, orig, n);
    x[dims - 2] = 2; /* dtype */
    fix_crc(x, n);
    expect_refused(bad, x, n, &st, b, "dtype code 2", "wrong dtype");
    memcpy(x, orig, n);
    x[at + 5] = '9'; /* stage2 -> stage9 */
    fix_crc(x, n);
    expect_refused(bad, x, n, &st, b, "'stage9.block0.conv1.weight' does not exist", "unknown tensor");
    const long mat = find(orig, n, "momentum.fc.bias");
    memcpy(x, orig, n);
    memcpy(x + mat, "momentum.fc.weig", 16); /* a second momentum.fc.weight... */
    fix_crc(x, n);
    expect_refused(bad, x, n, &st, b, "does not exist", "renamed tensor");

    /* The last tensor (momentum.fc.bias, 10 floats) dropped, the count lowered. */
    const size_t last = 2 + strlen("momentum.fc.bias") + 2 + 4 + 40;
    memcpy(x, orig, n);
    x[76] = (unsigned char)(x[76] - 1);
    memmove(x + n - 4 - last, x + n - 4, 4);
    fix_crc(x, n - last);
    expect_refused(bad, x, n - last, &st, b, "'momentum.fc.bias' is missing", "missing tensor");

    /* A model of another depth rejects by header before any tensor. */
    model *c = model_create(be, 14, 10, 4, 1, err, sizeof err);
    other = st;
    other.depth = 14;
    expect_refused(bad, orig, n, &other, c, "model.depth 8", "other depth");

    remove(path);
    remove(bad);
    rmdir(dir);
    free(orig), free(x), free(w), free(v), free(s), free(w2), free(v2), free(s2);
    model_destroy(a);
    model_destroy(b);
    model_destroy(c);
    be->ops->destroy(be);
    return test_summary("test_checkpoint");
}
