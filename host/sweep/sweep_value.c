/* sweep_value.c: grid values compared as the values the run config reads, not as text: 0.1 and 0.10 are one value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sweep/sweep.h"

/* The next item of a value's text (a scalar, or a flow list's items), trimmed; 0 at the end. */
static int next_item(const char **at, char *out, size_t out_size)
{
    const char *s = *at;
    while (*s == ' ' || *s == '[' || *s == ',')
        s++;
    if (!*s || *s == ']')
        return 0;
    size_t n = strcspn(s, ",]");
    *at = s + n;
    while (n > 0 && s[n - 1] == ' ')
        n--;
    snprintf(out, out_size, "%.*s", (int)(n < out_size ? n : out_size - 1), s);
    return 1;
}

/* A plain decimal number (what the run config reads as one), into *v. */
static int as_number(const char *s, double *v)
{
    char *end;
    if (!*s || strchr(s, '\''))
        return 0;
    *v = strtod(s, &end);
    return *end == '\0' && (s[0] == '-' || s[0] == '+' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9'));
}

/* Whether two grid values are one value: numbers compare as numbers (0.1 and 0.10, 1e-1), lists item by item. */
int sweep_same_value(const char *a, const char *b)
{
    if (!strcmp(a, b))
        return 1;
    if ((a[0] == '[') != (b[0] == '['))
        return 0;
    char x[SW_VAL], y[SW_VAL];
    for (;;) {
        const int ha = next_item(&a, x, sizeof x), hb = next_item(&b, y, sizeof y);
        if (ha != hb)
            return 0;
        if (!ha)
            return 1;
        double u, v;
        if (strcmp(x, y) != 0 && !(as_number(x, &u) && as_number(y, &v) && u == v))
            return 0;
    }
}
