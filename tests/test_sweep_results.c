/* test_sweep_results.c: summary.json reading, spike and stall counting, and the cell and stable-rate tables, on hand-made run folders. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/json_min.h"
#include "sweep/sweep.h"
#include "testlib.h"

static char dir[] = "/tmp/test_sweep_results.XXXXXX";

static void put(const char *rel, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdir(path, 0777);
    *slash = '/';
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* The trainer's own summary shape: nested divergence object, nulls, an array. */
static const char *TRAINER_DIVERGED =
    "{\n  \"status\": \"diverged\",\n  \"steps_run\": 21,\n  \"final_test_error\": null,\n"
    "  \"wall_time_s\": 4.5,\n  \"divergence\": {\n    \"reason\": \"nonfinite\",\n    \"step\": 21,\n"
    "    \"lr\": 206.1,\n    \"loss\": \"nan\",\n    \"nonfinite\": [\"loss\", \"gradient\"],\n"
    "    \"phase\": \"decay\"\n  }\n}\n";

static void test_json(void)
{
    json_flat j;
    char err[256];
    double v;
    CHECK(json_flat_parse(TRAINER_DIVERGED, &j, err, sizeof err) == 0, "parse: %s", err);
    CHECK(!strcmp(json_get(&j, "status"), "diverged"), "status");
    CHECK(json_get(&j, "final_test_error") == NULL, "null reads as absent");
    CHECK(json_get_num(&j, "divergence.step", &v) && v == 21, "nested number");
    CHECK(!strcmp(json_get(&j, "divergence.nonfinite"), "loss,gradient"), "array joined: %s",
          json_get(&j, "divergence.nonfinite"));
    CHECK(json_get_num(&j, "divergence.loss", &v) && isnan(v), "\"nan\" reads as a number");
    CHECK(json_flat_parse("{\"a\": \"x\\\"y\\u00e9\", \"b\": -1.5e-3, \"c\": true, \"d\": {}}", &j, err,
                          sizeof err) == 0, "escapes: %s", err);
    CHECK(!strcmp(json_get(&j, "a"), "x\"y\xc3\xa9"), "unescaped: %s", json_get(&j, "a"));
    CHECK(json_get_num(&j, "b", &v) && v == -1.5e-3 && !strcmp(json_get(&j, "c"), "true"), "bare values");
    CHECK(json_flat_parse("{\"a\": 1", &j, err, sizeof err) != 0, "truncated object must fail");
    CHECK(json_flat_parse("{\"a\": 1} x", &j, err, sizeof err) != 0, "trailing text must fail");
    CHECK(json_flat_parse("", &j, err, sizeof err) != 0, "empty text must fail");
}

/* metrics.csv with given losses (train_error given separately) */
static void metrics(const char *rel, const double *loss, const double *terr, int n)
{
    char *text = malloc(100000);
    size_t used = (size_t)sprintf(text, "step,epoch,lr,loss,train_error,grad_norm,images_per_s\n");
    for (int i = 0; i < n; i++)
        used += (size_t)sprintf(text + used, "%d,0.1,0.1,%.9g,%g,1,100\n", i + 1, loss[i], terr[i]);
    put(rel, text);
    free(text);
}

