/* cpu_common.c: what every CPU op file may call (the fatal-error report, the grow-only scratch buffers), below the function table in cpu_backend.c. */
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

void *cpu_scratch_get(cpu_scratch *s, size_t bytes)
{
    if (bytes > s->bytes) {
        /* free + allocate rather than realloc: the old contents are never needed. */
        free(s->p);
        s->p = NULL;
        s->bytes = 0;
        /* 64-byte lines: the kernels' vectors and the copies of input planes stream
           through them. */
        if (posix_memalign(&s->p, 64, bytes) != 0)
            cpu_fatal("out of memory allocating %zu bytes of scratch", bytes);
        s->bytes = bytes;
    }
    return s->p;
}

void cpu_scratch_free(cpu_scratch *s)
{
    free(s->p);
    s->p = NULL;
    s->bytes = 0;
}
