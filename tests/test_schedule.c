/* test_schedule.c: every warmup and decay shape of kernels/schedule.h at its boundaries, the seed formula, He's recipe and He's rule. */
#include <math.h>
#include <string.h>

#include "schedule.h"
#include "testlib.h"

/*
 * Tolerances. Expected values are written here independently, in double, from the
 * formulas in the issue and ../shared/docs/reference.md; the library computes in double
 * too, so the two differ only by the order of operations: a few ulp (~1e-15 relative).
 * RTOL = 1e-12 leaves a 1000x margin for that, yet is far below the smallest change an
 * off-by-one step would make at any point checked (the smallest, the last step of a
 * 900-step cosine, moves the rate by ~3e-4 relative).
 */
#define RTOL 1e-12

static const double PI = 3.14159265358979323846;

static sched_params base_params(int warmup, int decay)
{
    sched_params p;
    memset(&p, 0, sizeof p);
    p.warmup_shape = warmup;
    p.decay_shape = decay;
    p.warmup_steps = warmup == WARMUP_NONE ? 0 : 100;
    p.total_steps = 1000;
    p.peak_lr = 0.1;
    p.start_lr = 0.01;
    p.warmup_power = 4.0;
    p.warmup_tau = 100.0;
    p.end_lr = 0.001;
    p.gamma = 0.1;
    p.decay_power = 2.0;
    return p;
}

/*
 * The rate of step s through the state machine the trainer runs (init, then next_lr /
 * advance per step), fed a batch error of 1.0 so He's rule never fires. Checking both
 * this and sched_lr pins that the two entry points agree.
 */
static double lr_via_state(const sched_params *p, long s)
{
    sched_state st;
    sched_state_init(p, &st);
    for (long i = 1; i < s; i++)
        sched_state_advance(p, &st, 1.0);
    return sched_next_lr(p, &st);
}

static void check_step(const sched_params *p, long s, double want, const char *what)
{
    char buf[160];
    snprintf(buf, sizeof buf, "%s, step %ld (sched_lr)", what, s);
    CHECK_CLOSE(sched_lr(p, s, p->warmup_shape == WARMUP_NONE ? 0 : p->warmup_steps), want, RTOL, buf);
    snprintf(buf, sizeof buf, "%s, step %ld (state machine)", what, s);
    CHECK_CLOSE(lr_via_state(p, s), want, RTOL, buf);
}

