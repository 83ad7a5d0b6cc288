/* common/entry.c: cache entries <-> protobuf CacheEntry. Pure; any thread. */
#include "entry.h"

#include "caps.h"
#include "program.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

void
sl_entry_fini(sl_entry_t *e)
{
    sl_value_destroy(&e->value);
    free(e->task);
    free(e->arg_digests);
    free(e->producer);
    for (size_t i = 0; e->files && i < e->file_count; i++)
        free(e->files[i].name);
    for (size_t i = 0; e->outputs && i < e->output_count; i++)
        free(e->outputs[i].path);
    free(e->files);
    free(e->outputs);
    memset(e, 0, sizeof *e);
}

int64_t
sl_entry_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* The views of e's files and outputs in msg (freed by the caller with
 * free_views). */
typedef struct {
    Sluice__FileDigest *files;
    Sluice__FileDigest **file_ptrs;
    Sluice__OutputFile *outputs;
    Sluice__OutputFile **output_ptrs;
} views_t;

static int
view_files(const sl_entry_t *e, Sluice__CacheEntry *msg, views_t *v)
{
    v->files = calloc(e->file_count + 1, sizeof *v->files);
    v->file_ptrs = calloc(e->file_count + 1, sizeof *v->file_ptrs);
    v->outputs = calloc(e->output_count + 1, sizeof *v->outputs);
    v->output_ptrs = calloc(e->output_count + 1, sizeof *v->output_ptrs);
    if (!v->files || !v->file_ptrs || !v->outputs || !v->output_ptrs)
        return SL_ENOMEM;
    for (size_t i = 0; i < e->file_count; i++) {
        sluice__file_digest__init(&v->files[i]);
        v->files[i].name = e->files[i].name;
        v->files[i].digest =
            (ProtobufCBinaryData){SL_DIGEST_BYTES,
                                  (uint8_t *)e->files[i].digest};
        v->file_ptrs[i] = &v->files[i];
    }
    for (size_t i = 0; i < e->output_count; i++) {
        const sl_entry_output_t *o = &e->outputs[i];
        sluice__output_file__init(&v->outputs[i]);
        v->outputs[i].path = o->path;
        v->outputs[i].digest =
            (ProtobufCBinaryData){SL_DIGEST_BYTES, (uint8_t *)o->digest};
        v->outputs[i].size = o->size;
        v->outputs[i].mode = o->mode;
        v->outputs[i].in_blob_dir = o->is_in_blob_dir;
        v->output_ptrs[i] = &v->outputs[i];
    }
    msg->files = v->file_ptrs;
    msg->n_files = e->file_count;
    msg->outputs = v->output_ptrs;
    msg->n_outputs = e->output_count;
    return 0;
}

static void
free_views(views_t *v)
{
    free(v->files);
    free(v->file_ptrs);
    free(v->outputs);
    free(v->output_ptrs);
}

int
sl_entry_encode(const sl_entry_t *e, sl_buf_t *out, sl_error_t *err)
{
    Sluice__CacheEntry msg = SLUICE__CACHE_ENTRY__INIT;
    views_t views = {0};
    ProtobufCBinaryData *args = calloc(e->arg_count + 1, sizeof *args);
    if (!args || view_files(e, &msg, &views) < 0) {
        free(args);
        free_views(&views);
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    }
    int rc = sl_wire_value_view(e->value, &msg.value, err);
    if (rc < 0) {
        free(args);
        free_views(&views);
        return rc;
    }
    msg.format = SL_ENTRY_FORMAT;
    msg.task = e->task ? e->task : "";
    msg.version = e->version;
    if (e->has_input_digest) {
        msg.input_digest.data = (uint8_t *)e->input_digest;
        msg.input_digest.len = SL_DIGEST_BYTES;
    }
    for (size_t i = 0; i < e->arg_count; i++)
        args[i] = (ProtobufCBinaryData){SL_DIGEST_BYTES, e->arg_digests[i]};
    msg.n_arg_digests = e->arg_count;
    msg.arg_digests = args;
    msg.created_ms = e->created_ms;
    msg.expires_ms = e->expires_ms;
    msg.duration_us = e->duration_us;
    msg.producer = e->producer ? e->producer : "";
    msg.key_digest.data = (uint8_t *)e->key_digest;
    msg.key_digest.len = SL_DIGEST_BYTES;
    size_t size = sluice__cache_entry__get_packed_size(&msg);
    rc = sl_buf_reserve(out, size);
    if (rc == 0) {
        sluice__cache_entry__pack(&msg, (uint8_t *)out->data + out->size);
        out->size += size;
        out->data[out->size] = '\0';
    }
    free(msg.value);
    free(args);
    free_views(&views);
    return rc < 0 ? sl_error_set(err, rc, "out of memory") : 0;
}

static int
decode_files(const Sluice__CacheEntry *msg, sl_entry_t *e, sl_error_t *err)
{
    e->files = calloc(msg->n_files + 1, sizeof *e->files);
    e->outputs = calloc(msg->n_outputs + 1, sizeof *e->outputs);
    if (!e->files || !e->outputs)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < msg->n_files; i++) {
        const Sluice__FileDigest *f = msg->files[i];
        if (f->digest.len != SL_DIGEST_BYTES)
            return sl_error_set(err, SL_EINVAL,
                                "cache entry file %zu: a digest of %zu bytes",
                                i, f->digest.len);
        if (!(e->files[i].name = strdup(f->name)))
            return sl_error_set(err, SL_ENOMEM, "out of memory");
        memcpy(e->files[i].digest, f->digest.data, SL_DIGEST_BYTES);
        e->file_count++;
    }
    for (size_t i = 0; i < msg->n_outputs; i++) {
        const Sluice__OutputFile *o = msg->outputs[i];
        if (o->digest.len != SL_DIGEST_BYTES || !sl_program_is_inside(o->path))
            return sl_error_set(err, SL_EINVAL,
                                "cache entry output %zu: a bad path or digest",
                                i);
        sl_entry_output_t *out = &e->outputs[i];
        if (!(out->path = strdup(o->path)))
            return sl_error_set(err, SL_ENOMEM, "out of memory");
        memcpy(out->digest, o->digest.data, SL_DIGEST_BYTES);
        out->size = o->size;
        out->mode = o->mode & 0111 ? 0755 : 0644;
        out->is_in_blob_dir = o->in_blob_dir;
        e->output_count++;
    }
    return 0;
}

