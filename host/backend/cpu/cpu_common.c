/* cpu_common.c: what every CPU op file may call (the fatal-error report, the grow-only scratch workspace), below the function table in cpu_backend.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "backend/cpu/cpu_internal.h"
#include "common/exitcodes.h"

void cpu_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cpu backend: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(EXIT_RUNTIME);
}

float *cpu_workspace(backend *b, size_t floats)
{
    cpu_backend *cb = (cpu_backend *)b;
    if (floats > cb->ws_floats) {
        /* free + malloc rather than realloc: the old contents are never needed. */
        free(cb->ws);
        cb->ws = malloc(floats * sizeof(float));
        if (!cb->ws)
            cpu_fatal("out of memory allocating %zu bytes of convolution workspace",
                      floats * sizeof(float));
        cb->ws_floats = floats;
    }
    return cb->ws;
}
