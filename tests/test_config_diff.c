/* test_config_diff.c: config_diff (which keys differ, and how a resume classes each) and config_identity (what makes two configs the same run). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config/config.h"
#include "testlib.h"

static char dir[] = "/tmp/test_config_diff.XXXXXX";
static char path[64];

static const char *BASE = "model: {depth: 20}\n"
                          "data: {dir: /nonexistent-data, train: [a.bin]}\n"
                          "train: {steps: 1000, log_every: 10}\n"
                          "schedule: {peak_lr: 0.1, warmup: {shape: linear, steps: 100}, decay: {shape: cosine}}\n"
                          "output: {dir: runs/x}\n";

static run_config *load(int n, const char *const *sets)
{
    run_config *c = malloc(sizeof *c);
    if (!c || config_load(path, n, (char *const *)sets, c) != 0) {
        fprintf(stderr, "cannot load the base config with %d sets\n", n);
        exit(1);
    }
    return c;
}

/* The changes between BASE and BASE + SETS, one per key. */
static int diff_with(int n, const char *const *sets, cfg_change *ch)
{
    run_config *a = load(0, NULL), *b = load(n, sets);
    const int k = config_diff(a, b, ch, CFG_MAX_CHANGES);
    free(a);
    free(b);
    return k;
}

static void same_identity(int n, const char *const *sets, int want_same, const char *what)
{
    run_config *a = load(0, NULL), *b = load(n, sets);
    char ha[65], hb[65];
    config_identity(a, ha);
    config_identity(b, hb);
    CHECK((strcmp(ha, hb) == 0) == want_same, "%s: identities %s and %s, want %s", what, ha, hb,
          want_same ? "equal" : "different");
    CHECK(strlen(ha) == 64, "identity is not 64 hex digits: %s", ha);
    free(a);
    free(b);
}

int main(void)
{
    if (!mkdtemp(dir))
        test_skip("cannot make a temporary folder");
    snprintf(path, sizeof path, "%s/base.yaml", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        test_skip("cannot write the base config");
    fputs(BASE, f);
    fclose(f);
    cfg_change ch[CFG_MAX_CHANGES];

    CHECK(diff_with(0, NULL, ch) == 0, "a config differs from itself");

    const char *peak[] = {"schedule.peak_lr=0.2"};
    int n = diff_with(1, peak, ch);
    CHECK(n == 1 && !strcmp(ch[0].key, "schedule.peak_lr") && ch[0].cls == CFG_CHANGE_REFUSED &&
              !strcmp(ch[0].old_text, "0.1") && !strcmp(ch[0].new_text, "0.2"),
          "peak_lr: %d changes, first %s %s -> %s", n, n ? ch[0].key : "-", n ? ch[0].old_text : "", n ? ch[0].new_text : "");

    /* A warmup length also moves the exponential time constant's default; here only the steps. */
    const char *several[] = {"train.log_every=50", "optim.momentum=0.8", "data.dir=/elsewhere", "train.eval_every=5"};
    n = diff_with(4, several, ch);
    CHECK(n == 4, "four keys changed, diff says %d", n);
    /* In the schema's order: data.dir, train.eval_every, train.log_every, optim.momentum. */
    const char *keys[] = {"data.dir", "train.eval_every", "train.log_every", "optim.momentum"};
    const int cls[] = {CFG_CHANGE_DATA, CFG_CHANGE_SAFE, CFG_CHANGE_NEUTRAL, CFG_CHANGE_REFUSED};
    for (int i = 0; i < 4 && i < n; i++)
        CHECK(!strcmp(ch[i].key, keys[i]) && ch[i].cls == cls[i], "change %d: %s class %d, want %s class %d", i,
              ch[i].key, ch[i].cls, keys[i], cls[i]);

    const char *longer[] = {"train.steps=2000"}, *shorter[] = {"train.steps=500"};
    n = diff_with(1, longer, ch);
    CHECK(n == 1 && ch[0].cls == CFG_CHANGE_SAFE && !ch[0].why, "a longer run: class %d", n ? ch[0].cls : -1);
    n = diff_with(1, shorter, ch);
    CHECK(n == 1 && ch[0].cls == CFG_CHANGE_REFUSED && ch[0].why && strstr(ch[0].why, "only grow"),
          "a shorter run: class %d", n ? ch[0].cls : -1);

    const char *list[] = {"data.train=[a.bin, b.bin]"};
    n = diff_with(1, list, ch);
    CHECK(n == 1 && !strcmp(ch[0].old_text, "[a.bin]") && !strcmp(ch[0].new_text, "[a.bin, b.bin]"),
          "list values: %s -> %s", n ? ch[0].old_text : "", n ? ch[0].new_text : "");

    /* The identity leaves out where the run lies and the cadences that change no number. */
    const char *neutral[] = {"output.dir=/other", "train.log_every=1", "train.checkpoint_every=7",
                             "train.cuda_graph=false", "output.overwrite=true"};
    same_identity(5, neutral, 1, "output and logging cadence");
    same_identity(1, longer, 0, "train.steps");
    same_identity(1, peak, 0, "peak_lr");
    const char *ev[] = {"train.eval_every=5"}, *dd[] = {"data.dir=/elsewhere"};
    same_identity(1, ev, 0, "eval_every (it changes eval.csv)");
    same_identity(1, dd, 0, "data.dir");
    /* The same value written another way is the same config. */
    const char *spelled[] = {"schedule.peak_lr=0.10", "train.steps=1000"};
    same_identity(2, spelled, 1, "0.10 for 0.1");

    unlink(path);
    rmdir(dir);
    return test_summary("test_config_diff");
}
