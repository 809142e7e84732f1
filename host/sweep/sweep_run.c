/* sweep_run.c: runs a sweep's training runs as child processes of this binary, K at a time, skipping finished ones. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "config/config.h"
#include "common/exitcodes.h"
#include "common/fileio.h"
#include "common/json_min.h"
#include "common/run_lock.h"
#include "common/stop_signals.h"
#include "sweep/sweep.h"

/* KEY=VALUE; both parts are bounded (SW_KEY, SW_VAL) so it always fits. */
static void kv_text(char *out, size_t out_size, const sw_setting *s)
{
    size_t k = strnlen(s->key, SW_KEY - 1), v = strnlen(s->val, SW_VAL - 1);
    if (k + v + 2 > out_size)
        v = 0;
    memcpy(out, s->key, k);
    out[k] = '=';
    memcpy(out + k + 1, s->val, v);
    out[k + 1 + v] = '\0';
}

void sweep_run_args(const sweep_spec *spec, const sw_cell *cell, unsigned long long seed, int with_div,
                    const char *run_dir, sw_run_args *a)
{
    sw_setting s[SW_RUN_SETS];
    int n = sweep_cell_settings(spec, cell, s, SW_RUN_SETS - 8);
    a->n = 0;
    for (int i = 0; i < n; i++)
        kv_text(a->text[a->n++], sizeof a->text[0], &s[i]);
    snprintf(a->text[a->n++], sizeof a->text[0], "train.seed=%llu", seed);
    if (with_div) {
        snprintf(a->text[a->n++], sizeof a->text[0], "divergence.loss_bound=%.17g", spec->crit.loss_bound);
        snprintf(a->text[a->n++], sizeof a->text[0], "divergence.loss_soft_bound=%.17g", spec->crit.loss_soft_bound);
        snprintf(a->text[a->n++], sizeof a->text[0], "divergence.soft_steps=%ld", spec->crit.soft_steps);
    }
    snprintf(a->text[a->n++], sizeof a->text[0], "output.dir=%s", run_dir);
}

/* config_load_quiet of the base config with A's settings. */
static int load_run_quiet(const char *base, const sw_run_args *a, run_config *cfg)
{
    char *sets[SW_RUN_SETS];
    for (int i = 0; i < a->n; i++)
        sets[i] = (char *)a->text[i];
    return config_load_quiet(base, a->n, sets, cfg);
}

static int config_load_loud(const char *base, const sw_run_args *a, run_config *cfg)
{
    char *sets[SW_RUN_SETS];
    for (int i = 0; i < a->n; i++)
        sets[i] = (char *)a->text[i];
    return config_load(base, a->n, sets, cfg);
}

/*
 * Every cell's run config is loaded here, before anything runs, so a typo in a grid key
 * or a value the run config refuses stops the sweep at once instead of failing N runs.
 * The trainer's divergence.* keys are probed on the first cell: a run config without them
 * is told so once and the runs go on with the non-finite check alone.
 */
static int check_runs(const sweep_spec *spec, const sweep_plan *plan, int with_div, run_config *cfg,
                      sw_run_args *a, unsigned char *stale);

int sweep_validate(const sweep_spec *spec, const sweep_plan *plan, int *with_div, double *peak_lr,
                   unsigned char *stale)
{
    run_config *cfg = malloc(sizeof *cfg);
    sw_run_args *a = malloc(sizeof *a);
    int rc = EXIT_OK;
    if (!cfg || !a) {
        fprintf(stderr, "sweep: out of memory\n");
        rc = EXIT_RUNTIME;
        goto done;
    }
    sweep_run_args(spec, &plan->cells[0], spec->seed[0], 1, spec->output, a);
    *with_div = 1;
    if (load_run_quiet(spec->base, a, cfg) != 0) {
        sweep_run_args(spec, &plan->cells[0], spec->seed[0], 0, spec->output, a);
        if (load_run_quiet(spec->base, a, cfg) == 0) {
            *with_div = 0;
            fprintf(stderr, "sweep: warning: the run config has no divergence.* keys in this build; the loss "
                            "bounds of the sweep's `divergence` section are not applied: runs fail only on a "
                            "non-finite loss, gradient or weight\n");
        }
    }
    for (int c = 0; c < plan->n_cells && rc == EXIT_OK; c++) {
        sweep_run_args(spec, &plan->cells[c], spec->seed[0], *with_div, spec->output, a);
        if (load_run_quiet(spec->base, a, cfg) == 0) {
            peak_lr[c] = cfg->schedule.peak_lr;
            continue;
        }
        /* Show the run config's own message, then point at the sweep file's line. */
        config_load_loud(spec->base, a, cfg);
        sw_setting s[SW_RUN_SETS];
        int n = sweep_cell_settings(spec, &plan->cells[c], s, SW_RUN_SETS);
        for (int i = 0; i < n; i++) {
            a->n = 1;
            kv_text(a->text[0], sizeof a->text[0], &s[i]);
            if (load_run_quiet(spec->base, a, cfg) == 0)
                continue;
            if (s[i].line)
                fprintf(stderr, "%s:%d:%d: %s: the run config %s rejects the value %s\n", spec->file, s[i].line,
                        s[i].col, s[i].key, spec->base, s[i].val);
            else
                fprintf(stderr, "--set %s=%s: the run config %s rejects it\n", s[i].key, s[i].val, spec->base);
            break;
        }
        fprintf(stderr, "%s: cell '%s' is not a valid run of %s (see above); nothing was run\n", spec->file,
                plan->cells[c].slug, spec->base);
        rc = EXIT_USAGE;
    }
    if (rc == EXIT_OK)
        rc = check_runs(spec, plan, *with_div, cfg, a, stale);
done:
    free(cfg);
    free(a);
    return rc;
}