/* ---- warmup shapes, each followed by a constant decay so only the warmup varies ---- */
static void test_warmup_shapes(void)
{
    const long W = 100, T = 1000;
    const long steps[] = {1, 2, W - 1, W, W + 1, T, T + 1, T + 100};
    const int n = (int)(sizeof steps / sizeof steps[0]);
    const double peak = 0.1, start = 0.01;

    sched_params p = base_params(WARMUP_NONE, DECAY_CONSTANT);
    for (int i = 0; i < n; i++)
        check_step(&p, steps[i], peak, "no warmup");

    p = base_params(WARMUP_CONSTANT, DECAY_CONSTANT);
    for (int i = 0; i < n; i++)
        check_step(&p, steps[i], steps[i] <= W ? start : peak, "constant warmup");

    p = base_params(WARMUP_LINEAR, DECAY_CONSTANT);
    for (int i = 0; i < n; i++) {
        const double s = (double)steps[i];
        /* lr = start + (peak - start) * s / W: step W runs at the peak */
        check_step(&p, steps[i], steps[i] <= W ? start + (peak - start) * s / W : peak, "linear warmup");
    }
    /* spelled out: step 1 = 0.01 + 0.09/100, step 99 = 0.01 + 0.09*0.99 */
    CHECK_CLOSE(sched_lr(&p, 1, W), 0.0109, RTOL, "linear warmup step 1 literal");
    CHECK_CLOSE(sched_lr(&p, 99, W), 0.0991, RTOL, "linear warmup step 99 literal");
    CHECK_CLOSE(sched_lr(&p, 100, W), 0.1, RTOL, "linear warmup step W literal");

    p = base_params(WARMUP_POWER, DECAY_CONSTANT);
    for (int i = 0; i < n; i++) {
        const double s = (double)steps[i];
        const double r = s / W;
        check_step(&p, steps[i], steps[i] <= W ? peak * r * r * r * r : peak, "power warmup p=4");
    }
    CHECK_CLOSE(sched_lr(&p, 50, W), 0.1 / 16, RTOL, "power warmup halfway = peak/16");

    p = base_params(WARMUP_EXPONENTIAL, DECAY_CONSTANT);
    for (int i = 0; i < n; i++) {
        const double s = (double)steps[i];
        check_step(&p, steps[i], steps[i] <= W ? peak * (1.0 - exp(-s / 100.0)) : peak, "exponential warmup");
    }
    p.warmup_tau = 25.0;
    CHECK_CLOSE(sched_lr(&p, 50, W), 0.1 * (1.0 - exp(-2.0)), RTOL, "exponential warmup tau=25 at 2 tau");
    CHECK_CLOSE(sched_lr(&p, 100, W), 0.1 * (1.0 - exp(-4.0)), RTOL, "exponential warmup tau=25 at W");

    p = base_params(WARMUP_LOG, DECAY_CONSTANT);
    for (int i = 0; i < n; i++) {
        const double s = (double)steps[i];
        check_step(&p, steps[i], steps[i] <= W ? start + (peak - start) * log(s) / log(100.0) : peak, "log warmup");
    }
    CHECK_CLOSE(sched_lr(&p, 1, W), 0.01, RTOL, "log warmup step 1 = start (ln 1 = 0)");
    CHECK_CLOSE(sched_lr(&p, 10, W), 0.01 + 0.09 * 0.5, RTOL, "log warmup step 10 of 100 = halfway");
}

/* ---- decay shapes after a linear warmup of W = 100 steps, T = 1000 ---- */
static void test_decay_shapes(void)
{
    const long W = 100, T = 1000;
    const double peak = 0.1, end = 0.001, start = 0.01;
    const long steps[] = {1, W - 1, W, W + 1, 300, 550, T - 1, T, T + 1, T + 100};
    const int n = (int)(sizeof steps / sizeof steps[0]);
    const int shapes[] = {DECAY_CONSTANT, DECAY_COSINE, DECAY_POLY, DECAY_LINEAR, DECAY_EXPONENTIAL};
    const char *names[] = {"constant decay", "cosine decay", "poly decay p=2", "linear decay", "exponential decay"};
    for (int k = 0; k < 5; k++) {
        sched_params p = base_params(WARMUP_LINEAR, shapes[k]);
        for (int i = 0; i < n; i++) {
            const long s = steps[i];
            double want;
            if (s <= W) {
                want = start + (peak - start) * (double)s / W;
            } else {
                /* progress from the end of warmup, held at 1 past T */
                double u = (double)(s - W) / (double)(T - W);
                if (u > 1)
                    u = 1;
                switch (shapes[k]) {
                case DECAY_COSINE: want = end + 0.5 * (peak - end) * (1 + cos(u * PI)); break;
                case DECAY_POLY: want = end + (peak - end) * (1 - u) * (1 - u); break;
                case DECAY_LINEAR: want = end + (peak - end) * (1 - u); break;
                case DECAY_EXPONENTIAL: want = peak * exp(u * log(end / peak)); break;
                default: want = peak; break;
                }
            }
            check_step(&p, s, want, names[k]);
        }
        /* every shape but constant reaches end_lr at T and holds it after */
        if (shapes[k] != DECAY_CONSTANT) {
            CHECK_CLOSE(sched_lr(&p, T, W), end, RTOL, names[k]);
            CHECK_CLOSE(sched_lr(&p, T + 100, W), end, RTOL, names[k]);
        }
        /* just after warmup every shape is still within one step of the peak */
        CHECK(sched_lr(&p, W + 1, W) <= peak && sched_lr(&p, W + 1, W) > 0.99 * peak, "%s at W+1", names[k]);
    }
    /* halfway through the cosine (step 550 = W + 450 of 900) is the midpoint of peak and end */
    sched_params c = base_params(WARMUP_LINEAR, DECAY_COSINE);
    CHECK_CLOSE(sched_lr(&c, 550, W), 0.5 * (0.1 + 0.001), RTOL, "cosine midpoint");
    /* halfway through the exponential decay is the geometric mean of peak and end */
    sched_params e = base_params(WARMUP_LINEAR, DECAY_EXPONENTIAL);
    CHECK_CLOSE(sched_lr(&e, 550, W), sqrt(0.1 * 0.001), RTOL, "exponential decay midpoint");

    /* cosine without warmup counts from step 0: step 1 is one step into the decay */
    sched_params nw = base_params(WARMUP_NONE, DECAY_COSINE);
    check_step(&nw, 1, end + 0.5 * (peak - end) * (1 + cos(1.0 / 1000.0 * PI)), "cosine, no warmup");
    check_step(&nw, T, end, "cosine, no warmup");
    check_step(&nw, T + 1, end, "cosine, no warmup");
}

