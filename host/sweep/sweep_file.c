/* sweep_file.c: reads a sweep file (YAML, strictly) and expands it into cells and runs with stable folder names. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "common/exitcodes.h"
#include "sweep/sweep.h"

typedef struct sw_parser {
    const char *file;
    yaml_document_t *doc;
    sweep_spec *spec;
} sw_parser;

static const char *const TOP_KEYS = "base, output, seeds, grid, variants, set, divergence, slurm, description";

static void perr(const sw_parser *p, const yaml_node_t *at, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void perr(const sw_parser *p, const yaml_node_t *at, const char *key, const char *fmt, ...)
{
    if (at)
        fprintf(stderr, "%s:%d:%d: %s: ", p->file, (int)at->start_mark.line + 1,
                (int)at->start_mark.column + 1, key);
    else
        fprintf(stderr, "%s: %s: ", p->file, key);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static yaml_node_t *node(const sw_parser *p, yaml_node_item_t i)
{
    return yaml_document_get_node(p->doc, i);
}

static const char *kind(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE ? "a mapping" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a value";
}

static int is_plain(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static const char *sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* A scalar as YAML text for --set: plain as written, quoted strings re-quoted so their type survives. */
static int scalar_text(const yaml_node_t *n, char *out, size_t out_size)
{
    const char *s = sval(n);
    if (is_plain(n))
        return snprintf(out, out_size, "%s", s) < (int)out_size ? 0 : -1;
    size_t o = 0;
    out[o++] = '\'';
    for (; *s; s++) {
        if (o + 3 >= out_size)
            return -1;
        if (*s == '\'')
            out[o++] = '\'';
        out[o++] = *s;
    }
    out[o++] = '\'';
    out[o] = '\0';
    return 0;
}

/* A value (a scalar, or a list of scalars written back in flow style) as YAML text. */
static int value_text(const sw_parser *p, const yaml_node_t *n, const char *key, char *out, size_t out_size)
{
    if (n->type == YAML_SCALAR_NODE) {
        if (is_plain(n) && !*sval(n)) {
            perr(p, n, key, "expected a value, got nothing");
            return EXIT_USAGE;
        }
        if (scalar_text(n, out, out_size) != 0) {
            perr(p, n, key, "value longer than %d characters", (int)out_size - 1);
            return EXIT_USAGE;
        }
        return 0;
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        size_t used = (size_t)snprintf(out, out_size, "[");
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
            yaml_node_t *it = node(p, *i);
            char one[SW_VAL];
            if (it->type != YAML_SCALAR_NODE || scalar_text(it, one, sizeof one) != 0) {
                perr(p, it, key, "expected a list of plain values, got %s inside it", kind(it));
                return EXIT_USAGE;
            }
            used += (size_t)snprintf(out + used, used < out_size ? out_size - used : 0, "%s%s",
                                     i == n->data.sequence.items.start ? "" : ", ", one);
        }
        if (used + 2 > out_size) {
            perr(p, n, key, "value longer than %d characters", (int)out_size - 1);
            return EXIT_USAGE;
        }
        snprintf(out + used, out_size - used, "]");
        return 0;
    }
    perr(p, n, key, "expected a value or a list of values, got a mapping");
    return EXIT_USAGE;
}

/* Keys the sweep itself owns, which no grid, variant or `set` may name. */
const char *sweep_owned_key(const char *key)
{
    if (!strcmp(key, "train.seed"))
        return "the sweep sets each run's seed from `seeds`";
    if (!strcmp(key, "output.dir") || !strcmp(key, "output.overwrite"))
        return "the sweep gives each run its own folder under `output`";
    if (!strncmp(key, "divergence.", 11))
        return "set the failure criteria in the sweep file's `divergence` section";
    return NULL;
}

/* A run-config key path: lower-case words joined by dots. Whether the run config knows it
   is checked later, against the run config's own schema, when the cells are validated. */
