/* trainer.c: the training loop: backend choice, data upload, the device-side step, periodic metrics, evaluation, checkpoints and the run's outcome. */
#include "train/trainer.h"
#include "backend/backend.h"
#include "train/checkpoint.h"
#include "data/cifar.h"
#include "common/exitcodes.h"
#include "common/fileio.h"
#include "model/model.h"
#include "common/progress.h"
#include "train/trainer_io.h"
#include "train/train_step.h"
#include "train/trainer_signals.h"
#include "batch.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct trainer {
    const run_config *cfg;
    backend *be;
    model *m;
    progress pg;
    cifar_set train, test;
    uint8_t *d_train_x, *d_train_y, *d_test_x, *d_test_y;
    train_scalars *d_ts, *d_eval_ts;
    step_record *d_hist, *h_hist;
    float *d_stats_backup;    /* BN running statistics as they were before this step */
    int hist_len;
    batch_spec spec;          /* training batches; evaluation derives its own */
    step_policy pol;
    sgd_hyper hyper;
    train_scalars ts;         /* host copy as of the last flush */
    ckpt_state ck;            /* the run's identity, written into checkpoints */
    FILE *metrics, *eval;
    eval_record er;
    long last_logged;         /* metrics.csv holds every step up to this one */
    long last_eval, last_ckpt;
    double interval_t0;       /* start of the current throughput interval */
    long interval_steps;
    double train_s;           /* time spent in training steps by this process */
    long steps_here;          /* steps this process ran */
    long stop_after;          /* stop (checkpoint, status "stopped") after this step; 0 = never */
    double last_ips;
    char err[2 * FILEIO_PATH_MAX];
} trainer;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* %.9g (round-trips a float), but NaN always as "nan": printf may write "-nan". */
static const char *num9(char *buf, size_t n, double x)
{
    if (isnan(x))
        snprintf(buf, n, "nan");
    else
        snprintf(buf, n, "%.9g", x);
    return buf;
}

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

