/* trainer_log.c: what a training run records while it runs: metrics.csv rows at each flush, the progress line, evaluations into eval.csv and checkpoints. */
#include "train/trainer_internal.h"
#include "common/exitcodes.h"
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

double trainer_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *trainer_num9(char *buf, size_t n, double x)
{
    if (isnan(x))
        snprintf(buf, n, "nan");
    else
        snprintf(buf, n, "%.9g", x);
    return buf;
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
 * that often. The rows' train_s and wall_s (the run's time so far, every piece of a
 * resumed run included) share out the interval evenly over its steps: the host knows
 * only when the interval ended, not when each step in it did.
 */
int trainer_flush(trainer *t, long step)
{
    backend *be = t->be;
    const int B = t->m->batch;
    be->ops->sync(be);
    const double now = trainer_now(), dt = now - t->interval_t0, wall = now - t->t_start;
    be->ops->download(be, &t->ts, t->d_ts, sizeof t->ts);
    be->ops->download(be, t->h_hist, t->d_hist, (size_t)t->hist_len * sizeof(step_record));
    const double train_before = t->train_s, wall_before = t->logged_wall_s;
    t->train_s += dt;
    t->logged_wall_s = wall;
    t->last_ips = dt > 0 ? (double)t->interval_steps * B / dt : 0.0;
    long end = step;
    if (t->ts.halted && t->ts.fail_step < end)
        end = t->ts.fail_step;
    const long first = t->last_logged + 1, span = step - t->last_logged;
    for (long s = first; s <= end; s++) {
        const step_record *r = &t->h_hist[(s - 1) % t->hist_len];
        if (r->step != s) {
            snprintf(t->err, sizeof t->err, "internal error: the step history holds step %ld where "
                     "step %ld was expected", r->step, s);
            return EXIT_RUNTIME;
        }
        const double frac = span > 0 ? (double)(s - t->last_logged) / (double)span : 1.0;
        char lr[32], loss[32], err[32], gn[32];
        fprintf(t->metrics, "%ld,%.6f,%s,%s,%s,%s,%.1f,%.3f,%.3f\n", s, (double)s * B / (double)t->train.n,
                trainer_num9(lr, sizeof lr, r->lr), trainer_num9(loss, sizeof loss, r->loss),
                trainer_num9(err, sizeof err, 1.0 - (double)r->correct / B),
                trainer_num9(gn, sizeof gn, sqrt((double)r->grad_sq)), t->last_ips,
                t->prior.train_s + train_before + frac * dt, t->prior.wall_s + wall_before + frac * (wall - wall_before));
    }
    t->last_logged = end;
    if (fflush(t->metrics) != 0 || ferror(t->metrics))
        return log_write_failed(t, RUN_METRICS_FILE);
    t->interval_t0 = now;
    t->interval_steps = 0;
    return 0;
}

/* The line itself: the last flushed loss and rate (when there is one), the given speed. */
static void draw(trainer *t, long step, double ips)
{
    const run_config *cfg = t->cfg;
    const int have = t->last_logged >= 1;
    const step_record *r = have ? &t->h_hist[(t->last_logged - 1) % t->hist_len] : NULL;
    const double steps_per_s = ips / cfg->train.batch_size;
    const double eta = steps_per_s > 0 ? (double)(cfg->train.steps - step) / steps_per_s : -1.0;
    progress_update(&t->pg, (double)step * cfg->train.batch_size / (double)t->train.n, step, cfg->train.steps,
                    have, have ? r->loss : 0.0, have ? r->lr : 0.0, ips, eta);
    t->last_live = trainer_now();
}

void trainer_show_progress(trainer *t, long step)
{
    if (t->last_logged >= 1)
        draw(t, step, t->last_ips);
}

/*
 * Between flushes, on a terminal only: the step is the one this host launched last and
 * the speed counts launched steps since the interval began; loss and rate are those of
 * the last flush. Nothing is read from the device, so the GPU path keeps its one
 * asynchronous read every log_every steps (on the GPU the launched step may run ahead of
 * the device by the depth of its queue).
 */
void trainer_live_progress(trainer *t, long step)
{
    if (!t->pg.tty)
        return;
    const double now = trainer_now();
    if (now - t->last_live < 1.0)
        return;
    const double dt = now - t->interval_t0;
    const double ips = dt > 0 && t->interval_steps > 0 ? (double)t->interval_steps * t->m->batch / dt : t->last_ips;
    draw(t, step, ips);
}

/*
 * Test loss and error with BN in inference mode, in batches of the training batch size.
 * A last partial batch of r rows builds only r images into a zeroed input, runs the full
 * fixed-size forward pass and scores the first r rows: in inference mode every row is
 * computed independently, so the padding rows change nothing, and the activation
 * buffers stay the ones allocated for training.
 */
int trainer_evaluate(trainer *t, long step)
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
    const double t0 = trainer_now();
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
    fprintf(t->eval, "%ld,%s,%s\n", step, trainer_num9(ls, sizeof ls, loss), trainer_num9(es, sizeof es, error));
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
                  100.0 * error, t->test.n, trainer_now() - t0);
    return 0;
}

int trainer_save_checkpoint(trainer *t, long step)
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
