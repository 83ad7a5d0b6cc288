/* worker/isolate.c: one task in a forked child. Called by an executor
 * thread. The child touches nothing of the parent's but the task and its
 * arguments: it never uses ZeroMQ, never returns (it _exits), so no atexit
 * handler of the parent (CZMQ's among them) runs twice. */
#define _GNU_SOURCE /* pipe2 */
#include "isolate.h"

#include "task_ctx.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* AddressSanitizer reserves terabytes of address space for its shadow
 * memory, so an address-space limit kills every child of a sanitizer build
 * at its first allocation: such builds (CI's test run) go without it. */
#if defined(__SANITIZE_ADDRESS__)
#define HAS_ADDRESS_LIMIT 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAS_ADDRESS_LIMIT 0
#endif
#endif
#ifndef HAS_ADDRESS_LIMIT
#define HAS_ADDRESS_LIMIT 1
#endif

static void
write_all(int fd, const void *data, size_t size)
{
    const char *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        size -= (size_t)n;
    }
}

/* The child: run, send 'O' + the packed value or 'E' + the error, exit. */
static void
child(int fd, const sl_task_def_t *def, sl_task_ctx_t *ctx,
      const sl_value_t *args, const sl_isolate_limits_t *limits)
{
    setpgid(0, 0); /* a group of its own: a kill reaches what it starts */
    if (limits->memory_bytes && HAS_ADDRESS_LIMIT) {
        struct rlimit r = {limits->memory_bytes, limits->memory_bytes};
        setrlimit(RLIMIT_AS, &r);
    }
    if (limits->cpu_seconds) {
        struct rlimit r = {limits->cpu_seconds, limits->cpu_seconds + 1};
        setrlimit(RLIMIT_CPU, &r);
    }
    sl_value_t *value = NULL;
    ctx->has_failed = false;
    ctx->error[0] = '\0';
    int rc = def->fn(ctx, args, &value);
    sl_buf_t out = {0};
    if (rc == 0 && !ctx->has_failed && value && sl_buf_putc(&out, 'O') == 0 &&
        sl_wire_value_encode(value, &out, NULL) == 0) {
        write_all(fd, out.data, out.size);
    } else {
        const char *why = ctx->has_failed ? ctx->error
                          : value         ? "the result could not be encoded"
                                          : "the task returned no value";
        write_all(fd, "E", 1);
        write_all(fd, why, strlen(why));
    }
    _exit(0);
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* While it waits for the child, the parent looks this often whether the
 * task was cancelled. */
#define CANCEL_POLL_MS 20

/* Reads the child's answer until EOF, the deadline (-1: none) or a cancel.
 * Returns 0 at EOF, -1 at the deadline, -2 when cancelled. */
static int
read_answer(int fd, int64_t deadline, const sl_task_ctx_t *ctx, sl_buf_t *in)
{
    char chunk[65536];
    for (;;) {
        if (sl_task_is_cancelled(ctx))
            return -2;
        int wait_ms = deadline < 0 ? -1 : (int)(deadline - now_ms());
        if (deadline >= 0 && wait_ms <= 0)
            return -1;
        if (ctx->board && (wait_ms < 0 || wait_ms > CANCEL_POLL_MS))
            wait_ms = CANCEL_POLL_MS;
        struct pollfd p = {fd, POLLIN, 0};
        int ready = poll(&p, 1, wait_ms);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0)
            continue; /* a slice: cancelled, or at the deadline? */
        if (ready < 0)
            return 0;
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        if (in->size + (size_t)n > SL_MSG_MAX_BYTES || /* bounded, too */
            sl_buf_append(in, chunk, (size_t)n) < 0)
            return 0;
    }
}

sl_isolate_outcome_t
sl_isolate_run(const sl_task_def_t *def, sl_task_ctx_t *ctx,
               const sl_value_t *args, const sl_isolate_limits_t *limits,
               uint64_t timeout_ms, sl_value_t **result, char *message,
               size_t size)
{
    int fds[2];
    *result = NULL;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(message, size, "isolate: pipe: %s", strerror(errno));
        return SL_ISOLATE_ERROR;
    }
    int64_t deadline = timeout_ms ? now_ms() + (int64_t)timeout_ms : -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        child(fds[1], def, ctx, args, limits);
    }
    if (pid > 0)
        setpgid(pid, pid); /* both sides, so no kill comes before it */
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        snprintf(message, size, "isolate: fork: %s", strerror(errno));
        return SL_ISOLATE_ERROR;
    }
    sl_buf_t in = {0};
    int how = read_answer(fds[0], deadline, ctx, &in);
    bool is_late = how == -1, is_cancelled = how == -2;
    close(fds[0]);
    if (is_late || is_cancelled)
        kill(-pid, SIGKILL); /* the group: what the task started, too */
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    sl_isolate_outcome_t outcome;
    if (is_cancelled) {
        snprintf(message, size, "cancelled: its process group was killed");
        outcome = SL_ISOLATE_CANCELLED;
    } else if (is_late) {
        snprintf(message, size, "timeout: still running after %llu ms, killed",
                 (unsigned long long)timeout_ms);
        outcome = SL_ISOLATE_TIMEOUT;
    } else if (WIFSIGNALED(status)) {
        snprintf(message, size, "the task's process died (%s)",
                 strsignal(WTERMSIG(status)));
        outcome = SL_ISOLATE_CRASH;
    } else if (in.size == 0) {
        snprintf(message, size,
                 "the task's process exited with status %d without an answer",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        outcome = SL_ISOLATE_CRASH;
    } else if (in.data[0] == 'O' &&
               sl_wire_value_decode(in.data + 1, in.size - 1, result, NULL) ==
                   0) {
        outcome = SL_ISOLATE_OK;
    } else {
        snprintf(message, size, "%.*s", (int)(in.size - 1), in.data + 1);
        outcome = SL_ISOLATE_ERROR;
    }
    sl_buf_fini(&in);
    return outcome;
}
