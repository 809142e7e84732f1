/* config_yaml.c: reads a run-config YAML file and `--set` overrides through libyaml's document API into the schema. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "config/config_schema.h"
#include "common/exitcodes.h"

static cfg_loc mark_loc(yaml_mark_t m)
{
    cfg_loc l = {(int)m.line + 1, (int)m.column + 1, NULL};
    return l;
}

/* libyaml's problem text at its position; a reader error (bad UTF-8) has only a byte offset. */
static void syntax_error(const cfg_ctx *c, const yaml_parser_t *p, const char *text, size_t len)
{
    const char *problem = p->problem ? p->problem : "unknown problem";
    if (p->error == YAML_READER_ERROR) {
        int line = 1, col = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++) {
            if (text[i] == '\n')
                line++, col = 1;
            else
                col++;
        }
        fprintf(stderr, "%s:%d:%d: YAML syntax error: %s (byte %zu)\n", c->file, line, col, problem,
                p->problem_offset);
        return;
    }
    fprintf(stderr, "%s:%d:%d: YAML syntax error: %s", c->file, (int)p->problem_mark.line + 1,
            (int)p->problem_mark.column + 1, problem);
    if (p->context)
        fprintf(stderr, " (%s, from line %d)", p->context, (int)p->context_mark.line + 1);
    fputc('\n', stderr);
}

/*
 * What libyaml (0.2.5) makes slow, refused before the real load: it does work
 * proportional to the flow nesting level for every token it scans (a line of 100,000
 * '[' takes it half a minute), and its loader looks anchors up by a linear search, both
 * when one is defined and at every alias (a 1 MB file of anchors and aliases takes it
 * 20 s). The schema needs 4 levels (schedule.warmup.steps plus a list) and no anchors at
 * all, so the limits cost no real config anything. One pass over the events, which
 * neither resolves aliases nor keeps the document; syntax errors are left to the real
 * load, which reports them with its usual message. Returns why TEXT is refused, with the
 * place in *at, or NULL.
 */
static const char *precheck(const char *text, size_t len, yaml_mark_t *at)
{
    yaml_parser_t p;
    yaml_event_t ev;
    int depth = 0, anchors = 0;
    const char *why = NULL;
    if (!yaml_parser_initialize(&p))
        return NULL;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (!why && yaml_parser_parse(&p, &ev)) {
        const yaml_event_type_t t = ev.type;
        const yaml_char_t *anchor = t == YAML_SCALAR_EVENT           ? ev.data.scalar.anchor
                                    : t == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
                                    : t == YAML_MAPPING_START_EVENT  ? ev.data.mapping_start.anchor
                                                                     : NULL;
        if ((t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) && ++depth > CFG_MAX_DEPTH)
            why = "nested deeper than " CFG_STR(CFG_MAX_DEPTH) " levels; a run config needs 4 "
                  "(e.g. schedule.warmup.steps)";
        else if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT)
            depth--;
        if (!why && anchor && ++anchors > CFG_MAX_ANCHORS)
            why = "more than " CFG_STR(CFG_MAX_ANCHORS) " anchors (&name); a run config needs few if any";
        if (why)
            *at = ev.start_mark;
        yaml_event_delete(&ev);
        if (t == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&p);
    return why;
}

static void note_section(cfg_ctx *c, const char *path, cfg_loc loc)
{
    if (c->n_sections < CFG_MAX_SECTIONS) {
        snprintf(c->section_path[c->n_sections], sizeof c->section_path[0], "%s", path);
        c->section_loc[c->n_sections++] = loc;
    }
}

