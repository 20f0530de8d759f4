/* Log lines: every control character escaped (core_log, core_log_escape). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/core/core_log.h"

static char last[16384];

static void sink(const char *line, size_t len)
{
	memcpy(last, line, len);
	last[len] = '\0';
}

static void test_control_characters_are_escaped(void **state)
{
	(void)state;
	char out[64];
	size_t n = core_log_escape("a\x1b[2Jb\x07\r\n\t\x7f", 11, out);
	assert_string_equal(out, "a\\x1b[2Jb\\x07\\x0d\\x0a\\x09\\x7f");
	assert_int_equal(n, strlen(out));
	/* a NUL in the middle is kept and escaped, not an end */
	n = core_log_escape("x\0y", 3, out);
	assert_string_equal(out, "x\\x00y");
	/* C1 controls as UTF-8 (CSI is C2 9B) too; other UTF-8 stays */
	core_log_escape("\xc2\x9b"
			"31m \xc3\xa4 \xe2\x86\x92",
			12, out);
	assert_string_equal(out, "\\xc2\\x9b31m \xc3\xa4 \xe2\x86\x92");
}

static void test_a_logged_line_is_one_harmless_line(void **state)
{
	(void)state;
	core_log_set_sink(sink);
	log_info("call %s ended", "esc-\x1b]0;owned\x07\nfake: line");
	core_log_set_sink(NULL);
	const char *msg = strstr(last, "call ");
	assert_non_null(msg);
	assert_string_equal(msg, "call esc-\\x1b]0;owned\\x07\\x0afake: line ended\n");
	for (const char *p = last; *p; p++)
		assert_true((unsigned char)*p >= 0x20 || (*p == '\n' && p[1] == '\0'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_characters_are_escaped),
		cmocka_unit_test(test_a_logged_line_is_one_harmless_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
