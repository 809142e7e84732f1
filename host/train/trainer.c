/* trainer.c: the training run: backend choice, data upload, set-up (fresh or resumed, with the folder's lock and the resume checks), the loop of device-side steps, and the run's outcome. */
#include "train/trainer.h"
#include "train/trainer_internal.h"
#include "common/exitcodes.h"
#include "common/json_min.h"
#include "train/train_step.h"
#include "common/stop_signals.h"
#include "batch.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* setup's answer for a finished run resumed: nothing to do, nothing touched. */
#define NOTHING_TO_DO (-1)

/* 1727962 -> "1,727,962" */
static void fmt_count(char *out, size_t n, long v)
{
    char digits[32];
    const int len = snprintf(digits, sizeof digits, "%ld", v);
    size_t at = 0;
    for (int i = 0; i < len && at + 2 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[at++] = ',';
        out[at++] = digits[i];
    }
    out[at] = '\0';
}

/* One whole training step (host/train/train_step.c), the run_step callback. */
static void train_step(void *ctx)
{
    trainer *t = ctx;
    const step_inputs in = {t->m, t->d_train_x, t->d_train_y, t->train.n, &t->spec, &t->cfg->schedule,
                            &t->pol, &t->hyper, t->d_ts, t->d_hist, t->hist_len, t->d_stats_backup};
    train_step_enqueue(t->be, &in);
}

static backend *open_backend(const run_config *cfg, progress *pg, char *err, size_t err_size)
{
    if (cfg->train.backend == BACKEND_CPU)
        return backend_cpu_create(cfg->train.threads, err, err_size);
    if (cfg->train.backend == BACKEND_CUDA)
        return backend_cuda_create(0, !cfg->train.tf32, err, err_size);
    if (backend_cuda_device_count() > 0) {
        backend *b = backend_cuda_create(0, !cfg->train.tf32, err, err_size);
        if (b)
            return b;
        progress_note(pg, "train: warning: train.backend auto: the CUDA device could not be used (%s); "
                          "training on the CPU reference backend, which is slow", err);
    } else {
        progress_note(pg, "train: warning: train.backend auto: no CUDA device found; training on the "
                          "CPU reference backend, which is slow");
    }
    return backend_cpu_create(cfg->train.threads, err, err_size);
}

/* Reads the data files, and the size and SHA-256 of each (the run's data identity). */
static int load_data(trainer *t)
{
    const run_config *cfg = t->cfg;
    const int k = cfg->model.num_classes;
    char path[2 * CFG_MAX_PATH + 2], role[24];
    for (int i = 0; i < cfg->data.n_train; i++) {
        long limit = 0;
        if (cfg->data.limit_train > 0) {
            limit = cfg->data.limit_train - t->train.n;
            if (limit <= 0)
                break;
        }
        config_data_path(cfg, cfg->data.train[i], path, sizeof path);
        int rc = cifar_load(&t->train, path, limit, k, t->err, sizeof t->err);
        snprintf(role, sizeof role, "data.train[%d]", i);
        if (rc || (rc = data_ident_add(&t->data, role, path, t->err, sizeof t->err)))
            return rc;
    }
    config_data_path(cfg, cfg->data.test, path, sizeof path);
    int rc = cifar_load(&t->test, path, 0, k, t->err, sizeof t->err);
    if (rc || (rc = data_ident_add(&t->data, "data.test", path, t->err, sizeof t->err)))
        return rc;
    if (t->train.n < cfg->train.batch_size) {
        snprintf(t->err, sizeof t->err, "train.batch_size %d is more than the %ld training images",
                 cfg->train.batch_size, t->train.n);
        return EXIT_USAGE;
    }
    return 0;
}

