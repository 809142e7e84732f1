/* cmd_sweep.c: `resnet sweep SWEEP.yaml [--set KEY=VALUE]... [--jobs K] [--output DIR] [--engine local|slurm] [--dry-run] [--rerun-changed]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "common/exitcodes.h"
#include "sweep/sweep.h"
#include "sweep/sweep_slurm.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: resnet sweep SWEEP.yaml [--set KEY=VALUE]... [--jobs K] [--output DIR]\n"
            "                    [--engine local|slurm] [--dry-run] [--rerun-changed]\n"
            "       resnet sweep status SWEEP_DIR      each run: done, running, queued, failed, not started\n"
            "       resnet sweep task SWEEP_DIR INDEX  (the body of a Slurm array task)\n\n"
            "Runs every combination of a sweep file's variants and grid values for each of its seeds,\n"
            "each as its own `resnet train` child process in its own folder under the sweep folder,\n"
            "then writes runs.csv, cells.csv and stable_lr.csv there and prints the summary.\n"
            "A rerun skips the runs whose summary.json says finished or diverged and redoes the rest\n"
            "from scratch, so a sweep stopped part way loses only the runs that were in flight. A\n"
            "finished run made by another config than the sweep file now asks for (the file was\n"
            "edited) is an error naming the runs and keys, before anything runs.\n"
            "The format and the tables: configs/sweeps/README.md. Plots: `resnet report DIR`.\n\n"
            "options:\n"
            "  --set KEY=VALUE  a run-config override for every run (after the file's `set`), e.g.\n"
            "                   --set data.dir=/data/cifar-10-batches-bin; repeatable\n"
            "  --set slurm.KEY=VALUE  a setting of the file's `slurm` section (--engine slurm)\n"
            "  --jobs K         runs at a time (default 1); on one GPU, measure before raising it;\n"
            "                   with --engine slurm the array's limit %%K (default: none)\n"
            "  --output DIR     the sweep folder, instead of the file's `output`\n"
            "  --engine slurm   submit the runs not yet done to Slurm as one job array instead\n"
            "                   (SWEEP_DIR/slurm/array.sbatch; prints the job id on stdout)\n"
            "  --dry-run        check the sweep, every run's config and data and the finished runs,\n"
            "                   list the runs (with --engine slurm: print the batch script), run or\n"
            "                   submit nothing\n"
            "  --rerun-changed  redo in place the finished runs made by another config\n"
            "  -h, --help       print this help\n\n"
            "Progress goes to stderr, each run's own output to RUN/train.log. Ctrl-C (SIGINT), SIGTERM\n"
            "or SIGHUP stops the runs in flight after their current step, waits for them and says how\n"
            "to continue; a second one ends them at once.\n"
            "exit codes: 0 every run completed (finished or diverged: a divergence is a result),\n"
            "2 bad sweep file, config, data or usage, or finished runs of another config (nothing ran),\n"
            "3 a run failed to complete or an I/O failure, 128+N stopped by signal N;\n"
            "with --engine slurm: 0 submitted (or nothing left to submit), 2 as above or tasks of\n"
            "changed runs still queued, 3 sbatch or squeue failed (their message is shown)\n");
}

/* After a stop by a signal: the same command, which skips what is done. */
static void continue_hint(int argc, char **argv)
{
    fprintf(stderr, "sweep: continue with: resnet sweep");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rerun-changed"))
            continue; /* those runs are redone by now, or are unfinished: the plain rerun redoes them */
        if (strpbrk(argv[i], " \t'\"\\$`*?[]{}()<>|&;!#~"))
            fprintf(stderr, " '%s'", argv[i]);
        else
            fprintf(stderr, " %s", argv[i]);
    }
    fputc('\n', stderr);
}