/* ---- step decay: milestones are absolute; the rate after milestone m applies from m+1 ---- */
static void test_step_decay(void)
{
    sched_params p = base_params(WARMUP_LINEAR, DECAY_STEP);
    p.n_milestones = 2;
    p.milestones[0] = 400;
    p.milestones[1] = 700;
    const double peak = 0.1;
    check_step(&p, 100, peak, "step decay at W");
    check_step(&p, 101, peak, "step decay at W+1");
    check_step(&p, 400, peak, "step decay at milestone 1");
    check_step(&p, 401, peak * 0.1, "step decay after milestone 1");
    check_step(&p, 700, peak * 0.1, "step decay at milestone 2");
    check_step(&p, 701, peak * 0.1 * 0.1, "step decay after milestone 2");
    check_step(&p, 1000, peak * 0.1 * 0.1, "step decay at T");
    check_step(&p, 1001, peak * 0.1 * 0.1, "step decay past T");
    check_step(&p, 1100, peak * 0.1 * 0.1, "step decay T+100");
    /* gamma other than 0.1 */
    p.gamma = 0.2;
    check_step(&p, 701, peak * 0.2 * 0.2, "step decay gamma 0.2 after milestone 2");
}

/* ---- the seed formula, transcribed from the TensorFlow YOLOv3 trainer (global_step from 1) ---- */
static double seed_lr(double global_step, double warmup_steps, double train_steps, double lr_init, double lr_end)
{
    if (global_step < warmup_steps)
        return global_step / warmup_steps * lr_init;
    return lr_end + 0.5 * (lr_init - lr_end) *
                        (1 + cos((global_step - warmup_steps) / (train_steps - warmup_steps) * PI));
}

static void test_seed_formula(void)
{
    /* The seed's own defaults: lr_init 1e-3, lr_end 1e-6. */
    const long W = 2000, T = 64000;
    const double lr_init = 1e-3, lr_end = 1e-6;
    sched_params p = base_params(WARMUP_LINEAR, DECAY_COSINE);
    p.warmup_steps = W;
    p.total_steps = T;
    p.peak_lr = lr_init;
    p.start_lr = 0.0;
    p.end_lr = lr_end;
    sched_state st;
    sched_state_init(&p, &st);
    int bad = 0;
    for (long s = 1; s <= T; s++) {
        const double want = seed_lr((double)s, (double)W, (double)T, lr_init, lr_end);
        const double got = sched_next_lr(&p, &st);
        /* Same tolerance reasoning as RTOL: both double, order of operations only. */
        if (!(fabs(got - want) <= RTOL * fabs(want))) {
            if (bad++ < 5)
                CHECK(0, "seed formula step %ld: got %.17g want %.17g", s, got, want);
        }
        sched_state_advance(&p, &st, 1.0);
    }
    CHECK(bad == 0, "seed formula: %d of %ld steps differ beyond %g relative", bad, T, RTOL);
    /* Past T the seed's cosine would climb back toward lr_init; ours holds lr_end. */
    CHECK_CLOSE(sched_lr(&p, T + 1, W), lr_end, RTOL, "seed schedule past T holds lr_end");
    CHECK_CLOSE(sched_lr(&p, T + 100, W), lr_end, RTOL, "seed schedule T+100 holds lr_end");
    CHECK(seed_lr(T + 100, W, T, lr_init, lr_end) > lr_end, "transcription sanity: the seed's cosine climbs past T");
}

