/* sweep_slurm_record.c: the Slurm engine's records in the sweep folder: slurm/tasks.argv (each plan row's folder and command line) and slurm/jobs.csv (one row per submission). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "common/exitcodes.h"
#include "common/fileio.h"
#include "sweep/sweep_slurm.h"

#define TASKS_MAGIC "resnet-sweep-tasks 1"
#define TASKS_MAX (512u << 20) /* far above SW_MAX_RUNS rows of SW_CHILD_ARGV arguments */
#define JOBS_HEADER "job_id,submitted,plan,tasks,limit,array"

/* A growing byte buffer. */
typedef struct bytes {
    char *p;
    size_t n, cap;
    int oom;
} bytes;

/* S and its terminating NUL. */
static void put(bytes *b, const char *s)
{
    size_t len = strlen(s) + 1;
    if (b->oom)
        return;
    if (b->n + len > b->cap) {
        size_t c = b->cap ? b->cap : 65536;
        while (c < b->n + len)
            c *= 2;
        char *p = realloc(b->p, c);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = c;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
}

int slurm_tasks_build(const sweep_spec *spec, const sweep_plan *plan, int with_div, const char *cwd, char **buf,
                      size_t *len)
{
    bytes b = {0};
    sw_run_args *a = malloc(sizeof *a);
    char count[32];
    if (!a)
        return EXIT_RUNTIME;
    snprintf(count, sizeof count, "%d", plan->n_runs);
    put(&b, TASKS_MAGIC);
    put(&b, cwd);
    put(&b, count);
    put(&b, "");
    for (int r = 0; r < plan->n_runs; r++) {
        const sw_run *run = &plan->runs[r];
        char dir[FILEIO_PATH_MAX];
        char *argv[SW_CHILD_ARGV];
        /* The run's folder and settings exactly as sweep_execute makes them. */
        path_join(dir, sizeof dir, spec->output, run->name);
        sweep_run_args(spec, &plan->cells[run->cell], spec->seed[run->seed_index], with_div, dir, a);
        const int argc = sweep_child_argv(spec, a, argv);
        put(&b, dir);
        for (int i = 1; i < argc; i++) /* argv[0] is the program, found again by the task */
            put(&b, argv[i]);
        put(&b, "");
    }
    free(a);
    if (b.oom || b.n > TASKS_MAX) {
        free(b.p);
        fprintf(stderr, "sweep: out of memory for the task list\n");
        return EXIT_RUNTIME;
    }
    *buf = b.p;
    *len = b.n;
    return 0;
}

uint64_t slurm_hash(const char *buf, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)buf[i];
        h *= 1099511628211ull;
    }
    return h;
}

void slurm_tasks_free(slurm_tasks *t)
{
    free(t->buf);
    free(t->run_dir);
    free(t->argc);
    free(t->argv);
    free(t->ptrs);
    memset(t, 0, sizeof *t);
}

/* The strings of one record starting at *at: their count (the end marker excluded), or -1. */
static int record(const char *buf, size_t len, size_t *at, const char **out, int max)
{
    int n = 0;
    for (;;) {
        if (*at >= len)
            return -1;
        const char *s = buf + *at;
        const char *nul = memchr(s, '\0', len - *at);
        if (!nul)
            return -1;
        *at += (size_t)(nul - s) + 1;
        if (!*s)
            return n;
        if (n >= max)
            return -1;
        out[n++] = s;
    }
}

int slurm_tasks_read(const char *dir, slurm_tasks *t)
{
    char path[FILEIO_PATH_MAX];
    memset(t, 0, sizeof *t);
    path_join(path, sizeof path, dir, SW_SLURM_TASKS);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "sweep: %s: %s (a sweep submitted with --engine slurm writes it)\n", path,
                strerror(errno));
        return EXIT_USAGE;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || (unsigned long long)st.st_size > TASKS_MAX ||
        !(t->buf = malloc((size_t)st.st_size + 1)) ||
        fread(t->buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        fprintf(stderr, "sweep: %s: cannot read it: %s\n", path, ferror(f) ? strerror(errno) : "too large");
        fclose(f);
        slurm_tasks_free(t);
        return EXIT_RUNTIME;
    }
    fclose(f);
    t->len = (size_t)st.st_size;
    size_t at = 0;
    const char *head[4];
    const char **row = malloc(SW_CHILD_ARGV * sizeof *row);
    long n = -1;
    if (row && record(t->buf, t->len, &at, head, 4) == 3 && !strcmp(head[0], TASKS_MAGIC)) {
        char *end;
        n = strtol(head[2], &end, 10);
        if (*end || n < 0 || n > SW_MAX_RUNS)
            n = -1;
    }
    if (n >= 0) {
        t->cwd = head[1];
        t->n = (int)n;
        t->run_dir = calloc((size_t)n + 1, sizeof *t->run_dir);
        t->argc = calloc((size_t)n + 1, sizeof *t->argc);
        t->argv = calloc((size_t)n + 1, sizeof *t->argv);
        /* The argument pointers live in one array per row, allocated together below. */
        size_t scan = at;
        long total = 0;
        for (long i = 0; i < n && total >= 0; i++) {
            int k = record(t->buf, t->len, &scan, row, SW_CHILD_ARGV);
            total = k < 2 ? -1 : total + k;
        }
        const char **all = total >= 0 && scan == t->len ? malloc((size_t)(total + n) * sizeof *all) : NULL;
        if (!all || !t->run_dir || !t->argc || !t->argv) {
            free(all);
            n = -1;
        } else {
            const char **p = t->ptrs = all;
            for (long i = 0; i < n; i++) {
                int k = record(t->buf, t->len, &at, p, SW_CHILD_ARGV);
                t->run_dir[i] = p[0];
                t->argv[i] = p + 1;
                t->argc[i] = k - 1;
                p += k;
            }
        }
    }
    free(row);
    if (n < 0) {
        fprintf(stderr, "sweep: %s: not a task file of this version (%s)\n", path, TASKS_MAGIC);
        slurm_tasks_free(t);
        return EXIT_USAGE;
    }
    return 0;
}

