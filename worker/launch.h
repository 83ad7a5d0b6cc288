/* worker/launch.h: running one program to its end: its standard input
 * written, its standard output read (bounded), the tail of its standard
 * error kept, in a process group of its own that a timeout, a cancel or
 * too much output kills whole, grandchildren included. */
#ifndef SL_LAUNCH_H
#define SL_LAUNCH_H

#include "buf.h"
#include "caps.h"
#include "isolate.h"
#include "task_ctx.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sl_launch {
    const char *path;                  /* the program file to execute */
    char *const *argv;                 /* NULL-terminated */
    char *const *envp;                 /* NULL-terminated: all it gets */
    const char *cwd;                   /* its working folder */
    const void *input;                 /* written to its standard input */
    size_t input_size;                 /* bytes of input */
    uint64_t timeout_ms;               /* 0: none */
    size_t max_stdout_bytes;           /* more is an error, not a cut */
    const sl_isolate_limits_t *limits; /* NULL or zeros: none */
    const sl_task_ctx_t *ctx;          /* its cancel board; may be NULL */
    int pid_fd;                        /* a file its process group id is
                                          written into while it runs (0
                                          after: workdir.h); -1: none */
} sl_launch_t;

typedef enum {
    SL_LAUNCH_EXITED,     /* it exited: status is its exit status */
    SL_LAUNCH_SIGNALLED,  /* a signal killed it: status is the signal */
    SL_LAUNCH_TIMEOUT,    /* past timeout_ms: its group was killed */
    SL_LAUNCH_CANCELLED,  /* its task was cancelled: its group was killed */
    SL_LAUNCH_TOO_MUCH,   /* its output passed max_stdout_bytes: killed */
    SL_LAUNCH_NOT_STARTED /* it could not start: error says why */
} sl_launch_end_t;

typedef struct sl_launch_result {
    sl_launch_end_t end;              /* how it ended */
    int status;                       /* exit status or signal */
    sl_buf_t out;                     /* its standard output, owned */
    char err_tail[SL_LOG_TAIL_BYTES]; /* the last bytes of its standard
                                         error (not NUL-terminated) */
    size_t err_tail_size;             /* bytes in err_tail */
    uint64_t err_bytes;               /* standard error, in all */
    char error[300];                  /* NOT_STARTED: why */
} sl_launch_result_t;

/* Runs s->path with s->argv and s->envp in s->cwd and waits for its end
 * (whatever is left of its group then is killed). Fills *r (its out is
 * the caller's to free with sl_launch_result_fini). Called on an executor
 * thread; blocks until the program ends. */
void sl_launch_run(const sl_launch_t *s, sl_launch_result_t *r);

/* Frees what r holds; safe on a zeroed result. */
void sl_launch_result_fini(sl_launch_result_t *r);

/* The last SL_STDERR_TAIL_BYTES of standard error as one line of text
 * (newlines as " | ", control bytes dropped) into out (size bytes). */
void sl_launch_err_line(const sl_launch_result_t *r, char *out, size_t size);

#endif
