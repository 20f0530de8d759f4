/* What a phone dialled, from a Request-URI's user part (sip_dialled_keys). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sip/sip_dialled.h"

static int keys(const char *in, char *out, size_t cap)
{
	return sip_dialled_keys((struct sip_pl){in, strlen(in)}, out, cap);
}

static void test_escaped_hash_and_star_are_keys(void **state)
{
	(void)state;
	char out[32];
	assert_int_equal(keys("*21*203%23", out, sizeof(out)), 8);
	assert_string_equal(out, "*21*203#");
	assert_int_equal(keys("%2321%23", out, sizeof(out)), 4);
	assert_string_equal(out, "#21#");
	assert_int_equal(keys("%2a78", out, sizeof(out)), 3);
	assert_string_equal(out, "*78");
	assert_int_equal(keys("201", out, sizeof(out)), 3);
}

static void test_anything_else_is_refused(void **state)
{
	(void)state;
	char out[32];
	static const char *const bad[] = {"",	 "%",	"%2",  "%zz",  "*21*%2", "20a",
					  "%41", "%00", "%25", "20 1", "+49",	 "%2523"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(out, "x");
		assert_int_equal(keys(bad[i], out, sizeof(out)), -1);
		assert_string_equal(out, "");
	}
}

static void test_too_long_is_refused_not_cut(void **state)
{
	(void)state;
	char out[5];
	assert_int_equal(keys("1234", out, sizeof(out)), 4);
	assert_int_equal(keys("12345", out, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_int_equal(keys("1", out, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaped_hash_and_star_are_keys),
		cmocka_unit_test(test_anything_else_is_refused),
		cmocka_unit_test(test_too_long_is_refused_not_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
