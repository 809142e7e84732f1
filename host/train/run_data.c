/* run_data.c: hashes a run's data files and writes and reads the run folder's data_files.csv (role, bytes, sha256, path). */
#include "train/run_data.h"
#include "common/exitcodes.h"
#include "common/fileio.h"
#include "common/sha256.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int data_ident_add(data_ident *d, const char *role, const char *path, char *err, size_t err_size)
{
    if (d->n >= (int)(sizeof d->f / sizeof d->f[0])) {
        snprintf(err, err_size, "internal error: more data files than a config holds");
        return EXIT_RUNTIME;
    }
    data_file_id *f = &d->f[d->n];
    if (sha256_file(path, f->sha256, &f->bytes, err, err_size) != 0)
        return EXIT_USAGE;
    snprintf(f->role, sizeof f->role, "%s", role);
    snprintf(f->path, sizeof f->path, "%s", path);
    d->n++;
    return 0;
}

int data_ident_write(const char *dir, const data_ident *d, char *err, size_t err_size)
{
    char path[FILEIO_PATH_MAX];
    path_join(path, sizeof path, dir, RUN_DATA_FILE);
    atomic_file af;
    FILE *f = atomic_open(&af, path, err, err_size);
    if (!f)
        return EXIT_RUNTIME;
    fprintf(f, "%s\n", RUN_DATA_HEADER);
    for (int i = 0; i < d->n; i++)
        fprintf(f, "%s,%lld,%s,%s\n", d->f[i].role, d->f[i].bytes, d->f[i].sha256, d->f[i].path);
    return atomic_commit(&af, err, err_size) == 0 ? 0 : EXIT_RUNTIME;
}

int data_ident_read(const char *dir, data_ident *d, char *err, size_t err_size)
{
    char path[FILEIO_PATH_MAX];
    path_join(path, sizeof path, dir, RUN_DATA_FILE);
    memset(d, 0, sizeof *d);
    FILE *f = fopen_regular(path, err, err_size);
    if (!f)
        return errno == ENOENT ? 1 : EXIT_USAGE;
    char line[sizeof d->f[0].path + 128];
    int row = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        row++;
        line[strcspn(line, "\n")] = '\0';
        if (row == 1) {
            if (strcmp(line, RUN_DATA_HEADER) != 0)
                rc = EXIT_USAGE;
            continue;
        }
        data_file_id *x = &d->f[d->n];
        char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL, *c3 = c2 ? strchr(c2 + 1, ',') : NULL;
        if (d->n >= (int)(sizeof d->f / sizeof d->f[0]) || !c3 || (size_t)(c1 - line) >= sizeof x->role ||
            c3 - c2 - 1 != 64) {
            rc = EXIT_USAGE;
            break;
        }
        *c1 = *c2 = *c3 = '\0';
        char *end;
        x->bytes = strtoll(c1 + 1, &end, 10);
        if (*end || x->bytes < 0) {
            rc = EXIT_USAGE;
            break;
        }
        memcpy(x->role, line, (size_t)(c1 - line) + 1); /* the length was checked above */
        memcpy(x->sha256, c2 + 1, 65);
        snprintf(x->path, sizeof x->path, "%s", c3 + 1);
        d->n++;
    }
    fclose(f);
    if (rc)
        snprintf(err, err_size, "%s: row %d is not 'role,bytes,sha256,path' (the file is damaged)", path, row);
    return rc;
}
