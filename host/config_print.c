/* config_print.c: writes a resolved run config as YAML that config_load reads back to the same values. */
#include <string.h>
#include "config_schema.h"

/* A string stays plain only when YAML cannot read it as anything else (null, a list, a comment...). */
static int plain_safe(const char *s)
{
    if (!*s || *s == '-' || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
        return 0;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '.' || ch == '/' || ch == '+' || ch == '-'))
            return 0;
    }
    return 1;
}

static void print_string(const char *s, FILE *out)
{
    if (plain_safe(s)) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void print_value(const cfg_key *k, const run_config *cfg, FILE *out)
{
    const char *p = (const char *)cfg + k->off;
    char num[40];
    switch (k->vtype) {
    case VT_INT:
        if (k->ctype == CT_INT)
            fprintf(out, "%d", *(const int *)p);
        else if (k->ctype == CT_LONG)
            fprintf(out, "%ld", *(const long *)p);
        else
            fprintf(out, "%llu", *(const unsigned long long *)p);
        break;
    case VT_NUM:
        cfg_format_double(*(const double *)p, num, sizeof num);
        fputs(num, out);
        break;
    case VT_BOOL:
        fputs(*(const int *)p ? "true" : "false", out);
        break;
    case VT_ENUM:
        fputs(k->names[*(const int *)p], out);
        break;
    case VT_STR:
        print_string(p, out);
        break;
    case VT_STRLIST:
    case VT_INTLIST: {
        int n = *(const int *)((const char *)cfg + k->off_n);
        fputc('[', out);
        for (int i = 0; i < n; i++) {
            if (i)
                fputs(", ", out);
            if (k->vtype == VT_INTLIST)
                fprintf(out, "%ld", ((const long *)p)[i]);
            else
                print_string(p + (size_t)i * CFG_MAX_PATH, out);
        }
        fputc(']', out);
        break;
    }
    }
}

/* Length of the common leading section components of two dotted section paths. */
static int common_depth(const char *a, const char *b)
{
    int depth = 0;
    while (*a && *b) {
        size_t la = strcspn(a, "."), lb = strcspn(b, ".");
        if (la != lb || strncmp(a, b, la))
            break;
        depth++;
        a += la + (a[la] == '.');
        b += lb + (b[lb] == '.');
    }
    return depth;
}

void config_print(const run_config *cfg, FILE *out)
{
    char prev[128] = "";
    fprintf(out, "# Run config resolved from ");
    print_string(cfg->source, out);
    fprintf(out, ": every key, defaults filled in (configs/README.md documents them).\n");
    for (int k = 0; k < CFG_N_KEYS; k++) {
        const cfg_key *key = &CFG_KEYS[k];
        if (key->flags & CFG_NOPRINT)
            continue;
        char section[128];
        snprintf(section, sizeof section, "%s", key->path);
        char *last = strrchr(section, '.');
        const char *name = key->path + (last - section) + 1;
        *last = '\0';

        /* Open the section headers this key needs beyond those already open. */
        int keep = common_depth(prev, section), depth = 0;
        for (const char *s = section; *s; depth++) {
            size_t len = strcspn(s, ".");
            if (depth >= keep)
                fprintf(out, "%*s%.*s:\n", 2 * depth, "", (int)len, s);
            s += len + (s[len] == '.');
        }
        snprintf(prev, sizeof prev, "%s", section);

        fprintf(out, "%*s%s: ", 2 * depth, "", name);
        print_value(key, cfg, out);
        if (!strcmp(key->path, "train.steps") && cfg->train.epochs > 0) {
            char num[40];
            cfg_format_double(cfg->train.epochs, num, sizeof num);
            fprintf(out, "  # resolved from train.epochs: %s", num);
        }
        fputc('\n', out);
    }
}
