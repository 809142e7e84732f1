/* test_config.c: the run-config loader: defaults, overrides, epochs resolution, every error class, printing round trip, shipped configs. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "data/cifar.h"
#include "config/config.h"
#include "common/exitcodes.h"
#include "testlib.h"

static char tmp[512];
static int n_files;

static const char *write_file(const char *name, const char *text)
{
    static char paths[64][600];
    char *p = paths[n_files++ % 64];
    snprintf(p, 600, "%s/%s", tmp, name);
    FILE *f = fopen(p, "w");
    if (!f) {
        perror(p);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
    return p;
}

/* A synthetic CIFAR file of n zero records: only its size matters to the loader. */
static void write_records(const char *dir, const char *name, long n)
{
    char p[800];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) {
        perror(p);
        exit(1);
    }
    static const unsigned char zero[CIFAR_RECORD_BYTES];
    for (long i = 0; i < n; i++)
        fwrite(zero, 1, sizeof zero, f);
    fclose(f);
}

/* Runs config_load with stdout and stderr captured, so tests can check the one-line message. */
static int load(const char *path, int n_sets, const char *const *sets, run_config *cfg, char *err, size_t err_size)
{
    char errp[600], outp[600];
    snprintf(errp, sizeof errp, "%s/stderr.txt", tmp);
    snprintf(outp, sizeof outp, "%s/stdout.txt", tmp);
    fflush(stdout);
    fflush(stderr);
    int saved_err = dup(2), saved_out = dup(1);
    int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644), fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fe, 2);
    dup2(fo, 1);
    close(fe);
    close(fo);
    int rc = config_load(path, n_sets, (char *const *)sets, cfg);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_err, 2);
    dup2(saved_out, 1);
    close(saved_err);
    close(saved_out);

    FILE *f = fopen(errp, "r");
    size_t n = f ? fread(err, 1, err_size - 1, f) : 0;
    err[n] = '\0';
    if (f)
        fclose(f);
    f = fopen(outp, "r");
    char buf[16];
    size_t n_out = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    CHECK(n_out == 0, "config_load wrote to stdout");
    return rc;
}

static const char *BASE = "model:\n"
                          "  depth: 20\n"
                          "data:\n"
                          "  dir: /nonexistent-data\n"
                          "train:\n"
                          "  steps: 1000\n"
                          "schedule:\n"
                          "  peak_lr: 0.1\n";

/*
 * One error case: YAML text (NULL: BASE) plus --sets must fail with exit 2 and a single
 * message line naming the file and LINE (0: no line expected, e.g. --set errors), the
 * key path and the phrase WHAT.
 */
static void expect_error(const char *name, const char *yaml, int n_sets, const char *const *sets, int line,
                         const char *key, const char *what)
{
    static run_config cfg;
    char err[4096];
    char fname[128];
    snprintf(fname, sizeof fname, "%s.yaml", name);
    const char *path = write_file(fname, yaml ? yaml : BASE);
    int rc = load(path, n_sets, sets, &cfg, err, sizeof err);
    CHECK(rc == EXIT_USAGE, "%s: rc %d, want %d", name, rc, EXIT_USAGE);
    char want[700];
    if (line > 0) {
        snprintf(want, sizeof want, "%s:%d:", path, line);
        CHECK(strstr(err, want), "%s: message lacks '%s': %s", name, want, err);
    } else if (n_sets == 0) {
        CHECK(strstr(err, path), "%s: message lacks the file name: %s", name, err);
    }
    if (key)
        CHECK(strstr(err, key), "%s: message lacks key '%s': %s", name, key, err);
    CHECK(strstr(err, what), "%s: message lacks '%s': %s", name, what, err);
    char *nl = strchr(err, '\n');
    CHECK(nl && nl[1] == '\0', "%s: want exactly one line, got: %s", name, err);
}