/* ---- jobs.csv ---- */

void slurm_jobs_free(slurm_job *jobs, int n)
{
    for (int i = 0; i < n; i++)
        free(jobs[i].array);
    free(jobs);
}

int slurm_jobs_read(const char *dir, slurm_job **jobs, int *n)
{
    char path[FILEIO_PATH_MAX];
    *jobs = NULL;
    *n = 0;
    path_join(path, sizeof path, dir, SW_SLURM_JOBS);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        fprintf(stderr, "sweep: %s: %s\n", path, strerror(errno));
        return EXIT_RUNTIME;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        if (lineno == 1) {
            line[strcspn(line, "\r\n")] = '\0';
            if (strcmp(line, JOBS_HEADER)) {
                fprintf(stderr, "sweep: %s:1: expected the header %s\n", path, JOBS_HEADER);
                rc = EXIT_USAGE;
                break;
            }
            continue;
        }
        char *fld[8];
        slurm_job j = {0};
        char *end1, *end2;
        if (csv_split(line, fld, 8) != 6 || strlen(fld[0]) >= sizeof j.id || strspn(fld[0], "0123456789") !=
            strlen(fld[0]) || !*fld[0] || strlen(fld[1]) >= sizeof j.submitted || strlen(fld[2]) != 16 ||
            (j.tasks = (int)strtol(fld[3], &end1, 10)) < 1 || *end1 || (j.limit = (int)strtol(fld[4], &end2, 10)) < 0 ||
            *end2 || !(j.array = strdup(fld[5]))) {
            fprintf(stderr, "sweep: %s:%d: expected job_id,submitted,plan,tasks,limit,array\n", path, lineno);
            rc = EXIT_USAGE;
            break;
        }
        snprintf(j.id, sizeof j.id, "%s", fld[0]);
        snprintf(j.submitted, sizeof j.submitted, "%s", fld[1]);
        snprintf(j.plan, sizeof j.plan, "%s", fld[2]);
        slurm_job *grown = realloc(*jobs, (size_t)(*n + 1) * sizeof *grown);
        if (!grown) {
            free(j.array);
            rc = EXIT_RUNTIME;
            break;
        }
        *jobs = grown;
        (*jobs)[(*n)++] = j;
    }
    free(line);
    fclose(f);
    if (rc) {
        slurm_jobs_free(*jobs, *n);
        *jobs = NULL;
        *n = 0;
    }
    return rc;
}

static void job_row(FILE *f, const slurm_job *j)
{
    fprintf(f, "%s,%s,%s,%d,%d,\"%s\"\n", j->id, j->submitted, j->plan, j->tasks, j->limit, j->array);
}

int slurm_jobs_append(const char *dir, const slurm_job *jobs, int n, const slurm_job *j)
{
    char path[FILEIO_PATH_MAX], err[512];
    atomic_file af;
    path_join(path, sizeof path, dir, SW_SLURM_JOBS);
    FILE *f = atomic_open(&af, path, err, sizeof err);
    if (!f) {
        fprintf(stderr, "sweep: %s\n", err);
        return EXIT_RUNTIME;
    }
    fprintf(f, "%s\n", JOBS_HEADER);
    for (int i = 0; i < n; i++)
        job_row(f, &jobs[i]);
    job_row(f, j);
    if (atomic_commit(&af, err, sizeof err) != 0) {
        fprintf(stderr, "sweep: %s\n", err);
        return EXIT_RUNTIME;
    }
    return 0;
}

int slurm_array_has(const char *array, int i)
{
    const char *p = array;
    while (*p && *p != '%') {
        char *end;
        long lo = strtol(p, &end, 10), hi = lo;
        if (end == p)
            return 0;
        if (*end == '-')
            hi = strtol(end + 1, &end, 10);
        if (i >= lo && i <= hi)
            return 1;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}