static int check_key(const sw_parser *p, const yaml_node_t *kn, const char *where)
{
    const char *k = sval(kn);
    int ok = *k && strlen(k) < SW_KEY && k[0] != '.' && k[strlen(k) - 1] != '.';
    for (const char *c = k; ok && *c; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || (*c == '.' && c[1] != '.');
    if (!ok || kn->type != YAML_SCALAR_NODE) {
        perr(p, kn, where, "'%s' is not a run-config key such as schedule.peak_lr", k);
        return EXIT_USAGE;
    }
    const char *why = sweep_owned_key(k);
    if (why) {
        perr(p, kn, k, "not allowed in %s: %s", where, why);
        return EXIT_USAGE;
    }
    return 0;
}

static int parse_settings(const sw_parser *p, const yaml_node_t *map, const char *where, sw_setting *set,
                          int *n)
{
    if (map->type != YAML_MAPPING_NODE) {
        perr(p, map, where, "expected a mapping of run-config keys to values, got %s", kind(map));
        return EXIT_USAGE;
    }
    *n = 0;
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top; q++) {
        yaml_node_t *kn = node(p, q->key), *vn = node(p, q->value);
        if (check_key(p, kn, where))
            return EXIT_USAGE;
        for (int j = 0; j < *n; j++)
            if (!strcmp(set[j].key, sval(kn))) {
                perr(p, kn, sval(kn), "given twice in %s", where);
                return EXIT_USAGE;
            }
        if (*n >= SW_MAX_SETTINGS) {
            perr(p, kn, where, "more than %d settings", SW_MAX_SETTINGS);
            return EXIT_USAGE;
        }
        sw_setting *s = &set[(*n)++];
        snprintf(s->key, sizeof s->key, "%s", sval(kn));
        s->line = (int)vn->start_mark.line + 1;
        s->col = (int)vn->start_mark.column + 1;
        if (value_text(p, vn, s->key, s->val, sizeof s->val))
            return EXIT_USAGE;
    }
    return 0;
}

static int parse_grid(const sw_parser *p, const yaml_node_t *map)
{
    sweep_spec *sp = p->spec;
    if (map->type != YAML_MAPPING_NODE) {
        perr(p, map, "grid", "expected a mapping of run-config keys to lists of values, got %s", kind(map));
        return EXIT_USAGE;
    }
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top; q++) {
        yaml_node_t *kn = node(p, q->key), *vn = node(p, q->value);
        if (check_key(p, kn, "grid"))
            return EXIT_USAGE;
        for (int j = 0; j < sp->n_grid; j++)
            if (!strcmp(sp->grid[j].key, sval(kn))) {
                perr(p, kn, sval(kn), "given twice in grid");
                return EXIT_USAGE;
            }
        if (sp->n_grid >= SW_MAX_KEYS) {
            perr(p, kn, "grid", "more than %d keys", SW_MAX_KEYS);
            return EXIT_USAGE;
        }
        sw_grid_key *g = &sp->grid[sp->n_grid++];
        snprintf(g->key, sizeof g->key, "%s", sval(kn));
        g->line = (int)kn->start_mark.line + 1;
        g->col = (int)kn->start_mark.column + 1;
        int n = vn->type == YAML_SEQUENCE_NODE
                    ? (int)(vn->data.sequence.items.top - vn->data.sequence.items.start) : 0;
        if (vn->type != YAML_SEQUENCE_NODE || n < 1 || n > SW_MAX_VALUES) {
            perr(p, vn, g->key, "expected a list of 1..%d values, e.g. [0.05, 0.1, 0.2], got %s", SW_MAX_VALUES,
                 vn->type == YAML_SEQUENCE_NODE ? "a list of another length" : kind(vn));
            return EXIT_USAGE;
        }
        g->n = n;
        for (int i = 0; i < n; i++) {
            yaml_node_t *it = node(p, vn->data.sequence.items.start[i]);
            char where[SW_KEY + 16];
            snprintf(where, sizeof where, "%s[%d]", g->key, i);
            g->vline[i] = (int)it->start_mark.line + 1;
            g->vcol[i] = (int)it->start_mark.column + 1;
            if (value_text(p, it, where, g->val[i], sizeof g->val[i]))
                return EXIT_USAGE;
            for (int j = 0; j < i; j++)
                if (sweep_same_value(g->val[j], g->val[i])) {
                    if (!strcmp(g->val[j], g->val[i]))
                        perr(p, it, where, "the value %s is already in the list", g->val[i]);
                    else
                        perr(p, it, where, "the value %s is already in the list (as %s): one value, one run",
                             g->val[i], g->val[j]);
                    return EXIT_USAGE;
                }
        }
    }
    return 0;
}

static int name_ok(const char *s)
{
    if (!*s || *s == '.' || strlen(s) >= SW_NAME)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-' || *s == '.' || *s == '+'))
            return 0;
    return 1;
}

