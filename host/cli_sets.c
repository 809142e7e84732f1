/* cli_sets.c: collects the `--set KEY=VALUE` overrides every config-reading subcommand accepts. */
#include <stdio.h>
#include <string.h>
#include "commands.h"

/*
 * Looks at argv[i] only, so a subcommand can call it first in its own argument loop:
 * returns how many arguments it consumed (0 when argv[i] is not a --set, 1 for
 * `--set=KEY=VALUE`, 2 for `--set KEY=VALUE`), or -1 after printing a usage error.
 * KEY=VALUE itself is checked by config_load, which reports it with the config's errors.
 */
int cli_collect_sets(int argc, char **argv, int i, char **sets, int *n_sets)
{
    if (i < 0 || i >= argc)
        return 0;
    if (!strncmp(argv[i], "--set=", 6)) {
        sets[(*n_sets)++] = argv[i] + 6;
        return 1;
    }
    if (!strcmp(argv[i], "--set")) {
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: --set needs KEY=VALUE, e.g. --set schedule.peak_lr=0.1\n", argv[0]);
            return -1;
        }
        sets[(*n_sets)++] = argv[i + 1];
        return 2;
    }
    return 0;
}
