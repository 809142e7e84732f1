/* sweep_expand.c: a parsed sweep into cells and runs: command-line overrides, each cell's settings, stable unique folder names. */
#include <stdlib.h>
#include <string.h>
#include "common/exitcodes.h"
#include "sweep/sweep.h"

int sweep_add_cli_set(sweep_spec *spec, const char *arg)
{
    const char *eq = strchr(arg, '=');
    size_t kl = eq ? (size_t)(eq - arg) : 0;
    if (!eq || kl == 0 || kl >= SW_KEY || strlen(eq + 1) >= SW_VAL) {
        fprintf(stderr, "--set %s: expected KEY=VALUE, e.g. --set data.dir=/data/cifar-10-batches-bin\n", arg);
        return EXIT_USAGE;
    }
    char key[SW_KEY];
    snprintf(key, sizeof key, "%.*s", (int)kl, arg);
    const char *why = sweep_owned_key(key);
    for (int g = 0; g < spec->n_grid && !why; g++)
        if (!strcmp(spec->grid[g].key, key))
            why = "it is a grid key of this sweep";
    for (int v = 0; v < spec->n_variants && !why; v++)
        for (int i = 0; i < spec->variant[v].n; i++)
            if (!strcmp(spec->variant[v].set[i].key, key))
                why = "a variant of this sweep sets it";
    if (why) {
        fprintf(stderr, "--set %s: not allowed: %s\n", arg, why);
        return EXIT_USAGE;
    }
    sw_setting *s = NULL;
    for (int i = 0; i < spec->n_fixed; i++)
        if (!strcmp(spec->fixed[i].key, key))
            s = &spec->fixed[i]; /* the command line overrides the file's `set` */
    if (!s) {
        if (spec->n_fixed >= SW_MAX_SETTINGS) {
            fprintf(stderr, "--set %s: more than %d fixed settings\n", arg, SW_MAX_SETTINGS);
            return EXIT_USAGE;
        }
        s = &spec->fixed[spec->n_fixed++];
    }
    snprintf(s->key, sizeof s->key, "%s", key);
    snprintf(s->val, sizeof s->val, "%s", eq + 1);
    s->line = s->col = 0;
    return 0;
}

const char *sweep_variant_name(const sweep_spec *spec, int v)
{
    return spec->n_variants ? spec->variant[v].name : "default";
}

int sweep_cell_settings(const sweep_spec *spec, const sw_cell *cell, sw_setting *out, int max)
{
    int n = 0;
    for (int i = 0; i < spec->n_fixed && n < max; i++)
        out[n++] = spec->fixed[i];
    if (spec->n_variants)
        for (int i = 0; i < spec->variant[cell->variant].n && n < max; i++)
            out[n++] = spec->variant[cell->variant].set[i];
    for (int g = 0; g < spec->n_grid && n < max; g++) {
        const sw_grid_key *gk = &spec->grid[g];
        sw_setting *s = &out[n++];
        snprintf(s->key, sizeof s->key, "%s", gk->key);
        snprintf(s->val, sizeof s->val, "%s", gk->val[cell->value[g]]);
        s->line = gk->vline[cell->value[g]];
        s->col = gk->vcol[cell->value[g]];
    }
    return n;
}

/* A value's text made safe for a folder name: [A-Za-z0-9.+-] kept, list commas as '+', brackets, quotes and spaces dropped. */
static void slug_value(const char *v, char *out, size_t out_size)
{
    size_t o = 0;
    for (; *v && o + 1 < out_size; v++) {
        char c = *v;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '+' ||
            c == '-')
            out[o++] = c;
        else if (c == ',')
            out[o++] = '+';
        else if (c != '[' && c != ']' && c != ' ' && c != '\'' && c != '"')
            out[o++] = '_';
    }
    out[o] = '\0';
    if (!o)
        snprintf(out, out_size, "empty");
}

static int cmp_slug(const void *a, const void *b)
{
    return strcmp(((const sw_cell *)a)->slug, ((const sw_cell *)b)->slug);
}

