/* tests/integration/test_tasks.c: a plugin for the integration tests:
 * counted@1 and counted@2 return their first argument times the version
 * and append "counted@V" to $SLUICE_TEST_CALLS, so a test sees every real
 * computation and which version did it. flaky@1(name, n) fails its first n
 * calls for a name, then returns the name; each call appends "flaky NAME"
 * to $SLUICE_TEST_CALLS. slow_once@1(name, ms) sleeps ms on its first call
 * for a name and returns the name at once afterwards. crash@1 kills its
 * own process with SIGSEGV. big@1(mb) returns a string of mb MiB.
 * gate@1(path[, x]) waits until the file path exists (at most a minute),
 * then returns x (or path): a test holds an executor busy for exactly as
 * long as it needs, then opens the gate; a cancel of its run ends the wait.
 * Each call appends "gate X" to $SLUICE_TEST_CALLS (X: its second
 * argument, as JSON), if set.
 * grandchild@1(pidfile) starts `sleep 600` as a child process, writes its
 * pid to pidfile and waits for it: a cancel or timeout must kill both. */
#include <sluice/task.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int
counted(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result,
        int version)
{
    const char *path = getenv("SLUICE_TEST_CALLS");
    if (sl_value_type(sl_value_at(args, 0)) != SL_INT)
        return sl_task_fail(ctx, "counted takes an integer");
    if (path) {
        FILE *f = fopen(path, "a");
        if (f) {
            fprintf(f, "counted@%d\n", version);
            fclose(f);
        }
    }
    *result =
        sl_value_new_int(sl_value_get_int(sl_value_at(args, 0)) * version);
    return 0;
}

static int
counted1(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    return counted(ctx, args, result, 1);
}

static int
counted2(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    return counted(ctx, args, result, 2);
}

/* Lines "KIND NAME" in the call log so far. */
static int
count_calls(const char *path, const char *kind, const char *name)
{
    char line[256], want[200];
    int n = 0;
    snprintf(want, sizeof want, "%s %s\n", kind, name);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        n += strcmp(line, want) == 0;
    if (f)
        fclose(f);
    return n;
}

static int
flaky(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    const char *path = getenv("SLUICE_TEST_CALLS");
    const char *name = sl_value_get_string(sl_value_at(args, 0), NULL);
    int64_t failures = sl_value_get_int(sl_value_at(args, 1));
    if (!path || !name)
        return sl_task_fail(ctx, "flaky needs $SLUICE_TEST_CALLS and a name");
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "flaky %s\n", name);
        fclose(f);
    }
    int calls = count_calls(path, "flaky", name);
    if (calls <= failures)
        return sl_task_fail(ctx, "flaky: failure %d of %lld", calls,
                            (long long)failures);
    *result = sl_value_new_string(name);
    return 0;
}

static int
slow_once(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    const char *path = getenv("SLUICE_TEST_CALLS");
    const char *name = sl_value_get_string(sl_value_at(args, 0), NULL);
    int64_t ms = sl_value_get_int(sl_value_at(args, 1));
    if (!path || !name)
        return sl_task_fail(ctx, "slow_once needs $SLUICE_TEST_CALLS and a "
                                 "name");
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "slow %s\n", name);
        fclose(f);
    }
    int calls = count_calls(path, "slow", name);
    if (calls == 1) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    *result = sl_value_new_string(name);
    return 0;
}

static int
crash(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    (void)ctx;
    (void)args;
    (void)result;
    raise(SIGSEGV);
    return -1;
}

static int
big(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    int64_t mb = sl_value_get_int(sl_value_at(args, 0));
    if (mb < 0 || mb > 1024)
        return sl_task_fail(ctx, "big takes 0 to 1024 (MiB)");
    size_t size = (size_t)mb << 20;
    char *data = malloc(size + 1);
    if (!data)
        return sl_task_fail(ctx, "big: out of memory");
    memset(data, 'x', size);
    *result = sl_value_new_string_len(data, size);
    free(data);
    return 0;
}

static int
gate(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    const char *path = sl_value_get_string(sl_value_at(args, 0), NULL);
    struct timespec tick = {0, 10 * 1000000L};
    if (!path)
        return sl_task_fail(ctx, "gate takes the path of a file to wait for");
    const char *calls = getenv("SLUICE_TEST_CALLS");
    FILE *log = calls ? fopen(calls, "a") : NULL;
    if (log) {
        char *x = sl_value_to_json(sl_value_at(args, 1));
        fprintf(log, "gate %s\n", x ? x : "?");
        free(x);
        fclose(log);
    }
    for (int i = 0; i < 6000 && !sl_task_is_cancelled(ctx); i++) {
        FILE *f = fopen(path, "r");
        if (f) {
            fclose(f);
            *result =
                sl_value_copy(sl_value_at(args, sl_value_count(args) > 1));
            return 0;
        }
        nanosleep(&tick, NULL);
    }
    if (sl_task_is_cancelled(ctx))
        return sl_task_fail(ctx, "gate: cancelled");
    return sl_task_fail(ctx, "gate: %s did not appear within a minute", path);
}

static int
grandchild(sl_task_ctx_t *ctx, const sl_value_t *args, sl_value_t **result)
{
    const char *path = sl_value_get_string(sl_value_at(args, 0), NULL);
    (void)result;
    if (!path)
        return sl_task_fail(ctx, "grandchild takes the path of a pid file");
    pid_t pid = fork();
    if (pid == 0) {
        execlp("sleep", "sleep", "600", (char *)NULL);
        _exit(127);
    }
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%d\n", (int)pid);
        fclose(f);
    }
    int status;
    waitpid(pid, &status, 0);
    return sl_task_fail(ctx, "grandchild: sleep ended");
}

static const sl_task_def_t tasks[] = {
    {"gate", 1, gate, "waits for a file to exist"},
    {"grandchild", 1, grandchild, "starts sleep 600 and waits for it"},
    {"big", 1, big, "a string of N MiB"},
    {"slow_once", 1, slow_once, "sleeps ms on the first call per name"},
    {"crash", 1, crash, "dies of SIGSEGV"},
    {"flaky", 1, flaky, "fails n times per name, then succeeds"},
    {"counted", 1, counted1, "x, counted"},
    {"counted", 2, counted2, "2x, counted"},
};

SL_PLUGIN(tasks)