/*
 * What the runs need before anything runs: every cell's data files are there (a missing
 * file fails here once, not in every child); no two cells are the same run config; and
 * every finished run in the sweep folder was made by the config its cell now asks for
 * (a sweep file edited since would otherwise table old results as new). Changed runs are
 * an error naming them and the keys, unless --rerun-changed, when they are marked in
 * `stale` to be redone in place.
 */
static int check_runs(const sweep_spec *spec, const sweep_plan *plan, int with_div, run_config *cfg,
                      sw_run_args *a, unsigned char *stale)
{
    char err[2 * FILEIO_PATH_MAX], (*ident)[65] = calloc((size_t)plan->n_cells, sizeof *ident);
    char *what = malloc(4096);
    int rc = EXIT_OK, n_stale = 0;
    if (!ident || !what) {
        fprintf(stderr, "sweep: out of memory\n");
        rc = EXIT_RUNTIME;
        goto done;
    }
    for (int c = 0; c < plan->n_cells && rc == EXIT_OK; c++) {
        sweep_run_args(spec, &plan->cells[c], spec->seed[0], with_div, spec->output, a);
        if (load_run_quiet(spec->base, a, cfg) != 0)
            continue; /* validate() reported it */
        if (sweep_check_data(cfg, err, sizeof err) != 0) {
            fprintf(stderr, "sweep: cell '%s': %s; nothing was run\n", plan->cells[c].slug, err);
            rc = EXIT_USAGE;
        }
        config_identity(cfg, ident[c]);
        for (int d = 0; d < c && rc == EXIT_OK; d++)
            if (!strcmp(ident[c], ident[d])) {
                fprintf(stderr, "%s: cells '%s' and '%s' are the same run config (their values differ only in "
                        "how they are written); nothing was run\n", spec->file, plan->cells[d].slug,
                        plan->cells[c].slug);
                rc = EXIT_USAGE;
            }
    }
    for (int r = 0; r < plan->n_runs && rc == EXIT_OK; r++) {
        const sw_run *run = &plan->runs[r];
        char dir[FILEIO_PATH_MAX];
        path_join(dir, sizeof dir, spec->output, run->name);
        if (!sweep_run_complete(dir))
            continue;
        sweep_run_args(spec, &plan->cells[run->cell], spec->seed[run->seed_index], with_div, dir, a);
        if (load_run_quiet(spec->base, a, cfg) != 0 || !sweep_run_changed(dir, cfg, what, 4096))
            continue;
        n_stale++;
        if (stale)
            stale[r] = 1;
        fprintf(stderr, "sweep: %s: %s: %s\n", run->name, spec->rerun_changed ? "made by another config, to be "
                "redone" : "finished, but with another config", what);
    }
    if (rc == EXIT_OK && n_stale && !spec->rerun_changed) {
        fprintf(stderr, "sweep: %d finished run%s in %s %s made by another config than %s asks for now (above); "
                "nothing was run. Redo them in place with --rerun-changed, or give the sweep another output\n",
                n_stale, n_stale == 1 ? "" : "s", spec->output, n_stale == 1 ? "was" : "were", spec->file);
        rc = EXIT_USAGE;
    }
done:
    free(ident);
    free(what);
    return rc;
}

