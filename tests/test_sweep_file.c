/* test_sweep_file.c: sweep files: expansion counts and order, unique stable folder names, command-line sets, and errors with file:line:col. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/exitcodes.h"
#include "sweep/sweep.h"
#include "testlib.h"

static char tmpdir[] = "/tmp/test_sweep_file.XXXXXX";

/* Writes TEXT to DIR/NAME and returns the path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

/* Parses TEXT as sweep file NAME with stderr captured into msg. */
static int parse_text(const char *name, const char *text, sweep_spec *spec, char *msg, size_t msg_size)
{
    const char *path = write_file(name, text);
    char errpath[512];
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", tmpdir);
    fflush(stderr);
    int saved = dup(2);
    FILE *e = freopen(errpath, "w", stderr);
    int rc = sweep_parse(path, spec);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    (void)e;
    FILE *r = fopen(errpath, "r");
    size_t n = r ? fread(msg, 1, msg_size - 1, r) : 0;
    msg[n] = '\0';
    if (r)
        fclose(r);
    return rc;
}

/* A bad file must fail with EXIT_USAGE and a message holding WANT (e.g. "bad.yaml:3:1: bogus"). */
static void expect_error(const char *text, const char *want)
{
    sweep_spec *s = malloc(sizeof *s);
    char msg[2048];
    int rc = parse_text("bad.yaml", text, s, msg, sizeof msg);
    CHECK(rc == EXIT_USAGE, "expected EXIT_USAGE for:\n%s\ngot %d", text, rc);
    CHECK(strstr(msg, want) != NULL, "message for:\n%s\nshould contain '%s', got '%s'", text, want, msg);
    free(s);
}

static const char *GOOD =
    "# a comment\n"
    "base: ../run.yaml\n"
    "seeds: 3\n"
    "grid:\n"
    "  schedule.peak_lr: [0.05, 0.1, 0.2]\n"
    "  model.depth: [20, 56]\n"
    "variants:\n"
    "  none: {schedule.warmup.shape: none, schedule.warmup.steps: 0}\n"
    "  he: {schedule.warmup.shape: constant, schedule.warmup.start_lr: 0.01, schedule.warmup.steps: 400}\n"
    "set: {train.steps: 200, data.test: 'test batch.bin'}\n"
    "divergence: {loss_bound: 30, stall_steps: 100}\n";

static void test_good(void)
{
    sweep_spec *s = malloc(sizeof *s);
    sweep_plan plan;
    char msg[2048];
    CHECK(parse_text("good.yaml", GOOD, s, msg, sizeof msg) == 0, "good file rejected: %s", msg);
    char want_base[600];
    snprintf(want_base, sizeof want_base, "%s/../run.yaml", tmpdir);
    CHECK(!strcmp(s->base, want_base), "base '%s' is not resolved against the sweep file's folder", s->base);
    CHECK(!strcmp(s->output, "runs/good"), "default output '%s', want runs/good", s->output);
    CHECK(s->n_seeds == 3 && s->seed[2] == 2, "seeds: 3 means 0..2");
    CHECK(s->crit.loss_bound == 30 && s->crit.stall_steps == 100, "divergence values");
    CHECK(s->crit.soft_steps == 50 && s->crit.spike_window == 50 && s->crit.stall_error == 0.9,
          "unset divergence keys keep the protocol defaults");
    CHECK(!strcmp(s->fixed[1].val, "'test batch.bin'"), "a quoted string stays quoted for --set: %s", s->fixed[1].val);
    CHECK(sweep_expand(s, &plan) == 0, "expand");
    CHECK(plan.n_cells == 2 * 3 * 2, "cells %d, want variants x peak x depth = 12", plan.n_cells);
    CHECK(plan.n_runs == 36, "runs %d, want 12 cells x 3 seeds", plan.n_runs);
    /* Order: variants, then the grid keys in file order with the last fastest, seeds innermost. */
    CHECK(!strcmp(plan.runs[0].name, "none_peak_lr-0.05_depth-20_seed-0"), "first run %s", plan.runs[0].name);
    CHECK(!strcmp(plan.runs[1].name, "none_peak_lr-0.05_depth-20_seed-1"), "second run %s", plan.runs[1].name);
    CHECK(!strcmp(plan.runs[3].name, "none_peak_lr-0.05_depth-56_seed-0"), "fourth run %s", plan.runs[3].name);
    CHECK(!strcmp(plan.runs[35].name, "he_peak_lr-0.2_depth-56_seed-2"), "last run %s", plan.runs[35].name);
    for (int i = 0; i < plan.n_runs; i++)
        for (int j = i + 1; j < plan.n_runs; j++)
            CHECK(strcmp(plan.runs[i].name, plan.runs[j].name), "runs %d and %d share %s", i, j, plan.runs[i].name);
    /* The settings of a cell: `set`, then the variant's, then the grid's. */
    sw_setting set[64];
    const sw_cell *he = &plan.cells[plan.runs[35].cell];
    int n = sweep_cell_settings(s, he, set, 64);
    CHECK(n == 2 + 3 + 2, "he cell has %d settings, want 7", n);
    CHECK(!strcmp(set[0].key, "train.steps") && !strcmp(set[2].key, "schedule.warmup.shape") &&
              !strcmp(set[2].val, "constant") && !strcmp(set[5].key, "schedule.peak_lr") &&
              !strcmp(set[5].val, "0.2") && !strcmp(set[6].val, "56"),
          "settings order or values");
    CHECK(set[5].line == 5 && set[5].col == 33, "grid value position %d:%d, want 5:33", set[5].line, set[5].col);
    /* Command-line sets: fixed keys may be overridden, swept and owned keys may not. */
    CHECK(sweep_add_cli_set(s, "train.steps=50") == 0 && s->n_fixed == 2 && !strcmp(s->fixed[0].val, "50"),
          "--set overrides the file's set");
    CHECK(sweep_add_cli_set(s, "data.dir=/d") == 0 && s->n_fixed == 3, "--set adds a fixed key");
    fprintf(stderr, "(three expected --set errors follow)\n");
    CHECK(sweep_add_cli_set(s, "schedule.peak_lr=0.3") == EXIT_USAGE, "--set of a grid key must fail");
    CHECK(sweep_add_cli_set(s, "schedule.warmup.steps=3") == EXIT_USAGE, "--set of a variant key must fail");
    CHECK(sweep_add_cli_set(s, "train.seed=3") == EXIT_USAGE, "--set of train.seed must fail");
    sweep_plan_free(&plan);
    free(s);
}

