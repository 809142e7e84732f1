/* run_resume.c: checks a --resume against the run folder's config.yaml and data_files.csv, and appends the changes it accepted to resumes.csv. */
#include "train/run_resume.h"
#include "train/trainer_io.h"
#include "common/exitcodes.h"
#include "common/csv.h"
#include "common/fileio.h"
#include "data/cifar.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A growing one-line message. */
typedef struct line_buf {
    char *s;
    size_t size, used;
} line_buf;

static void add(line_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(line_buf *b, const char *fmt, ...)
{
    if (b->used >= b->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(b->s + b->used, b->size - b->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->used += (size_t)n;
}

/* config_load of the folder's config.yaml, refusing a missing or non-regular file first
   (a FIFO would block the reader); its own errors go to stderr. 0 or EXIT_USAGE. */
static int load_stored(const char *dir, run_config *old, char *path, size_t path_size, char *err, size_t err_size)
{
    path_join(path, path_size, dir, RUN_CONFIG_FILE);
    const char *kind = NULL;
    const int fd = open_regular(path, &kind);
    if (fd < 0) {
        if (fd == -2)
            snprintf(err, err_size, "%s: is %s, expected the config the run started with", path, kind);
        else
            snprintf(err, err_size, "%s: %s: the folder does not say which config produced its checkpoint, so "
                     "the resume cannot be checked against it", path, strerror(errno));
        return EXIT_USAGE;
    }
    close(fd);
    if (config_load(path, 0, NULL, old) != 0) {
        snprintf(err, err_size, "%s: the config the run started with cannot be read back (see above)", path);
        return EXIT_USAGE;
    }
    return 0;
}

static long records(long long bytes) { return (long)(bytes / CIFAR_RECORD_BYTES); }

/* Data files whose content differs from the run's start, into B; the count. */
static int data_refusals(const data_ident *then, const data_ident *now, line_buf *b, int *n_refused)
{
    int bad = 0;
    const int n = then->n < now->n ? then->n : now->n;
    for (int i = 0; i < n; i++) {
        const data_file_id *a = &then->f[i], *c = &now->f[i];
        if (!strcmp(a->sha256, c->sha256) && a->bytes == c->bytes)
            continue;
        add(b, "%s%s: %s (%ld records) differs in content from %s, the file the run started with (sha256 %.12s... "
               "and %ld records, now %.12s...)", (*n_refused)++ ? "; " : "", c->role, c->path, records(c->bytes),
            a->path, a->sha256, records(a->bytes), c->sha256);
        bad++;
    }
    if (then->n != now->n) {
        add(b, "%sthe run started with %d data files, this resume reads %d", (*n_refused)++ ? "; " : "", then->n,
            now->n);
        bad++;
    }
    return bad;
}

int resume_check(const run_config *cfg, const data_ident *now, resume_plan *rp, char *err, size_t err_size)
{
    const char *dir = cfg->output.dir;
    memset(rp, 0, sizeof *rp);
    run_config *old = malloc(sizeof *old);
    cfg_change *ch = malloc(CFG_MAX_CHANGES * sizeof *ch);
    char *msg = malloc(8192);
    int rc = 0;
    if (!old || !ch || !msg) {
        snprintf(err, err_size, "out of memory");
        rc = EXIT_RUNTIME;
        goto done;
    }
    char path[FILEIO_PATH_MAX];
    if ((rc = load_stored(dir, old, path, sizeof path, err, err_size)) != 0)
        goto done;
    const int n = config_diff(old, cfg, ch, CFG_MAX_CHANGES);

    data_ident then;
    char derr[FILEIO_PATH_MAX + 128];
    const int drc = data_ident_read(dir, &then, derr, sizeof derr);
    if (drc == EXIT_USAGE) {
        snprintf(err, err_size, "%s", derr);
        rc = EXIT_USAGE;
        goto done;
    }
    rp->no_data_record = drc == 1;
    line_buf b = {msg, 8192, 0};
    int n_refused = 0, data_moved = 0;
    for (int i = 0; i < n; i++)
        data_moved |= ch[i].cls == CFG_CHANGE_DATA;
    /* Moved data is accepted only when every file is provably the same. */
    const int data_bad = rp->no_data_record ? data_moved : data_refusals(&then, now, &b, &n_refused);
    if (rp->no_data_record && data_moved)
        add(&b, "%sthe folder has no %s, so data moved elsewhere cannot be checked to be the same", n_refused++ ? "; " : "",
            RUN_DATA_FILE);
    for (int i = 0; i < n; i++) {
        const cfg_change *c = &ch[i];
        if (c->cls == CFG_CHANGE_REFUSED || (c->cls == CFG_CHANGE_DATA && data_bad)) {
            add(&b, "%s%s: %s -> %s", n_refused++ ? "; " : "", c->key, c->old_text, c->new_text);
            if (c->why)
                add(&b, " (%s %s)", c->key, c->why);
        } else {
            rp->ch[rp->n++] = *c;
            if (!strcmp(c->key, "train.steps")) {
                rp->steps_changed = 1;
                rp->old_steps = old->train.steps;
            }
        }
    }
    if (n_refused) {
        snprintf(err, err_size, "--resume %s: this resume differs from the run's start (%s): %s. A resume may change "
                 "only %s; for another config, start a new run in another output.dir", dir, path, msg,
                 config_resume_safe_keys());
        rc = EXIT_USAGE;
    }
done:
    free(old);
    free(ch);
    free(msg);
    return rc;
}

/* Appends the accepted changes (step, key, old, new) to resumes.csv, the header first in a new file. */
int resume_log(const char *dir, long step, const resume_plan *rp, char *err, size_t err_size)
{
    if (rp->n == 0)
        return 0;
    char path[FILEIO_PATH_MAX];
    path_join(path, sizeof path, dir, RUN_RESUME_LOG);
    const int fresh = access(path, F_OK) != 0;
    FILE *f = fopen_append_regular(path, err, err_size);
    if (!f)
        return errno == EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
    if (fresh)
        fprintf(f, "%s\n", RUN_RESUME_HEADER);
    for (int i = 0; i < rp->n; i++) {
        fprintf(f, "%ld,%s,", step, rp->ch[i].key);
        csv_put(f, rp->ch[i].old_text, 0);
        csv_put(f, rp->ch[i].new_text, 1);
    }
    const int bad = file_sync(f) != 0;
    const int e = errno;
    if (fclose(f) != 0 || bad) {
        snprintf(err, err_size, "%s: write failed: %s", path, strerror(bad ? e : errno));
        return EXIT_RUNTIME;
    }
    return fsync_parent_dir(path) == 0 || !fresh ? 0 : EXIT_RUNTIME;
}