/* Device copies of the data and the step's scalar blocks, uploaded once. */
static int upload_data(trainer *t)
{
    backend *be = t->be;
    const struct backend_ops *o = be->ops;
    const size_t ntr = (size_t)t->train.n, nte = (size_t)t->test.n;
    t->d_train_x = o->alloc(be, ntr * CIFAR_PIXELS, "training images");
    t->d_train_y = o->alloc(be, ntr, "training labels");
    t->d_test_x = o->alloc(be, nte * CIFAR_PIXELS, "test images");
    t->d_test_y = o->alloc(be, nte, "test labels");
    t->d_ts = o->alloc(be, sizeof(train_scalars), "training scalars");
    t->d_eval_ts = o->alloc(be, sizeof(train_scalars), "evaluation scalars");
    t->d_hist = o->alloc(be, (size_t)t->hist_len * sizeof(step_record), "step history");
    t->h_hist = calloc((size_t)t->hist_len, sizeof(step_record));
    if (!t->d_train_x || !t->d_train_y || !t->d_test_x || !t->d_test_y || !t->d_ts ||
        !t->d_eval_ts || !t->d_hist || !t->h_hist) {
        snprintf(t->err, sizeof t->err, "out of memory for the data on backend %s", o->name);
        return EXIT_RUNTIME;
    }
    o->upload(be, t->d_train_x, t->train.images, ntr * CIFAR_PIXELS);
    o->upload(be, t->d_train_y, t->train.labels, ntr);
    o->upload(be, t->d_test_x, t->test.images, nte * CIFAR_PIXELS);
    o->upload(be, t->d_test_y, t->test.labels, nte);
    return 0;
}

/* The checkpoint file's identity, to tell after taking the lock whether it was replaced. */
static int ckpt_identity(trainer *t, const char *path, int record)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    const long ns = (long)(st.st_mtim.tv_sec % 1000000) * 1000000000L + st.st_mtim.tv_nsec;
    if (!record)
        return t->ckpt_file.dev == st.st_dev && t->ckpt_file.ino == st.st_ino && t->ckpt_file.size == st.st_size &&
               t->ckpt_file.mtime_ns == ns ? 0 : -1;
    t->ckpt_file.dev = st.st_dev;
    t->ckpt_file.ino = st.st_ino;
    t->ckpt_file.size = st.st_size;
    t->ckpt_file.mtime_ns = ns;
    return 0;
}

/* Whether the folder's summary says the run finished; its final test error into *err_out (NAN when none). */
static int summary_finished(const char *dir, double *err_out)
{
    char path[FILEIO_PATH_MAX], err[256];
    json_flat j;
    *err_out = NAN;
    if (path_join(path, sizeof path, dir, RUN_SUMMARY_FILE) != 0 || json_flat_load(path, &j, err, sizeof err) != 0)
        return 0;
    const char *s = json_get(&j, "status");
    json_get_num(&j, "final_test_error", err_out);
    return s && !strcmp(s, "finished");
}

/* Reads and checks the checkpoint and the folder's record of the run's start. 0, NOTHING_TO_DO or an exit code. */
static int resume_from(trainer *t, long *start)
{
    const run_config *cfg = t->cfg;
    char path[FILEIO_PATH_MAX];
    ckpt_state got;
    path_join(path, sizeof path, cfg->output.dir, CKPT_FILE);
    if (ckpt_identity(t, path, 1) != 0 || checkpoint_load(path, &t->ck, t->m, &got, t->err, sizeof t->err) != 0)
        return EXIT_USAGE;
    /* The config first: the counters are judged against the schedule they ran under. */
    int rc = resume_check(cfg, &t->data, &t->resume, t->err, sizeof t->err);
    if (rc)
        return rc;
    if (checkpoint_check_state(path, &got, &cfg->schedule, t->err, sizeof t->err) != 0)
        return EXIT_USAGE;
    double final_err;
    if (got.step == cfg->train.steps && summary_finished(cfg->output.dir, &final_err)) {
        char e[48] = "";
        if (!isnan(final_err))
            snprintf(e, sizeof e, ", test error %.2f%%", 100.0 * final_err);
        progress_note(&t->pg, "train: %s already finished all %ld steps (%s/%s%s); nothing to do: raise "
                              "train.steps to train it longer", cfg->output.dir, cfg->train.steps, cfg->output.dir,
                      RUN_SUMMARY_FILE, e);
        return NOTHING_TO_DO;
    }
    t->ts.sched.step = got.step;
    t->ts.sched.warmup_end = got.warmup_end;
    t->ts.sched.train_error = got.train_error;
    t->ts.skipped = got.skipped;
    t->ts.above_count = got.above_count;
    *start = got.step;
    t->last_ckpt = got.step;
    return 0;
}

