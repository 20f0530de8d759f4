/* Login throttling per address (core_throttle). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

static void addr_of(int i, char *out, size_t len)
{
	snprintf(out, len, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
}

/* 16 slots: 14 for addresses, 2 for prefixes. */
static void test_least_recently_failed_stale_tracker_gives_way(void **state)
{
	(void)state;
	struct core_throttle *t = core_throttle_new_capacity(3, 60, 300, 16);
	char a[32];
	for (int i = 0; i < 14; i++) {
		addr_of(i, a, sizeof(a));
		core_throttle_fail(t, a, 1000 + i);
	}
	/* 10.0.0.1 fails again: 10.0.0.0 is now the least recently failed */
	core_throttle_fail(t, "10.0.0.1", 1014);
	/* at 1061 only 10.0.0.0's failures have left the window: it gives way */
	core_throttle_fail(t, "192.0.2.1", 1061);
	assert_int_equal(core_throttle_failures(t, "192.0.2.1", 1061), 1);
	assert_int_equal(core_throttle_failures(t, "10.0.0.0", 1061), 0);
	assert_int_equal(core_throttle_failures(t, "10.0.0.1", 1061), 1);
	assert_int_equal(core_throttle_failures(t, "10.0.0.2", 1061), 1);
	assert_int_equal(core_throttle_stats(t).addresses, 14);
	assert_int_equal(core_throttle_stats(t).prefixes, 0);
	core_throttle_free(t);
}

static void test_full_table_counts_a_new_address_by_prefix(void **state)
{
	(void)state;
	struct core_throttle *t = core_throttle_new_capacity(3, 60, 300, 16);
	char a[32], key[CORE_THROTTLE_KEY_LEN];
	for (int i = 0; i < 14; i++) {
		addr_of(i, a, sizeof(a));
		core_throttle_fail(t, a, 1000);
	}
	/* every address slot has recent failures: a fresh address is still counted */
	assert_false(core_throttle_fail_key(t, "192.0.2.7", 1001, key));
	assert_false(core_throttle_fail_key(t, "192.0.2.7", 1002, key));
	assert_int_equal(core_throttle_failures(t, "192.0.2.0/24", 1002), 2);
	assert_true(core_throttle_fail_key(t, "192.0.2.7", 1003, key));
	assert_string_equal(key, "192.0.2.0/24");
	assert_int_equal(core_throttle_blocked(t, "192.0.2.7", 1004), 299);
	assert_int_equal(core_throttle_blocked(t, "192.0.2.200", 1004), 299);
	assert_int_equal(core_throttle_blocked(t, "192.0.3.1", 1004), 0);
	/* IPv6: by its /64 */
	for (int i = 0; i < 2; i++)
		core_throttle_fail(t, "2001:db8:1:2::5", 1005);
	assert_int_equal(core_throttle_failures(t, "2001:db8:1:2::/64", 1005), 2);
	assert_true(core_throttle_fail(t, "2001:db8:1:2:ffff::1", 1005));
	assert_true(core_throttle_blocked(t, "2001:db8:1:2::9", 1006) > 0);
	json_t *l = core_throttle_list(t, 1006);
	assert_int_equal(json_array_size(l), 2);
	json_decref(l);
	assert_int_equal(core_throttle_unblock(t, "192.0.2.0/24", 1006), 0);
	assert_int_equal(core_throttle_blocked(t, "192.0.2.7", 1006), 0);
	core_throttle_free(t);
}

static void test_blocked_entries_are_never_evicted(void **state)
{
	(void)state;
	struct core_throttle *t = core_throttle_new_capacity(1, 60, 300, 16);
	char a[32];
	for (int i = 0; i < 14; i++) { /* every address slot blocked */
		addr_of(i, a, sizeof(a));
		assert_true(core_throttle_fail(t, a, 1000));
	}
	for (int i = 0; i < 5000; i++) {
		addr_of(100000 + i, a, sizeof(a));
		core_throttle_fail(t, a, 1001 + i % 50);
	}
	for (int i = 0; i < 14; i++) {
		addr_of(i, a, sizeof(a));
		assert_true(core_throttle_blocked(t, a, 1100) > 0);
	}
	assert_int_equal(core_throttle_stats(t).addresses, 14);
	core_throttle_free(t);
}

