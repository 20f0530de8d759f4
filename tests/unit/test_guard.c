/* The per-account limit on failed logins across addresses (core_guard). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../src/core/core_guard.h"

static struct core_guard *guard(void)
{
	struct core_guard_policy p = CORE_GUARD_DEFAULT_POLICY;
	struct core_guard *g = core_guard_new(&p);
	assert_non_null(g);
	return g;
}

/* The guard takes ms; these tests think in seconds. */
static int admit(struct core_guard *g, const char *acct, const char *addr, long sec)
{
	return core_guard_admit(g, acct, addr, (int64_t)sec * 1000);
}

static void done(struct core_guard *g, const char *acct, const char *addr, enum core_guard_result r,
		 long sec)
{
	core_guard_done(g, acct, addr, r, (int64_t)sec * 1000);
}

static int failures(struct core_guard *g, const char *acct, long sec)
{
	return core_guard_failures(g, acct, (int64_t)sec * 1000);
}

/* One attempt from addr that fails; the wait it got (0: it was verified). */
static int fail_once(struct core_guard *g, const char *acct, const char *addr, long now)
{
	int w = admit(g, acct, addr, now);
	if (w == 0)
		done(g, acct, addr, CORE_GUARD_FAILED, now);
	return w;
}

static void addr_of(int i, char out[32])
{
	snprintf(out, 32, "10.0.%d.%d", i / 250, i % 250 + 1);
}

static void test_ten_failures_then_delays_double_up_to_30s(void **state)
{
	(void)state;
	struct core_guard *g = guard();
	char a[32];
	long t = 1000;
	for (int i = 0; i < 10; i++) {
		addr_of(i, a);
		assert_int_equal(fail_once(g, "admin", a, t), 0);
	}
	/* The 11th is verified, and each further one starts a delay twice the last. */
	int want[] = {1, 2, 4, 8, 16, 30, 30, 30};
	for (int k = 0; k < 8; k++) {
		addr_of(100 + k, a);
		assert_int_equal(fail_once(g, "admin", a, t), 0);
		assert_int_equal(admit(g, "admin", "10.9.9.9", t), want[k]);
		t += want[k];
	}
	core_guard_free(g);
}

static void test_a_delay_lasts_its_whole_time(void **state)
{
	(void)state;
	struct core_guard *g = guard();
	char a[32];
	for (int i = 0; i < 11; i++) {
		addr_of(i, a);
		assert_int_equal(core_guard_admit(g, "admin", a, 5400), 0);
		core_guard_done(g, "admin", a, CORE_GUARD_FAILED, 5400);
	}
	/* the 1 s that the 11th started: not a tick of a seconds clock */
	assert_int_equal(core_guard_admit(g, "admin", "10.9.9.9", 6399), 1);
	assert_int_equal(core_guard_admit(g, "admin", "10.9.9.9", 6400), 0);
	core_guard_free(g);
}

static void test_other_accounts_are_not_delayed(void **state)
{
	(void)state;
	struct core_guard *g = guard();
	for (int i = 0; i < 20; i++)
		fail_once(g, "admin", "10.0.0.1", 1000);
	assert_true(admit(g, "admin", "10.0.0.2", 1000) > 0);
	assert_int_equal(admit(g, "alice", "10.0.0.2", 1000), 0);
	core_guard_free(g);
}

static void test_parallel_attempts_get_no_more_than_sequential_ones(void **state)
{
	(void)state;
	struct core_guard *g = guard();
	char a[32];
	int admitted = 0;
	/* 30 attempts in flight at once, none done yet. */
	for (int i = 0; i < 30; i++) {
		addr_of(i, a);
		if (admit(g, "admin", a, 1000) == 0)
			admitted++;
	}
	assert_int_equal(admitted, 11);
	core_guard_free(g);
}

static void test_address_that_logged_in_is_exempt(void **state)
{
	(void)state;
	struct core_guard *g = guard();
	assert_int_equal(admit(g, "admin", "192.0.2.7", 500), 0);
	done(g, "admin", "192.0.2.7", CORE_GUARD_SUCCEEDED, 500);
	char a[32];
	for (int i = 0; i < 300; i++) {
		addr_of(i, a);
		fail_once(g, "admin", a, 1000 + i / 10);
	}
	assert_true(admit(g, "admin", "198.51.100.1", 1030) > 0);
	/* the real administrator, from where they logged in before, goes ahead at once */
	assert_int_equal(admit(g, "admin", "192.0.2.7", 1030), 0);
	done(g, "admin", "192.0.2.7", CORE_GUARD_SUCCEEDED, 1030);
	/* ... but only for that account */
	for (int i = 0; i < 20; i++)
		fail_once(g, "root", "10.1.1.1", 1030);
	assert_true(admit(g, "root", "192.0.2.7", 1030) > 0);
	core_guard_free(g);
}