static void test_names(void)
{
    sweep_spec *s = malloc(sizeof *s);
    sweep_plan plan;
    char msg[2048];
    int rc = parse_text("names.yaml",
                        "base: /abs/run.yaml\noutput: out/x\nseeds: [7, 3]\ngrid:\n"
                        "  schedule.warmup.steps: [0, 400]\n  train.steps: [1000]\n"
                        "  schedule.decay.milestones: [[100, 200], [300]]\n",
                        s, msg, sizeof msg);
    CHECK(rc == 0, "names.yaml rejected: %s", msg);
    CHECK(!strcmp(s->base, "/abs/run.yaml") && !strcmp(s->output, "out/x"), "absolute base, given output");
    CHECK(!strcmp(s->grid[0].short_name, "warmup.steps") && !strcmp(s->grid[1].short_name, "train.steps") &&
              !strcmp(s->grid[2].short_name, "milestones"),
          "short names %s %s %s", s->grid[0].short_name, s->grid[1].short_name, s->grid[2].short_name);
    CHECK(!strcmp(s->grid[2].val[0], "[100, 200]"), "a list value is passed as flow YAML: %s", s->grid[2].val[0]);
    CHECK(sweep_expand(s, &plan) == 0 && plan.n_runs == 8, "2 x 1 x 2 cells x 2 seeds");
    CHECK(!strcmp(plan.runs[0].name, "warmup.steps-0_train.steps-1000_milestones-100+200_seed-7"), "name %s",
          plan.runs[0].name);
    CHECK(!strcmp(plan.runs[1].name, "warmup.steps-0_train.steps-1000_milestones-100+200_seed-3"), "name %s",
          plan.runs[1].name);
    CHECK(!strcmp(sweep_variant_name(s, 0), "default"), "no variants: one named default");
    sweep_plan_free(&plan);

    /* Values that differ only in characters a folder name drops would share a folder. */
    rc = parse_text("clash.yaml", "base: r.yaml\nseeds: 1\ngrid:\n  data.test: ['a b', 'ab']\n", s, msg, sizeof msg);
    CHECK(rc == 0, "clash.yaml parses: %s", msg);
    fprintf(stderr, "(one expected folder-name clash error follows)\n");
    CHECK(sweep_expand(s, &plan) == EXIT_USAGE, "a folder-name clash must be an error");
    free(s);
}

