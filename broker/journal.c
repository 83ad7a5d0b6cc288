/* broker/journal.c: the journal file. Owned by the broker loop thread.
 * Records are [4-byte little-endian length][packed JournalRecord]; a record
 * is never rewritten in place: compaction writes a new file and renames it
 * over the old one. */
#include "journal.h"

#include "buf.h"
#include "caps.h"
#include "dirs.h"
#include "wire.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A running broker compacts its journal once it has grown to twice its
 * size after the last compaction, and at least this big: the cost of
 * rewriting stays proportional to what was appended. */
#define COMPACT_MIN_BYTES ((off_t)64 << 20)

struct sl_journal {
    char *path;        /* the file, owned */
    int fd;            /* open for append */
    sl_buf_t buf;      /* records not yet written */
    size_t keep_ended; /* End records compaction keeps */
    off_t size;        /* bytes in the file */
    off_t compact_min; /* compaction is never due below this size */
    off_t compact_at;  /* size that makes compaction due */
};

static int
io_error(sl_error_t *err, const char *what, const char *path)
{
    return sl_error_set(err, SL_EIO, "journal %s: %s: %s", path, what,
                        strerror(errno));
}

/* The record a packed one holds, borrowing from it; false if it holds
 * none of the three. */
static bool
from_packed(const Sluice__PackedJournalRecord *p, sl_journal_record_t *out)
{
    *out = (sl_journal_record_t){0};
    if (p->run) {
        *out = (sl_journal_record_t){SL_JOURNAL_RUN, p->run->run_id,
                                     p->run->submitted_ms, p->run->submit.data,
                                     p->run->submit.len};
    } else if (p->result) {
        *out = (sl_journal_record_t){SL_JOURNAL_RESULT,
                                     p->result->run_id,
                                     0,
                                     p->result->value.data,
                                     p->result->value.len,
                                     p->result->node,
                                     p->result->index};
    } else if (p->end) {
        *out = (sl_journal_record_t){SL_JOURNAL_END, p->end->run_id, 0,
                                     p->end->result.data, p->end->result.len};
    }
    return out->kind != 0;
}

/* The packed form of rec, in storage the caller provides. */
static void
to_packed(const sl_journal_record_t *rec, Sluice__PackedJournalRecord *p,
          Sluice__PackedJournalRun *run, Sluice__PackedJournalResult *result,
          Sluice__JournalEnd *end)
{
    sluice__packed_journal_record__init(p);
    ProtobufCBinaryData data = {rec->size, (uint8_t *)rec->data};
    if (rec->kind == SL_JOURNAL_RUN) {
        sluice__packed_journal_run__init(run);
        run->run_id = (char *)rec->run_id;
        run->submit = data;
        run->submitted_ms = rec->submitted_ms;
        p->run = run;
    } else if (rec->kind == SL_JOURNAL_RESULT) {
        sluice__packed_journal_result__init(result);
        result->run_id = (char *)rec->run_id;
        result->node = rec->node;
        result->index = rec->index;
        result->value = data;
        p->result = result;
    } else {
        sluice__journal_end__init(end);
        end->run_id = (char *)rec->run_id;
        end->result = data;
        p->end = end;
    }
}

/* Appends [4-byte length][packed record] to out. 0, SL_ETOOBIG or
 * SL_ENOMEM. */
static int
pack_record(const sl_journal_record_t *rec, sl_buf_t *out)
{
    Sluice__PackedJournalRecord p;
    Sluice__PackedJournalRun run;
    Sluice__PackedJournalResult result;
    Sluice__JournalEnd end;
    to_packed(rec, &p, &run, &result, &end);
    size_t size = sluice__packed_journal_record__get_packed_size(&p);
    if (size > SL_MSG_MAX_BYTES)
        return SL_ETOOBIG;
    if (sl_buf_reserve(out, size + 4) < 0)
        return SL_ENOMEM;
    uint8_t *at = (uint8_t *)out->data + out->size;
    for (int i = 0; i < 4; i++)
        at[i] = (uint8_t)(size >> (8 * i));
    sluice__packed_journal_record__pack(&p, at + 4);
    out->size += size + 4;
    return 0;
}

/* Calls visit on each whole record of the file at fd from the start; the
 * offset after the last whole record goes to *good_end. */
static int
scan(int fd, sl_journal_visit_fn visit, void *ctx, off_t *good_end)
{
    uint8_t head[4];
    off_t at = 0;
    *good_end = 0;
    for (;;) {
        if (pread(fd, head, 4, at) != 4)
            return 0;
        uint32_t size = (uint32_t)head[0] | (uint32_t)head[1] << 8 |
                        (uint32_t)head[2] << 16 | (uint32_t)head[3] << 24;
        if (size > SL_MSG_MAX_BYTES)
            return 0;
        uint8_t *data = malloc(size ? size : 1);
        if (!data)
            return SL_ENOMEM;
        bool is_whole = pread(fd, data, size, at + 4) == (ssize_t)size;
        Sluice__PackedJournalRecord *p =
            is_whole
                ? (Sluice__PackedJournalRecord *)
                      sl_wire_unpack(&sluice__packed_journal_record__descriptor,
                                     data, size)
                : NULL;
        free(data);
        sl_journal_record_t rec;
        bool is_record = p && from_packed(p, &rec);
        if (is_record)
            visit(&rec, ctx);
        if (p)
            sluice__packed_journal_record__free_unpacked(p, NULL);
        if (!is_record)
            return 0;
        at += 4 + (off_t)size;
        *good_end = at;
    }
}

typedef struct {
    zhashx_t *ended;  /* run id -> order of its End record (1-based) */
    size_t end_count; /* End records seen */
    size_t keep_from; /* End records with order >= this are kept */
    int out;          /* compacted file, in the second pass */
    bool is_failed;   /* a write failed */
} compact_t;

