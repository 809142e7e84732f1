/* sweep_status.c: `resnet sweep status DIR`: each run of a sweep folder done, running, queued, failed or not started, from the run folders and, for a Slurm sweep, squeue and sacct. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/exitcodes.h"
#include "common/fileio.h"
#include "common/json_min.h"
#include "sweep/sweep_slurm.h"

enum { ST_DONE, ST_RUNNING, ST_QUEUED, ST_FAILED, ST_NOT_STARTED, ST_COUNT };
static const char *const STATE_NAME[ST_COUNT] = {"done", "running", "queued", "failed", "not started"};

/* The step of the checkpoint in RUN (docs/checkpoint.md: magic, then the step at byte 40), or -1. */
static long checkpoint_step(const char *run)
{
    char path[FILEIO_PATH_MAX];
    unsigned char h[48];
    path_join(path, sizeof path, run, "checkpoint.bin");
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    const int ok = fread(h, 1, sizeof h, f) == sizeof h && !memcmp(h, "RNCKPT01", 8);
    fclose(f);
    if (!ok)
        return -1;
    unsigned long long step = 0;
    for (int i = 7; i >= 0; i--)
        step = step << 8 | h[40 + i];
    return (long)step;
}

/* The step of the last whole row of RUN/metrics.csv, or -1. */
static long last_logged_step(const char *run)
{
    char path[FILEIO_PATH_MAX], tail[4097];
    path_join(path, sizeof path, run, "metrics.csv");
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    long step = -1;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f), from = size > 4096 ? size - 4096 : 0;
        size_t n = fseek(f, from, SEEK_SET) == 0 ? fread(tail, 1, 4096, f) : 0;
        tail[n] = '\0';
        /* Rows end with a newline; a half-written last row is not counted. */
        char *last_nl = n ? strrchr(tail, '\n') : NULL;
        if (last_nl) {
            *last_nl = '\0';
            char *row = strrchr(tail, '\n');
            row = row ? row + 1 : (from == 0 ? tail : NULL);
            char *end;
            if (row && *row >= '0' && *row <= '9')
                step = strtol(row, &end, 10);
        }
    }
    fclose(f);
    return step;
}

/* How a run folder that holds no result stands, for the detail column. */
static void folder_detail(const char *run, char *out, size_t out_size)
{
    char path[FILEIO_PATH_MAX], err[256];
    json_flat j;
    const long ck = checkpoint_step(run);
    path_join(path, sizeof path, run, "summary.json");
    const char *st = json_flat_load(path, &j, err, sizeof err) == 0 ? json_get(&j, "status") : NULL;
    if (access(run, F_OK) != 0)
        snprintf(out, out_size, "no folder yet");
    else if (ck >= 0)
        snprintf(out, out_size, "%s with a checkpoint at step %ld", st ? st : "ended", ck);
    else
        snprintf(out, out_size, "%s, no checkpoint", st ? st : "no summary");
}

/* The result of a done run, for the detail column. */
static void done_detail(const char *run, char *out, size_t out_size)
{
    char path[FILEIO_PATH_MAX], err[256];
    json_flat j;
    path_join(path, sizeof path, run, "summary.json");
    if (json_flat_load(path, &j, err, sizeof err) != 0)
        snprintf(out, out_size, "?");
    else
        sweep_summary_phrase(&j, out, out_size); /* a done run: finished or diverged */
}

/* The pid holding DIR/.sweep.lock (a local sweep at work), or 0. */
static long local_sweep_pid(const char *dir)
{
    char path[FILEIO_PATH_MAX];
    path_join(path, sizeof path, dir, ".sweep.lock");
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    struct flock fl = {0};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    const long pid = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK ? (long)fl.l_pid : 0;
    close(fd);
    return pid;
}

/* The run names of DIR/plan.csv, in plan order (malloc'd, one SW_SLUG each). */
static int read_plan(const char *dir, char (**names)[SW_SLUG], int *n)
{
    char path[FILEIO_PATH_MAX];
    path_join(path, sizeof path, dir, SW_PLAN_FILE);
    FILE *f = fopen(path, "r");
    *names = NULL;
    *n = 0;
    if (!f) {
        fprintf(stderr, "sweep status: %s: %s (a sweep folder holds the plan.csv that `resnet sweep` writes)\n",
                path, strerror(errno));
        return EXIT_USAGE;
    }
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    for (int lineno = 1; getline(&line, &cap, f) > 0; lineno++) {
        char *fld[SW_MAX_KEYS + 8];
        if (lineno == 1 || csv_split(line, fld, SW_MAX_KEYS + 8) < 1 || !*fld[0])
            continue;
        char (*grown)[SW_SLUG] = *n < SW_MAX_RUNS ? realloc(*names, (size_t)(*n + 1) * sizeof *grown) : NULL;
        if (!grown) {
            fprintf(stderr, "sweep status: %s: out of memory or more than %d runs\n", path, SW_MAX_RUNS);
            rc = EXIT_RUNTIME;
            break;
        }
        *names = grown;
        snprintf((*names)[(*n)++], SW_SLUG, "%s", fld[0]);
    }
    free(line);
    fclose(f);
    return rc;
}

