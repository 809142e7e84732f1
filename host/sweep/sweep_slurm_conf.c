/* sweep_slurm_conf.c: reads and validates the `slurm` section of a sweep file and --set slurm.KEY=VALUE (partition, time, GPUs, setup lines, ...). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "common/exitcodes.h"
#include "sweep/sweep_slurm_conf.h"

/* Where a value came from: a node of the sweep file, or one --set argument. */
typedef struct slurm_src {
    const char *file;    /* the sweep file, or NULL for --set */
    const char *set_arg; /* the --set argument */
    yaml_document_t *doc;
} slurm_src;

static const char *const KEY_NAMES[] = {"partition", "account", "qos", "time", "gpus_per_task", "gres",
                                        "cpus_per_task", "mem", "signal_seconds", "job_name", "extra", "setup"};
static const char *const KEYS = "partition, account, qos, time, gpus_per_task, gres, cpus_per_task, mem, "
                                "signal_seconds, job_name, extra, setup";

static int known_key(const char *k)
{
    for (size_t i = 0; i < sizeof KEY_NAMES / sizeof KEY_NAMES[0]; i++)
        if (!strcmp(k, KEY_NAMES[i]))
            return 1;
    return 0;
}

static void where(const slurm_src *src, const yaml_node_t *at, char *out, size_t out_size)
{
    if (src->file)
        snprintf(out, out_size, "%s:%d:%d", src->file, (int)at->start_mark.line + 1, (int)at->start_mark.column + 1);
    else
        snprintf(out, out_size, "--set %.160s", src->set_arg);
}

static void perr(const slurm_src *src, const yaml_node_t *at, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void perr(const slurm_src *src, const yaml_node_t *at, const char *key, const char *fmt, ...)
{
    char w[SW_SLURM_WHERE];
    where(src, at, w, sizeof w);
    fprintf(stderr, "%s: slurm.%s: ", w, key);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const char *kind(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE ? "a mapping" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a value";
}

static const char *sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* A value as the error shows it: a quoted scalar in quotes (it is text, not a number). */
static const char *shown(const yaml_node_t *n, char *buf, size_t size)
{
    if (n->type != YAML_SCALAR_NODE)
        snprintf(buf, size, "%s", kind(n));
    else if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        snprintf(buf, size, "\"%.100s\" (quoted: text)", sval(n));
    else
        snprintf(buf, size, "%.100s", *sval(n) ? sval(n) : "nothing");
    return buf;
}

/* Every character of S is a letter, a digit or one of OTHERS; S is not empty. */
static int all_of(const char *s, const char *others)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr(others, *s)))
            return 0;
    return 1;
}

/* A whole number in [lo, hi] written plainly (a quoted "8" is text, as in run configs). */
static int plain_int(const yaml_node_t *n, long lo, long hi, long *v)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *s = sval(n);
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9)
        return 0;
    *v = strtol(s, NULL, 10);
    return *v >= lo && *v <= hi;
}

/* Slurm's time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S; seconds, or -1. */
static long time_seconds(const char *s)
{
    long f[4];
    int n = 0, days = -1;
    const char *p = s;
    const char *dash = strchr(s, '-');
    if (dash) {
        if (dash == s || strspn(s, "0123456789") != (size_t)(dash - s) || dash - s > 4)
            return -1;
        days = atoi(s);
        p = dash + 1;
    }
    for (;;) {
        size_t d = strspn(p, "0123456789");
        if (d == 0 || d > 6 || n == 3)
            return -1;
        f[n++] = strtol(p, NULL, 10);
        p += d;
        if (!*p)
            break;
        if (*p++ != ':')
            return -1;
    }
    long t;
    if (days >= 0) { /* D-H[:M[:S]] */
        if (f[0] > 23 || (n > 1 && f[1] > 59) || (n > 2 && f[2] > 59))
            return -1;
        t = days * 86400L + f[0] * 3600 + (n > 1 ? f[1] * 60 : 0) + (n > 2 ? f[2] : 0);
    } else if (n == 1) {
        t = f[0] * 60;
    } else if (n == 2) { /* M:S */
        if (f[1] > 59)
            return -1;
        t = f[0] * 60 + f[1];
    } else {
        if (f[1] > 59 || f[2] > 59)
            return -1;
        t = f[0] * 3600 + f[1] * 60 + f[2];
    }
    return t > 0 ? t : -1;
}

