/* pbx_trunk: what a trunk may name as its domain, proxy and peers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/pbx/pbx_trunk.h"

static bool ok(const char *s)
{
	char why[160];
	return pbx_trunk_check_host(s, "domain", why, sizeof(why)) == NULL;
}

static void host_names_addresses_and_ports_are_taken(void **state)
{
	(void)state;
	assert_true(ok("sip.carrier.example"));
	assert_true(ok("sip.carrier.example:5070"));
	assert_true(ok("carrier"));
	assert_true(ok("198.51.100.7"));
	assert_true(ok("198.51.100.7:5060"));
	assert_true(ok("[2001:db8::7]"));
	assert_true(ok("[2001:db8::7]:5061"));
	assert_true(ok("a-b.c-d.example"));
}

static void anything_else_is_refused_with_the_field_named(void **state)
{
	(void)state;
	const char *bad[] = {"",
			     "sip.carrier.example:",
			     "sip.carrier.example:0",
			     "sip.carrier.example:65536",
			     "sip.carrier.example:50x",
			     "sip carrier",
			     "sip..carrier",
			     ".carrier",
			     "-carrier.example",
			     "carrier-.example",
			     "sip:carrier.example",
			     "carrier.example;transport=tcp",
			     "[2001:db8::7",
			     "[]",
			     "[2001:db8::g]",
			     "[::1]x",
			     "user@carrier.example",
			     "a\r\nVia: x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(ok(bad[i]));
	char label[70];
	memset(label, 'a', 64);
	label[64] = '\0'; /* a label of 64 characters */
	assert_false(ok(label));
	label[63] = '\0';
	assert_true(ok(label));
	char why[160];
	assert_non_null(pbx_trunk_check_host("x y", "peers", why, sizeof(why)));
	assert_non_null(strstr(why, "peers"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_names_addresses_and_ports_are_taken),
		cmocka_unit_test(anything_else_is_refused_with_the_field_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
