/* config_schema.c: the one table of run-config keys (type, default, range, storage) and the typed parsing of each value. */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config/config_schema.h"
#include "common/exitcodes.h"

static const char *const BACKEND_NAMES[] = {"auto", "cuda", "cpu", NULL};
static const char *const NONFINITE_NAMES[] = {"stop", "skip", NULL};
/* Index order is enum warmup_shape / enum decay_shape in kernels/schedule.h. */
static const char *const WARMUP_NAMES[] = {"none", "constant", "linear", "power", "exponential", "log", NULL};
static const char *const DECAY_NAMES[] = {"constant", "cosine", "step", "poly", "linear", "exponential", NULL};

/* CIFAR ResNets stack 3 stages of n basic blocks (2 convs each) plus the stem and the classifier. */
static int depth_ok(double v)
{
    long d = (long)v;
    return d >= 8 && d <= 2000 && (d - 2) % 6 == 0;
}

#define RC(field) offsetof(run_config, field)
#define NOMAX INFINITY

#define K_INT(p, ct, field, def, lo, hi, fl) \
    {p, VT_INT, ct, RC(field), 0, def, lo, hi, 0, 0, NULL, 0, 0, fl, NULL, NULL}
#define K_NUM(p, field, def, lo, lo_open, hi, hi_open, fl) \
    {p, VT_NUM, CT_DOUBLE, RC(field), 0, def, lo, hi, lo_open, hi_open, NULL, 0, 0, fl, NULL, NULL}
#define K_BOOL(p, field, def) \
    {p, VT_BOOL, CT_INT, RC(field), 0, def, 0, 1, 0, 0, NULL, 0, 0, 0, NULL, NULL}
#define K_BOOLF(p, field, def, fl) \
    {p, VT_BOOL, CT_INT, RC(field), 0, def, 0, 1, 0, 0, NULL, 0, 0, fl, NULL, NULL}
#define K_ENUM(p, field, def, names) \
    {p, VT_ENUM, CT_INT, RC(field), 0, def, 0, 0, 0, 0, names, 0, 0, 0, NULL, NULL}
#define K_STR(p, field, def, fl) \
    {p, VT_STR, CT_STR, RC(field), 0, def, 0, 0, 0, 0, NULL, 0, 0, fl, NULL, NULL}

/*
 * Every key of a run config, in the order `resnet config` prints them. A new key is one
 * line here plus, when it interacts with others, a check in config.c's cross validation.
 * Alternatives (steps or epochs) are validated and resolved in config.c.
 *
 * CFG_F32 marks the values the device holds as float32 (kernels/train_scalars.h's
 * step_policy, kernels/sgd.h's hyperparameters, and the rate train_scalars.lr every
 * schedule value ends up in); the schedule's other parameters stay double on the device.
 * The CFG_RESUME_* / CFG_NEUTRAL / CFG_DATA_PATH flags are the list of keys a --resume
 * may change (configs/README.md, "Resuming").
 */