static int load_ok(const char *name, const char *yaml, int n_sets, const char *const *sets, run_config *cfg)
{
    char err[4096], fname[128];
    snprintf(fname, sizeof fname, "%s.yaml", name);
    const char *path = write_file(fname, yaml);
    int rc = load(path, n_sets, sets, cfg, err, sizeof err);
    CHECK(rc == 0, "%s: rc %d: %s", name, rc, err);
    CHECK(err[0] == '\0', "%s: unexpected message: %s", name, err);
    return rc;
}

static void test_defaults(void)
{
    static run_config c;
    if (load_ok("defaults", BASE, 0, NULL, &c))
        return;
    CHECK(c.model.depth == 20, "depth %d", c.model.depth);
    CHECK(c.model.num_classes == 10, "num_classes %d", c.model.num_classes);
    CHECK(!strcmp(c.data.dir, "/nonexistent-data"), "dir %s", c.data.dir);
    CHECK(c.data.n_train == 5, "n_train %d", c.data.n_train);
    CHECK(!strcmp(c.data.train[0], "data_batch_1.bin") && !strcmp(c.data.train[4], "data_batch_5.bin"),
          "train files %s..%s", c.data.train[0], c.data.train[4]);
    CHECK(!strcmp(c.data.test, "test_batch.bin"), "test %s", c.data.test);
    CHECK(c.data.augment == 1 && c.data.shuffle == 1 && c.data.limit_train == 0, "data flags");
    CHECK(c.train.batch_size == 128, "batch %d", c.train.batch_size);
    CHECK(c.train.steps == 1000 && c.train.epochs == 0, "steps %ld epochs %g", c.train.steps, c.train.epochs);
    CHECK(c.train.seed == 0 && c.train.backend == BACKEND_AUTO, "seed/backend");
    CHECK(c.train.eval_every == 0 && c.train.log_every == 100 && c.train.checkpoint_every == 0, "every");
    CHECK(c.train.nonfinite == NONFINITE_STOP && c.train.cuda_graph == 1, "nonfinite/graph");
    CHECK(c.optim.momentum == 0.9 && c.optim.nesterov == 0 && c.optim.weight_decay == 1e-4, "optim");
    const sched_params *s = &c.schedule;
    CHECK(s->peak_lr == 0.1 && s->warmup_shape == WARMUP_NONE && s->warmup_steps == 0, "warmup");
    CHECK(s->total_steps == 1000, "total_steps %ld", s->total_steps);
    CHECK(s->start_lr == 0 && s->warmup_power == 4 && s->warmup_tau == 1 && s->until_train_error == 0, "warmup params");
    CHECK(s->decay_shape == DECAY_CONSTANT && s->end_lr == 0 && s->n_milestones == 0 && s->gamma == 0.1 &&
              s->decay_power == 1,
          "decay params");
    CHECK(!strcmp(c.output.dir, "runs/defaults") && c.output.overwrite == 0, "output %s", c.output.dir);

    /* tau defaults to the warmup length W */
    const char *y = "model: {depth: 20}\ndata: {dir: d}\ntrain: {steps: 100}\n"
                    "schedule: {peak_lr: 0.1, warmup: {shape: exponential, steps: 40}}\n";
    if (!load_ok("tau", y, 0, NULL, &c))
        CHECK(c.schedule.warmup_tau == 40 && c.schedule.warmup_steps == 40, "tau %g", c.schedule.warmup_tau);
}

static void test_sets(void)
{
    static run_config c;
    const char *s1[] = {"schedule.peak_lr=0.4", "data.train=[a.bin,b.bin]", "train.backend=cpu",
                        "schedule.warmup.shape=linear", "schedule.warmup.steps=10", "output.dir='my dir'",
                        "schedule.peak_lr=0.5"};
    if (!load_ok("sets", BASE, 7, s1, &c)) {
        CHECK(c.schedule.peak_lr == 0.5, "later --set wins: %g", c.schedule.peak_lr);
        CHECK(c.data.n_train == 2 && !strcmp(c.data.train[1], "b.bin"), "train list");
        CHECK(c.train.backend == BACKEND_CPU, "backend");
        CHECK(c.schedule.warmup_shape == WARMUP_LINEAR && c.schedule.warmup_steps == 10, "warmup");
        CHECK(!strcmp(c.output.dir, "my dir"), "output.dir %s", c.output.dir);
    }
}

