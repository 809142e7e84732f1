/* trainer_io.c: the output folder check and the run's files (config.yaml, metrics.csv, eval.csv, summary.json). */
#include "train/trainer_io.h"
#include "train/checkpoint.h"
#include "train/run_data.h"
#include "train/run_resume.h"
#include "common/exitcodes.h"
#include "common/fileio.h"
#include "common/run_lock.h"
#include "train_scalars.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* summary.json first: removing a run's files in this order never leaves a summary
   (something to be taken for a result) next to a half-removed run. */
static const char *const RUN_FILES[] = {RUN_SUMMARY_FILE, RUN_CONFIG_FILE, RUN_METRICS_FILE,
                                        RUN_EVAL_FILE, CKPT_FILE, RUN_DATA_FILE, RUN_RESUME_LOG};
#define N_RUN_FILES ((int)(sizeof RUN_FILES / sizeof RUN_FILES[0]))

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* mkdir -p */
static int make_dirs(const char *dir, char *err, size_t err_size)
{
    char p[FILEIO_PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) {
        snprintf(err, err_size, "output.dir %s: path too long", dir);
        return -1;
    }
    for (char *s = p + 1;; s++) {
        const int end = *s == '\0';
        if (*s == '/' || end) {
            const char saved = *s;
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                snprintf(err, err_size, "output.dir: cannot create %s: %s", p, strerror(errno));
                return -1;
            }
            *s = saved;
        }
        if (end)
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, err_size, "output.dir %s exists but is not a folder", dir);
        return -1;
    }
    return 0;
}

/* The first run file found in output.dir, or NULL. */
static const char *existing_run_file(const char *dir)
{
    char path[FILEIO_PATH_MAX];
    for (int i = 0; i < N_RUN_FILES; i++)
        if (path_join(path, sizeof path, dir, RUN_FILES[i]) == 0 && exists(path))
            return RUN_FILES[i];
    return NULL;
}

/* run_dir_check without the lock: what the folder holds. */
static int check_contents(const run_config *cfg, int resume, char *err, size_t err_size)
{
    const char *dir = cfg->output.dir;
    char path[FILEIO_PATH_MAX];
    if (resume) {
        struct stat st;
        const int found_dir = stat(dir, &st) == 0;
        if (!found_dir || !S_ISDIR(st.st_mode)) {
            snprintf(err, err_size, "--resume %s: %s, expected the folder of a run that wrote a %s", dir,
                     found_dir ? "not a folder" : strerror(errno), CKPT_FILE);
            return EXIT_USAGE;
        }
        if (path_join(path, sizeof path, dir, CKPT_FILE) != 0 || !exists(path)) {
            const char *found = existing_run_file(dir);
            snprintf(err, err_size, "--resume %s: no %s in that folder, nothing to resume from (a run "
                     "writes one every train.checkpoint_every steps and at the end)%s", dir, CKPT_FILE,
                     found ? "; the run there stopped before its first checkpoint: start it again "
                             "with --overwrite" : "");
            return EXIT_USAGE;
        }
        return 0;
    }
    const char *found = existing_run_file(dir);
    if (found && !cfg->output.overwrite) {
        snprintf(err, err_size, "output.dir %s already holds a run (%s); continue it with --resume %s, "
                 "replace it with --overwrite (or output.overwrite: true), or choose another "
                 "output.dir", dir, found, dir);
        return EXIT_USAGE;
    }
    return 0;
}

int run_dir_check(const run_config *cfg, int resume, char *err, size_t err_size)
{
    long holder = 0;
    if (run_lock_busy(cfg->output.dir, &holder)) {
        run_lock_busy_message(cfg->output.dir, holder, err, err_size);
        return EXIT_USAGE;
    }
    return check_contents(cfg, resume, err, err_size);
}

/* Removes DIR/NAME.tmp (a killed writer's leftover) and, unless tmp_only, DIR/NAME.
   0 or EXIT_RUNTIME. */
