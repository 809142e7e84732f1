/* fuzz_entry.c: runs one fuzz input through the config loader or the CIFAR reader and checks what came back. */
#include "fuzz_entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/cifar.h"
#include "cli/commands.h"
#include "config/config.h"
#include "common/exitcodes.h"

static char tmp_dir[512];
static char cfg_path[600], printed_path[600], bin_path[600], data_set[600];

/* The data folder every config input reads: sizes only matter (the loader stats the
   files), so they are sparse. Record counts are small enough that a fuzzed batch size
   can be larger or smaller than the data. */
static const struct {
    const char *name;
    long bytes;
} DATA_FILES[] = {
    {"data_batch_1.bin", 1000L * CIFAR_RECORD_BYTES}, {"data_batch_2.bin", 1000L * CIFAR_RECORD_BYTES},
    {"data_batch_3.bin", 1000L * CIFAR_RECORD_BYTES}, {"data_batch_4.bin", 1000L * CIFAR_RECORD_BYTES},
    {"data_batch_5.bin", 1000L * CIFAR_RECORD_BYTES}, {"test_batch.bin", 500L * CIFAR_RECORD_BYTES},
    {"a.bin", 2L * CIFAR_RECORD_BYTES},               {"empty.bin", 0},
    {"odd.bin", 100},
};
#define N_DATA_FILES ((int)(sizeof DATA_FILES / sizeof DATA_FILES[0]))
static int quiet = 1;

void fuzz_set_quiet(int q) { quiet = q; }

/* A failed invariant: say which, then abort so the fuzzer keeps the input as a crash. */
static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz invariant broken: %s\n%s%s", what, detail ? detail : "",
            detail && *detail && detail[strlen(detail) - 1] != '\n' ? "\n" : "");
    fflush(stderr);
    abort();
}

static void remove_tmp(void)
{
    char p[700];
    for (int i = 0; i < N_DATA_FILES; i++) {
        snprintf(p, sizeof p, "%s/d/%s", tmp_dir, DATA_FILES[i].name);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/d", tmp_dir);
    rmdir(p);
    unlink(cfg_path);
    unlink(printed_path);
    unlink(bin_path);
    rmdir(tmp_dir);
}

/* One private folder per process (libFuzzer may run several jobs side by side). */
static void ensure_tmp(void)
{
    if (tmp_dir[0])
        return;
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/resnet_fuzz_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_dir)) {
        perror(tmp_dir);
        abort();
    }
    snprintf(cfg_path, sizeof cfg_path, "%s/input.yaml", tmp_dir);
    snprintf(printed_path, sizeof printed_path, "%s/printed.yaml", tmp_dir);
    snprintf(bin_path, sizeof bin_path, "%s/input.bin", tmp_dir);
    snprintf(data_set, sizeof data_set, "data.dir=%s/d", tmp_dir);
    atexit(remove_tmp);
    char p[700];
    snprintf(p, sizeof p, "%s/d", tmp_dir);
    if (mkdir(p, 0700) != 0) {
        perror(p);
        abort();
    }
    for (int i = 0; i < N_DATA_FILES; i++) {
        snprintf(p, sizeof p, "%s/d/%s", tmp_dir, DATA_FILES[i].name);
        FILE *f = fopen(p, "wb");
        if (!f || ftruncate(fileno(f), DATA_FILES[i].bytes) != 0 || fclose(f) != 0) {
            perror(p);
            abort();
        }
    }
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/*
 * The readers print to the stdio stream `stderr`; glibc lets a program assign that
 * variable, which swaps only the stream. File descriptor 2 stays where it is, so a
 * sanitizer report in the middle of a call still reaches the terminal.
 */
typedef struct capture {
    FILE *saved, *mem;
    char *buf;
    size_t len;
} capture;

static void capture_begin(capture *c)
{
    fflush(stderr);
    c->buf = NULL;
    c->len = 0;
    c->mem = open_memstream(&c->buf, &c->len);
    if (!c->mem)
        abort();
    c->saved = stderr;
    stderr = c->mem;
}

static void capture_end(capture *c)
{
    stderr = c->saved;
    fclose(c->mem);
}

