/* config_print.c: writes a resolved run config as YAML that config_load reads back to the same values. */
#include <string.h>
#include "config/config_schema.h"

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

/* Length of the UTF-8 sequence at P and its code point, or 0 when the bytes are not valid UTF-8. */
static int utf8_decode(const unsigned char *p, unsigned long *cp)
{
    int n = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!n)
        return 0;
    unsigned long v = n == 1 ? p[0] : p[0] & (0x7f >> n);
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3f);
    }
    static const unsigned long min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

/*
 * Double-quoted, with every character that YAML would not read back as itself escaped:
 * controls (C0, DEL, C1, which the YAML reader refuses raw), the characters YAML counts
 * as line breaks inside a scalar (NEL, U+2028, U+2029), a BOM and the non-characters
 * U+FFFE/U+FFFF. Bytes that are not UTF-8 (possible only in a file name from the command
 * line, printed in the header comment) are shown as \xNN.
 */
static void print_string(const char *s, FILE *out)
{
    if (plain_safe(s)) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        unsigned long cp;
        int n = utf8_decode(p, &cp);
        if (!n) {
            fprintf(out, "\\x%02x", *p++);
            continue;
        }
        if (cp == '"' || cp == '\\')
            fprintf(out, "\\%c", (int)cp);
        else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
            fprintf(out, "\\x%02lx", cp);
        else if (cp == 0x2028 || cp == 0x2029 || cp == 0xfeff || cp == 0xfffe || cp == 0xffff)
            fprintf(out, "\\u%04lx", cp);
        else
            fwrite(p, 1, (size_t)n, out);
        p += n;
    }
    fputc('"', out);
}

void cfg_print_value(const cfg_key *k, const run_config *cfg, FILE *out)
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
        cfg_print_value(key, cfg, out);
        if (!strcmp(key->path, "train.steps") && cfg->train.epochs > 0) {
            char num[40];
            cfg_format_double(cfg->train.epochs, num, sizeof num);
            fprintf(out, "  # resolved from train.epochs: %s", num);
        }
        fputc('\n', out);
    }
}
