/* sweep_slurm_submit.c: `resnet sweep SWEEP.yaml --engine slurm`: validates every run, records the command lines, writes slurm/array.sbatch and submits the unfinished runs as one job array. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "common/exitcodes.h"
#include "common/fileio.h"
#include "sweep/sweep_slurm.h"

/* PATH made absolute against the working directory CWD. */
static int absolute(const char *path, const char *cwd, char *out, size_t out_size)
{
    if (path[0] == '/')
        return snprintf(out, out_size, "%s", path) < (int)out_size ? 0 : -1;
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    return snprintf(out, out_size, "%s/%s", cwd, path) < (int)out_size ? 0 : -1;
}

/* slurm.job_name, else the sweep folder's name, in the characters a job name may hold. */
static void job_name(const sweep_spec *spec, char *out, size_t out_size)
{
    if (spec->slurm.job_name[0]) {
        snprintf(out, out_size, "%s", spec->slurm.job_name);
        return;
    }
    const char *base = spec->output;
    size_t n = strlen(base);
    while (n > 1 && base[n - 1] == '/')
        n--;
    size_t start = n;
    while (start > 0 && base[start - 1] != '/')
        start--;
    size_t o = 0;
    for (size_t i = start; i < n && o + 1 < out_size; i++) {
        const char c = base[i];
        const int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       strchr("_.+-", c);
        out[o++] = ok ? c : '_';
    }
    out[o] = '\0';
    if (!o || !strcmp(out, ".") || !strcmp(out, ".."))
        snprintf(out, out_size, "resnet-sweep");
}

/* Whether DIR/slurm/tasks.argv holds exactly BUF. */
static int same_file(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    int same = 1;
    char chunk[65536];
    size_t at = 0, n;
    while (same && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        same = at + n <= len && !memcmp(chunk, buf + at, n);
        at += n;
    }
    fclose(f);
    return same && at == len;
}

static int write_bytes(const char *path, const char *buf, size_t len)
{
    char err[512];
    atomic_file af;
    FILE *f = atomic_open(&af, path, err, sizeof err);
    if (!f || fwrite(buf, 1, len, f) != len || atomic_commit(&af, err, sizeof err) != 0) {
        if (f)
            atomic_abort(&af);
        fprintf(stderr, "sweep: %s\n", err[0] ? err : path);
        return EXIT_RUNTIME;
    }
    return 0;
}

/* Everything a submission decides before it submits. */
typedef struct submission {
    char cwd[FILEIO_PATH_MAX], exe[FILEIO_PATH_MAX], abs_dir[FILEIO_PATH_MAX];
    char *tasks; /* the task file's bytes */
    size_t tasks_len;
    char plan[20];
    slurm_job *jobs;
    int n_jobs;
    slurm_task_state *st;
    int *todo, n_todo, n_done, n_active;
    unsigned char *stale; /* per run: finished by another config, to be redone (--rerun-changed) */
    char *array;  /* the indices, e.g. 0-3,7 */
    char *script; /* the batch script */
    size_t script_len;
} submission;

static void submission_free(submission *s)
{
    free(s->tasks);
    slurm_jobs_free(s->jobs, s->n_jobs);
    free(s->st);
    free(s->todo);
    free(s->stale);
    free(s->array);
    free(s->script);
}

/* Which runs go into this submission: not done (a run finished by another config counts as
   not done: sweep_validate let it through only with --rerun-changed), and not queued or
   running in Slurm. */
static int choose(const sweep_spec *spec, const sweep_plan *plan, submission *s)
{
    const int N = plan->n_runs;
    char note[256];
    int other_active = 0;
    s->st = calloc((size_t)N, sizeof *s->st);
    s->todo = malloc((size_t)N * sizeof *s->todo);
    if (!s->st || !s->todo) {
        fprintf(stderr, "sweep: out of memory\n");
        return EXIT_RUNTIME;
    }
    int rc = slurm_jobs_read(spec->output, &s->jobs, &s->n_jobs);
    if (!rc)
        rc = slurm_query(s->jobs, s->n_jobs, s->plan, N, s->st, &other_active, note, sizeof note);
    if (rc)
        return rc;
    if (other_active) {
        fprintf(stderr, "sweep: %d tasks submitted earlier to %s are still queued or running, and the runs have "
                        "changed since (another sweep file, grid, --set or working folder): wait for them or "
                        "cancel them (scancel; the job ids are in %s/%s), then submit again\n", other_active,
                spec->output, spec->output, SW_SLURM_JOBS);
        return EXIT_USAGE;
    }
    for (int i = 0; i < N; i++) {
        char dir[FILEIO_PATH_MAX];
        path_join(dir, sizeof dir, spec->output, plan->runs[i].name);
        if (s->st[i].cls == SQ_QUEUED || s->st[i].cls == SQ_RUNNING)
            s->n_active++;
        else if (sweep_run_complete(dir) && !s->stale[i])
            s->n_done++;
        else
            s->todo[s->n_todo++] = i;
    }
    return 0;
}