const cfg_key CFG_KEYS[] = {
    {"model.depth", VT_INT, CT_INT, RC(model.depth), 0, NULL, 8, 2000, 0, 0, NULL, 0, 0, CFG_REQUIRED,
     depth_ok, "an integer 6n+2 (20, 32, 44, 56, 110, 1202...) at most 2000"},
    K_INT("model.num_classes", CT_INT, model.num_classes, "10", 2, 256, 0),

    K_STR("data.dir", data.dir, NULL, CFG_REQUIRED | CFG_DATA_PATH),
    {"data.train", VT_STRLIST, CT_STRLIST, RC(data.train), RC(data.n_train),
     "[data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin]",
     0, 0, 0, 0, NULL, 1, CFG_MAX_TRAIN_FILES, CFG_DATA_PATH, NULL, NULL},
    K_STR("data.test", data.test, "test_batch.bin", CFG_DATA_PATH),
    K_BOOL("data.augment", data.augment, "true"),
    K_BOOL("data.shuffle", data.shuffle, "true"),
    K_INT("data.limit_train", CT_LONG, data.limit_train, "0", 0, NOMAX, 0),

    K_INT("train.batch_size", CT_INT, train.batch_size, "128", 1, 4096, 0),
    K_INT("train.steps", CT_LONG, train.steps, NULL, 1, NOMAX, CFG_RESOLVED | CFG_RESUME_GROW),
    K_NUM("train.epochs", train.epochs, NULL, 0, 1, NOMAX, 0, CFG_NOPRINT | CFG_RESOLVED),
    K_INT("train.seed", CT_ULL, train.seed, "0", 0, NOMAX, 0),
    K_ENUM("train.backend", train.backend, "auto", BACKEND_NAMES),
    K_INT("train.eval_every", CT_LONG, train.eval_every, "0", 0, NOMAX, CFG_RESUME_SAFE),
    K_INT("train.log_every", CT_LONG, train.log_every, "100", 1, NOMAX, CFG_NEUTRAL),
    K_INT("train.checkpoint_every", CT_LONG, train.checkpoint_every, "0", 0, NOMAX, CFG_NEUTRAL),
    K_ENUM("train.nonfinite", train.nonfinite, "stop", NONFINITE_NAMES),
    K_BOOLF("train.cuda_graph", train.cuda_graph, "true", CFG_NEUTRAL),
    K_BOOL("train.tf32", train.tf32, "true"),
    /* 0 = auto: the cores this process may use, shared among a sweep's parallel runs
       (backend.h); the CPU backend's results are the same bits for every count. */
    K_INT("train.threads", CT_INT, train.threads, "0", 0, 256, 0),

    K_NUM("optim.momentum", optim.momentum, "0.9", 0, 0, 1, 1, CFG_F32),
    K_BOOL("optim.nesterov", optim.nesterov, "false"),
    K_NUM("optim.weight_decay", optim.weight_decay, "1e-4", 0, 0, NOMAX, 0, CFG_F32),

    K_NUM("schedule.peak_lr", schedule.peak_lr, NULL, 0, 1, NOMAX, 0, CFG_REQUIRED | CFG_F32),
    K_ENUM("schedule.warmup.shape", schedule.warmup_shape, "none", WARMUP_NAMES),
    K_INT("schedule.warmup.steps", CT_LONG, schedule.warmup_steps, NULL, 0, NOMAX, CFG_RESOLVED),
    {"schedule.warmup.epochs", VT_NUM, CT_DOUBLE, offsetof(cfg_ctx, warmup_epochs), 0, NULL, 0, NOMAX, 0, 0,
     NULL, 0, 0, CFG_NOPRINT | CFG_IN_CTX | CFG_RESOLVED, NULL, NULL},
    K_NUM("schedule.warmup.start_lr", schedule.start_lr, "0", 0, 0, NOMAX, 0, CFG_F32),
    K_NUM("schedule.warmup.power", schedule.warmup_power, "4", 0, 1, NOMAX, 0, 0),
    K_NUM("schedule.warmup.tau", schedule.warmup_tau, NULL, 0, 1, NOMAX, 0, CFG_RESOLVED),
    K_NUM("schedule.warmup.until_train_error", schedule.until_train_error, "0", 0, 0, 1, 0, 0),
    K_ENUM("schedule.decay.shape", schedule.decay_shape, "constant", DECAY_NAMES),
    K_NUM("schedule.decay.end_lr", schedule.end_lr, "0", 0, 0, NOMAX, 0, CFG_F32),
    {"schedule.decay.milestones", VT_INTLIST, CT_LONGLIST, RC(schedule.milestones), RC(schedule.n_milestones),
     "[]", 1, NOMAX, 0, 0, NULL, 0, SCHED_MAX_MILESTONES, 0, NULL, NULL},
    K_NUM("schedule.decay.gamma", schedule.gamma, "0.1", 0, 1, 1, 0, 0),
    K_NUM("schedule.decay.power", schedule.decay_power, "1", 0, 1, NOMAX, 0, 0),

    /* Divergence rules checked on the device every step (reference.md's protocol):
       10 ln 10 is ten times the loss of a uniform guess over 10 classes, 3 ln 10 held
       for 50 steps means training has stopped making progress. 0 turns a rule off. */
    K_NUM("divergence.loss_bound", divergence.loss_bound, "23.025850929940457", 0, 0, NOMAX, 0, CFG_F32),
    K_NUM("divergence.loss_soft_bound", divergence.loss_soft_bound, "6.907755278982137", 0, 0, NOMAX, 0, CFG_F32),
    K_INT("divergence.soft_steps", CT_INT, divergence.soft_steps, "50", 1, 1000000, 0),

    K_STR("output.dir", output.dir, NULL, CFG_RESOLVED | CFG_NEUTRAL),
    K_BOOLF("output.overwrite", output.overwrite, "false", CFG_NEUTRAL),
};
const int CFG_N_KEYS = (int)(sizeof CFG_KEYS / sizeof CFG_KEYS[0]);
_Static_assert(sizeof CFG_KEYS / sizeof CFG_KEYS[0] <= CFG_MAX_KEYS, "raise CFG_MAX_KEYS");