int sweep_mkdir_p(const char *path)
{
    char buf[FILEIO_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = c;
            if (!c)
                return 0;
        }
    }
}

/* Removes a run folder and what it holds (the trainer's files are flat; nested ones too). */
int sweep_rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[FILEIO_PATH_MAX];
        if (path_join(sub, sizeof sub, path, e->d_name) != 0 || sweep_rm_tree(sub) != 0)
            rc = -1;
    }
    closedir(d);
    return rc == 0 ? rmdir(path) : -1;
}

int sweep_run_complete(const char *run_dir)
{
    char path[FILEIO_PATH_MAX], err[256];
    json_flat j;
    if (path_join(path, sizeof path, run_dir, "summary.json") != 0 || json_flat_load(path, &j, err, sizeof err))
        return 0;
    const char *s = json_get(&j, "status");
    return s && (!strcmp(s, "finished") || !strcmp(s, "diverged"));
}

/* The first line of RUN_DIR/train.log that is neither a warning nor a progress line: a
   child that exits 2 says there what was wrong with its config or data. */
static void first_error_line(const char *run_dir, char *out, size_t out_size)
{
    char path[FILEIO_PATH_MAX], err[256], line[1024];
    path_join(path, sizeof path, run_dir, "train.log");
    FILE *f = fopen_regular(path, err, sizeof err);
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || strstr(line, "warning:") || !strncmp(line, "epoch ", 6))
            continue;
        snprintf(out, out_size, "%.*s", (int)(out_size - 1), line);
        break;
    }
    fclose(f);
}

/* One line saying how a run ended, from its summary (or the exit status when it has none). */
static void describe_end(const char *run_dir, int status, char *out, size_t out_size)
{
    char path[FILEIO_PATH_MAX], err[256];
    json_flat j;
    path_join(path, sizeof path, run_dir, "summary.json");
    if (json_flat_load(path, &j, err, sizeof err) == 0 && json_get(&j, "status")) {
        const char *st = json_get(&j, "status");
        sweep_summary_phrase(&j, out, out_size);
        if (!strcmp(st, "finished") || !strcmp(st, "diverged"))
            return;
    } else {
        snprintf(out, out_size, "no summary.json");
    }
    size_t used = strlen(out);
    char first[512] = "";
    if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_USAGE)
        first_error_line(run_dir, first, sizeof first);
    if (WIFEXITED(status) && first[0])
        snprintf(out + used, out_size - used, ", exit %d: %s (see %s/train.log)", WEXITSTATUS(status), first, run_dir);
    else if (WIFEXITED(status))
        snprintf(out + used, out_size - used, ", exit %d (see %s/train.log)", WEXITSTATUS(status), run_dir);
    else if (WIFSIGNALED(status))
        snprintf(out + used, out_size - used, ", killed by signal %d (see %s/train.log)", WTERMSIG(status), run_dir);
}

int sweep_child_argv(const sweep_spec *spec, const sw_run_args *a, char **argv)
{
    int n = 0;
    argv[n++] = "resnet";
    argv[n++] = "train";
    argv[n++] = (char *)spec->base;
    for (int i = 0; i < a->n; i++) {
        argv[n++] = "--set";
        argv[n++] = (char *)a->text[i];
    }
    argv[n] = NULL;
    return n;
}

/* fork + execv of `resnet train BASE --set ...`, output into RUN_DIR/train.log; the child's pid or -1. */
static pid_t spawn(const sweep_spec *spec, const sw_run_args *a, const char *run_dir)
{
    char log[FILEIO_PATH_MAX];
    if (sweep_mkdir_p(run_dir) != 0 || path_join(log, sizeof log, run_dir, "train.log") != 0) {
        fprintf(stderr, "sweep: cannot create %s: %s\n", run_dir, strerror(errno));
        return -1;
    }
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) {
        fprintf(stderr, "sweep: cannot create %s: %s\n", log, strerror(errno));
        return -1;
    }
    char *argv[SW_CHILD_ARGV];
    sweep_child_argv(spec, a, argv);
    const pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        /* Die with the sweep: a killed sweep must not leave runs writing into folders that
           its rerun is about to delete and redo. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(EXIT_RUNTIME);
        /* A process group of its own: a terminal's Ctrl-C reaches the sweep alone, which
           passes it on once, so a run gets one request to stop, not two (the second of
           which would end it at once, without a checkpoint). */
        setpgid(0, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        execv("/proc/self/exe", argv);
        fprintf(stderr, "sweep: cannot run /proc/self/exe: %s\n", strerror(errno));
        _exit(EXIT_RUNTIME);
    }
    close(fd);
    if (pid < 0)
        fprintf(stderr, "sweep: fork: %s\n", strerror(errno));
    return pid;
}

