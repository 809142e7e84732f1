/* run_lock.c: the exclusive lock of a run folder (flock on DIR/.train.lock holding the holder's pid), so two processes never write into one run. */
#define _DEFAULT_SOURCE /* flock(2) is BSD, outside the POSIX baseline the build sets */
#include "common/run_lock.h"
#include "common/fileio.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The pid the holder wrote into the lock file, or 0. */
static long read_holder(int fd)
{
    char buf[32] = "";
    const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const long pid = strtol(buf, NULL, 10);
    return pid > 0 ? pid : 0;
}

int run_lock_busy(const char *dir, long *holder)
{
    char path[FILEIO_PATH_MAX];
    *holder = 0;
    if (path_join(path, sizeof path, dir, RUN_LOCK_FILE) != 0)
        return 0;
    /* O_NONBLOCK: the lock file of a hostile folder may be a FIFO. */
    const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0;
    /* A shared lock taken and dropped at once: for that instant a process taking the
       folder (LOCK_EX | LOCK_NB) would be refused as if busy. Only a second process
       reaching for the same folder at the same moment can meet it, and one of the two
       has to be refused then anyway. */
    int busy = 0;
    if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        busy = 1;
        *holder = read_holder(fd);
    }
    close(fd); /* also drops the shared lock just taken, if it was */
    return busy;
}

int run_lock_take(const char *dir, long *holder, char *err, size_t err_size)
{
    char path[FILEIO_PATH_MAX];
    *holder = 0;
    if (path_join(path, sizeof path, dir, RUN_LOCK_FILE) != 0) {
        snprintf(err, err_size, "%s: path too long", dir);
        return -2;
    }
    /* A lock file deleted and made anew between our open and our flock (a sweep clearing
       an unfinished run) would leave us holding a lock nobody else sees: check that the
       name still leads to the file locked, and try again when not. */
    for (int attempt = 0; attempt < 8; attempt++) {
        const int fd = open(path, O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0666);
        if (fd < 0) {
            snprintf(err, err_size, "%s: cannot create the run folder's lock file: %s", path, strerror(errno));
            return -2;
        }
        struct stat a, b;
        if (fstat(fd, &a) != 0 || !S_ISREG(a.st_mode)) {
            snprintf(err, err_size, "%s: expected the run folder's lock file, a regular file", path);
            close(fd);
            return -2;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            const int e = errno;
            if (e == EWOULDBLOCK)
                *holder = read_holder(fd);
            else
                snprintf(err, err_size, "%s: cannot lock: %s", path, strerror(e));
            close(fd);
            return e == EWOULDBLOCK ? -1 : -2;
        }
        if (stat(path, &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
            close(fd);
            continue;
        }
        char pid[32];
        const int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
            snprintf(err, err_size, "%s: cannot write: %s", path, strerror(errno));
            close(fd);
            return -2;
        }
        return fd;
    }
    snprintf(err, err_size, "%s: the lock file keeps being replaced; is another program clearing %s?", path, dir);
    return -2;
}

void run_lock_busy_message(const char *dir, long holder, char *err, size_t err_size)
{
    char who[48] = "pid not yet recorded";
    if (holder > 0)
        snprintf(who, sizeof who, "pid %ld", holder);
    snprintf(err, err_size, "output.dir %s is in use by another resnet process (%s): two runs in one folder "
             "would mix their files; wait for it to end or stop it (kill -TERM stops it with a checkpoint)",
             dir, who);
}
