/* The order in which a ring group tries its members (pbx_group_order, a
 * pure function): by position, round robin after the member tried last,
 * longest idle first; and the strategy names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/pbx/pbx_group.h"

/* members given out of position order on purpose */
static const struct pbx_group_member M[] = {
	{.user_id = 30, .position = 2, .last_call_end = 100},
	{.user_id = 10, .position = 0, .last_call_end = 300},
	{.user_id = 20, .position = 1, .last_call_end = 200},
};

static void users_of(const int *idx, int n, long long *out)
{
	for (int i = 0; i < n; i++)
		out[i] = M[idx[i]].user_id;
}

static void check(enum pbx_group_strategy s, long long rr_last, long long a, long long b,
		  long long c)
{
	int idx[3] = {-1, -1, -1};
	long long u[3];
	pbx_group_order(M, 3, s, rr_last, idx);
	users_of(idx, 3, u);
	assert_int_equal(u[0], a);
	assert_int_equal(u[1], b);
	assert_int_equal(u[2], c);
}

static void test_order_by_position(void **state)
{
	(void)state;
	check(PBX_GROUP_ORDER, 0, 10, 20, 30);
	check(PBX_GROUP_RINGALL, 20, 10, 20, 30);
	check(PBX_GROUP_ORDER, 30, 10, 20, 30); /* rr_last only counts for round robin */
}

static void test_roundrobin_starts_after_the_last(void **state)
{
	(void)state;
	check(PBX_GROUP_ROUNDROBIN, 0, 10, 20, 30); /* none tried yet */
	check(PBX_GROUP_ROUNDROBIN, 10, 20, 30, 10);
	check(PBX_GROUP_ROUNDROBIN, 20, 30, 10, 20);
	check(PBX_GROUP_ROUNDROBIN, 30, 10, 20, 30); /* wraps */
	check(PBX_GROUP_ROUNDROBIN, 99, 10, 20, 30); /* no longer a member */
}

static void test_roundrobin_spreads_evenly(void **state)
{
	(void)state;
	int count[3] = {0}, idx[3];
	long long last = 0;
	for (int call = 0; call < 9; call++) {
		pbx_group_order(M, 3, PBX_GROUP_ROUNDROBIN, last, idx);
		last = M[idx[0]].user_id; /* the first answers */
		count[idx[0]]++;
	}
	assert_int_equal(count[0], 3);
	assert_int_equal(count[1], 3);
	assert_int_equal(count[2], 3);
}

static void test_longest_idle_first(void **state)
{
	(void)state;
	check(PBX_GROUP_LONGEST_IDLE, 0, 30, 20, 10);
	/* ties by position; never called (0) is the longest idle */
	const struct pbx_group_member t[] = {
		{.user_id = 5, .position = 1, .last_call_end = 50},
		{.user_id = 6, .position = 0, .last_call_end = 50},
		{.user_id = 7, .position = 2, .last_call_end = 0},
	};
	int idx[3];
	pbx_group_order(t, 3, PBX_GROUP_LONGEST_IDLE, 0, idx);
	assert_int_equal(t[idx[0]].user_id, 7);
	assert_int_equal(t[idx[1]].user_id, 6);
	assert_int_equal(t[idx[2]].user_id, 5);
}

static void test_edges_and_names(void **state)
{
	(void)state;
	int idx[1] = {-1};
	pbx_group_order(M, 0, PBX_GROUP_ORDER, 0, idx); /* nothing to order: untouched */
	assert_int_equal(idx[0], -1);
	pbx_group_order(M, 1, PBX_GROUP_ROUNDROBIN, 30, idx);
	assert_int_equal(idx[0], 0);
	assert_int_equal(pbx_group_strategy_of("ringall"), PBX_GROUP_RINGALL);
	assert_int_equal(pbx_group_strategy_of("order"), PBX_GROUP_ORDER);
	assert_int_equal(pbx_group_strategy_of("roundrobin"), PBX_GROUP_ROUNDROBIN);
	assert_int_equal(pbx_group_strategy_of("longest_idle"), PBX_GROUP_LONGEST_IDLE);
	assert_int_equal(pbx_group_strategy_of("random"), -1);
	assert_int_equal(pbx_group_strategy_of(NULL), -1);
	assert_string_equal(pbx_group_strategy_name(PBX_GROUP_LONGEST_IDLE), "longest_idle");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_by_position),
		cmocka_unit_test(test_roundrobin_starts_after_the_last),
		cmocka_unit_test(test_roundrobin_spreads_evenly),
		cmocka_unit_test(test_longest_idle_first),
		cmocka_unit_test(test_edges_and_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
