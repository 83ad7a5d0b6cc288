/* common/wire.c: value <-> flat protobuf Value. Pure; any thread. The
 * decoder is the edge for values from the network and the cache: it never
 * recurses and bounds depth, node count and child counts. */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    Sluice__Value msg;        /* the message handed out */
    Sluice__ValueNode **ptrs; /* msg.nodes */
    Sluice__ValueNode *nodes; /* node storage */
    size_t used;              /* nodes filled so far */
} view_t;

static size_t
count_nodes(const sl_value_t *v)
{
    size_t count = 1;
    for (size_t i = 0; i < sl_value_count(v); i++)
        count += count_nodes(sl_value_at(v, i));
    return count;
}

static void
fill(view_t *view, const sl_value_t *v, const char *key)
{
    Sluice__ValueNode *n = &view->nodes[view->used];
    view->ptrs[view->used++] = n;
    sluice__value_node__init(n);
    if (key) {
        n->key.data = (uint8_t *)key;
        n->key.len = strlen(key);
    }
    size_t size;
    switch (sl_value_type(v)) {
    case SL_NULL: n->type = SLUICE__VALUE_NODE__TYPE__NULL; break;
    case SL_BOOL:
        n->type = SLUICE__VALUE_NODE__TYPE__BOOL;
        n->b = sl_value_get_bool(v);
        break;
    case SL_INT:
        n->type = SLUICE__VALUE_NODE__TYPE__INT;
        n->i = sl_value_get_int(v);
        break;
    case SL_DOUBLE:
        n->type = SLUICE__VALUE_NODE__TYPE__DOUBLE;
        n->d = sl_value_get_double(v);
        break;
    case SL_STRING:
    case SL_BYTES:
        n->type = sl_value_type(v) == SL_STRING
                      ? SLUICE__VALUE_NODE__TYPE__STRING
                      : SLUICE__VALUE_NODE__TYPE__BYTES;
        n->s.data = (uint8_t *)sl_value_get_string(v, &size);
        n->s.len = size;
        break;
    case SL_LIST:
    case SL_MAP:
        n->type = sl_value_type(v) == SL_LIST ? SLUICE__VALUE_NODE__TYPE__LIST
                                              : SLUICE__VALUE_NODE__TYPE__MAP;
        n->count = (uint32_t)sl_value_count(v);
        for (size_t i = 0; i < sl_value_count(v); i++)
            fill(view, sl_value_at(v, i), sl_value_key_at(v, i));
        break;
    }
}

int
sl_wire_value_view(const sl_value_t *v, Sluice__Value **out, sl_error_t *err)
{
    *out = NULL;
    if (sl_value_check_caps(v, err) < 0)
        return SL_EINVAL;
    size_t count = count_nodes(v); /* within the caps: bounded */
    view_t *view =
        calloc(1, sizeof *view +
                      count * (sizeof(void *) + sizeof(Sluice__ValueNode)));
    if (!view)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    view->ptrs = (Sluice__ValueNode **)(view + 1);
    view->nodes = (Sluice__ValueNode *)(view->ptrs + count);
    sluice__value__init(&view->msg);
    fill(view, v, NULL);
    view->msg.n_nodes = count;
    view->msg.nodes = view->ptrs;
    *out = &view->msg; /* first member: free(*out) frees the block */
    return 0;
}

static sl_value_t *
scalar(const Sluice__ValueNode *n)
{
    switch (n->type) {
    case SLUICE__VALUE_NODE__TYPE__NULL: return sl_value_new_null();
    case SLUICE__VALUE_NODE__TYPE__BOOL: return sl_value_new_bool(n->b);
    case SLUICE__VALUE_NODE__TYPE__INT: return sl_value_new_int(n->i);
    case SLUICE__VALUE_NODE__TYPE__DOUBLE: return sl_value_new_double(n->d);
    case SLUICE__VALUE_NODE__TYPE__STRING:
        return sl_value_new_string_len((const char *)n->s.data, n->s.len);
    case SLUICE__VALUE_NODE__TYPE__BYTES:
        return sl_value_new_bytes(n->s.data, n->s.len);
    case SLUICE__VALUE_NODE__TYPE__LIST: return sl_value_new_list();
    case SLUICE__VALUE_NODE__TYPE__MAP: return sl_value_new_map();
    default: return NULL;
    }
}

typedef struct {
    sl_value_t *container; /* borrowed: owned by its parent or the root */
    size_t remaining;      /* children still to come */
} frame_t;

/* Adds *child to the container on top; *child is consumed either way. */
static int
attach(frame_t *top, const Sluice__ValueNode *n, sl_value_t **child,
       sl_error_t *err, size_t at)
{
    if (sl_value_type(top->container) == SL_LIST)
        return sl_value_push(top->container, child);
    const char *key = n->key.len ? (const char *)n->key.data : "";
    if (memchr(key, 0, n->key.len)) {
        sl_value_destroy(child);
        return sl_error_set(err, SL_EINVAL,
                            "value node %zu: map key has a NUL byte", at);
    }
    return sl_value_append_unchecked(top->container, key, n->key.len, child);
}

