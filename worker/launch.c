/* worker/launch.c: one program run to its end, for a program task. Called
 * by an executor thread. Without limits the program starts with
 * posix_spawn (no copy of the worker's page tables); with --isolate limits
 * a fork sets them before the exec. Either way the child is the leader of
 * a new process group, and between fork and exec it calls only
 * async-signal-safe functions. The parent never blocks on one pipe while
 * another fills: one poll loop writes the input and reads both outputs. */
#define _GNU_SOURCE /* pipe2, posix_spawn_file_actions_addchdir_np */
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How often the loop looks whether the task was cancelled. */
#define SLICE_MS 20
/* After the end, how long what is left in its pipes is read for. */
#define DRAIN_MS 1000

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* The child after a fork: limits, its pipes as 0, 1 and 2, its folder,
 * then the program. Async-signal-safe calls only. */
static void
child(const sl_launch_t *s, const int in[2], const int out[2], const int err[2])
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* the parent blocks SIGPIPE */
    setpgid(0, 0);
    if (s->limits->memory_bytes) {
        struct rlimit r = {s->limits->memory_bytes, s->limits->memory_bytes};
        setrlimit(RLIMIT_AS, &r);
    }
    if (s->limits->cpu_seconds) {
        struct rlimit r = {s->limits->cpu_seconds, s->limits->cpu_seconds + 1};
        setrlimit(RLIMIT_CPU, &r);
    }
    if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0 ||
        chdir(s->cwd) < 0)
        _exit(127);
    execve(s->path, s->argv, s->envp);
    static const char msg[] = "sluice: cannot execute the program\n";
    ssize_t n = write(2, msg, sizeof msg - 1);
    (void)n;
    _exit(127);
}

/* Starts the program with its pipes; its pid, or -1 with r->error set. */
static pid_t
start(const sl_launch_t *s, const int in[2], const int out[2], const int err[2],
      sl_launch_result_t *r)
{
    bool has_limits =
        s->limits && (s->limits->memory_bytes || s->limits->cpu_seconds);
    pid_t pid = -1;
    if (has_limits) {
        pid = fork();
        if (pid == 0)
            child(s, in, out, err);
        if (pid < 0)
            snprintf(r->error, sizeof r->error, "fork: %s", strerror(errno));
        return pid;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    posix_spawn_file_actions_addchdir_np(&fa, s->cwd);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
    int rc = posix_spawn(&pid, s->path, &fa, &attr, s->argv, s->envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        snprintf(r->error, sizeof r->error, "cannot execute %s: %s", s->path,
                 strerror(rc));
        return -1;
    }
    return pid;
}

/* Writes pid (0: none) at the start of fd, if there is one: who to kill
 * if this worker dies first. Without it, a killed worker's program is
 * only not killed. */
static void
note_pid(int fd, pid_t pid)
{
    char text[24];
    int n = snprintf(text, sizeof text, "%-21ld\n", (long)pid);
    if (fd >= 0 && pwrite(fd, text, (size_t)n, 0) != n)
        return;
}

/* Keeps the last bytes of standard error. */
static void
keep_tail(sl_launch_result_t *r, const char *data, size_t n)
{
    size_t cap = sizeof r->err_tail;
    r->err_bytes += n;
    if (n >= cap) {
        memcpy(r->err_tail, data + n - cap, cap);
        r->err_tail_size = cap;
        return;
    }
    if (r->err_tail_size + n > cap) {
        size_t drop = r->err_tail_size + n - cap;
        memmove(r->err_tail, r->err_tail + drop, r->err_tail_size - drop);
        r->err_tail_size -= drop;
    }
    memcpy(r->err_tail + r->err_tail_size, data, n);
    r->err_tail_size += n;
}

typedef struct {
    int in, out, err; /* our ends; -1 once closed */
    size_t written;   /* input bytes written */
    bool is_too_much; /* standard output passed the cap */
    int exit_fd;      /* a pidfd, readable once the program ends; -1 if
                         the kernel has none (then we look every slice) */
    bool has_exited;  /* exit_fd said so */
} pipes_t;

/* Moves what is ready between the pipes, waiting up to wait_ms, or less
 * if the program ends; false when out and err are both closed (EOF) and
 * nothing tells us of its end but looking. */
static bool
pump(const sl_launch_t *s, pipes_t *p, sl_launch_result_t *r, int wait_ms)
{
    struct pollfd fds[4] = {{p->in, POLLOUT, 0},
                            {p->out, POLLIN, 0},
                            {p->err, POLLIN, 0},
                            {p->exit_fd, POLLIN, 0}};
    char chunk[65536];
    if (p->out < 0 && p->err < 0 && p->exit_fd < 0)
        return false;
    if (poll(fds, 4, wait_ms) <= 0)
        return true;
    p->has_exited |= p->exit_fd >= 0 && fds[3].revents;
    if (p->in >= 0 && fds[0].revents) {
        ssize_t n = write(p->in, (const char *)s->input + p->written,
                          s->input_size - p->written);
        if (n > 0)
            p->written += (size_t)n;
        if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
            p->written == s->input_size)
            close_fd(&p->in); /* all written, or it stopped reading */
    }
    if (p->out >= 0 && fds[1].revents) {
        ssize_t n = read(p->out, chunk, sizeof chunk);
        if (n > 0 && r->out.size + (size_t)n > s->max_stdout_bytes)
            p->is_too_much = true;
        else if (n > 0 && sl_buf_append(&r->out, chunk, (size_t)n) < 0)
            p->is_too_much = true; /* out of memory: as bad */
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            close_fd(&p->out);
    }
    if (p->err >= 0 && fds[2].revents) {
        ssize_t n = read(p->err, chunk, sizeof chunk);
        if (n > 0)
            keep_tail(r, chunk, (size_t)n);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            close_fd(&p->err);
    }
    return true;
}

