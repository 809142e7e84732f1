/* sweep_stale.c: what a sweep checks before anything runs: that each finished run was made by the config the sweep file asks for now (its identity), and that every cell's data files are there to be read. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config/config.h"
#include "common/exitcodes.h"
#include "common/fileio.h"
#include "common/json_min.h"
#include "data/cifar.h"
#include "sweep/sweep.h"

int sweep_run_changed(const char *run_dir, const run_config *cfg, char *out, size_t out_size)
{
    char path[FILEIO_PATH_MAX], err[256], want[65];
    json_flat j;
    out[0] = '\0';
    config_identity(cfg, want);
    path_join(path, sizeof path, run_dir, "summary.json");
    const char *have = json_flat_load(path, &j, err, sizeof err) == 0 ? json_get(&j, "config_sha256") : NULL;
    if (have && !strcmp(have, want))
        return 0;
    /* Another identity, or none recorded (an older build): the folder's config.yaml says
       which keys differ, and is the judge when the hashes alone disagree. */
    run_config *old = malloc(sizeof *old);
    cfg_change *ch = malloc(CFG_MAX_CHANGES * sizeof *ch);
    int changed = 0;
    if (!old || !ch) {
        snprintf(out, out_size, "out of memory");
        changed = 1;
        goto done;
    }
    path_join(path, sizeof path, run_dir, "config.yaml");
    const char *kind = NULL;
    const int fd = open_regular(path, &kind); /* a FIFO would block the loader */
    if (fd >= 0)
        close(fd);
    if (fd < 0 || config_load_quiet(path, 0, NULL, old) != 0) {
        snprintf(out, out_size, "its config.yaml is missing or does not load, so what made it is unknown");
        changed = 1;
        goto done;
    }
    const int n = config_diff(old, cfg, ch, CFG_MAX_CHANGES);
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        if (ch[i].cls == CFG_CHANGE_NEUTRAL)
            continue;
        const int w = snprintf(out + used, used < out_size ? out_size - used : 0, "%s%s: %s -> %s",
                               changed++ ? "; " : "", ch[i].key, ch[i].old_text, ch[i].new_text);
        used += w > 0 ? (size_t)w : 0;
    }
done:
    free(old);
    free(ch);
    return changed ? 1 : 0;
}

/* One data file: there, a regular readable file, a whole number of records. */
static int check_file(const char *path, char *err, size_t err_size)
{
    if (cifar_count(path, err, err_size) < 0)
        return EXIT_USAGE;
    const char *kind = NULL;
    const int fd = open_regular(path, &kind);
    if (fd < 0) {
        snprintf(err, err_size, "%s: cannot read: %s", path, fd == -2 ? kind : strerror(errno));
        return EXIT_USAGE;
    }
    close(fd);
    return 0;
}

int sweep_check_data(const run_config *cfg, char *err, size_t err_size)
{
    char path[2 * CFG_MAX_PATH + 2];
    long have = 0;
    /* The training files the trainer reads: all, or those data.limit_train reaches into. */
    for (int i = 0; i < cfg->data.n_train; i++) {
        if (cfg->data.limit_train > 0 && have >= cfg->data.limit_train)
            break;
        config_data_path(cfg, cfg->data.train[i], path, sizeof path);
        if (check_file(path, err, err_size))
            return EXIT_USAGE;
        have += cifar_count(path, err, err_size);
    }
    config_data_path(cfg, cfg->data.test, path, sizeof path);
    return check_file(path, err, err_size);
}
