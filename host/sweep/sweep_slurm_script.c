/* sweep_slurm_script.c: writes the sweep's Slurm batch script (slurm/array.sbatch): #SBATCH lines from the slurm section, the setup lines, the exec of `resnet sweep task`. */
#include <stdlib.h>
#include <string.h>
#include "sweep/sweep_slurm.h"

char *slurm_array_list(const int *idx, int n)
{
    /* At most 12 characters per index ("12345-12346,"), plus the end. */
    char *s = malloc((size_t)n * 24 + 1);
    if (!s)
        return NULL;
    size_t o = 0;
    s[0] = '\0';
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && idx[j + 1] == idx[j] + 1)
            j++;
        if (j == i)
            o += (size_t)sprintf(s + o, "%s%d", o ? "," : "", idx[i]);
        else
            o += (size_t)sprintf(s + o, "%s%d-%d", o ? "," : "", idx[i], idx[j]);
        i = j + 1;
    }
    return s;
}

void slurm_shell_quote(FILE *f, const char *s)
{
    /* Words of these characters mean the same to the shell quoted or not: left bare, to read. */
    if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=+,@-") == strlen(s)) {
        fputs(s, f);
        return;
    }
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", f); /* close the quote, an escaped quote, reopen */
        else
            fputc(*s, f);
    }
    fputc('\'', f);
}

int slurm_path_ok(const char *path)
{
    if (!*path)
        return 0;
    for (const unsigned char *c = (const unsigned char *)path; *c; c++)
        if (*c <= ' ' || *c >= 127 || strchr("\"'\\%#$`", *c))
            return 0;
    return 1;
}

/* Text for a comment line: anything that is not printable ASCII becomes '?', so no value
   can end the comment and start a command. */
static void comment_text(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc(*s >= ' ' && *s < 127 ? *s : '?', f);
}

void slurm_script_write(FILE *f, const sw_slurm *s, const slurm_script_args *a)
{
    fprintf(f, "#!/bin/bash\n");
    fprintf(f, "# array.sbatch: the Slurm job array of the sweep ");
    comment_text(f, a->sweep_file);
    fprintf(f, ", one task per run of plan.csv;\n"
               "# written by `resnet sweep ... --engine slurm` at each submission (the indices are the runs\n"
               "# not yet done). Task i runs plan row i as the local engine would: the same config, folder\n"
               "# and command line (slurm/tasks.argv); a task whose folder holds a checkpoint resumes it.\n"
               "# Follow it with `resnet sweep status ");
    comment_text(f, a->abs_dir);
    fprintf(f, "`.\n");
    fprintf(f, "#SBATCH --job-name=%s\n", a->job_name);
    fprintf(f, "#SBATCH --array=%s\n", a->array);
    if (s->partition[0])
        fprintf(f, "#SBATCH --partition=%s\n", s->partition);
    if (s->account[0])
        fprintf(f, "#SBATCH --account=%s\n", s->account);
    if (s->qos[0])
        fprintf(f, "#SBATCH --qos=%s\n", s->qos);
    if (s->time[0])
        fprintf(f, "#SBATCH --time=%s\n", s->time);
    fprintf(f, "#SBATCH --ntasks=1\n");
    if (s->cpus_per_task)
        fprintf(f, "#SBATCH --cpus-per-task=%d\n", s->cpus_per_task);
    if (s->mem[0])
        fprintf(f, "#SBATCH --mem=%s\n", s->mem);
    if (s->gpus_per_task[0])
        fprintf(f, "#SBATCH --gpus-per-task=%s\n", s->gpus_per_task);
    if (s->gres[0])
        fprintf(f, "#SBATCH --gres=%s\n", s->gres);
    for (int i = 0; i < s->n_extra; i++)
        fprintf(f, "#SBATCH %s\n", s->extra[i]);
    fprintf(f, "# Preemption and time limits: a preempted task goes back to the queue, and every task\n"
               "# gets SIGTERM %d s before its time limit; either way the trainer checkpoints and stops,\n"
               "# and the task that runs next on its folder resumes the checkpoint.\n",
            sweep_slurm_signal_s(s));
    fprintf(f, "#SBATCH --requeue\n");
    fprintf(f, "#SBATCH --signal=B:TERM@%d\n", sweep_slurm_signal_s(s));
    fprintf(f, "#SBATCH --open-mode=append\n");
    fprintf(f, "#SBATCH --output=%s/%s/%%A_%%a.out\n", a->abs_dir, SW_SLURM_LOGS);
    fprintf(f, "\nset -e\n");
    if (s->n_setup) {
        fprintf(f, "# setup (the sweep file's slurm.setup, as written):\n");
        for (int i = 0; i < s->n_setup; i++)
            fprintf(f, "%s\n", s->setup[i]);
    }
    fprintf(f, "\n# exec: the trainer replaces this shell, so the signals Slurm sends the batch shell\n"
               "# reach the trainer itself. Its output goes to train.log in the run's folder.\n");
    fprintf(f, "exec ");
    slurm_shell_quote(f, a->exe);
    fprintf(f, " sweep task ");
    slurm_shell_quote(f, a->abs_dir);
    fprintf(f, " \"$SLURM_ARRAY_TASK_ID\"\n");
}
