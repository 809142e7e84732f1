/* exitcodes.h: the process exit codes every subcommand shares. */
#ifndef EXITCODES_H
#define EXITCODES_H

enum {
    EXIT_OK = 0,
    EXIT_USAGE = 2,    /* bad usage, config or data; a message on stderr */
    EXIT_RUNTIME = 3,  /* I/O failure, CUDA failure */
    EXIT_DIVERGED = 4  /* a training run diverged and stopped by its policy */
};

#endif