/* An sbatch option the engine writes itself, or one with its own key here; why, or NULL. */
static const char *owned_option(const char *name)
{
    static const char *const engine[] = {"array", "output", "error", "open-mode", "requeue", "no-requeue",
                                         "signal", "chdir", "wrap", "parsable", "ntasks", "input", "test-only",
                                         "hold", "wait"};
    static const char *const keyed[][2] = {{"partition", "partition"}, {"account", "account"}, {"qos", "qos"},
                                           {"time", "time"}, {"gres", "gres"}, {"gpus-per-task", "gpus_per_task"},
                                           {"cpus-per-task", "cpus_per_task"}, {"mem", "mem"},
                                           {"job-name", "job_name"}};
    static char why[128];
    for (size_t i = 0; i < sizeof engine / sizeof engine[0]; i++)
        if (!strcmp(name, engine[i]))
            return "the Slurm engine writes it itself (one array task per run, requeueable, its own logs)";
    for (size_t i = 0; i < sizeof keyed / sizeof keyed[0]; i++)
        if (!strcmp(name, keyed[i][0])) {
            snprintf(why, sizeof why, "give it as slurm.%s", keyed[i][1]);
            return why;
        }
    return NULL;
}

/* `--name` or `--name=value`: a long sbatch option with a value free of spaces and quotes. */
static int extra_option(const slurm_src *src, const yaml_node_t *n, char *out)
{
    if (n->type != YAML_SCALAR_NODE) {
        perr(src, n, "extra", "expected a list of sbatch options such as --constraint=h100, got %s inside it",
             kind(n));
        return EXIT_USAGE;
    }
    const char *s = sval(n);
    char name[SW_SLURM_NAME] = "";
    const int dashes = !strncmp(s, "--", 2);
    if (dashes) {
        const size_t nl = strcspn(s + 2, "=");
        snprintf(name, sizeof name, "%.*s", (int)(nl < sizeof name ? nl : sizeof name - 1), s + 2);
    }
    const char *eq = strchr(s, '=');
    int ok = dashes && strlen(s) < SW_SLURM_NAME && strlen(s) == n->data.scalar.length && name[0] >= 'a' &&
             name[0] <= 'z' && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(name);
    for (const char *c = eq ? eq + 1 : ""; ok && *c; c++)
        ok = *c > ' ' && *c < 127 && *c != '"' && *c != '\'' && *c != '\\';
    if (!ok || (eq && !eq[1])) {
        perr(src, n, "extra", "expected an sbatch option written --name or --name=value (the long form, no "
                              "spaces or quotes, under %d characters), got '%s'", SW_SLURM_NAME, s);
        return EXIT_USAGE;
    }
    const char *why = owned_option(name);
    if (why) {
        perr(src, n, "extra", "--%s is not allowed here: %s", name, why);
        return EXIT_USAGE;
    }
    snprintf(out, SW_SLURM_NAME, "%s", s);
    return 0;
}

static int setup_line(const slurm_src *src, const yaml_node_t *n, char *out)
{
    if (n->type != YAML_SCALAR_NODE) {
        perr(src, n, "setup", "expected a shell line or a list of them, got %s inside it", kind(n));
        return EXIT_USAGE;
    }
    const char *s = sval(n);
    size_t len = strlen(s);
    if (!len || len >= SW_SLURM_LINE || strcspn(s, "\n\r") != len || len != n->data.scalar.length) {
        perr(src, n, "setup", "expected one shell line (not empty, no line break or NUL, under %d characters), "
                              "e.g. 'module load cuda/12.4'", SW_SLURM_LINE);
        return EXIT_USAGE;
    }
    snprintf(out, SW_SLURM_LINE, "%s", s);
    return 0;
}

/* A list (or one scalar) into up to MAX items via ITEM. */
static int read_list(const slurm_src *src, const yaml_node_t *n, const char *key, int max, int *count,
                     char *items, size_t item_size, int (*item)(const slurm_src *, const yaml_node_t *, char *))
{
    *count = 0;
    if (n->type == YAML_SCALAR_NODE)
        return item(src, n, items) ? EXIT_USAGE : (*count = 1, 0);
    if (n->type != YAML_SEQUENCE_NODE) {
        perr(src, n, key, "expected a list, got %s", kind(n));
        return EXIT_USAGE;
    }
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
        const yaml_node_t *it = yaml_document_get_node(src->doc, *i);
        if (*count >= max) {
            perr(src, it, key, "more than %d entries", max);
            return EXIT_USAGE;
        }
        if (item(src, it, items + (size_t)*count * item_size))
            return EXIT_USAGE;
        (*count)++;
    }
    return 0;
}

/* Text for a string key: a scalar whose characters are letters, digits and ALLOWED. */
static int text_key(const slurm_src *src, const yaml_node_t *n, const char *key, const char *allowed,
                    const char *example, char *out, size_t out_size)
{
    if (n->type != YAML_SCALAR_NODE || !all_of(sval(n), allowed) || strlen(sval(n)) >= out_size ||
        strlen(sval(n)) != n->data.scalar.length) {
        perr(src, n, key, "expected %s (letters, digits and %s), got %s", example, allowed,
             n->type == YAML_SCALAR_NODE ? (*sval(n) ? sval(n) : "nothing") : kind(n));
        return EXIT_USAGE;
    }
    snprintf(out, out_size, "%s", sval(n));
    return 0;
}

