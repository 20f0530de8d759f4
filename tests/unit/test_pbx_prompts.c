/* The prompt catalogue (pbx_prompt_cat): every name the header promises is
 * in it with a source in both languages, and the names that say numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/pbx/pbx_prompts.h"

static bool source_ok(const char *s)
{
	return strcmp(s, "-") == 0 || strcmp(s, "moh") == 0 ||
	       (strncmp(s, "f:", 2) == 0 && s[2] && s[2] != ' ') ||
	       (strncmp(s, "s:", 2) == 0 && s[2]);
}

static void test_catalogue_rows(void **state)
{
	(void)state;
	size_t n;
	const struct pbx_prompt_def *d = pbx_prompt_defs(&n);
	assert_true(n > 100);
	for (size_t i = 0; i < n; i++) {
		assert_true(source_ok(d[i].en));
		assert_true(source_ok(d[i].de));
		assert_true(strlen(d[i].name) < 32);
		assert_ptr_equal(pbx_prompt_def(d[i].name), &d[i]); /* unique */
		/* German is spoken by espeak-ng, except the tone, the silence, the music */
		if (strcmp(d[i].name, "beep") != 0 && strcmp(d[i].de, "-") != 0 &&
		    strcmp(d[i].de, "moh") != 0)
			assert_int_equal(strncmp(d[i].de, "s:", 2), 0);
		assert_true(pbx_prompt_max_seconds(&d[i]) == PBX_PROMPT_SPEECH_SECONDS ||
			    pbx_prompt_max_seconds(&d[i]) == PBX_PROMPT_MUSIC_SECONDS);
	}
	assert_null(pbx_prompt_def("nonsense"));
	assert_null(pbx_prompt_def(NULL));
	assert_null(pbx_prompt_def("../en/moh"));
	assert_int_equal(pbx_prompt_max_seconds(pbx_prompt_def("moh")), 600);
	assert_int_equal(pbx_prompt_max_seconds(pbx_prompt_def("vm-goodbye")), 120);
	const char *id = pbx_prompt_catalogue_id();
	assert_string_equal(id, pbx_prompt_catalogue_id());
	assert_int_equal(strncmp(id, "v1-", 3), 0);
	assert_int_equal(strlen(id), 3 + 16);
}

/* Every name listed in pbx_prompts.h's comment (the contract other parts
 * play by) is in the catalogue. */
static void test_header_names(void **state)
{
	(void)state;
	FILE *f = fopen(SRC_DIR "/src/pbx/pbx_prompts.h", "r");
	assert_non_null(f);
	static char text[65536];
	size_t len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	char *start = strstr(text, "The names of prompts the code plays");
	assert_non_null(start);
	char *end = strstr(start, "*/");
	assert_non_null(end);
	*end = '\0';
	/* quoted strings in order: a name is lower case, digits and dashes
	 * (with a dash, or "moh"); the texts beside them are not */
	int found = 0;
	for (char *q = strchr(start, '"'); q; q = strchr(q + 1, '"')) {
		char *e = strchr(q + 1, '"');
		assert_non_null(e);
		*e = '\0';
		const char *w = q + 1;
		if (strspn(w, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(w) &&
		    (strchr(w, '-') || strcmp(w, "moh") == 0)) {
			if (!pbx_prompt_def(w))
				fail_msg("%s is in pbx_prompts.h but not in the catalogue", w);
			found++;
		}
		q = e;
	}
	assert_true(found >= 30);
	char name[16];
	for (int i = 0; i <= 9; i++) {
		snprintf(name, sizeof(name), "digit-%d", i);
		assert_non_null(pbx_prompt_def(name));
	}
	for (int i = 0; i <= 100; i++) {
		snprintf(name, sizeof(name), "number-%d", i);
		assert_non_null(pbx_prompt_def(name));
	}
	assert_non_null(pbx_prompt_def("company-greeting"));
	assert_non_null(pbx_prompt_def("moh"));
}

static int say(int n, const char **names)
{
	return pbx_prompt_number_names(n, names, 2);
}

static void test_numbers(void **state)
{
	(void)state;
	const char *names[2];
	assert_int_equal(say(0, names), 1);
	assert_string_equal(names[0], "number-0");
	assert_int_equal(say(7, names), 1);
	assert_string_equal(names[0], "number-7");
	assert_int_equal(say(21, names), 1);
	assert_string_equal(names[0], "number-21");
	assert_int_equal(say(100, names), 1);
	assert_string_equal(names[0], "number-100");
	assert_int_equal(say(101, names), 2);
	assert_string_equal(names[0], "number-100");
	assert_string_equal(names[1], "number-1");
	assert_int_equal(say(347, names), 2);
	assert_string_equal(names[0], "number-300");
	assert_string_equal(names[1], "number-47");
	assert_int_equal(say(999, names), 2);
	assert_string_equal(names[0], "number-900");
	assert_string_equal(names[1], "number-99");
	assert_int_equal(say(-1, names), -1);
	assert_int_equal(say(1000, names), -1);
	assert_int_equal(pbx_prompt_number_names(5, names, 1), -1);

	/* what they say: English from Asterisk's words, German as one word, ones first */
	assert_string_equal(pbx_prompt_def("number-21")->en, "f:digits/20 digits/1");
	assert_string_equal(pbx_prompt_def("number-21")->de, "s:einundzwanzig");
	assert_string_equal(pbx_prompt_def("number-47")->de, "s:siebenundvierzig");
	assert_string_equal(pbx_prompt_def("number-30")->de, "s:dreißig");
	assert_string_equal(pbx_prompt_def("number-16")->de, "s:sechzehn");
	assert_string_equal(pbx_prompt_def("number-1")->de, "s:eins");
	assert_string_equal(pbx_prompt_def("number-100")->de, "s:einhundert");
	assert_string_equal(pbx_prompt_def("number-300")->en, "f:digits/3 digits/hundred");
	assert_string_equal(pbx_prompt_def("number-300")->de, "s:dreihundert");

	/* every number 0-999 is said by names in the catalogue */
	for (int n = 0; n <= 999; n++) {
		int k = say(n, names);
		assert_true(k == 1 || k == 2);
		for (int i = 0; i < k; i++)
			assert_non_null(pbx_prompt_def(names[i]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalogue_rows),
		cmocka_unit_test(test_header_names),
		cmocka_unit_test(test_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