static sched_params he_params(void)
{
    sched_params p = base_params(WARMUP_CONSTANT, DECAY_STEP);
    p.warmup_steps = 400;
    p.total_steps = 64000;
    p.start_lr = 0.01;
    p.peak_lr = 0.1;
    p.until_train_error = 0.8;
    p.gamma = 0.1;
    p.n_milestones = 2;
    p.milestones[0] = 32000;
    p.milestones[1] = 48000;
    return p;
}

/* ---- He et al.'s ResNet-110 recipe, every step, with the error rule never met ---- */
static void test_he_recipe(void)
{
    sched_params p = he_params();
    sched_state st;
    sched_state_init(&p, &st);
    int bad = 0;
    for (long s = 1; s <= 64100; s++) {
        const double want = s <= 400 ? 0.01 : s <= 32000 ? 0.1 : s <= 48000 ? 0.01 : 0.001;
        const double got = sched_next_lr(&p, &st);
        /* 0.1 * 0.1 * 0.1 in double is 1 ulp off 0.001: RTOL covers it. */
        if (!(fabs(got - want) <= RTOL * want) && bad++ < 5)
            CHECK(0, "He recipe step %ld: got %.17g want %.17g", s, got, want);
        sched_state_advance(&p, &st, 1.0);
    }
    CHECK(bad == 0, "He recipe: %d steps wrong", bad);
    CHECK(st.warmup_end == 400, "error 1.0 throughout: warmup ends at W, got %ld", st.warmup_end);
    const long probes[] = {1, 399, 400, 401, 32000, 32001, 48000, 48001, 64000, 64001, 64100};
    const double want[] = {0.01, 0.01, 0.01, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001, 0.001, 0.001};
    for (int i = 0; i < 11; i++)
        check_step(&p, probes[i], want[i], "He recipe");
}

/* Runs He's recipe feeding err_before for steps 1..switch_step and err_after after; returns
   the first step whose rate is the peak (0 if none within `steps`). */
static long he_first_peak_step(const sched_params *p, long switch_step, double err_before, double err_after,
                               long steps, sched_state *out)
{
    sched_state st;
    sched_state_init(p, &st);
    long first = 0;
    int bad = 0;
    for (long s = 1; s <= steps; s++) {
        const double lr = sched_next_lr(p, &st);
        if (!first && lr == p->peak_lr)
            first = s;
        /* Before the first milestone the rate is exactly start_lr, then exactly peak_lr. */
        if (s <= 32000 && lr != (first ? p->peak_lr : p->start_lr) && bad++ < 3)
            CHECK(0, "He rule step %ld: rate %.17g not 0.01 then 0.1", s, lr);
        sched_state_advance(p, &st, s <= switch_step ? err_before : err_after);
    }
    *out = st;
    return first;
}