static void capture_release(capture *c)
{
    if (!quiet && c->len)
        fwrite(c->buf, 1, c->len, stderr);
    free(c->buf);
    c->buf = NULL;
}

/* An error must come with a message (that says where) on its own line(s), and a known exit code. */
static void check_error_report(int rc, const capture *c, const char *where)
{
    if (rc != EXIT_OK && rc != EXIT_USAGE && rc != EXIT_RUNTIME)
        broken("exit code outside 0/2/3", c->buf);
    if (rc == EXIT_OK)
        return;
    if (c->len == 0)
        broken("an error without a message", NULL);
    if (c->buf[c->len - 1] != '\n')
        broken("an error message without a final newline", c->buf);
    if (!strstr(c->buf, where) && !strstr(c->buf, "--set"))
        broken("an error message that names neither the file nor the --set", c->buf);
}

/* config_print's text, minus the header line (it names the source file) and the epochs note. */
static char *printed(const run_config *cfg, size_t *len)
{
    char *buf = NULL;
    FILE *m = open_memstream(&buf, len);
    if (!m)
        abort();
    config_print(cfg, m);
    fclose(m);
    char *body = strchr(buf, '\n');
    if (!body)
        broken("config_print wrote no header line", buf);
    memmove(buf, body + 1, strlen(body + 1) + 1);
    char *note = strstr(buf, "\n  steps: ");
    if (note) {
        char *eol = strchr(note + 1, '\n');
        char *c = strstr(note + 1, "  # resolved from train.epochs: ");
        if (c && eol && c < eol)
            memmove(c, eol, strlen(eol) + 1);
    }
    *len = strlen(buf);
    return buf;
}

/* What `resnet config` promises: the printed config loads back and prints the same. */
static void check_round_trip(const run_config *cfg)
{
    size_t len1, len2;
    char *full = NULL;
    size_t full_len = 0;
    FILE *m = open_memstream(&full, &full_len);
    if (!m)
        abort();
    config_print(cfg, m);
    fclose(m);
    write_file(printed_path, full, full_len);

    run_config *again = malloc(sizeof *again);
    if (!again)
        abort();
    capture c;
    capture_begin(&c);
    int rc = config_load(printed_path, 0, NULL, again);
    capture_end(&c);
    if (rc != EXIT_OK) {
        fprintf(stderr, "printed config:\n%s\nreload said:\n", full);
        broken("the printed config does not load back", c.buf);
    }
    capture_release(&c);
    char *a = printed(cfg, &len1), *b = printed(again, &len2);
    if (len1 != len2 || memcmp(a, b, len1) != 0) {
        fprintf(stderr, "first print:\n%s\nafter reload:\n%s\n", a, b);
        broken("the printed config loads back different", NULL);
    }
    free(a);
    free(b);
    free(full);
    free(again);
}

int fuzz_config_input(const uint8_t *data, size_t size)
{
    ensure_tmp();
    const size_t mlen = strlen(FUZZ_SET_MARKER);
    size_t yaml_len = size, rest = size;
    for (size_t i = 0; i + mlen <= size; i++) {
        if ((i == 0 || data[i - 1] == '\n') && !memcmp(data + i, FUZZ_SET_MARKER, mlen) &&
            (i + mlen == size || data[i + mlen] == '\n')) {
            yaml_len = i;
            rest = i + mlen + (i + mlen < size);
            break;
        }
    }
    write_file(cfg_path, data, yaml_len);

    /* The argument lines, NUL-terminated in a copy (an embedded NUL ends an argument, as in argv). */
    char *text = malloc(size - rest + 1);
    if (!text)
        abort();
    memcpy(text, data + rest, size - rest);
    text[size - rest] = '\0';
    char *argv[4 + 2 * FUZZ_MAX_SETS + 1];
    int argc = 0;
    argv[argc++] = "config";
    argv[argc++] = cfg_path;
    argv[argc++] = "--set";
    argv[argc++] = data_set;
    char *line = text;
    int value_next = 0; /* the line after a bare "--set" is its value, passed as written */
    for (int n = 0; rest < size && n < FUZZ_MAX_SETS && line; n++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (!nl && !*line && n > 0)
            break; /* the newline that ends the last line starts no argument */
        if (!value_next && strncmp(line, "--set", 5) != 0)
            argv[argc++] = "--set";
        argv[argc++] = line;
        value_next = !value_next && !strcmp(line, "--set");
        line = nl ? nl + 1 : NULL;
    }
    argv[argc] = NULL;

    char *sets[4 + 2 * FUZZ_MAX_SETS + 1];
    int n_sets = 0, rc = EXIT_OK;
    run_config *cfg = malloc(sizeof *cfg);
    if (!cfg)
        abort();
    capture c;
    capture_begin(&c);
    /* The same argument loop as the subcommands': a non-set argument is skipped here. */
    for (int i = 2; i < argc; i++) {
        int used = cli_collect_sets(argc, argv, i, sets, &n_sets);
        if (used < 0) {
            rc = EXIT_USAGE;
            break;
        }
        if (used > 0)
            i += used - 1;
    }
    if (rc == EXIT_OK)
        rc = config_load(cfg_path, n_sets, sets, cfg);
    capture_end(&c);
    check_error_report(rc, &c, cfg_path);
    capture_release(&c);
    if (rc == EXIT_OK)
        check_round_trip(cfg);
    free(cfg);
    free(text);
    return rc;
}

