/* cifar_synth.c: writes synthetic CIFAR-10-format files whose classes a small ResNet can learn (tests, demos). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "data/cifar.h"
#include "common/exitcodes.h"

/*
 * Each class c has a fixed look, a function of c and K only (never of --seed), so a
 * training file and a test file made with different seeds share their classes:
 *   - a mean colour: hue c/K around the colour wheel;
 *   - stripes of a class-specific orientation and frequency. Orientations are taken
 *     from 0..90 degrees so that a horizontal flip (which mirrors an angle a to 180 - a)
 *     never turns one class's stripes into another's; frequencies tell apart the classes
 *     that share an orientation. Stripes are periodic, so random crops only shift them.
 * Each image then draws, from (seed, image index): its label (balanced: exactly N/K per
 * class up to rounding, in shuffled order), the stripes' phase, a brightness offset and
 * per-pixel noise of amplitude --noise.
 */

#define N_ORIENT 5 /* 0, 22.5, 45, 67.5, 90 degrees */
#define STRIPE_AMPLITUDE 45.0
#define BRIGHTNESS_JITTER 20.0

/* Streams of rng_hash private to this generator (the trainer's are 1..3). */
enum { SYN_STREAM_LABEL = 101, SYN_STREAM_IMAGE = 102, SYN_STREAM_NOISE = 103 };

typedef struct class_look {
    double rgb[3];  /* mean colour, 0-255 */
    double kx, ky;  /* stripe wave vector, radians per pixel */
} class_look;

static class_look class_look_make(int c, int k)
{
    class_look lk;
    /* HSV to RGB with fixed saturation and value: distinct hues, mid brightness, so the
       stripes and the noise have room on both sides before clipping. */
    const double h = 6.0 * c / k, s = 0.55, v = 170.0;
    const int sector = (int)h % 6;
    const double f = h - floor(h);
    const double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    const double table[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
    for (int ch = 0; ch < 3; ch++)
        lk.rgb[ch] = table[sector][ch];
    const double pi = 3.14159265358979323846;
    const double angle = (pi / 2) * (c % N_ORIENT) / (N_ORIENT - 1);
    const double cycles = 2.0 + 1.5 * ((c / N_ORIENT) % 4); /* per 32 pixels */
    lk.kx = 2 * pi * cycles / 32.0 * cos(angle);
    lk.ky = 2 * pi * cycles / 32.0 * sin(angle);
    return lk;
}

static uint8_t clamp_u8(double v)
{
    if (v < 0)
        return 0;
    if (v > 255)
        return 255;
    return (uint8_t)lrint(v);
}

static void make_record(uint8_t *rec, long i, long n, int k, double noise, uint64_t seed)
{
    const int label = (int)(rng_permute(i, n, seed ^ SYN_STREAM_LABEL, 0) % k);
    const class_look lk = class_look_make(label, k);
    const double pi = 3.14159265358979323846;
    const double phase = 2 * pi * rng_uniform(rng_hash(seed, SYN_STREAM_IMAGE, 2 * (uint64_t)i));
    const double bright = BRIGHTNESS_JITTER * (2 * rng_uniform(rng_hash(seed, SYN_STREAM_IMAGE, 2 * (uint64_t)i + 1)) - 1);
    rec[0] = (uint8_t)label;
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++) {
            const double stripe = STRIPE_AMPLITUDE * sin(lk.kx * x + lk.ky * y + phase);
            for (int ch = 0; ch < 3; ch++) {
                const uint64_t counter = (uint64_t)i * CIFAR_PIXELS + (uint64_t)(ch * 1024 + y * 32 + x);
                const double e = noise * (2 * rng_uniform(rng_hash(seed, SYN_STREAM_NOISE, counter)) - 1);
                rec[1 + ch * 1024 + y * 32 + x] = clamp_u8(lk.rgb[ch] + bright + stripe + e);
            }
        }
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cifar_synth OUT.bin [--n N] [--seed S] [--classes K] [--noise A]\n\n"
            "Writes N synthetic images in the CIFAR-10 binary format (3073-byte records: a label\n"
            "byte, then 1024 R, 1024 G, 1024 B bytes). Each class has its own mean colour and\n"
            "stripe orientation/frequency, fixed by the class alone, so files made with different\n"
            "seeds (a training and a test file) share their classes; labels are balanced.\n\n"
            "  --n N        images (default 1000)\n"
            "  --seed S     seed of labels order, stripe phase, brightness and noise (default 1)\n"
            "  --classes K  classes, 2..256 (default 10)\n"
            "  --noise A    uniform per-pixel noise in [-A, A], 0..255 (default 30)\n\n"
            "The file is written to a temporary name and renamed into place.\n"
            "exit codes: 0 success, 2 bad usage, 3 I/O failure\n");
}

