/* csv.c: CSV fields as RFC 4180 has them: one written (quoted when it holds a comma, a quote or a line break), one line split. */
#include <string.h>
#include "common/csv.h"

void csv_put(FILE *f, const char *s, int last)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
    } else {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    }
    fputc(last ? '\n' : ',', f);
}

int csv_split(char *line, char **field, int max)
{
    int n = 0;
    char *p = line;
    line[strcspn(line, "\r\n")] = '\0';
    while (n < max) {
        if (*p == '"') {
            /* "a ""quoted"", field": unquote in place */
            char *o = ++p;
            field[n++] = o;
            while (*p && !(*p == '"' && p[1] != '"'))
                *o++ = *p == '"' ? (p++, '"') : *p, p++;
            if (*p == '"')
                p++;
            *o = '\0';
            if (*p == ',' && o < p)
                p++;
            else if (*p != ',')
                break;
            else
                p++;
            continue;
        }
        field[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}
