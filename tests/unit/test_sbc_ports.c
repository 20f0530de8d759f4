/* The media relay's port pool (sbc_ports.c): every call a bounded number
 * of list steps however full the pool, and take/give/aside/reserve keep
 * every pair in exactly one state. Steps are counted, not timed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/sbc/sbc_ports.h"

#define STEPS_MAX 4 /* list steps one call may take, whatever the pool's size */

static uint64_t steps_of_take(struct sbc_ports *p, int *port)
{
	uint64_t before = sbc_ports_steps(p);
	*port = sbc_ports_take(p);
	return sbc_ports_steps(p) - before;
}

static void test_range_of_the_default_holds_2500_pairs(void **state)
{
	(void)state;
	struct sbc_ports *p = sbc_ports_new(30000, 35000);
	assert_non_null(p);
	assert_int_equal(sbc_ports_pairs(p), 2500);
	assert_int_equal(sbc_ports_min(p), 30000);
	assert_int_equal(sbc_ports_max(p), 34999);
	assert_int_equal(sbc_ports_nfree(p), 2500);
	assert_true(sbc_ports_is_whole(p));
	sbc_ports_free(p);
	p = sbc_ports_new(30001, 30004); /* odd start: rounded up, 30002-30003 */
	assert_non_null(p);
	assert_int_equal(sbc_ports_pairs(p), 1);
	assert_int_equal(sbc_ports_take(p), 30002);
	sbc_ports_free(p);
	assert_null(sbc_ports_new(30000, 30000));
	assert_null(sbc_ports_new(80, 2000));
	assert_null(sbc_ports_new(65000, 70000));
}

static void test_lookup_in_a_full_pool_is_bounded(void **state)
{
	(void)state;
	struct sbc_ports *p = sbc_ports_new(1024, 65535); /* the largest pool */
	assert_non_null(p);
	int n = sbc_ports_pairs(p), port;
	for (int i = 0; i < n; i++) {
		assert_true(steps_of_take(p, &port) <= STEPS_MAX);
		assert_int_equal(port, 1024 + 2 * i);
	}
	assert_int_equal(sbc_ports_nfree(p), 0);
	/* full: the answer "none" costs the same few steps, not one per pair */
	for (int i = 0; i < 1000; i++) {
		assert_true(steps_of_take(p, &port) <= STEPS_MAX);
		assert_int_equal(port, -1);
	}
	/* one freed in the middle of a full pool is found at once */
	sbc_ports_give(p, 40000);
	assert_true(steps_of_take(p, &port) <= STEPS_MAX);
	assert_int_equal(port, 40000);
	assert_true(sbc_ports_is_whole(p));
	sbc_ports_free(p);
}

static void test_take_and_give_back_keep_the_pool_whole(void **state)
{
	(void)state;
	struct sbc_ports *p = sbc_ports_new(30000, 30199); /* 100 pairs */
	int ports[100];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 100; i++)
			assert_int_not_equal(ports[i] = sbc_ports_take(p), -1);
		assert_int_equal(sbc_ports_take(p), -1);
		assert_int_equal(sbc_ports_nused(p), 100);
		assert_true(sbc_ports_is_whole(p));
		for (int i = 0; i < 100; i += 2) /* every other, then the rest */
			sbc_ports_give(p, ports[i]);
		assert_true(sbc_ports_is_whole(p));
		for (int i = 1; i < 100; i += 2) {
			uint64_t before = sbc_ports_steps(p);
			sbc_ports_give(p, ports[i]);
			assert_true(sbc_ports_steps(p) - before <= STEPS_MAX);
		}
		assert_int_equal(sbc_ports_nfree(p), 100);
		assert_int_equal(sbc_ports_nused(p), 0);
		assert_true(sbc_ports_is_whole(p));
	}
	sbc_ports_free(p);
}

