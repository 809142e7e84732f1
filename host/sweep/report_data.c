/* report_data.c: what the report looks at in a run's CSV files before it asks gnuplot to draw them: rows, the last step, whether a column has a value that can be drawn. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/fileio.h"
#include "sweep/sweep.h"

int report_column(const char *path, const char *column, int positive, long *rows, long *usable)
{
    char err[256], *line = NULL, *field[32];
    size_t cap = 0;
    *rows = *usable = 0;
    FILE *f = fopen_regular(path, err, sizeof err);
    if (!f)
        return -1;
    int col = -1;
    if (getline(&line, &cap, f) > 0) {
        const int n = csv_split(line, field, 32);
        for (int i = 0; i < n && col < 0; i++)
            if (column && !strcmp(field[i], column))
                col = i;
    }
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] != '\n')
            break; /* half a row from a killed run: not drawn either */
        (*rows)++;
        if (col < 0)
            continue;
        const int n = csv_split(line, field, 32);
        if (col >= n)
            continue;
        char *end;
        const double v = strtod(field[col], &end);
        if (end != field[col] && isfinite(v) && (!positive || v > 0))
            (*usable)++;
    }
    free(line);
    fclose(f);
    return 0;
}

long report_last_step(const char *path)
{
    char err[256], line[512];
    FILE *f = fopen_regular(path, err, sizeof err);
    long last = 1;
    while (f && fgets(line, sizeof line, f))
        if (line[0] >= '0' && line[0] <= '9' && strchr(line, '\n'))
            last = strtol(line, NULL, 10);
    if (f)
        fclose(f);
    return last > 1 ? last : 1;
}