int cmd_sweep(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "status"))
        return cmd_sweep_status(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "task"))
        return cmd_sweep_task(argc - 1, argv + 1);
    const char *file = NULL, *output = NULL, *engine = "local";
    int jobs = 1, jobs_given = 0, dry = 0, rerun_changed = 0, rc = EXIT_USAGE;
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    int n_sets = 0;
    sweep_spec *spec = malloc(sizeof *spec);
    sweep_plan plan = {0};
    if (!sets || !spec) {
        fprintf(stderr, "sweep: out of memory\n");
        rc = EXIT_RUNTIME;
        goto done;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            rc = EXIT_OK;
            goto done;
        }
        if (!strcmp(a, "--dry-run")) {
            dry = 1;
            continue;
        }
        if (!strcmp(a, "--rerun-changed")) {
            rerun_changed = 1;
            continue;
        }
        if (!strncmp(a, "--set=", 6) || !strncmp(a, "--jobs=", 7) || !strncmp(a, "--output=", 9) ||
            !strncmp(a, "--engine=", 9))
            val = strchr(a, '=') + 1;
        else if (!strcmp(a, "--set") || !strcmp(a, "--jobs") || !strcmp(a, "--output") || !strcmp(a, "--engine")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "sweep: %s needs a value (see `resnet sweep --help`)\n", a);
                goto done;
            }
            val = argv[++i];
        }
        if (val && !strncmp(a, "--set", 5))
            sets[n_sets++] = val;
        else if (val && !strncmp(a, "--output", 8))
            output = val;
        else if (val && !strncmp(a, "--engine", 8)) {
            if (strcmp(val, "local") && strcmp(val, "slurm")) {
                fprintf(stderr, "sweep: --engine wants local or slurm, got '%s'\n", val);
                goto done;
            }
            engine = val;
        } else if (val) {
            char *end;
            long k = strtol(val, &end, 10);
            if (!*val || *end || k < 1 || k > 256) {
                fprintf(stderr, "sweep: --jobs wants a whole number 1..256, got '%s'\n", val);
                goto done;
            }
            jobs = (int)k;
            jobs_given = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "sweep: unknown option '%s'\n\n", a);
            usage(stderr);
            goto done;
        } else if (file) {
            fprintf(stderr, "sweep: one sweep file expected, got '%s' and '%s'\n", file, a);
            goto done;
        } else {
            file = a;
        }
    }
    if (!file) {
        fprintf(stderr, "sweep: missing the sweep file\n\n");
        usage(stderr);
        goto done;
    }
    if ((rc = sweep_parse(file, spec)) != 0)
        goto done;
    const int slurm = !strcmp(engine, "slurm");
    for (int i = 0; i < n_sets; i++) {
        if (!strncmp(sets[i], "slurm.", 6) && !slurm) {
            fprintf(stderr, "--set %s: a Slurm setting, for --engine slurm only\n", sets[i]);
            rc = EXIT_USAGE;
        } else {
            rc = !strncmp(sets[i], "slurm.", 6) ? sweep_slurm_set(&spec->slurm, sets[i])
                                                : sweep_add_cli_set(spec, sets[i]);
        }
        if (rc)
            goto done;
    }
    if ((rc = sweep_slurm_check(&spec->slurm)) != 0)
        goto done;
    if (output)
        snprintf(spec->output, sizeof spec->output, "%s", output);
    spec->rerun_changed = rerun_changed;
    if ((rc = sweep_expand(spec, &plan)) != 0)
        goto done;
    if (slurm) {
        fprintf(stderr, "sweep: %s: %d cells x %d seeds = %d runs into %s, through Slurm\n", file, plan.n_cells,
                spec->n_seeds, plan.n_runs, spec->output);
        rc = sweep_slurm_submit(spec, &plan, jobs_given ? jobs : 0, dry);
        goto done;
    }
    fprintf(stderr, "sweep: %s: %d cells x %d seeds = %d runs into %s, %d at a time\n", file, plan.n_cells,
            spec->n_seeds, plan.n_runs, spec->output, jobs);
    if (dry) {
        rc = sweep_check(spec, &plan);
        if (rc == EXIT_OK)
            for (int r = 0; r < plan.n_runs; r++)
                printf("%s/%s\n", spec->output, plan.runs[r].name);
        goto done;
    }
    if ((rc = sweep_slurm_guard(spec->output)) != 0)
        goto done;
    rc = sweep_execute(spec, &plan, jobs);
    if (rc == EXIT_USAGE)
        goto done; /* nothing ran: a bad cell, or the folder is busy */
    sweep_table t;
    int trc = sweep_table_load(spec->output, &t);
    if (trc == EXIT_OK) {
        trc = sweep_write_tables(&t, stdout);
        sweep_table_free(&t);
    }
    if (rc == EXIT_OK)
        rc = trc;
    if (rc > 128)
        continue_hint(argc, argv);
done:
    sweep_plan_free(&plan);
    free(spec);
    free(sets);
    return rc;
}
