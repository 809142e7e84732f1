/* config_yaml.c: reads a run-config YAML file and `--set` overrides through libyaml's document API into the schema. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "config_schema.h"
#include "exitcodes.h"

static cfg_loc mark_loc(yaml_mark_t m)
{
    cfg_loc l = {(int)m.line + 1, (int)m.column + 1, NULL};
    return l;
}

/* libyaml's problem text at its position; a reader error (bad UTF-8) has only a byte offset. */
static void syntax_error(const cfg_ctx *c, const yaml_parser_t *p, const char *path)
{
    const char *problem = p->problem ? p->problem : "unknown problem";
    if (p->error == YAML_READER_ERROR) {
        int line = 1, col = 1;
        FILE *f = fopen(path, "rb");
        for (size_t i = 0; f && i < p->problem_offset; i++) {
            int ch = fgetc(f);
            if (ch == EOF)
                break;
            if (ch == '\n')
                line++, col = 1;
            else
                col++;
        }
        if (f)
            fclose(f);
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
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot read config: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = EXIT_USAGE;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        fprintf(stderr, "%s: cannot start the YAML parser (out of memory)\n", path);
        return EXIT_RUNTIME;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        syntax_error(c, &parser, path);
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
            syntax_error(c, &parser, path);
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
    fclose(f);
    return rc;
}

/* Parses TEXT as one YAML value into DOC; returns its root (NULL for an empty value) or prints an error. */
static int load_value(const char *text, yaml_document_t *doc, yaml_node_t **root, char *err, size_t err_size)
{
    yaml_parser_t parser;
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
        fprintf(stderr, "--set %s: expected KEY=VALUE, e.g. --set schedule.peak_lr=0.1\n", arg);
        return EXIT_USAGE;
    }
    char key[128];
    size_t klen = (size_t)(eq - arg);
    if (klen == 0 || klen >= sizeof key) {
        fprintf(stderr, "--set %s: expected KEY=VALUE with a key path such as schedule.peak_lr\n", arg);
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
            fprintf(stderr, "--set %s: '%s' is a section; set one of its keys (%s)\n", arg, key, known);
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
            fprintf(stderr, "--set %s: unknown key '%s' in '%s' (known: %s)\n", arg, key + strlen(parent) + 1,
                    parent, known);
        else
            fprintf(stderr, "--set %s: unknown key '%s' (known sections: %s)\n", arg, key, known);
        return EXIT_USAGE;
    }
    if (cfg_assign_text(c, k, eq + 1, &loc))
        return EXIT_USAGE;
    c->is_set[k] = SET_CLI;
    c->origin[k] = loc;
    *key_out = k;
    return 0;
}
