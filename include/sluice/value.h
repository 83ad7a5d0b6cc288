/* include/sluice/value.h: the values tasks take and return: null, bool,
 * int64, double, string, bytes, list and map (string keys). A value owns its
 * children. Functions that take a child take `sl_value_t **` and always take
 * ownership, setting the caller's pointer to NULL, even when they fail. */
#ifndef SL_VALUE_PUBLIC_H
#define SL_VALUE_PUBLIC_H

#include <sluice/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_value sl_value_t;

typedef enum {
    SL_NULL = 0,
    SL_BOOL = 1,
    SL_INT = 2,
    SL_DOUBLE = 3,
    SL_STRING = 4,
    SL_BYTES = 5,
    SL_LIST = 6,
    SL_MAP = 7
} sl_type_t;

/* Constructors return a new value or NULL when memory runs out. */
sl_value_t *sl_value_new_null(void);
sl_value_t *sl_value_new_bool(bool b);
sl_value_t *sl_value_new_int(int64_t i);
sl_value_t *sl_value_new_double(double d);
sl_value_t *sl_value_new_string(const char *s);
sl_value_t *sl_value_new_string_len(const char *s, size_t size);
sl_value_t *sl_value_new_bytes(const void *data, size_t size);
sl_value_t *sl_value_new_list(void);
sl_value_t *sl_value_new_map(void);

/* Frees v and all it holds; NULL-safe; sets *p to NULL. */
void sl_value_destroy(sl_value_t **p);

/* Appends *item to list. Returns 0, or SL_EINVAL (not a list, item NULL)
 * or SL_ENOMEM; *item is consumed either way. */
int sl_value_push(sl_value_t *list, sl_value_t **item);

/* Sets map[key] = *item, replacing an earlier value of the key. Returns 0,
 * SL_EINVAL or SL_ENOMEM; *item is consumed either way. */
int sl_value_put(sl_value_t *map, const char *key, sl_value_t **item);

/* Deep copy, or NULL when memory runs out. */
sl_value_t *sl_value_copy(const sl_value_t *v);

/* Deep equality; a map's key order does not matter. */
bool sl_value_equal(const sl_value_t *a, const sl_value_t *b);

sl_type_t sl_value_type(const sl_value_t *v);
const char *sl_type_name(sl_type_t type);

/* Accessors. A getter of the wrong type returns false / 0 / NULL. */
bool sl_value_get_bool(const sl_value_t *v);
int64_t sl_value_get_int(const sl_value_t *v);
double sl_value_get_double(const sl_value_t *v);
/* An INT or a DOUBLE as a double; sets *ok to whether v is a number. */
double sl_value_get_number(const sl_value_t *v, bool *ok);
/* STRING or BYTES data, borrowed from v; *size gets the length. Strings are
 * NUL-terminated. */
const char *sl_value_get_string(const sl_value_t *v, size_t *size);
const void *sl_value_get_bytes(const sl_value_t *v, size_t *size);

/* LIST and MAP: number of items; item i (borrowed); a map's key i. */
size_t sl_value_count(const sl_value_t *v);
const sl_value_t *sl_value_at(const sl_value_t *v, size_t i);
const char *sl_value_key_at(const sl_value_t *v, size_t i);
/* Map lookup, borrowed, or NULL. */
const sl_value_t *sl_value_lookup(const sl_value_t *map, const char *key);

/* Takes item i out of a list or map, leaving null in its place. */
sl_value_t *sl_value_take(sl_value_t *v, size_t i);

/* Nesting depth: 1 for a scalar, 1 + the deepest child for a container. */
size_t sl_value_depth(const sl_value_t *v);

/* JSON text for v (bytes as {"$bytes":"<hex>"}; a byte of a string that
 * is not valid UTF-8 as U+FFFD, so the text is always valid JSON); the
 * caller frees it. NULL when memory runs out. */
char *sl_value_to_json(const sl_value_t *v);

#ifdef __cplusplus
}
#endif

#endif