/* Whether the child has ended. It is not reaped: a zombie keeps its
 * process group's id taken, so killing the group after cannot reach a
 * stranger that reused it. */
static bool
has_ended(pid_t pid)
{
    siginfo_t info;
    info.si_pid = 0;
    while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
        if (errno != EINTR)
            return true; /* gone already: nothing to wait for */
    return info.si_pid == pid;
}

/* Waits up to SLICE_MS for the child to end: its outputs are closed, so
 * there is nothing to read meanwhile. */
static void
wait_a_little(pid_t pid)
{
    for (int ms = 1; ms < SLICE_MS && !has_ended(pid); ms *= 2)
        poll(NULL, 0, ms);
}

/* Writing to a program that stopped reading raises SIGPIPE, which would
 * kill the worker: a thread that launches programs blocks it for good (a
 * SIGPIPE then waits, pending, and harms nothing). */
static void
block_sigpipe(void)
{
    static __thread bool is_blocked;
    sigset_t pipe_only;
    if (is_blocked)
        return;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    is_blocked = pthread_sigmask(SIG_BLOCK, &pipe_only, NULL) == 0;
}

static void run(const sl_launch_t *s, sl_launch_result_t *r);

void
sl_launch_run(const sl_launch_t *s, sl_launch_result_t *r)
{
    block_sigpipe();
    run(s, r);
}

static void
run(const sl_launch_t *s, sl_launch_result_t *r)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    memset(r, 0, sizeof *r);
    r->end = SL_LAUNCH_NOT_STARTED;
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) ||
        pipe2(err, O_CLOEXEC)) {
        snprintf(r->error, sizeof r->error, "pipe: %s", strerror(errno));
        goto out;
    }
    int64_t deadline = s->timeout_ms ? now_ms() + (int64_t)s->timeout_ms : -1;
    pid_t pid = start(s, in, out, err, r);
    if (pid < 0)
        goto out;
    if (s->limits && (s->limits->memory_bytes || s->limits->cpu_seconds))
        setpgid(pid, pid); /* forked: both sides, so no kill comes first */
    note_pid(s->pid_fd, pid);
    close_fd(&in[0]);
    close_fd(&out[1]);
    close_fd(&err[1]);
    pipes_t p = {in[1], out[0], err[0],
                 0,     false,  (int)syscall(SYS_pidfd_open, pid, 0),
                 false};
    in[1] = out[0] = err[0] = -1;
    fcntl(p.in, F_SETFL, O_NONBLOCK);
    if (s->input_size == 0)
        close_fd(&p.in);
    int status = 0;
    r->end = SL_LAUNCH_EXITED;
    for (;;) {
        if (p.is_too_much)
            r->end = SL_LAUNCH_TOO_MUCH;
        else if (s->ctx && sl_task_is_cancelled(s->ctx))
            r->end = SL_LAUNCH_CANCELLED;
        else if (deadline >= 0 && now_ms() >= deadline)
            r->end = SL_LAUNCH_TIMEOUT;
        if (r->end != SL_LAUNCH_EXITED)
            break;
        if (p.exit_fd >= 0 ? p.has_exited : has_ended(pid))
            break; /* what it left running dies with the group below */
        if (!pump(s, &p, r, SLICE_MS))
            wait_a_little(pid);
    }
    kill(-pid, SIGKILL); /* the group: grandchildren and stragglers */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    close_fd(&p.in);
    close_fd(&p.exit_fd);
    /* What is left in the pipes, to EOF; a process that left the group
       (setsid) and holds them open is not waited for long. */
    for (int64_t until = now_ms() + DRAIN_MS;
         now_ms() < until && !p.is_too_much && pump(s, &p, r, SLICE_MS);)
        ;
    if (r->end == SL_LAUNCH_EXITED && p.is_too_much)
        r->end = SL_LAUNCH_TOO_MUCH;
    if (r->end == SL_LAUNCH_EXITED && WIFSIGNALED(status)) {
        r->end = SL_LAUNCH_SIGNALLED;
        r->status = WTERMSIG(status);
    } else if (r->end == SL_LAUNCH_EXITED) {
        r->status = WEXITSTATUS(status);
    }
    close_fd(&p.out);
    close_fd(&p.err);
    note_pid(s->pid_fd, 0);
out:
    for (int i = 0; i < 2; i++) {
        close_fd(&in[i]);
        close_fd(&out[i]);
        close_fd(&err[i]);
    }
}

void
sl_launch_result_fini(sl_launch_result_t *r)
{
    sl_buf_fini(&r->out);
}

void
sl_launch_err_line(const sl_launch_result_t *r, char *out, size_t size)
{
    size_t n = 0, i = 0;
    if (!size)
        return;
    if (r->err_tail_size > SL_STDERR_TAIL_BYTES)
        i = r->err_tail_size - SL_STDERR_TAIL_BYTES;
    while (i < r->err_tail_size && r->err_tail[i] == '\n')
        i++;
    for (; i < r->err_tail_size && n + 4 < size; i++) {
        unsigned char c = (unsigned char)r->err_tail[i];
        if (c == '\n' && i + 1 < r->err_tail_size) {
            memcpy(out + n, " | ", 3);
            n += 3;
        } else if (c >= 32 || c == '\t') {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
}
