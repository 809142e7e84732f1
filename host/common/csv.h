/* csv.h: CSV fields as RFC 4180 has them, for every CSV file the project writes and reads: one field written (quoted when needed), one line split. */
#ifndef CSV_H
#define CSV_H

#include <stdio.h>

/* Writes S as one field, then ',' (LAST 0) or '\n' (LAST 1). A field with a comma, a
   double quote, CR or LF is written in double quotes with its quotes doubled, so a
   spreadsheet or Python's csv module reads back exactly S. */
void csv_put(FILE *f, const char *s, int last);

/* Splits one CSV line in place into at most MAX fields (handles "quoted, fields" with
   doubled quotes; the line ends at its first CR or LF); returns the count. */
int csv_split(char *line, char **field, int max);

#endif
