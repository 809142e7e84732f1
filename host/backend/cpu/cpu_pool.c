/* cpu_pool.c: the CPU backend's thread pool (cpu_pool.h): a job counter the workers watch, tasks taken from a shared counter, a count of workers still busy. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backend/cpu/cpu_pool.h"

/*
 * A finished worker spins this many rounds watching for the next job before it sleeps,
 * and the caller as long for the last worker: ops follow each other within
 * microseconds in a training step, and a sleep and wake-up through the kernel costs
 * tens of them. About 20-60 microseconds on current x86 cores (a pause is 10-140
 * cycles); after that a waiting thread gives its core away.
 */
#define SPIN_ROUNDS 2000

struct cpu_pool {
    int threads;
    pthread_t *tid;        /* threads - 1 workers */
    pthread_mutex_t mu;
    pthread_cond_t wake;   /* workers sleep here until the job counter moves */
    pthread_cond_t done;   /* the caller sleeps here until no worker is busy */
    atomic_uint job;       /* bumped once per job (and once to stop) */
    int stop;              /* set before the last bump */
    /* The current job, written before `job` is bumped. */
    cpu_task_fn fn;
    void *ctx;
    int tasks;
    atomic_int next;       /* the next task number to take */
    atomic_int busy;       /* workers that have not finished the current job */
};

typedef struct worker_arg {
    cpu_pool *p;
    int worker;
} worker_arg;

static void spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void run_tasks(cpu_pool *p, int worker)
{
    for (;;) {
        const int t = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (t >= p->tasks)
            return;
        p->fn(p->ctx, t, worker);
    }
}

static void *worker_main(void *argp)
{
    worker_arg a = *(worker_arg *)argp;
    free(argp);
    cpu_pool *p = a.p;
    unsigned seen = 0;
    for (;;) {
        unsigned j = atomic_load_explicit(&p->job, memory_order_acquire);
        for (int i = 0; i < SPIN_ROUNDS && j == seen; i++) {
            spin_pause();
            j = atomic_load_explicit(&p->job, memory_order_acquire);
        }
        if (j == seen) {
            pthread_mutex_lock(&p->mu);
            while ((j = atomic_load_explicit(&p->job, memory_order_acquire)) == seen)
                pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        seen = j;
        if (p->stop)
            return NULL;
        run_tasks(p, a.worker);
        if (atomic_fetch_sub(&p->busy, 1) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

/* Moves the job counter and wakes the sleepers; the job's fields are set already. */
static void announce(cpu_pool *p)
{
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->job, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
}

cpu_pool *cpu_pool_create(int threads)
{
    if (threads < 1 || threads > CPU_POOL_MAX_THREADS) {
        fprintf(stderr, "cpu backend: %d threads asked, expected 1..%d\n", threads, CPU_POOL_MAX_THREADS);
        return NULL;
    }
    cpu_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->tid = calloc((size_t)threads, sizeof *p->tid))) {
        fprintf(stderr, "cpu backend: out of memory creating a pool of %d threads\n", threads);
        free(p);
        return NULL;
    }
    p->threads = 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->job, 0u);
    atomic_init(&p->next, 0);
    atomic_init(&p->busy, 0);
    for (int w = 1; w < threads; w++) {
        worker_arg *a = malloc(sizeof *a);
        int rc = a ? 0 : -1;
        if (a) {
            a->p = p;
            a->worker = w;
            rc = pthread_create(&p->tid[w - 1], NULL, worker_main, a);
            if (rc)
                free(a);
        }
        if (rc) {
            fprintf(stderr, "cpu backend: cannot start thread %d of %d: %s\n", w + 1, threads,
                    rc > 0 ? strerror(rc) : "out of memory");
            cpu_pool_destroy(p);
            return NULL;
        }
        p->threads = w + 1;
    }
    return p;
}

void cpu_pool_destroy(cpu_pool *p)
{
    if (!p)
        return;
    if (p->threads > 1) {
        p->stop = 1;
        announce(p);
        for (int w = 1; w < p->threads; w++)
            pthread_join(p->tid[w - 1], NULL);
    }
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    free(p->tid);
    free(p);
}

void cpu_pool_run(cpu_pool *p, int tasks, cpu_task_fn fn, void *ctx)
{
    if (p->threads == 1 || tasks <= 1) {
        for (int t = 0; t < tasks; t++)
            fn(ctx, t, 0);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->tasks = tasks;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->busy, p->threads - 1, memory_order_relaxed);
    announce(p);
    run_tasks(p, 0);
    for (int i = 0; i < SPIN_ROUNDS && atomic_load(&p->busy) > 0; i++)
        spin_pause();
    if (atomic_load(&p->busy) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->busy) > 0)
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}
