/* Refer-To and Replaces parsing, sipfrag bodies (sip_refer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sip/sip_refer.h"

static struct sip_pl pl(const char *s)
{
	return (struct sip_pl){s, strlen(s)};
}

static void test_replaces(void **state)
{
	(void)state;
	struct sip_replaces r;
	assert_int_equal(sip_replaces_parse(pl("425928@bobster.example.org;to-tag=7743;"
					       "from-tag=6472"),
					    &r),
			 0);
	assert_string_equal(r.call_id, "425928@bobster.example.org");
	assert_string_equal(r.to_tag, "7743");
	assert_string_equal(r.from_tag, "6472");
	assert_false(r.early_only);
	assert_int_equal(sip_replaces_parse(pl("abc ; from-tag=1 ;To-Tag=2;early-only;x=y"), &r),
			 0);
	assert_string_equal(r.call_id, "abc");
	assert_string_equal(r.to_tag, "2");
	assert_string_equal(r.from_tag, "1");
	assert_true(r.early_only);
}

static void test_replaces_bad(void **state)
{
	(void)state;
	struct sip_replaces r;
	assert_int_equal(sip_replaces_parse(pl(""), &r), -1);
	assert_int_equal(sip_replaces_parse(pl("abc;to-tag=1"), &r), -1);   /* no from-tag */
	assert_int_equal(sip_replaces_parse(pl("abc;from-tag=1"), &r), -1); /* no to-tag */
	assert_int_equal(sip_replaces_parse(pl(";to-tag=1;from-tag=2"), &r), -1);
	assert_int_equal(sip_replaces_parse(pl("abc;to-tag=;from-tag=2"), &r), -1);
	assert_int_equal(sip_replaces_parse(pl("a%0Dc;to-tag=1;from-tag=2"), &r), -1);
	char big[600];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sip_replaces_parse(pl(big), &r), -1);
}

static void test_refer_to(void **state)
{
	(void)state;
	struct sip_refer_to t;
	assert_int_equal(sip_refer_to_parse(pl("<sip:203@pbx.example>"), &t), 0);
	assert_string_equal(t.user, "203");
	assert_string_equal(t.host, "pbx.example");
	assert_false(t.has_replaces);
	assert_int_equal(sip_refer_to_parse(pl("sip:%2A8@h"), &t), 0);
	assert_string_equal(t.user, "*8");
	/* RFC 3891 §5 / RFC 5589 §7: an attended transfer */
	assert_int_equal(
		sip_refer_to_parse(pl("\"Carol\" <sips:carol@chicago.example.com?Replaces="
				      "090459243588173445%40a.example%3Bto-tag%3D7553452%3B"
				      "from-tag%3D31431&x=1>;p=q"),
				   &t),
		0);
	assert_string_equal(t.user, "carol");
	assert_true(t.has_replaces);
	assert_string_equal(t.replaces.call_id, "090459243588173445@a.example");
	assert_string_equal(t.replaces.to_tag, "7553452");
	assert_string_equal(t.replaces.from_tag, "31431");
}

static void test_refer_to_bad(void **state)
{
	(void)state;
	struct sip_refer_to t;
	assert_int_equal(sip_refer_to_parse(pl("<tel:+4930123>"), &t), -1);
	assert_int_equal(sip_refer_to_parse(pl("<sip:pbx.example>"), &t), -1); /* no user */
	assert_int_equal(sip_refer_to_parse(pl("<sip:%zz@h>"), &t), -1);
	assert_int_equal(sip_refer_to_parse(pl("<sip:20%@h>"), &t), -1);
	assert_int_equal(sip_refer_to_parse(pl("<sip:a@h?Replaces=abc%3Bto-tag%3D1>"), &t), -1);
	assert_int_equal(sip_refer_to_parse(pl("garbage"), &t), -1);
}

static void test_sipfrag(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(sip_sipfrag(100, "Trying", out, sizeof(out)), 20);
	assert_string_equal(out, "SIP/2.0 100 Trying\r\n");
	assert_int_equal(sip_sipfrag(200, "OK", out, 10), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replaces), cmocka_unit_test(test_replaces_bad),
		cmocka_unit_test(test_refer_to), cmocka_unit_test(test_refer_to_bad),
		cmocka_unit_test(test_sipfrag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
