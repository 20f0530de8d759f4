/* Diversion (RFC 5806) and History-Info (RFC 7044, causes RFC 4458) as
 * sip_divert_build writes them for the hops of a forwarded call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sip/sip_divert.h"

static void test_a_call_not_forwarded_has_no_headers(void **state)
{
	(void)state;
	char out[256] = "x";
	struct sip_divert_hop h[] = {{"201", "Alice", SIP_DIVERT_UNCONDITIONAL}};
	assert_int_equal(sip_divert_build(h, 1, "acme", out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void test_two_forwards_most_recent_diversion_first(void **state)
{
	(void)state;
	char out[1024];
	struct sip_divert_hop h[] = {{"201", "Alice", SIP_DIVERT_UNCONDITIONAL},
				     {"202", "", SIP_DIVERT_NOANSWER},
				     {"203", "Carol \"C\"", SIP_DIVERT_BUSY}};
	int n = sip_divert_build(h, 3, "acme", out, sizeof(out));
	assert_int_equal(n, (int)strlen(out));
	assert_string_equal(out,
			    "Diversion: <sip:202@acme>;reason=no-answer;counter=1,"
			    "\"Alice\" <sip:201@acme>;reason=unconditional;counter=1\r\n"
			    "History-Info: \"Alice\" <sip:201@acme>;index=1,"
			    "<sip:202@acme;cause=302>;index=1.1;mp=1,"
			    "\"Carol \\\"C\\\"\" <sip:203@acme;cause=408>;index=1.1.1;mp=1.1\r\n");
}

static void test_reasons_and_causes(void **state)
{
	(void)state;
	assert_string_equal(sip_divert_reason_token(SIP_DIVERT_BUSY), "user-busy");
	assert_int_equal(sip_divert_reason_cause(SIP_DIVERT_BUSY), 486);
	assert_string_equal(sip_divert_reason_token(SIP_DIVERT_UNAVAILABLE), "unavailable");
	assert_int_equal(sip_divert_reason_cause(SIP_DIVERT_UNAVAILABLE), 503);
	assert_string_equal(sip_divert_reason_token(SIP_DIVERT_DND), "do-not-disturb");
	assert_string_equal(sip_divert_reason_token((enum sip_divert_reason)99), "unknown");
}

static void test_too_small_or_bad_user_is_refused_not_cut(void **state)
{
	(void)state;
	char out[40];
	struct sip_divert_hop h[] = {{"201", "Alice", SIP_DIVERT_UNCONDITIONAL},
				     {"202", "Bob", SIP_DIVERT_BUSY}};
	assert_int_equal(sip_divert_build(h, 2, "acme", out, sizeof(out)), -1);
	assert_string_equal(out, "");
	char big[512];
	struct sip_divert_hop bad[] = {{"201", "", SIP_DIVERT_BUSY},
				       {"20>2\r\nX: y", "", SIP_DIVERT_BUSY}};
	assert_int_equal(sip_divert_build(bad, 2, "acme", big, sizeof(big)), -1);
	/* a display name cannot break out of its quotes or the line */
	struct sip_divert_hop ctl[] = {{"201", "A\r\nX: y", SIP_DIVERT_BUSY},
				       {"202", "", SIP_DIVERT_BUSY}};
	assert_true(sip_divert_build(ctl, 2, "acme", big, sizeof(big)) > 0);
	assert_null(strstr(big, "\r\nX:"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_call_not_forwarded_has_no_headers),
		cmocka_unit_test(test_two_forwards_most_recent_diversion_first),
		cmocka_unit_test(test_reasons_and_causes),
		cmocka_unit_test(test_too_small_or_bad_user_is_refused_not_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
