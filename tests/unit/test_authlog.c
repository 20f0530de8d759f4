/* Failed SIP authentications: one log line per burst, repeats counted into
 * the next line, never a secret (core_authlog). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/core/core_authlog.h"
#include "../../src/core/core_log.h"

static char last[4096];
static int lines;

static void sink(const char *line, size_t len)
{
	memcpy(last, line, len < sizeof(last) ? len : sizeof(last) - 1);
	last[len < sizeof(last) ? len : sizeof(last) - 1] = '\0';
	lines++;
}

static struct core_authlog_event ev(enum core_authlog_reason r, const char *user, const char *addr)
{
	return (struct core_authlog_event){.reason = r,
					   .phone_system = "acme",
					   .phone_system_len = 4,
					   .user = user,
					   .user_len = strlen(user),
					   .address = addr,
					   .address_len = strlen(addr),
					   .user_agent = "Phone 1.0",
					   .user_agent_len = 9,
					   .method = "REGISTER",
					   .method_len = 8};
}

static int setup(void **state)
{
	(void)state;
	unsetenv("ZENTRALE_TEST_AUTHLOG_WINDOW_MS");
	core_log_set_sink(sink);
	lines = 0;
	last[0] = '\0';
	return 0;
}

static void test_first_failure_is_written_repeats_are_counted(void **state)
{
	(void)state;
	struct core_authlog *l = core_authlog_new();
	struct core_authlog_event e = ev(CORE_AUTHLOG_WRONG_PASSWORD, "100", "192.0.2.7");
	assert_true(core_authlog_failed(l, &e, 1000));
	assert_int_equal(lines, 1);
	assert_non_null(strstr(last, "sip auth failed: reason=wrong-password address=192.0.2.7 "
				     "phone_system=acme user=\"100\" user_agent=\"Phone 1.0\" "
				     "method=REGISTER"));
	assert_null(strstr(last, "repeated="));
	for (int i = 0; i < 5; i++)
		assert_false(core_authlog_failed(l, &e, 2000 + i));
	assert_int_equal(lines, 1);
	/* the burst goes on: nothing before the window has passed */
	assert_int_equal(core_authlog_sweep(l, 1000 + CORE_AUTHLOG_WINDOW - 1), 0);
	assert_int_equal(core_authlog_sweep(l, 1000 + CORE_AUTHLOG_WINDOW), 1);
	assert_int_equal(lines, 2);
	assert_non_null(strstr(last, "address=192.0.2.7 phone_system=acme user=\"100\""));
	assert_non_null(strstr(last, " repeated=5"));
	/* nothing more to say */
	assert_int_equal(core_authlog_sweep(l, 10 * CORE_AUTHLOG_WINDOW), 0);
	core_authlog_free(l);
}

static void test_a_new_burst_after_the_window_is_written_at_once(void **state)
{
	(void)state;
	struct core_authlog *l = core_authlog_new();
	struct core_authlog_event e = ev(CORE_AUTHLOG_UNKNOWN_USER, "999", "192.0.2.8");
	core_authlog_failed(l, &e, 0);
	core_authlog_failed(l, &e, 10);
	/* no sweep ran: the next burst's first line carries the count */
	assert_true(core_authlog_failed(l, &e, CORE_AUTHLOG_WINDOW + 5));
	assert_int_equal(lines, 2);
	assert_non_null(strstr(last, "reason=unknown-user"));
	assert_non_null(strstr(last, "repeated=1"));
	core_authlog_free(l);
}

static void test_kinds_are_apart(void **state)
{
	(void)state;
	struct core_authlog *l = core_authlog_new();
	struct core_authlog_event a = ev(CORE_AUTHLOG_WRONG_PASSWORD, "100", "192.0.2.7");
	struct core_authlog_event b = ev(CORE_AUTHLOG_WRONG_PASSWORD, "101", "192.0.2.7");
	struct core_authlog_event c = ev(CORE_AUTHLOG_WRONG_PASSWORD, "100", "192.0.2.70");
	struct core_authlog_event d = ev(CORE_AUTHLOG_DISABLED_USER, "100", "192.0.2.7");
	/* lengths are part of the kind: "10" + "0192…" is not "100" + "192…" */
	struct core_authlog_event e = ev(CORE_AUTHLOG_WRONG_PASSWORD, "10", "0192.0.2.7");
	assert_true(core_authlog_failed(l, &a, 1));
	assert_true(core_authlog_failed(l, &b, 1));
	assert_true(core_authlog_failed(l, &c, 1));
	assert_true(core_authlog_failed(l, &d, 1));
	assert_true(core_authlog_failed(l, &e, 1));
	assert_false(core_authlog_failed(l, &a, 2));
	assert_int_equal(lines, 5);
	core_authlog_free(l);
}