static void test_epochs(void)
{
    static run_config c;
    char dir[600], y[2048];
    snprintf(dir, sizeof dir, "%s/data", tmp);
    mkdir(dir, 0755);
    write_records(dir, "a.bin", 1000);
    write_records(dir, "b.bin", 500);
    /* T = ceil(2 * 1500 / 128) = ceil(23.4375) = 24; W = ceil(0.5 * 1500 / 128) = 6 */
    snprintf(y, sizeof y,
             "model: {depth: 8}\ndata: {dir: %s, train: [a.bin, b.bin]}\ntrain: {epochs: 2, batch_size: 128}\n"
             "schedule: {peak_lr: 0.1, warmup: {shape: linear, epochs: 0.5}}\n",
             dir);
    if (!load_ok("epochs", y, 0, NULL, &c)) {
        CHECK(c.train.steps == 24 && c.schedule.total_steps == 24, "T %ld", c.train.steps);
        CHECK(c.train.epochs == 2, "epochs kept %g", c.train.epochs);
        CHECK(c.schedule.warmup_steps == 6, "W %ld", c.schedule.warmup_steps);
        CHECK(c.schedule.warmup_tau == 6, "tau %g", c.schedule.warmup_tau);
    }
    /* data.limit_train caps N: 0.3 * 1000 / 100 = 3 exactly, not 4 from rounding */
    const char *s1[] = {"data.limit_train=1000", "train.batch_size=100", "train.epochs=0.3",
                        "schedule.warmup.shape=none", "schedule.warmup.steps=0"};
    if (!load_ok("epochs", y, 5, s1, &c))
        CHECK(c.train.steps == 3, "T %ld", c.train.steps);
    /* --set train.steps replaces the file's train.epochs */
    const char *s2[] = {"train.steps=77"};
    if (!load_ok("epochs", y, 1, s2, &c))
        CHECK(c.train.steps == 77 && c.train.epochs == 0, "T %ld epochs %g", c.train.steps, c.train.epochs);

    const char *s3[] = {"train.batch_size=2000"};
    expect_error("batch_too_big", y, 1, s3, 0, "--set train.batch_size=2000",
                 "expected at most the number of training records (1500)");
    const char *s4[] = {"data.dir=/nonexistent-data"};
    expect_error("epochs_no_data", y, 1, s4, 3, "train.epochs", "epochs need the training files' sizes");
}

