/* cpu_pool.h: the CPU backend's thread pool: runs numbered tasks on a fixed set of threads, results independent of how many. */
#ifndef CPU_POOL_H
#define CPU_POOL_H

/*
 * An op splits its work into tasks whose number and boundaries depend on the op's shape
 * only, never on the thread count; each task writes its own outputs (or its own partial
 * sum, which the op then adds in task order). Which thread runs which task is left to
 * chance (threads take the next task number as they finish), so the results are the same
 * bits whether the pool has 1 thread or 16, and the tasks still spread evenly over
 * threads that the OS runs at different speeds.
 *
 * `worker` (0..threads-1) names the thread running the task, for per-thread scratch only:
 * nothing a task computes may depend on it. The calling thread is worker 0 and works
 * too; with 1 thread no thread is started and tasks run in order on the caller.
 *
 * Waiting threads sleep on a condition variable after a short spin (see cpu_pool.c):
 * several training processes may share the cores (a sweep's jobs, ctest -j), and a
 * thread that spins for long while its peer waits for a core only slows both.
 */
typedef struct cpu_pool cpu_pool;

typedef void (*cpu_task_fn)(void *ctx, int task, int worker);

/* Most threads a pool runs (train.threads' upper bound). */
#define CPU_POOL_MAX_THREADS 256

/* A pool of `threads` threads (1..CPU_POOL_MAX_THREADS), the caller's included; NULL
   with a message on stderr when the threads cannot be started. */
cpu_pool *cpu_pool_create(int threads);
void cpu_pool_destroy(cpu_pool *p);

/* Runs fn(ctx, t, worker) for every t in 0..tasks-1 and returns when all have finished.
   Not reentrant: a task must not call cpu_pool_run. */
void cpu_pool_run(cpu_pool *p, int tasks, cpu_task_fn fn, void *ctx);

#endif
