/* cpu_threads.c: the thread count that train.threads 0 (auto) stands for: this process's cores, shared out among the training processes that run on them together. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "backend/backend.h"
#include "backend/cpu/cpu_internal.h"

/* The cores this process may run on: its affinity mask, which taskset, cgroup cpusets
   (containers) and Slurm's allocations set; the online count where there is none. */
int cpu_cores_allowed(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < INT_MAX ? (int)n : 1;
}

int backend_cpu_parallel_jobs(void)
{
    const char *v = getenv(RESNET_PARALLEL_JOBS_ENV);
    if (!v || !*v)
        return 1;
    char *end;
    errno = 0;
    const long j = strtol(v, &end, 10);
    if (errno || *end || j < 1 || j > 65536) {
        fprintf(stderr, "cpu backend: warning: %s=%s is not a count of processes (expected 1..65536); ignored\n",
                RESNET_PARALLEL_JOBS_ENV, v);
        return 1;
    }
    return (int)j;
}

int backend_cpu_auto_threads(void)
{
    const int t = cpu_cores_allowed() / backend_cpu_parallel_jobs();
    return t < 1 ? 1 : t > CPU_POOL_MAX_THREADS ? CPU_POOL_MAX_THREADS : t;
}
