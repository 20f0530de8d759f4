/* Login throttling per address (core_throttle). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "../../src/core/core_auth.h"

static void test_blocks_after_max_failures_in_window(void **state)
{
	(void)state;
	struct core_throttle *t = core_throttle_new(10, 60, 300);
	time_t now = 1000;
	for (int i = 0; i < 9; i++)
		assert_false(core_throttle_fail(t, "10.0.0.1", now + i));
	assert_int_equal(core_throttle_blocked(t, "10.0.0.1", now + 9), 0);
	assert_true(core_throttle_fail(t, "10.0.0.1", now + 9));
	assert_int_equal(core_throttle_blocked(t, "10.0.0.1", now + 9), 300);
	assert_int_equal(core_throttle_blocked(t, "10.0.0.2", now + 9), 0);
	/* The block lifts after its time. */
	assert_int_equal(core_throttle_blocked(t, "10.0.0.1", now + 9 + 300), 0);
	core_throttle_free(t);
}

static void test_spread_failures_do_not_block(void **state)
{
	(void)state;
	struct core_throttle *t = core_throttle_new(10, 60, 300);
	for (int i = 0; i < 50; i++)
		assert_false(core_throttle_fail(t, "10.0.0.1", 1000 + i * 7));
	assert_int_equal(core_throttle_blocked(t, "10.0.0.1", 1400), 0);
	core_throttle_free(t);
}

static void test_success_resets_failures(void **state)
{
	(void)state;
	struct core_throttle *t = core_throttle_new(3, 60, 300);
	core_throttle_fail(t, "a", 1);
	core_throttle_fail(t, "a", 2);
	core_throttle_success(t, "a");
	assert_false(core_throttle_fail(t, "a", 3));
	assert_false(core_throttle_fail(t, "a", 4));
	assert_true(core_throttle_fail(t, "a", 5));
	core_throttle_free(t);
}

static void test_memory_is_bounded_and_blocks_survive(void **state)
{
	(void)state;
	struct core_throttle *t = core_throttle_new(2, 60, 300);
	core_throttle_fail(t, "victim", 1);
	assert_true(core_throttle_fail(t, "victim", 2));
	char addr[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		core_throttle_fail(t, addr, 3);
	}
	/* Many other addresses do not evict a blocked one. */
	assert_true(core_throttle_blocked(t, "victim", 4) > 0);
	core_throttle_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks_after_max_failures_in_window),
		cmocka_unit_test(test_spread_failures_do_not_block),
		cmocka_unit_test(test_success_resets_failures),
		cmocka_unit_test(test_memory_is_bounded_and_blocks_survive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
