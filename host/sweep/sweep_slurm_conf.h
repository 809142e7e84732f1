/* sweep_slurm_conf.h: the `slurm` section of a sweep file and --set slurm.KEY=VALUE: the cluster settings of --engine slurm, strictly validated. */
#ifndef SWEEP_SLURM_CONF_H
#define SWEEP_SLURM_CONF_H

#define SW_SLURM_NAME 128       /* a partition, account, qos, job name, gres or sbatch option */
#define SW_SLURM_LINE 1024      /* one setup line */
#define SW_SLURM_MAX_LINES 16   /* setup lines */
#define SW_SLURM_MAX_EXTRA 32   /* extra #SBATCH options */
#define SW_SLURM_WHERE 200      /* "FILE:LINE:COL" or "--set slurm.KEY=VALUE", for errors */
/* Seconds before the time limit at which Slurm is asked to send SIGTERM (slurm.signal_seconds). */
#define SW_SLURM_DEFAULT_SIGNAL_S 120

/* Empty strings and zeros mean "not given": sbatch then takes the cluster's defaults. */
typedef struct sw_slurm {
    char partition[SW_SLURM_NAME], account[SW_SLURM_NAME], qos[SW_SLURM_NAME], job_name[SW_SLURM_NAME];
    char time[32]; /* as written (e.g. 4:00:00 or 1-12:00:00) */
    long time_s;   /* the same in seconds */
    char gpus_per_task[32], gres[SW_SLURM_NAME], mem[32];
    int cpus_per_task;
    int signal_s; /* 0: SW_SLURM_DEFAULT_SIGNAL_S */
    int n_extra;
    char extra[SW_SLURM_MAX_EXTRA][SW_SLURM_NAME]; /* "--constraint=h100": written as #SBATCH lines */
    int n_setup;
    char setup[SW_SLURM_MAX_LINES][SW_SLURM_LINE]; /* shell lines run before the task, as written */
    /* Where time, signal_seconds, gres and gpus_per_task were given, for checks across keys. */
    char where_time[SW_SLURM_WHERE], where_signal[SW_SLURM_WHERE];
    char where_gres[SW_SLURM_WHERE], where_gpus[SW_SLURM_WHERE];
} sw_slurm;

struct yaml_document_s;
struct yaml_node_s;

/* Reads the section MAP of the sweep file FILE (parsed into DOC) into S; errors print
   "FILE:LINE:COL: slurm.KEY: ..." and return EXIT_USAGE. */
int sweep_slurm_parse(const char *file, struct yaml_document_s *doc, struct yaml_node_s *map, sw_slurm *s);

/* Applies a command-line `slurm.KEY=VALUE` (VALUE as YAML, like the file's) over the
   file's; 0 or EXIT_USAGE with a message naming the argument. */
int sweep_slurm_set(sw_slurm *s, const char *arg);

/* Checks across keys, once the file and every --set are in (the signal must come before
   the time limit; gres and gpus_per_task are two ways to say one thing); 0 or EXIT_USAGE. */
int sweep_slurm_check(const sw_slurm *s);

/* The seconds before the time limit at which the task gets SIGTERM. */
int sweep_slurm_signal_s(const sw_slurm *s);

#endif
