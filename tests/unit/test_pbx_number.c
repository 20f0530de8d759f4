/* The numbering plan (pbx_number): settings read from a real pbx.db over
 * the defaults, dialled/received forms to E.164 and back, trunk formats,
 * emergency numbers, permission classes, and what is "not a number". */
#include "pbx_fix.h"

#include "../../src/pbx/pbx_number.h"

static int setup(void **state)
{
	*state = fix_open("test_pbx_number");
	return 0;
}

static void de(struct pbx_numbering *n)
{
	pbx_numbering_default(n);
	snprintf(n->cc, sizeof(n->cc), "49");
	snprintf(n->area, sizeof(n->area), "30");
}

static void e164_is(const struct pbx_numbering *n, const char *in, const char *want)
{
	char out[32];
	int len = pbx_number_e164(n, in, out, sizeof(out));
	if (!want) {
		assert_int_equal(len, -1);
		assert_string_equal(out, "");
		return;
	}
	assert_string_equal(out, want);
	assert_int_equal(len, (int)strlen(want));
}

static void test_e164_from_every_form(void **state)
{
	(void)state;
	struct pbx_numbering n;
	de(&n);
	e164_is(&n, "+4930123456", "+4930123456");
	e164_is(&n, "004930123456", "+4930123456");
	e164_is(&n, "0044 20 7946-0000", "+442079460000");
	e164_is(&n, "030 123456", "+4930123456");
	e164_is(&n, "089/1234", "+49891234");
	e164_is(&n, "123456", "+4930123456");
	e164_is(&n, "+1 (555) 123.4567", "+15551234567");
	/* not numbers */
	e164_is(&n, "", NULL);
	e164_is(&n, "+", NULL);
	e164_is(&n, "00", NULL);
	e164_is(&n, "0", NULL);
	e164_is(&n, "12a3", NULL);
	e164_is(&n, "*21*", NULL);
	e164_is(&n, "++49", NULL);
	e164_is(&n, "+049123", NULL);
	e164_is(&n, "+49030123", NULL); /* own country, national prefix kept */
	e164_is(&n, "0049030123", NULL);
	e164_is(&n, "+1234567890123456", NULL); /* 16 digits */
	e164_is(&n, NULL, NULL);
	/* no country code known: only international forms convert */
	struct pbx_numbering u;
	pbx_numbering_default(&u);
	e164_is(&u, "+4930123", "+4930123");
	e164_is(&u, "004930123", "+4930123");
	e164_is(&u, "030123", NULL);
	e164_is(&u, "123", NULL);
	/* no area code: a local form is taken as national without prefix */
	struct pbx_numbering c;
	pbx_numbering_default(&c);
	snprintf(c.cc, sizeof(c.cc), "41");
	e164_is(&c, "441234567", "+41441234567");
	/* too small an output buffer */
	char small[5];
	assert_int_equal(pbx_number_e164(&n, "+4930123", small, sizeof(small)), -1);
	assert_string_equal(small, "");
}

static void test_national_and_trunk_formats(void **state)
{
	(void)state;
	struct pbx_numbering n;
	de(&n);
	char out[32];
	assert_int_equal(pbx_number_national(&n, "+4930123456", out, sizeof(out)), 9);
	assert_string_equal(out, "030123456");
	assert_int_equal(pbx_number_national(&n, "+442079460000", out, sizeof(out)), 14);
	assert_string_equal(out, "00442079460000");
	assert_int_equal(pbx_number_national(&n, "030123", out, sizeof(out)), -1);
	assert_int_equal(pbx_number_national(&n, "+49", out, sizeof(out)), 4);
	assert_string_equal(out, "0049"); /* only the country code: international */

	assert_int_equal(pbx_number_format(&n, "+4930123", PBX_NUMBER_E164, out, sizeof(out)), 8);
	assert_string_equal(out, "+4930123");
	assert_int_equal(pbx_number_format(&n, "+4930123", PBX_NUMBER_E164_PLAIN, out, sizeof(out)),
			 7);
	assert_string_equal(out, "4930123");
	assert_int_equal(pbx_number_format(&n, "+4930123", PBX_NUMBER_NATIONAL, out, sizeof(out)),
			 6);
	assert_string_equal(out, "030123");
	assert_int_equal(pbx_number_format(&n, "+49x", PBX_NUMBER_E164, out, sizeof(out)), -1);
	assert_int_equal(
		pbx_number_format(&n, "+4930123", (enum pbx_number_fmt)9, out, sizeof(out)), -1);

	enum pbx_number_fmt f;
	assert_int_equal(pbx_number_fmt_parse("national", &f), 0);
	assert_int_equal(f, PBX_NUMBER_NATIONAL);
	assert_int_equal(pbx_number_fmt_parse("e164_plain", &f), 0);
	assert_int_equal(f, PBX_NUMBER_E164_PLAIN);
	assert_int_equal(pbx_number_fmt_parse("E164", &f), -1);
	assert_int_equal(pbx_number_fmt_parse(NULL, &f), -1);
}