static int parse_variants(const sw_parser *p, const yaml_node_t *map)
{
    sweep_spec *sp = p->spec;
    if (map->type != YAML_MAPPING_NODE) {
        perr(p, map, "variants", "expected a mapping of names to mappings of settings, got %s", kind(map));
        return EXIT_USAGE;
    }
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top; q++) {
        yaml_node_t *kn = node(p, q->key), *vn = node(p, q->value);
        if (kn->type != YAML_SCALAR_NODE || !name_ok(sval(kn))) {
            perr(p, kn, "variants", "a variant name is letters, digits and _ - . + (at most %d), got '%s'",
                 SW_NAME - 1, kn->type == YAML_SCALAR_NODE ? sval(kn) : kind(kn));
            return EXIT_USAGE;
        }
        for (int j = 0; j < sp->n_variants; j++)
            if (!strcmp(sp->variant[j].name, sval(kn))) {
                perr(p, kn, "variants", "the name '%s' is used twice", sval(kn));
                return EXIT_USAGE;
            }
        if (sp->n_variants >= SW_MAX_VARIANTS) {
            perr(p, kn, "variants", "more than %d variants", SW_MAX_VARIANTS);
            return EXIT_USAGE;
        }
        sw_variant *v = &sp->variant[sp->n_variants++];
        snprintf(v->name, sizeof v->name, "%s", sval(kn));
        v->line = (int)kn->start_mark.line + 1;
        v->col = (int)kn->start_mark.column + 1;
        char where[SW_NAME + 16];
        snprintf(where, sizeof where, "variants.%s", v->name);
        if (vn->type == YAML_SCALAR_NODE && is_plain(vn) && !*sval(vn))
            v->n = 0; /* `base: ` with no settings: the base config as it is */
        else if (parse_settings(p, vn, where, v->set, &v->n))
            return EXIT_USAGE;
    }
    return 0;
}

/* Strict decimal number (as the run config reads them); 1 when TEXT is one, with its value. */
static int read_number(const yaml_node_t *n, double *v, int *integer)
{
    if (!is_plain(n))
        return 0;
    const char *s = sval(n);
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (!*s || *end || errno || *v != *v || *v > 1e300 || *v < -1e300)
        return 0;
    *integer = strspn(s, "0123456789") == strlen(s);
    return 1;
}

static int parse_seeds(const sw_parser *p, const yaml_node_t *n)
{
    sweep_spec *sp = p->spec;
    double v;
    int integer;
    if (n->type == YAML_SCALAR_NODE) {
        if (!read_number(n, &v, &integer) || !integer || v < 1 || v > SW_MAX_SEEDS) {
            perr(p, n, "seeds", "expected a count 1..%d (seeds 0..N-1) or a list of seeds, got '%s'",
                 SW_MAX_SEEDS, sval(n));
            return EXIT_USAGE;
        }
        sp->n_seeds = (int)v;
        for (int i = 0; i < sp->n_seeds; i++)
            sp->seed[i] = (unsigned long long)i;
        return 0;
    }
    int cnt = n->type == YAML_SEQUENCE_NODE ? (int)(n->data.sequence.items.top - n->data.sequence.items.start) : 0;
    if (n->type != YAML_SEQUENCE_NODE || cnt < 1 || cnt > SW_MAX_SEEDS) {
        perr(p, n, "seeds", "expected a count or a list of 1..%d seeds, got %s", SW_MAX_SEEDS, kind(n));
        return EXIT_USAGE;
    }
    for (int i = 0; i < cnt; i++) {
        yaml_node_t *it = node(p, n->data.sequence.items.start[i]);
        if (it->type != YAML_SCALAR_NODE || !read_number(it, &v, &integer) || !integer || v > 1e18) {
            perr(p, it, "seeds", "expected a whole number >= 0, got %s",
                 it->type == YAML_SCALAR_NODE ? sval(it) : kind(it));
            return EXIT_USAGE;
        }
        sp->seed[i] = strtoull(sval(it), NULL, 10);
        for (int j = 0; j < i; j++)
            if (sp->seed[j] == sp->seed[i]) {
                perr(p, it, "seeds", "seed %llu is listed twice", sp->seed[i]);
                return EXIT_USAGE;
            }
    }
    sp->n_seeds = cnt;
    return 0;
}

