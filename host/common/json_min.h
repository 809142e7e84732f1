/* json_min.h: a tiny tolerant reader of small JSON objects (a run's summary.json) into flat key -> text pairs. */
#ifndef JSON_MIN_H
#define JSON_MIN_H

#include <stddef.h>

#define JSON_MAX_PAIRS 96
#define JSON_KEY_MAX 96
#define JSON_VAL_MAX 256

/*
 * Nested objects are flattened with dots ({"divergence": {"step": 3}} gives
 * "divergence.step" = "3"); an array of scalars becomes its items joined by commas
 * (["loss", "gradient"] gives "loss,gradient"); null gives no pair at all, so a reader
 * cannot mistake it for a value. Strings are unescaped (\uXXXX to UTF-8). Numbers keep
 * their text. Pairs beyond JSON_MAX_PAIRS, and the tails of over-long texts, are dropped.
 */
typedef struct json_pair {
    char key[JSON_KEY_MAX];
    char val[JSON_VAL_MAX];
    int is_string;
} json_pair;

typedef struct json_flat {
    int n;
    json_pair pair[JSON_MAX_PAIRS];
} json_flat;

/* Parses TEXT, which must hold one object; 0, or -1 with a message in err. */
int json_flat_parse(const char *text, json_flat *out, char *err, size_t err_size);

/* Reads the file at PATH and parses it; 0, or -1 with a message in err (missing file included). */
int json_flat_load(const char *path, json_flat *out, char *err, size_t err_size);

/* The value of KEY, or NULL when absent or null. */
const char *json_get(const json_flat *j, const char *key);

/* The value of KEY as a number (a number, or a string such as "nan" that reads as one); 1 when found. */
int json_get_num(const json_flat *j, const char *key, double *v);

#endif