static void test_errors(void)
{
    expect_error("unknown", "model:\n  depth: 20\ndata:\n  dir: d\ntrain:\n  stpes: 100\n", 0, NULL, 6, "train.stpes",
                 "unknown key 'stpes' in 'train' (known: batch_size, steps, epochs");
    expect_error("unknown_top", "modle:\n  depth: 20\n", 0, NULL, 1, "modle", "unknown key 'modle' at the top level");
    expect_error("wrong_type", "model:\n  depth: 20\ndata:\n  dir: d\ntrain:\n  steps: abc\n", 0, NULL, 6,
                 "train.steps", "expected an integer >= 1, got 'abc'");
    expect_error("float_for_int", "model:\n  depth: 20.0\n", 0, NULL, 2, "model.depth", "got '20.0'");
    expect_error("quoted_number", "model:\n  depth: '20'\n", 0, NULL, 2, "model.depth", "got the quoted string '20'");
    expect_error("bool_yes", "data:\n  augment: yes\n", 0, NULL, 2, "data.augment", "expected true or false, got 'yes'");
    expect_error("enum", "schedule:\n  warmup:\n    shape: linaer\n", 0, NULL, 3, "schedule.warmup.shape",
                 "expected one of none|constant|linear|power|exponential|log, got 'linaer'");
    expect_error("range", "optim:\n  momentum: 1.0\n", 0, NULL, 2, "optim.momentum", "expected a number in [0,1), got '1.0'");
    expect_error("depth", "model:\n  depth: 111\n", 0, NULL, 2, "model.depth", "6n+2 (20, 32, 44, 56, 110, 1202...)");
    expect_error("negative_lr", "schedule:\n  peak_lr: -0.1\n", 0, NULL, 2, "schedule.peak_lr", "expected a number > 0");
    expect_error("null_value", "schedule:\n  peak_lr:\n", 0, NULL, 2, "schedule.peak_lr", "got nothing");
    expect_error("nan", "schedule:\n  peak_lr: .nan\n", 0, NULL, 2, "schedule.peak_lr", "must be finite");
    expect_error("inf", "optim:\n  weight_decay: -.inf\n", 0, NULL, 2, "optim.weight_decay", "must be finite");
    expect_error("overflow", "optim:\n  weight_decay: 1e999\n", 0, NULL, 2, "optim.weight_decay", "must be finite");
    /* Limits of the type the device holds a value in (CFG_F32 in the schema), and of double. */
    expect_error("f32_peak", "schedule:\n  peak_lr: 1e39\n", 0, NULL, 2, "schedule.peak_lr",
                 "got '1e39' (too large for float32, the type the device computes it in: at most 3.40282347e+38)");
    expect_error("f64_peak", "schedule:\n  peak_lr: 1.7e308\n", 0, NULL, 2, "schedule.peak_lr", "too large for float32");
    expect_error("tiny_peak", "schedule:\n  peak_lr: 1e-400\n", 0, NULL, 2, "schedule.peak_lr",
                 "got '1e-400' (too small: it underflows the double range");
    expect_error("tiny_wd", "optim:\n  weight_decay: 1e-400\n", 0, NULL, 2, "optim.weight_decay", "underflows");
    expect_error("denormal_wd", "optim:\n  weight_decay: 1e-39\n", 0, NULL, 2, "optim.weight_decay",
                 "too small for float32");
    expect_error("f32_bound", "divergence:\n  loss_bound: 4e38\n", 0, NULL, 2, "divergence.loss_bound", "float32");
    expect_error("list_type", "data:\n  train: data_batch_1.bin\n", 0, NULL, 2, "data.train", "expected a list of 1..16");
    expect_error("list_item", "schedule:\n  decay:\n    milestones: [10, x]\n", 0, NULL, 3,
                 "schedule.decay.milestones[1]", "got 'x'");
    expect_error("section_scalar", "train: 5\n", 0, NULL, 1, "train", "expected a mapping of keys");
    expect_error("duplicate", "model:\n  depth: 20\n  depth: 32\n", 0, NULL, 3, "model.depth",
                 "duplicate key (first given at line 2)");
    expect_error("duplicate_section", "model:\n  depth: 20\nmodel:\n  num_classes: 10\n", 0, NULL, 3, "model",
                 "duplicate key");
    expect_error("syntax", "model:\n  depth: 20\ntrain: [1, 2\n", 0, NULL, 0, NULL, "YAML syntax error");
    expect_error("syntax_tab", "model:\n\tdepth: 20\n", 0, NULL, 2, NULL, "YAML syntax error");
    expect_error("two_docs", "model: {depth: 20}\n---\nmodel: {depth: 20}\n", 0, NULL, 3, NULL, "expected one YAML document");
    expect_error("empty", "", 0, NULL, 0, NULL, "empty config, expected a mapping");
    expect_error("comments_only", "# nothing\n", 0, NULL, 0, NULL, "empty config, expected a mapping");
    expect_error("root_list", "- a\n- b\n", 0, NULL, 1, NULL, "expected a mapping");
    expect_error("missing", "model:\n  num_classes: 10\ndata:\n  dir: d\n", 0, NULL, 1, "model.depth",
                 "required key is missing");
    expect_error("missing_section", "data:\n  dir: d\n", 0, NULL, 0, "model.depth", "required key is missing");
    expect_error("missing_steps", "model: {depth: 20}\ndata: {dir: d}\ntrain: {batch_size: 8}\nschedule: {peak_lr: 0.1}\n",
                 0, NULL, 3, "train.steps", "required key is missing in 'train' (give train.steps or train.epochs)");
    expect_error("both", "model: {depth: 20}\ndata: {dir: d}\ntrain:\n  steps: 10\n  epochs: 2\nschedule: {peak_lr: 0.1}\n",
                 0, NULL, 5, "train.epochs", "not both (train.steps is at line 4)");

    const char *sched = "model: {depth: 20}\ndata: {dir: d}\ntrain: {steps: 1000}\nschedule:\n  peak_lr: 0.1\n";
    char y[1024];
    snprintf(y, sizeof y, "%s  warmup:\n    shape: linear\n    steps: 1000\n", sched);
    expect_error("w_ge_t", y, 0, NULL, 8, "schedule.warmup.steps", "must end before the last step (train.steps is 1000)");
    snprintf(y, sizeof y, "%s  warmup:\n    steps: 10\n", sched);
    expect_error("none_with_length", y, 0, NULL, 7, "schedule.warmup.steps", "schedule.warmup.shape is none");
    snprintf(y, sizeof y, "%s  warmup:\n    shape: power\n", sched);
    expect_error("shape_no_length", y, 0, NULL, 7, "schedule.warmup.shape", "needs a length > 0");
    snprintf(y, sizeof y, "%s  warmup:\n    shape: constant\n    steps: 10\n", sched);
    expect_error("constant_zero", y, 0, NULL, 7, "schedule.warmup.shape", "start_lr > 0");
    snprintf(y, sizeof y, "%s  warmup:\n    shape: log\n    steps: 1\n", sched);
    expect_error("log_short", y, 0, NULL, 8, "schedule.warmup.steps", "log warmup needs a length >= 2");
    snprintf(y, sizeof y, "%s  warmup:\n    shape: linear\n    steps: 10\n    start_lr: 0.2\n", sched);
    expect_error("start_above_peak", y, 0, NULL, 9, "schedule.warmup.start_lr", "above schedule.peak_lr");
    snprintf(y, sizeof y, "%s  decay:\n    shape: step\n    milestones: [500, 300]\n", sched);
    expect_error("milestones_order", y, 0, NULL, 8, "schedule.decay.milestones", "strictly increasing");
    snprintf(y, sizeof y, "%s  decay:\n    shape: step\n    milestones: [500, 500]\n", sched);
    expect_error("milestones_dup", y, 0, NULL, 8, "schedule.decay.milestones", "strictly increasing");
    snprintf(y, sizeof y, "%s  decay:\n    shape: step\n    milestones: [500, 1001]\n", sched);
    expect_error("milestones_past", y, 0, NULL, 8, "schedule.decay.milestones", "past the last step");
    snprintf(y, sizeof y, "%s  decay:\n    milestones: [0]\n", sched);
    expect_error("milestone_zero", y, 0, NULL, 7, "schedule.decay.milestones[0]", "expected an integer >= 1");
    snprintf(y, sizeof y, "%s  decay:\n    shape: step\n", sched);
    expect_error("step_no_milestones", y, 0, NULL, 7, "schedule.decay.shape", "at least one milestone");
    snprintf(y, sizeof y, "%s  decay:\n    shape: cosine\n    end_lr: 0.2\n", sched);
    expect_error("cosine_end", y, 0, NULL, 8, "schedule.decay.end_lr", "above schedule.peak_lr");
    snprintf(y, sizeof y, "%s  decay:\n    shape: exponential\n", sched);
    expect_error("exp_end_zero", y, 0, NULL, 7, "schedule.decay.shape", "end_lr > 0");

    /* --set errors name the whole argument instead of a line */
    const char *bad_value[] = {"schedule.peak_lr=abc"};
    expect_error("set_value", NULL, 1, bad_value, 0, "--set schedule.peak_lr=abc:", "expected a number > 0, got 'abc'");
    const char *no_eq[] = {"schedule.peak_lr"};
    expect_error("set_no_eq", NULL, 1, no_eq, 0, "--set schedule.peak_lr:", "expected KEY=VALUE");
    const char *unknown[] = {"train.stpes=5"};
    expect_error("set_unknown", NULL, 1, unknown, 0, "--set train.stpes=5:", "unknown key 'stpes' in 'train'");
    const char *section[] = {"schedule.warmup=5"};
    expect_error("set_section", NULL, 1, section, 0, "--set schedule.warmup=5:", "is a section");
    const char *nan[] = {"optim.momentum=.nan"};
    expect_error("set_nan", NULL, 1, nan, 0, "--set optim.momentum=.nan:", "must be finite");
    const char *syntax[] = {"data.train=[a.bin"};
    expect_error("set_syntax", NULL, 1, syntax, 0, "--set data.train=[a.bin:", "not a YAML value");
    const char *empty[] = {"data.dir="};
    expect_error("set_empty", NULL, 1, empty, 0, "--set data.dir=:", "expected a non-empty string");
    const char *cross[] = {"schedule.warmup.shape=linear", "schedule.warmup.steps=5000"};
    expect_error("set_cross", NULL, 2, cross, 0, "--set schedule.warmup.steps=5000:", "must end before the last step");

    static run_config c;
    char err[1024];
    CHECK(load("/nonexistent/x.yaml", 0, NULL, &c, err, sizeof err) == EXIT_USAGE && strstr(err, "/nonexistent/x.yaml"),
          "missing file: %s", err);
    CHECK(load(tmp, 0, NULL, &c, err, sizeof err) == EXIT_USAGE && strstr(err, "is a directory"), "directory: %s", err);
}