static int remove_run_file(const char *dir, const char *name, int tmp_only, char *err, size_t err_size)
{
    char path[FILEIO_PATH_MAX], tmp[FILEIO_PATH_MAX + 8];
    path_join(path, sizeof path, dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    const char *p = tmp_only ? tmp : path;
    if (remove_durably(p) != 0) {
        snprintf(err, err_size, "%s: cannot remove: %s", p, strerror(errno));
        return EXIT_RUNTIME;
    }
    if (!tmp_only)
        remove(tmp);
    return 0;
}

int run_dir_claim(const run_config *cfg, int resume, int *lock_fd, char *err, size_t err_size)
{
    const char *dir = cfg->output.dir;
    /* A folder that cannot be made or written to is the user's path to fix: a usage error. */
    if (!resume && make_dirs(dir, err, err_size) != 0)
        return EXIT_USAGE;
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(err, err_size, "output.dir %s: cannot write into it: %s", dir, strerror(errno));
        return EXIT_USAGE;
    }
    long holder = 0;
    const int fd = run_lock_take(dir, &holder, err, err_size);
    if (fd == -1)
        run_lock_busy_message(dir, holder, err, err_size);
    if (fd < 0)
        return EXIT_USAGE;
    *lock_fd = fd;
    /* What the folder held may have changed while this run loaded its data (another
       process came and went): check again, now that no other can change it. */
    return check_contents(cfg, resume, err, err_size);
}

int run_dir_prepare(const run_config *cfg, int resume, char *err, size_t err_size)
{
    const char *dir = cfg->output.dir;
    if (!resume && existing_run_file(dir)) {
        /* Only the files a run writes: anything else the user keeps there stays. */
        for (int i = 0; i < N_RUN_FILES; i++)
            if (remove_run_file(dir, RUN_FILES[i], 0, err, err_size))
                return EXIT_RUNTIME;
    }
    if (resume) {
        /* Temporary files half-written by a killed run are never read: clear them. The
           summary of an earlier stop (or of a finished run now extended) no longer
           describes the folder: while this run goes on, or if it is killed, the folder
           holds no summary, so nothing there reads as a result. */
        for (int i = 0; i < N_RUN_FILES; i++)
            if (remove_run_file(dir, RUN_FILES[i], 1, err, err_size))
                return EXIT_RUNTIME;
        return remove_run_file(dir, RUN_SUMMARY_FILE, 0, err, err_size);
    }
    return 0;
}

int run_write_config(const run_config *cfg, char *err, size_t err_size)
{
    char path[FILEIO_PATH_MAX];
    path_join(path, sizeof path, cfg->output.dir, RUN_CONFIG_FILE);
    atomic_file af;
    FILE *f = atomic_open(&af, path, err, err_size);
    if (!f)
        return EXIT_RUNTIME;
    config_print(cfg, f);
    return atomic_commit(&af, err, err_size) == 0 ? 0 : EXIT_RUNTIME;
}

void eval_record_add(eval_record *r, long step, double loss, double error)
{
    if (r->n == 0 || error < r->best_error) {
        r->best_error = error;
        r->best_step = step;
    }
    r->n++;
    r->last_step = step;
    r->last_loss = loss;
    r->last_error = error;
}

/*
 * Rewrites PATH keeping the header and the complete rows whose step is <= keep_step
 * (replaying eval rows into er), then reopens it for appending. A missing file starts
 * over with just the header.
 */
