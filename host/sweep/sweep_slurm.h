/* sweep_slurm.h: the Slurm engine of `resnet sweep`: submitting a sweep as one job array, the array task's entry, the records in SWEEP_DIR/slurm/, and what squeue/sacct say. */
#ifndef SWEEP_SLURM_H
#define SWEEP_SLURM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "sweep/sweep.h"

/* In the sweep folder (configs/sweeps/README.md documents each). */
#define SW_SLURM_DIR "slurm"
#define SW_SLURM_SCRIPT "slurm/array.sbatch" /* the batch script of the latest submission */
#define SW_SLURM_TASKS "slurm/tasks.argv"    /* each plan row's folder and command line */
#define SW_SLURM_JOBS "slurm/jobs.csv"       /* one row per submission: job id, tasks, ... */
#define SW_SLURM_LOGS "slurm/logs"           /* Slurm's own output of each task */

/* ---- sweep_slurm_submit.c ---- */

/* Submits the unfinished runs of the plan as one job array (at most JOBS at a time; 0:
   no limit); with DRY, prints the batch script and submits nothing. An exit code. */
int sweep_slurm_submit(const sweep_spec *spec, const sweep_plan *plan, int jobs, int dry);

/* For the local engine: EXIT_USAGE (with a message) when Slurm tasks are queued or
   running in DIR, whose folders a local sweep would redo under them; else 0. */
int sweep_slurm_guard(const char *dir);

/* ---- sweep_slurm_task.c ---- */

/* `resnet sweep task DIR INDEX`: runs plan row INDEX of the sweep folder DIR as the local
   engine would, resuming its checkpoint if it has one, by exec (it returns only on error). */
int sweep_slurm_task(const char *dir, const char *index);

/* ---- sweep_status.c ---- */

/* `resnet sweep status DIR`: each run's state (done, running, queued, failed, not
   submitted) from the run folders and, for a Slurm sweep, squeue and sacct. */
int sweep_status(const char *dir, FILE *out);

/* ---- sweep_slurm_record.c: slurm/tasks.argv and slurm/jobs.csv ---- */

/* The task file, read: the working directory the paths are relative to, then per plan
   row the run folder and the arguments of `resnet` (argv[0] excluded). */
typedef struct slurm_tasks {
    char *buf; /* the file's bytes; every string below points into it */
    size_t len;
    const char *cwd;
    int n;
    const char **run_dir;
    int *argc;
    const char ***argv; /* argv[i][0..argc[i]-1] */
    const char **ptrs;  /* the block every argv[i] points into */
} slurm_tasks;

/* The task file's bytes for this plan (malloc'd into *buf): what the array tasks run. */
int slurm_tasks_build(const sweep_spec *spec, const sweep_plan *plan, int with_div, const char *cwd, char **buf,
                      size_t *len);

/* Reads DIR/slurm/tasks.argv; 0, or an exit code after a message naming the file. */
int slurm_tasks_read(const char *dir, slurm_tasks *t);
void slurm_tasks_free(slurm_tasks *t);

/* FNV-1a, 64 bits: tells one task file's contents from another's. */
uint64_t slurm_hash(const char *buf, size_t len);

/* One submission (a row of jobs.csv). */
typedef struct slurm_job {
    char id[32];        /* the array job id sbatch printed */
    char submitted[32]; /* UTC, ISO 8601 */
    char plan[20];      /* slurm_hash of the task file it ran, as 16 hex digits */
    int tasks, limit;   /* array tasks; at most this many at a time (0: no limit) */
    char *array;        /* the indices, e.g. 0-3,7 (malloc'd) */
} slurm_job;

/* Reads DIR/slurm/jobs.csv (absent: none); 0 or an exit code. */
int slurm_jobs_read(const char *dir, slurm_job **jobs, int *n);
void slurm_jobs_free(slurm_job *jobs, int n);

/* Rewrites DIR/slurm/jobs.csv with J appended (atomically); 0 or EXIT_RUNTIME. */
int slurm_jobs_append(const char *dir, const slurm_job *jobs, int n, const slurm_job *j);

/* Whether the index list ARRAY (0-3,7 with an optional %K) holds I. */
int slurm_array_has(const char *array, int i);

/* ---- sweep_slurm_script.c ---- */

/* The indices as Slurm's array list (0-3,7,9-11) into a malloc'd string. */
char *slurm_array_list(const int *idx, int n);

/* Writes S as one shell word that the shell reads back verbatim: bare when it is only
   letters, digits and _ . / : = + , @ - , else in POSIX single quotes ('it'\''s'). */
void slurm_shell_quote(FILE *f, const char *s);

/* Whether PATH may stand in an #SBATCH line as it is (no space, quote, % or control
   character, which sbatch would split or expand); 1 or 0. */
int slurm_path_ok(const char *path);

/* What the batch script holds beyond the slurm section's settings. */
typedef struct slurm_script_args {
    const char *sweep_file; /* for the header comment */
    const char *job_name;
    const char *array;      /* indices with the optional %K */
    const char *abs_dir;    /* the sweep folder, absolute */
    const char *exe;        /* the resnet binary, absolute */
} slurm_script_args;

/* The batch script: #SBATCH lines, the setup lines, and the exec of `resnet sweep task`. */
void slurm_script_write(FILE *f, const sw_slurm *s, const slurm_script_args *a);

/* ---- sweep_slurm_exec.c: running sbatch, squeue, sacct, scontrol, scancel ---- */

typedef struct slurm_out {
    int status;    /* the exit code; 128+N when killed by signal N; -1 when it could not start */
    char *out;     /* stdout, NUL-terminated (malloc'd) */
    size_t out_len;
    char err[2048]; /* stderr's first 2 KiB */
} slurm_out;

/* Runs ARGV (fork + execvp, no shell) and collects its output; 0 when it exited 0. */
int slurm_run(char *const argv[], slurm_out *r);
void slurm_out_free(slurm_out *r);

/* Whether PROG is an executable file in a folder of PATH. */
int slurm_have(const char *prog);

/* "sweep: `ARGV...` failed (exit N): its stderr" on one line. */
void slurm_report_failure(char *const argv[], const slurm_out *r);

/* ---- sweep_slurm_query.c: task states ---- */

enum { SQ_UNKNOWN = 0, SQ_QUEUED, SQ_RUNNING, SQ_ENDED };

/* A plan row's latest array task: its job, the state Slurm reports, and why it waits. */
typedef struct slurm_task_state {
    int job; /* index into the jobs, or -1: never submitted */
    int cls; /* SQ_*; SQ_UNKNOWN: submitted but Slurm no longer knows the task */
    char state[24], reason[64];
} slurm_task_state;

/* Queries squeue (and sacct for tasks squeue has forgotten) about every recorded job.
   st[i] for i < n_runs: the task of plan row i of the latest job whose plan is PLAN;
   *other_active counts the queued or running tasks of jobs of another plan. A note
   (why sacct said nothing) goes to NOTE. 0, or EXIT_RUNTIME after squeue failed. */
int slurm_query(const slurm_job *jobs, int n_jobs, const char *plan, int n_runs, slurm_task_state *st,
                int *other_active, char *note, size_t note_size);

/* The class (SQ_QUEUED, SQ_RUNNING, SQ_ENDED) of a Slurm job state name. */
int slurm_state_class(const char *state);

#endif
