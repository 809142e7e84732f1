/* cmd_train.c: `resnet train CONFIG [--set KEY=VALUE]... [--resume DIR] [--overwrite]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "config/config.h"
#include "common/exitcodes.h"
#include "train/trainer.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: resnet train CONFIG [--set KEY=VALUE]... [--resume DIR] [--overwrite]\n"
            "                    [--stop-after STEP]\n\n"
            "Trains the CIFAR ResNet that the run config CONFIG (YAML) describes and writes into\n"
            "output.dir: config.yaml (the resolved config), metrics.csv (one row per step: step,\n"
            "epoch, lr, loss, train_error, grad_norm, images_per_s), eval.csv (step, test_loss,\n"
            "test_error), checkpoint.bin (docs/checkpoint.md) and summary.json.\n\n"
            "options:\n"
            "  --set KEY=VALUE  override one config key, e.g. --set schedule.peak_lr=0.2; repeatable\n"
            "  --resume DIR     continue the run in DIR from DIR/checkpoint.bin with CONFIG (+ --set);\n"
            "                   DIR becomes output.dir; the config must be the one the run started\n"
            "                   with (DIR/config.yaml) and the data the same (DIR/data_files.csv),\n"
            "                   but for a longer train.steps, the eval/log/checkpoint cadence and\n"
            "                   where data and folder lie (logged in DIR/resumes.csv;\n"
            "                   configs/README.md, \"Resuming\"); rows of metrics.csv and eval.csv past\n"
            "                   the checkpoint's step are dropped, and summary.json is removed until\n"
            "                   the run ends again; a finished run is left as it is\n"
            "  --overwrite      replace a previous run in output.dir (same as output.overwrite: true)\n"
            "  --stop-after STEP  stop after step STEP with a checkpoint (summary status \"stopped\",\n"
            "                   exit 0), to cut a run into pieces that --resume joins; at the last\n"
            "                   step the run finishes as usual\n"
            "  -h, --help       print this help\n\n"
            "On a terminal a live line, redrawn about once a second, shows epoch, step, loss, lr,\n"
            "images/s and ETA; otherwise a plain line every train.log_every steps. Ctrl-C (SIGINT),\n"
            "SIGTERM or SIGHUP stops after the current step with a checkpoint and summary status\n"
            "\"stopped\"; a second one ends the run at once. A closed stdout or stderr does not stop\n"
            "a run. checkpoint.bin is replaced atomically: a run killed at any moment leaves the\n"
            "previous checkpoint or the new one, whole (docs/checkpoint.md). The run holds a lock on\n"
            "output.dir (.train.lock) while it lives: a second run there is refused.\n\n"
            "exit codes: 0 finished, 2 bad usage, config, data, checkpoint, a changed config on\n"
            "--resume, an output folder that is unusable or in use, train.backend cuda without a\n"
            "usable device; 3 runtime failure (e.g. a write failed; the previous checkpoint is kept),\n"
            "4 diverged (train.nonfinite: stop), 128+N stopped by signal N\n");
}

int cmd_train(int argc, char **argv)
{
    const char *file = NULL, *resume = NULL;
    int overwrite = 0, rc = EXIT_USAGE;
    long stop_after = 0;
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    run_config *cfg = malloc(sizeof *cfg);
    int n_sets = 0;
    if (!sets || !cfg) {
        fprintf(stderr, "train: out of memory\n");
        rc = EXIT_RUNTIME;
        goto done;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            rc = EXIT_OK;
            goto done;
        }
        if (!strcmp(argv[i], "--overwrite")) {
            overwrite = 1;
            continue;
        }
        if (!strcmp(argv[i], "--stop-after") || !strncmp(argv[i], "--stop-after=", 13)) {
            const char *v = argv[i][12] == '=' ? argv[i] + 13 : (i + 1 < argc ? argv[++i] : "");
            char *end;
            stop_after = strtol(v, &end, 10);
            if (!*v || *end || stop_after < 1) {
                fprintf(stderr, "train: --stop-after needs a step number >= 1, got '%s'\n", v);
                goto done;
            }
            continue;
        }
        if (!strncmp(argv[i], "--resume=", 9)) {
            resume = argv[i] + 9;
            continue;
        }
        if (!strcmp(argv[i], "--resume")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "train: --resume needs the run folder DIR\n");
                goto done;
            }
            resume = argv[++i];
            continue;
        }
        if (cli_config_arg(argc, argv, &i, "train", usage, sets, &n_sets, &file) < 0)
            goto done;
    }
    if (!file) {
        fprintf(stderr, "train: missing the config file CONFIG\n\n");
        usage(stderr);
        goto done;
    }
    if (resume && overwrite) {
        fprintf(stderr, "train: --resume continues the run in %s, --overwrite would replace it: give one\n", resume);
        goto done;
    }
    if (resume && !*resume) {
        fprintf(stderr, "train: --resume needs the run folder DIR\n");
        goto done;
    }
    rc = config_load(file, n_sets, sets, cfg);
    if (rc != EXIT_OK)
        goto done;
    if (resume) {
        if (strlen(resume) >= sizeof cfg->output.dir) {
            fprintf(stderr, "train: --resume %s: path too long\n", resume);
            rc = EXIT_USAGE;
            goto done;
        }
        snprintf(cfg->output.dir, sizeof cfg->output.dir, "%s", resume);
    }
    if (overwrite)
        cfg->output.overwrite = 1;
    rc = trainer_run(cfg, resume != NULL, stop_after);
done:
    free(cfg);
    free(sets);
    return rc;
}