static int read_key(const slurm_src *src, const char *key, const yaml_node_t *v, sw_slurm *s)
{
    long num;
    char w[SW_SLURM_WHERE], b[160];
    where(src, v, w, sizeof w);
    if (v->type == YAML_SCALAR_NODE && strlen(sval(v)) != v->data.scalar.length) {
        perr(src, v, key, "the value contains a NUL character");
        return EXIT_USAGE;
    }
    if (!strcmp(key, "partition"))
        return text_key(src, v, key, "_.-,", "a partition name, or several joined by commas", s->partition,
                        sizeof s->partition);
    if (!strcmp(key, "account"))
        return text_key(src, v, key, "_.-", "an account name", s->account, sizeof s->account);
    if (!strcmp(key, "qos"))
        return text_key(src, v, key, "_.-,", "a QOS name", s->qos, sizeof s->qos);
    if (!strcmp(key, "job_name"))
        return text_key(src, v, key, "_.+-", "a job name", s->job_name, sizeof s->job_name);
    if (!strcmp(key, "gres")) {
        snprintf(s->where_gres, sizeof s->where_gres, "%s", w);
        return text_key(src, v, key, "_.:-,", "a generic resource such as gpu:1 or gpu:a100:1", s->gres,
                        sizeof s->gres);
    }
    if (!strcmp(key, "mem")) {
        const char *t = v->type == YAML_SCALAR_NODE ? sval(v) : "";
        size_t d = strspn(t, "0123456789");
        if (v->type != YAML_SCALAR_NODE || d == 0 || d > 12 || t[0] == '0' || (t[d] && (strchr("KMGT", t[d]) == NULL
                                                                                    || t[d + 1]))) {
            perr(src, v, key, "expected memory per node in Slurm's form: a number with an optional unit K, M, G "
                              "or T (megabytes without one), e.g. 32G, got %s", shown(v, b, sizeof b));
            return EXIT_USAGE;
        }
        snprintf(s->mem, sizeof s->mem, "%s", t);
        return 0;
    }
    if (!strcmp(key, "gpus_per_task")) {
        snprintf(s->where_gpus, sizeof s->where_gpus, "%s", w);
        const char *t = v->type == YAML_SCALAR_NODE ? sval(v) : "";
        const char *colon = strrchr(t, ':');
        const char *count = colon ? colon + 1 : t;
        int ok = *count && strspn(count, "0123456789") == strlen(count) && strlen(count) <= 3 && atoi(count) >= 1;
        if (colon) {
            char type[32];
            snprintf(type, sizeof type, "%.*s", (int)(colon - t < 31 ? colon - t : 31), t);
            ok = ok && colon - t < 31 && all_of(type, "_-");
        }
        if (!ok || strlen(t) >= sizeof s->gpus_per_task) {
            perr(src, v, key, "expected a GPU count >= 1, optionally with a type (a100:1), got %s", shown(v, b, sizeof b));
            return EXIT_USAGE;
        }
        snprintf(s->gpus_per_task, sizeof s->gpus_per_task, "%s", t);
        return 0;
    }
    if (!strcmp(key, "cpus_per_task")) {
        if (!plain_int(v, 1, 100000, &num)) {
            perr(src, v, key, "expected a whole number 1..100000, got %s", shown(v, b, sizeof b));
            return EXIT_USAGE;
        }
        s->cpus_per_task = (int)num;
        return 0;
    }
    if (!strcmp(key, "signal_seconds")) {
        snprintf(s->where_signal, sizeof s->where_signal, "%s", w);
        /* Slurm keeps the offset in 16 bits. */
        if (!plain_int(v, 1, 65535, &num)) {
            perr(src, v, key, "expected whole seconds 1..65535 before the time limit, got %s", shown(v, b, sizeof b));
            return EXIT_USAGE;
        }
        s->signal_s = (int)num;
        return 0;
    }
    if (!strcmp(key, "time")) {
        snprintf(s->where_time, sizeof s->where_time, "%s", w);
        long t = v->type == YAML_SCALAR_NODE && strlen(sval(v)) < sizeof s->time ? time_seconds(sval(v)) : -1;
        if (t < 0) {
            perr(src, v, key, "expected a time limit in Slurm's form: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or "
                              "D-HH:MM:SS, more than zero, got %s", shown(v, b, sizeof b));
            return EXIT_USAGE;
        }
        snprintf(s->time, sizeof s->time, "%s", sval(v));
        s->time_s = t;
        return 0;
    }
    if (!strcmp(key, "extra"))
        return read_list(src, v, key, SW_SLURM_MAX_EXTRA, &s->n_extra, &s->extra[0][0], sizeof s->extra[0],
                         extra_option);
    if (!strcmp(key, "setup"))
        return read_list(src, v, key, SW_SLURM_MAX_LINES, &s->n_setup, &s->setup[0][0], sizeof s->setup[0],
                         setup_line);
    perr(src, v, key, "unknown key (known: %s)", KEYS);
    return EXIT_USAGE;
}

