/* sweep_slurm_query.c: the state of each recorded array task, from squeue (tasks the controller still holds) and sacct (older ones, where accounting is kept). */
#include <stdlib.h>
#include <string.h>
#include "common/exitcodes.h"
#include "sweep/sweep_slurm.h"

int slurm_state_class(const char *st)
{
    static const char *const queued[] = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD",
                                         "SPECIAL_EXIT"};
    static const char *const ended[] = {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "PREEMPTED", "NODE_FAIL",
                                        "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY", "REVOKED"};
    for (size_t i = 0; i < sizeof queued / sizeof queued[0]; i++)
        if (!strcmp(st, queued[i]))
            return SQ_QUEUED;
    for (size_t i = 0; i < sizeof ended / sizeof ended[0]; i++)
        if (!strcmp(st, ended[i]))
            return SQ_ENDED;
    /* RUNNING, COMPLETING, CONFIGURING, SUSPENDED, STOPPED, SIGNALING, STAGE_OUT, RESIZING,
       and any state this list does not know: still holding the run's folder, so that no
       second task is ever submitted onto it. */
    return SQ_RUNNING;
}

static int job_of(const slurm_job *jobs, int n_jobs, const char *id)
{
    for (int j = n_jobs - 1; j >= 0; j--)
        if (!strcmp(jobs[j].id, id))
            return j;
    return -1;
}

/* Parses "123_4" (sacct) into the job id and the task; 0, or -1 for anything else (ranges of pending tasks, steps). */
static int split_task_id(char *s, char **id, long *task)
{
    char *u = strchr(s, '_');
    if (!u || u == s)
        return -1;
    *u = '\0';
    char *end;
    *task = strtol(u + 1, &end, 10);
    if (end == u + 1 || *end)
        return -1;
    *id = s;
    return 0;
}

static void set_state(slurm_task_state *t, const char *state, const char *reason)
{
    snprintf(t->state, sizeof t->state, "%s", state);
    snprintf(t->reason, sizeof t->reason, "%s", reason);
    t->cls = slurm_state_class(t->state);
}

/* One task row: the latest job of its run takes it; an active task of any other job counts as a stray. */
static void take(const slurm_job *jobs, int n_jobs, const char *plan, int n_runs, slurm_task_state *st,
                 int *other_active, const char *id, long task, const char *state, const char *reason)
{
    const int j = job_of(jobs, n_jobs, id);
    if (j < 0)
        return;
    const int cls = slurm_state_class(state);
    if (strcmp(jobs[j].plan, plan) || task < 0 || task >= n_runs) {
        *other_active += cls != SQ_ENDED;
        return;
    }
    slurm_task_state *t = &st[task];
    if (t->job == j) {
        set_state(t, state, reason);
    } else if (cls != SQ_ENDED && t->cls != SQ_QUEUED && t->cls != SQ_RUNNING) {
        /* An older job's task still active on this run: never submitted so, but a run must
           never look free while something holds its folder. */
        t->job = j;
        set_state(t, state, reason);
    }
}

static char *ids_of(const slurm_job *jobs, int n_jobs, const slurm_task_state *st, int n_runs, int unknown_only)
{
    char *ids = malloc((size_t)n_jobs * 33 + 1);
    if (!ids)
        return NULL;
    ids[0] = '\0';
    size_t o = 0;
    for (int j = 0; j < n_jobs; j++) {
        int want = !unknown_only;
        for (int i = 0; i < n_runs && !want; i++)
            want = st[i].job == j && st[i].cls == SQ_UNKNOWN;
        if (want)
            o += (size_t)sprintf(ids + o, "%s%s", o ? "," : "", jobs[j].id);
    }
    return ids;
}

int slurm_query(const slurm_job *jobs, int n_jobs, const char *plan, int n_runs, slurm_task_state *st,
                int *other_active, char *note, size_t note_size)
{
    *other_active = 0;
    note[0] = '\0';
    for (int i = 0; i < n_runs; i++) {
        st[i].job = -1;
        st[i].cls = SQ_UNKNOWN;
        st[i].state[0] = st[i].reason[0] = '\0';
    }
    /* Each run's latest submission (rows are in submission order). */
    for (int j = 0; j < n_jobs; j++) {
        if (strcmp(jobs[j].plan, plan))
            continue;
        for (int i = 0; i < n_runs; i++)
            if (slurm_array_has(jobs[j].array, i))
                st[i].job = j;
    }
    if (n_jobs == 0)
        return 0;
    char *ids = ids_of(jobs, n_jobs, st, n_runs, 0);
    if (!ids)
        return EXIT_RUNTIME;
    char *arg = malloc(strlen(ids) + 16);
    if (!arg) {
        free(ids);
        return EXIT_RUNTIME;
    }
    sprintf(arg, "--jobs=%s", ids);
    char *sq[] = {"squeue", "--noheader", "--array", "--states=all", arg, "--format=%F|%K|%T|%r", NULL};
    slurm_out r;
    int rc = slurm_run(sq, &r);
    /* Asked about one job it no longer holds, squeue fails; asked about several, it lists
       the ones it holds. Either way the forgotten ones are left to sacct. */
    if (rc && r.status == 1 && strstr(r.err, "Invalid job id specified"))
        rc = 0;
    else if (rc) {
        slurm_report_failure(sq, &r);
        slurm_out_free(&r);
        free(arg);
        free(ids);
        return EXIT_RUNTIME;
    }
    for (char *line = r.out, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *f[4] = {line, NULL, NULL, NULL};
        for (int k = 1; k < 4 && f[k - 1]; k++)
            if ((f[k] = strchr(f[k - 1], '|')) != NULL)
                *f[k]++ = '\0';
        char *end;
        long task = f[1] ? strtol(f[1], &end, 10) : -1;
        if (!f[3] || end == f[1] || *end)
            continue; /* not an array task's row */
        take(jobs, n_jobs, plan, n_runs, st, other_active, f[0], task, f[2], f[3]);
    }
    slurm_out_free(&r);
    free(arg);
    free(ids);

    /* Tasks the controller has forgotten (MinJobAge after they ended): ask accounting. */
    ids = ids_of(jobs, n_jobs, st, n_runs, 1);
    if (!ids || !*ids) {
        free(ids);
        return ids ? 0 : EXIT_RUNTIME;
    }
    arg = malloc(strlen(ids) + 16);
    if (!arg) {
        free(ids);
        return EXIT_RUNTIME;
    }
    sprintf(arg, "--jobs=%s", ids);
    char *sa[] = {"sacct", "--noheader", "--parsable2", "--allocations", arg, "--format=JobID,State", NULL};
    if (slurm_run(sa, &r) != 0) {
        /* No accounting (no slurmdbd) is a cluster's choice, not a failure: say so, go on. */
        size_t n = strcspn(r.err, "\n");
        snprintf(note, note_size, "sacct: %.*s", (int)(n < 200 ? n : 200), r.err[0] ? r.err : "failed");
    } else {
        for (char *line = r.out, *next; line && *line; line = next) {
            next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            char *bar = strchr(line, '|'), *id;
            long task;
            if (!bar)
                continue;
            *bar = '\0';
            char *state = bar + 1;
            state[strcspn(state, " ")] = '\0'; /* "CANCELLED by 1000" */
            if (split_task_id(line, &id, &task) == 0 && task >= 0 && task < n_runs && st[task].job >= 0 &&
                st[task].cls == SQ_UNKNOWN && !strcmp(jobs[st[task].job].id, id))
                set_state(&st[task], state, "");
        }
    }
    slurm_out_free(&r);
    free(arg);
    free(ids);
    return 0;
}
