/* cmd_schedule.c: `resnet schedule`, a run config's learning rate for every step, as CSV. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "config/config.h"
#include "common/exitcodes.h"
#include "schedule.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: resnet schedule FILE [--set KEY=VALUE]... [--steps N]\n\n"
            "Prints the learning rate of every optimizer step of the run config FILE as CSV with\n"
            "the header `step,lr`, steps 1..T (T = the run's total steps), computed by the same\n"
            "schedule functions the trainer's scheduler runs.\n\n"
            "  --set KEY=VALUE  override a config key (as `resnet config` does); repeatable\n"
            "  --steps N        print steps 1..N instead; N > T shows the rate held after T\n"
            "  --help           this text\n\n"
            "He's rule (schedule.warmup.until_train_error) ends warmup early once the running\n"
            "training error is low enough. This command trains nothing, so it has no training\n"
            "error: it treats the condition as never met (warmup runs its full length) and says\n"
            "so on stderr.\n\n"
            "exit codes: 0 success, 2 bad usage or config, 3 output failure\n");
}

static int parse_steps(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1) {
        fprintf(stderr, "resnet schedule: --steps wants a whole number >= 1, got '%s'\n", s);
        return -1;
    }
    *out = v;
    return 0;
}

int cmd_schedule(int argc, char **argv)
{
    const char *file = NULL;
    long steps = 0; /* 0: the run's total */
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    int n_sets = 0, rc = EXIT_USAGE;
    if (!sets) {
        fprintf(stderr, "resnet schedule: out of memory\n");
        return EXIT_RUNTIME;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            free(sets);
            return EXIT_OK;
        }
        if (!strcmp(a, "--steps") || !strncmp(a, "--steps=", 8)) {
            const char *v = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) {
                fprintf(stderr, "resnet schedule: --steps needs a value\n");
                goto out;
            }
            if (parse_steps(v, &steps))
                goto out;
            continue;
        }
        const int used = cli_collect_sets(argc, argv, i, sets, &n_sets);
        if (used < 0)
            goto out;
        if (used > 0) {
            i += used - 1;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            fprintf(stderr, "resnet schedule: unknown option '%s' (see `resnet schedule --help`)\n", a);
            goto out;
        }
        if (file) {
            fprintf(stderr, "resnet schedule: one config file only ('%s' and '%s')\n", file, a);
            goto out;
        }
        file = a;
    }
    if (!file) {
        fprintf(stderr, "resnet schedule: no config file given\n\n");
        usage(stderr);
        goto out;
    }

    run_config cfg;
    rc = config_load(file, n_sets, sets, &cfg);
    if (rc != 0)
        goto out;
    const sched_params *p = &cfg.schedule;
    if (steps == 0)
        steps = p->total_steps;
    if (p->until_train_error > 0.0)
        fprintf(stderr,
                "resnet schedule: %s: schedule.warmup.until_train_error = %g needs the running "
                "training error, which `resnet schedule` does not have; the condition is treated "
                "as never met, so warmup runs all %ld steps here (in training it may end sooner)\n",
                cfg.source[0] ? cfg.source : file, p->until_train_error, p->warmup_steps);

    /*
     * The same state machine, step for step, as the trainer's scheduler (backend
     * sched_step): the rate of the next step, then advance. A batch error of 1.0 can never
     * be below until_train_error (at most 1), so He's rule never fires.
     */
    sched_state st;
    sched_state_init(p, &st);
    printf("step,lr\n");
    for (long s = 1; s <= steps; s++) {
        const double lr = sched_next_lr(p, &st);
        /*
         * %.9g: the trainer stores the rate as a float (train_scalars.lr), and 9 significant
         * digits (FLT_DECIMAL_DIG) determine a float uniquely, so the printed value carries
         * everything the trainer uses. Printing the double rather than the float keeps
         * exact decimal rates readable (0.1, not 0.100000001).
         */
        printf("%ld,%.9g\n", s, lr);
        sched_state_advance(p, &st, 1.0);
    }
    rc = EXIT_OK;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "resnet schedule: writing the CSV failed: %s\n", strerror(errno));
        rc = EXIT_RUNTIME;
    }
out:
    free(sets);
    return rc;
}
