/* commands.h: the subcommands of the `resnet` binary; each returns a process exit code. */
#ifndef COMMANDS_H
#define COMMANDS_H

#include <stdio.h>

int cmd_config(int argc, char **argv);
int cmd_schedule(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_train(int argc, char **argv);

/* `resnet sweep status DIR` and `resnet sweep task DIR INDEX` (cmd_sweep_status.c), reached through `resnet sweep`. */
int cmd_sweep_status(int argc, char **argv);
int cmd_sweep_task(int argc, char **argv);

/* Collects `--set KEY=VALUE` / `--set=KEY=VALUE` arguments; returns the count or -1
   after printing a usage error. `sets` must hold argc entries. */
int cli_collect_sets(int argc, char **argv, int i, char **sets, int *n_sets);

/* For `resnet config` and `resnet train`, after their own options: a --set, an unknown
   option or the one config file at argv[*i] (cli_sets.c). Returns 0, or -1 after
   printing the error (`cmd: ...`, then usage(stderr)). */
int cli_config_arg(int argc, char **argv, int *i, const char *cmd, void (*usage)(FILE *), char **sets,
                   int *n_sets, const char **file);

#endif