static void test_emergency_and_classes(void **state)
{
	(void)state;
	struct pbx_numbering n;
	de(&n);
	assert_true(pbx_number_is_emergency(&n, "110"));
	assert_true(pbx_number_is_emergency(&n, "112"));
	assert_false(pbx_number_is_emergency(&n, "1120"));
	assert_false(pbx_number_is_emergency(&n, "+112"));
	assert_false(pbx_number_is_emergency(&n, "19222"));
	n.n_premium = 2;
	snprintf(n.premium[0], sizeof(n.premium[0]), "0900");
	snprintf(n.premium[1], sizeof(n.premium[1]), "137");
	assert_int_equal(pbx_number_class_of(&n, "+4930123"), PBX_CLASS_NATIONAL);
	assert_int_equal(pbx_number_class_of(&n, "+499001234"), PBX_CLASS_PREMIUM);
	assert_int_equal(pbx_number_class_of(&n, "+491371234"), PBX_CLASS_PREMIUM);
	assert_int_equal(pbx_number_class_of(&n, "+4420794"), PBX_CLASS_INTERNATIONAL);
	assert_int_equal(pbx_number_class_of(&n, "junk"), PBX_CLASS_INTERNATIONAL);

	/* emergency numbers whatever the class; otherwise class_of <= class */
	assert_true(pbx_number_allowed(&n, PBX_CLASS_INTERNAL, "112", NULL));
	assert_true(pbx_number_allowed(&n, PBX_CLASS_INTERNAL, "110", "+4930110"));
	assert_false(pbx_number_allowed(&n, PBX_CLASS_INTERNAL, "030123", "+4930123"));
	assert_true(pbx_number_allowed(&n, PBX_CLASS_NATIONAL, "030123", "+4930123"));
	assert_false(pbx_number_allowed(&n, PBX_CLASS_NATIONAL, "004420", "+4420"));
	assert_true(pbx_number_allowed(&n, PBX_CLASS_INTERNATIONAL, "004420", "+4420"));
	assert_false(pbx_number_allowed(&n, PBX_CLASS_INTERNATIONAL, "09001", "+499001"));
	assert_true(pbx_number_allowed(&n, PBX_CLASS_PREMIUM, "09001", "+499001"));
	assert_false(pbx_number_allowed(&n, PBX_CLASS_PREMIUM, "*21", NULL));

	enum pbx_number_class c;
	assert_int_equal(pbx_number_class_parse("premium", &c), 0);
	assert_int_equal(c, PBX_CLASS_PREMIUM);
	assert_int_equal(pbx_number_class_parse("internal", &c), 0);
	assert_int_equal(c, PBX_CLASS_INTERNAL);
	assert_int_equal(pbx_number_class_parse("world", &c), -1);
	assert_string_equal(pbx_number_class_name(PBX_CLASS_INTERNATIONAL), "international");
	assert_true(PBX_CLASS_INTERNAL < PBX_CLASS_NATIONAL &&
		    PBX_CLASS_NATIONAL < PBX_CLASS_INTERNATIONAL &&
		    PBX_CLASS_INTERNATIONAL < PBX_CLASS_PREMIUM);
}

static void test_load_from_settings(void **state)
{
	struct fix *f = *state;
	struct pbx_numbering n;
	assert_int_equal(pbx_numbering_load(&f->p, &n), 0);
	assert_string_equal(n.cc, "");
	assert_string_equal(n.intl, "00");
	assert_string_equal(n.natl, "0");
	assert_int_equal(n.n_emergency, 2);
	assert_int_equal(
		sqlite3_exec(f->p.db,
			     "INSERT INTO settings(key,value) VALUES"
			     "('numbering.country_code','+49'),('numbering.area_code','030'),"
			     "('numbering.emergency','[\"19222\",\"112\",\"x1\",7]'),"
			     "('numbering.premium','[\"0900\",\"\",\"0137\"]'),"
			     "('numbering.international_prefix','011'),"
			     "('numbering.national_prefix','bad')",
			     NULL, NULL, NULL),
		SQLITE_OK);
	assert_int_equal(pbx_numbering_load(&f->p, &n), 0);
	assert_string_equal(n.cc, "49");
	assert_string_equal(n.area, "30");
	assert_string_equal(n.intl, "011");
	assert_string_equal(n.natl, "0"); /* bad value: the default stays */
	assert_int_equal(n.n_emergency, 3);
	assert_true(pbx_number_is_emergency(&n, "19222"));
	assert_int_equal(n.n_premium, 2);
	assert_string_equal(n.premium[1], "0137");
	char out[32];
	assert_int_equal(pbx_number_e164(&n, "01144123", out, sizeof(out)), 6);
	assert_string_equal(out, "+44123");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e164_from_every_form),
		cmocka_unit_test(test_national_and_trunk_formats),
		cmocka_unit_test(test_emergency_and_classes),
		cmocka_unit_test_setup_teardown(test_load_from_settings, setup, fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