static void test_exemption_expires_after_good_days(void **state)
{
	(void)state;
	struct core_guard *g = guard();
	admit(g, "admin", "192.0.2.7", 1000);
	done(g, "admin", "192.0.2.7", CORE_GUARD_SUCCEEDED, 1000);
	long later = 1000 + 31 * 86400;
	for (int i = 0; i < 20; i++)
		fail_once(g, "admin", "10.0.0.1", later);
	assert_true(admit(g, "admin", "192.0.2.7", later) > 0);
	core_guard_free(g);
}

static void test_delay_ends_and_failures_leak_away(void **state)
{
	(void)state;
	struct core_guard *g = guard();
	char a[32];
	long t = 1000;
	for (int i = 0; i < 300; i++) {
		addr_of(i, a);
		fail_once(g, "admin", a, t);
		t += 1;
	}
	/* never a lock: once the delay (at most 30 s) has passed, a new address is verified */
	int w = admit(g, "admin", "203.0.113.5", t);
	assert_true(w > 0 && w <= 30);
	assert_int_equal(admit(g, "admin", "203.0.113.5", t + w), 0);
	done(g, "admin", "203.0.113.5", CORE_GUARD_SUCCEEDED, t + w);
	/* the failures leak out (one per minute) and the account is free again */
	t += w + 30 * 60;
	assert_int_equal(failures(g, "admin", t), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(fail_once(g, "admin", "10.0.0.1", t), 0);
	core_guard_free(g);
}

static void test_abandoned_attempts_are_no_failures(void **state)
{
	(void)state;
	struct core_guard *g = guard();
	/* refused before verification (a full queue): never counted */
	for (int i = 0; i < 50; i++) {
		assert_int_equal(admit(g, "admin", "10.0.0.1", 1000), 0);
		done(g, "admin", "10.0.0.1", CORE_GUARD_ABANDONED, 1000);
	}
	assert_int_equal(failures(g, "admin", 1000), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(fail_once(g, "admin", "10.0.0.1", 1000), 0);
	assert_int_equal(failures(g, "admin", 1000), 10);
	core_guard_free(g);
}

static void test_flood_of_names_keeps_the_table_bounded_and_the_delay(void **state)
{
	(void)state;
	struct core_guard *g = guard();
	for (int i = 0; i < 20; i++)
		fail_once(g, "admin", "10.0.0.1", 1000);
	int w = admit(g, "admin", "10.0.0.2", 1000);
	assert_true(w > 0);
	/* 100,000 made-up accounts, one guess each: memory stays as it is, and
	 * the attacked account stays delayed */
	char name[32];
	for (int i = 0; i < 100000; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		fail_once(g, name, "10.0.0.3", 1000);
	}
	assert_true(admit(g, "admin", "10.0.0.2", 1000) > 0);
	assert_int_equal(failures(g, "admin", 1000), 11); /* 11 verified, 9 delayed */
	core_guard_free(g);
}

static void test_policy_out_of_range_is_refused(void **state)
{
	(void)state;
	struct core_guard_policy p = {.free = 0, .window = 600, .max_delay = 30, .good_days = 30};
	assert_null(core_guard_new(&p));
	p.free = 10;
	p.max_delay = 0;
	assert_null(core_guard_new(&p));
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ten_failures_then_delays_double_up_to_30s),
		cmocka_unit_test(test_a_delay_lasts_its_whole_time),
		cmocka_unit_test(test_other_accounts_are_not_delayed),
		cmocka_unit_test(test_parallel_attempts_get_no_more_than_sequential_ones),
		cmocka_unit_test(test_address_that_logged_in_is_exempt),
		cmocka_unit_test(test_exemption_expires_after_good_days),
		cmocka_unit_test(test_delay_ends_and_failures_leak_away),
		cmocka_unit_test(test_abandoned_attempts_are_no_failures),
		cmocka_unit_test(test_flood_of_names_keeps_the_table_bounded_and_the_delay),
		cmocka_unit_test(test_policy_out_of_range_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
