/* core_random — see core_random.h. */
#include "core_random.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <sodium.h>

#define RANDOM_BUF    256 /* one getrandom() never returns short up to this */
#define RANDOM_DIRECT 64  /* a request this long bypasses the buffer */

static _Thread_local struct {
	unsigned char b[RANDOM_BUF];
	size_t left; /* the last `left` bytes of b are unused */
} pool;

static void fill(void *out, size_t n)
{
	unsigned char *p = out;
	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			abort(); /* as libsodium's own source does: no randomness, no keys */
		}
		p += r;
		n -= (size_t)r;
	}
}

static void from_pool(void *out, size_t n)
{
	unsigned char *o = out;
	while (n > 0) {
		if (pool.left == 0) {
			fill(pool.b, sizeof(pool.b));
			pool.left = sizeof(pool.b);
		}
		size_t k = n < pool.left ? n : pool.left;
		unsigned char *at = pool.b + sizeof(pool.b) - pool.left;
		memcpy(o, at, k);
		sodium_memzero(at, k);
		pool.left -= k;
		o += k;
		n -= k;
	}
}

static void random_buf(void *const out, const size_t n)
{
	if (n >= RANDOM_DIRECT)
		fill(out, n);
	else
		from_pool(out, n);
}

static uint32_t random_u32(void)
{
	uint32_t v;
	from_pool(&v, sizeof(v));
	return v;
}

static const char *random_name(void)
{
	return "zentrale-getrandom-buffered";
}

/* The child of a fork starts with an empty buffer: what the parent has
 * left is the parent's. */
static void on_fork_child(void)
{
	sodium_memzero(pool.b, sizeof(pool.b));
	pool.left = 0;
}

static void register_fork(void)
{
	pthread_atfork(NULL, NULL, on_fork_child);
}

static randombytes_implementation impl = {
	.implementation_name = random_name,
	.random = random_u32,
	.buf = random_buf, /* uniform: libsodium's own, over random_u32 */
};

int core_random_install(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, register_fork);
	return randombytes_set_implementation(&impl) == 0 ? 0 : -1;
}
