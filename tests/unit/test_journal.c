/* tests/unit/test_journal.c: the broker's journal file (broker/journal.c):
 * replay, a torn last record, compaction at open and while running. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "journal.h"

#include <czmq.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    char path[128];
} fixture_t;

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sluice-journal.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/sub/broker.journal", f->dir);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    char tmp[160];
    unlink(f->path);
    snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
    unlink(tmp);
    snprintf(tmp, sizeof tmp, "%s/sub", f->dir);
    rmdir(tmp);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void
append_run(sl_journal_t *j, const char *id)
{
    Sluice__JournalRun jr = SLUICE__JOURNAL_RUN__INIT;
    Sluice__JournalRecord rec = SLUICE__JOURNAL_RECORD__INIT;
    jr.run_id = (char *)id;
    rec.record_case = SLUICE__JOURNAL_RECORD__RECORD_RUN;
    rec.run = &jr;
    assert_int_equal(sl_journal_append(j, &rec), 0);
}

static void
append_result(sl_journal_t *j, const char *id, uint32_t index)
{
    Sluice__JournalResult r = SLUICE__JOURNAL_RESULT__INIT;
    Sluice__JournalRecord rec = SLUICE__JOURNAL_RECORD__INIT;
    r.run_id = (char *)id;
    r.index = index;
    rec.record_case = SLUICE__JOURNAL_RECORD__RECORD_RESULT;
    rec.result = &r;
    assert_int_equal(sl_journal_append(j, &rec), 0);
}

static void
append_end(sl_journal_t *j, const char *id)
{
    Sluice__JournalEnd e = SLUICE__JOURNAL_END__INIT;
    Sluice__JournalRecord rec = SLUICE__JOURNAL_RECORD__INIT;
    e.run_id = (char *)id;
    rec.record_case = SLUICE__JOURNAL_RECORD__RECORD_END;
    rec.end = &e;
    assert_int_equal(sl_journal_append(j, &rec), 0);
}

/* Replays into a string like "R:a r:a E:a " (kind and run id). */
static void
describe(const Sluice__JournalRecord *rec, void *ctx)
{
    char *out = ctx;
    size_t at = strlen(out);
    switch (rec->record_case) {
    case SLUICE__JOURNAL_RECORD__RECORD_RUN:
        snprintf(out + at, 512 - at, "R:%s ", rec->run->run_id);
        break;
    case SLUICE__JOURNAL_RECORD__RECORD_RESULT:
        snprintf(out + at, 512 - at, "r:%s ", rec->result->run_id);
        break;
    case SLUICE__JOURNAL_RECORD__RECORD_END:
        snprintf(out + at, 512 - at, "E:%s ", rec->end->run_id);
        break;
    default: snprintf(out + at, 512 - at, "? ");
    }
}

static void
replayed(sl_journal_t *j, char *out)
{
    out[0] = '\0';
    assert_int_equal(sl_journal_replay(j, describe, out, NULL), 0);
}

static void
test_journal_replays_what_was_written(void **state)
{
    fixture_t *f = *state;
    char seen[512];
    sl_journal_t *j = sl_journal_open(f->path, 10, NULL);
    assert_non_null(j); /* its folder was made */
    append_run(j, "a");
    append_result(j, "a", 0);
    assert_int_equal(sl_journal_sync(j, NULL), 0);
    append_result(j, "a", 1); /* buffered: lost with the process */
    replayed(j, seen);
    assert_string_equal(seen, "R:a r:a ");
    assert_int_equal(sl_journal_write(j, NULL), 0);
    sl_journal_destroy(&j);
    assert_null(j);
    j = sl_journal_open(f->path, 10, NULL);
    replayed(j, seen);
    assert_string_equal(seen, "R:a r:a r:a ");
    sl_journal_destroy(&j);
}

static void
test_journal_cuts_a_torn_last_record(void **state)
{
    fixture_t *f = *state;
    char seen[512];
    sl_journal_t *j = sl_journal_open(f->path, 10, NULL);
    append_run(j, "a");
    sl_journal_destroy(&j);
    off_t whole = 0;
    int fd = open(f->path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    whole = lseek(fd, 0, SEEK_END);
    assert_int_equal(write(fd, "\x40\x00\x00\x00\x0a\x01", 6), 6);
    close(fd);
    j = sl_journal_open(f->path, 10, NULL);
    replayed(j, seen);
    assert_string_equal(seen, "R:a ");
    assert_int_equal(sl_journal_size(j), whole); /* cut off */
    append_run(j, "b"); /* and what follows is read again */
    sl_journal_destroy(&j);
    j = sl_journal_open(f->path, 10, NULL);
    replayed(j, seen);
    assert_string_equal(seen, "R:a R:b ");
    sl_journal_destroy(&j);
}

static void
test_journal_open_drops_ended_runs_but_the_newest_ends(void **state)
{
    fixture_t *f = *state;
    char seen[512];
    sl_journal_t *j = sl_journal_open(f->path, 1, NULL);
    append_run(j, "a");
    append_run(j, "b");
    append_run(j, "c");
    append_result(j, "a", 0);
    append_result(j, "c", 0);
    append_end(j, "a");
    append_result(j, "b", 0);
    append_end(j, "b");
    sl_journal_destroy(&j);
    j = sl_journal_open(f->path, 1, NULL);
    replayed(j, seen);
    assert_string_equal(seen, "R:c r:c E:b ");
    sl_journal_destroy(&j);
}

static void
test_journal_compacts_while_running_once_it_doubled(void **state)
{
    fixture_t *f = *state;
    char seen[512];
    sl_journal_t *j = sl_journal_open(f->path, 0, NULL);
    sl_journal_set_compact_min(j, 200);
    append_run(j, "live");
    assert_int_equal(sl_journal_write(j, NULL), 0);
    assert_int_equal(sl_journal_compact_if_due(j, NULL), 0);
    off_t small = sl_journal_size(j);
    assert_true(small < 200); /* not due: nothing changed */
    for (uint32_t i = 0; i < 40; i++)
        append_result(j, "done", i);
    append_end(j, "done");
    append_result(j, "live", 0);
    assert_int_equal(sl_journal_write(j, NULL), 0);
    assert_true(sl_journal_size(j) >= 200);
    assert_int_equal(sl_journal_compact_if_due(j, NULL), 0);
    assert_true(sl_journal_size(j) < 200); /* the ended run is gone */
    append_result(j, "live", 1);           /* appends go to the new file */
    assert_int_equal(sl_journal_write(j, NULL), 0);
    replayed(j, seen);
    assert_string_equal(seen, "R:live r:live r:live ");
    sl_journal_destroy(&j);
    j = sl_journal_open(f->path, 0, NULL);
    replayed(j, seen);
    assert_string_equal(seen, "R:live r:live r:live ");
    sl_journal_destroy(&j);
}

static void
test_journal_in_a_folder_it_cannot_make_is_an_error(void **state)
{
    (void)state;
    sl_error_t err = {0};
    sl_journal_t *j = sl_journal_open("/proc/sluice/x/broker.journal", 1, &err);
    assert_null(j);
    assert_non_null(strstr(err.msg, "/proc/sluice/x/broker.journal"));
}

int
main(void)
{
    zsys_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_journal_replays_what_was_written,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_cuts_a_torn_last_record,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_journal_open_drops_ended_runs_but_the_newest_ends, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_journal_compacts_while_running_once_it_doubled, setup,
            teardown),
        cmocka_unit_test(test_journal_in_a_folder_it_cannot_make_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
