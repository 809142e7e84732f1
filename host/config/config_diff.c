/* config_diff.c: the keys two resolved run configs differ in (for --resume and sweep reruns), with the schema's resume classes, and the config's identity hash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config/config.h"
#include "config/config_schema.h"
#include "common/sha256.h"

const char *config_resume_safe_keys(void)
{
    return "train.steps (to extend the run), train.eval_every, train.log_every, train.checkpoint_every, "
           "train.cuda_graph, output.dir, output.overwrite, and data.dir/data.train/data.test when the files' "
           "contents are the same";
}

static int key_class(const cfg_key *k)
{
    if (k->flags & CFG_NEUTRAL)
        return CFG_CHANGE_NEUTRAL;
    if (k->flags & (CFG_RESUME_SAFE | CFG_RESUME_GROW))
        return CFG_CHANGE_SAFE;
    if (k->flags & CFG_DATA_PATH)
        return CFG_CHANGE_DATA;
    return CFG_CHANGE_REFUSED;
}

/* Keys a resolved config carries in run_config and config.yaml prints. */
static int compared(const cfg_key *k)
{
    return !(k->flags & (CFG_NOPRINT | CFG_IN_CTX));
}

static const char *field(const run_config *cfg, const cfg_key *k)
{
    return (const char *)cfg + k->off;
}

static int same_value(const cfg_key *k, const run_config *a, const run_config *b)
{
    const char *pa = field(a, k), *pb = field(b, k);
    switch (k->ctype) {
    case CT_INT:
        return *(const int *)pa == *(const int *)pb;
    case CT_LONG:
        return *(const long *)pa == *(const long *)pb;
    case CT_ULL:
        return *(const unsigned long long *)pa == *(const unsigned long long *)pb;
    case CT_DOUBLE:
        return *(const double *)pa == *(const double *)pb;
    case CT_STR:
        return strcmp(pa, pb) == 0;
    case CT_STRLIST:
    case CT_LONGLIST: {
        const int n = *(const int *)((const char *)a + k->off_n);
        if (n != *(const int *)((const char *)b + k->off_n))
            return 0;
        for (int i = 0; i < n; i++) {
            if (k->ctype == CT_LONGLIST ? ((const long *)pa)[i] != ((const long *)pb)[i]
                                        : strcmp(pa + (size_t)i * CFG_MAX_PATH, pb + (size_t)i * CFG_MAX_PATH) != 0)
                return 0;
        }
        return 1;
    }
    }
    return 0;
}

/* The printed value into OUT, cut with "..." when longer. */
static void value_text(const cfg_key *k, const run_config *cfg, char *out, size_t out_size)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    out[0] = '\0';
    if (!m)
        return;
    cfg_print_value(k, cfg, m);
    fclose(m);
    if (len < out_size)
        snprintf(out, out_size, "%s", buf);
    else
        snprintf(out, out_size, "%.*s...", (int)(out_size - 4), buf);
    free(buf);
}

int config_diff(const run_config *old_cfg, const run_config *new_cfg, cfg_change *out, int max)
{
    int n = 0;
    for (int i = 0; i < CFG_N_KEYS && n < max; i++) {
        const cfg_key *k = &CFG_KEYS[i];
        if (!compared(k) || same_value(k, old_cfg, new_cfg))
            continue;
        cfg_change *c = &out[n++];
        c->key = k->path;
        c->cls = key_class(k);
        c->why = NULL;
        if ((k->flags & CFG_RESUME_GROW) && k->ctype == CT_LONG &&
            *(const long *)field(new_cfg, k) < *(const long *)field(old_cfg, k)) {
            c->cls = CFG_CHANGE_REFUSED;
            c->why = "may only grow on resume";
        }
        value_text(k, old_cfg, c->old_text, sizeof c->old_text);
        value_text(k, new_cfg, c->new_text, sizeof c->new_text);
    }
    return n;
}

void config_identity(const run_config *cfg, char hex[65])
{
    sha256_ctx c;
    sha256_init(&c);
    for (int i = 0; i < CFG_N_KEYS; i++) {
        const cfg_key *k = &CFG_KEYS[i];
        if (!compared(k) || (k->flags & CFG_NEUTRAL))
            continue;
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        if (!m)
            continue;
        fprintf(m, "%s: ", k->path);
        cfg_print_value(k, cfg, m);
        fputc('\n', m);
        fclose(m);
        sha256_update(&c, buf, len);
        free(buf);
    }
    sha256_final_hex(&c, hex);
}