int cfg_find(const char *path)
{
    for (int i = 0; i < CFG_N_KEYS; i++)
        if (!strcmp(CFG_KEYS[i].path, path))
            return i;
    return -1;
}

int cfg_is_section(const char *path)
{
    size_t n = strlen(path);
    for (int i = 0; i < CFG_N_KEYS; i++)
        if (!strncmp(CFG_KEYS[i].path, path, n) && CFG_KEYS[i].path[n] == '.')
            return 1;
    return 0;
}

void cfg_known_children(const char *section, char *out, size_t out_size)
{
    size_t n = strlen(section), used = 0;
    char seen[CFG_MAX_KEYS][64];
    int n_seen = 0;
    out[0] = '\0';
    for (int i = 0; i < CFG_N_KEYS; i++) {
        const char *p = CFG_KEYS[i].path;
        if (n) {
            if (strncmp(p, section, n) || p[n] != '.')
                continue;
            p += n + 1;
        }
        size_t len = strcspn(p, ".");
        if (len >= sizeof seen[0])
            continue;
        int dup = 0;
        for (int j = 0; j < n_seen; j++)
            if (strlen(seen[j]) == len && !strncmp(seen[j], p, len))
                dup = 1;
        if (dup)
            continue;
        memcpy(seen[n_seen], p, len);
        seen[n_seen++][len] = '\0';
        int w = snprintf(out + used, out_size - used, "%s%.*s", used ? ", " : "", (int)len, p);
        if (w < 0 || (size_t)w >= out_size - used)
            return;
        used += (size_t)w;
    }
}