static void test_given_back_is_reused_last(void **state)
{
	(void)state;
	struct sbc_ports *p = sbc_ports_new(30000, 30005); /* 3 pairs */
	int a = sbc_ports_take(p);
	sbc_ports_give(p, a);
	assert_int_not_equal(sbc_ports_take(p), a); /* the two never used first */
	assert_int_not_equal(sbc_ports_take(p), a);
	assert_int_equal(sbc_ports_take(p), a);
	sbc_ports_free(p);
}

static void test_giving_twice_or_foreign_ports_changes_nothing(void **state)
{
	(void)state;
	struct sbc_ports *p = sbc_ports_new(30000, 30009);
	int a = sbc_ports_take(p);
	sbc_ports_give(p, a);
	sbc_ports_give(p, a);	  /* not in use: ignored */
	sbc_ports_give(p, a + 1); /* an odd port: ignored */
	sbc_ports_give(p, 20000); /* outside: a leg from before a range change */
	sbc_ports_give(p, 30010);
	assert_int_equal(sbc_ports_nfree(p), 5);
	assert_int_equal(sbc_ports_nused(p), 0);
	assert_true(sbc_ports_is_whole(p));
	sbc_ports_free(p);
}

static void test_an_unbindable_pair_is_set_aside_until_its_time(void **state)
{
	(void)state;
	struct sbc_ports *p = sbc_ports_new(30000, 30005); /* 3 pairs */
	int a = sbc_ports_take(p);
	sbc_ports_aside(p, a, 1000);
	assert_int_equal(sbc_ports_naside(p), 1);
	assert_true(sbc_ports_is_whole(p));
	int b = sbc_ports_take(p), c = sbc_ports_take(p);
	assert_int_not_equal(b, a);
	assert_int_not_equal(c, a);
	assert_int_equal(sbc_ports_take(p), -1); /* a is not offered again */
	assert_int_equal(sbc_ports_tick(p, 999), 0);
	assert_int_equal(sbc_ports_take(p), -1);
	assert_int_equal(sbc_ports_tick(p, 1000), 1);
	assert_int_equal(sbc_ports_take(p), a);
	sbc_ports_give(p, a);
	sbc_ports_give(p, b);
	sbc_ports_give(p, c);
	assert_int_equal(sbc_ports_nfree(p), 3);
	assert_true(sbc_ports_is_whole(p));
	sbc_ports_free(p);
}

static void test_every_pair_set_aside_makes_take_bounded_not_a_scan(void **state)
{
	(void)state;
	struct sbc_ports *p = sbc_ports_new(30000, 39999); /* 5000 pairs, all foreign */
	int port;
	for (int i = 0; i < 5000; i++) {
		assert_true(steps_of_take(p, &port) <= STEPS_MAX);
		sbc_ports_aside(p, port, 60000);
	}
	for (int i = 0; i < 100; i++) {
		assert_true(steps_of_take(p, &port) <= STEPS_MAX);
		assert_int_equal(port, -1);
	}
	assert_int_equal(sbc_ports_tick(p, 60000), 5000);
	assert_int_equal(sbc_ports_nfree(p), 5000);
	assert_true(sbc_ports_is_whole(p));
	sbc_ports_free(p);
}

static void test_reserve_takes_out_a_pair_bound_before_a_range_change(void **state)
{
	(void)state;
	struct sbc_ports *p = sbc_ports_new(30000, 30009); /* 5 pairs */
	uint64_t before = sbc_ports_steps(p);
	assert_true(sbc_ports_reserve(p, 30004)); /* from the middle of the list */
	assert_true(sbc_ports_steps(p) - before <= STEPS_MAX);
	assert_false(sbc_ports_reserve(p, 30004)); /* in use already */
	assert_false(sbc_ports_reserve(p, 40000)); /* outside */
	assert_true(sbc_ports_is_whole(p));
	for (int i = 0; i < 4; i++)
		assert_int_not_equal(sbc_ports_take(p), 30004);
	assert_int_equal(sbc_ports_take(p), -1);
	sbc_ports_give(p, 30004);
	assert_int_equal(sbc_ports_take(p), 30004);
	int q = 30000;
	sbc_ports_give(p, q);
	sbc_ports_aside(p, sbc_ports_take(p), 5); /* aside, then reserved */
	assert_true(sbc_ports_reserve(p, q));
	assert_int_equal(sbc_ports_naside(p), 0);
	assert_true(sbc_ports_is_whole(p));
	sbc_ports_free(p);
}