static int load_data(trainer *t)
{
    const run_config *cfg = t->cfg;
    const int k = cfg->model.num_classes;
    char path[2 * CFG_MAX_PATH + 2];
    for (int i = 0; i < cfg->data.n_train; i++) {
        long limit = 0;
        if (cfg->data.limit_train > 0) {
            limit = cfg->data.limit_train - t->train.n;
            if (limit <= 0)
                break;
        }
        config_data_path(cfg, cfg->data.train[i], path, sizeof path);
        const int rc = cifar_load(&t->train, path, limit, k, t->err, sizeof t->err);
        if (rc)
            return rc;
    }
    config_data_path(cfg, cfg->data.test, path, sizeof path);
    const int rc = cifar_load(&t->test, path, 0, k, t->err, sizeof t->err);
    if (rc)
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

/* A failed append to metrics.csv or eval.csv (disk full...): exit 3 naming the file. */
static int log_write_failed(trainer *t, const char *name)
{
    const int e = errno ? errno : EIO;
    char path[FILEIO_PATH_MAX];
    path_join(path, sizeof path, t->cfg->output.dir, name);
    char ck[64] = "no checkpoint written yet";
    if (t->last_ckpt > 0)
        snprintf(ck, sizeof ck, "the checkpoint of step %ld is intact", t->last_ckpt);
    snprintf(t->err, sizeof t->err, "%s: write failed: %s (%s)", path, strerror(e), ck);
    return EXIT_RUNTIME;
}

/*
 * Brings the host up to date after step `step`: downloads the scalars and the history
 * ring and appends one metrics.csv row per step since the last flush (up to the halting
 * step when the run halted). The ring holds hist_len steps, so flushes come at least
 * that often.
 */
static int flush(trainer *t, long step)
{
    backend *be = t->be;
    const int B = t->m->batch;
    be->ops->sync(be);
    const double now = now_s(), dt = now - t->interval_t0;
    be->ops->download(be, &t->ts, t->d_ts, sizeof t->ts);
    be->ops->download(be, t->h_hist, t->d_hist, (size_t)t->hist_len * sizeof(step_record));
    t->train_s += dt;
    t->last_ips = dt > 0 ? (double)t->interval_steps * B / dt : 0.0;
    long end = step;
    if (t->ts.halted && t->ts.fail_step < end)
        end = t->ts.fail_step;
    for (long s = t->last_logged + 1; s <= end; s++) {
        const step_record *r = &t->h_hist[(s - 1) % t->hist_len];
        if (r->step != s) {
            snprintf(t->err, sizeof t->err, "internal error: the step history holds step %ld where "
                     "step %ld was expected", r->step, s);
            return EXIT_RUNTIME;
        }
        char lr[32], loss[32], err[32], gn[32];
        fprintf(t->metrics, "%ld,%.6f,%s,%s,%s,%s,%.1f\n", s, (double)s * B / (double)t->train.n,
                num9(lr, sizeof lr, r->lr), num9(loss, sizeof loss, r->loss),
                num9(err, sizeof err, 1.0 - (double)r->correct / B),
                num9(gn, sizeof gn, sqrt((double)r->grad_sq)), t->last_ips);
    }
    t->last_logged = end;
    if (fflush(t->metrics) != 0 || ferror(t->metrics))
        return log_write_failed(t, RUN_METRICS_FILE);
    t->interval_t0 = now;
    t->interval_steps = 0;
    return 0;
}

static void show_progress(trainer *t, long step)
{
    const run_config *cfg = t->cfg;
    if (t->last_logged < 1)
        return;
    const step_record *r = &t->h_hist[(t->last_logged - 1) % t->hist_len];
    const double steps_per_s = t->last_ips / cfg->train.batch_size;
    const double eta = steps_per_s > 0 ? (double)(cfg->train.steps - step) / steps_per_s : -1.0;
    progress_update(&t->pg, (double)step * cfg->train.batch_size / (double)t->train.n, step,
                    cfg->train.steps, r->loss, r->lr, t->last_ips, eta);
}

/*
 * Test loss and error with BN in inference mode, in batches of the training batch size.
 * A last partial batch of r rows builds only r images into a zeroed input, runs the full
 * fixed-size forward pass and scores the first r rows: in inference mode every row is
 * computed independently, so the padding rows change nothing, and the activation
 * buffers stay the ones allocated for training.
 */
static int evaluate(trainer *t, long step)
{
    backend *be = t->be;
    const struct backend_ops *o = be->ops;
    model *m = t->m;
    const int B = m->batch, K = m->L->num_classes;
    batch_spec spec = t->spec;
    spec.train = 0;
    spec.augment = 0;
    spec.shuffle = 0;
    double loss_sum = 0.0, correct = 0.0;
    const double t0 = now_s();
    for (long first = 0; first < t->test.n; first += B) {
        const int rows = t->test.n - first < B ? (int)(t->test.n - first) : B;
        spec.batch = rows;
        spec.first = first;
        if (rows < B)
            o->zero(be, m->x, (size_t)B * CIFAR_PIXELS * sizeof(float));
        o->make_batch(be, t->d_test_x, t->d_test_y, t->test.n, &spec, t->d_eval_ts, m->x, m->y);
        model_forward(m, 0);
        o->softmax_xent(be, rows, K, m->logits, m->y, m->dlogits, t->d_eval_ts);
        train_scalars es;
        o->sync(be);
        o->download(be, &es, t->d_eval_ts, sizeof es);
        loss_sum += (double)es.loss * rows;
        correct += es.correct;
    }
    const double loss = loss_sum / (double)t->test.n, error = 1.0 - correct / (double)t->test.n;
    char ls[32], es[32];
    fprintf(t->eval, "%ld,%s,%s\n", step, num9(ls, sizeof ls, loss), num9(es, sizeof es, error));
    if (fflush(t->eval) != 0 || ferror(t->eval))
        return log_write_failed(t, RUN_EVAL_FILE);
    eval_record_add(&t->er, step, loss, error);
    t->last_eval = step;
    char lbuf[32];
    if (isnan(loss))
        snprintf(lbuf, sizeof lbuf, "nan"); /* as in eval.csv; printf may say "-nan" */
    else
        snprintf(lbuf, sizeof lbuf, "%.4f", loss);
    progress_note(&t->pg, "step %ld: test loss %s, test error %.2f%% (%ld images, %.1f s)", step, lbuf,
                  100.0 * error, t->test.n, now_s() - t0);
    return 0;
}

static int save_checkpoint(trainer *t, long step)
{
    ckpt_state st = t->ck;
    st.step = t->ts.sched.step;
    st.warmup_end = t->ts.sched.warmup_end;
    st.train_error = t->ts.sched.train_error;
    st.skipped = t->ts.skipped;
    st.above_count = t->ts.above_count;
    if (st.step != step) {
        snprintf(t->err, sizeof t->err, "internal error: checkpoint at step %ld but the device counter "
                 "says %lld", step, (long long)st.step);
        return EXIT_RUNTIME;
    }
    /* The rows up to this step reach the disk before the checkpoint that a resume keeps
       them by: after a machine crash, the checkpoint never runs ahead of the logs. */
    if (file_sync(t->metrics) != 0)
        return log_write_failed(t, RUN_METRICS_FILE);
    if (file_sync(t->eval) != 0)
        return log_write_failed(t, RUN_EVAL_FILE);
    if (checkpoint_save(t->cfg->output.dir, &st, t->m, t->err, sizeof t->err) != 0)
        return EXIT_RUNTIME;
    t->last_ckpt = step;
    return 0;
}

/* Where in the schedule a failing step fell. */
static const char *fail_phase(const run_config *cfg, const train_scalars *ts)
{
    const sched_params *sp = &cfg->schedule;
    if (sp->warmup_shape != WARMUP_NONE && ts->fail_step <= ts->sched.warmup_end)
        return "warmup";
    if (fabs((double)ts->fail_lr - sp->peak_lr) <= 1e-6 * sp->peak_lr)
        return "peak";
    return "decay";
}

static const char *halt_reason(int halted)
{
    switch (halted) {
    case HALT_NONFINITE: return "nonfinite";
    case HALT_LOSS_BOUND: return "loss_bound";
    case HALT_LOSS_PLATEAU: return "loss_plateau";
    default: return "unknown";
    }
}

/* Builds the model, restores or initializes the state, and opens the run's files. */
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
    if (resume) {
        char path[FILEIO_PATH_MAX];
        ckpt_state got;
        path_join(path, sizeof path, cfg->output.dir, CKPT_FILE);
        if (checkpoint_load(path, &t->ck, t->m, &got, t->err, sizeof t->err) != 0)
            return EXIT_USAGE;
        if (got.step > cfg->train.steps) {
            snprintf(t->err, sizeof t->err, "%s: the checkpoint is at step %lld, past train.steps %ld",
                     path, (long long)got.step, cfg->train.steps);
            return EXIT_USAGE;
        }
        t->ts.sched.step = got.step;
        t->ts.sched.warmup_end = got.warmup_end;
        t->ts.sched.train_error = got.train_error;
        t->ts.skipped = got.skipped;
        t->ts.above_count = got.above_count;
        *start = got.step;
        t->last_ckpt = got.step;
    }
    t->be->ops->upload(t->be, t->d_ts, &t->ts, sizeof t->ts);
    t->last_logged = *start;
    /* Everything that can refuse the run has run: only now touch the folder. */
    int rc = run_dir_prepare(cfg, resume, t->err, sizeof t->err);
    if (!rc)
        rc = run_write_config(cfg, t->err, sizeof t->err);
    if (!rc)
        rc = run_open_logs(cfg, resume, *start, &t->metrics, &t->eval, &t->er, t->err, sizeof t->err);
    if (!rc && resume)
        t->last_eval = t->er.n > 0 ? t->er.last_step : -1;
    return rc;
}

