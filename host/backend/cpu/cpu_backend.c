/* cpu_backend.c: the CPU reference backend's function table, memory ops and lifetime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include "backend/cpu/cpu_internal.h"

static void cpu_destroy(backend *b)
{
    if (!b)
        return;
    cpu_backend *cb = (cpu_backend *)b;
    free(cb->ws);
    free(cb);
}

static void *cpu_alloc(backend *b, size_t bytes, const char *what)
{
    (void)b;
    /* calloc(0) may legally return NULL, which callers would take for out-of-memory. */
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p)
        fprintf(stderr, "cpu backend: out of memory allocating %zu bytes for %s\n", bytes,
                what ? what : "a tensor");
    return p;
}

static void cpu_free(backend *b, void *p)
{
    (void)b;
    free(p);
}

static void cpu_upload(backend *b, void *dst, const void *src, size_t bytes)
{
    (void)b;
    if (bytes)
        memcpy(dst, src, bytes);
}

static void cpu_download(backend *b, void *dst, const void *src, size_t bytes)
{
    (void)b;
    if (bytes)
        memcpy(dst, src, bytes);
}

static void cpu_copy(backend *b, void *dst, const void *src, size_t bytes)
{
    (void)b;
    /* memmove: a copy onto itself (dst == src) is harmless rather than undefined. */
    if (bytes)
        memmove(dst, src, bytes);
}

static void cpu_zero(backend *b, void *p, size_t bytes)
{
    (void)b;
    if (bytes)
        memset(p, 0, bytes);
}

/* Every CPU op has finished when it returns. */
static void cpu_sync(backend *b) { (void)b; }

/* im2col + GEMM needs no per-shape setup. */
static void cpu_conv_prepare(backend *b, const conv_shape *s)
{
    (void)b;
    (void)s;
}

/* Nothing to record or replay on the CPU: the step runs as it is called. */
static void cpu_run_step(backend *b, void (*step)(void *ctx), void *ctx, int capture)
{
    (void)b;
    (void)capture;
    step(ctx);
}

/* Nothing is recorded on the CPU, so nothing is kept that could go stale. */
static void cpu_forget_steps(backend *b, const void *ctx)
{
    (void)b;
    (void)ctx;
}

static const struct backend_ops CPU_OPS = {
    .name = "cpu",
    .destroy = cpu_destroy,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .copy = cpu_copy,
    .zero = cpu_zero,
    .sync = cpu_sync,
    .make_batch = cpu_make_batch,
    .conv_prepare = cpu_conv_prepare,
    .conv_fwd = cpu_conv_fwd,
    .conv_bwd_data = cpu_conv_bwd_data,
    .conv_bwd_filter = cpu_conv_bwd_filter,
    .bn_train_fwd = cpu_bn_train_fwd,
    .bn_infer_fwd = cpu_bn_infer_fwd,
    .bn_bwd = cpu_bn_bwd,
    .relu_fwd = cpu_relu_fwd,
    .add_relu_fwd = cpu_add_relu_fwd,
    .relu_bwd = cpu_relu_bwd,
    .add_acc = cpu_add_acc,
    .shortcut_fwd = cpu_shortcut_fwd,
    .shortcut_bwd_acc = cpu_shortcut_bwd_acc,
    .avgpool_fwd = cpu_avgpool_fwd,
    .avgpool_bwd = cpu_avgpool_bwd,
    .linear_fwd = cpu_linear_fwd,
    .linear_bwd = cpu_linear_bwd,
    .softmax_xent = cpu_softmax_xent,
    .health = cpu_health,
    .sched_step = cpu_sched_step,
    .sgd_update = cpu_sgd_update,
    .restore_if_rejected = cpu_restore_if_rejected,
    .run_step = cpu_run_step,
    .forget_steps = cpu_forget_steps,
};

backend *backend_cpu_create(void)
{
    cpu_backend *cb = calloc(1, sizeof *cb);
    if (!cb) {
        fprintf(stderr, "cpu backend: out of memory allocating %zu bytes for the backend\n", sizeof *cb);
        return NULL;
    }
    cb->base.ops = &CPU_OPS;
    /* The convolutions are one small GEMM per image; OpenBLAS threads gain little on
       them and lose badly when two runs share the cores (a sweep with --jobs, ctest -j):
       measured 2.3x slower with 2 threads each on 2 busy cores. One thread unless the
       user says otherwise through OpenBLAS's own variable. */
    if (!getenv("OPENBLAS_NUM_THREADS"))
        openblas_set_num_threads(1);
    return &cb->base;
}
