/* batch.h: counter-based randomness and the per-sample batch rule (shuffle, pad-crop-flip, normalize), shared by CPU and GPU. */
#ifndef BATCH_H
#define BATCH_H

#include "hd.h"
#include <stdint.h>

/*
 * Everything random in a run is a pure function of (seed, counters), so the CPU and the
 * GPU build bit-identical batches and a resumed run needs no generator state:
 *   - the training stream is the concatenation of epochs; the image at global position
 *     p = step_index * batch + i is record perm_e(p mod N) of epoch e = p / N, where
 *     perm_e is a keyed bijection of 0..N-1 (a Feistel network with cycle walking), so
 *     every record appears exactly once per epoch and every batch is full;
 *   - the crop offsets and the flip of position p come from hash(seed, p).
 */

/* splitmix64 finalizer: a good 64-bit mix. */
HD static inline uint64_t rng_mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A hash of (seed, stream, counter): independent streams for shuffle, crops, init. */
HD static inline uint64_t rng_hash(uint64_t seed, uint64_t stream, uint64_t counter)
{
    return rng_mix64(rng_mix64(seed ^ rng_mix64(stream)) ^ counter);
}

/* Uniform in [0, 1) with 24 random bits (exact in float and double). */
HD static inline double rng_uniform(uint64_t h)
{
    return (double)(h >> 40) * (1.0 / 16777216.0);
}

enum { RNG_STREAM_SHUFFLE = 1, RNG_STREAM_AUGMENT = 2, RNG_STREAM_INIT = 3 };

/* Keyed bijection of [0, n): a 4-round Feistel network on the smallest even-bit power
   of two >= n, walking the cycle until the value falls inside [0, n). */
HD static inline long rng_permute(long i, long n, uint64_t seed, uint64_t epoch)
{
    int bits = 2;
    while ((1L << bits) < n)
        bits += 2;
    const int half = bits / 2;
    const uint64_t mask = (1ull << half) - 1;
    uint64_t x = (uint64_t)i;
    do {
        uint64_t l = x >> half, r = x & mask;
        for (int round = 0; round < 4; round++) {
            uint64_t f = rng_hash(seed, RNG_STREAM_SHUFFLE, (epoch << 8) ^ ((uint64_t)round << 60) ^ r) & mask;
            uint64_t nl = r;
            r = l ^ f;
            l = nl;
        }
        x = (l << half) | r;
    } while (x >= (uint64_t)n);
    return (long)x;
}

/* Which record, crop and flip the sample at global stream position p uses. */
typedef struct sample_plan {
    long record;
    int dx, dy; /* crop offset into the 40x40 padded image, 0..8 */
    int flip;
} sample_plan;

HD static inline sample_plan batch_plan_train(uint64_t seed, long p, long n_records, int shuffle, int augment)
{
    sample_plan sp;
    const long epoch = p / n_records, j = p % n_records;
    sp.record = shuffle ? rng_permute(j, n_records, seed, (uint64_t)epoch) : j;
    if (augment) {
        uint64_t h = rng_hash(seed, RNG_STREAM_AUGMENT, (uint64_t)p);
        sp.dx = (int)(h % 9);
        sp.dy = (int)((h >> 8) % 9);
        sp.flip = (int)((h >> 16) & 1);
    } else {
        sp.dx = sp.dy = 4; /* the centre crop of the padded image is the image itself */
        sp.flip = 0;
    }
    return sp;
}

/*
 * Output pixel (ch, y, x) of the 32x32 sample: padded image coordinates (y+dy, x'+dx)
 * with x' mirrored when flipped; the 4-pixel border is zero before normalization
 * (black), as torchvision's RandomCrop(32, padding=4) pads.
 */
HD static inline float batch_pixel(const uint8_t *record_pixels, const sample_plan *sp, int ch, int y, int x,
                                   const float *mean, const float *inv_std)
{
    const int xs = sp->flip ? 31 - x : x;
    const int py = y + sp->dy - 4, px = xs + sp->dx - 4;
    float v = 0.0f;
    if (py >= 0 && py < 32 && px >= 0 && px < 32)
        v = (float)record_pixels[ch * 1024 + py * 32 + px];
    return (v - mean[ch]) * inv_std[ch];
}

/* CIFAR-10 training-set statistics, 0-255 scale (all 50,000 training images). */
#define CIFAR10_MEAN_R 125.30691805f
#define CIFAR10_MEAN_G 122.95039414f
#define CIFAR10_MEAN_B 113.86538318f
#define CIFAR10_STD_R 62.99321928f
#define CIFAR10_STD_G 62.08870764f
#define CIFAR10_STD_B 66.70489964f

#endif