/* The loop from step start+1 to T. Sets *status; returns an exit code. */
static int run_loop(trainer *t, long start, const char **status)
{
    const run_config *cfg = t->cfg;
    const long T = cfg->train.steps, log_every = cfg->train.log_every;
    const long eval_every = cfg->train.eval_every, ckpt_every = cfg->train.checkpoint_every;
    t->interval_t0 = now_s();
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
        /* A signal stops the run after this step, cleanly (checkpoint, summary "stopped"). */
        const int sig = stop_signal_received(), stop = sig != 0 || s == t->stop_after;
        if (!(log_due || eval_due || ckpt_due || stop || s - t->last_logged >= t->hist_len))
            continue;
        int rc = flush(t, s);
        if (rc)
            return rc;
        if (t->ts.halted) {
            *status = "diverged";
            return EXIT_DIVERGED;
        }
        if (log_due)
            show_progress(t, s);
        if (eval_due && (rc = evaluate(t, s)))
            return rc;
        if ((ckpt_due || stop) && (rc = save_checkpoint(t, s)))
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
        t->interval_t0 = now_s(); /* evaluation and checkpoint time is not training time */
    }
    int rc = 0;
    if (t->last_eval != T)
        rc = evaluate(t, T);
    if (!rc && t->last_ckpt != T)
        rc = save_checkpoint(t, T);
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
}