static int parse_criteria(const sw_parser *p, const yaml_node_t *map)
{
    static const char *const names[] = {"loss_bound", "loss_soft_bound", "soft_steps", "stall_error",
                                        "stall_steps", "spike_window"};
    sw_criteria *c = &p->spec->crit;
    if (map->type != YAML_MAPPING_NODE) {
        perr(p, map, "divergence", "expected a mapping, got %s", kind(map));
        return EXIT_USAGE;
    }
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top; q++) {
        yaml_node_t *kn = node(p, q->key), *vn = node(p, q->value);
        int which = -1;
        for (int i = 0; i < 6; i++)
            if (kn->type == YAML_SCALAR_NODE && !strcmp(sval(kn), names[i]))
                which = i;
        char key[64];
        snprintf(key, sizeof key, "divergence.%s", kn->type == YAML_SCALAR_NODE ? sval(kn) : "?");
        if (which < 0) {
            perr(p, kn, key, "unknown key (known: loss_bound, loss_soft_bound, soft_steps, stall_error, "
                             "stall_steps, spike_window)");
            return EXIT_USAGE;
        }
        double v;
        int integer;
        int ok = vn->type == YAML_SCALAR_NODE && read_number(vn, &v, &integer);
        const char *want = which == 0 || which == 1 ? "a number >= 0 (0 switches it off)"
                         : which == 3 ? "a number in [0,1]"
                         : which == 5 ? "a whole number >= 2" : "a whole number >= 1";
        if (ok && (which == 0 || which == 1))
            ok = v >= 0;
        else if (ok && which == 3)
            ok = v >= 0 && v <= 1;
        else if (ok)
            ok = integer && v >= (which == 5 ? 2 : 1) && v < 1e15;
        if (!ok) {
            perr(p, vn, key, "expected %s, got %s", want, vn->type == YAML_SCALAR_NODE ? sval(vn) : kind(vn));
            return EXIT_USAGE;
        }
        switch (which) {
        case 0: c->loss_bound = v; break;
        case 1: c->loss_soft_bound = v; break;
        case 2: c->soft_steps = (long)v; break;
        case 3: c->stall_error = v; break;
        case 4: c->stall_steps = (long)v; break;
        default: c->spike_window = (long)v; break;
        }
    }
    return 0;
}

static int string_value(const sw_parser *p, const yaml_node_t *n, const char *key, char *out, size_t out_size)
{
    if (n->type != YAML_SCALAR_NODE || !*sval(n) || strlen(sval(n)) >= out_size) {
        perr(p, n, key, "expected a path, got %s", n->type == YAML_SCALAR_NODE ? "nothing" : kind(n));
        return EXIT_USAGE;
    }
    snprintf(out, out_size, "%s", sval(n));
    return 0;
}

/* A key must not be swept in two places: its meaning would depend on the order of --set. */
static int check_conflicts(const sw_parser *p)
{
    const sweep_spec *sp = p->spec;
    for (int v = 0; v < sp->n_variants; v++)
        for (int i = 0; i < sp->variant[v].n; i++) {
            const sw_setting *s = &sp->variant[v].set[i];
            for (int g = 0; g < sp->n_grid; g++)
                if (!strcmp(sp->grid[g].key, s->key)) {
                    fprintf(stderr, "%s:%d:%d: %s: set by variant '%s' and also a grid key (line %d); keep one\n",
                            p->file, s->line, s->col, s->key, sp->variant[v].name, sp->grid[g].line);
                    return EXIT_USAGE;
                }
        }
    for (int i = 0; i < sp->n_fixed; i++) {
        const sw_setting *s = &sp->fixed[i];
        for (int g = 0; g < sp->n_grid; g++)
            if (!strcmp(sp->grid[g].key, s->key)) {
                fprintf(stderr, "%s:%d:%d: %s: in `set` and also a grid key (line %d); keep one\n", p->file,
                        s->line, s->col, s->key, sp->grid[g].line);
                return EXIT_USAGE;
            }
        for (int v = 0; v < sp->n_variants; v++)
            for (int j = 0; j < sp->variant[v].n; j++)
                if (!strcmp(sp->variant[v].set[j].key, s->key)) {
                    fprintf(stderr, "%s:%d:%d: %s: in `set` and also in variant '%s' (line %d); keep one\n",
                            p->file, s->line, s->col, s->key, sp->variant[v].name, sp->variant[v].set[j].line);
                    return EXIT_USAGE;
                }
    }
    return 0;
}

/* The shortest dotted suffix of each grid key that no other grid key shares, for the slugs. */
static void short_names(sweep_spec *sp)
{
    for (int i = 0; i < sp->n_grid; i++) {
        const char *k = sp->grid[i].key;
        for (int d = 1;; d++) {
            const char *suf = k + strlen(k);
            int parts = 0;
            while (suf > k && parts < d)
                if (*--suf == '.' && ++parts == d)
                    suf++;
            int clash = 0;
            for (int j = 0; j < sp->n_grid && !clash; j++) {
                const char *o = sp->grid[j].key;
                size_t ls = strlen(suf), lo = strlen(o);
                clash = j != i && lo >= ls && !strcmp(o + lo - ls, suf) && (lo == ls || o[lo - ls - 1] == '.');
            }
            if (!clash || suf == k) {
                snprintf(sp->grid[i].short_name, sizeof sp->grid[i].short_name, "%s", suf);
                break;
            }
        }
    }
}