/* Decay shapes whose rate at a step depends on the run's length T. */
static int decay_uses_total(int shape)
{
    return shape == DECAY_COSINE || shape == DECAY_POLY || shape == DECAY_LINEAR || shape == DECAY_EXPONENTIAL;
}

/* Takes the folder (lock), then writes what a run records before its first step. */
static int claim_and_open(trainer *t, int resume, long start)
{
    const run_config *cfg = t->cfg;
    int rc = run_dir_claim(cfg, resume, &t->lock_fd, t->err, sizeof t->err);
    if (rc)
        return rc;
    char path[FILEIO_PATH_MAX];
    path_join(path, sizeof path, cfg->output.dir, CKPT_FILE);
    if (resume && ckpt_identity(t, path, 0) != 0) {
        snprintf(t->err, sizeof t->err, "%s changed while this run was starting (another process in %s?); "
                 "nothing was changed, try again", path, cfg->output.dir);
        return EXIT_USAGE;
    }
    /* Everything that can refuse the run has run: only now touch the folder. The resume
       log goes first: a change is never in config.yaml without its row. */
    if ((rc = run_dir_prepare(cfg, resume, t->err, sizeof t->err)) ||
        (resume && (rc = resume_log(cfg->output.dir, start, &t->resume, t->err, sizeof t->err))) ||
        (rc = run_write_config(cfg, t->err, sizeof t->err)) ||
        (rc = data_ident_write(cfg->output.dir, &t->data, t->err, sizeof t->err)) ||
        (rc = run_open_logs(cfg, resume, start, &t->metrics, &t->eval, &t->er, &t->prior, t->err, sizeof t->err)))
        return rc;
    if (resume)
        t->last_eval = t->er.n > 0 ? t->er.last_step : -1;
    if (resume && t->resume.n > 0) {
        char list[1024] = "";
        size_t used = 0;
        for (int i = 0; i < t->resume.n && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s %s -> %s", i ? ", " : "",
                                     t->resume.ch[i].key, t->resume.ch[i].old_text, t->resume.ch[i].new_text);
        progress_note(&t->pg, "train: resumed with %s (logged in %s/%s)", list, cfg->output.dir, RUN_RESUME_LOG);
    }
    if (resume && t->resume.steps_changed && decay_uses_total(cfg->schedule.decay_shape))
        progress_note(&t->pg, "train: warning: schedule.decay.shape %s depends on train.steps: steps 1..%ld ran "
                              "the schedule of %ld steps, the rest follow that of %ld (recorded in %s/%s)",
                      cfg->schedule.decay_shape == DECAY_COSINE ? "cosine" : "poly/linear/exponential", start,
                      t->resume.old_steps, cfg->train.steps, cfg->output.dir, RUN_RESUME_LOG);
    if (resume && t->resume.no_data_record)
        progress_note(&t->pg, "train: warning: %s had no %s (an older build's run): the data's content could not "
                              "be checked against the run's start; recorded it now", cfg->output.dir, RUN_DATA_FILE);
    return 0;
}

