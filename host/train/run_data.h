/* run_data.h: the identity of a run's data files (size and SHA-256 of each, recorded in the run folder's data_files.csv at the start), so a resume can tell the same data from another file of the same size. */
#ifndef RUN_DATA_H
#define RUN_DATA_H

#include <stddef.h>
#include "config/config.h"

#define RUN_DATA_FILE "data_files.csv"
#define RUN_DATA_HEADER "role,bytes,sha256,path"

typedef struct data_file_id {
    char role[24];                  /* "data.train[0]", ..., "data.test" */
    long long bytes;
    char sha256[65];
    char path[2 * CFG_MAX_PATH + 2]; /* as opened: data.dir joined with the name */
} data_file_id;

typedef struct data_ident {
    int n;
    data_file_id f[CFG_MAX_TRAIN_FILES + 1];
} data_ident;

/* Hashes the file at PATH into d's next entry under ROLE; 0, or EXIT_USAGE/EXIT_RUNTIME with a message in err. */
int data_ident_add(data_ident *d, const char *role, const char *path, char *err, size_t err_size);

/* Writes DIR/data_files.csv atomically: the header, then one row per file (the path last,
   so a comma in it needs no quoting). 0 or EXIT_RUNTIME. */
int data_ident_write(const char *dir, const data_ident *d, char *err, size_t err_size);

/* Reads DIR/data_files.csv. 0; 1 when the folder has none; EXIT_USAGE when it cannot be read. */
int data_ident_read(const char *dir, data_ident *d, char *err, size_t err_size);

#endif