void cfg_error(const cfg_ctx *c, const cfg_loc *loc, const char *path, const char *fmt, ...)
{
    if (loc && loc->set)
        fprintf(stderr, "--set %.*s%s: ", CFG_SET_ARG(loc->set));
    else if (loc && loc->line > 0)
        fprintf(stderr, "%s:%d:%d: %s: ", c->file, loc->line, loc->col, path);
    else
        fprintf(stderr, "%s: %s: ", c->file, path);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cfg_format_double(double v, char *out, size_t out_size)
{
    /* Also tells gcc's -Wformat-truncation, confused by UBSan's null checks, that OUT is real. */
    if (!out || !out_size)
        return;
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, out_size, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

void cfg_expect(const cfg_key *k, char *out, size_t out_size)
{
    char lo[40], hi[40];
    if (k->expect) {
        snprintf(out, out_size, "%s", k->expect);
        return;
    }
    cfg_format_double(k->lo, lo, sizeof lo);
    cfg_format_double(k->hi, hi, sizeof hi);
    switch (k->vtype) {
    case VT_INT:
    case VT_INTLIST: {
        char range[96];
        if (isinf(k->hi))
            snprintf(range, sizeof range, ">= %s", lo);
        else
            snprintf(range, sizeof range, "in %s..%s", lo, hi);
        if (k->vtype == VT_INT)
            snprintf(out, out_size, "an integer %s", range);
        else
            snprintf(out, out_size, "a list of at most %d integers, each %s, e.g. [32000, 48000]", k->max_items,
                     range);
        break;
    }
    case VT_NUM:
        if (isinf(k->hi))
            snprintf(out, out_size, "a number %s %s", k->lo_open ? ">" : ">=", lo);
        else
            snprintf(out, out_size, "a number in %c%s,%s%c", k->lo_open ? '(' : '[', lo, hi,
                     k->hi_open ? ')' : ']');
        break;
    case VT_BOOL:
        snprintf(out, out_size, "true or false");
        break;
    case VT_ENUM: {
        size_t used = (size_t)snprintf(out, out_size, "one of ");
        for (int i = 0; k->names[i] && used < out_size; i++)
            used += (size_t)snprintf(out + used, out_size - used, "%s%s", i ? "|" : "", k->names[i]);
        break;
    }
    case VT_STR:
        snprintf(out, out_size, "a non-empty string");
        break;
    case VT_STRLIST:
        snprintf(out, out_size, "a list of %d..%d file names, e.g. [data_batch_1.bin, data_batch_2.bin]",
                 k->min_items, k->max_items);
        break;
    }
}

/* A plain scalar that YAML reads as null (also what an empty value is). */
static int is_null(const yaml_node_t *n)
{
    if (!n)
        return 1;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *s = (const char *)n->data.scalar.value;
    return !strcmp(s, "") || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

/* How to show a node in "got ...": its text for a scalar, else its kind. */
static void describe(const yaml_node_t *n, char *out, size_t out_size)
{
    if (is_null(n))
        snprintf(out, out_size, "nothing (null)");
    else if (n->type == YAML_MAPPING_NODE)
        snprintf(out, out_size, "a mapping");
    else if (n->type == YAML_SEQUENCE_NODE)
        snprintf(out, out_size, "a list");
    else {
        const char *s = (const char *)n->data.scalar.value;
        int quoted = n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        if (strlen(s) > 60)
            snprintf(out, out_size, "%s'%.57s...'", quoted ? "the quoted string " : "", s);
        else
            snprintf(out, out_size, "%s'%s'", quoted ? "the quoted string " : "", s);
    }
}

/* YAML 1.2 core's spellings of infinity and NaN, which a config must not use. */
static int is_yaml_nonfinite(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    return !strcmp(s, ".inf") || !strcmp(s, ".Inf") || !strcmp(s, ".INF") || !strcmp(s, ".nan") ||
           !strcmp(s, ".NaN") || !strcmp(s, ".NAN");
}

/* Strict decimal number syntax: [+-]digits[.digits][e[+-]digits], at least one digit. */
static int number_syntax(const char *s, int *is_integer)
{
    int digits = 0, integer = 1;
    if (*s == '+' || *s == '-')
        s++;
    while (*s >= '0' && *s <= '9')
        s++, digits++;
    if (*s == '.') {
        integer = 0;
        s++;
        while (*s >= '0' && *s <= '9')
            s++, digits++;
    }
    if (!digits)
        return 0;
    if (*s == 'e' || *s == 'E') {
        integer = 0;
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    *is_integer = integer;
    return *s == '\0';
}

static int in_range(const cfg_key *k, double v)
{
    if (k->check)
        return k->check(v);
    if (k->lo_open ? !(v > k->lo) : !(v >= k->lo))
        return 0;
    if (k->hi_open ? !(v < k->hi) : !(v <= k->hi))
        return 0;
    return 1;
}

/* Why a scalar cannot be this key's value; NULL when it parsed into *i / *d / *e. */
static const char *parse_scalar(const cfg_key *k, const yaml_node_t *n, long long *i, double *d)
{
    if (is_null(n))
        return "";
    if (n->type != YAML_SCALAR_NODE)
        return "";
    const char *s = (const char *)n->data.scalar.value;
    int plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    int integer = 0;
    /* A quoted "\0" would cut the C string short and the rest would be silently dropped. */
    if (strlen(s) != n->data.scalar.length)
        return " (contains a NUL character)";
    switch (k->vtype) {
    case VT_INT:
    case VT_INTLIST:
        if (!plain || !number_syntax(s, &integer) || !integer)
            return "";
        errno = 0;
        *i = strtoll(s, NULL, 10);
        if (errno == ERANGE)
            return " (too large)";
        if (!in_range(k, (double)*i))
            return "";
        return NULL;
    case VT_NUM:
        if (plain && is_yaml_nonfinite(s))
            return " (must be finite)";
        if (!plain || !number_syntax(s, &integer))
            return "";
        errno = 0;
        *d = strtod(s, NULL);
        if (!isfinite(*d))
            return " (must be finite)";
        /* A nonzero literal that strtod rounds to 0 or to a denormal: 1e-400 would
           silently become 0 (or be refused as "not > 0" without saying why). */
        if (errno == ERANGE && fabs(*d) < 1.0)
            return " (too small: it underflows the double range, whose smallest normal number is "
                   "2.2250738585072014e-308)";
        if (!in_range(k, *d))
            return "";
        if ((k->flags & CFG_F32) && *d != 0.0 && (fabs(*d) > FLT_MAX || fabs(*d) < FLT_MIN))
            return fabs(*d) > FLT_MAX
                       ? " (too large for float32, the type the device computes it in: at most 3.40282347e+38)"
                       : " (too small for float32, the type the device computes it in: a nonzero value must be "
                         "at least 1.17549435e-38)";
        return NULL;
    case VT_BOOL:
        /* YAML 1.2 core booleans only: yes/no/on/off are YAML 1.1 traps. */
        if (plain && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))) {
            *i = 1;
            return NULL;
        }
        if (plain && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))) {
            *i = 0;
            return NULL;
        }
        return "";
    case VT_ENUM:
        for (int j = 0; k->names[j]; j++)
            if (!strcmp(s, k->names[j])) {
                *i = j;
                return NULL;
            }
        return "";
    case VT_STR:
    case VT_STRLIST:
        if (!*s)
            return "";
        if (strlen(s) >= CFG_MAX_PATH)
            return " (too long)";
        return NULL;
    }
    return "";
}