int sweep_expand(const sweep_spec *spec, sweep_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    long n_cells = spec->n_variants ? spec->n_variants : 1;
    for (int g = 0; g < spec->n_grid; g++)
        n_cells *= spec->grid[g].n;
    if (n_cells * spec->n_seeds > SW_MAX_RUNS) {
        fprintf(stderr, "%s: the sweep expands to %ld runs; at most %d are allowed\n", spec->file,
                n_cells * spec->n_seeds, SW_MAX_RUNS);
        return EXIT_USAGE;
    }
    plan->n_cells = (int)n_cells;
    plan->n_runs = (int)n_cells * spec->n_seeds;
    plan->cells = calloc((size_t)plan->n_cells, sizeof *plan->cells);
    plan->runs = calloc((size_t)plan->n_runs, sizeof *plan->runs);
    sw_cell *sorted = calloc((size_t)plan->n_cells, sizeof *sorted);
    if (!plan->cells || !plan->runs || !sorted) {
        free(sorted);
        sweep_plan_free(plan);
        fprintf(stderr, "sweep: out of memory\n");
        return EXIT_RUNTIME;
    }
    /* Variants outermost, then the grid keys in file order, the last one fastest. */
    for (int c = 0; c < plan->n_cells; c++) {
        sw_cell *cell = &plan->cells[c];
        long rest = c;
        for (int g = spec->n_grid - 1; g >= 0; g--) {
            cell->value[g] = (int)(rest % spec->grid[g].n);
            rest /= spec->grid[g].n;
        }
        cell->variant = (int)rest;
        size_t used = 0;
        char part[SW_VAL + SW_NAME];
        if (spec->n_variants)
            used = (size_t)snprintf(cell->slug, sizeof cell->slug, "%s", spec->variant[cell->variant].name);
        for (int g = 0; g < spec->n_grid && used < sizeof cell->slug; g++) {
            char v[SW_VAL];
            slug_value(spec->grid[g].val[cell->value[g]], v, sizeof v);
            snprintf(part, sizeof part, "%s%s-%s", used ? "_" : "", spec->grid[g].short_name, v);
            used += (size_t)snprintf(cell->slug + used, sizeof cell->slug - used, "%s", part);
        }
        if (used + 32 >= sizeof cell->slug) {
            fprintf(stderr, "%s: the run folder name for cell '%.60s...' is too long; use shorter variant names\n",
                    spec->file, cell->slug);
            free(sorted);
            sweep_plan_free(plan);
            return EXIT_USAGE;
        }
        for (int s = 0; s < spec->n_seeds; s++) {
            sw_run *r = &plan->runs[c * spec->n_seeds + s];
            r->cell = c;
            r->seed_index = s;
            char name[SW_SLUG + 32];
            snprintf(name, sizeof name, "%s%sseed-%llu", cell->slug, used ? "_" : "", spec->seed[s]);
            memcpy(r->name, name, sizeof r->name - 1); /* fits: used + 32 < SW_SLUG was checked */
            r->name[sizeof r->name - 1] = '\0';
        }
    }
    /* Two cells whose values differ only in characters a folder name cannot hold would share a folder. */
    memcpy(sorted, plan->cells, (size_t)plan->n_cells * sizeof *sorted);
    qsort(sorted, (size_t)plan->n_cells, sizeof *sorted, cmp_slug);
    for (int c = 1; c < plan->n_cells; c++)
        if (!strcmp(sorted[c].slug, sorted[c - 1].slug)) {
            fprintf(stderr, "%s: two cells would share the run folder name '%s'; make the grid values differ in "
                            "letters, digits or . + -\n", spec->file, sorted[c].slug);
            free(sorted);
            sweep_plan_free(plan);
            return EXIT_USAGE;
        }
    free(sorted);
    return 0;
}

void sweep_plan_free(sweep_plan *plan)
{
    free(plan->cells);
    free(plan->runs);
    plan->cells = NULL;
    plan->runs = NULL;
    plan->n_cells = plan->n_runs = 0;
}
