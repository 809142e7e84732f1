/* sweep_slurm_task.c: `resnet sweep task DIR INDEX`, the body of each Slurm array task: runs plan row INDEX as the local engine would, resuming its checkpoint, by exec. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/exitcodes.h"
#include "common/fileio.h"
#include "sweep/sweep_slurm.h"

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

int sweep_slurm_task(const char *dir, const char *index)
{
    char *end = NULL;
    long i = index && *index ? strtol(index, &end, 10) : -1;
    if (!index || !*index || *end || i < 0) {
        fprintf(stderr, "sweep task: expected the plan row INDEX (a whole number), got '%s'; this command is the "
                        "body of the sweep's Slurm array task (slurm/array.sbatch), which passes "
                        "$SLURM_ARRAY_TASK_ID\n", index ? index : "");
        return EXIT_USAGE;
    }
    slurm_tasks t;
    int rc = slurm_tasks_read(dir, &t);
    if (rc)
        return rc;
    if (i >= t.n) {
        fprintf(stderr, "sweep task: %s has %d runs (rows 0..%d of plan.csv), not a row %ld\n", dir, t.n, t.n - 1, i);
        slurm_tasks_free(&t);
        return EXIT_USAGE;
    }
    /* The paths in the task file are relative to the folder the sweep was submitted from. */
    if (chdir(t.cwd) != 0) {
        fprintf(stderr, "sweep task: cannot enter %s, the folder the sweep was submitted from: %s\n", t.cwd,
                strerror(errno));
        slurm_tasks_free(&t);
        return EXIT_RUNTIME;
    }
    const char *run_dir = t.run_dir[i];
    const char *job = getenv("SLURM_ARRAY_JOB_ID"), *restarts = getenv("SLURM_RESTART_COUNT");
    fprintf(stderr, "sweep task %ld of %s (job %s_%ld, restart %s): %s\n", i, dir, job ? job : "?", i,
            restarts ? restarts : "0", run_dir);
    if (sweep_run_complete(run_dir)) {
        fprintf(stderr, "sweep task %ld: %s is done already (summary.json); nothing to run\n", i, run_dir);
        slurm_tasks_free(&t);
        return EXIT_OK;
    }
    char ckpt[FILEIO_PATH_MAX], log[FILEIO_PATH_MAX];
    path_join(ckpt, sizeof ckpt, run_dir, "checkpoint.bin");
    path_join(log, sizeof log, run_dir, "train.log");
    /* A checkpoint (from a preemption, a time limit, a crash) is resumed; a folder without
       one holds nothing worth keeping and is redone from scratch, as the local engine does. */
    const int resume = exists(ckpt);
    if (!resume && sweep_rm_tree(run_dir) != 0) {
        fprintf(stderr, "sweep task %ld: cannot remove the unfinished run %s: %s\n", i, run_dir, strerror(errno));
        slurm_tasks_free(&t);
        return EXIT_RUNTIME;
    }
    int fd = -1;
    if (sweep_mkdir_p(run_dir) != 0 || (fd = open(log, O_WRONLY | O_CREAT | (resume ? O_APPEND : O_TRUNC), 0666)) < 0) {
        fprintf(stderr, "sweep task %ld: cannot create %s: %s\n", i, log, strerror(errno));
        slurm_tasks_free(&t);
        return EXIT_RUNTIME;
    }
    const char **argv = malloc(((size_t)t.argc[i] + 4) * sizeof *argv);
    if (!argv) {
        fprintf(stderr, "sweep task: out of memory\n");
        close(fd);
        slurm_tasks_free(&t);
        return EXIT_RUNTIME;
    }
    int n = 0;
    argv[n++] = "resnet";
    for (int k = 0; k < t.argc[i]; k++)
        argv[n++] = t.argv[i][k];
    if (resume) {
        argv[n++] = "--resume";
        argv[n++] = run_dir;
    }
    argv[n] = NULL;
    fprintf(stderr, "sweep task %ld: %s:", i, resume ? "resuming the checkpoint" : "starting");
    for (int k = 0; k < n; k++) {
        fputc(' ', stderr);
        slurm_shell_quote(stderr, argv[k]);
    }
    fprintf(stderr, "\n");
    fflush(stderr);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    /* exec, not fork: the trainer is the batch shell's own process, so the SIGTERM Slurm
       sends before the time limit (--signal=B:TERM) or on preemption reaches it once. */
    execv("/proc/self/exe", (char *const *)argv);
    fprintf(stderr, "sweep task %ld: cannot run /proc/self/exe: %s\n", i, strerror(errno));
    free(argv);
    slurm_tasks_free(&t);
    return EXIT_RUNTIME;
}