static void test_a_blocked_address_is_one_kind_whatever_it_names(void **state)
{
	(void)state;
	struct core_authlog *l = core_authlog_new();
	struct core_authlog_event e = ev(CORE_AUTHLOG_BLOCKED_ADDRESS, "100", "192.0.2.9");
	assert_true(core_authlog_due(l, &e, 5));
	assert_true(core_authlog_failed(l, &e, 5));
	struct core_authlog_event f = ev(CORE_AUTHLOG_BLOCKED_ADDRESS, "", "192.0.2.9");
	f.phone_system_len = 0;
	assert_false(core_authlog_due(l, &f, 6));
	assert_false(core_authlog_failed(l, &f, 6));
	assert_int_equal(lines, 1);
	core_authlog_sweep(l, 5 + CORE_AUTHLOG_WINDOW);
	/* the count's line names what the burst's first request named */
	assert_non_null(strstr(last, "reason=blocked-address address=192.0.2.9 phone_system=acme "
				     "user=\"100\""));
	assert_non_null(strstr(last, "repeated=1"));
	core_authlog_free(l);
}

static void test_quotes_and_control_characters_cannot_forge_fields(void **state)
{
	(void)state;
	struct core_authlog *l = core_authlog_new();
	struct core_authlog_event e =
		ev(CORE_AUTHLOG_UNKNOWN_USER, "x\" address=10.0.0.1 \\\n", "192.0.2.7");
	core_authlog_failed(l, &e, 0);
	assert_non_null(strstr(last, "reason=unknown-user address=192.0.2.7 phone_system=acme "
				     "user=\"x\\\" address=10.0.0.1 \\\\\\x0a\""));
	/* one line: its only newline is its end */
	assert_ptr_equal(strchr(last, '\n'), last + strlen(last) - 1);
	/* an unquoted field keeps to token characters */
	e = ev(CORE_AUTHLOG_UNKNOWN_PHONE_SYSTEM, "100", "192.0.2.7");
	e.phone_system = "evil address=10.0.0.1", e.phone_system_len = 21;
	e.method = "REG ISTER", e.method_len = 9;
	core_authlog_failed(l, &e, 0);
	assert_non_null(strstr(last, "phone_system=evil?address?10.0.0.1 user="));
	assert_non_null(strstr(last, "method=REG?ISTER"));
	core_authlog_free(l);
}

static void test_a_long_user_agent_is_cut_and_marked(void **state)
{
	(void)state;
	struct core_authlog *l = core_authlog_new();
	char ua[600];
	memset(ua, 'u', sizeof(ua));
	struct core_authlog_event e = ev(CORE_AUTHLOG_WRONG_PASSWORD, "100", "192.0.2.7");
	e.user_agent = ua, e.user_agent_len = sizeof(ua);
	core_authlog_failed(l, &e, 0);
	assert_non_null(strstr(last, "uuu...\" method=REGISTER"));
	core_authlog_free(l);
}

static void test_a_full_table_gives_way_and_keeps_counts(void **state)
{
	(void)state;
	struct core_authlog *l = core_authlog_new();
	char user[16];
	for (int i = 0; i < 4 * CORE_AUTHLOG_SLOTS; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		struct core_authlog_event e = ev(CORE_AUTHLOG_UNKNOWN_USER, user, "192.0.2.7");
		core_authlog_failed(l, &e, i);
		core_authlog_failed(l, &e, i); /* a repeat, counted */
	}
	/* each kind: its line, and its count when it gave way or at the sweep */
	core_authlog_sweep(l, 4 * CORE_AUTHLOG_SLOTS + CORE_AUTHLOG_WINDOW);
	assert_int_equal(lines, 2 * 4 * CORE_AUTHLOG_SLOTS);
	core_authlog_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_first_failure_is_written_repeats_are_counted, setup),
		cmocka_unit_test_setup(test_a_new_burst_after_the_window_is_written_at_once, setup),
		cmocka_unit_test_setup(test_kinds_are_apart, setup),
		cmocka_unit_test_setup(test_a_blocked_address_is_one_kind_whatever_it_names, setup),
		cmocka_unit_test_setup(test_quotes_and_control_characters_cannot_forge_fields,
				       setup),
		cmocka_unit_test_setup(test_a_long_user_agent_is_cut_and_marked, setup),
		cmocka_unit_test_setup(test_a_full_table_gives_way_and_keeps_counts, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
