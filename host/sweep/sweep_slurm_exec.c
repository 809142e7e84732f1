/* sweep_slurm_exec.c: runs Slurm's client programs (sbatch, squeue, sacct, scancel) as argument vectors, no shell, collecting their stdout, stderr and exit status. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/fileio.h"
#include "sweep/sweep_slurm.h"

/* squeue's answer for a large sweep is a few hundred kilobytes; anything past this is no answer. */
#define OUT_MAX (64u << 20)

static int grow_append(slurm_out *r, const char *data, size_t n, size_t *cap)
{
    if (r->out_len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < r->out_len + n + 1)
            c *= 2;
        if (c > OUT_MAX)
            return -1;
        char *p = realloc(r->out, c);
        if (!p)
            return -1;
        r->out = p;
        *cap = c;
    }
    memcpy(r->out + r->out_len, data, n);
    r->out_len += n;
    r->out[r->out_len] = '\0';
    return 0;
}

int slurm_run(char *const argv[], slurm_out *r)
{
    r->status = -1;
    r->out = NULL;
    r->out_len = 0;
    r->err[0] = '\0';
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, px[2] = {-1, -1};
    if (pipe(po) || pipe(pe) || pipe(px) || fcntl(px[1], F_SETFD, FD_CLOEXEC)) {
        snprintf(r->err, sizeof r->err, "pipe: %s", strerror(errno));
        goto fail;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(r->err, sizeof r->err, "fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(po[1]);
        close(pe[0]);
        close(pe[1]);
        close(px[0]);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        /* Tells the parent why it did not start, through the close-on-exec pipe. */
        int e = errno;
        ssize_t w = write(px[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    close(px[1]);
    po[1] = pe[1] = px[1] = -1;
    size_t cap = 0, err_len = 0;
    int oom = 0;
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int k = 0; k < 2; k++) {
            if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[8192];
            ssize_t n = read(fds[k].fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                close(fds[k].fd);
                fds[k].fd = -1;
                continue;
            }
            if (k == 0 && !oom && grow_append(r, buf, (size_t)n, &cap))
                oom = 1;
            if (k == 1 && err_len + 1 < sizeof r->err) {
                size_t m = (size_t)n < sizeof r->err - 1 - err_len ? (size_t)n : sizeof r->err - 1 - err_len;
                memcpy(r->err + err_len, buf, m);
                err_len += m;
                r->err[err_len] = '\0';
            }
        }
    }
    int e = 0;
    const int exec_failed = read(px[0], &e, sizeof e) == (ssize_t)sizeof e;
    close(px[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (exec_failed) {
        snprintf(r->err, sizeof r->err, "cannot run %s: %s%s", argv[0], strerror(e),
                 e == ENOENT ? " (not on PATH: run this where Slurm's client commands are installed, e.g. on "
                               "the cluster's login node)" : "");
        r->status = -1;
        return -1;
    }
    if (oom) {
        snprintf(r->err, sizeof r->err, "its output is larger than %u MiB or out of memory", OUT_MAX >> 20);
        r->status = -1;
        return -1;
    }
    if (!r->out && grow_append(r, "", 0, &cap)) {
        r->status = -1;
        return -1;
    }
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r->status == 0 ? 0 : -1;
fail:
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0)
            close(po[i]);
        if (pe[i] >= 0)
            close(pe[i]);
        if (px[i] >= 0)
            close(px[i]);
    }
    return -1;
}

int slurm_have(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/bin:/bin";
    for (const char *p = path;;) {
        const size_t n = strcspn(p, ":");
        char full[FILEIO_PATH_MAX];
        if (snprintf(full, sizeof full, "%.*s/%s", (int)n, n ? p : ".", prog) < (int)sizeof full &&
            access(full, X_OK) == 0)
            return 1;
        if (!p[n])
            return 0;
        p += n + 1;
    }
}

void slurm_out_free(slurm_out *r)
{
    free(r->out);
    r->out = NULL;
    r->out_len = 0;
}

void slurm_report_failure(char *const argv[], const slurm_out *r)
{
    fprintf(stderr, "sweep: `");
    for (int i = 0; argv[i]; i++)
        fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
    if (r->status >= 0)
        fprintf(stderr, "` failed (exit %d)", r->status);
    else
        fprintf(stderr, "` failed");
    /* Its stderr on the same line: line breaks become "; ", trailing ones go. */
    size_t n = strlen(r->err);
    while (n > 0 && (r->err[n - 1] == '\n' || r->err[n - 1] == '\r' || r->err[n - 1] == ' '))
        n--;
    if (n) {
        fprintf(stderr, ": ");
        for (size_t i = 0; i < n; i++) {
            if (r->err[i] == '\n')
                fputs("; ", stderr);
            else if (r->err[i] != '\r')
                fputc(r->err[i], stderr);
        }
    } else if (r->status >= 0) {
        fprintf(stderr, " and wrote nothing on stderr");
    }
    fputc('\n', stderr);
}