static void test_blocks_expire_and_free_their_slot(void **state)
{
	(void)state;
	struct core_throttle *t = core_throttle_new_capacity(1, 60, 300, 16);
	char a[32];
	for (int i = 0; i < 14; i++) {
		addr_of(i, a, sizeof(a));
		assert_true(core_throttle_fail(t, a, 1000 + i));
	}
	assert_int_equal(core_throttle_stats(t).blocked, 14);
	/* the first two blocks end at 1300 and 1301 */
	assert_int_equal(core_throttle_blocked(t, "10.0.0.0", 1301), 0);
	assert_int_equal(core_throttle_stats(t).blocked, 12);
	json_t *l = core_throttle_list(t, 1301);
	assert_int_equal(json_array_size(l), 12);
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "address")),
			    "10.0.0.2");
	json_decref(l);
	/* their slots hold new addresses again, not prefixes */
	assert_true(core_throttle_fail(t, "192.0.2.1", 1301));
	assert_true(core_throttle_blocked(t, "192.0.2.1", 1302) > 0);
	assert_int_equal(core_throttle_blocked(t, "192.0.2.2", 1302), 0);
	core_throttle_free(t);
}

static void test_blocks_handed_back_are_kept(void **state)
{
	(void)state;
	struct core_throttle *t = core_throttle_new_capacity(5, 60, 300, 16);
	assert_int_equal(core_throttle_block(t, "10.0.0.1", 2000, 1000), 0);
	assert_int_equal(core_throttle_block(t, "10.9.9.0/24", 1500, 1000), 0);
	assert_int_equal(core_throttle_block(t, "10.0.0.2", 900, 1000), 0); /* over: ignored */
	assert_int_equal(core_throttle_blocked(t, "10.0.0.1", 1000), 1000);
	assert_int_equal(core_throttle_blocked(t, "10.9.9.77", 1000), 500);
	assert_int_equal(core_throttle_blocked(t, "10.0.0.2", 1000), 0);
	json_t *l = core_throttle_list(t, 1000); /* soonest to end first */
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "address")),
			    "10.9.9.0/24");
	json_decref(l);
	core_throttle_free(t);
}

static void test_long_keys_are_kept_whole(void **state)
{
	(void)state;
	struct core_throttle *t = core_throttle_new(2, 60, 300);
	char a[200], b[200];
	memset(a, 'x', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(a));
	b[150] = 'y'; /* differs only past where a cut copy would end */
	core_throttle_fail(t, a, 1);
	assert_true(core_throttle_fail(t, a, 2));
	assert_true(core_throttle_blocked(t, a, 3) > 0);
	assert_int_equal(core_throttle_blocked(t, b, 3), 0);
	core_throttle_free(t);
}

static void test_lookups_stay_bounded_in_a_full_table(void **state)
{
	(void)state;
	struct core_throttle *t = core_throttle_new(20, 60, 300);
	char a[32];
	for (int i = 0; i < 200000; i++) {
		addr_of(i, a, sizeof(a));
		core_throttle_fail(t, a, 1000);
	}
	struct core_throttle_stats st = core_throttle_stats(t);
	/* 7/8 of the slots for addresses, the rest (from 10.0.224.0 on) by /24 */
	assert_int_equal(st.addresses, CORE_THROTTLE_CAPACITY / 8 * 7);
	assert_int_equal(st.prefixes, 558);
	assert_true(st.longest_probe <= 12);
	assert_int_equal(core_throttle_blocked(t, "10.0.1.5", 1000), 0);
	assert_true(core_throttle_blocked(t, "10.2.0.77", 1000) > 0); /* 256 failures in its /24 */
	assert_int_equal(core_throttle_stats(t).blocked, 558);
	core_throttle_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks_after_max_failures_in_window),
		cmocka_unit_test(test_spread_failures_do_not_block),
		cmocka_unit_test(test_success_resets_failures),
		cmocka_unit_test(test_memory_is_bounded_and_blocks_survive),
		cmocka_unit_test(test_least_recently_failed_stale_tracker_gives_way),
		cmocka_unit_test(test_full_table_counts_a_new_address_by_prefix),
		cmocka_unit_test(test_blocked_entries_are_never_evicted),
		cmocka_unit_test(test_blocks_expire_and_free_their_slot),
		cmocka_unit_test(test_blocks_handed_back_are_kept),
		cmocka_unit_test(test_long_keys_are_kept_whole),
		cmocka_unit_test(test_lookups_stay_bounded_in_a_full_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