/* Builds the model, restores or initializes the state, and takes and opens the run folder. */
static int setup(trainer *t, int resume, long *start)
{
    const run_config *cfg = t->cfg;
    const int B = cfg->train.batch_size;
    t->m = model_create(t->be, cfg->model.depth, cfg->model.num_classes, B, cfg->train.seed, t->err,
                        sizeof t->err);
    if (!t->m)
        return EXIT_USAGE;
    t->spec.batch = B;
    t->spec.train = 1;
    t->spec.augment = cfg->data.augment;
    t->spec.shuffle = cfg->data.shuffle;
    t->spec.seed = cfg->train.seed;
    const float mean[3] = {CIFAR10_MEAN_R, CIFAR10_MEAN_G, CIFAR10_MEAN_B};
    const float sd[3] = {CIFAR10_STD_R, CIFAR10_STD_G, CIFAR10_STD_B};
    for (int c = 0; c < 3; c++) {
        t->spec.mean[c] = mean[c];
        t->spec.inv_std[c] = 1.0f / sd[c];
    }
    t->pol.skip_nonfinite = cfg->train.nonfinite == NONFINITE_SKIP;
    t->pol.loss_bound = (float)cfg->divergence.loss_bound;
    t->pol.loss_soft_bound = (float)cfg->divergence.loss_soft_bound;
    t->pol.soft_steps = cfg->divergence.soft_steps;
    t->d_stats_backup = t->be->ops->alloc(t->be, (size_t)t->m->L->n_stats * sizeof(float), "BN statistics copy");
    if (!t->d_stats_backup) {
        snprintf(t->err, sizeof t->err, "out of memory for the BN statistics copy on backend %s", t->be->ops->name);
        return EXIT_RUNTIME;
    }
    t->hyper.momentum = (float)cfg->optim.momentum;
    t->hyper.weight_decay = (float)cfg->optim.weight_decay;
    t->hyper.nesterov = cfg->optim.nesterov;

    t->ck.seed = cfg->train.seed;
    t->ck.depth = (uint32_t)cfg->model.depth;
    t->ck.num_classes = (uint32_t)cfg->model.num_classes;
    t->ck.batch_size = (uint32_t)B;
    t->ck.n_train = t->train.n;

    memset(&t->ts, 0, sizeof t->ts);
    sched_state_init(&cfg->schedule, &t->ts.sched);
    *start = 0;
    int rc = resume ? resume_from(t, start) : 0;
    if (rc)
        return rc;
    t->be->ops->upload(t->be, t->d_ts, &t->ts, sizeof t->ts);
    t->last_logged = *start;
    return claim_and_open(t, resume, *start);
}

/* The loop from step start+1 to T. Sets *status; returns an exit code. */
static int run_loop(trainer *t, long start, const char **status)
{
    const run_config *cfg = t->cfg;
    const long T = cfg->train.steps, log_every = cfg->train.log_every;
    const long eval_every = cfg->train.eval_every, ckpt_every = cfg->train.checkpoint_every;
    t->interval_t0 = trainer_now();
    *status = "finished";
    for (long s = start + 1; s <= T; s++) {
        /* The first step of this process runs uncaptured: cuDNN and the module loader
           finish their lazy set-up there, outside any graph; later steps replay one. */
        t->be->ops->run_step(t->be, train_step, t, cfg->train.cuda_graph && s > start + 1);
        t->interval_steps++;
        t->steps_here++;
        const int log_due = s % log_every == 0 || s == T;
        const int eval_due = eval_every > 0 && s % eval_every == 0;
        const int ckpt_due = ckpt_every > 0 && s % ckpt_every == 0;
        /* A signal stops the run after this step, cleanly (checkpoint, summary "stopped");
           but a run that has reached its last step finishes, whatever asked it to stop. */
        const int sig = stop_signal_received(), stop = s < T && (sig != 0 || s == t->stop_after);
        if (!(log_due || eval_due || ckpt_due || stop || s - t->last_logged >= t->hist_len)) {
            trainer_live_progress(t, s);
            continue;
        }
        int rc = trainer_flush(t, s);
        if (rc)
            return rc;
        if (t->ts.halted) {
            *status = "diverged";
            return EXIT_DIVERGED;
        }
        if (log_due)
            trainer_show_progress(t, s);
        if (eval_due && (rc = trainer_evaluate(t, s)))
            return rc;
        if ((ckpt_due || stop) && (rc = trainer_save_checkpoint(t, s)))
            return rc;
        if (stop) {
            *status = "stopped";
            if (!sig) {
                progress_note(&t->pg, "train: stopped after step %ld as asked; continue with --resume %s",
                              s, cfg->output.dir);
                return EXIT_OK;
            }
            progress_note(&t->pg, "train: stopped by signal %d after step %ld; continue with --resume %s",
                          sig, s, cfg->output.dir);
            return 128 + sig;
        }
        t->interval_t0 = trainer_now(); /* evaluation and checkpoint time is not training time */
    }
    int rc = 0;
    if (t->last_eval != T)
        rc = trainer_evaluate(t, T);
    if (!rc && t->last_ckpt != T)
        rc = trainer_save_checkpoint(t, T);
    return rc;
}

