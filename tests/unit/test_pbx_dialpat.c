/* Outbound dial patterns (pbx_dialpat): wildcards, sets, '.'/'!', what is
 * refused as a pattern, strip/prepend, the first matching route wins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/pbx/pbx_dialpat.h"

static void test_match(void **state)
{
	(void)state;
	assert_true(pbx_dialpat_match("0.", "030123"));
	assert_false(pbx_dialpat_match("0.", "0"));
	assert_true(pbx_dialpat_match("0!", "0"));
	assert_true(pbx_dialpat_match("_+.", "+4930"));
	assert_false(pbx_dialpat_match("+.", "4930"));
	assert_true(pbx_dialpat_match("00ZX.", "004930"));
	assert_false(pbx_dialpat_match("00ZX.", "000930"));
	assert_true(pbx_dialpat_match("NXX", "200"));
	assert_false(pbx_dialpat_match("NXX", "100"));
	assert_false(pbx_dialpat_match("NXX", "2000"));
	assert_false(pbx_dialpat_match("NXX", "20"));
	assert_true(pbx_dialpat_match("1[1-5,7]0", "170"));
	assert_true(pbx_dialpat_match("1[1-5,7]0", "130"));
	assert_false(pbx_dialpat_match("1[1-5,7]0", "160"));
	assert_false(pbx_dialpat_match("X", "*"));
	assert_true(pbx_dialpat_match("*31#", "*31#"));
	assert_true(pbx_dialpat_match("112", "112"));
	assert_false(pbx_dialpat_match("112", "1120"));
}

static void test_valid(void **state)
{
	(void)state;
	assert_true(pbx_dialpat_valid("0."));
	assert_true(pbx_dialpat_valid("_00[1-9]X!"));
	assert_false(pbx_dialpat_valid(""));
	assert_false(pbx_dialpat_valid("_"));
	assert_false(pbx_dialpat_valid(NULL));
	assert_false(pbx_dialpat_valid("0.1"));	  /* '.' only last */
	assert_false(pbx_dialpat_valid("[1-"));	  /* unclosed */
	assert_false(pbx_dialpat_valid("[]"));	  /* empty set */
	assert_false(pbx_dialpat_valid("[5-1]")); /* backwards range */
	assert_false(pbx_dialpat_valid("0A"));
	assert_false(pbx_dialpat_match("[1-", "1"));
	char longp[PBX_DIALPAT_LEN + 2];
	memset(longp, 'X', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_false(pbx_dialpat_valid(longp));
}

static void test_apply_and_select(void **state)
{
	(void)state;
	char out[32];
	assert_int_equal(pbx_dialpat_apply("0030123", 1, "", out, sizeof(out)), 6);
	assert_string_equal(out, "030123");
	assert_int_equal(pbx_dialpat_apply("123", 0, "+4930", out, sizeof(out)), 8);
	assert_string_equal(out, "+4930123");
	assert_int_equal(pbx_dialpat_apply("0", 1, "", out, sizeof(out)), -1);
	assert_int_equal(pbx_dialpat_apply("0", 5, "+49", out, sizeof(out)), 3);
	assert_int_equal(pbx_dialpat_apply("123", -1, "", out, sizeof(out)), -1);
	assert_int_equal(pbx_dialpat_apply("123456", 0, "", out, 4), -1);
	assert_string_equal(out, "");

	const char *const emerg[] = {"110", "112"};
	const char *const exit0[] = {"0.", "+."};
	const char *const intl[] = {"000."};
	struct pbx_dialpat_route r[] = {
		{emerg, 2, 0, ""},
		{intl, 1, 1, ""}, /* before the general one: order matters */
		{exit0, 2, 1, NULL},
	};
	assert_int_equal(pbx_dialpat_select(r, 3, "112", out, sizeof(out)), 0);
	assert_string_equal(out, "112");
	assert_int_equal(pbx_dialpat_select(r, 3, "0004420", out, sizeof(out)), 1);
	assert_string_equal(out, "004420");
	assert_int_equal(pbx_dialpat_select(r, 3, "030123", out, sizeof(out)), 2);
	assert_string_equal(out, "30123");
	assert_int_equal(pbx_dialpat_select(r, 3, "203", out, sizeof(out)), -1);
	assert_int_equal(pbx_dialpat_select(r, 0, "112", out, sizeof(out)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_apply_and_select),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
