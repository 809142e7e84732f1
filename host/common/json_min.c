/* json_min.c: a small recursive-descent JSON reader that flattens one object into key -> text pairs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/json_min.h"
#include "common/fileio.h"

typedef struct jp {
    const char *s;
    json_flat *out;
    char *err;
    size_t err_size;
} jp;

static void skip_ws(jp *p)
{
    while (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')
        p->s++;
}

static int fail(jp *p, const char *what)
{
    snprintf(p->err, p->err_size, "%s near '%.20s'", what, p->s);
    return -1;
}

/* Appends one code point as UTF-8 at *o (bounded by end). */
static void put_utf8(char **o, const char *end, unsigned cp)
{
    unsigned char b[4];
    int n;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp, n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6)), b[1] = (unsigned char)(0x80 | (cp & 0x3F)), n = 2;
    } else {
        b[0] = (unsigned char)(0xE0 | (cp >> 12)), b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F)), n = 3;
    }
    for (int i = 0; i < n && *o < end; i++)
        *(*o)++ = (char)b[i];
}

/* A string at p->s (after the opening quote has not been consumed yet) into out. */
static int parse_string(jp *p, char *out, size_t out_size)
{
    if (*p->s != '"')
        return fail(p, "expected a string");
    p->s++;
    char *o = out;
    const char *end = out + out_size - 1;
    while (*p->s && *p->s != '"') {
        char c = *p->s++;
        if (c == '\\') {
            char e = *p->s++;
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': {
                unsigned cp = 0;
                for (int i = 0; i < 4; i++) {
                    char h = *p->s++;
                    int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                          : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                    if (d < 0)
                        return fail(p, "bad \\u escape");
                    cp = cp * 16 + (unsigned)d;
                }
                put_utf8(&o, end, cp);
                continue;
            }
            case '\0': return fail(p, "unterminated string");
            default: c = e; break; /* \" \\ \/ */
            }
        }
        if (o < end)
            *o++ = c;
    }
    if (*p->s != '"')
        return fail(p, "unterminated string");
    p->s++;
    *o = '\0';
    return 0;
}

/* A bare token (number, true, false, null) into out. */
static int parse_bare(jp *p, char *out, size_t out_size)
{
    size_t n = strcspn(p->s, ",}] \t\r\n");
    if (n == 0)
        return fail(p, "expected a value");
    snprintf(out, out_size, "%.*s", (int)n, p->s);
    p->s += n;
    return 0;
}

static void add_pair(jp *p, const char *key, const char *val, int is_string)
{
    if (p->out->n >= JSON_MAX_PAIRS)
        return;
    json_pair *q = &p->out->pair[p->out->n++];
    snprintf(q->key, sizeof q->key, "%s", key);
    snprintf(q->val, sizeof q->val, "%s", val);
    q->is_string = is_string;
}

static int parse_object(jp *p, const char *prefix, int depth);

/* An array: scalars are joined by commas under KEY; nested containers are skipped over. */
static int parse_array(jp *p, const char *key, int depth)
{
    char joined[JSON_VAL_MAX] = "", item[JSON_VAL_MAX];
    int any = 0;
    p->s++;
    skip_ws(p);
    if (*p->s == ']') {
        p->s++;
        add_pair(p, key, "", 1);
        return 0;
    }
    for (;;) {
        skip_ws(p);
        if (*p->s == '{' || *p->s == '[') {
            /* Not expected in a summary; parse it into a throwaway prefix to move past it. */
            char sub[JSON_KEY_MAX];
            snprintf(sub, sizeof sub, "%s[]", key);
            if ((*p->s == '{' ? parse_object(p, sub, depth + 1) : parse_array(p, sub, depth + 1)) != 0)
                return -1;
        } else {
            if ((*p->s == '"' ? parse_string(p, item, sizeof item) : parse_bare(p, item, sizeof item)) != 0)
                return -1;
            /* Join by hand: the joined text may be cut at JSON_VAL_MAX, which is fine here. */
            size_t used = strlen(joined);
            if (any && used + 1 < sizeof joined)
                joined[used++] = ',';
            for (const char *c = item; *c && used + 1 < sizeof joined; c++)
                joined[used++] = *c;
            joined[used] = '\0';
            any = 1;
        }
        skip_ws(p);
        if (*p->s == ',') {
            p->s++;
            continue;
        }
        if (*p->s == ']') {
            p->s++;
            break;
        }
        return fail(p, "expected ',' or ']'");
    }
    add_pair(p, key, joined, 1);
    return 0;
}