static int make_script(const sweep_spec *spec, int jobs, submission *s)
{
    char name[SW_SLURM_NAME], *with_limit;
    job_name(spec, name, sizeof name);
    if (!(s->array = slurm_array_list(s->todo, s->n_todo)) || !(with_limit = malloc(strlen(s->array) + 16))) {
        fprintf(stderr, "sweep: out of memory\n");
        return EXIT_RUNTIME;
    }
    if (jobs > 0)
        sprintf(with_limit, "%s%%%d", s->array, jobs);
    else
        strcpy(with_limit, s->array);
    FILE *f = open_memstream(&s->script, &s->script_len);
    if (!f) {
        free(with_limit);
        return EXIT_RUNTIME;
    }
    const slurm_script_args a = {spec->file, name, with_limit, s->abs_dir, s->exe};
    slurm_script_write(f, &spec->slurm, &a);
    const int bad = fclose(f) != 0;
    free(with_limit);
    return bad ? EXIT_RUNTIME : 0;
}

/* Writes the plan, the task file and the script, submits, records the job. */
static int submit(const sweep_spec *spec, const sweep_plan *plan, const double *peak, int with_div, int jobs,
                  submission *s)
{
    char path[FILEIO_PATH_MAX], script_path[FILEIO_PATH_MAX];
    int rc = sweep_write_plan(spec, plan, peak, with_div);
    if (rc)
        return rc;
    path_join(path, sizeof path, spec->output, SW_SLURM_TASKS);
    if (!same_file(path, s->tasks, s->tasks_len) && (rc = write_bytes(path, s->tasks, s->tasks_len)))
        return rc;
    path_join(script_path, sizeof script_path, s->abs_dir, SW_SLURM_SCRIPT);
    if ((rc = write_bytes(script_path, s->script, s->script_len)))
        return rc;
    /* Runs to be redone in place go before sbatch: a task that found the old finished run
       would take it for done. Should sbatch then fail, they are plain unfinished runs that
       the next submission sends. */
    for (int i = 0; i < s->n_todo; i++) {
        char dir[FILEIO_PATH_MAX];
        path_join(dir, sizeof dir, spec->output, plan->runs[s->todo[i]].name);
        if (s->stale[s->todo[i]] && sweep_clear_run(dir) != 0)
            return EXIT_RUNTIME;
    }

    char *sb[] = {"sbatch", "--parsable", script_path, NULL};
    slurm_out r;
    if (slurm_run(sb, &r) != 0) {
        slurm_report_failure(sb, &r);
        fprintf(stderr, "sweep: nothing was submitted (the script is %s)\n", script_path);
        slurm_out_free(&r);
        return EXIT_RUNTIME;
    }
    /* --parsable prints "JOBID" or "JOBID;CLUSTER". */
    slurm_job j = {0};
    size_t idl = strspn(r.out, "0123456789");
    if (idl == 0 || idl >= sizeof j.id || (r.out[idl] && !strchr(";\r\n", r.out[idl]))) {
        fprintf(stderr, "sweep: sbatch succeeded but printed no job id, only '%.100s'; see `squeue --me` and "
                        "cancel what it submitted before submitting again\n", r.out);
        slurm_out_free(&r);
        return EXIT_RUNTIME;
    }
    snprintf(j.id, sizeof j.id, "%.*s", (int)idl, r.out);
    slurm_out_free(&r);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(j.submitted, sizeof j.submitted, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(j.plan, sizeof j.plan, "%s", s->plan);
    j.tasks = s->n_todo;
    j.limit = jobs;
    j.array = s->array;
    if (slurm_jobs_append(spec->output, s->jobs, s->n_jobs, &j) != 0) {
        /* A job that is not recorded would run unseen by status and by the next submission. */
        char *sc[] = {"scancel", j.id, NULL};
        if (slurm_run(sc, &r) == 0)
            fprintf(stderr, "sweep: job %s could not be recorded in %s/%s, so it was cancelled\n", j.id,
                    spec->output, SW_SLURM_JOBS);
        else {
            slurm_report_failure(sc, &r);
            fprintf(stderr, "sweep: job %s could not be recorded and could not be cancelled: cancel it by hand\n",
                    j.id);
        }
        slurm_out_free(&r);
        return EXIT_RUNTIME;
    }
    char limit[64];
    snprintf(limit, sizeof limit, jobs > 0 ? "at most %d at a time" : "no limit on how many at a time", jobs);
    fprintf(stderr, "sweep: submitted Slurm job %s: %d array task%s (%s), %s; before it, %d of %d runs were done "
                    "and %d queued or running\n", j.id, s->n_todo, s->n_todo == 1 ? "" : "s", s->array, limit,
            s->n_done, plan->n_runs, s->n_active);
    fprintf(stderr, "sweep: follow it with `resnet sweep status %s`; `resnet report %s` makes the tables\n",
            spec->output, spec->output);
    printf("%s\n", j.id);
    return 0;
}

int sweep_slurm_submit(const sweep_spec *spec, const sweep_plan *plan, int jobs, int dry)
{
    submission s = {0};
    double *peak = calloc((size_t)plan->n_cells, sizeof *peak);
    int with_div = 0, lock = -1, rc;
    s.stale = calloc((size_t)plan->n_runs, 1);
    if (!peak || !s.stale) {
        fprintf(stderr, "sweep: out of memory\n");
        rc = EXIT_RUNTIME;
        goto done;
    }
    if ((rc = sweep_validate(spec, plan, &with_div, peak, s.stale)))
        goto done;
    ssize_t n = readlink("/proc/self/exe", s.exe, sizeof s.exe - 1);
    if (!getcwd(s.cwd, sizeof s.cwd) || n <= 0 || (size_t)n >= sizeof s.exe - 1 ||
        absolute(spec->output, s.cwd, s.abs_dir, sizeof s.abs_dir)) {
        fprintf(stderr, "sweep: cannot find the working folder, this binary or the sweep folder's path: %s\n",
                strerror(errno));
        rc = EXIT_RUNTIME;
        goto done;
    }
    s.exe[n] = '\0';
    if (!slurm_path_ok(s.abs_dir)) {
        fprintf(stderr, "sweep: the sweep folder %s has a space, a quote or one of %% # $ ` \\ in its path, which an "
                        "#SBATCH line cannot hold; choose another with --output\n", s.abs_dir);
        rc = EXIT_USAGE;
        goto done;
    }
    if (!dry) {
        char logs[FILEIO_PATH_MAX];
        path_join(logs, sizeof logs, spec->output, SW_SLURM_LOGS);
        if (sweep_mkdir_p(logs) != 0) {
            fprintf(stderr, "sweep: cannot create %s: %s\n", logs, strerror(errno));
            rc = EXIT_RUNTIME;
            goto done;
        }
        /* Two submissions at once would both see a run as unsubmitted. */
        if ((lock = sweep_lock_dir(spec->output)) < 0) {
            rc = EXIT_USAGE;
            goto done;
        }
    }
    if ((rc = slurm_tasks_build(spec, plan, with_div, s.cwd, &s.tasks, &s.tasks_len)))
        goto done;
    snprintf(s.plan, sizeof s.plan, "%016llx", (unsigned long long)slurm_hash(s.tasks, s.tasks_len));
    if ((rc = choose(spec, plan, &s)))
        goto done;
    if (s.n_todo == 0) {
        fprintf(stderr, "sweep: nothing to submit: %d of %d runs are done, %d queued or running (`resnet sweep "
                        "status %s` says which)\n", s.n_done, plan->n_runs, s.n_active, spec->output);
        goto done;
    }
    if ((rc = make_script(spec, jobs, &s)))
        goto done;
    if (dry) {
        fwrite(s.script, 1, s.script_len, stdout);
        fprintf(stderr, "sweep: dry run: would submit %d array tasks (%s) of %d runs (%d done, %d queued or "
                        "running); nothing was written or submitted\n", s.n_todo, s.array, plan->n_runs, s.n_done,
                s.n_active);
        goto done;
    }
    rc = submit(spec, plan, peak, with_div, jobs, &s);
done:
    if (lock >= 0)
        close(lock);
    submission_free(&s);
    free(peak);
    return rc;
}

int sweep_slurm_guard(const char *dir)
{
    slurm_job *jobs = NULL;
    slurm_tasks t;
    int n_jobs = 0, rc = slurm_jobs_read(dir, &jobs, &n_jobs);
    if (rc || n_jobs == 0) {
        slurm_jobs_free(jobs, n_jobs);
        return rc;
    }
    if (!slurm_have("squeue")) {
        fprintf(stderr, "sweep: warning: %s was submitted to Slurm (%s), and squeue is not here to say whether "
                        "tasks of it still run; going on as if none did\n", dir, SW_SLURM_JOBS);
        slurm_jobs_free(jobs, n_jobs);
        return 0;
    }
    rc = slurm_tasks_read(dir, &t);
    if (rc) {
        slurm_jobs_free(jobs, n_jobs);
        return rc;
    }
    char plan[20], note[256];
    snprintf(plan, sizeof plan, "%016llx", (unsigned long long)slurm_hash(t.buf, t.len));
    slurm_task_state *st = calloc((size_t)t.n + 1, sizeof *st);
    int other = 0, active = 0;
    rc = st ? slurm_query(jobs, n_jobs, plan, t.n, st, &other, note, sizeof note) : EXIT_RUNTIME;
    for (int i = 0; !rc && i < t.n; i++)
        active += st[i].cls == SQ_QUEUED || st[i].cls == SQ_RUNNING;
    if (!rc && active + other > 0) {
        fprintf(stderr, "sweep: %d Slurm tasks are queued or running in %s; a local sweep would redo their folders "
                        "under them: wait for them or cancel them (job ids in %s/%s)\n", active + other, dir, dir,
                SW_SLURM_JOBS);
        rc = EXIT_USAGE;
    }
    free(st);
    slurm_tasks_free(&t);
    slurm_jobs_free(jobs, n_jobs);
    return rc;
}