static void test_spikes(void)
{
    sw_criteria c = SW_DEFAULT_CRITERIA;
    c.spike_window = 10;
    c.stall_steps = 30;
    c.stall_error = 0.9;
    double loss[60], terr[60];
    int spikes, unrec, stalled;
    /* Flat loss 1.0 with: a 3-step spike to 5 at steps 20-22 (recovers), a value of exactly 2.0
       (not above 2 x median: no spike), then an open spike from step 55 to the end. */
    for (int i = 0; i < 60; i++) {
        loss[i] = 1.0;
        terr[i] = i < 20 ? 0.95 : 0.5;
    }
    loss[19] = loss[20] = loss[21] = 5.0;
    loss[30] = 2.0;
    for (int i = 54; i < 60; i++)
        loss[i] = 9.0;
    metrics("m1/metrics.csv", loss, terr, 60);
    char path[600];
    snprintf(path, sizeof path, "%s/m1/metrics.csv", dir);
    CHECK(sweep_analyze_metrics(path, &c, &spikes, &unrec, &stalled) == 0, "analyze m1");
    CHECK(spikes == 1 && unrec == 1, "m1: spikes %d (want 1), unrecovered %d (want 1)", spikes, unrec);
    /* Mean train error of steps 1..30 = (19*0.95 + 11*0.5)/30 = 0.785 < 0.9: not stalled. */
    CHECK(stalled == 0, "m1 stalled %d, want 0", stalled);
    /* A spike in the first 10 steps is not judged (no window yet); stalled when error stays 0.95. */
    for (int i = 0; i < 40; i++)
        loss[i] = 2.3, terr[i] = 0.95;
    loss[3] = 50;
    loss[25] = NAN; /* a non-finite loss is above any threshold... */
    metrics("m2/metrics.csv", loss, terr, 40);
    snprintf(path, sizeof path, "%s/m2/metrics.csv", dir);
    CHECK(sweep_analyze_metrics(path, &c, &spikes, &unrec, &stalled) == 0, "analyze m2");
    CHECK(spikes == 1 && unrec == 0, "m2: spikes %d (want 1: the NaN step, recovered), unrecovered %d", spikes, unrec);
    CHECK(stalled == 1, "m2 stalled %d, want 1", stalled);
    /* A run shorter than stall_steps: no verdict. */
    metrics("m3/metrics.csv", loss, terr, 20);
    snprintf(path, sizeof path, "%s/m3/metrics.csv", dir);
    sweep_analyze_metrics(path, &c, &spikes, &unrec, &stalled);
    CHECK(stalled == -1, "m3 stalled %d, want -1 (ended before stall_steps)", stalled);
}

static const char *FIN = "{\"status\": \"finished\", \"steps_run\": 40, \"final_test_error\": %g, "
                         "\"best_test_error\": %g, \"wall_time_s\": 2.0, \"divergence\": null}";
static const char *DIV = "{\"status\": \"diverged\", \"fail_criterion\": \"loss_bound\", \"fail_step\": %d, "
                         "\"fail_lr\": 6.4, \"fail_phase\": \"warmup\", \"steps\": %d}";

