/*
 * core_hash — the one hash our in-memory indexes use (FNV-1a, 32 bits) and
 * the monotonic clock their timers use. Tables hash Call-IDs, branches and
 * keys that clients choose, so every chain is still compared in full.
 */
#ifndef CORE_HASH_H
#define CORE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

static inline uint32_t core_hash(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

/* Milliseconds on the monotonic clock. */
static inline int64_t core_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