/* Parses the whole of S as a number in [lo, hi]; 0 on success. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int bad(const char *what)
{
    fprintf(stderr, "cifar_synth: %s\n\n", what);
    usage(stderr);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    long n = 1000, k = 10;
    uint64_t seed = 1;
    double noise = 30.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return EXIT_OK;
        }
        if (!strcmp(a, "--n") || !strcmp(a, "--seed") || !strcmp(a, "--classes") || !strcmp(a, "--noise")) {
            if (i + 1 >= argc)
                return bad("an option is missing its value");
            const char *v = argv[++i];
            int rc;
            if (!strcmp(a, "--n"))
                rc = parse_long(v, 1, 100000000L, &n);
            else if (!strcmp(a, "--seed"))
                rc = parse_u64(v, &seed);
            else if (!strcmp(a, "--classes"))
                rc = parse_long(v, 2, 256, &k);
            else
                rc = parse_double(v, 0.0, 255.0, &noise);
            if (rc) {
                const char *range = !strcmp(a, "--n") ? "a whole number 1..100000000"
                                    : !strcmp(a, "--seed") ? "a whole number >= 0"
                                    : !strcmp(a, "--classes") ? "a whole number 2..256"
                                    : "a number 0..255";
                fprintf(stderr, "cifar_synth: %s wants %s, got '%s'\n", a, range, v);
                return EXIT_USAGE;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "cifar_synth: unknown option '%s'\n\n", a);
            usage(stderr);
            return EXIT_USAGE;
        } else if (out) {
            return bad("only one output file");
        } else {
            out = a;
        }
    }
    if (!out)
        return bad("no output file given");

    /* Temp file beside the target so the rename stays on one file system (atomic): a
       reader never sees a half-written batch file, which would fail the size check. */
    size_t tlen = strlen(out) + 16;
    char *tmp = malloc(tlen);
    if (!tmp) {
        fprintf(stderr, "cifar_synth: out of memory\n");
        return EXIT_RUNTIME;
    }
    snprintf(tmp, tlen, "%s.tmp.XXXXXX", out);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "cifar_synth: %s: cannot create a temporary file beside it: %s\n", out, strerror(errno));
        free(tmp);
        return EXIT_RUNTIME;
    }
    /* mkstemp makes the file 0600; give the data the permissions a plain create would. */
    const mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    FILE *f = fdopen(fd, "wb");
    uint8_t rec[CIFAR_RECORD_BYTES];
    int err_no = f ? 0 : errno;
    for (long i = 0; !err_no && i < n; i++) {
        make_record(rec, i, n, (int)k, noise, seed);
        if (fwrite(rec, sizeof rec, 1, f) != 1)
            err_no = errno ? errno : EIO;
    }
    /* fsync before rename: otherwise a crash could leave the new name on empty data. */
    if (!err_no && (fflush(f) != 0 || fsync(fd) != 0))
        err_no = errno;
    if ((f ? fclose(f) : close(fd)) != 0 && !err_no)
        err_no = errno;
    if (!err_no && rename(tmp, out) != 0)
        err_no = errno;
    if (err_no) {
        fprintf(stderr, "cifar_synth: %s: write failed: %s\n", out, strerror(err_no));
        unlink(tmp);
        free(tmp);
        return EXIT_RUNTIME;
    }
    free(tmp);
    printf("wrote %s: %ld images, %ld classes, seed %llu, noise %g\n", out, n, k, (unsigned long long)seed, noise);
    return EXIT_OK;
}
