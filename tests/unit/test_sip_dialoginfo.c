/* The dialog-info+xml builder (sip_dialoginfo): RFC 4235's document, escaped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sip/sip_dialoginfo.h"

static void test_empty_document(void **state)
{
	(void)state;
	char out[512];
	int n = sip_dialoginfo_build(out, sizeof(out), 0, 1, "sip:201@acme", NULL, 0);
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(out));
	assert_string_equal(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
				 "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" "
				 "version=\"0\" state=\"full\" entity=\"sip:201@acme\">\r\n"
				 "</dialog-info>\r\n");
	assert_int_equal(sip_dialoginfo_build(out, sizeof(out), 7, 0, "sip:201@acme", NULL, 0),
			 n + 3); /* "partial" */
	assert_non_null(strstr(out, "version=\"7\" state=\"partial\""));
}

static void test_one_dialog_every_element(void **state)
{
	(void)state;
	char out[2048];
	struct sip_dinfo_dialog d = {
		.id = "abc",
		.call_id = "cid@host",
		.local_tag = "lt",
		.remote_tag = "rt",
		.direction = SIP_DINFO_RECIPIENT,
		.state = SIP_DINFO_EARLY,
		.local = {"sip:201@acme", "Bob", "sip:201@acme"},
		.remote = {"sip:200@acme", "Alice", "sip:200@acme"},
	};
	int n = sip_dialoginfo_build(out, sizeof(out), 3, 1, "sip:201@acme", &d, 1);
	assert_true(n > 0);
	assert_non_null(strstr(out, "<dialog id=\"abc\" call-id=\"cid@host\" local-tag=\"lt\" "
				    "remote-tag=\"rt\" direction=\"recipient\"><state>early</state>"
				    "<local><identity display=\"Bob\">sip:201@acme</identity>"
				    "<target uri=\"sip:201@acme\"/></local>"
				    "<remote><identity display=\"Alice\">sip:200@acme</identity>"
				    "<target uri=\"sip:200@acme\"/></remote></dialog>\r\n"
				    "</dialog-info>\r\n"));
	d.direction = SIP_DINFO_INITIATOR;
	d.state = SIP_DINFO_CONFIRMED;
	d.remote = (struct sip_dinfo_party){"sip:202@acme", NULL, NULL};
	d.local = (struct sip_dinfo_party){0};
	assert_true(sip_dialoginfo_build(out, sizeof(out), 4, 1, "sip:201@acme", &d, 1) > 0);
	assert_non_null(strstr(out, "direction=\"initiator\"><state>confirmed</state>"
				    "<remote><identity>sip:202@acme</identity></remote></dialog>"));
	assert_null(strstr(out, "<local>"));
}

static void test_states_and_no_tags(void **state)
{
	(void)state;
	assert_string_equal(sip_dinfo_state_name(SIP_DINFO_TRYING), "trying");
	assert_string_equal(sip_dinfo_state_name(SIP_DINFO_PROCEEDING), "proceeding");
	assert_string_equal(sip_dinfo_state_name(SIP_DINFO_TERMINATED), "terminated");
	char out[1024];
	struct sip_dinfo_dialog d[2] = {
		{.id = "1", .call_id = "c1", .state = SIP_DINFO_TRYING},
		{.id = "2", .state = SIP_DINFO_TERMINATED},
	};
	assert_true(sip_dialoginfo_build(out, sizeof(out), 1, 1, "sip:1@x", d, 2) > 0);
	assert_non_null(
		strstr(out, "<dialog id=\"1\" call-id=\"c1\"><state>trying</state></dialog>"));
	assert_non_null(strstr(out, "<dialog id=\"2\"><state>terminated</state></dialog>"));
	assert_null(strstr(out, "remote-tag"));
}

static void test_escaping(void **state)
{
	(void)state;
	char out[2048];
	struct sip_dinfo_dialog d = {
		.id = "a\"b",
		.call_id = "x<y>&z'",
		.local_tag = "t\"1",
		.remote_tag = "t2",
		.state = SIP_DINFO_EARLY,
		.remote = {"sip:200@acme", "\"Eve\" </identity><x a='1'>\x01\x7f", "sip:a&b"},
	};
	assert_true(sip_dialoginfo_build(out, sizeof(out), 1, 1, "sip:a&b@x", &d, 1) > 0);
	assert_non_null(strstr(out, "entity=\"sip:a&amp;b@x\""));
	assert_non_null(strstr(out, "id=\"a&quot;b\" call-id=\"x&lt;y&gt;&amp;z&apos;\" "
				    "local-tag=\"t&quot;1\""));
	assert_non_null(strstr(out, "display=\"&quot;Eve&quot; &lt;/identity&gt;&lt;x "
				    "a=&apos;1&apos;&gt;\">"));
	assert_non_null(strstr(out, "<target uri=\"sip:a&amp;b\"/>"));
	assert_null(strstr(out, "\x01"));
	assert_null(strstr(out, "<x"));
	char e[8];
	assert_int_equal(sip_xml_escape(e, sizeof(e), "a&b"), 7);
	assert_string_equal(e, "a&amp;b");
	assert_int_equal(sip_xml_escape(e, sizeof(e), "<<"), -1); /* 8 bytes + NUL */
	assert_int_equal(sip_xml_escape(e, 0, ""), -1);
}

static void test_bounds_and_required(void **state)
{
	(void)state;
	char out[4096];
	struct sip_dinfo_dialog d = {.id = "1", .state = SIP_DINFO_EARLY};
	int full = sip_dialoginfo_build(out, sizeof(out), 1, 1, "sip:1@x", &d, 1);
	assert_true(full > 0);
	/* every cap short of the whole: -1, never past cap */
	for (size_t cap = 0; cap <= (size_t)full; cap++) {
		memset(out, 'Z', sizeof(out));
		assert_int_equal(sip_dialoginfo_build(out, cap, 1, 1, "sip:1@x", &d, 1), -1);
		assert_int_equal(out[cap], 'Z');
	}
	assert_int_equal(sip_dialoginfo_build(out, sizeof(out), 1, 1, "sip:1@x", &d, 1), full);
	d.id = "";
	assert_int_equal(sip_dialoginfo_build(out, sizeof(out), 1, 1, "sip:1@x", &d, 1), -1);
	assert_int_equal(sip_dialoginfo_build(out, sizeof(out), 1, 1, "", NULL, 0), -1);
	assert_int_equal(sip_dialoginfo_build(out, sizeof(out), 1, 1, NULL, NULL, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_document),
		cmocka_unit_test(test_one_dialog_every_element),
		cmocka_unit_test(test_states_and_no_tags),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_bounds_and_required),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
