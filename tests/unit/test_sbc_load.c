/*
 * When the SBC sheds load (sbc_load): a standing receive queue or a backlog
 * at the phone systems starts it, a burst does not; it ends with
 * hysteresis and not before its hold time; only new requests outside a
 * dialog are shed, with a Retry-After within its bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/sbc/sbc_load.h"

static const struct sbc_load_limits lim = {
	.wait_high_ms = 50,
	.wait_low_ms = 10,
	.pending_high = 400,
	.pending_low = 100,
	.hold_ms = 1000,
	.retry_min = 1,
	.retry_max = 4,
};

static struct sip_pl pl(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return (struct sip_pl){s, n};
}

/* Datagrams that each waited wait ms, every ms from t for n ms. */
static int64_t feed(struct sbc_load *l, int64_t t, int64_t n, int64_t wait, int pending)
{
	for (int64_t i = 0; i < n; i++)
		sbc_load_sample(l, wait, pending, t + i);
	return t + n;
}

static void test_a_standing_queue_starts_shedding(void **state)
{
	(void)state;
	struct sbc_load l;
	sbc_load_init(&l, &lim, 0);
	int64_t t = feed(&l, 0, 150, 5, 0);
	assert_false(l.shedding);
	feed(&l, t, 250, 80, 0); /* every datagram waited 80 ms for two windows */
	assert_true(l.shedding);
	assert_int_equal(l.episodes, 1);
}

static void test_a_burst_that_drains_within_a_window_does_not(void **state)
{
	(void)state;
	struct sbc_load l;
	sbc_load_init(&l, &lim, 0);
	/* a burst: long waits, but the queue empties in each window (one short wait) */
	for (int64_t t = 0; t < 2000; t++)
		sbc_load_sample(&l, t % 100 == 50 ? 1 : 200, 0, t);
	assert_false(l.shedding);
	assert_int_equal(l.episodes, 0);
}

static void test_a_backlog_at_the_phone_systems_starts_it_at_once(void **state)
{
	(void)state;
	struct sbc_load l;
	sbc_load_init(&l, &lim, 0);
	assert_false(sbc_load_sample(&l, 0, 400, 1));
	assert_true(sbc_load_sample(&l, 0, 401, 2)); /* not a window later */
}

static void test_it_ends_below_both_low_marks_after_the_hold(void **state)
{
	(void)state;
	struct sbc_load l;
	sbc_load_init(&l, &lim, 0);
	int64_t t = feed(&l, 0, 200, 80, 0);
	assert_true(l.shedding);
	int64_t since = l.since;
	/* between the marks: it goes on */
	t = feed(&l, t, 3000, 30, 0);
	assert_true(l.shedding);
	/* the wait below its low mark, the backlog not: it goes on */
	t = feed(&l, t, 3000, 1, 200);
	assert_true(l.shedding);
	/* both below: it ends */
	feed(&l, t, 300, 1, 50);
	assert_false(l.shedding);
	assert_true(since > 0);
}

static void test_it_lasts_its_hold_time(void **state)
{
	(void)state;
	struct sbc_load l;
	sbc_load_init(&l, &lim, 0);
	sbc_load_sample(&l, 0, 401, 10);
	assert_true(l.shedding);
	feed(&l, 11, 900, 0, 0); /* idle at once: still within the hold */
	assert_true(l.shedding);
	feed(&l, 911, 300, 0, 0);
	assert_false(l.shedding);
}

static void test_no_datagrams_is_no_queue(void **state)
{
	(void)state;
	struct sbc_load l;
	sbc_load_init(&l, &lim, 0);
	feed(&l, 0, 200, 80, 0);
	assert_true(l.shedding);
	/* TCP only from now on: waits unknown */
	feed(&l, 200, 1500, -1, 0);
	assert_false(l.shedding);
}

static void test_only_new_requests_outside_a_dialog_are_shed(void **state)
{
	(void)state;
	struct sbc_load l;
	sbc_load_init(&l, &lim, 0);
	assert_false(sbc_load_sheds(&l, pl("INVITE"), false)); /* not shedding */
	sbc_load_sample(&l, 0, 1000, 1);
	assert_true(sbc_load_sheds(&l, pl("INVITE"), false));
	assert_true(sbc_load_sheds(&l, pl("REGISTER"), false));
	assert_true(sbc_load_sheds(&l, pl("OPTIONS"), false));
	assert_true(sbc_load_sheds(&l, pl("SUBSCRIBE"), false));
	assert_false(sbc_load_sheds(&l, pl("ACK"), false));
	assert_false(sbc_load_sheds(&l, pl("CANCEL"), false));
	assert_false(sbc_load_sheds(&l, pl("INVITE"), true)); /* a re-INVITE */
	assert_false(sbc_load_sheds(&l, pl("BYE"), true));
}

static void test_retry_after_is_within_its_bounds_and_counted(void **state)
{
	(void)state;
	struct sbc_load l;
	sbc_load_init(&l, &lim, 0);
	int seen[6] = {0};
	for (uint32_t r = 0; r < 1000; r++) {
		int ra = sbc_load_shed(&l, r * 2654435761u);
		assert_true(ra >= 1 && ra <= 4);
		seen[ra]++;
	}
	for (int i = 1; i <= 4; i++)
		assert_true(seen[i] > 0); /* jittered */
	assert_int_equal(l.shed, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_standing_queue_starts_shedding),
		cmocka_unit_test(test_a_burst_that_drains_within_a_window_does_not),
		cmocka_unit_test(test_a_backlog_at_the_phone_systems_starts_it_at_once),
		cmocka_unit_test(test_it_ends_below_both_low_marks_after_the_hold),
		cmocka_unit_test(test_it_lasts_its_hold_time),
		cmocka_unit_test(test_no_datagrams_is_no_queue),
		cmocka_unit_test(test_only_new_requests_outside_a_dialog_are_shed),
		cmocka_unit_test(test_retry_after_is_within_its_bounds_and_counted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
