/* test_fuzz_regress.c: replays every fuzz finding (fuzz/regress/) and every seed (fuzz/corpus/) through the fuzz targets' own entry functions. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/fuzz_entry.h"
#include "testlib.h"

/*
 * The entry functions abort() on any broken invariant, and the sanitizer build turns a
 * memory error or UB into an abort too, so reaching the end is the pass. What this adds
 * is a record of which input ran last, for the log when one does not come back.
 */
typedef int (*entry_fn)(const uint8_t *, size_t);

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Runs every file in DIR through FN in name order; returns how many ran, or -1 when DIR is unreadable. */
static int replay_dir(const char *dir, entry_fn fn)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char *names[4096];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 4096)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], by_name);
    int ran = 0;
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        free(names[i]);
        FILE *f = fopen(path, "rb");
        CHECK(f != NULL, "cannot open %s", path);
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        rewind(f);
        uint8_t *buf = malloc(size > 0 ? (size_t)size : 1);
        CHECK(buf && fread(buf, 1, (size_t)size, f) == (size_t)size, "cannot read %s", path);
        fclose(f);
        if (!buf)
            continue;
        printf("  %s -> ", path);
        fflush(stdout);
        int rc = fn(buf, (size_t)size);
        printf("%d\n", rc);
        free(buf);
        ran++;
    }
    return ran;
}

int main(void)
{
    const char *src = test_env("RESNET_SRC", "..");
    static const struct {
        const char *sub;
        entry_fn fn;
        int required; /* the seed corpora ship with the repo; findings may be none */
    } dirs[] = {
        {"fuzz/corpus/config", fuzz_config_input, 1},
        {"fuzz/corpus/cifar", fuzz_cifar_input, 1},
        {"fuzz/regress/config", fuzz_config_input, 0},
        {"fuzz/regress/cifar", fuzz_cifar_input, 0},
    };
    fuzz_set_quiet(1);
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", src, dirs[i].sub);
        int ran = replay_dir(dir, dirs[i].fn);
        CHECK(ran > 0 || !dirs[i].required, "%s: %s", dir,
              ran < 0 ? "cannot open the folder" : "no inputs");
        printf("%s: %d inputs\n", dirs[i].sub, ran < 0 ? 0 : ran);
    }
    return test_summary("test_fuzz_regress");
}
