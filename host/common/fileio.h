/* fileio.h: crash-safe file replacement (temp file, fsync, rename, fsync of the folder) and small path helpers. */
#ifndef FILEIO_H
#define FILEIO_H

#include <stdio.h>
#include <stddef.h>

#define FILEIO_PATH_MAX 1200

/*
 * A file written under a temporary name next to its final one and renamed into place on
 * commit, so a reader (or a run killed half way) sees either the old file or the whole
 * new one, never a partial one.
 */
typedef struct atomic_file {
    FILE *f;
    char tmp[FILEIO_PATH_MAX];
    char path[FILEIO_PATH_MAX];
} atomic_file;

/* Opens PATH.tmp for writing; NULL with a message in err. */
FILE *atomic_open(atomic_file *af, const char *path, char *err, size_t err_size);

/* Flushes, fsyncs, closes, renames onto the final path and fsyncs the folder.
   0, or -1 with a message in err naming the final path and the system's reason; on a
   failed write the temporary file is removed and the final path left as it was. */
int atomic_commit(atomic_file *af, char *err, size_t err_size);

/* Closes and removes the temporary file. */
void atomic_abort(atomic_file *af);

/* fflush + fsync of an open file (a log appended to), so rows written so far survive a
   machine crash. 0, or -1 with errno set. */
int file_sync(FILE *f);

/* Removes PATH (absent is fine) and fsyncs its folder. 0, or -1 with errno set. */
int remove_durably(const char *path);

/* fsync of the folder holding PATH, so a rename inside it is durable. 0 or -1. */
int fsync_parent_dir(const char *path);

/*
 * Opens PATH for reading without ever blocking on it: O_NONBLOCK for the open (a FIFO
 * without a writer blocks in open, a FIFO or a device like /dev/zero in read or
 * forever), then fstat of the opened file, refusing anything but a regular file; the
 * descriptor comes back in blocking mode (and close-on-exec). Returns the descriptor;
 * -1 when open failed (errno says why: ENOENT...); -2 for a file that is not regular,
 * with *kind saying what it is ("a FIFO (named pipe)", "a directory", ...).
 */
int open_regular(const char *path, const char **kind);

/* What a file of stat mode MODE is, for messages: "a directory", "a FIFO (named pipe)", ... */
const char *file_kind(unsigned mode);

/* PATH opened for appending (created if absent) without blocking on a FIFO (a FIFO
   without a reader fails to open rather than waiting for one) and refused unless it is a
   regular file: a log a hostile folder has replaced with a pipe must not hang the run.
   NULL with a message naming PATH in err. */
FILE *fopen_append_regular(const char *path, char *err, size_t err_size);

/* open_regular as a stdio stream; NULL with a message naming PATH in err. */
FILE *fopen_regular(const char *path, char *err, size_t err_size);

/* DIR/NAME into out; -1 when it does not fit. */
int path_join(char *out, size_t out_size, const char *dir, const char *name);

#endif