int sweep_slurm_parse(const char *file, yaml_document_t *doc, yaml_node_t *map, sw_slurm *s)
{
    slurm_src src = {file, NULL, doc};
    if (map->type != YAML_MAPPING_NODE) {
        fprintf(stderr, "%s:%d:%d: slurm: expected a mapping of Slurm settings (%s), got %s\n", file,
                (int)map->start_mark.line + 1, (int)map->start_mark.column + 1, KEYS, kind(map));
        return EXIT_USAGE;
    }
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top; q++) {
        yaml_node_t *kn = yaml_document_get_node(doc, q->key), *vn = yaml_document_get_node(doc, q->value);
        const char *k = kn->type == YAML_SCALAR_NODE ? sval(kn) : "?";
        for (yaml_node_pair_t *r = map->data.mapping.pairs.start; r < q; r++) {
            yaml_node_t *prev = yaml_document_get_node(doc, r->key);
            if (prev->type == YAML_SCALAR_NODE && !strcmp(sval(prev), k)) {
                perr(&src, kn, k, "given twice (first at line %d)", (int)prev->start_mark.line + 1);
                return EXIT_USAGE;
            }
        }
        if (kn->type != YAML_SCALAR_NODE || strlen(k) > 32) {
            perr(&src, kn, "?", "expected a key name (known: %s)", KEYS);
            return EXIT_USAGE;
        }
        /* An unknown key is reported at the key, a bad value at the value. */
        if (!known_key(k)) {
            perr(&src, kn, k, "unknown key (known: %s)", KEYS);
            return EXIT_USAGE;
        }
        if (read_key(&src, k, vn, s))
            return EXIT_USAGE;
    }
    return 0;
}

int sweep_slurm_set(sw_slurm *s, const char *arg)
{
    const char *eq = strchr(arg, '=');
    const size_t kl = eq ? (size_t)(eq - arg) : 0;
    char key[40];
    if (!eq || kl <= 6 || kl - 6 >= sizeof key || strncmp(arg, "slurm.", 6)) {
        fprintf(stderr, "--set %.160s: expected slurm.KEY=VALUE, e.g. --set slurm.partition=gpu\n", arg);
        return EXIT_USAGE;
    }
    snprintf(key, sizeof key, "%.*s", (int)(kl - 6), arg + 6);
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)(eq + 1), strlen(eq + 1));
    int rc = EXIT_USAGE;
    if (!yaml_parser_load(&parser, &doc)) {
        fprintf(stderr, "--set %.160s: slurm.%s: not a YAML value: %s\n", arg, key,
                parser.problem ? parser.problem : "unreadable");
    } else {
        slurm_src src = {NULL, arg, &doc};
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (!root)
            fprintf(stderr, "--set %.160s: slurm.%s: expected a value after '='\n", arg, key);
        else if (!known_key(key))
            perr(&src, root, key, "unknown key (known: %s)", KEYS);
        else
            rc = read_key(&src, key, root, s);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    return rc;
}

int sweep_slurm_signal_s(const sw_slurm *s)
{
    return s->signal_s ? s->signal_s : SW_SLURM_DEFAULT_SIGNAL_S;
}

int sweep_slurm_check(const sw_slurm *s)
{
    if (s->gres[0] && s->gpus_per_task[0]) {
        fprintf(stderr, "%s: slurm.gpus_per_task: the GPUs are also asked for by slurm.gres (%s); give one\n",
                s->where_gpus, s->where_gres);
        return EXIT_USAGE;
    }
    if (s->time_s > 0 && sweep_slurm_signal_s(s) >= s->time_s) {
        /* The signal is for a checkpoint before the limit; at or past it, it would come at the start. */
        if (s->where_signal[0])
            fprintf(stderr, "%s: slurm.signal_seconds: %d s is not less than slurm.time %s (%ld s, %s)\n",
                    s->where_signal, sweep_slurm_signal_s(s), s->time, s->time_s, s->where_time);
        else
            fprintf(stderr, "%s: slurm.time: %s (%ld s) leaves no time before the stop signal, sent %d s "
                            "before the limit; lengthen it or set slurm.signal_seconds\n", s->where_time, s->time,
                    s->time_s, SW_SLURM_DEFAULT_SIGNAL_S);
        return EXIT_USAGE;
    }
    return 0;
}
