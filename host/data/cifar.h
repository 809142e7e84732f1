/* cifar.h: the CIFAR-10 binary format reader (3073-byte records: label, 1024 R, 1024 G, 1024 B). */
#ifndef CIFAR_H
#define CIFAR_H

#include <stddef.h>
#include <stdint.h>

#define CIFAR_RECORD_BYTES 3073
#define CIFAR_PIXELS 3072

typedef struct cifar_set {
    long n;            /* records */
    uint8_t *images;   /* n x 3072: R plane, G plane, B plane, row-major 32x32 each */
    uint8_t *labels;   /* n */
} cifar_set;

/*
 * Record count of FILE from its size, without reading it. Returns the count, or -1 after
 * writing a message naming the file and the problem (missing, empty, size not a multiple
 * of 3073) into err.
 */
long cifar_count(const char *path, char *err, size_t err_size);

/*
 * Appends up to `limit` records of each file (limit <= 0: all) to `set`, checking every
 * label against num_classes. Returns 0, or EXIT_USAGE (bad file: missing, empty, size,
 * label; the message names the file and record index) or EXIT_RUNTIME (read error, out
 * of memory) after writing a message into err. `set` must start zeroed.
 */
int cifar_load(cifar_set *set, const char *path, long limit, int num_classes, char *err, size_t err_size);

void cifar_free(cifar_set *set);

#endif
