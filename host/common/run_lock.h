/* run_lock.h: the exclusive lock of a run folder: flock on DIR/.train.lock (which holds the holder's pid), kept for the life of the process, released by the kernel when the process dies. */
#ifndef RUN_LOCK_H
#define RUN_LOCK_H

#include <stddef.h>

#define RUN_LOCK_FILE ".train.lock"

/*
 * Whether another process holds DIR's lock right now, creating nothing (a folder that
 * has never been locked has no lock file and is free). 1 when held, with the holder's
 * pid in *holder (0 when it has not written it yet); 0 when free.
 */
int run_lock_busy(const char *dir, long *holder);

/*
 * Takes DIR's lock, creating the lock file when needed, and writes this process's pid
 * into it. Returns the descriptor, to be kept open as long as the lock should hold (it is
 * close-on-exec: no child inherits it); -1 when another process holds it (its pid in
 * *holder, 0 when unknown); -2 on any other failure, with a message in err.
 */
int run_lock_take(const char *dir, long *holder, char *err, size_t err_size);

/* The usual refusal: "output.dir DIR is in use by another resnet process (pid N); ...". */
void run_lock_busy_message(const char *dir, long holder, char *err, size_t err_size);

#endif
