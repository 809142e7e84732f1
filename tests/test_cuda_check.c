/* test_cuda_check.c: the GPU-call checks' reports, without a GPU: exit code 3, the expression and place, and the train.cuda_graph=false hint exactly where a graph is involved (skips in a build without CUDA). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testlib.h"
#ifdef RESNET_HAVE_CUDA
#include "backend/cuda/cuda_check.h"
#endif

/*
 * The checks exit the process, so each case runs in a child whose stderr comes back
 * through a pipe. The status values are passed as constants: what is tested is the
 * report a failed call produces, which needs no device (cudaGetErrorString and
 * cudnnGetErrorString only map codes to text).
 */

#ifdef RESNET_HAVE_CUDA
enum { GRAPH_CALL, CAPTURE_ERROR, OTHER_ERROR, CUDNN_ERROR };

static void fail_in_child(int which)
{
    switch (which) {
    case GRAPH_CALL: /* any failure of a graph call itself */
        CUDA_GRAPH_CHECK(cudaErrorInvalidValue);
        break;
    case CAPTURE_ERROR: /* an error only capture produces, from whichever call */
        CUDA_CHECK(cudaErrorStreamCaptureInvalidated);
        break;
    case OTHER_ERROR:
        CUDA_CHECK(cudaErrorMemoryAllocation);
        break;
    case CUDNN_ERROR:
        CUDNN_CHECK(CUDNN_STATUS_BAD_PARAM);
        break;
    }
    exit(0); /* not reached when the check works */
}

/* Runs one case; returns its exit status (or -1) and its stderr in buf. */
static int run_case(int which, char *buf, size_t size)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    fflush(NULL);
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        fail_in_child(which);
    }
    close(fd[1]);
    size_t got = 0;
    ssize_t n;
    while (got + 1 < size && (n = read(fd[0], buf + got, size - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fd[0]);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static void expect(int which, const char *what, const char *expr, int hint)
{
    char out[4096];
    const int rc = run_case(which, out, sizeof out);
    printf("%s: exit %d\n%s", what, rc, out);
    CHECK(rc == 3, "%s: exit %d, want 3 (EXIT_RUNTIME)", what, rc);
    CHECK(strstr(out, expr) != NULL, "%s: the report does not name the expression %s", what, expr);
    CHECK(strstr(out, "test_cuda_check.c:") != NULL, "%s: the report does not say where", what);
    const int has_hint = strstr(out, "train.cuda_graph=false") != NULL;
    CHECK(has_hint == hint, "%s: the train.cuda_graph=false hint is %s", what, has_hint ? "there" : "missing");
}
#endif

int main(void)
{
#ifndef RESNET_HAVE_CUDA
    test_skip("this build has no CUDA backend (RESNET_CUDA=OFF)");
#else
    expect(GRAPH_CALL, "a failed graph call", "cudaErrorInvalidValue", 1);
    expect(CAPTURE_ERROR, "a capture-only error from a plain call", "cudaErrorStreamCaptureInvalidated", 1);
    expect(OTHER_ERROR, "an out-of-memory error", "cudaErrorMemoryAllocation", 0);
    expect(CUDNN_ERROR, "a cuDNN error", "CUDNN_STATUS_BAD_PARAM", 0);
#endif
    return test_summary("test_cuda_check");
}
