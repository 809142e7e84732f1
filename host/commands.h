/* commands.h: the subcommands of the `resnet` binary; each returns a process exit code. */
#ifndef COMMANDS_H
#define COMMANDS_H

int cmd_config(int argc, char **argv);
int cmd_schedule(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_train(int argc, char **argv);

/* Collects `--set KEY=VALUE` / `--set=KEY=VALUE` arguments; returns the count or -1
   after printing a usage error. `sets` must hold argc entries. */
int cli_collect_sets(int argc, char **argv, int i, char **sets, int *n_sets);

#endif
