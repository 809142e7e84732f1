/* test_sha256.c: SHA-256 against FIPS 180-4's test vectors (fed whole and in ragged pieces), and sha256_file on a file and on a FIFO (refused at once, not waited on). */
#include "common/sha256.h"
#include "testlib.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void check_vector(const char *what, const void *data, size_t n, const char *want)
{
    char hex[SHA256_HEX];
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, data, n);
    sha256_final_hex(&c, hex);
    CHECK(!strcmp(hex, want), "%s whole: %s, want %s", what, hex, want);
    /* Pieces of 1, 2, 3... bytes cross every block boundary at a different offset. */
    sha256_init(&c);
    const unsigned char *p = data;
    for (size_t at = 0, k = 1; at < n; at += k, k = k % 97 + 1)
        sha256_update(&c, p + at, at + k <= n ? k : n - at);
    sha256_final_hex(&c, hex);
    CHECK(!strcmp(hex, want), "%s in pieces: %s, want %s", what, hex, want);
}

int main(void)
{
    /* FIPS 180-4 examples (NIST's "SHA256.pdf" and the CAVP short/long messages). */
    check_vector("empty", "", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_vector("abc", "abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes: padding spills a block */
    check_vector("448 bits", two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *million = malloc(1000000);
    if (million) {
        memset(million, 'a', 1000000);
        check_vector("a million a's", million, 1000000,
                     "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    }
    char dir[] = "/tmp/test_sha256.XXXXXX";
    if (!mkdtemp(dir))
        test_skip("cannot make a temporary folder");
    char path[64], fifo[64], hex[SHA256_HEX], err[256];
    snprintf(path, sizeof path, "%s/f", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot write %s", path);
    if (f && million) {
        fwrite(million, 1, 1000000, f);
        fclose(f);
        long long size = 0;
        CHECK(sha256_file(path, hex, &size, err, sizeof err) == 0, "sha256_file: %s", err);
        CHECK(size == 1000000, "size %lld", size);
        CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"), "file digest %s", hex);
    }
    /* A FIFO with no writer would block an ordinary open for ever. */
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
    long long size = 0;
    CHECK(sha256_file(fifo, hex, &size, err, sizeof err) != 0, "a FIFO was hashed");
    CHECK(strstr(err, "is a FIFO (named pipe), expected a regular file") != NULL, "FIFO message: %s", err);
    CHECK(sha256_file(dir, hex, &size, err, sizeof err) != 0 && strstr(err, "is a directory"), "folder: %s", err);
    unlink(fifo);
    unlink(path);
    rmdir(dir);
    free(million);
    return test_summary("test_sha256");
}
