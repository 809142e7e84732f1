/* step_cache.c: the recorded-step table behind run_step's replay and forget_steps (see step_cache.h). */
#include <stddef.h>
#include "backend/step_cache.h"

void *step_cache_find(const step_cache *c, void (*step)(void *ctx), const void *ctx)
{
    for (int i = 0; i < c->n; i++)
        if (c->e[i].step == step && c->e[i].ctx == ctx)
            return c->e[i].handle;
    return NULL;
}

int step_cache_add(step_cache *c, void (*step)(void *ctx), const void *ctx, void *handle)
{
    if (c->n == STEP_CACHE_MAX)
        return -1;
    c->e[c->n].step = step;
    c->e[c->n].ctx = ctx;
    c->e[c->n].handle = handle;
    c->n++;
    return 0;
}

int step_cache_forget(step_cache *c, const void *ctx, void (*release)(void *handle, void *arg), void *arg)
{
    int kept = 0, dropped = 0;
    for (int i = 0; i < c->n; i++) {
        if (ctx == NULL || c->e[i].ctx == ctx) {
            release(c->e[i].handle, arg);
            dropped++;
        } else {
            c->e[kept++] = c->e[i];
        }
    }
    c->n = kept;
    return dropped;
}
