/* Phone-system name rules (core_names). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/core/core_names.h"

static void test_accepts_plain_names(void **state)
{
	(void)state;
	assert_null(core_name_problem("my-company"));
	assert_null(core_name_problem("acme"));
	assert_null(core_name_problem("a1"));
	assert_null(core_name_problem("x-2-y"));
	/* 63 characters is the longest allowed (a DNS label). */
	assert_null(core_name_problem(
		"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123"));
}

static void test_rejects_bad_length(void **state)
{
	(void)state;
	assert_non_null(core_name_problem(""));
	assert_non_null(core_name_problem("a"));
	assert_non_null(core_name_problem(
		"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234"));
}

static void test_rejects_bad_characters(void **state)
{
	(void)state;
	assert_non_null(core_name_problem("My-Company"));
	assert_non_null(core_name_problem("my_company"));
	assert_non_null(core_name_problem("my.company"));
	assert_non_null(core_name_problem("my company"));
	assert_non_null(core_name_problem("../etc"));
	assert_non_null(core_name_problem("caf\xc3\xa9"));
}

static void test_rejects_dash_at_either_end(void **state)
{
	(void)state;
	assert_non_null(core_name_problem("-acme"));
	assert_non_null(core_name_problem("acme-"));
}

static void test_rejects_reserved_words(void **state)
{
	(void)state;
	assert_non_null(core_name_problem("api"));
	assert_non_null(core_name_problem("admin"));
	assert_non_null(core_name_problem("static"));
	assert_null(core_name_problem("apis"));
}

static void test_domain_aliases(void **state)
{
	(void)state;
	assert_null(core_domain_problem("voip.acme.example"));
	assert_null(core_domain_problem("acme2"));
	assert_non_null(core_domain_problem(""));
	assert_non_null(core_domain_problem("Voip.acme"));
	assert_non_null(core_domain_problem("a..b"));
	assert_non_null(core_domain_problem(".a"));
	assert_non_null(core_domain_problem("a-.b"));
	assert_non_null(core_domain_problem("-a.b"));
	assert_non_null(core_domain_problem("a_b.c"));
	char longlabel[80];
	memset(longlabel, 'a', 64);
	longlabel[64] = '\0';
	assert_non_null(core_domain_problem(longlabel));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_plain_names),
		cmocka_unit_test(test_rejects_bad_length),
		cmocka_unit_test(test_rejects_bad_characters),
		cmocka_unit_test(test_rejects_dash_at_either_end),
		cmocka_unit_test(test_rejects_reserved_words),
		cmocka_unit_test(test_domain_aliases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
