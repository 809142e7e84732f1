/* cmd_sweep_status.c: `resnet sweep status SWEEP_DIR` (each run's state) and `resnet sweep task SWEEP_DIR INDEX` (the body of a Slurm array task). */
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "common/exitcodes.h"
#include "sweep/sweep_slurm.h"

static void status_usage(FILE *out)
{
    fprintf(out,
            "usage: resnet sweep status SWEEP_DIR\n\n"
            "Prints each run of the sweep folder SWEEP_DIR as done (finished or diverged), running,\n"
            "queued, failed (ended without a result: submit or run the sweep again to finish it) or\n"
            "not started, from the run folders; for a sweep submitted with --engine slurm also from\n"
            "squeue (and sacct for tasks squeue no longer holds, where accounting is kept), with\n"
            "each task's job id and Slurm state. A last line counts each state.\n\n"
            "exit codes: 0 printed, 2 not a sweep folder, 3 squeue failed (its message is shown)\n");
}

static void task_usage(FILE *out)
{
    fprintf(out,
            "usage: resnet sweep task SWEEP_DIR INDEX\n\n"
            "The body of each task of the Slurm job array that `resnet sweep --engine slurm` submits\n"
            "(SWEEP_DIR/slurm/array.sbatch passes $SLURM_ARRAY_TASK_ID as INDEX). It runs plan row\n"
            "INDEX exactly as the local engine would, with the command line recorded in\n"
            "SWEEP_DIR/slurm/tasks.argv, its output into the run's train.log: a run already done is\n"
            "left alone (exit 0), a folder with a checkpoint is resumed (--resume), any other is\n"
            "cleared and started afresh. The trainer replaces this process (exec), so its exit code\n"
            "is the task's: 0 finished, 4 diverged, 128+N stopped by signal N with a checkpoint.\n");
}

int cmd_sweep_status(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        status_usage(stdout);
        return EXIT_OK;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "sweep status: expected one sweep folder\n\n");
        status_usage(stderr);
        return EXIT_USAGE;
    }
    return sweep_status(argv[1], stdout);
}

int cmd_sweep_task(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        task_usage(stdout);
        return EXIT_OK;
    }
    if (argc != 3) {
        fprintf(stderr, "sweep task: expected SWEEP_DIR INDEX, got %d arguments\n\n", argc - 1);
        task_usage(stderr);
        return EXIT_USAGE;
    }
    return sweep_slurm_task(argv[1], argv[2]);
}
