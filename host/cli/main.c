/* main.c: the `resnet` command-line entry point, dispatching to one subcommand. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/commands.h"
#include "common/exitcodes.h"
#include "sweep/sweep.h"

typedef struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommand;

static const subcommand SUBCOMMANDS[] = {
    {"train", cmd_train, "train a CIFAR ResNet from a run config"},
    {"sweep", cmd_sweep, "run a grid of training runs (warmup x peak rate x seeds) and tabulate divergence"},
    {"report", cmd_report, "tables and gnuplot plots of a sweep folder or one run folder"},
    {"config", cmd_config, "validate a run config and print it resolved, as YAML"},
    {"schedule", cmd_schedule, "print a run config's learning rate for every step, as CSV"},
    {"info", cmd_info, "print the build and the CUDA devices found"},
};
static const int N_SUBCOMMANDS = (int)(sizeof SUBCOMMANDS / sizeof SUBCOMMANDS[0]);

static void usage(FILE *out)
{
    fprintf(out, "usage: resnet COMMAND [ARGS...]\n\n"
                 "Trains CIFAR ResNets (6n+2 layers) and measures what learning-rate warmup does.\n\n"
                 "commands:\n");
    for (int i = 0; i < N_SUBCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", SUBCOMMANDS[i].name, SUBCOMMANDS[i].summary);
    fprintf(out, "\n`resnet COMMAND --help` describes each command.\n"
                 "exit codes: 0 success, 2 bad usage/config/data, 3 runtime failure, 4 training diverged,\n"
                 "128+N stopped by signal N\n\n"
                 "`resnet --version` prints the version.\n");
}

/*
 * A process started with stdin, stdout or stderr closed (`resnet train ... 2>&-`) would
 * hand those numbers to the first files it opens, and its messages would then be written
 * into a data file or a checkpoint. /dev/null takes any closed one first.
 */
static void fill_standard_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        const int nul = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (nul >= 0 && nul != fd) {
            dup2(nul, fd);
            close(nul);
        }
    }
}

int main(int argc, char **argv)
{
    fill_standard_fds();
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("resnet %s\n", RESNET_VERSION);
        return EXIT_OK;
    }
    for (int i = 0; i < N_SUBCOMMANDS; i++)
        if (!strcmp(argv[1], SUBCOMMANDS[i].name))
            return SUBCOMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "resnet: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
