/* cmd_info.c: `resnet info`, the build (version, compiler, libraries) and the CUDA devices found. */
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include "backend/backend.h"
#include "cli/commands.h"
#include "common/exitcodes.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: resnet info\n\n"
            "Prints the version, the compiler, whether the CUDA backend was built (and the\n"
            "CUDA, cuDNN and cuBLAS versions it was built against), the CUDA devices found, and\n"
            "the CPU backend's kernels and default thread count, and the libyaml the config\n"
            "reader uses. Paste it into bug reports and results.\n\n"
            "exit codes: 0 success, 2 bad usage\n");
}

int cmd_info(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return EXIT_OK;
        }
        fprintf(stderr, "resnet info: takes no arguments, got '%s' (see `resnet info --help`)\n", argv[i]);
        return EXIT_USAGE;
    }
    printf("resnet %s\n", RESNET_VERSION);
    /* clang's __VERSION__ names clang; gcc's is the bare number. */
#if defined(__clang__)
    printf("compiler: %s, C %ld\n", __VERSION__, (long)__STDC_VERSION__);
#elif defined(__GNUC__)
    printf("compiler: gcc %s, C %ld\n", __VERSION__, (long)__STDC_VERSION__);
#else
    printf("compiler: unknown, C %ld\n", (long)__STDC_VERSION__);
#endif
#ifdef RESNET_HAVE_CUDA
    printf("backends: cpu, cuda\n");
#else
    printf("backends: cpu (built without CUDA)\n");
#endif
    /* Its own lines: the CUDA build's versions and devices, or that there are none. */
    backend_cuda_info();
    backend_cpu_info();
    printf("libyaml: %s\n", yaml_get_version_string());
    return EXIT_OK;
}