/* ---- He's rule: warmup ends at the first step after the running error falls below 0.8 ---- */
static void test_he_rule(void)
{
    sched_params p = he_params();
    sched_state st;

    /*
     * Errors 0.9 for steps 1..50, then 0.6. The EMA (a = 0.1, the first batch sets it) is
     * 0.9 through step 50, then after step 50 + k it is 0.6 + 0.3 * 0.9^k:
     *   k=1 0.87, k=2 0.843, k=3 0.8187, k=4 0.79683 < 0.8.
     * So the rule fires after step 54 and step 55 is the first at 0.1. The margins
     * (0.0187 above, 0.0032 below) dwarf any rounding of the EMA.
     */
    long first = he_first_peak_step(&p, 50, 0.9, 0.6, 400, &st);
    CHECK(first == 55, "He rule: first step at 0.1 should be 55, got %ld", first);
    CHECK(st.warmup_end == 54, "He rule: warmup_end should be 54, got %ld", st.warmup_end);

    /* EMA after exactly 54 steps, checked against the hand value above. */
    sched_state s2;
    sched_state_init(&p, &s2);
    for (long s = 1; s <= 54; s++)
        sched_state_advance(&p, &s2, s <= 50 ? 0.9 : 0.6);
    /* 1e-12: a few dozen EMA updates accumulate at most ~1e-15 of rounding. */
    CHECK_CLOSE(s2.train_error, 0.6 + 0.3 * 0.6561, 1e-12, "EMA after step 54");
    CHECK(s2.warmup_end == 54, "warmup_end after step 54: %ld", s2.warmup_end);
    sched_state_init(&p, &s2);
    for (long s = 1; s <= 53; s++)
        sched_state_advance(&p, &s2, s <= 50 ? 0.9 : 0.6);
    CHECK_CLOSE(s2.train_error, 0.6 + 0.3 * 0.729, 1e-12, "EMA after step 53");
    CHECK(s2.warmup_end == 400, "rule must not fire at EMA 0.8187 (step 53): %ld", s2.warmup_end);
    CHECK_CLOSE(sched_next_lr(&p, &s2), 0.01, RTOL, "step 54 still warms up");

    /* The first batch sets the EMA: an error of 0.5 on step 1 ends warmup at once. */
    first = he_first_peak_step(&p, 0, 0.5, 0.5, 10, &st);
    CHECK(first == 2, "He rule, low first error: first step at 0.1 should be 2, got %ld", first);

    /* Errors 1.0 then 0.0 from step 101: EMA 0.9, 0.81, 0.729 after steps 101..103. */
    first = he_first_peak_step(&p, 100, 1.0, 0.0, 400, &st);
    CHECK(first == 104, "He rule, 1.0 then 0.0 from 101: expected 104, got %ld", first);

    /* Never after W: errors stay 1.0 through step 400, then 0.0. Warmup already ended at
       W, so the rule must not move warmup_end, and the milestones are untouched. */
    first = he_first_peak_step(&p, 400, 1.0, 0.0, 33000, &st);
    CHECK(first == 401, "He rule never met: first step at 0.1 should be 401, got %ld", first);
    CHECK(st.warmup_end == 400, "rule fired after W: warmup_end %ld", st.warmup_end);
    CHECK_CLOSE(sched_next_lr(&p, &st), 0.01, RTOL, "step 33001 after milestone 32000");

    /* until_train_error = 0 means never met, even at zero error. */
    p.until_train_error = 0.0;
    first = he_first_peak_step(&p, 0, 0.0, 0.0, 500, &st);
    CHECK(first == 401, "until_train_error 0: warmup must run to W, first peak %ld", first);

    /* After an early end a cosine decay counts from the effective warmup end (54). */
    p = he_params();
    p.decay_shape = DECAY_COSINE;
    p.end_lr = 0.0;
    sched_state_init(&p, &s2);
    for (long s = 1; s <= 54; s++)
        sched_state_advance(&p, &s2, s <= 50 ? 0.9 : 0.6);
    CHECK_CLOSE(sched_next_lr(&p, &s2), 0.5 * 0.1 * (1 + cos(PI * 1.0 / (64000 - 54))), RTOL,
                "cosine after an early warmup end, step 55");
}

int main(void)
{
    test_warmup_shapes();
    test_decay_shapes();
    test_step_decay();
    test_seed_formula();
    test_he_recipe();
    test_he_rule();
    return test_summary("test_schedule");
}
