/* checkpoint.c: writes and reads checkpoint.bin (little-endian fields, named tensors, CRC-32 trailer), byte order independent of the host. */
#include "train/checkpoint.h"
#include "common/fileio.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t ckpt_crc32(uint32_t crc, const void *data, size_t n)
{
    /* Bitwise form: a checkpoint is a few MB, written every K steps, so a table buys nothing. */
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* ---- writing ---- */

typedef struct writer {
    FILE *f;
    uint32_t crc;
    int failed;   /* errno of the first failed write (disk full...), 0 while all is well */
} writer;

static void put(writer *w, const void *p, size_t n)
{
    if (w->failed)
        return;
    if (fwrite(p, 1, n, w->f) != n)
        w->failed = errno ? errno : EIO;
    w->crc = ckpt_crc32(w->crc, p, n);
}

static void put_u(writer *w, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put(w, b, (size_t)bytes);
}

static void put_f64(writer *w, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    put_u(w, u, 8);
}

static void put_tensor(writer *w, const char *prefix, const param_view *v, const float *data)
{
    char name[MODEL_NAME_MAX + 16];
    snprintf(name, sizeof name, "%s%s", prefix, v->name);
    const size_t len = strlen(name);
    put_u(w, len, 2);
    put(w, name, len);
    put_u(w, CKPT_DTYPE_F32, 1);
    put_u(w, (uint64_t)v->rank, 1);
    for (int i = 0; i < v->rank; i++)
        put_u(w, (uint64_t)v->shape[i], 4);
    /* Element by element through the bit pattern: little-endian whatever the host. */
    uint8_t buf[4096];
    size_t fill = 0;
    for (long i = 0; i < v->count; i++) {
        uint32_t u;
        memcpy(&u, &data[i], 4);
        for (int k = 0; k < 4; k++)
            buf[fill++] = (uint8_t)(u >> (8 * k));
        if (fill == sizeof buf) {
            put(w, buf, fill);
            fill = 0;
        }
    }
    put(w, buf, fill);
}

int checkpoint_save(const char *dir, const ckpt_state *st, model *m, char *err, size_t err_size)
{
    const model_layout *L = m->L;
    char path[FILEIO_PATH_MAX];
    if (path_join(path, sizeof path, dir, CKPT_FILE) != 0) {
        snprintf(err, err_size, "%s: path too long", dir);
        return -1;
    }
    float *hw = malloc((size_t)L->n_params * sizeof(float));
    float *hv = malloc((size_t)L->n_params * sizeof(float));
    float *hs = malloc((size_t)L->n_stats * sizeof(float));
    if (!hw || !hv || !hs) {
        free(hw), free(hv), free(hs);
        snprintf(err, err_size, "%s: out of memory", path);
        return -1;
    }
    backend *be = m->be;
    be->ops->sync(be);
    be->ops->download(be, hw, m->w, (size_t)L->n_params * sizeof(float));
    be->ops->download(be, hv, m->v, (size_t)L->n_params * sizeof(float));
    be->ops->download(be, hs, m->stats, (size_t)L->n_stats * sizeof(float));

    atomic_file af;
    writer w = {atomic_open(&af, path, err, err_size), 0, 0};
    if (!w.f) {
        free(hw), free(hv), free(hs);
        return -1;
    }
    put(&w, CKPT_MAGIC, 8);
    put_u(&w, CKPT_VERSION, 4);
    put_u(&w, st->seed, 8);
    put_u(&w, st->depth, 4);
    put_u(&w, st->num_classes, 4);
    put_u(&w, st->batch_size, 4);
    put_u(&w, (uint64_t)st->n_train, 8);
    put_u(&w, (uint64_t)st->step, 8);
    put_u(&w, (uint64_t)st->warmup_end, 8);
    put_f64(&w, st->train_error);
    put_u(&w, (uint64_t)st->skipped, 8);
    put_u(&w, (uint32_t)st->above_count, 4);
    put_u(&w, (uint64_t)(2 * L->n_views + L->n_stat_views), 4);
    for (int i = 0; i < L->n_views; i++)
        put_tensor(&w, "", &L->views[i], hw + L->views[i].offset);
    for (int i = 0; i < L->n_stat_views; i++)
        put_tensor(&w, "", &L->stat_views[i], hs + L->stat_views[i].offset);
    for (int i = 0; i < L->n_views; i++)
        put_tensor(&w, CKPT_MOMENTUM_PREFIX, &L->views[i], hv + L->views[i].offset);
    const uint32_t crc = w.crc;
    put_u(&w, crc, 4);
    free(hw), free(hv), free(hs);
    if (w.failed) {
        atomic_abort(&af);
        snprintf(err, err_size, "%s: write failed: %s (nothing replaced: the previous checkpoint, if any, "
                 "is unchanged)", path, strerror(w.failed));
        return -1;
    }
    return atomic_commit(&af, err, err_size);
}

/* ---- reading ---- */

typedef struct reader {
    const uint8_t *p;
    size_t n, at;
    int short_read;
} reader;

static uint64_t get_u(reader *r, int bytes)
{
    if (r->at + (size_t)bytes > r->n) {
        r->short_read = 1;
        r->at = r->n;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[r->at + i] << (8 * i);
    r->at += (size_t)bytes;
    return v;
}

static void fmt_shape(char *out, size_t n, int rank, const uint32_t *dims)
{
    size_t at = (size_t)snprintf(out, n, "(");
    for (int i = 0; i < rank && at < n; i++)
        at += (size_t)snprintf(out + at, n - at, i ? ", %u" : "%u", dims[i]);
    if (at < n)
        snprintf(out + at, n - at, ")");
}

static int read_whole(const char *path, uint8_t **data, size_t *size, char *err, size_t err_size)
{
    /* Not fopen: a FIFO would block here, /dev/zero would fill the memory. */
    FILE *f = fopen_regular(path, err, err_size);
    if (!f)
        return -1;
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        const size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    const int bad = !buf || ferror(f), e = errno;
    fclose(f);
    if (bad) {
        snprintf(err, err_size, "%s: cannot read: %s", path, buf ? strerror(e) : "out of memory");
        free(buf);
        return -1;
    }
    *data = buf;
    *size = n;
    return 0;
}

/*
 * The size the file's own header and tensor headers call for, walking them without the
 * checksum: more than `size` means the file stops short (a truncated tail), and `where`
 * then says in what part. 0 for a layout that makes no sense (corrupt, not short).
 */
static uint64_t layout_size(const uint8_t *data, size_t size, char *where, size_t where_size)
{
    snprintf(where, where_size, "inside the header");
    if (size < CKPT_HEADER_BYTES)
        return CKPT_HEADER_BYTES + 4;
    reader r = {data, size, CKPT_HEADER_BYTES - 4, 0};
    const uint32_t n = (uint32_t)get_u(&r, 4);
    uint64_t at = CKPT_HEADER_BYTES;
    for (uint32_t t = 0; t < n; t++) {
        snprintf(where, where_size, "inside tensor %u of %u", t + 1, n);
        if (at + 2 > size)
            return at + 2 + 4;
        const uint64_t len = data[at] | (uint64_t)data[at + 1] << 8;
        if (at + 2 + len + 2 > size)
            return at + 2 + len + 2 + 4;
        const char *name = (const char *)data + at + 2;
        snprintf(where, where_size, "inside tensor %u of %u ('%.*s')", t + 1, n, (int)(len < 80 ? len : 80), name);
        const unsigned rank = data[at + 2 + len + 1];
        at += 2 + len + 2;
        if (rank > 8)
            return 0;
        if (at + 4 * (uint64_t)rank > size)
            return at + 4 * (uint64_t)rank + 4;
        r.at = (size_t)at;
        uint64_t count = 1;
        for (unsigned i = 0; i < rank; i++) {
            count *= get_u(&r, 4);
            if (count > ((uint64_t)1 << 40))
                return 0;
        }
        at += 4 * (uint64_t)rank + 4 * count;
        if (at > size)
            return at + 4;
    }
    return at + 4;
}

/* Checks the header fields against `expect`; names the first field that differs. */
static int check_header(const char *path, const ckpt_state *e, const ckpt_state *s, char *err, size_t err_size)
{
#define SAME(field, key, fmt, cast)                                                              \
    if (s->field != e->field) {                                                                  \
        snprintf(err, err_size, "%s: written by a run with %s " fmt " but this run has " fmt    \
                 "; resume with the config that started it", path, key, (cast)s->field,          \
                 (cast)e->field);                                                               \
        return -1;                                                                               \
    }
    SAME(seed, "train.seed", "%llu", unsigned long long)
    SAME(depth, "model.depth", "%u", unsigned)
    SAME(num_classes, "model.num_classes", "%u", unsigned)
    SAME(batch_size, "train.batch_size", "%u", unsigned)
    SAME(n_train, "training images (data.train, data.limit_train)", "%lld", long long)
#undef SAME
    return 0;
}

int checkpoint_load(const char *path, const ckpt_state *expect, model *m, ckpt_state *out,
                    char *err, size_t err_size)
{
    const model_layout *L = m->L;
    uint8_t *data = NULL;
    size_t size = 0;
    if (read_whole(path, &data, &size, err, err_size) != 0)
        return -1;
    float *hw = malloc((size_t)L->n_params * sizeof(float));
    float *hv = malloc((size_t)L->n_params * sizeof(float));
    float *hs = malloc((size_t)L->n_stats * sizeof(float));
    char *seen = calloc((size_t)(2 * L->n_views + L->n_stat_views), 1);
    int rc = -1;
    if (!hw || !hv || !hs || !seen) {
        snprintf(err, err_size, "%s: out of memory", path);
        goto done;
    }
    if (size == 0) {
        snprintf(err, err_size, "%s: empty file, expected a checkpoint", path);
        goto done;
    }
    if (memcmp(data, CKPT_MAGIC, size < 8 ? size : 8) != 0) {
        snprintf(err, err_size, "%s: not a checkpoint (the file does not start with the magic bytes \"%s\")",
                 path, CKPT_MAGIC);
        goto done;
    }
    if (size < 12) {
        snprintf(err, err_size, "%s: truncated: %zu bytes, shorter than the %d-byte header", path, size,
                 CKPT_HEADER_BYTES);
        goto done;
    }
    reader r = {data, size, 8, 0};
    const uint32_t version = (uint32_t)get_u(&r, 4);
    if (version != CKPT_VERSION) {
        snprintf(err, err_size, "%s: checkpoint format version %u, this program reads version %u",
                 path, version, CKPT_VERSION);
        goto done;
    }
    reader tail = {data, size, size - 4, 0};
    const uint32_t want_crc = (uint32_t)get_u(&tail, 4), got_crc = ckpt_crc32(0, data, size - 4);
    if (want_crc != got_crc) {
        char where[MODEL_NAME_MAX + 64];
        const uint64_t need = layout_size(data, size, where, sizeof where);
        if (need > size)
            snprintf(err, err_size, "%s: truncated: the file ends after %zu bytes, %s, but its own sizes "
                     "call for at least %llu (checksum mismatch)", path, size, where, (unsigned long long)need);
        else
            snprintf(err, err_size, "%s: checksum mismatch (stored CRC-32 %08x, computed %08x): the file is "
                     "corrupt", path, want_crc, got_crc);
        goto done;
    }
    r.n = size - 4; /* the tensors end where the checksum begins */
    ckpt_state s;
    s.seed = get_u(&r, 8);
    s.depth = (uint32_t)get_u(&r, 4);
    s.num_classes = (uint32_t)get_u(&r, 4);
    s.batch_size = (uint32_t)get_u(&r, 4);
    s.n_train = (int64_t)get_u(&r, 8);
    s.step = (int64_t)get_u(&r, 8);
    s.warmup_end = (int64_t)get_u(&r, 8);
    const uint64_t te = get_u(&r, 8);
    memcpy(&s.train_error, &te, 8);
    s.skipped = (int64_t)get_u(&r, 8);
    s.above_count = (int32_t)(uint32_t)get_u(&r, 4);
    const uint32_t n_tensors = (uint32_t)get_u(&r, 4);
    if (r.short_read) {
        snprintf(err, err_size, "%s: truncated header", path);
        goto done;
    }
    if (check_header(path, expect, &s, err, err_size) != 0)
        goto done;

    const size_t pre = strlen(CKPT_MOMENTUM_PREFIX);
    for (uint32_t t = 0; t < n_tensors; t++) {
        const size_t len = (size_t)get_u(&r, 2);
        char name[MODEL_NAME_MAX + 16] = "";
        if (len >= sizeof name || r.at + len > r.n) {
            snprintf(err, err_size, "%s: tensor %u: bad name length %zu", path, t, len);
            goto done;
        }
        memcpy(name, r.p + r.at, len);
        name[len] = '\0';
        r.at += len;
        const unsigned dtype = (unsigned)get_u(&r, 1), rank = (unsigned)get_u(&r, 1);
        uint32_t dims[8] = {0};
        if (rank > 8) {
            snprintf(err, err_size, "%s: tensor '%s': rank %u", path, name, rank);
            goto done;
        }
        for (unsigned i = 0; i < rank; i++)
            dims[i] = (uint32_t)get_u(&r, 4);
        /* Where the tensor goes: a momentum buffer, a parameter, or a BN statistic. */
        const int mom = strncmp(name, CKPT_MOMENTUM_PREFIX, pre) == 0;
        int vi = model_layout_find(L, 0, mom ? name + pre : name), stats = 0;
        if (vi < 0 && !mom) {
            vi = model_layout_find(L, 1, name);
            stats = 1;
        }
        if (vi < 0) {
            snprintf(err, err_size, "%s: tensor '%s' does not exist in a depth-%d model with %d classes",
                     path, name, L->depth, L->num_classes);
            goto done;
        }
        const param_view *v = stats ? &L->stat_views[vi] : &L->views[vi];
        const int slot = stats ? 2 * L->n_views + vi : (mom ? L->n_views : 0) + vi;
        if (dtype != CKPT_DTYPE_F32) {
            snprintf(err, err_size, "%s: tensor '%s' has dtype code %u, expected %u (float32)", path,
                     name, dtype, CKPT_DTYPE_F32);
            goto done;
        }
        int same = (int)rank == v->rank;
        for (unsigned i = 0; same && i < rank; i++)
            same = dims[i] == (uint32_t)v->shape[i];
        if (!same) {
            char got[96], want[96];
            uint32_t vd[4];
            for (int i = 0; i < v->rank; i++)
                vd[i] = (uint32_t)v->shape[i];
            fmt_shape(got, sizeof got, (int)rank, dims);
            fmt_shape(want, sizeof want, v->rank, vd);
            snprintf(err, err_size, "%s: tensor '%s' has shape %s in the file but %s in the model",
                     path, name, got, want);
            goto done;
        }
        if (seen[slot]) {
            snprintf(err, err_size, "%s: tensor '%s' appears twice", path, name);
            goto done;
        }
        seen[slot] = 1;
        if (r.at + 4 * (size_t)v->count > r.n) {
            snprintf(err, err_size, "%s: tensor '%s': data truncated", path, name);
            goto done;
        }
        float *dst = (stats ? hs : mom ? hv : hw) + v->offset;
        for (long i = 0; i < v->count; i++) {
            const uint32_t u = (uint32_t)get_u(&r, 4);
            memcpy(&dst[i], &u, 4);
        }
    }
    for (int i = 0; i < 2 * L->n_views + L->n_stat_views; i++) {
        if (!seen[i]) {
            const param_view *v = i < 2 * L->n_views ? &L->views[i % L->n_views]
                                                     : &L->stat_views[i - 2 * L->n_views];
            snprintf(err, err_size, "%s: tensor '%s%s' is missing", path,
                     i >= L->n_views && i < 2 * L->n_views ? CKPT_MOMENTUM_PREFIX : "", v->name);
            goto done;
        }
    }
    if (r.short_read || r.at != r.n) {
        snprintf(err, err_size, "%s: %zu unexpected bytes after the last tensor", path, r.n - r.at);
        goto done;
    }
    backend *be = m->be;
    be->ops->upload(be, m->w, hw, (size_t)L->n_params * sizeof(float));
    be->ops->upload(be, m->v, hv, (size_t)L->n_params * sizeof(float));
    be->ops->upload(be, m->stats, hs, (size_t)L->n_stats * sizeof(float));
    be->ops->sync(be);
    *out = s;
    rc = 0;
done:
    free(data);
    free(hw), free(hv), free(hs), free(seen);
    return rc;
}

int checkpoint_check_state(const char *path, const ckpt_state *s, const sched_params *sp, char *err, size_t err_size)
{
    const long long T = sp->total_steps, W = sp->warmup_shape == WARMUP_NONE ? 0 : sp->warmup_steps;
    const long long step = s->step, we = s->warmup_end;
    if (step > T) {
        snprintf(err, err_size, "%s: the checkpoint is at step %lld, past train.steps %lld", path, step, T);
        return -1;
    }
    if (step < 1) {
        snprintf(err, err_size, "%s: header field step is %lld, expected 1..%lld (train.steps): a checkpoint is "
                 "written after a step; the file is damaged or not this program's", path, step, T);
        return -1;
    }
    /* He's rule moves the end of warmup earlier, to a step already run, and only with a
       threshold; otherwise it stays at schedule.warmup.steps (0 without a warmup). */
    const int moved_ok = sp->until_train_error > 0 && we >= 1 && we < W && we <= step;
    if (we != W && !moved_ok) {
        snprintf(err, err_size, "%s: header field warmup_end is %lld, expected %lld (schedule.warmup.steps)%s", path,
                 we, W, sp->until_train_error > 0 ? " or, moved by until_train_error, a step in 1..min(step, warmup "
                 "steps - 1)" : "");
        return -1;
    }
    if (!(s->train_error >= 0.0 && s->train_error <= 1.0)) {
        snprintf(err, err_size, "%s: header field train_error is %g, expected a fraction in [0, 1] (the running "
                 "training error after step %lld)", path, s->train_error, step);
        return -1;
    }
    if (s->skipped < 0 || s->skipped > step) {
        snprintf(err, err_size, "%s: header field skipped is %lld, expected 0..%lld (steps skipped so far)", path,
                 (long long)s->skipped, step);
        return -1;
    }
    if (s->above_count < 0 || s->above_count > step) {
        snprintf(err, err_size, "%s: header field above_count is %d, expected 0..%lld (consecutive steps above the "
                 "soft loss bound)", path, s->above_count, step);
        return -1;
    }
    return 0;
}