static FILE *reopen_truncated(const char *path, const char *header, long keep_step, eval_record *er,
                              long *last_kept, run_timing *timing, char *err, size_t err_size)
{
    *last_kept = 0;
    /* Not fopen: a FIFO in its place would block the run here for ever. */
    FILE *in = fopen_regular(path, err, err_size);
    if (!in && errno != ENOENT)
        return NULL;
    atomic_file af;
    FILE *out = atomic_open(&af, path, err, err_size);
    if (!out) {
        if (in)
            fclose(in);
        return NULL;
    }
    fprintf(out, "%s\n", header);
    if (in) {
        char line[1024];
        int first = 1;
        while (fgets(line, sizeof line, in)) {
            const size_t len = strlen(line);
            if (len == 0 || line[len - 1] != '\n')
                break; /* half a line from a killed run, or garbage: stop here */
            if (first) {
                first = 0;
                if (!strncmp(line, header, strlen(header)))
                    continue;
            }
            char *end;
            const long step = strtol(line, &end, 10);
            if (end == line || *end != ',' || step > keep_step)
                continue;
            fputs(line, out);
            *last_kept = step;
            if (timing) {
                /* The last two columns, train_s and wall_s (METRICS_HEADER). */
                const char *c = line;
                for (int col = 0; col < 7 && c; col++)
                    c = strchr(c + 1, ',');
                char *e1 = NULL, *e2 = NULL;
                timing->train_s = c ? strtod(c + 1, &e1) : 0.0;
                timing->wall_s = e1 && *e1 == ',' ? strtod(e1 + 1, &e2) : 0.0;
                timing->known = e2 && e2 != e1 + 1 && (*e2 == '\n' || *e2 == '\r');
            }
            if (er) {
                double loss = strtod(end + 1, &end), error = 0.0;
                if (*end == ',')
                    error = strtod(end + 1, NULL);
                eval_record_add(er, step, loss, error);
            }
        }
        const int read_failed = ferror(in) ? (errno ? errno : EIO) : 0;
        fclose(in);
        if (read_failed) {
            atomic_abort(&af);
            snprintf(err, err_size, "%s: cannot read: %s", path, strerror(read_failed));
            return NULL;
        }
    }
    if (atomic_commit(&af, err, err_size) != 0)
        return NULL;
    FILE *f = fopen(path, "ab");
    if (!f)
        snprintf(err, err_size, "%s: cannot open for appending: %s", path, strerror(errno));
    return f;
}

static FILE *create_log(const char *path, const char *header, char *err, size_t err_size)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, err_size, "%s: cannot create: %s", path, strerror(errno));
        return NULL;
    }
    fprintf(f, "%s\n", header);
    if (fflush(f) != 0 || ferror(f)) {
        snprintf(err, err_size, "%s: write failed: %s", path, strerror(errno));
        fclose(f);
        return NULL;
    }
    return f;
}

int run_open_logs(const run_config *cfg, int resume, long keep_step, FILE **metrics, FILE **eval,
                  eval_record *er, run_timing *prior, char *err, size_t err_size)
{
    memset(prior, 0, sizeof *prior);
    char mp[FILEIO_PATH_MAX], ep[FILEIO_PATH_MAX];
    path_join(mp, sizeof mp, cfg->output.dir, RUN_METRICS_FILE);
    path_join(ep, sizeof ep, cfg->output.dir, RUN_EVAL_FILE);
    memset(er, 0, sizeof *er);
    if (resume) {
        long last = 0, last_eval = 0;
        *metrics = reopen_truncated(mp, METRICS_HEADER, keep_step, NULL, &last, prior, err, err_size);
        *eval = *metrics ? reopen_truncated(ep, EVAL_HEADER, keep_step, er, &last_eval, NULL, err, err_size) : NULL;
        /* Rows are synced before each checkpoint, so this takes a file edited or lost by hand. */
        if (*metrics && last != keep_step) {
            prior->known = 0;
            fprintf(stderr, "train: warning: %s ends at step %ld but the checkpoint is at step %ld: the "
                    "rows in between are missing and stay missing, and the summary's wall time and "
                    "throughput count this process alone\n", mp, last, keep_step);
        } else if (*metrics && keep_step > 0 && !prior->known) {
            fprintf(stderr, "train: warning: %s has no train_s and wall_s at step %ld (written by an older "
                    "build?): the summary's wall time and throughput count this process alone\n", mp, keep_step);
        }
    } else {
        *metrics = create_log(mp, METRICS_HEADER, err, err_size);
        *eval = *metrics ? create_log(ep, EVAL_HEADER, err, err_size) : NULL;
    }
    if (!*metrics || !*eval) {
        if (*metrics)
            fclose(*metrics);
        *metrics = NULL;
        return EXIT_RUNTIME;
    }
    return 0;
}

/* A JSON number, or for NaN/Inf a string ("nan", "inf", "-inf"): JSON has no such numbers. */
static void json_num(FILE *f, double x)
{
    if (isnan(x))
        fputs("\"nan\"", f);
    else if (isinf(x))
        fputs(x > 0 ? "\"inf\"" : "\"-inf\"", f);
    else
        fprintf(f, "%.9g", x);
}

