/* Inbound numbers (pbx_inbound): the pure rules of DIDs and blocks (which
 * numbers a block holds, which entries overlap, what an entry may be —
 * boundaries, other lengths, garbage), and on a real pbx.db the lookups of
 * the call path: an inbound call's destination in any form a carrier
 * sends, the trunk's default, and a caller's name in the phonebook. */
#include "pbx_fix.h"

#include "../../src/pbx/pbx_inbound.h"

static int setup(void **state)
{
	*state = fix_open("test_pbx_inbound");
	return 0;
}

static const struct {
	const char *number, *end, *e164;
	bool in;
} holds[] = {
	/* a single DID */
	{"+4930123456", "", "+4930123456", true},
	{"+4930123456", "", "+4930123457", false},
	{"+4930123456", "", "+493012345", false},
	{"+4930123456", NULL, "+4930123456", true},
	/* a block: both ends in, one past each end out */
	{"+4930123400", "+4930123499", "+4930123400", true},
	{"+4930123400", "+4930123499", "+4930123499", true},
	{"+4930123400", "+4930123499", "+4930123450", true},
	{"+4930123400", "+4930123499", "+4930123399", false},
	{"+4930123400", "+4930123499", "+4930123500", false},
	/* the carry across a digit: 09 < 10 */
	{"+4930123409", "+4930123410", "+4930123410", true},
	{"+4930123409", "+4930123410", "+4930123411", false},
	/* other lengths are never in (as strings "+49301234" < "+4930123450") */
	{"+4930123400", "+4930123499", "+49301234", false},
	{"+4930123400", "+4930123499", "+493012345", false},
	{"+4930123400", "+4930123499", "+49301234500", false},
	{"+4930123400", "+4930123499", "+493012340000", false},
	/* a block whose ends differ in length holds nothing */
	{"+4930123400", "+49301234999", "+4930123450", false},
	/* garbage */
	{"+4930123400", "+4930123499", "", false},
	{"+4930123400", "+4930123499", NULL, false},
	{"+4930123400", "+4930123499", "4930123450", false},
	{"+4930123400", "+4930123499", "+49301234a0", false},
	{"+4930123400", "+4930123499", "+49 30123450", false},
	{"+4930123400", "+4930123499", "+4930123450;x", false},
	{"+4930123400", "+4930123499", "+0930123450", false},
	{"+4930123400", "+4930123499", "+", false},
	{"+4930123400", "+4930123499", "+1234567890123456", false},
	{"4930123400", "4930123499", "4930123450", false},
	{"+49301234x0", "", "+49301234x0", false},
};

static void test_which_numbers_a_block_holds(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(holds) / sizeof(holds[0]); i++) {
		bool in = pbx_inbound_holds(holds[i].number, holds[i].end, holds[i].e164);
		if (in != holds[i].in)
			fail_msg("case %zu: %s..%s holds %s: %d", i, holds[i].number,
				 holds[i].end ? holds[i].end : "(null)",
				 holds[i].e164 ? holds[i].e164 : "(null)", in);
	}
}

static const struct {
	const char *a, *ae, *b, *be;
	bool overlap;
} overlaps[] = {
	{"+4930100", "", "+4930100", "", true},
	{"+4930100", "", "+4930101", "", false},
	{"+4930100", "+4930199", "+4930150", "", true},
	{"+4930100", "+4930199", "+4930199", "", true},
	{"+4930100", "+4930199", "+4930200", "", false},
	{"+4930100", "+4930199", "+4930199", "+4930299", true}, /* touching at one number */
	{"+4930100", "+4930199", "+4930200", "+4930299", false},
	{"+4930100", "+4930199", "+4930000", "+4930100", true},
	{"+4930100", "+4930199", "+4930000", "+4930099", false},
	{"+4930100", "+4930199", "+4930120", "+4930130", true}, /* one inside the other */
	{"+4930120", "+4930130", "+4930100", "+4930199", true},
	/* other lengths never overlap, whatever their strings */
	{"+4930100", "+4930199", "+493015", "", false},
	{"+4930100", "+4930199", "+49301500", "", false},
	{"+4930100", "+4930199", "+49301000", "+49301999", false},
	/* garbage overlaps nothing */
	{"+4930100", "", "+49301x0", "", false},
	{"+4930100", "", "", "", false},
	{"+4930100", "", NULL, NULL, false},
};

