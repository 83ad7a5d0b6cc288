/* tests/unit/test_journal.c: the broker's journal file (broker/journal.c):
 * replay, a torn last record, compaction at open and while running. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "journal.h"

#include "proto/sluice.pb-c.h"

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
    sl_journal_record_t rec = {.kind = SL_JOURNAL_RUN,
                               .run_id = id,
                               .submitted_ms = 7,
                               .data = "S",
                               .size = 1};
    assert_int_equal(sl_journal_append(j, &rec), 0);
}

static void
append_result(sl_journal_t *j, const char *id, uint32_t index)
{
    sl_journal_record_t rec = {.kind = SL_JOURNAL_RESULT,
                               .run_id = id,
                               .data = "V",
                               .size = 1,
                               .node = 2,
                               .index = index};
    assert_int_equal(sl_journal_append(j, &rec), 0);
}

static void
append_end(sl_journal_t *j, const char *id)
{
    sl_journal_record_t rec = {.kind = SL_JOURNAL_END,
                               .run_id = id,
                               .data = "E",
                               .size = 1};
    assert_int_equal(sl_journal_append(j, &rec), 0);
}

/* Replays into a string like "R:a r:a E:a " (kind and run id), checking
 * each record's fields came back. */
static void
describe(const sl_journal_record_t *rec, void *ctx)
{
    char *out = ctx;
    size_t at = strlen(out);
    assert_int_equal(rec->size, 1);
    switch (rec->kind) {
    case SL_JOURNAL_RUN:
        assert_int_equal(rec->submitted_ms, 7);
        assert_memory_equal(rec->data, "S", 1);
        snprintf(out + at, 512 - at, "R:%s ", rec->run_id);
        break;
    case SL_JOURNAL_RESULT:
        assert_int_equal(rec->node, 2);
        assert_memory_equal(rec->data, "V", 1);
        snprintf(out + at, 512 - at, "r:%s ", rec->run_id);
        break;
    case SL_JOURNAL_END:
        assert_memory_equal(rec->data, "E", 1);
        snprintf(out + at, 512 - at, "E:%s ", rec->run_id);
        break;
    default: snprintf(out + at, 512 - at, "? ");
    }
}

static void
old_run(const sl_journal_record_t *rec, void *ctx)
{
    char *out = ctx;
    const uint8_t *d = rec->data;
    assert_int_equal(rec->kind, SL_JOURNAL_RUN);
    assert_int_equal(rec->size, 2);
    sprintf(out, "%s:%lld:%02x%02x", rec->run_id, (long long)rec->submitted_ms,
            d[0], d[1]);
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

/* A journal written before records were packed by parts (a JournalRecord
 * holding a Submit message) reads the same: the wire is one. */
static void
test_journal_reads_records_of_the_earlier_form(void **state)
{
    fixture_t *f = *state;
    char seen[512];
    sl_journal_t *j = sl_journal_open(f->path, 10, NULL);
    sl_journal_destroy(&j); /* made, empty */
    Sluice__Submit submit = SLUICE__SUBMIT__INIT;
    Sluice__JournalRun jr = SLUICE__JOURNAL_RUN__INIT;
    Sluice__JournalRecord rec = SLUICE__JOURNAL_RECORD__INIT;
    submit.events = true; /* one byte pair: 0x18 0x01 */
    jr.run_id = "old";
    jr.submit = &submit;
    jr.submitted_ms = 7;
    rec.record_case = SLUICE__JOURNAL_RECORD__RECORD_RUN;
    rec.run = &jr;
    uint8_t bytes[64];
    size_t size = sluice__journal_record__pack(&rec, bytes + 4);
    for (int i = 0; i < 4; i++)
        bytes[i] = (uint8_t)(size >> (8 * i));
    int fd = open(f->path, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, bytes, size + 4), (ssize_t)(size + 4));
    close(fd);
    j = sl_journal_open(f->path, 10, NULL);
    seen[0] = '\0';
    assert_int_equal(sl_journal_replay(j, old_run, seen, NULL), 0);
    assert_string_equal(seen, "old:7:1801");
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
        cmocka_unit_test_setup_teardown(
            test_journal_reads_records_of_the_earlier_form, setup, teardown),
        cmocka_unit_test(test_journal_in_a_folder_it_cannot_make_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
