/* core_random: libsodium's random bytes from a per-thread buffer, never the
 * same bytes twice, not in a forked child either. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../src/core/core_random.h"

static int setup(void **state)
{
	(void)state;
	return core_random_install() == 0 && sodium_init() >= 0 ? 0 : -1;
}

static void test_libsodium_draws_from_it(void **state)
{
	(void)state;
	assert_string_equal(randombytes_implementation_name(), "zentrale-getrandom-buffered");
}

/* 10-byte branches, more than fit one buffer: all different, none zero. */
static void test_draws_across_refills_all_differ(void **state)
{
	(void)state;
	enum { N = 100 };
	unsigned char b[N][10], zero[10] = {0};
	for (int i = 0; i < N; i++) {
		randombytes_buf(b[i], sizeof(b[i]));
		assert_memory_not_equal(b[i], zero, sizeof(zero));
		for (int j = 0; j < i; j++)
			assert_memory_not_equal(b[i], b[j], sizeof(b[i]));
	}
}

/* Keys (64 bytes and more) and odd sizes are whole. */
static void test_long_and_odd_requests(void **state)
{
	(void)state;
	unsigned char a[1000], b[1000], c[3] = {0}, d[3] = {0};
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	randombytes_buf(a, sizeof(a));
	randombytes_buf(b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_not_equal(a + 990, b + 990, 10); /* the tail is filled too */
	randombytes_buf(c, sizeof(c));
	randombytes_buf(d, sizeof(d));
	assert_memory_not_equal(c, d, sizeof(c));
	for (int i = 0; i < 1000; i++)
		assert_true(randombytes_uniform(7) < 7);
}

/* A child forked with bytes left in the parent's buffer draws other bytes
 * than the parent's next ones. */
static void test_fork_child_does_not_repeat_the_parent(void **state)
{
	(void)state;
	unsigned char one, mine[16], its[16];
	randombytes_buf(&one, 1); /* the buffer is full, bar one byte */
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		randombytes_buf(its, sizeof(its));
		_exit(write(p[1], its, sizeof(its)) == (ssize_t)sizeof(its) ? 0 : 1);
	}
	close(p[1]);
	randombytes_buf(mine, sizeof(mine));
	assert_int_equal(read(p[0], its, sizeof(its)), sizeof(its));
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_memory_not_equal(mine, its, sizeof(mine));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libsodium_draws_from_it),
		cmocka_unit_test(test_draws_across_refills_all_differ),
		cmocka_unit_test(test_long_and_odd_requests),
		cmocka_unit_test(test_fork_child_does_not_repeat_the_parent),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