static void test_tables(void)
{
    /* 2 variants x 2 rates x 3 seeds. he at 6.4: 2 of 3 diverged, one missing run at none 0.1. */
    put("sw/plan.csv", "run,cell,variant,schedule.peak_lr,seed,peak_lr\n"
                       "none_0.1_s0,none_0.1,none,0.1,0,0.1\nnone_0.1_s1,none_0.1,none,0.1,1,0.1\n"
                       "none_0.1_s2,none_0.1,none,0.1,2,0.1\n"
                       "none_6.4_s0,none_6.4,none,6.4,0,6.4\nnone_6.4_s1,none_6.4,none,6.4,1,6.4\n"
                       "none_6.4_s2,none_6.4,none,6.4,2,6.4\n"
                       "he_0.1_s0,he_0.1,he,0.1,0,0.1\nhe_0.1_s1,he_0.1,he,0.1,1,0.1\nhe_0.1_s2,he_0.1,he,0.1,2,0.1\n"
                       "he_6.4_s0,he_6.4,he,6.4,0,6.4\nhe_6.4_s1,he_6.4,he,6.4,1,6.4\nhe_6.4_s2,he_6.4,he,6.4,2,6.4\n");
    char text[400];
    const double errs[] = {0.10, 0.12, 0.14};
    for (int s = 0; s < 2; s++) { /* none 0.1: seeds 0, 1 finished; seed 2 never ran */
        char rel[64];
        snprintf(text, sizeof text, FIN, errs[s], errs[s]);
        snprintf(rel, sizeof rel, "sw/none_0.1_s%d/summary.json", s);
        put(rel, text);
    }
    for (int s = 0; s < 3; s++) {
        char rel[64];
        snprintf(text, sizeof text, DIV, 10 * (s + 1), 10 * (s + 1));
        snprintf(rel, sizeof rel, "sw/none_6.4_s%d/summary.json", s);
        put(rel, text);
        snprintf(text, sizeof text, FIN, errs[s], errs[s]);
        snprintf(rel, sizeof rel, "sw/he_0.1_s%d/summary.json", s);
        put(rel, text);
        if (s < 2)
            snprintf(text, sizeof text, DIV, 100 + 100 * s, 100 + 100 * s);
        else
            snprintf(text, sizeof text, FIN, 0.3, 0.25);
        snprintf(rel, sizeof rel, "sw/he_6.4_s%d/summary.json", s);
        put(rel, text);
    }
    put("sw/none_0.1_s2/summary.json", "{\"status\": \"stopped\"}"); /* not complete: counts apart */
    char sw[600];
    snprintf(sw, sizeof sw, "%s/sw", dir);
    sweep_table t;
    CHECK(sweep_table_load(sw, &t) == 0 && t.n == 12 && t.n_keys == 1, "table load: %d rows", t.n);
    sw_cellstat *cs;
    int nc = sweep_cells(&t, &cs);
    CHECK(nc == 4, "cells %d, want 4", nc);
    CHECK(cs[0].runs == 2 && cs[0].failures == 0 && cs[0].incomplete == 1, "none 0.1: 2 runs + 1 incomplete");
    CHECK_CLOSE(cs[0].mean_err, 0.11, 1e-12, "none 0.1 mean of survivors");
    CHECK_CLOSE(cs[0].sd_err, sqrt(0.0002), 1e-9, "none 0.1 sample sd of 0.10, 0.12");
    CHECK(cs[1].runs == 3 && cs[1].failures == 3 && cs[1].survivors == 0 && isnan(cs[1].mean_err),
          "none 6.4: all failed, no survivors");
    CHECK(cs[1].median_fail_step == 20, "median fail step %g, want 20", cs[1].median_fail_step);
    CHECK(fabs(cs[1].lo - 0.4385) < 1e-4 && cs[1].hi == 1.0, "3/3 Wilson [%g, %g]", cs[1].lo, cs[1].hi);
    CHECK(cs[3].failures == 2 && cs[3].runs == 3 && cs[3].median_fail_step == 150 && cs[3].survivors == 1 &&
              isnan(cs[3].sd_err),
          "he 6.4: 2 of 3, median step 150, one survivor without sd");
    CHECK(!strcmp(t.row[9].phase, "warmup") && t.row[9].fail_step == 100, "flat fail_* keys read");
    CHECK(!strcmp(t.row[2].status, "stopped"), "status of the stopped run");
    free(cs);
    CHECK(sweep_write_tables(&t, NULL) == 0, "write tables");
    char path[700], line[512];
    snprintf(path, sizeof path, "%s/stable_lr.csv", sw);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "stable_lr.csv written");
    if (f) {
        fgets(line, sizeof line, f);
        CHECK(!strcmp(line, "variant,rates_tested,max_stable_lr,min_any_fail_lr,min_all_fail_lr,incomplete_cells\n"),
              "stable header: %s", line);
        fgets(line, sizeof line, f);
        CHECK(!strcmp(line, "none,2,0.1,6.4,6.4,1\n"), "none: stable 0.1, all failed at 6.4: %s", line);
        fgets(line, sizeof line, f);
        CHECK(!strcmp(line, "he,2,0.1,6.4,,0\n"), "he: stable 0.1, none all-failed: %s", line);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/cells.csv", sw);
    f = fopen(path, "r");
    if (f) {
        fgets(line, sizeof line, f);
        fgets(line, sizeof line, f);
        CHECK(!strncmp(line, "none_0.1,none,0.1,2,0,0,0.000000,0.657620,,2,0.11,", 49), "cells row: %s", line);
        fclose(f);
    }
    sweep_table_free(&t);
}

int main(void)
{
    if (!mkdtemp(dir))
        test_skip("cannot make a temporary folder");
    test_json();
    test_spikes();
    test_tables();
    if (!test_failures) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return test_summary("test_sweep_results");
}