/* Expected outcome of one cifar_load, computed from the bytes alone. */
static int check_load(const uint8_t *data, size_t size, long count, cifar_set *set, long limit, int k)
{
    char err[1024] = "", want[64] = "";
    const long base = set->n;
    int rc = cifar_load(set, bin_path, limit, k, err, sizeof err);
    long n = count < 0 ? -1 : (limit > 0 && limit < count ? limit : count);
    if (n > 0 && (size_t)n * CIFAR_RECORD_BYTES > size)
        broken("cifar_count counted records beyond the end of the file", NULL);
    long bad = -1;
    for (long r = 0; r < n && bad < 0; r++)
        if (data[(size_t)r * CIFAR_RECORD_BYTES] >= k)
            bad = r;
    if (count < 0 || bad >= 0) {
        if (rc != EXIT_USAGE)
            broken("cifar_load accepted a bad file or failed with the wrong code", err);
        if (!strstr(err, bin_path))
            broken("a cifar_load message that does not name the file", err);
        snprintf(want, sizeof want, "record %ld ", bad);
        if (bad >= 0 && !strstr(err, want))
            broken("a bad-label message that does not name the record", err);
        if (set->n != base)
            broken("a failed cifar_load changed the record count", err);
        if (!quiet)
            fprintf(stderr, "%s\n", err);
        return rc;
    }
    if (rc != EXIT_OK || set->n != base + n)
        broken("cifar_load refused a good file or counted wrong", err);
    for (long r = 0; r < n; r++) {
        const uint8_t *rec = data + (size_t)r * CIFAR_RECORD_BYTES;
        if (set->labels[base + r] != rec[0] ||
            memcmp(set->images + (size_t)(base + r) * CIFAR_PIXELS, rec + 1, CIFAR_PIXELS) != 0)
            broken("a record read back differs from the file", NULL);
    }
    return rc;
}

int fuzz_cifar_input(const uint8_t *data, size_t size)
{
    ensure_tmp();
    write_file(bin_path, data, size);
    char err[1024] = "";
    long count = cifar_count(bin_path, err, sizeof err);
    if (size == 0 || size % CIFAR_RECORD_BYTES != 0) {
        if (count != -1 || !strstr(err, bin_path))
            broken("cifar_count accepted a bad size or did not name the file", err);
    } else if (count != (long)(size / CIFAR_RECORD_BYTES)) {
        broken("cifar_count miscounted", err);
    }
    /* Two loads into one set: all records with 10 classes, then an append with a class
       count and a limit taken from the last bytes, so labels near the bound get tried. */
    cifar_set set;
    memset(&set, 0, sizeof set);
    const int rc = check_load(data, size, count, &set, 0, 10);
    const int k = 2 + (size ? data[size - 1] % 9 : 0);
    const long limit = size > 1 ? data[size - 2] % 4 : 0;
    check_load(data, size, count, &set, limit, k);
    cifar_free(&set);
    if (set.n != 0 || set.images || set.labels)
        broken("cifar_free left the set non-empty", NULL);
    return rc;
}
