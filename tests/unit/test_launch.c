/* tests/unit/test_launch.c: one program run to its end (worker/launch.c),
 * with real processes: exit status and standard error, standard input,
 * a timeout that kills grandchildren too, output past the cap, a death
 * by signal, a program that cannot start, and the forked path that sets
 * --isolate limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "launch.h"
#include "scratch.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *const env[] = {"PATH=/usr/bin:/bin", "LANG=C", NULL};

typedef struct {
    char dir[256];
} world_t;

static int
setup(void **state)
{
    world_t *w = calloc(1, sizeof *w);
    sl_test_scratch_new(w->dir, sizeof w->dir, "launch");
    *state = w;
    return 0;
}

static int
teardown(void **state)
{
    world_t *w = *state;
    sl_test_scratch_remove(w->dir);
    free(w);
    return 0;
}

/* Runs `sh -c line` in the scratch folder. */
static void
sh(const world_t *w, const char *line, const char *input, uint64_t timeout_ms,
   size_t max_out, const sl_isolate_limits_t *limits, sl_launch_result_t *r)
{
    char *argv[] = {"sh", "-c", (char *)line, NULL};
    sl_launch_t s = {"/bin/sh",  argv,
                     env,        w->dir,
                     input,      input ? strlen(input) : 0,
                     timeout_ms, max_out ? max_out : 1 << 20,
                     limits,     NULL,
                     -1};
    sl_launch_run(&s, r);
}

static void
test_exit_status_output_and_the_tail_of_stderr(void **state)
{
    sl_launch_result_t r;
    char line[256];
    sh(*state, "echo out; echo first >&2; echo last >&2; exit 3", NULL, 0, 0,
       NULL, &r);
    assert_int_equal(r.end, SL_LAUNCH_EXITED);
    assert_int_equal(r.status, 3);
    assert_string_equal(r.out.data, "out\n");
    sl_launch_err_line(&r, line, sizeof line);
    assert_string_equal(line, "first | last");
    sl_launch_result_fini(&r);
}

static void
test_input_reaches_standard_input_in_its_folder(void **state)
{
    world_t *w = *state;
    sl_launch_result_t r;
    char expect[300];
    sh(w, "cat; pwd", "[1,2]\n", 0, 0, NULL, &r);
    assert_int_equal(r.end, SL_LAUNCH_EXITED);
    assert_int_equal(r.status, 0);
    snprintf(expect, sizeof expect, "[1,2]\n%s\n", w->dir);
    assert_string_equal(r.out.data, expect);
    sl_launch_result_fini(&r);
}

/* Whether pid is gone (or a zombie nobody has reaped yet). */
static bool
is_dead(pid_t pid)
{
    char path[64], stat[256] = "";
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    char *paren = strrchr(stat, ')');
    return paren && paren[1] == ' ' && paren[2] == 'Z';
}

static void
test_a_timeout_kills_the_whole_group_grandchildren_too(void **state)
{
    world_t *w = *state;
    sl_launch_result_t r;
    sh(w, "sleep 60 & echo $!; sleep 60", NULL, 300, 0, NULL, &r);
    assert_int_equal(r.end, SL_LAUNCH_TIMEOUT);
    pid_t grandchild = (pid_t)atoi(r.out.data ? r.out.data : "0");
    assert_true(grandchild > 0);
    for (int i = 0; i < 500 && !is_dead(grandchild); i++)
        usleep(10000); /* reparented: reaped by whoever adopts it */
    assert_true(is_dead(grandchild));
    sl_launch_result_fini(&r);
}

static void
test_output_past_the_cap_is_an_error_not_a_cut(void **state)
{
    sl_launch_result_t r;
    sh(*state, "yes", NULL, 10000, 1 << 20, NULL, &r);
    assert_int_equal(r.end, SL_LAUNCH_TOO_MUCH);
    assert_true(r.out.size <= 1 << 20);
    sl_launch_result_fini(&r);
}

static void
test_a_death_by_signal_says_which(void **state)
{
    sl_launch_result_t r;
    sh(*state, "kill -TERM $$", NULL, 0, 0, NULL, &r);
    assert_int_equal(r.end, SL_LAUNCH_SIGNALLED);
    assert_int_equal(r.status, SIGTERM);
    sl_launch_result_fini(&r);
}

static void
test_a_program_that_cannot_start_says_why(void **state)
{
    world_t *w = *state;
    sl_launch_result_t r;
    char *argv[] = {"nope", NULL};
    sl_launch_t s = {"/nonexistent/nope",
                     argv,
                     env,
                     w->dir,
                     NULL,
                     0,
                     0,
                     1024,
                     NULL,
                     NULL,
                     -1};
    sl_launch_run(&s, &r);
    assert_int_equal(r.end, SL_LAUNCH_NOT_STARTED);
    assert_non_null(strstr(r.error, "/nonexistent/nope"));
    sl_launch_result_fini(&r);
}

static void
test_limits_are_set_in_a_forked_child(void **state)
{
    sl_launch_result_t r;
    sl_isolate_limits_t limits = {512u << 20, 5};
    sh(*state, "ulimit -t; cat", "hi", 0, 0, &limits, &r);
    assert_int_equal(r.end, SL_LAUNCH_EXITED);
    assert_string_equal(r.out.data, "5\nhi");
    sl_launch_result_fini(&r);
}

static void
test_a_program_that_stops_reading_does_not_hurt_the_worker(void **state)
{
    sl_launch_result_t r;
    static char big[1 << 20];
    memset(big, 'x', sizeof big - 1);
    sh(*state, "exit 0", big, 0, 0, NULL, &r); /* SIGPIPE is ours to take */
    assert_int_equal(r.end, SL_LAUNCH_EXITED);
    assert_int_equal(r.status, 0);
    sl_launch_result_fini(&r);
}

int
main(void)
{
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_exit_status_output_and_the_tail_of_stderr),
        TEST(test_input_reaches_standard_input_in_its_folder),
        TEST(test_a_timeout_kills_the_whole_group_grandchildren_too),
        TEST(test_output_past_the_cap_is_an_error_not_a_cut),
        TEST(test_a_death_by_signal_says_which),
        TEST(test_a_program_that_cannot_start_says_why),
        TEST(test_limits_are_set_in_a_forked_child),
        TEST(test_a_program_that_stops_reading_does_not_hurt_the_worker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