static void release(trainer *t)
{
    if (t->metrics)
        fclose(t->metrics);
    if (t->eval)
        fclose(t->eval);
    if (t->be) {
        const struct backend_ops *o = t->be->ops;
        o->forget_steps(t->be, t); /* the step graph is keyed by t and uses these buffers */
        void *bufs[] = {t->d_train_x, t->d_train_y, t->d_test_x, t->d_test_y, t->d_ts, t->d_eval_ts, t->d_hist,
                        t->d_stats_backup};
        for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
            if (bufs[i])
                o->free(t->be, bufs[i]);
        model_destroy(t->m);
        o->destroy(t->be);
    }
    free(t->h_hist);
    cifar_free(&t->train);
    cifar_free(&t->test);
    if (t->lock_fd >= 0)
        close(t->lock_fd); /* last: the folder is another process's to take only once all is written */
}

int trainer_run(const run_config *cfg, int resume, long stop_after)
{
    trainer *t = calloc(1, sizeof *t);
    if (!t) {
        fprintf(stderr, "train: out of memory\n");
        return EXIT_RUNTIME;
    }
    t->t_start = trainer_now();
    t->lock_fd = -1;
    file_size_limit_as_error();
    closed_output_as_error();
    t->cfg = cfg;
    t->stop_after = stop_after;
    t->last_eval = t->last_ckpt = -1;
    progress_init(&t->pg, stderr);
    long start = 0;
    const char *status = "finished";
    int rc = run_dir_check(cfg, resume, t->err, sizeof t->err);
    if (!rc)
        rc = load_data(t);
    if (!rc && !(t->be = open_backend(cfg, &t->pg, t->err, sizeof t->err)))
        rc = EXIT_USAGE;
    if (!rc) {
        /* One record per step between flushes; a flush comes at least every hist_len
           steps, so a huge log_every costs an extra flush now and then, not memory. */
        long h = cfg->train.log_every < cfg->train.steps ? cfg->train.log_every : cfg->train.steps;
        t->hist_len = (int)(h < 1 ? 1 : h > 65536 ? 65536 : h);
        rc = upload_data(t);
    }
    if (!rc)
        rc = setup(t, resume, &start);
    if (rc) {
        if (rc != NOTHING_TO_DO)
            fprintf(stderr, "train: %s\n", t->err);
        release(t);
        free(t);
        return rc == NOTHING_TO_DO ? EXIT_OK : rc;
    }
    char count[32], be_desc[64];
    fmt_count(count, sizeof count, t->m->L->n_params);
    const int on_cpu = !strcmp(t->be->ops->name, "cpu");
    if (on_cpu)
        snprintf(be_desc, sizeof be_desc, "cpu (%d thread%s, %s kernels)", backend_cpu_threads(t->be),
                 backend_cpu_threads(t->be) == 1 ? "" : "s", backend_cpu_kernels(t->be));
    else
        snprintf(be_desc, sizeof be_desc, "%s", t->be->ops->name);
    progress_note(&t->pg, "train: ResNet-%d, %s parameters, %d classes, backend %s; %ld training and %ld "
                          "test images; steps %ld..%ld%s of batch %d -> %s",
                  cfg->model.depth, count, cfg->model.num_classes, be_desc, t->train.n, t->test.n,
                  start + 1, cfg->train.steps, resume ? " (resumed)" : "", cfg->train.batch_size,
                  cfg->output.dir);

    stop_signals sigs;
    stop_signals_install(&sigs);
    rc = run_loop(t, start, &status);
    stop_signals_restore(&sigs);
    progress_end(&t->pg);
    if (rc && rc != EXIT_DIVERGED && rc < 128) {
        fprintf(stderr, "train: %s\n", t->err);
        release(t);
        free(t);
        return rc;
    }
    rc = trainer_finish(t, resume, start, status, rc);
    release(t);
    free(t);
    return rc;
}