static void test_which_entries_overlap(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(overlaps) / sizeof(overlaps[0]); i++) {
		bool o = pbx_inbound_overlap(overlaps[i].a, overlaps[i].ae, overlaps[i].b,
					     overlaps[i].be);
		bool r = pbx_inbound_overlap(overlaps[i].b, overlaps[i].be, overlaps[i].a,
					     overlaps[i].ae);
		if (o != overlaps[i].overlap || r != o)
			fail_msg("case %zu: %d, reversed %d", i, o, r);
	}
}

static void test_what_an_entry_may_be(void **state)
{
	(void)state;
	assert_null(pbx_inbound_check_range("+4930123", ""));
	assert_null(pbx_inbound_check_range("+4930123", NULL));
	assert_null(pbx_inbound_check_range("+4930100", "+4930101"));
	assert_null(pbx_inbound_check_range("+123456789012345", "+123456789012399"));
	assert_non_null(pbx_inbound_check_range("+4930100", "+4930100")); /* not greater */
	assert_non_null(pbx_inbound_check_range("+4930100", "+4930099"));
	assert_non_null(pbx_inbound_check_range("+4930100", "+49301000")); /* other length */
	assert_non_null(pbx_inbound_check_range("+4930100", "+493019"));
	assert_non_null(pbx_inbound_check_range("+4930100", "030199"));
	assert_non_null(pbx_inbound_check_range("030100", ""));
	assert_non_null(pbx_inbound_check_range("+", ""));
	assert_non_null(pbx_inbound_check_range("+1", ""));
	assert_non_null(pbx_inbound_check_range("+0301", ""));
	assert_non_null(pbx_inbound_check_range("+1234567890123456", "")); /* 16 digits */
	assert_non_null(pbx_inbound_check_range("", ""));
	assert_non_null(pbx_inbound_check_range(NULL, ""));
	assert_true(pbx_inbound_is_e164("+12"));
	assert_false(pbx_inbound_is_e164("+1"));
	assert_false(pbx_inbound_is_e164("+12 3"));
}