/* Grid values compare as the values the run config reads. */
static void test_same_value(void)
{
    CHECK(sweep_same_value("0.1", "0.10"), "0.1 and 0.10");
    CHECK(sweep_same_value("0.1", "1e-1"), "0.1 and 1e-1");
    CHECK(sweep_same_value("[32000, 48000]", "[32000,48000]"), "lists with and without spaces");
    CHECK(sweep_same_value("[0.5, 2]", "[0.50, 2.0]"), "lists of numbers written differently");
    CHECK(!sweep_same_value("0.1", "0.2"), "0.1 and 0.2");
    CHECK(!sweep_same_value("[32000, 48000]", "[32000]"), "lists of different lengths");
    CHECK(!sweep_same_value("'0.1'", "0.1"), "a quoted string and a number");
    CHECK(!sweep_same_value("0.1", "[0.1]"), "a scalar and a list");
    CHECK(sweep_same_value("cosine", "cosine") && !sweep_same_value("cosine", "linear"), "words");
}

int main(void)
{
    test_same_value();
    if (!mkdtemp(tmpdir))
        test_skip("cannot make a temporary folder");
    test_good();
    test_names();
    expect_error("base: r.yaml\nseeds: 2\nbogus: 1\n", "bad.yaml:3:1: bogus: unknown key");
    expect_error("base: r.yaml\nseeds: 2\ngrid:\n  schedule.peak_lr: 0.1\n", "bad.yaml:4:21: schedule.peak_lr: expected a list");
    expect_error("base: r.yaml\nseeds: 2\ngrid:\n  schedule.peak_lr: []\n", "bad.yaml:4:21: schedule.peak_lr");
    expect_error("base: r.yaml\nseeds: 2\ngrid:\n  schedule.peak_lr: [0.1, 0.1]\n",
                 "bad.yaml:4:27: schedule.peak_lr[1]: the value 0.1 is already in the list");
    expect_error("base: r.yaml\nseeds: -1\n", "bad.yaml:2:8: seeds");
    expect_error("base: r.yaml\nseeds: [1, x]\n", "bad.yaml:2:12: seeds: expected a whole number");
    expect_error("base: r.yaml\nseeds: [1, 1]\n", "bad.yaml:2:12: seeds: seed 1 is listed twice");
    expect_error("base: r.yaml\n", "bad.yaml: seeds: missing");
    expect_error("seeds: 1\n", "bad.yaml: base: missing");
    expect_error("base: r.yaml\nseeds: 1\ndivergence:\n  loss_bnd: 3\n", "bad.yaml:4:3: divergence.loss_bnd: unknown key");
    expect_error("base: r.yaml\nseeds: 1\ndivergence:\n  stall_error: 2\n",
                 "bad.yaml:4:16: divergence.stall_error: expected a number in [0,1]");
    expect_error("base: r.yaml\nseeds: 1\ndivergence: {spike_window: 1.5}\n", "bad.yaml:3:28: divergence.spike_window");
    expect_error("base: r.yaml\nseeds: 1\nvariants:\n  a/b: {train.steps: 1}\n", "bad.yaml:4:3: variants");
    expect_error("base: r.yaml\nseeds: 1\nvariants:\n  a: {train.steps: 1}\n  a: {train.steps: 2}\n",
                 "bad.yaml:5:3: variants: the name 'a' is used twice");
    expect_error("base: r.yaml\nseeds: 1\ngrid: {train.seed: [1, 2]}\n", "bad.yaml:3:8: train.seed: not allowed");
    expect_error("base: r.yaml\nseeds: 1\nset: {output.dir: x}\n", "bad.yaml:3:7: output.dir: not allowed");
    expect_error("base: r.yaml\nseeds: 1\nset: {Schedule.Peak: 1}\n", "bad.yaml:3:7: set: 'Schedule.Peak' is not");
    expect_error("base: r.yaml\nseeds: 1\ngrid: {train.steps: [1, 2]}\nvariants:\n  a: {train.steps: 3}\n",
                 "bad.yaml:5:20: train.steps: set by variant 'a' and also a grid key (line 3)");
    expect_error("base: r.yaml\nseeds: 1\ngrid: {train.steps: [1, 2]}\nset: {train.steps: 3}\n",
                 "bad.yaml:4:20: train.steps: in `set` and also a grid key");
    expect_error("base: r.yaml\nseeds: 1\nset: {train.steps: {a: 1}}\n", "bad.yaml:3:20: train.steps: expected a value");
    expect_error("base: r.yaml\nseeds: 1\nseeds: 2\n", "bad.yaml:3:1: seeds: given twice");
    expect_error("base: r.yaml\nseeds: [1\n", "bad.yaml:3:1: YAML syntax");
    expect_error("- a\n- b\n", "bad.yaml:1:1: (top): expected a mapping");
    const char *names[] = {"good.yaml", "names.yaml", "clash.yaml", "bad.yaml", "stderr.txt"};
    for (int i = 0; i < 5; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        remove(path);
    }
    rmdir(tmpdir);
    return test_summary("test_sweep_file");
}
