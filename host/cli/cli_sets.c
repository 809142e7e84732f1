/* cli_sets.c: the arguments of config-reading subcommands: `--set KEY=VALUE` overrides, and the config file itself. */
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"

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

/*
 * `resnet config` and `resnet train` read the arguments that are not their own options
 * alike, so the errors read alike too: call this on argv[*i] after the subcommand's own
 * options. It collects a --set (advancing *i past its value), refuses any other option,
 * and takes one non-option argument as the config file (refusing a second). Returns 0,
 * or -1 after printing the error on stderr (prefixed with cmd and followed by usage,
 * except a --set without its value, reported as cli_collect_sets does).
 */
int cli_config_arg(int argc, char **argv, int *i, const char *cmd, void (*usage)(FILE *), char **sets,
                   int *n_sets, const char **file)
{
    const int used = cli_collect_sets(argc, argv, *i, sets, n_sets);
    if (used < 0)
        return -1;
    if (used > 0) {
        *i += used - 1;
        return 0;
    }
    const char *a = argv[*i];
    if (a[0] == '-' && a[1] != '\0') {
        fprintf(stderr, "%s: unknown option '%s'\n\n", cmd, a);
        usage(stderr);
        return -1;
    }
    if (*file) {
        fprintf(stderr, "%s: one config file expected, got '%s' and '%s'\n\n", cmd, *file, a);
        usage(stderr);
        return -1;
    }
    *file = a;
    return 0;
}