/* Every printed config loads back to the same run_config (the source name and epochs aside). */
static void round_trip(const char *name, const char *path, int n_sets, const char *const *sets)
{
    static run_config a, b;
    char err[4096], printed[600];
    int rc = load(path, n_sets, sets, &a, err, sizeof err);
    CHECK(rc == 0, "%s: rc %d: %s", name, rc, err);
    if (rc)
        return;
    snprintf(printed, sizeof printed, "%s/printed_%s.yaml", tmp, name);
    FILE *f = fopen(printed, "w");
    config_print(&a, f);
    fclose(f);
    rc = load(printed, 0, NULL, &b, err, sizeof err);
    CHECK(rc == 0, "%s: printed config does not load: %s", name, err);
    if (rc)
        return;
    memset(a.source, 0, sizeof a.source);
    memset(b.source, 0, sizeof b.source);
    a.train.epochs = 0;
    CHECK(!memcmp(&a, &b, sizeof a), "%s: printed config loads back different (see %s)", name, printed);
}

static void test_print(void)
{
    char dir[600], y[2048];
    snprintf(dir, sizeof dir, "%s/data", tmp);
    snprintf(y, sizeof y,
             "model: {depth: 8}\ndata: {dir: %s, train: [a.bin, b.bin]}\ntrain: {epochs: 2, batch_size: 128}\n"
             "schedule: {peak_lr: 0.1, warmup: {shape: exponential, epochs: 0.5}}\n",
             dir);
    const char *p = write_file("rt_epochs.yaml", y);
    round_trip("epochs", p, 0, NULL);

    /* output: the resolved steps with their epochs, 0.1 printed as 0.1, tricky strings quoted */
    static run_config c;
    char err[2048];
    const char *sets[] = {"optim.weight_decay=0.0001", "schedule.peak_lr=0.30000000000000004",
                          "output.dir=\"has: colon #x\\\\\"", "data.test=null.bin", "train.steps=24", "schedule.warmup.steps=6",
                          "data.train=['~', 'a b', '-x', 'null']"};
    if (load(p, 4, sets, &c, err, sizeof err) == 0) {
        char out[600];
        snprintf(out, sizeof out, "%s/printed.yaml", tmp);
        FILE *f = fopen(out, "w");
        config_print(&c, f);
        fclose(f);
        f = fopen(out, "r");
        char text[8192];
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = '\0';
        fclose(f);
        CHECK(strstr(text, "  steps: 24  # resolved from train.epochs: 2\n"), "steps line: %s", text);
        CHECK(strstr(text, "  weight_decay: 0.0001\n"), "weight_decay: %s", text);
        CHECK(strstr(text, "  momentum: 0.9\n"), "momentum: %s", text);
        CHECK(strstr(text, "  peak_lr: 0.30000000000000004\n"), "peak_lr: %s", text);
        CHECK(strstr(text, "    steps: 6\n"), "warmup steps: %s", text);
        CHECK(!strstr(text, "  epochs:"), "epochs printed as a key: %s", text);
        CHECK(strstr(text, "  dir: \"has: colon #x\\\\\"\n"), "output.dir: %s", text);
        round_trip("quoting", p, 7, sets);
    } else {
        CHECK(0, "quoting config: %s", err);
    }
}