static void exec(struct fix *f, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(f->p.db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static void target_is(struct fix *f, long long trunk, const char *called, const char *type,
		      const char *target, bool is_default)
{
	struct pbx_inbound_target t;
	memset(&t, 'x', sizeof(t));
	int r = pbx_inbound_find(&f->p, trunk, called, &t);
	if (!type) {
		if (r != -1)
			fail_msg("%s: found %s %s", called, t.type, t.target);
		return;
	}
	if (r != 0)
		fail_msg("%s: nothing found", called);
	assert_string_equal(t.type, type);
	assert_string_equal(t.target, target);
	assert_int_equal(t.is_default, is_default);
}

static void test_an_inbound_call_finds_its_destination(void **state)
{
	struct fix *f = *state;
	exec(f, "INSERT INTO settings(key,value) VALUES('numbering.country_code','49'),"
		"('numbering.area_code','30');"
		"INSERT INTO trunks(id,name,created,updated) VALUES(1,'a',0,0);"
		"INSERT INTO trunks(id,name,number_format,default_type,default_target,created,"
		"updated) VALUES(2,'b','e164_plain','voicemail','101',0,0);"
		"INSERT INTO trunk_numbers(trunk_id,number,range_end,target_type,target,created) "
		"VALUES(1,'+4930123456','','extension','100',0),"
		"(1,'+4930555100','+4930555199','group','600',0),"
		"(2,'+4940777','','extension','101',0);");
	/* every form of the DID */
	target_is(f, 1, "+4930123456", "extension", "100", false);
	target_is(f, 1, "4930123456", "extension", "100", false);
	target_is(f, 1, "004930123456", "extension", "100", false);
	target_is(f, 1, "030123456", "extension", "100", false);
	target_is(f, 1, "123456", "extension", "100", false); /* local: the area added */
	target_is(f, 1, "+49 30 123456", "extension", "100", false);
	target_is(f, 1, "+4930123456;npdi;rn=+4930999", "extension", "100", false);
	/* the block, its ends and one past them */
	target_is(f, 1, "+4930555100", "group", "600", false);
	target_is(f, 1, "030555199", "group", "600", false);
	target_is(f, 1, "+4930555150", "group", "600", false);
	target_is(f, 1, "+4930555200", NULL, NULL, false);
	target_is(f, 1, "+4930555099", NULL, NULL, false);
	/* trunk 1 has no default: nothing; garbage: nothing */
	target_is(f, 1, "+4930123457", NULL, NULL, false);
	target_is(f, 1, "", NULL, NULL, false);
	target_is(f, 1, "anonymous", NULL, NULL, false);
	target_is(f, 1, "+4930123456789012345678901234567890123456789012345678901234567890123",
		  NULL, NULL, false);
	/* a number is looked for only on the trunk it came on */
	target_is(f, 2, "+4930123456", "voicemail", "101", true);
	target_is(f, 2, "4940777", "extension", "101", false);
	target_is(f, 2, "garbage", "voicemail", "101", true);
	target_is(f, 3, "+4930123456", NULL, NULL, false); /* no such trunk */
	/* "4930777" is local "+49304930777" or plain "+4930777": an e164 trunk
	 * tries the local form first, an e164_plain trunk the plain one */
	exec(f, "INSERT INTO trunk_numbers(trunk_id,number,range_end,target_type,target,created) "
		"VALUES(1,'+4930777','','extension','100',0),(1,'+49304930777','','extension','101'"
		",0),"
		"(2,'+4930777','','extension','100',0),(2,'+49304930777','','extension','101',0);");
	target_is(f, 1, "4930777", "extension", "101", false);
	target_is(f, 2, "4930777", "extension", "100", false);
}

static void test_a_caller_has_the_phonebook_name(void **state)
{
	struct fix *f = *state;
	char name[PBX_PHONEBOOK_NAME_BYTES];
	exec(f,
	     "INSERT INTO phonebook(name,number,e164,created) VALUES('Early','030 98765','',0);");
	/* without a country code "030…" is no number yet */
	assert_int_equal(pbx_phonebook_name(&f->p, "03098765", name, sizeof(name)), -1);
	exec(f, "INSERT INTO settings(key,value) VALUES('numbering.country_code','49');"
		"INSERT INTO phonebook(name,number,e164,created) VALUES"
		"('Müller GmbH','030 98765','+493098765',0),('No number','abc','',0);");
	assert_int_equal(pbx_phonebook_name(&f->p, "+493098765", name, sizeof(name)), 0);
	assert_string_equal(name, "Müller GmbH");
	assert_int_equal(pbx_phonebook_name(&f->p, "03098765", name, sizeof(name)), 0);
	assert_int_equal(pbx_phonebook_name(&f->p, "493098765", name, sizeof(name)), 0);
	assert_string_equal(name, "Müller GmbH");
	assert_int_equal(pbx_phonebook_name(&f->p, "+493098766", name, sizeof(name)), -1);
	assert_string_equal(name, "");
	assert_int_equal(pbx_phonebook_name(&f->p, "abc", name, sizeof(name)), -1);
	assert_int_equal(pbx_phonebook_name(&f->p, "", name, sizeof(name)), -1);
	/* a name that does not fit is not cut */
	char small[5];
	assert_int_equal(pbx_phonebook_name(&f->p, "+493098765", small, sizeof(small)), -1);
	assert_string_equal(small, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_which_numbers_a_block_holds),
		cmocka_unit_test(test_which_entries_overlap),
		cmocka_unit_test(test_what_an_entry_may_be),
		cmocka_unit_test_setup_teardown(test_an_inbound_call_finds_its_destination, setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_a_caller_has_the_phonebook_name, setup,
						fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