static int
decode_fields(const Sluice__CacheEntry *msg, sl_entry_t *e, sl_error_t *err)
{
    if (msg->format != SL_ENTRY_FORMAT)
        return sl_error_set(err, SL_EINVAL,
                            "cache entry format %u, expected %d", msg->format,
                            SL_ENTRY_FORMAT);
    if (msg->key_digest.len != SL_DIGEST_BYTES)
        return sl_error_set(err, SL_EINVAL,
                            "cache entry key digest of %zu bytes",
                            msg->key_digest.len);
    if (msg->input_digest.len != 0 && msg->input_digest.len != SL_DIGEST_BYTES)
        return sl_error_set(err, SL_EINVAL,
                            "cache entry input digest of %zu bytes",
                            msg->input_digest.len);
    int rc = sl_wire_value_unpack(msg->value, &e->value, err);
    if (rc < 0)
        return rc;
    e->task = strdup(msg->task);
    e->producer = strdup(msg->producer);
    e->arg_digests =
        calloc(msg->n_arg_digests ? msg->n_arg_digests : 1, SL_DIGEST_BYTES);
    if (!e->task || !e->producer || !e->arg_digests)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < msg->n_arg_digests; i++) {
        if (msg->arg_digests[i].len != SL_DIGEST_BYTES)
            return sl_error_set(err, SL_EINVAL,
                                "cache entry argument digest %zu has %zu bytes",
                                i, msg->arg_digests[i].len);
        memcpy(e->arg_digests[i], msg->arg_digests[i].data, SL_DIGEST_BYTES);
    }
    e->arg_count = msg->n_arg_digests;
    e->version = msg->version;
    e->has_input_digest = msg->input_digest.len == SL_DIGEST_BYTES;
    if (e->has_input_digest)
        memcpy(e->input_digest, msg->input_digest.data, SL_DIGEST_BYTES);
    if ((rc = decode_files(msg, e, err)) < 0)
        return rc;
    e->created_ms = msg->created_ms;
    e->expires_ms = msg->expires_ms;
    e->duration_us = msg->duration_us;
    memcpy(e->key_digest, msg->key_digest.data, SL_DIGEST_BYTES);
    return 0;
}

int
sl_entry_decode(const void *data, size_t size, sl_entry_t *e, sl_error_t *err)
{
    Sluice__CacheEntry *msg =
        (Sluice__CacheEntry *)sl_wire_unpack(&sluice__cache_entry__descriptor,
                                             data, size);
    if (!msg)
        return sl_error_set(err, SL_EINVAL,
                            "cache entry of %zu bytes does not decode", size);
    int rc = decode_fields(msg, e, err);
    sluice__cache_entry__free_unpacked(msg, NULL);
    if (rc < 0)
        sl_entry_fini(e);
    return rc;
}

void
sl_entry_key_digest(const char *key, uint8_t out[SL_DIGEST_BYTES])
{
    static const char domain[] = "sluice-key-v1";
    size_t size = strlen(key);
    uint8_t buf[sizeof domain - 1 + SL_KEY_MAX_BYTES];
    if (size > SL_KEY_MAX_BYTES)
        size = SL_KEY_MAX_BYTES; /* no such key is ever stored */
    memcpy(buf, domain, sizeof domain - 1);
    memcpy(buf + sizeof domain - 1, key, size);
    sl_digest_bytes(buf, sizeof domain - 1 + size, out);
}

sl_entry_verdict_t
sl_entry_read(const void *data, size_t size, const char *key, sl_entry_t *e,
              sl_error_t *err)
{
    uint8_t want[SL_DIGEST_BYTES];
    if (size > SL_CACHE_READ_MAX_BYTES) {
        sl_error_set(err, SL_ETOOBIG,
                     "cache entry of %zu bytes is over the read cap of %u",
                     size, SL_CACHE_READ_MAX_BYTES);
        return SL_ENTRY_TOO_LARGE;
    }
    if (sl_entry_decode(data, size, e, err) < 0)
        return SL_ENTRY_CORRUPT;
    sl_entry_key_digest(key, want);
    if (memcmp(want, e->key_digest, SL_DIGEST_BYTES) != 0) {
        sl_entry_fini(e);
        sl_error_set(err, SL_EINVAL,
                     "the entry under '%s' was made for another key (copied or "
                     "planted)",
                     key);
        return SL_ENTRY_OTHER_KEY;
    }
    return SL_ENTRY_OK;
}

const char *
sl_entry_verdict_name(sl_entry_verdict_t v)
{
    switch (v) {
    case SL_ENTRY_OK: return "ok";
    case SL_ENTRY_CORRUPT: return "corrupt";
    case SL_ENTRY_OTHER_KEY: return "other_key";
    case SL_ENTRY_TOO_LARGE: return "too_large";
    default: return "?";
    }
}
