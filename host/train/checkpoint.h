/* checkpoint.h: the binary checkpoint (checkpoint.bin): parameters, BN statistics, momentum and the scheduler state, with a CRC-32. */
#ifndef CHECKPOINT_H
#define CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include "model/model.h"
#include "schedule.h"

/* docs/checkpoint.md is the format's specification; keep the two in step. */
#define CKPT_MAGIC "RNCKPT01"
#define CKPT_VERSION 1u
#define CKPT_DTYPE_F32 1u
#define CKPT_FILE "checkpoint.bin"
#define CKPT_HEADER_BYTES 80
#define CKPT_MOMENTUM_PREFIX "momentum."

/*
 * Everything besides the tensors that a resumed run needs. There is no random generator
 * state: batches, crops and flips are pure functions of (seed, stream position) and the
 * position is step * batch_size (kernels/batch.h).
 */
typedef struct ckpt_state {
    uint64_t seed;
    uint32_t depth, num_classes, batch_size;
    int64_t n_train;      /* training images the data order was drawn over */
    int64_t step;         /* completed optimizer steps (train_scalars.sched.step) */
    int64_t warmup_end;   /* sched.warmup_end (He's rule may have moved it) */
    double train_error;   /* sched.train_error, the running error He's rule reads */
    int64_t skipped;      /* train_scalars.skipped */
    int32_t above_count;  /* train_scalars.above_count */
} ckpt_state;

/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320; zlib's crc32). Start with crc = 0. */
uint32_t ckpt_crc32(uint32_t crc, const void *data, size_t n);

/*
 * Writes DIR/checkpoint.bin atomically (temp file, fsync, rename, fsync of DIR): the
 * header from st, then every parameter, BN running statistic and momentum buffer of m
 * (downloaded from the backend). 0, or -1 with a message in err.
 */
int checkpoint_save(const char *dir, const ckpt_state *st, model *m, char *err, size_t err_size);

/*
 * Reads PATH, checks magic, version, checksum, that seed, depth, num_classes, batch size
 * and n_train equal `expect`'s, and that the tensors are exactly m's (names, dtype,
 * shapes); then uploads them into m and fills *out. 0, or -1 with a message in err
 * naming the file and what did not match (the caller exits with EXIT_USAGE).
 */
int checkpoint_load(const char *path, const ckpt_state *expect, model *m, ckpt_state *out,
                    char *err, size_t err_size);

/*
 * Range checks of the loaded header's counters against the run's schedule, so a file
 * with a valid checksum but impossible values (a negative step, a warmup end the rule
 * cannot have produced, an error outside [0, 1], counts of skipped or above-bound steps
 * beyond the step) is refused before anything uses it. 0, or -1 with a message naming
 * the file and the field.
 */
int checkpoint_check_state(const char *path, const ckpt_state *s, const sched_params *sp, char *err, size_t err_size);

#endif