/* Holds an exclusive lock on DIR/.sweep.lock for the life of the process: two sweeps in one folder would redo each other's runs. */
int sweep_lock_dir(const char *dir)
{
    char path[FILEIO_PATH_MAX];
    path_join(path, sizeof path, dir, ".sweep.lock");
    int fd = open(path, O_RDWR | O_CREAT, 0666);
    if (fd < 0) {
        fprintf(stderr, "sweep: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct flock fl = {0};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        fprintf(stderr, "sweep: another `resnet sweep` is running in %s; wait for it or stop it first\n", dir);
        close(fd);
        return -1;
    }
    return fd; /* kept open (and locked) until exit */
}

int sweep_check(const sweep_spec *spec, const sweep_plan *plan)
{
    double *peak = calloc((size_t)plan->n_cells, sizeof *peak);
    int with_div = 0;
    int rc = peak ? sweep_validate(spec, plan, &with_div, peak, NULL) : EXIT_RUNTIME;
    free(peak);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fmt_duration(char *out, size_t n, double s)
{
    const long t = s > 0 && s < 3.6e7 ? (long)(s + 0.5) : 0;
    if (t >= 3600)
        snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, n, "%ld:%02ld", t / 60, t % 60);
}

int sweep_clear_run(const char *dir)
{
    long holder = 0;
    if (run_lock_busy(dir, &holder)) {
        char msg[FILEIO_PATH_MAX + 256];
        run_lock_busy_message(dir, holder, msg, sizeof msg);
        fprintf(stderr, "sweep: %s; left as it is\n", msg);
        return -1;
    }
    if (sweep_rm_tree(dir) != 0) {
        fprintf(stderr, "sweep: cannot remove the unfinished run %s: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

int sweep_execute(const sweep_spec *spec, const sweep_plan *plan, int jobs)
{
    double *peak = calloc((size_t)plan->n_cells, sizeof *peak);
    sw_run_args *a = malloc(sizeof *a);
    pid_t *pid_of = calloc((size_t)plan->n_runs, sizeof *pid_of);
    double *started = calloc((size_t)plan->n_runs, sizeof *started);
    unsigned char *stale = calloc((size_t)plan->n_runs, 1);
    int rc = EXIT_OK, with_div = 0, lock = -1;
    if (!peak || !a || !pid_of || !started || !stale) {
        fprintf(stderr, "sweep: out of memory\n");
        rc = EXIT_RUNTIME;
        goto done;
    }
    rc = sweep_validate(spec, plan, &with_div, peak, stale);
    if (rc)
        goto done;
    if (sweep_mkdir_p(spec->output) != 0) {
        fprintf(stderr, "sweep: cannot create %s: %s\n", spec->output, strerror(errno));
        rc = EXIT_RUNTIME;
        goto done;
    }
    lock = sweep_lock_dir(spec->output);
    if (lock < 0) {
        rc = EXIT_USAGE;
        goto done;
    }
    rc = sweep_write_plan(spec, plan, peak, with_div);
    if (rc)
        goto done;
    /* --rerun-changed: a finished run of another config goes, so the loop redoes it. */
    for (int r = 0; r < plan->n_runs; r++) {
        char dir[FILEIO_PATH_MAX];
        path_join(dir, sizeof dir, spec->output, plan->runs[r].name);
        if (stale[r] && sweep_clear_run(dir) != 0)
            rc = EXIT_RUNTIME;
    }
    /* Installed whatever the sweep inherited: a sweep started as a script's background
       job has SIGINT ignored, and would otherwise go on while each run it starts is
       stopped by the same Ctrl-C. A second signal takes the default action: the sweep
       dies, and its runs with it (PR_SET_PDEATHSIG), for a user who will not wait for
       them to checkpoint. Progress into a closed pipe (`resnet sweep ... | head`) must
       not kill the sweep, which would take its runs down with it. */
    stop_signals sigs;
    stop_signals_install(&sigs);
    closed_output_as_error();

    /* The runs share this machine's cores: each CPU run's train.threads 0 (auto) then
       takes 1/jobs of them (host/backend/backend.h). A value the user set is kept. */
    char jobs_text[16];
    snprintf(jobs_text, sizeof jobs_text, "%d", jobs);
    if (!getenv("RESNET_PARALLEL_JOBS"))
        setenv("RESNET_PARALLEL_JOBS", jobs_text, 1);

    /* Seed-major order: every cell gets its first seed before any gets its second, so the
       tables of a sweep stopped early still cover the whole grid. */
    const int n_seeds = spec->n_seeds, N = plan->n_runs;
    const double t0 = now_s();
    double ran_s = 0.0;
    int next = 0, running = 0, done_runs = 0, skipped = 0, failed = 0, stopping = 0;
    while (next < N || running > 0) {
        const int sig = stop_signal_received();
        if (sig && !stopping) {
            /* Each run gets the signal once (it is in a process group of its own), stops
               after its step with a checkpoint, and is redone by the next sweep. */
            stopping = sig;
            for (int r = 0; r < N; r++)
                if (pid_of[r] > 0)
                    kill(pid_of[r], sig);
            fprintf(stderr, "sweep: signal %d: stopping the %d run%s in flight (each stops after its current step); "
                    "a second signal ends them at once\n", sig, running, running == 1 ? "" : "s");
        }
        while (!stopping && next < N && running < jobs) {
            const int order = next++;
            const int r = (order % plan->n_cells) * n_seeds + order / plan->n_cells;
            const sw_run *run = &plan->runs[r];
            char dir[FILEIO_PATH_MAX];
            path_join(dir, sizeof dir, spec->output, run->name);
            if (sweep_run_complete(dir)) {
                skipped++;
                fprintf(stderr, "sweep: [%d/%d] %s: already done, skipped\n", order + 1, N, run->name);
                continue;
            }
            if (sweep_clear_run(dir) != 0) {
                rc = EXIT_RUNTIME;
                failed++;
                continue;
            }
            sweep_run_args(spec, &plan->cells[run->cell], spec->seed[run->seed_index], with_div, dir, a);
            pid_t pid = spawn(spec, a, dir);
            if (pid < 0) {
                rc = EXIT_RUNTIME;
                failed++;
                continue;
            }
            pid_of[r] = pid;
            started[r] = now_s();
            running++;
            fprintf(stderr, "sweep: [%d/%d] %s: started\n", order + 1, N, run->name);
        }
        if (running == 0)
            break;
        /* Polled, so a signal is seen within a tenth of a second even while every run
           goes on for hours. */
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid == 0) {
            nanosleep(&(struct timespec){0, 100000000L}, NULL);
            continue;
        }
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "sweep: waitpid: %s\n", strerror(errno));
            rc = EXIT_RUNTIME;
            break;
        }
        int r = -1;
        for (int i = 0; i < N && r < 0; i++)
            if (pid_of[i] == pid)
                r = i;
        if (r < 0)
            continue; /* not one of ours */
        pid_of[r] = 0;
        running--;
        done_runs++;
        const double took = now_s() - started[r];
        ran_s += took;
        char dir[FILEIO_PATH_MAX], what[FILEIO_PATH_MAX + 640], d_run[32], d_all[32], d_eta[32];
        path_join(dir, sizeof dir, spec->output, plan->runs[r].name);
        describe_end(dir, status, what, sizeof what);
        /* ETA: the runs not yet ended, at the mean time of those run so far, `jobs` at a time. */
        const int left = N - done_runs - skipped - failed;
        fmt_duration(d_run, sizeof d_run, took);
        fmt_duration(d_all, sizeof d_all, now_s() - t0);
        fmt_duration(d_eta, sizeof d_eta, left * (ran_s / done_runs) / (jobs < left ? jobs : (left ? left : 1)));
        fprintf(stderr, "sweep: [%d/%d done] %s: %s (%s; elapsed %s, ETA %s)\n", done_runs + skipped, N,
                plan->runs[r].name, what, d_run, d_all, stopping ? "--" : d_eta);
        if (!sweep_run_complete(dir)) {
            failed++;
            if (rc == EXIT_OK && !stopping)
                rc = WIFEXITED(status) && WEXITSTATUS(status) == EXIT_USAGE ? EXIT_USAGE : EXIT_RUNTIME;
        }
    }
    fprintf(stderr, "sweep: %d runs: %d ran now, %d already done, %d did not complete\n", N, done_runs, skipped,
            failed);
    if (stopping) {
        fprintf(stderr, "sweep: stopped by signal %d; the runs stopped part way are redone from the start by the "
                "next sweep\n", stopping);
        rc = 128 + stopping;
    }
done:
    if (lock >= 0)
        close(lock);
    free(peak);
    free(a);
    free(pid_of);
    free(started);
    free(stale);
    return rc;
}
