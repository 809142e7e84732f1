/* cifar.c: reads CIFAR-10 binary batch files (record count from the file size, every label checked). */
#include "data/cifar.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/exitcodes.h"
#include "common/fileio.h"

/* Records read per fread: large enough to stream at disk speed, small enough (1.5 MB)
   that the staging buffer never matters next to the data set itself. */
#define CHUNK_RECORDS 512

/*
 * The checks that need only the file's metadata. Shared by cifar_count (stat) and
 * cifar_load (fstat of the opened file, so the size checked is the size of the file
 * actually read, even if the path is replaced in between).
 */
static long count_from_stat(const char *path, const struct stat *st, char *err, size_t err_size)
{
    if (S_ISDIR(st->st_mode)) {
        snprintf(err, err_size, "%s: is a directory, not a CIFAR-10 batch file", path);
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        snprintf(err, err_size, "%s: is %s, not a CIFAR-10 batch file", path, file_kind(st->st_mode));
        return -1;
    }
    const long long size = (long long)st->st_size;
    if (size == 0) {
        snprintf(err, err_size, "%s: empty file (a CIFAR-10 batch file holds 3073-byte records)", path);
        return -1;
    }
    if (size % CIFAR_RECORD_BYTES != 0) {
        snprintf(err, err_size,
                 "%s: size %lld bytes is not a multiple of the %d-byte record "
                 "(%lld whole records and %lld bytes left over); the file is truncated "
                 "or not in the CIFAR-10 binary format",
                 path, size, CIFAR_RECORD_BYTES, size / CIFAR_RECORD_BYTES, size % CIFAR_RECORD_BYTES);
        return -1;
    }
    return (long)(size / CIFAR_RECORD_BYTES);
}

/* Where the files come from, for a message about a missing one. */
#define GET_DATA_HINT "; datasets/get_cifar10.sh downloads the official CIFAR-10 files (test_batch.bin among them) " \
                      "into data/cifar-10-batches-bin; with a copy that lacks this file, name one it has " \
                      "(--set data.test=FILE, --set data.train=[...])"

/* A missing file, and whether its folder is missing too (a wrong data.dir, not a wrong name). */
static void missing(const char *path, char *err, size_t err_size)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    struct stat st;
    if (slash && slash != path && (size_t)(slash - path) < sizeof dir) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
        if (stat(dir, &st) != 0 && errno == ENOENT) {
            snprintf(err, err_size, "%s: no such file: the folder %s does not exist" GET_DATA_HINT, path, dir);
            return;
        }
        if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
            snprintf(err, err_size, "%s: no such file: %s is not a folder", path, dir);
            return;
        }
    }
    snprintf(err, err_size, "%s: no such file (expected a CIFAR-10 batch file of 3073-byte records)" GET_DATA_HINT,
             path);
}

long cifar_count(const char *path, char *err, size_t err_size)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            missing(path, err, err_size);
        else
            snprintf(err, err_size, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    return count_from_stat(path, &st, err, err_size);
}

/* Grows both arrays of `set` to hold `total` records; the old contents stay valid
   (and owned by `set`) when this fails. */
static int grow(cifar_set *set, long total)
{
    if ((size_t)total > SIZE_MAX / CIFAR_PIXELS)
        return -1;
    uint8_t *images = realloc(set->images, (size_t)total * CIFAR_PIXELS);
    if (!images)
        return -1;
    set->images = images;
    uint8_t *labels = realloc(set->labels, (size_t)total);
    if (!labels)
        return -1;
    set->labels = labels;
    return 0;
}

int cifar_load(cifar_set *set, const char *path, long limit, int num_classes, char *err, size_t err_size)
{
    /* Without blocking: a FIFO with no writer would hang a plain open, /dev/zero the read. */
    const char *kind = NULL;
    const int fd = open_regular(path, &kind);
    if (fd == -2) {
        snprintf(err, err_size, "%s: is %s, not a CIFAR-10 batch file", path, kind);
        return EXIT_USAGE;
    }
    if (fd < 0) {
        /* Missing or unreadable is the user's data to fix, not a machine failure. */
        if (errno == ENOENT || errno == ENOTDIR)
            missing(path, err, err_size);
        else
            snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        return EXIT_USAGE;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
        return EXIT_RUNTIME;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        snprintf(err, err_size, "%s: cannot read: %s", path, strerror(errno));
        fclose(f);
        return EXIT_RUNTIME;
    }
    long n = count_from_stat(path, &st, err, err_size);
    if (n < 0) {
        fclose(f);
        return EXIT_USAGE;
    }
    if (limit > 0 && limit < n)
        n = limit;

    const long base = set->n;
    if (n > LONG_MAX - base || grow(set, base + n) != 0) {
        snprintf(err, err_size, "%s: out of memory for %ld more records (%.1f MB)", path, n,
                 (double)n * CIFAR_RECORD_BYTES / 1e6);
        fclose(f);
        return EXIT_RUNTIME;
    }

    uint8_t *chunk = malloc((size_t)CHUNK_RECORDS * CIFAR_RECORD_BYTES);
    if (!chunk) {
        snprintf(err, err_size, "%s: out of memory for the read buffer", path);
        fclose(f);
        return EXIT_RUNTIME;
    }
    int rc = 0;
    for (long done = 0; done < n && rc == 0;) {
        const long want = n - done < CHUNK_RECORDS ? n - done : CHUNK_RECORDS;
        const size_t got = fread(chunk, CIFAR_RECORD_BYTES, (size_t)want, f);
        if (got != (size_t)want) {
            if (ferror(f))
                snprintf(err, err_size, "%s: read error at record %ld: %s", path, done + (long)got,
                         strerror(errno));
            else
                snprintf(err, err_size,
                         "%s: ended after %ld of %ld records (did the file change while it was read?)",
                         path, done + (long)got, n);
            rc = EXIT_RUNTIME;
            break;
        }
        for (long r = 0; r < want; r++) {
            const uint8_t *rec = chunk + (size_t)r * CIFAR_RECORD_BYTES;
            const long idx = done + r;
            if ((int)rec[0] >= num_classes) {
                snprintf(err, err_size,
                         "%s: record %ld (counting from 0) has label %d, but with %d classes "
                         "labels must be 0..%d",
                         path, idx, rec[0], num_classes, num_classes - 1);
                rc = EXIT_USAGE;
                break;
            }
            set->labels[base + idx] = rec[0];
            memcpy(set->images + (size_t)(base + idx) * CIFAR_PIXELS, rec + 1, CIFAR_PIXELS);
        }
        done += want;
    }
    free(chunk);
    fclose(f);
    /* Only a fully read file counts: a half-appended file would silently shift every
       later file's records. */
    if (rc == 0)
        set->n = base + n;
    return rc;
}

void cifar_free(cifar_set *set)
{
    free(set->images);
    free(set->labels);
    set->images = NULL;
    set->labels = NULL;
    set->n = 0;
}