int trainer_run(const run_config *cfg, int resume, long stop_after)
{
    const double t_start = now_s();
    trainer *t = calloc(1, sizeof *t);
    if (!t) {
        fprintf(stderr, "train: out of memory\n");
        return EXIT_RUNTIME;
    }
    file_size_limit_as_error();
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
        fprintf(stderr, "train: %s\n", t->err);
        release(t);
        free(t);
        return rc;
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

    run_summary s;
    memset(&s, 0, sizeof s);
    s.status = status;
    s.steps_run = t->ts.halted ? t->ts.fail_step : t->ts.sched.step;
    s.total_steps = cfg->train.steps;
    s.resumed_from = resume ? start : -1;
    s.wall_s = now_s() - t_start;
    s.images_per_s = t->train_s > 0 ? (double)t->steps_here * cfg->train.batch_size / t->train_s : 0.0;
    s.backend = t->be->ops->name;
    /* The CPU reference is always plain fp32; say which mode a GPU run used. */
    s.math = strcmp(s.backend, "cpu") != 0 && cfg->train.tf32 ? "tf32" : "fp32";
    if (!strcmp(s.backend, "cpu")) {
        s.cpu_threads = backend_cpu_threads(t->be);
        s.cpu_kernels = backend_cpu_kernels(t->be);
    }
    s.depth = cfg->model.depth;
    s.num_classes = cfg->model.num_classes;
    s.batch_size = cfg->train.batch_size;
    s.parameters = t->m->L->n_params;
    s.seed = cfg->train.seed;
    s.nonfinite_policy = cfg->train.nonfinite == NONFINITE_SKIP ? "skip" : "stop";
    s.skipped = t->ts.skipped;
    s.eval = t->er;
    if (t->ts.halted) {
        s.reason = halt_reason(t->ts.halted);
        s.fail_step = t->ts.fail_step;
        s.fail_lr = t->ts.fail_lr;
        s.fail_loss = t->ts.fail_loss;
        s.fail_bits = t->ts.fail_bits;
        s.phase = fail_phase(cfg, &t->ts);
        char ls[32];
        fprintf(stderr, "train: diverged at step %ld (lr %.6g, loss %s, %s, during %s); see %s/%s\n",
                s.fail_step, s.fail_lr, num9(ls, sizeof ls, s.fail_loss), s.reason, s.phase, cfg->output.dir,
                RUN_SUMMARY_FILE);
    }
    const int wrc = run_write_summary(cfg, &s, t->err, sizeof t->err);
    if (wrc) {
        fprintf(stderr, "train: %s\n", t->err);
        rc = wrc;
    } else if (!rc && !strcmp(status, "finished")) {
        fprintf(stderr, "train: finished %ld steps in %.1f s (%.0f images/s)", s.steps_run, s.wall_s,
                s.images_per_s);
        if (s.eval.n > 0)
            fprintf(stderr, "; test error %.2f%% (best %.2f%% at step %ld)", 100.0 * s.eval.last_error,
                    100.0 * s.eval.best_error, s.eval.best_step);
        if (s.skipped > 0)
            fprintf(stderr, "; %ld steps skipped (non-finite)", s.skipped);
        fprintf(stderr, "\n");
    }
    release(t);
    free(t);
    return rc;
}