/* Assigns every key of mapping NODE, whose own path is PREFIX ("" for the top level). */
static int walk(cfg_ctx *c, yaml_document_t *doc, yaml_node_t *node, const char *prefix)
{
    yaml_node_pair_t *pairs = node->data.mapping.pairs.start;
    int n = (int)(node->data.mapping.pairs.top - pairs);
    for (int i = 0; i < n; i++) {
        yaml_node_t *kn = yaml_document_get_node(doc, pairs[i].key);
        yaml_node_t *vn = yaml_document_get_node(doc, pairs[i].value);
        cfg_loc kl = mark_loc(kn->start_mark);
        if (kn->type != YAML_SCALAR_NODE) {
            cfg_error(c, &kl, *prefix ? prefix : "(top level)", "expected a key name, got a %s",
                      kn->type == YAML_MAPPING_NODE ? "mapping" : "list");
            return EXIT_USAGE;
        }
        const char *name = (const char *)kn->data.scalar.value;
        if (strlen(name) != kn->data.scalar.length) {
            cfg_error(c, &kl, *prefix ? prefix : "(top level)", "expected a key name, got one with a NUL character");
            return EXIT_USAGE;
        }
        char path[128];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", name);
        /* libyaml keeps duplicate keys; a strict config must not silently take one of them. */
        for (int j = 0; j < i; j++) {
            yaml_node_t *prev = yaml_document_get_node(doc, pairs[j].key);
            if (prev->type == YAML_SCALAR_NODE && !strcmp((const char *)prev->data.scalar.value, name)) {
                cfg_error(c, &kl, path, "duplicate key (first given at line %d)", (int)prev->start_mark.line + 1);
                return EXIT_USAGE;
            }
        }
        int k = cfg_find(path);
        if (k >= 0) {
            cfg_loc vl = mark_loc(vn->start_mark);
            /* A missing value shows up as an empty scalar where the key ends; point at the key. */
            if (vn->type == YAML_SCALAR_NODE && !vn->data.scalar.length)
                vl = kl;
            if (cfg_assign(c, k, doc, vn, &vl))
                return EXIT_USAGE;
            c->is_set[k] = SET_FILE;
            c->origin[k] = vl;
        } else if (cfg_is_section(path)) {
            if (vn->type != YAML_MAPPING_NODE) {
                char known[512];
                cfg_known_children(path, known, sizeof known);
                cfg_error(c, &kl, path, "expected a mapping of keys (%s), got %s", known,
                          vn->type == YAML_SEQUENCE_NODE ? "a list" : "a scalar");
                return EXIT_USAGE;
            }
            note_section(c, path, kl);
            if (walk(c, doc, vn, path))
                return EXIT_USAGE;
        } else {
            char known[512];
            cfg_known_children(prefix, known, sizeof known);
            if (*prefix)
                cfg_error(c, &kl, path, "unknown key '%s' in '%s' (known: %s)", name, prefix, known);
            else
                cfg_error(c, &kl, path, "unknown key '%s' at the top level (known: %s)", name, known);
            return EXIT_USAGE;
        }
    }
    return 0;
}

/*
 * The whole file, read into memory with a NUL after it. A run config is a few KB; the
 * limit keeps a wrong path (a data file, /dev/zero, a huge generated file) from costing
 * minutes and gigabytes in the YAML parser before its error. Reading it whole also lets a
 * pipe (`<(...)`) serve as the config and gives reader errors their line.
 */
static char *read_text(const char *path, size_t *len, int *rc)
{
    *rc = EXIT_USAGE;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot read config: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = NULL;
    int bad = 0, err = 0;
    for (;;) {
        char *grown = realloc(buf, cap + 1);
        if (!grown) {
            free(buf);
            fclose(f);
            fprintf(stderr, "%s: cannot read config: out of memory\n", path);
            *rc = EXIT_RUNTIME;
            return NULL;
        }
        buf = grown;
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap > CFG_MAX_FILE_BYTES) {
            bad = ferror(f);
            err = errno;
            break;
        }
        cap *= 2;
    }
    fclose(f);
    if (bad) {
        fprintf(stderr, "%s: cannot read config: %s\n", path, strerror(err));
        free(buf);
        return NULL;
    }
    if (n > CFG_MAX_FILE_BYTES) {
        fprintf(stderr, "%s: larger than %d KiB, expected a YAML run config (a few KB); is this the config file?\n",
                path, CFG_MAX_FILE_BYTES / 1024);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int cfg_read_file(cfg_ctx *c, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: cannot read config: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    if (S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: is a directory, expected a YAML config file\n", path);
        return EXIT_USAGE;
    }
    size_t len = 0;
    int rc;
    char *text = read_text(path, &len, &rc);
    if (!text)
        return rc;
    yaml_mark_t at;
    const char *why = precheck(text, len, &at);
    if (why) {
        fprintf(stderr, "%s:%d:%d: %s\n", path, (int)at.line + 1, (int)at.column + 1, why);
        free(text);
        return EXIT_USAGE;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    rc = EXIT_USAGE;
    if (!yaml_parser_initialize(&parser)) {
        free(text);
        fprintf(stderr, "%s: cannot start the YAML parser (out of memory)\n", path);
        return EXIT_RUNTIME;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        syntax_error(c, &parser, text, len);
        goto done_parser;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        fprintf(stderr, "%s:1:1: empty config, expected a mapping of sections (model, data, train, ...)\n", path);
        goto done_doc;
    }
    if (root->type != YAML_MAPPING_NODE) {
        cfg_loc l = mark_loc(root->start_mark);
        fprintf(stderr, "%s:%d:%d: expected a mapping of sections (model, data, train, ...), got a %s\n", path,
                l.line, l.col, root->type == YAML_SEQUENCE_NODE ? "list" : "scalar");
        goto done_doc;
    }
    /* A second document would be ignored by the walk below; refuse it instead. */
    {
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            syntax_error(c, &parser, text, len);
            goto done_doc;
        }
        yaml_node_t *nroot = yaml_document_get_root_node(&next);
        if (nroot) {
            fprintf(stderr, "%s:%d:%d: expected one YAML document, found a second one here\n", path,
                    (int)nroot->start_mark.line + 1, (int)nroot->start_mark.column + 1);
            yaml_document_delete(&next);
            goto done_doc;
        }
        yaml_document_delete(&next);
    }
    rc = walk(c, &doc, root, "");
done_doc:
    yaml_document_delete(&doc);
done_parser:
    yaml_parser_delete(&parser);
    free(text);
    return rc;
}

/* Parses TEXT as one YAML value into DOC; returns its root (NULL for an empty value) or prints an error. */
static int load_value(const char *text, yaml_document_t *doc, yaml_node_t **root, char *err, size_t err_size)
{
    yaml_parser_t parser;
    yaml_mark_t at;
    const char *why = precheck(text, strlen(text), &at);
    if (why) {
        snprintf(err, err_size, "not a value for one key: %s", why);
        return -1;
    }
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, err_size, "cannot start the YAML parser (out of memory)");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    if (!yaml_parser_load(&parser, doc)) {
        snprintf(err, err_size, "not a YAML value: %s", parser.problem ? parser.problem : "syntax error");
        yaml_parser_delete(&parser);
        return -1;
    }
    yaml_parser_delete(&parser);
    *root = yaml_document_get_root_node(doc);
    return 0;
}

