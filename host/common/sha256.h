/* sha256.h: SHA-256 (FIPS 180-4) of a byte stream and of a whole file, as lowercase hex: the content identity of data files and resolved configs. */
#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_HEX 65 /* 64 hex digits and the terminating zero */

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t bytes;
    uint8_t block[64];
    size_t fill;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
/* Writes the digest as 64 lowercase hex digits (the form `sha256sum` prints). */
void sha256_final_hex(sha256_ctx *c, char hex[SHA256_HEX]);

/*
 * The digest of the regular file at PATH (opened without blocking, so a FIFO or a
 * device is refused, not waited on) and its size. 0, or -1 with a message naming the
 * file in err.
 */
int sha256_file(const char *path, char hex[SHA256_HEX], long long *size, char *err, size_t err_size);

#endif