static void test_shipped(void)
{
    char cdir[600];
    snprintf(cdir, sizeof cdir, "%s/configs", test_env("RESNET_SRC", ".."));
    DIR *d = opendir(cdir);
    CHECK(d, "cannot open %s", cdir);
    if (!d)
        return;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml"))
            continue;
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", cdir, e->d_name);
        round_trip(e->d_name, p, 0, NULL);
        n++;
    }
    closedir(d);
    CHECK(n >= 4, "found %d shipped configs", n);

    /* He's recipe as the issue states it */
    static run_config c;
    char p[1200], err[2048];
    snprintf(p, sizeof p, "%s/he_resnet110.yaml", cdir);
    if (load(p, 0, NULL, &c, err, sizeof err) == 0) {
        const sched_params *s = &c.schedule;
        CHECK(c.model.depth == 110 && c.train.steps == 64000 && c.train.batch_size == 128, "he model/train");
        CHECK(s->warmup_shape == WARMUP_CONSTANT && s->start_lr == 0.01 && s->warmup_steps == 400 &&
                  s->until_train_error == 0.8 && s->peak_lr == 0.1,
              "he warmup");
        CHECK(s->decay_shape == DECAY_STEP && s->n_milestones == 2 && s->milestones[0] == 32000 &&
                  s->milestones[1] == 48000 && s->gamma == 0.1,
              "he decay");
        CHECK(c.optim.momentum == 0.9 && c.optim.weight_decay == 1e-4, "he optim");
        CHECK(!strcmp(c.output.dir, "runs/he_resnet110"), "he output %s", c.output.dir);
    } else {
        CHECK(0, "he config: %s", err);
    }
}

static void test_data_path(void)
{
    static run_config c;
    char out[256];
    snprintf(c.data.dir, sizeof c.data.dir, "data/x");
    config_data_path(&c, "a.bin", out, sizeof out);
    CHECK(!strcmp(out, "data/x/a.bin"), "%s", out);
    snprintf(c.data.dir, sizeof c.data.dir, "data/x/");
    config_data_path(&c, "a.bin", out, sizeof out);
    CHECK(!strcmp(out, "data/x/a.bin"), "%s", out);
    config_data_path(&c, "/abs/a.bin", out, sizeof out);
    CHECK(!strcmp(out, "/abs/a.bin"), "%s", out);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "%s/test_config.XXXXXX", test_env("TMPDIR", "/tmp"));
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_defaults();
    test_sets();
    test_epochs();
    test_errors();
    test_print();
    test_shipped();
    test_data_path();
    int rc = test_summary("test_config");
    if (!rc) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmp);
    }
    return rc;
}
