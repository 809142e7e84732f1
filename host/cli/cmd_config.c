/* cmd_config.c: `resnet config FILE [--set KEY=VALUE]...` validates a run config and prints it resolved, as YAML. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "config/config.h"
#include "common/exitcodes.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: resnet config FILE [--set KEY=VALUE]...\n\n"
            "Validates the run config FILE (YAML) and prints it fully resolved: every key with its\n"
            "default filled in, epochs turned into steps. The output loads back unchanged.\n\n"
            "options:\n"
            "  --set KEY=VALUE  override one key after FILE is read, e.g. --set schedule.peak_lr=0.2\n"
            "                   or --set data.train=[data_batch_1.bin,data_batch_2.bin]; repeatable,\n"
            "                   applied in order; VALUE is read as YAML with the same checks as FILE\n"
            "  -h, --help       print this help\n\n"
            "Every key, its default and its range: configs/README.md.\n"
            "exit codes: 0 valid, 2 bad usage or config (one line on stderr naming file:line:col and the key)\n");
}

int cmd_config(int argc, char **argv)
{
    const char *file = NULL;
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    int n_sets = 0, rc = EXIT_USAGE;
    if (!sets) {
        fprintf(stderr, "config: out of memory\n");
        return EXIT_RUNTIME;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            rc = EXIT_OK;
            goto done;
        }
        if (cli_config_arg(argc, argv, &i, "config", usage, sets, &n_sets, &file) < 0)
            goto done;
    }
    if (!file) {
        fprintf(stderr, "config: missing the config FILE\n\n");
        usage(stderr);
        goto done;
    }
    run_config *cfg = malloc(sizeof *cfg);
    if (!cfg) {
        fprintf(stderr, "config: out of memory\n");
        rc = EXIT_RUNTIME;
        goto done;
    }
    rc = config_load(file, n_sets, sets, cfg);
    if (rc == EXIT_OK) {
        config_print(cfg, stdout);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "config: cannot write the output\n");
            rc = EXIT_RUNTIME;
        }
    }
    free(cfg);
done:
    free(sets);
    return rc;
}
