/*
 * core_hash — the monotonic clock the in-memory tables' timers use. The
 * unkeyed FNV-1a that once lived here is gone: every table keyed by what a
 * client chooses (Call-IDs, branches, transaction keys, addresses, tokens)
 * hashes with libsodium's crypto_shorthash under a per-process random key,
 * so nobody can aim keys at one chain (tests/unit/test_sbc_sip.c,
 * test_txn_colliding_keys_spread).
 */
#ifndef CORE_HASH_H
#define CORE_HASH_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on the monotonic clock. */
static inline int64_t core_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
