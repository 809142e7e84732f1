/* step_cache.h: the table of recorded training steps a backend replays (CUDA graphs), keyed by (step function, context): find, add, forget. */
#ifndef STEP_CACHE_H
#define STEP_CACHE_H

/*
 * run_step(b, step, ctx, capture) records step(ctx) once and replays the recording on
 * later calls with the same pair. The key is two addresses, so a recording outlives
 * nothing it names: when ctx is freed and a new object is made at the same address, or
 * when a buffer the recording reads or writes is freed, the entry must be forgotten
 * first (backend_ops.forget_steps), or the next call would replay the old work on
 * memory that belongs to someone else. Backend-neutral (the handle is opaque) so that
 * the bookkeeping is tested on every machine, not only on one with a GPU.
 */
#define STEP_CACHE_MAX 8

typedef struct step_cache_entry {
    void (*step)(void *ctx);
    const void *ctx;
    void *handle; /* the backend's recording (a cudaGraphExec_t) */
} step_cache_entry;

typedef struct step_cache {
    int n;
    step_cache_entry e[STEP_CACHE_MAX];
} step_cache;

/* The recording of (step, ctx), or NULL. */
void *step_cache_find(const step_cache *c, void (*step)(void *ctx), const void *ctx);

/* Adds a recording; 0, or -1 when the table is full (the entry is not added). */
int step_cache_add(step_cache *c, void (*step)(void *ctx), const void *ctx, void *handle);

/* Removes every entry of ctx (every entry when ctx is NULL), calling release(handle,
   arg) once for each, in table order; the others keep their order. Returns how many
   were removed. */
int step_cache_forget(step_cache *c, const void *ctx, void (*release)(void *handle, void *arg), void *arg);

#endif