/* A JSON string from trusted ASCII text, escaping quotes, backslashes and controls. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", (unsigned)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

int run_write_summary(const run_config *cfg, const run_summary *s, char *err, size_t err_size)
{
    char path[FILEIO_PATH_MAX];
    path_join(path, sizeof path, cfg->output.dir, RUN_SUMMARY_FILE);
    atomic_file af;
    FILE *f = atomic_open(&af, path, err, err_size);
    if (!f)
        return EXIT_RUNTIME;
    fprintf(f, "{\n  \"status\": ");
    json_str(f, s->status);
    fprintf(f, ",\n  \"steps_run\": %ld,\n  \"total_steps\": %ld,\n", s->steps_run, s->total_steps);
    if (s->resumed_from >= 0)
        fprintf(f, "  \"resumed_from_step\": %ld,\n", s->resumed_from);
    else
        fprintf(f, "  \"resumed_from_step\": null,\n");
    if (s->eval.n > 0) {
        fprintf(f, "  \"final_test_error\": ");
        json_num(f, s->eval.last_error);
        fprintf(f, ",\n  \"final_test_loss\": ");
        json_num(f, s->eval.last_loss);
        fprintf(f, ",\n  \"final_eval_step\": %ld,\n  \"best_test_error\": ", s->eval.last_step);
        json_num(f, s->eval.best_error);
        fprintf(f, ",\n  \"best_eval_step\": %ld,\n", s->eval.best_step);
    } else {
        fprintf(f, "  \"final_test_error\": null,\n  \"final_test_loss\": null,\n"
                   "  \"final_eval_step\": null,\n  \"best_test_error\": null,\n"
                   "  \"best_eval_step\": null,\n");
    }
    fprintf(f, "  \"wall_time_s\": %.3f,\n  \"images_per_s\": %.1f,\n  \"config_sha256\": ", s->wall_s,
            s->images_per_s);
    json_str(f, s->config_sha256 ? s->config_sha256 : "");
    fprintf(f, ",\n  \"backend\": ");
    json_str(f, s->backend);
    fprintf(f, ",\n  \"math\": ");
    json_str(f, s->math);
    if (s->cpu_kernels) {
        fprintf(f, ",\n  \"cpu_threads\": %d,\n  \"cpu_kernels\": ", s->cpu_threads);
        json_str(f, s->cpu_kernels);
    } else {
        fprintf(f, ",\n  \"cpu_threads\": null,\n  \"cpu_kernels\": null");
    }
    fprintf(f, ",\n  \"depth\": %d,\n  \"num_classes\": %d,\n  \"parameters\": %ld,\n"
               "  \"batch_size\": %d,\n  \"seed\": %llu,\n  \"nonfinite_policy\": ",
            s->depth, s->num_classes, s->parameters, s->batch_size, s->seed);
    json_str(f, s->nonfinite_policy);
    fprintf(f, ",\n  \"skipped_steps\": %ld,\n  \"divergence\": ", s->skipped);
    if (s->reason) {
        fprintf(f, "{\n    \"reason\": ");
        json_str(f, s->reason);
        fprintf(f, ",\n    \"step\": %ld,\n    \"lr\": ", s->fail_step);
        json_num(f, s->fail_lr);
        fprintf(f, ",\n    \"loss\": ");
        json_num(f, s->fail_loss);
        fprintf(f, ",\n    \"nonfinite\": [");
        const char *sep = "";
        if (s->fail_bits & NONFINITE_LOSS)
            fprintf(f, "%s\"loss\"", sep), sep = ", ";
        if (s->fail_bits & NONFINITE_GRAD)
            fprintf(f, "%s\"gradient\"", sep), sep = ", ";
        if (s->fail_bits & NONFINITE_WEIGHT)
            fprintf(f, "%s\"weight\"", sep);
        fprintf(f, "],\n    \"phase\": ");
        json_str(f, s->phase ? s->phase : "");
        fprintf(f, "\n  }\n");
    } else {
        fprintf(f, "null\n");
    }
    fprintf(f, "}\n");
    return atomic_commit(&af, err, err_size) == 0 ? 0 : EXIT_RUNTIME;
}