static void store_int(const cfg_key *k, void *p, long long v)
{
    switch (k->ctype) {
    case CT_INT:
        *(int *)p = (int)v;
        break;
    case CT_LONG:
        *(long *)p = (long)v;
        break;
    case CT_ULL:
        *(unsigned long long *)p = (unsigned long long)v;
        break;
    default:
        break;
    }
}

/* The value's storage: run_config, or the context for keys consumed by resolution. */
static char *storage(cfg_ctx *c, const cfg_key *k)
{
    return (k->flags & CFG_IN_CTX) ? (char *)c + k->off : (char *)c->cfg + k->off;
}

static int scalar_error(cfg_ctx *c, const cfg_key *k, const char *path, const yaml_node_t *n,
                        const cfg_loc *loc, const char *why)
{
    char want[160], got[96];
    cfg_expect(k, want, sizeof want);
    describe(n, got, sizeof got);
    cfg_error(c, loc, path, "expected %s, got %s%s", want, got, why);
    return EXIT_USAGE;
}

static cfg_loc node_loc(const yaml_node_t *n, const cfg_loc *parent)
{
    cfg_loc l = *parent;
    if (!parent->set && n) {
        l.line = (int)n->start_mark.line + 1;
        l.col = (int)n->start_mark.column + 1;
    }
    return l;
}

int cfg_assign(cfg_ctx *c, int ki, yaml_document_t *doc, yaml_node_t *node, const cfg_loc *loc)
{
    const cfg_key *k = &CFG_KEYS[ki];
    char *p = storage(c, k);
    long long iv = 0;
    double dv = 0;

    if (k->vtype != VT_STRLIST && k->vtype != VT_INTLIST) {
        const char *why = parse_scalar(k, node, &iv, &dv);
        if (why)
            return scalar_error(c, k, k->path, node, loc, why);
        if (k->vtype == VT_NUM)
            *(double *)p = dv;
        else if (k->vtype == VT_STR) {
            /* Zero the tail too: an override leaves no bytes of the value it replaced. */
            memset(p, 0, CFG_MAX_PATH);
            snprintf(p, CFG_MAX_PATH, "%s", (const char *)node->data.scalar.value);
        }
        else if (k->ctype == CT_INT && (iv > INT_MAX))
            return scalar_error(c, k, k->path, node, loc, " (too large)");
        else
            store_int(k, p, iv);
        return 0;
    }

    if (!node || node->type != YAML_SEQUENCE_NODE)
        return scalar_error(c, k, k->path, node, loc, "");
    int n = (int)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (n < k->min_items || n > k->max_items) {
        char want[160];
        cfg_expect(k, want, sizeof want);
        cfg_error(c, loc, k->path, "expected %s, got a list of %d", want, n);
        return EXIT_USAGE;
    }
    memset(p, 0, (size_t)k->max_items * (k->vtype == VT_INTLIST ? sizeof(long) : CFG_MAX_PATH));
    for (int j = 0; j < n; j++) {
        yaml_node_t *item = yaml_document_get_node(doc, node->data.sequence.items.start[j]);
        char ipath[96];
        snprintf(ipath, sizeof ipath, "%s[%d]", k->path, j);
        cfg_loc il = node_loc(item, loc);
        const char *why = parse_scalar(k, item, &iv, &dv);
        if (why) {
            char want[160], got[96];
            describe(item, got, sizeof got);
            if (k->vtype == VT_INTLIST) {
                cfg_key one = *k;
                one.vtype = VT_INT;
                cfg_expect(&one, want, sizeof want);
            } else {
                snprintf(want, sizeof want, "a file name");
            }
            cfg_error(c, &il, ipath, "expected %s, got %s%s", want, got, why);
            return EXIT_USAGE;
        }
        if (k->vtype == VT_INTLIST)
            ((long *)p)[j] = (long)iv;
        else
            snprintf(p + (size_t)j * CFG_MAX_PATH, CFG_MAX_PATH, "%s", (const char *)item->data.scalar.value);
    }
    *(int *)((char *)c->cfg + k->off_n) = n;
    return 0;
}