int
sl_wire_value_unpack(const Sluice__Value *in, sl_value_t **out, sl_error_t *err)
{
    frame_t stack[SL_VALUE_MAX_DEPTH];
    size_t depth = 0, n_nodes = in ? in->n_nodes : 0;
    sl_value_t *root = NULL;
    int rc = 0;
    *out = NULL;
    if (n_nodes == 0)
        return (*out = sl_value_new_null()) ? 0 : SL_ENOMEM;
    if (n_nodes > SL_VALUE_MAX_NODES)
        return sl_error_set(err, SL_EINVAL,
                            "value has %zu nodes, more than the cap of %u",
                            n_nodes, SL_VALUE_MAX_NODES);
    for (size_t i = 0; i < n_nodes; i++) {
        const Sluice__ValueNode *n = in->nodes[i];
        if (i > 0 && depth == 0) {
            rc = sl_error_set(err, SL_EINVAL,
                              "value node %zu: nodes after the end of the "
                              "value",
                              i);
            goto out;
        }
        bool is_container = n->type == SLUICE__VALUE_NODE__TYPE__LIST ||
                            n->type == SLUICE__VALUE_NODE__TYPE__MAP;
        if (is_container ? n->count > n_nodes - i - 1 : n->count != 0) {
            rc =
                sl_error_set(err, SL_EINVAL,
                             "value node %zu: bad child count %u", i, n->count);
            goto out;
        }
        sl_value_t *v = scalar(n);
        if (!v) {
            rc = sl_error_set(err, SL_EINVAL, "value node %zu: unknown type %d",
                              i, (int)n->type);
            goto out;
        }
        sl_value_t *self = v;
        if (depth == 0)
            root = v;
        else if ((rc = attach(&stack[depth - 1], n, &v, err, i)) < 0)
            goto out;
        if (depth > 0)
            stack[depth - 1].remaining--;
        if (is_container && n->count > 0) {
            if (depth + 1 >= SL_VALUE_MAX_DEPTH) {
                rc = sl_error_set(err, SL_EINVAL, "value nests deeper than %d",
                                  SL_VALUE_MAX_DEPTH);
                goto out;
            }
            stack[depth++] = (frame_t){self, n->count};
        }
        while (depth > 0 && stack[depth - 1].remaining == 0) {
            const char *dup =
                sl_value_duplicate_key(stack[depth - 1].container);
            if (dup) {
                rc = sl_error_set(err, SL_EINVAL,
                                  "value: map key '%s' appears twice", dup);
                goto out;
            }
            depth--;
        }
    }
    if (depth > 0)
        rc = sl_error_set(err, SL_EINVAL, "value ends inside a container");
out:
    if (rc < 0)
        sl_value_destroy(&root);
    *out = root;
    return rc;
}

int
sl_wire_value_encode(const sl_value_t *v, sl_buf_t *out, sl_error_t *err)
{
    Sluice__Value *msg;
    int rc = sl_wire_value_view(v, &msg, err);
    if (rc < 0)
        return rc;
    size_t size = sluice__value__get_packed_size(msg);
    rc = sl_buf_reserve(out, size);
    if (rc == 0) {
        sluice__value__pack(msg, (uint8_t *)out->data + out->size);
        out->size += size;
        out->data[out->size] = '\0';
    }
    free(msg);
    return rc < 0 ? sl_error_set(err, rc, "out of memory") : 0;
}

typedef struct {
    size_t left; /* bytes the decoder may still allocate */
} budget_t;

static void *
budget_alloc(void *data, size_t size)
{
    budget_t *b = data;
    if (size > b->left)
        return NULL;
    b->left -= size;
    return malloc(size);
}

static void
budget_free(void *data, void *p)
{
    (void)data;
    free(p);
}

ProtobufCMessage *
sl_wire_unpack(const ProtobufCMessageDescriptor *d, const void *data,
               size_t size)
{
    /* Decoding expands bytes into structs; 64x the wire size plus 1 MiB
     * covers honest messages and stops a small one asking for gigabytes. */
    budget_t budget = {size < SL_MSG_MAX_BYTES ? 64 * size + (1u << 20)
                                               : 64 * (size_t)SL_MSG_MAX_BYTES};
    ProtobufCAllocator alloc = {budget_alloc, budget_free, &budget};
    return protobuf_c_message_unpack(d, &alloc, size, data);
}

int
sl_wire_value_decode(const void *data, size_t size, sl_value_t **out,
                     sl_error_t *err)
{
    *out = NULL;
    Sluice__Value *msg =
        (Sluice__Value *)sl_wire_unpack(&sluice__value__descriptor, data, size);
    if (!msg)
        return sl_error_set(err, SL_EINVAL,
                            "value: not a valid protobuf Value message");
    int rc = sl_wire_value_unpack(msg, out, err);
    sluice__value__free_unpacked(msg, NULL);
    return rc;
}