static void
note_end(const sl_journal_record_t *rec, void *ctx)
{
    compact_t *c = ctx;
    if (rec->kind == SL_JOURNAL_END)
        zhashx_update(c->ended, rec->run_id, (void *)(uintptr_t)++c->end_count);
}

static int
write_record(int fd, const sl_journal_record_t *rec)
{
    sl_buf_t b = {0};
    int rc = pack_record(rec, &b);
    if (rc == 0 && write(fd, b.data, b.size) != (ssize_t)b.size)
        rc = -1;
    sl_buf_fini(&b);
    return rc;
}

static void
keep_live(const sl_journal_record_t *rec, void *ctx)
{
    compact_t *c = ctx;
    size_t order = (uintptr_t)zhashx_lookup(c->ended, rec->run_id);
    bool is_kept = order == 0 || /* still running */
                   (rec->kind == SL_JOURNAL_END && order >= c->keep_from);
    if (is_kept && write_record(c->out, rec) != 0)
        c->is_failed = true;
}

/* Rewrites the file at path keeping what keep_live keeps. */
static int
compact(const char *path, size_t keep_ended, sl_error_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : io_error(err, "open", path);
    compact_t c = {.ended = zhashx_new(), .out = -1};
    off_t end;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int rc = c.ended ? scan(fd, note_end, &c, &end) : SL_ENOMEM;
    c.keep_from = c.end_count > keep_ended ? c.end_count - keep_ended + 1 : 1;
    if (rc == 0) {
        c.out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        rc = c.out < 0 ? io_error(err, "create", tmp) : 0;
    }
    if (rc == 0)
        rc = scan(fd, keep_live, &c, &end);
    if (rc == 0 && (c.is_failed || fsync(c.out) != 0))
        rc = io_error(err, "write", tmp);
    if (c.out >= 0)
        close(c.out);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = io_error(err, "rename", tmp);
    close(fd);
    zhashx_destroy(&c.ended);
    return rc;
}

/* Compacts the file at j->path and opens it for append. */
static int
compact_and_open(sl_journal_t *j, sl_error_t *err)
{
    int rc = compact(j->path, j->keep_ended, err);
    if (rc < 0)
        return rc;
    j->fd = open(j->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (j->fd < 0)
        return io_error(err, "open", j->path);
    j->size = lseek(j->fd, 0, SEEK_END);
    j->compact_at = j->size > j->compact_min / 2 ? 2 * j->size : j->compact_min;
    return 0;
}

sl_journal_t *
sl_journal_open(const char *path, size_t keep_ended, sl_error_t *err)
{
    sl_journal_t *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path))) {
        free(j);
        sl_error_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    j->fd = -1;
    j->keep_ended = keep_ended;
    j->compact_min = COMPACT_MIN_BYTES;
    if (sl_dirs_make(path, true) != 0)
        io_error(err, "create its folder", path);
    else
        compact_and_open(j, err);
    if (j->fd < 0)
        sl_journal_destroy(&j);
    return j;
}

void
sl_journal_destroy(sl_journal_t **p)
{
    if (!p || !*p)
        return;
    sl_journal_t *j = *p;
    if (j->fd >= 0) {
        sl_journal_sync(j, NULL);
        close(j->fd);
    }
    sl_buf_fini(&j->buf);
    free(j->path);
    free(j);
    *p = NULL;
}

int
sl_journal_replay(sl_journal_t *j, sl_journal_visit_fn visit, void *ctx,
                  sl_error_t *err)
{
    off_t end;
    int rc = scan(j->fd, visit, ctx, &end);
    if (rc < 0)
        return sl_error_set(err, rc, "journal %s: out of memory", j->path);
    if (ftruncate(j->fd, end) != 0) /* a torn last record is cut off */
        return io_error(err, "truncate", j->path);
    return 0;
}

int
sl_journal_append(sl_journal_t *j, const sl_journal_record_t *rec)
{
    return pack_record(rec, &j->buf);
}

int
sl_journal_write(sl_journal_t *j, sl_error_t *err)
{
    size_t done = 0;
    while (done < j->buf.size) {
        ssize_t n = write(j->fd, j->buf.data + done, j->buf.size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return io_error(err, "write", j->path);
        done += (size_t)n;
        j->size += n;
    }
    j->buf.size = 0;
    return 0;
}

int
sl_journal_compact_if_due(sl_journal_t *j, sl_error_t *err)
{
    if (j->size + (off_t)j->buf.size < j->compact_at)
        return 0;
    int rc = sl_journal_sync(j, err);
    if (rc < 0)
        return rc;
    close(j->fd);
    j->fd = -1;
    rc = compact_and_open(j, err);
    if (rc < 0 && j->fd < 0) { /* keep appending to what is there */
        j->fd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC);
        j->compact_at = 2 * j->size;
    }
    return j->fd < 0 ? io_error(err, "reopen", j->path) : rc;
}

void
sl_journal_set_compact_min(sl_journal_t *j, off_t bytes)
{
    j->compact_min = bytes;
    j->compact_at = j->size > bytes / 2 ? 2 * j->size : bytes;
}

off_t
sl_journal_size(const sl_journal_t *j)
{
    return j->size + (off_t)j->buf.size;
}

int
sl_journal_sync(sl_journal_t *j, sl_error_t *err)
{
    int rc = sl_journal_write(j, err);
    if (rc == 0 && fdatasync(j->fd) != 0)
        rc = io_error(err, "sync", j->path);
    return rc;
}

int
sl_journal_fd(const sl_journal_t *j)
{
    return j->fd;
}

const char *
sl_journal_path(const sl_journal_t *j)
{
    return j->path;
}
