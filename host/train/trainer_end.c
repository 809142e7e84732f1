/* trainer_end.c: how a training run ends: summary.json (status, divergence, test error, time over every piece of the run) and the closing line on stderr. */
#include "train/trainer_internal.h"
#include "common/exitcodes.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

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

int trainer_finish(trainer *t, int resume, long start, const char *status, int rc)
{
    const run_config *cfg = t->cfg;
    run_summary s;
    memset(&s, 0, sizeof s);
    char identity[65];
    config_identity(cfg, identity);
    s.config_sha256 = identity;
    s.status = status;
    s.steps_run = t->ts.halted ? t->ts.fail_step : t->ts.sched.step;
    s.total_steps = cfg->train.steps;
    s.resumed_from = resume ? start : -1;
    /* Every piece of a resumed run counts (metrics.csv carries the time up to the
       checkpoint it resumed from); a piece's time after its last checkpoint is not in
       the record, as its steps were run again. */
    const int with_prior = !resume || t->prior.known;
    const double train_s = t->train_s + (with_prior ? t->prior.train_s : 0.0);
    const long steps_timed = t->steps_here + (with_prior ? start : 0);
    s.wall_s = trainer_now() - t->t_start + (with_prior ? t->prior.wall_s : 0.0);
    s.images_per_s = train_s > 0 ? (double)steps_timed * cfg->train.batch_size / train_s : 0.0;
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
                s.fail_step, s.fail_lr, trainer_num9(ls, sizeof ls, s.fail_loss), s.reason, s.phase, cfg->output.dir,
                RUN_SUMMARY_FILE);
    }
    const int wrc = run_write_summary(cfg, &s, t->err, sizeof t->err);
    if (wrc) {
        fprintf(stderr, "train: %s\n", t->err);
        return wrc;
    }
    if (!rc && !strcmp(status, "finished")) {
        fprintf(stderr, "train: finished %ld steps in %.1f s (%.0f images/s)", s.steps_run, s.wall_s,
                s.images_per_s);
        if (s.eval.n > 0)
            fprintf(stderr, "; test error %.2f%% (best %.2f%% at step %ld)", 100.0 * s.eval.last_error,
                    100.0 * s.eval.best_error, s.eval.best_step);
        if (s.skipped > 0)
            fprintf(stderr, "; %ld steps skipped (non-finite)", s.skipped);
        fprintf(stderr, "\n");
    }
    return rc;
}
