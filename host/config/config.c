/* config.c: loads a run config (file, then --set overrides, then defaults), resolves epochs to steps and checks keys against each other. */
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "data/cifar.h"
#include "config/config.h"
#include "config/config_schema.h"
#include "common/exitcodes.h"

/*
 * Keys that may be given one way or the other. A --set of one spelling replaces the other
 * when that came from the file, so `--set train.epochs=10` works on a config that has
 * `train.steps`; inside one file (or among the --sets) giving both is an error.
 */
static const struct {
    const char *steps, *epochs;
    int required;
} PAIRS[] = {
    {"train.steps", "train.epochs", 1},
    {"schedule.warmup.steps", "schedule.warmup.epochs", 0},
};
#define N_PAIRS ((int)(sizeof PAIRS / sizeof PAIRS[0]))

static int given(const cfg_ctx *c, const char *path)
{
    int k = cfg_find(path);
    return k >= 0 && (c->is_set[k] == SET_FILE || c->is_set[k] == SET_CLI);
}

/*
 * Reports an error about PRIMARY at its own position when the user gave it, else about
 * FALLBACK (the key that made PRIMARY matter), else with the file name alone.
 */
static int xerr(const cfg_ctx *c, const char *primary, const char *fallback, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int xerr(const cfg_ctx *c, const char *primary, const char *fallback, const char *fmt, ...)
{
    const char *path = primary;
    const cfg_loc *loc = NULL;
    if (given(c, primary))
        loc = &c->origin[cfg_find(primary)];
    else if (fallback && given(c, fallback)) {
        path = fallback;
        loc = &c->origin[cfg_find(fallback)];
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cfg_error(c, loc, path, "%s", msg);
    return EXIT_USAGE;
}

void config_data_path(const run_config *cfg, const char *name, char *out, size_t out_size)
{
    size_t n = strlen(cfg->data.dir);
    if (name[0] == '/' || n == 0)
        snprintf(out, out_size, "%s", name);
    else
        snprintf(out, out_size, "%s%s%s", cfg->data.dir, cfg->data.dir[n - 1] == '/' ? "" : "/", name);
}

/* Training records available to the run (data.limit_train applied), or -1 with the reason in err. */
static long train_records(const run_config *cfg, char *err, size_t err_size)
{
    long total = 0;
    for (int i = 0; i < cfg->data.n_train; i++) {
        char p[2 * CFG_MAX_PATH + 2];
        config_data_path(cfg, cfg->data.train[i], p, sizeof p);
        long n = cifar_count(p, err, err_size);
        if (n < 0)
            return -1;
        total += n;
    }
    if (cfg->data.limit_train > 0 && cfg->data.limit_train < total)
        total = cfg->data.limit_train;
    return total;
}

/*
 * ceil(epochs * n / batch), except that a product within rounding error of a whole number
 * counts as that number: 0.3 epochs of 1000 records at batch 100 is 3 steps, not 4.
 */
static long epochs_to_steps(double epochs, long n, int batch)
{
    double x = epochs * (double)n / (double)batch;
    double r = nearbyint(x);
    if (fabs(x - r) <= 1e-9 * (x > 1.0 ? x : 1.0))
        return (long)r;
    return (long)ceil(x);
}

/* runs/<file name without extension>, so each recipe writes to its own folder by default. */
static void default_output_dir(const char *source, char *out, size_t out_size)
{
    const char *base = strrchr(source, '/');
    base = base ? base + 1 : source;
    size_t len = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        len = (size_t)(dot - base);
    if (len == 0)
        snprintf(out, out_size, "runs/run");
    else
        snprintf(out, out_size, "runs/%.*s", (int)len, base);
}

/* Both spellings of one length given together: which one was meant is unknowable. */
static int check_both(cfg_ctx *c)
{
    for (int i = 0; i < N_PAIRS; i++) {
        if (given(c, PAIRS[i].steps) && given(c, PAIRS[i].epochs)) {
            const cfg_loc *a = &c->origin[cfg_find(PAIRS[i].steps)];
            if (a->set)
                return xerr(c, PAIRS[i].epochs, NULL, "give %s or %s, not both (%s comes from --set %.*s%s)",
                            PAIRS[i].steps, PAIRS[i].epochs, PAIRS[i].steps, CFG_SET_ARG(a->set));
            return xerr(c, PAIRS[i].epochs, NULL, "give %s or %s, not both (%s is at line %d)", PAIRS[i].steps,
                        PAIRS[i].epochs, PAIRS[i].steps, a->line);
        }
    }
    return 0;
}

/* A missing key is reported at the line of its section when the section exists. */
static int missing(const cfg_ctx *c, const char *path, const char *hint)
{
    char parent[128];
    snprintf(parent, sizeof parent, "%s", path);
    *strrchr(parent, '.') = '\0';
    for (int s = 0; s < c->n_sections; s++)
        if (!strcmp(c->section_path[s], parent)) {
            cfg_error(c, &c->section_loc[s], path, "required key is missing in '%s'%s", parent, hint);
            return EXIT_USAGE;
        }
    cfg_error(c, NULL, path, "required key is missing%s", hint);
    return EXIT_USAGE;
}

static int check_given(cfg_ctx *c)
{
    for (int k = 0; k < CFG_N_KEYS; k++)
        if ((CFG_KEYS[k].flags & CFG_REQUIRED) && !c->is_set[k])
            return missing(c, CFG_KEYS[k].path, "");
    int rc = check_both(c);
    if (rc)
        return rc;
    for (int i = 0; i < N_PAIRS; i++) {
        if (PAIRS[i].required && !given(c, PAIRS[i].steps) && !given(c, PAIRS[i].epochs)) {
            char hint[160];
            snprintf(hint, sizeof hint, " (give %s or %s)", PAIRS[i].steps, PAIRS[i].epochs);
            return missing(c, PAIRS[i].steps, hint);
        }
    }
    return 0;
}

/* Fills T, W, tau, output.dir and the schedule parameters that follow from other keys. */
static int resolve(cfg_ctx *c)
{
    run_config *cfg = c->cfg;
    sched_params *sp = &cfg->schedule;
    int need_n = given(c, "train.epochs") || given(c, "schedule.warmup.epochs");
    char err[CFG_MAX_PATH + 128];
    long n = train_records(cfg, err, sizeof err);
    if (need_n && n < 0) {
        const char *key = given(c, "train.epochs") ? "train.epochs" : "schedule.warmup.epochs";
        return xerr(c, key, NULL, "epochs need the training files' sizes: %s", err);
    }
    if (need_n && n == 0)
        return xerr(c, "train.epochs", "schedule.warmup.epochs", "epochs need training records, the files hold none");
    /* Keep step counts far from overflow in anything that multiplies them. */
    const double max_steps = 1e15;
    if (given(c, "train.epochs")) {
        double x = cfg->train.epochs * (double)n / cfg->train.batch_size;
        if (x > max_steps)
            return xerr(c, "train.epochs", NULL, "%g epochs are more than %g steps", cfg->train.epochs, max_steps);
        cfg->train.steps = epochs_to_steps(cfg->train.epochs, n, cfg->train.batch_size);
    }
    if (given(c, "schedule.warmup.epochs")) {
        double x = c->warmup_epochs * (double)n / cfg->train.batch_size;
        if (x > max_steps)
            return xerr(c, "schedule.warmup.epochs", NULL, "%g epochs are more than %g steps", c->warmup_epochs,
                        max_steps);
        sp->warmup_steps = epochs_to_steps(c->warmup_epochs, n, cfg->train.batch_size);
    }
    sp->total_steps = cfg->train.steps;

    if (!c->is_set[cfg_find("schedule.warmup.tau")])
        sp->warmup_tau = sp->warmup_steps > 0 ? (double)sp->warmup_steps : 1.0;
    if (!c->is_set[cfg_find("output.dir")])
        default_output_dir(c->file, cfg->output.dir, sizeof cfg->output.dir);

    /* Only a batch that fits the data can be drawn; checked when the files can be read. */
    if (n > 0 && cfg->train.batch_size > n)
        return xerr(c, "train.batch_size", "data.limit_train",
                    "expected at most the number of training records (%ld), got %d", n, cfg->train.batch_size);
    return 0;
}

/* The enum's name as the config spells it, from the schema table. */
static const char *shape_name(const char *path, int value)
{
    return CFG_KEYS[cfg_find(path)].names[value];
}

/* The schedule must make sense as a whole: these are the combinations the formulas cannot run. */
static int cross_check(cfg_ctx *c)
{
    const run_config *cfg = c->cfg;
    const sched_params *sp = &cfg->schedule;
    const long W = sp->warmup_steps, T = sp->total_steps;
    const char *wkey = given(c, "schedule.warmup.epochs") ? "schedule.warmup.epochs" : "schedule.warmup.steps";

    if (sp->warmup_shape == WARMUP_NONE && W > 0)
        return xerr(c, wkey, NULL,
                    "a warmup of %ld steps needs a warmup shape, but schedule.warmup.shape is none "
                    "(set the length to 0 or choose a shape)", W);
    if (sp->warmup_shape != WARMUP_NONE && W == 0)
        return xerr(c, wkey, "schedule.warmup.shape",
                    "a %s warmup needs a length > 0 (schedule.warmup.steps or schedule.warmup.epochs)",
                    shape_name("schedule.warmup.shape", sp->warmup_shape));
    if (W >= T)
        return xerr(c, wkey, "train.steps",
                    "the warmup (%ld steps) must end before the last step (train.steps is %ld)", W, T);
    if (sp->warmup_shape == WARMUP_CONSTANT && sp->start_lr == 0)
        return xerr(c, "schedule.warmup.start_lr", "schedule.warmup.shape",
                    "a constant warmup needs schedule.warmup.start_lr > 0 (a zero rate would not train)");
    if ((sp->warmup_shape == WARMUP_CONSTANT || sp->warmup_shape == WARMUP_LINEAR || sp->warmup_shape == WARMUP_LOG) &&
        sp->start_lr > sp->peak_lr)
        return xerr(c, "schedule.warmup.start_lr", "schedule.peak_lr",
                    "a warmup starts at or below the peak: start_lr %g is above schedule.peak_lr %g", sp->start_lr,
                    sp->peak_lr);
    if (sp->warmup_shape == WARMUP_LOG && W < 2)
        return xerr(c, wkey, "schedule.warmup.shape", "a log warmup needs a length >= 2 steps (ln(1) = 0), got %ld",
                    W);

    for (int i = 0; i < sp->n_milestones; i++) {
        if (i > 0 && sp->milestones[i] <= sp->milestones[i - 1])
            return xerr(c, "schedule.decay.milestones", NULL,
                        "milestones must be strictly increasing, but milestone %d (%ld) follows %ld", i + 1,
                        sp->milestones[i], sp->milestones[i - 1]);
        if (sp->milestones[i] > T)
            return xerr(c, "schedule.decay.milestones", "train.steps",
                        "milestone %d (%ld) is past the last step (train.steps is %ld)", i + 1, sp->milestones[i], T);
    }
    if (sp->decay_shape == DECAY_STEP && sp->n_milestones == 0)
        return xerr(c, "schedule.decay.milestones", "schedule.decay.shape",
                    "step decay needs at least one milestone, e.g. [32000, 48000]");
    if ((sp->decay_shape == DECAY_COSINE || sp->decay_shape == DECAY_POLY || sp->decay_shape == DECAY_LINEAR ||
         sp->decay_shape == DECAY_EXPONENTIAL) &&
        sp->end_lr > sp->peak_lr)
        return xerr(c, "schedule.decay.end_lr", "schedule.peak_lr",
                    "a %s decay ends at or below the peak: end_lr %g is above schedule.peak_lr %g",
                    shape_name("schedule.decay.shape", sp->decay_shape), sp->end_lr, sp->peak_lr);
    if (sp->decay_shape == DECAY_EXPONENTIAL && sp->end_lr <= 0)
        return xerr(c, "schedule.decay.end_lr", "schedule.decay.shape",
                    "exponential decay needs schedule.decay.end_lr > 0 (it decays geometrically to it)");
    return 0;
}

int config_load(const char *path, int n_sets, char *const sets[], run_config *cfg)
{
    cfg_ctx c;
    memset(cfg, 0, sizeof *cfg);
    memset(&c, 0, sizeof c);
    c.file = path;
    c.cfg = cfg;
    snprintf(cfg->source, sizeof cfg->source, "%s", path);

    int rc = cfg_read_file(&c, path);
    if (rc || (rc = check_both(&c)))
        return rc;
    for (int i = 0; i < n_sets; i++) {
        int k;
        if (cfg_apply_set(&c, sets[i], &k))
            return EXIT_USAGE;
        for (int p = 0; p < N_PAIRS; p++) {
            const char *other = !strcmp(CFG_KEYS[k].path, PAIRS[p].steps)    ? PAIRS[p].epochs
                                : !strcmp(CFG_KEYS[k].path, PAIRS[p].epochs) ? PAIRS[p].steps
                                                                             : NULL;
            int ko = other ? cfg_find(other) : -1;
            if (ko >= 0 && c.is_set[ko] == SET_FILE)
                c.is_set[ko] = 0;
        }
    }
    for (int k = 0; k < CFG_N_KEYS; k++) {
        if (c.is_set[k] || !CFG_KEYS[k].def)
            continue;
        cfg_loc none = {0, 0, NULL};
        if (cfg_assign_text(&c, k, CFG_KEYS[k].def, &none))
            return EXIT_USAGE;
        c.is_set[k] = SET_DEFAULT;
    }
    /* A spelling replaced by a --set must not leave its file value behind. */
    if (!given(&c, "train.epochs"))
        cfg->train.epochs = 0;
    if (!given(&c, "schedule.warmup.steps"))
        cfg->schedule.warmup_steps = 0;
    if ((rc = check_given(&c)) || (rc = resolve(&c)) || (rc = cross_check(&c)))
        return rc;
    return 0;
}

int config_load_quiet(const char *path, int n_sets, char *const sets[], run_config *cfg)
{
    fflush(stderr);
    const int saved = dup(2), nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved >= 0 && nul >= 0)
        dup2(nul, 2);
    const int rc = config_load(path, n_sets, sets, cfg);
    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
    if (nul >= 0)
        close(nul);
    return rc;
}
