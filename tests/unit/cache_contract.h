/* tests/unit/cache_contract.h: what every cache backend must do, checked
 * against a live backend by test_cache_lmdb.c and test_cache_redis.c. */
#ifndef SL_TEST_CACHE_CONTRACT_H
#define SL_TEST_CACHE_CONTRACT_H

#include <stdbool.h>

/* Each asserts (cmocka) against the cache at url, which starts empty. */
void sl_test_cache_set_get_del(const char *url);
void sl_test_cache_batch_get(const char *url);
void sl_test_cache_batch_set(const char *url);
void sl_test_cache_ttl_expires(const char *url);
void sl_test_cache_scan_by_prefix(const char *url);
void sl_test_cache_refuses_bad_arguments(const char *url);
void sl_test_cache_locks(const char *url);
void sl_test_cache_lock_batch_and_store_unlocks(const char *url);
/* does_hit_lock: the backend takes the lock of a key that hits too. */
void sl_test_cache_probe(const char *url, bool does_hit_lock);

#endif