static int parse_root(sw_parser *p, yaml_node_t *root)
{
    sweep_spec *sp = p->spec;
    const yaml_node_t *seen_base = NULL, *seen_seeds = NULL;
    if (!root || root->type != YAML_MAPPING_NODE) {
        perr(p, root, "(top)", "expected a mapping with keys %s", TOP_KEYS);
        return EXIT_USAGE;
    }
    for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < root->data.mapping.pairs.top; q++) {
        yaml_node_t *kn = node(p, q->key), *vn = node(p, q->value);
        const char *k = kn->type == YAML_SCALAR_NODE ? sval(kn) : "?";
        for (yaml_node_pair_t *r = root->data.mapping.pairs.start; r < q; r++)
            if (!strcmp(sval(node(p, r->key)), k)) {
                perr(p, kn, k, "given twice");
                return EXIT_USAGE;
            }
        int rc;
        if (!strcmp(k, "base")) {
            char rel[SW_PATH];
            rc = string_value(p, vn, k, rel, sizeof rel);
            if (!rc) {
                /* Relative to the sweep file, so a sweep file and its base travel together. */
                const char *slash = strrchr(p->file, '/');
                int dl = slash ? (int)(slash - p->file) : 0;
                if (rel[0] == '/' || !slash)
                    snprintf(sp->base, sizeof sp->base, "%s", rel);
                else if (snprintf(sp->base, sizeof sp->base, "%.*s/%s", dl, p->file, rel) >= (int)sizeof sp->base)
                    rc = EXIT_USAGE;
            }
            seen_base = vn;
        } else if (!strcmp(k, "output"))
            rc = string_value(p, vn, k, sp->output, sizeof sp->output);
        else if (!strcmp(k, "seeds"))
            rc = parse_seeds(p, vn), seen_seeds = vn;
        else if (!strcmp(k, "grid"))
            rc = parse_grid(p, vn);
        else if (!strcmp(k, "variants"))
            rc = parse_variants(p, vn);
        else if (!strcmp(k, "set"))
            rc = parse_settings(p, vn, "set", sp->fixed, &sp->n_fixed);
        else if (!strcmp(k, "divergence"))
            rc = parse_criteria(p, vn);
        else if (!strcmp(k, "slurm"))
            rc = sweep_slurm_parse(p->file, p->doc, vn, &sp->slurm);
        else if (!strcmp(k, "description"))
            rc = vn->type == YAML_SCALAR_NODE ? 0 : (perr(p, vn, k, "expected text"), EXIT_USAGE);
        else {
            perr(p, kn, k, "unknown key (known: %s)", TOP_KEYS);
            rc = EXIT_USAGE;
        }
        if (rc)
            return EXIT_USAGE;
    }
    if (!seen_base) {
        perr(p, NULL, "base", "missing: name the run config every run starts from, e.g. base: ../cpu_smoke.yaml");
        return EXIT_USAGE;
    }
    if (!seen_seeds) {
        perr(p, NULL, "seeds", "missing: give a count (seeds: 5 means 0..4) or a list");
        return EXIT_USAGE;
    }
    if (!sp->output[0]) {
        /* runs/<file stem>, relative to the working directory like a run's output.dir. */
        const char *name = strrchr(p->file, '/') ? strrchr(p->file, '/') + 1 : p->file;
        size_t stem = strcspn(name, ".");
        snprintf(sp->output, sizeof sp->output, "runs/%.*s", (int)(stem ? stem : strlen(name)), name);
    }
    short_names(sp);
    return check_conflicts(p);
}

int sweep_parse(const char *path, sweep_spec *spec)
{
    const sw_criteria defaults = SW_DEFAULT_CRITERIA;
    memset(spec, 0, sizeof *spec);
    spec->crit = defaults;
    snprintf(spec->file, sizeof spec->file, "%s", path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open the sweep file: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int rc = EXIT_USAGE;
    if (!yaml_parser_load(&parser, &doc)) {
        fprintf(stderr, "%s:%d:%d: YAML syntax: %s\n", path, (int)parser.problem_mark.line + 1,
                (int)parser.problem_mark.column + 1, parser.problem ? parser.problem : "unreadable");
    } else {
        sw_parser p = {path, &doc, spec};
        rc = parse_root(&p, yaml_document_get_root_node(&doc));
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}