static void test_rtcp_mux_legs_take_single_ports_two_to_a_pair(void **state)
{
	(void)state;
	struct sbc_ports *p = sbc_ports_new(30000, 30007); /* 4 pairs: 8 single ports */
	int ports[8];
	for (int i = 0; i < 8; i++) {
		uint64_t before = sbc_ports_steps(p);
		ports[i] = sbc_ports_take_one(p);
		assert_true(sbc_ports_steps(p) - before <= STEPS_MAX);
		assert_int_equal(ports[i], 30000 + i); /* both halves of a pair, then the next */
		assert_true(sbc_ports_is_whole(p));
	}
	assert_int_equal(sbc_ports_take_one(p), -1);
	assert_int_equal(sbc_ports_take(p), -1);
	assert_int_equal(sbc_ports_nused(p), 4);
	sbc_ports_give_one(p, 30003); /* one half free: for a single, not a pair */
	assert_int_equal(sbc_ports_nhalf(p), 1);
	assert_int_equal(sbc_ports_take(p), -1);
	assert_int_equal(sbc_ports_take_one(p), 30003);
	for (int i = 0; i < 8; i++)
		sbc_ports_give_one(p, ports[i]);
	sbc_ports_give_one(p, 30001); /* twice: ignored */
	assert_int_equal(sbc_ports_nfree(p), 4);
	assert_int_equal(sbc_ports_nhalf(p), 0);
	assert_true(sbc_ports_is_whole(p));
	/* singles and pairs side by side; a leg from before a range change */
	assert_true(sbc_ports_reserve_one(p, 30005));
	assert_false(sbc_ports_reserve(p, 30004)); /* half in use: no pair there */
	assert_true(sbc_ports_reserve_one(p, 30004));
	assert_false(sbc_ports_reserve_one(p, 30004));
	int a = sbc_ports_take(p), b = sbc_ports_take_one(p);
	assert_true(a != 30004 && b != 30004 && b != 30005 && (b & ~1) != a);
	/* a single that cannot be bound: its pair aside when the other is free */
	sbc_ports_aside_one(p, b, 100);
	assert_int_equal(sbc_ports_naside(p), 1);
	assert_true(sbc_ports_is_whole(p));
	assert_int_equal(sbc_ports_tick(p, 100), 1);
	sbc_ports_give(p, a);
	sbc_ports_give_one(p, 30004);
	sbc_ports_give_one(p, 30005);
	assert_int_equal(sbc_ports_nfree(p), 4);
	assert_true(sbc_ports_is_whole(p));
	sbc_ports_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_of_the_default_holds_2500_pairs),
		cmocka_unit_test(test_lookup_in_a_full_pool_is_bounded),
		cmocka_unit_test(test_take_and_give_back_keep_the_pool_whole),
		cmocka_unit_test(test_given_back_is_reused_last),
		cmocka_unit_test(test_giving_twice_or_foreign_ports_changes_nothing),
		cmocka_unit_test(test_an_unbindable_pair_is_set_aside_until_its_time),
		cmocka_unit_test(test_every_pair_set_aside_makes_take_bounded_not_a_scan),
		cmocka_unit_test(test_reserve_takes_out_a_pair_bound_before_a_range_change),
		cmocka_unit_test(test_rtcp_mux_legs_take_single_ports_two_to_a_pair),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
