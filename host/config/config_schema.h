/* config_schema.h: the run-config schema table and the loader's internals, shared by the config_*.c files only. */
#ifndef CONFIG_SCHEMA_H
#define CONFIG_SCHEMA_H

#include <stddef.h>
#include <yaml.h>
#include "config/config.h"

/* What a key holds, as written in YAML. */
enum cfg_vtype { VT_INT, VT_NUM, VT_BOOL, VT_STR, VT_ENUM, VT_STRLIST, VT_INTLIST };

/* How the value is stored in C (integers come in several widths in run_config). */
enum cfg_ctype { CT_INT, CT_LONG, CT_ULL, CT_DOUBLE, CT_STR, CT_STRLIST, CT_LONGLIST };

enum {
    CFG_REQUIRED = 1,  /* no default: the file or a --set must give it */
    CFG_NOPRINT = 2,   /* an alternative spelling (epochs) printed as its resolved steps */
    CFG_IN_CTX = 4,    /* stored in the load context, not in run_config (consumed by resolution) */
    CFG_RESOLVED = 8,  /* default computed during resolution, not from the `def` text */
    CFG_F32 = 16,      /* the device holds it as a float32: a nonzero value must be a normal float32 */
    /* What a resume (and a sweep rerun) may change; every other key is the run's identity. */
    CFG_RESUME_SAFE = 32,  /* may change on resume (logged in resumes.csv); part of the identity */
    CFG_RESUME_GROW = 64,  /* CFG_RESUME_SAFE, but only to a larger value (train.steps) */
    CFG_NEUTRAL = 128,     /* changes no number of the run's record: may change on resume, not in the identity */
    CFG_DATA_PATH = 256    /* where a data file lies: may change on resume when the file's content is the same */
};

typedef struct cfg_key {
    const char *path;          /* full dotted path */
    int vtype;                 /* enum cfg_vtype */
    int ctype;                 /* enum cfg_ctype */
    size_t off;                /* into run_config, or into cfg_ctx with CFG_IN_CTX */
    size_t off_n;              /* lists: offset of the int item count */
    const char *def;           /* default as YAML text; NULL when required or resolved */
    double lo, hi;             /* range of the value (of each item for lists) */
    int lo_open, hi_open;      /* exclusive bounds */
    const char *const *names;  /* enum names, NULL-terminated; the index is the stored value */
    int min_items, max_items;  /* lists */
    int flags;
    int (*check)(double v);    /* extra constraint on a number: 1 when v is fine */
    const char *expect;        /* the expectation when `check` is set, e.g. "6n+2 (...)" */
} cfg_key;

extern const cfg_key CFG_KEYS[];
extern const int CFG_N_KEYS;
#define CFG_MAX_KEYS 96
/* Largest config file the loader reads (the shipped ones are 1-3 KB). */
#define CFG_MAX_FILE_BYTES (1024 * 1024)
/* A --set argument is shown whole in messages up to this many characters, cut with "..." beyond. */
#define CFG_SET_SHOWN 160
/* The printf arguments for "%.*s%s" that show --set argument A that way. */
#define CFG_SET_ARG(a) \
    (int)(strlen(a) > CFG_SET_SHOWN ? CFG_SET_SHOWN : strlen(a)), (a), (strlen(a) > CFG_SET_SHOWN ? "..." : "")
/* Deepest nesting of mappings and lists the loader accepts (the schema uses 4). */
#define CFG_MAX_DEPTH 32
/* Most anchors (&name) the loader accepts in one file or value (libyaml looks them up linearly). */
#define CFG_MAX_ANCHORS 64
#define CFG_STR_(x) #x
#define CFG_STR(x) CFG_STR_(x)
#define CFG_MAX_SECTIONS 16

/* Where a value came from: a file position (1-based) or a --set argument. */
typedef struct cfg_loc {
    int line, col;   /* 0 when unknown (a default) */
    const char *set; /* the whole --set argument, or NULL */
} cfg_loc;

typedef struct cfg_ctx {
    const char *file;
    run_config *cfg;
    int is_set[CFG_MAX_KEYS];   /* 1 from the file, 2 from a --set, 3 from a default */
    cfg_loc origin[CFG_MAX_KEYS];
    int n_sections;
    char section_path[CFG_MAX_SECTIONS][128];
    cfg_loc section_loc[CFG_MAX_SECTIONS];
    double warmup_epochs;       /* CFG_IN_CTX storage */
} cfg_ctx;

enum { SET_FILE = 1, SET_CLI = 2, SET_DEFAULT = 3 };

/* Index of the key with this exact path, or -1. */
int cfg_find(const char *path);

/* Whether PATH names a section (a mapping that holds keys). */
int cfg_is_section(const char *path);

/* Writes the comma-separated names of the keys and sections directly inside SECTION. */
void cfg_known_children(const char *section, char *out, size_t out_size);

/* Prints one error line: "FILE:LINE:COL: PATH: message", "--set K=V: message" or "FILE: PATH: message". */
void cfg_error(const cfg_ctx *c, const cfg_loc *loc, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Parses NODE of DOC as the value of key K and stores it; 0, or EXIT_USAGE after an error. */
int cfg_assign(cfg_ctx *c, int k, yaml_document_t *doc, yaml_node_t *node, const cfg_loc *loc);

/* Writes the human-readable expectation for key K, e.g. "an integer >= 0". */
void cfg_expect(const cfg_key *k, char *out, size_t out_size);

/* Loads FILE and assigns every key in it; 0 or EXIT_USAGE. */
int cfg_read_file(cfg_ctx *c, const char *path);

/* Applies one "KEY=VALUE" override and reports which key it set; 0 or EXIT_USAGE. */
int cfg_apply_set(cfg_ctx *c, const char *arg, int *key);

/* Assigns key K from YAML text TEXT (defaults); 0 or EXIT_USAGE. */
int cfg_assign_text(cfg_ctx *c, int k, const char *text, const cfg_loc *loc);

/* Shortest "%.*g" text of v that reads back as exactly v. */
void cfg_format_double(double v, char *out, size_t out_size);

/* Writes key K's value in CFG as config_print does (config_print.c). */
void cfg_print_value(const cfg_key *k, const run_config *cfg, FILE *out);

#endif