int cfg_assign_text(cfg_ctx *c, int k, const char *text, const cfg_loc *loc)
{
    yaml_document_t doc;
    yaml_node_t *root;
    char err[256];
    if (load_value(text, &doc, &root, err, sizeof err)) {
        cfg_error(c, loc, CFG_KEYS[k].path, "%s", err);
        return EXIT_USAGE;
    }
    int rc = cfg_assign(c, k, &doc, root, loc);
    yaml_document_delete(&doc);
    return rc;
}

int cfg_apply_set(cfg_ctx *c, const char *arg, int *key_out)
{
    const char *eq = strchr(arg, '=');
    if (!eq) {
        fprintf(stderr, "--set %.*s%s: expected KEY=VALUE, e.g. --set schedule.peak_lr=0.1\n", CFG_SET_ARG(arg));
        return EXIT_USAGE;
    }
    char key[128];
    size_t klen = (size_t)(eq - arg);
    if (klen == 0 || klen >= sizeof key) {
        fprintf(stderr, "--set %.*s%s: expected KEY=VALUE with a key path such as schedule.peak_lr\n",
                CFG_SET_ARG(arg));
        return EXIT_USAGE;
    }
    memcpy(key, arg, klen);
    key[klen] = '\0';
    cfg_loc loc = {0, 0, arg};
    int k = cfg_find(key);
    if (k < 0) {
        char known[512], parent[128];
        snprintf(parent, sizeof parent, "%s", key);
        if (cfg_is_section(key)) {
            cfg_known_children(key, known, sizeof known);
            fprintf(stderr, "--set %.*s%s: '%s' is a section; set one of its keys (%s)\n", CFG_SET_ARG(arg), key,
                    known);
            return EXIT_USAGE;
        }
        /* Name the keys of the deepest section that exists, as the file loader does. */
        char *dot;
        while ((dot = strrchr(parent, '.')) != NULL) {
            *dot = '\0';
            if (cfg_is_section(parent))
                break;
        }
        if (!dot)
            parent[0] = '\0';
        cfg_known_children(parent, known, sizeof known);
        if (*parent)
            fprintf(stderr, "--set %.*s%s: unknown key '%s' in '%s' (known: %s)\n", CFG_SET_ARG(arg),
                    key + strlen(parent) + 1, parent, known);
        else
            fprintf(stderr, "--set %.*s%s: unknown key '%s' (known sections: %s)\n", CFG_SET_ARG(arg), key, known);
        return EXIT_USAGE;
    }
    if (cfg_assign_text(c, k, eq + 1, &loc))
        return EXIT_USAGE;
    c->is_set[k] = SET_CLI;
    c->origin[k] = loc;
    *key_out = k;
    return 0;
}
