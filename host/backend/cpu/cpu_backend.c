/* cpu_backend.c: the CPU reference backend's function table, memory ops and lifetime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/cpu/cpu_internal.h"

static void cpu_destroy(backend *b)
{
    if (!b)
        return;
    cpu_backend *cb = (cpu_backend *)b;
    cpu_pool_destroy(cb->pool);
    for (int i = 0; i < CPU_SB_COUNT; i++)
        cpu_scratch_free(&cb->shared[i]);
    if (cb->worker)
        for (int i = 0; i < cb->threads * CPU_WB_COUNT; i++)
            cpu_scratch_free(&cb->worker[i]);
    free(cb->worker);
    free(cb);
}

static void *cpu_alloc(backend *b, size_t bytes, const char *what)
{
    (void)b;
    /* Whole 64-byte lines: the kernels' 16-float vectors then never straddle two. A
       size of 0 still gets a real block, which callers would otherwise take for
       out-of-memory. */
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0) {
        fprintf(stderr, "cpu backend: out of memory allocating %zu bytes for %s\n", bytes,
                what ? what : "a tensor");
        return NULL;
    }
    memset(p, 0, bytes);
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

/* The convolution loops need no per-shape setup. */
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

/* err may be NULL: then the message goes to stderr. */
static backend *create_failed(cpu_backend *cb, char *err, size_t err_size, const char *msg)
{
    if (err && err_size)
        snprintf(err, err_size, "cpu backend: %s", msg);
    else
        fprintf(stderr, "cpu backend: %s\n", msg);
    cpu_destroy(&cb->base);
    return NULL;
}

backend *backend_cpu_create(int threads, char *err, size_t err_size)
{
    cpu_backend *cb = calloc(1, sizeof *cb);
    if (!cb) {
        fprintf(stderr, "cpu backend: out of memory allocating %zu bytes for the backend\n", sizeof *cb);
        return NULL;
    }
    cb->base.ops = &CPU_OPS;
    char msg[256];
    if (threads < 0 || threads > CPU_POOL_MAX_THREADS) {
        snprintf(msg, sizeof msg, "%d threads asked, expected 0 (auto) or 1..%d", threads, CPU_POOL_MAX_THREADS);
        return create_failed(cb, err, err_size, msg);
    }
    cb->threads = threads ? threads : backend_cpu_auto_threads();
    if (!(cb->kern = cpu_kernels_pick(msg, sizeof msg)))
        return create_failed(cb, err, err_size, msg);
    if (!(cb->worker = calloc((size_t)cb->threads * CPU_WB_COUNT, sizeof *cb->worker)))
        return create_failed(cb, err, err_size, "out of memory allocating the threads' scratch table");
    if (!(cb->pool = cpu_pool_create(cb->threads)))
        return create_failed(cb, err, err_size, "cannot start its threads (see above)");
    return &cb->base;
}

int backend_cpu_threads(const backend *b) { return ((const cpu_backend *)b)->threads; }

const char *backend_cpu_kernels(const backend *b) { return ((const cpu_backend *)b)->kern->name; }