static int parse_object(jp *p, const char *prefix, int depth)
{
    if (depth > 16)
        return fail(p, "nested too deeply");
    if (*p->s != '{')
        return fail(p, "expected an object");
    p->s++;
    skip_ws(p);
    if (*p->s == '}') {
        p->s++;
        return 0;
    }
    for (;;) {
        char name[JSON_KEY_MAX], key[JSON_KEY_MAX], val[JSON_VAL_MAX];
        skip_ws(p);
        if (parse_string(p, name, sizeof name) != 0)
            return -1;
        if (*prefix)
            snprintf(key, sizeof key, "%.40s.%.50s", prefix, name);
        else
            snprintf(key, sizeof key, "%s", name);
        skip_ws(p);
        if (*p->s != ':')
            return fail(p, "expected ':'");
        p->s++;
        skip_ws(p);
        if (*p->s == '{') {
            if (parse_object(p, key, depth + 1) != 0)
                return -1;
        } else if (*p->s == '[') {
            if (parse_array(p, key, depth + 1) != 0)
                return -1;
        } else if (*p->s == '"') {
            if (parse_string(p, val, sizeof val) != 0)
                return -1;
            add_pair(p, key, val, 1);
        } else {
            if (parse_bare(p, val, sizeof val) != 0)
                return -1;
            if (strcmp(val, "null") != 0)
                add_pair(p, key, val, 0);
        }
        skip_ws(p);
        if (*p->s == ',') {
            p->s++;
            continue;
        }
        if (*p->s == '}') {
            p->s++;
            return 0;
        }
        return fail(p, "expected ',' or '}'");
    }
}

int json_flat_parse(const char *text, json_flat *out, char *err, size_t err_size)
{
    jp p = {text, out, err, err_size};
    out->n = 0;
    skip_ws(&p);
    if (parse_object(&p, "", 0) != 0)
        return -1;
    skip_ws(&p);
    if (*p.s)
        return fail(&p, "text after the object");
    return 0;
}

int json_flat_load(const char *path, json_flat *out, char *err, size_t err_size)
{
    /* Not fopen: a FIFO in a run folder would block the reader (a sweep, a report). */
    FILE *f = fopen_regular(path, err, err_size);
    if (!f) {
        if (errno == ENOENT)
            snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* A summary is a few hundred bytes; 64 KiB is a generous cap, not a format limit. */
    enum { CAP = 65536 };
    char *buf = malloc(CAP + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, err_size, "%s: out of memory", path);
        return -1;
    }
    size_t n = fread(buf, 1, CAP, f);
    fclose(f);
    buf[n] = '\0';
    char perr[160];
    int rc = json_flat_parse(buf, out, perr, sizeof perr);
    if (rc != 0)
        snprintf(err, err_size, "%s: %s", path, perr);
    free(buf);
    return rc;
}

const char *json_get(const json_flat *j, const char *key)
{
    for (int i = 0; i < j->n; i++)
        if (!strcmp(j->pair[i].key, key))
            return j->pair[i].val;
    return NULL;
}

int json_get_num(const json_flat *j, const char *key, double *v)
{
    const char *s = json_get(j, key);
    if (!s || !*s)
        return 0;
    char *end;
    double d = strtod(s, &end);
    if (*end)
        return 0;
    *v = d;
    return 1;
}