int sweep_status(const char *dir, FILE *out)
{
    char (*names)[SW_SLUG] = NULL;
    int n = 0, rc = read_plan(dir, &names, &n);
    slurm_job *jobs = NULL;
    int n_jobs = 0;
    slurm_task_state *st = NULL;
    char note[256] = "";
    if (!rc)
        rc = slurm_jobs_read(dir, &jobs, &n_jobs);
    if (!rc && n_jobs > 0) {
        /* Tasks of a plan that is no longer the folder's cannot be matched to its rows;
           their jobs are only counted. */
        slurm_tasks t;
        int other = 0;
        char plan[20];
        if ((rc = slurm_tasks_read(dir, &t)) == 0) {
            snprintf(plan, sizeof plan, "%016llx", (unsigned long long)slurm_hash(t.buf, t.len));
            slurm_tasks_free(&t);
            st = calloc((size_t)n + 1, sizeof *st);
            rc = st ? slurm_query(jobs, n_jobs, plan, n, st, &other, note, sizeof note) : EXIT_RUNTIME;
            if (!rc && other)
                fprintf(out, "note: %d tasks of an earlier plan of this folder are still queued or running\n", other);
        }
    }
    const long local_pid = local_sweep_pid(dir);
    int width = 3, count[ST_COUNT] = {0};
    for (int i = 0; !rc && i < n; i++)
        width = (int)strlen(names[i]) > width ? (int)strlen(names[i]) : width;
    if (!rc)
        fprintf(out, "%-*s  %-11s  %s\n", width, "run", "state", "detail");
    for (int i = 0; !rc && i < n; i++) {
        char run[FILEIO_PATH_MAX], detail[FILEIO_PATH_MAX], folder[256];
        int state;
        path_join(run, sizeof run, dir, names[i]);
        folder_detail(run, folder, sizeof folder);
        if (sweep_run_complete(run)) {
            state = ST_DONE;
            done_detail(run, detail, sizeof detail);
        } else if (st && st[i].job >= 0) {
            const char *id = jobs[st[i].job].id;
            const long step = last_logged_step(run);
            if (st[i].cls == SQ_RUNNING) {
                state = ST_RUNNING;
                snprintf(detail, sizeof detail, "job %s_%d %s, at step %ld", id, i, st[i].state, step < 0 ? 0 : step);
            } else if (st[i].cls == SQ_QUEUED) {
                state = ST_QUEUED;
                snprintf(detail, sizeof detail, "job %s_%d %s (%s); %s", id, i, st[i].state,
                         st[i].reason[0] ? st[i].reason : "-", folder);
            } else {
                state = ST_FAILED;
                snprintf(detail, sizeof detail, "job %s_%d %s; %s; submit again to %s", id, i,
                         st[i].cls == SQ_ENDED ? st[i].state : "no longer known to Slurm", folder,
                         checkpoint_step(run) >= 0 ? "resume it" : "redo it");
            }
        } else if (n_jobs > 0) {
            state = ST_NOT_STARTED;
            snprintf(detail, sizeof detail, "never submitted; %s", folder);
        } else if (local_pid) {
            state = access(run, F_OK) == 0 ? ST_RUNNING : ST_QUEUED;
            snprintf(detail, sizeof detail, "local sweep, pid %ld; %s", local_pid, folder);
        } else {
            state = access(run, F_OK) == 0 ? ST_FAILED : ST_NOT_STARTED;
            snprintf(detail, sizeof detail, "%s%s", folder, state == ST_FAILED ? "; the next sweep redoes it" : "");
        }
        count[state]++;
        fprintf(out, "%-*s  %-11s  %s\n", width, names[i], STATE_NAME[state], detail);
    }
    if (!rc) {
        fprintf(out, "%d runs:", n);
        for (int s = 0; s < ST_COUNT; s++)
            fprintf(out, "%s %d %s", s ? "," : "", count[s], STATE_NAME[s]);
        fprintf(out, "\n");
        if (note[0])
            fprintf(out, "note: %s; ended tasks that squeue has forgotten are judged by their folders alone\n", note);
    }
    free(st);
    slurm_jobs_free(jobs, n_jobs);
    free(names);
    return rc;
}
