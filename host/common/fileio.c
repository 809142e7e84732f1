/* fileio.c: crash-safe file replacement and path helpers. */
#include "common/fileio.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int path_join(char *out, size_t out_size, const char *dir, const char *name)
{
    const size_t ld = strlen(dir);
    const int slash = ld > 0 && dir[ld - 1] == '/';
    const int n = snprintf(out, out_size, "%s%s%s", dir, slash || ld == 0 ? "" : "/", name);
    return n < 0 || (size_t)n >= out_size ? -1 : 0;
}

FILE *atomic_open(atomic_file *af, const char *path, char *err, size_t err_size)
{
    memset(af, 0, sizeof *af);
    if (snprintf(af->path, sizeof af->path, "%s", path) >= (int)sizeof af->path ||
        snprintf(af->tmp, sizeof af->tmp, "%s.tmp", path) >= (int)sizeof af->tmp) {
        snprintf(err, err_size, "%s: path too long", path);
        return NULL;
    }
    /* A temporary file a killed writer left behind is simply truncated and reused. */
    af->f = fopen(af->tmp, "wb");
    if (!af->f)
        snprintf(err, err_size, "%s: cannot create %s: %s", af->path, af->tmp, strerror(errno));
    return af->f;
}

int fsync_parent_dir(const char *path)
{
    char dir[FILEIO_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    const int fd = open(dir, O_RDONLY);
    if (fd < 0)
        return -1;
    const int rc = fsync(fd);
    close(fd);
    return rc;
}

int atomic_commit(atomic_file *af, char *err, size_t err_size)
{
    /* errno is read right after the call that failed: fclose and remove change it. */
    int e = 0;
    if (fflush(af->f) != 0)
        e = errno ? errno : EIO;
    else if (ferror(af->f))
        e = EIO; /* a write failed earlier and its errno is gone; the flush retried nothing */
    if (!e && fsync(fileno(af->f)) != 0 && errno != EINVAL)
        e = errno; /* EINVAL: a special file that cannot be synced (nothing to make durable) */
    if (fclose(af->f) != 0 && !e)
        e = errno ? errno : EIO;
    af->f = NULL;
    if (e) {
        remove(af->tmp);
        snprintf(err, err_size, "%s: write failed: %s (nothing replaced: the previous file, if any, "
                 "is unchanged)", af->path, strerror(e));
        return -1;
    }
    if (rename(af->tmp, af->path) != 0) {
        e = errno;
        remove(af->tmp);
        snprintf(err, err_size, "%s: cannot rename %s onto it: %s", af->path, af->tmp, strerror(e));
        return -1;
    }
    /* The rename is durable only once the folder entry is on disk too. */
    if (fsync_parent_dir(af->path) != 0) {
        snprintf(err, err_size, "%s: cannot sync its folder: %s", af->path, strerror(errno));
        return -1;
    }
    return 0;
}

int file_sync(FILE *f)
{
    if (fflush(f) != 0)
        return -1;
    if (ferror(f)) {
        errno = EIO; /* a write failed earlier and its errno is gone */
        return -1;
    }
    return fsync(fileno(f)) == 0 || errno == EINVAL ? 0 : -1;
}

int remove_durably(const char *path)
{
    if (remove(path) != 0)
        return errno == ENOENT ? 0 : -1;
    return fsync_parent_dir(path);
}

void atomic_abort(atomic_file *af)
{
    if (af->f) {
        fclose(af->f);
        af->f = NULL;
    }
    if (af->tmp[0])
        remove(af->tmp);
}

const char *file_kind(unsigned mode)
{
    const mode_t m = (mode_t)mode;
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO (named pipe)";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

/* open_regular with open(2)'s FLAGS (mode 0666 where they create the file). */
static int open_regular_flags(const char *path, int flags, const char **kind)
{
    const int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC, 0666);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        const int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        *kind = file_kind(st.st_mode);
        return -2;
    }
    const int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        const int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int open_regular(const char *path, const char **kind) { return open_regular_flags(path, O_RDONLY, kind); }

FILE *fopen_regular(const char *path, char *err, size_t err_size)
{
    const char *kind = NULL;
    const int fd = open_regular(path, &kind);
    if (fd == -2) {
        snprintf(err, err_size, "%s: is %s, expected a regular file", path, kind);
        errno = EINVAL;
        return NULL;
    }
    if (fd < 0) {
        const int e = errno;
        snprintf(err, err_size, "%s: cannot open: %s", path, strerror(e));
        errno = e;
        return NULL;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        const int e = errno;
        snprintf(err, err_size, "%s: cannot open: %s", path, strerror(e));
        close(fd);
        errno = e;
    }
    return f;
}

FILE *fopen_append_regular(const char *path, char *err, size_t err_size)
{
    const char *kind = NULL;
    const int fd = open_regular_flags(path, O_WRONLY | O_APPEND | O_CREAT, &kind), e = errno;
    struct stat st;
    /* ENXIO: a FIFO nobody reads; say what the file is rather than "no such device". */
    if (fd == -1 && e == ENXIO && stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        kind = file_kind(st.st_mode);
    if (kind) { /* that FIFO, or one with a reader, a device */
        snprintf(err, err_size, "%s: is %s, expected a regular file", path, kind);
        errno = EINVAL; /* the caller's cue: a bad file, not an I/O failure */
        return NULL;
    }
    if (fd < 0) {
        snprintf(err, err_size, "%s: cannot open for appending: %s", path, strerror(e));
        errno = e;
        return NULL;
    }
    FILE *f = fdopen(fd, "ab");
    if (!f) {
        snprintf(err, err_size, "%s: cannot open for appending: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}
