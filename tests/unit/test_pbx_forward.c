/* A user's forwarding rules, DND and call waiting on a real pbx.db
 * (pbx_forward): JSON in and out, what validation refuses, the setters
 * the feature codes use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/pbx/pbx.h"
#include "../../src/pbx/pbx_forward.h"
#include "pbx_fix.h"

static int setup(void **state)
{
	struct fix *f = fix_open("test_pbx_forward");
	assert_int_equal(sqlite3_exec(f->p.db,
				      "INSERT INTO ring_groups(extension,name,created,updated) "
				      "VALUES('600','sales',0,0)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	*state = f;
	return 0;
}

static int put(struct fix *f, long long user, const char *body, char *err, size_t errlen)
{
	json_error_t je;
	json_t *b = json_loads(body, 0, &je);
	assert_non_null(b);
	err[0] = '\0';
	int rc = pbx_forward_put(&f->p, user, b, err, errlen);
	json_decref(b);
	return rc;
}

static void test_defaults_have_no_rules_and_call_waiting_on(void **state)
{
	struct fix *f = *state;
	json_t *j = pbx_forward_json(&f->p, f->alice);
	assert_non_null(j);
	assert_true(json_is_false(json_object_get(j, "dnd")));
	assert_true(json_is_true(json_object_get(j, "call_waiting")));
	assert_int_equal(json_integer_value(json_object_get(j, "ring_time")), 25);
	json_t *fw = json_object_get(j, "forwards");
	assert_int_equal(json_object_size(fw), 4);
	assert_true(json_is_null(json_object_get(fw, "always")));
	assert_true(json_is_null(json_object_get(fw, "unavailable")));
	json_decref(j);
	assert_null(pbx_forward_json(&f->p, 9999));
}

static void test_put_then_get_round_trips(void **state)
{
	struct fix *f = *state;
	char err[256];
	assert_int_equal(put(f, f->alice,
			     "{\"dnd\":true,\"call_waiting\":false,\"ring_time\":15,\"forwards\":{"
			     "\"always\":{\"target_type\":\"extension\",\"target\":\"101\"},"
			     "\"busy\":{\"enabled\":false,\"target_type\":\"voicemail\",\"target\":"
			     "\"\"},"
			     "\"noanswer\":{\"target_type\":\"group\",\"target\":\"600\"},"
			     "\"unavailable\":{\"target_type\":\"voicemail\",\"target\":\"101\"}}}",
			     err, sizeof(err)),
			 0);
	struct pbx_fwd fw;
	assert_int_equal(pbx_forward_get(&f->p, f->alice, &fw), 0);
	assert_true(fw.dnd);
	assert_false(fw.call_waiting);
	assert_int_equal(fw.ring_time, 15);
	assert_true(fw.rule[PBX_FWD_ALWAYS].set && fw.rule[PBX_FWD_ALWAYS].enabled);
	assert_int_equal(fw.rule[PBX_FWD_ALWAYS].type, PBX_FWD_TO_EXTENSION);
	assert_string_equal(fw.rule[PBX_FWD_ALWAYS].target, "101");
	assert_true(fw.rule[PBX_FWD_BUSY].set && !fw.rule[PBX_FWD_BUSY].enabled);
	assert_int_equal(fw.rule[PBX_FWD_NOANSWER].type, PBX_FWD_TO_GROUP);
	assert_int_equal(fw.rule[PBX_FWD_UNAVAILABLE].type, PBX_FWD_TO_VOICEMAIL);
	assert_string_equal(fw.rule[PBX_FWD_UNAVAILABLE].target, "101");

	json_t *j = pbx_forward_json(&f->p, f->alice);
	json_t *always = json_object_get(json_object_get(j, "forwards"), "always");
	assert_string_equal(json_string_value(json_object_get(always, "target")), "101");
	assert_string_equal(json_string_value(json_object_get(always, "target_type")), "extension");
	assert_true(json_is_true(json_object_get(always, "enabled")));
	json_decref(j);

	/* a partial PUT changes only what it names; null deletes a rule */
	assert_int_equal(put(f, f->alice, "{\"dnd\":false,\"forwards\":{\"always\":null}}", err,
			     sizeof(err)),
			 0);
	assert_int_equal(pbx_forward_get(&f->p, f->alice, &fw), 0);
	assert_false(fw.dnd);
	assert_false(fw.call_waiting);
	assert_false(fw.rule[PBX_FWD_ALWAYS].set);
	assert_true(fw.rule[PBX_FWD_NOANSWER].set);
	/* bob's rules are his own */
	assert_int_equal(pbx_forward_get(&f->p, f->bob, &fw), 0);
	assert_false(fw.rule[PBX_FWD_NOANSWER].set);
}

static void expect_400(struct fix *f, const char *body, const char *why)
{
	char err[256];
	assert_int_equal(put(f, f->alice, body, err, sizeof(err)), 400);
	if (!strstr(err, why))
		fail_msg("%s: got \"%s\", wanted \"%s\"", body, err, why);
}

static void test_invalid_bodies_are_400_and_change_nothing(void **state)
{
	struct fix *f = *state;
	expect_400(f, "[]", "JSON object");
	expect_400(f, "{\"colour\":1}", "unknown field colour");
	expect_400(f, "{\"dnd\":1}", "dnd must be true or false");
	expect_400(f, "{\"ring_time\":2}", "ring_time");
	expect_400(f, "{\"forwards\":[]}", "forwards must be an object");
	expect_400(f, "{\"forwards\":{\"sometimes\":null}}", "unknown kind sometimes");
	expect_400(f, "{\"forwards\":{\"busy\":5}}", "object or null");
	expect_400(f, "{\"forwards\":{\"busy\":{\"target_type\":\"fax\"}}}", "target_type must");
	expect_400(f, "{\"forwards\":{\"busy\":{\"target_type\":\"extension\",\"x\":1}}}",
		   "unknown field x");
	expect_400(f, "{\"forwards\":{\"busy\":{\"target_type\":\"extension\",\"target\":\"7\"}}}",
		   "no user has extension 7");
	expect_400(f,
		   "{\"forwards\":{\"busy\":{\"target_type\":\"extension\",\"target\":\"100\"}}}",
		   "own extension");
	expect_400(f, "{\"forwards\":{\"busy\":{\"target_type\":\"extension\",\"target\":\"1'\"}}}",
		   "1 to 15 digits");
	expect_400(f, "{\"forwards\":{\"busy\":{\"target_type\":\"group\",\"target\":\"101\"}}}",
		   "ring group");
	expect_400(f,
		   "{\"forwards\":{\"busy\":{\"target_type\":\"voicemail\",\"target\":\"555\"}}}",
		   "own voicemail");
	expect_400(f,
		   "{\"forwards\":{\"always\":{\"target_type\":\"external\",\"target\":"
		   "\"+4930123\"}}}",
		   "external numbers need a trunk");
	/* all or nothing: a valid part beside an invalid one is not stored */
	expect_400(f,
		   "{\"dnd\":true,\"forwards\":{\"always\":{\"target_type\":\"extension\","
		   "\"target\":\"101\"},\"busy\":{\"target_type\":\"external\"}}}",
		   "forwards.busy: external");
	struct pbx_fwd fw;
	assert_int_equal(pbx_forward_get(&f->p, f->alice, &fw), 0);
	assert_false(fw.dnd);
	assert_false(fw.rule[PBX_FWD_ALWAYS].set);
	char err[64];
	assert_int_equal(put(f, 9999, "{}", err, sizeof(err)), 404);
}

static void test_feature_code_setters(void **state)
{
	struct fix *f = *state;
	char err[128];
	struct pbx_fwd fw;
	assert_int_equal(pbx_forward_set(&f->p, f->alice, PBX_FWD_BUSY, PBX_FWD_TO_EXTENSION, "101",
					 err, sizeof(err)),
			 0);
	assert_int_equal(pbx_forward_set(&f->p, f->alice, PBX_FWD_NOANSWER, PBX_FWD_TO_EXTENSION,
					 "100", err, sizeof(err)),
			 400);
	assert_int_equal(pbx_forward_set(&f->p, f->alice, PBX_FWD_ALWAYS, PBX_FWD_TO_EXTERNAL,
					 "0301234", err, sizeof(err)),
			 400);
	assert_string_equal(err, "external numbers need a trunk");
	assert_int_equal(pbx_forward_set_dnd(&f->p, f->alice, true), 0);
	assert_int_equal(pbx_forward_set_call_waiting(&f->p, f->alice, false), 0);
	assert_int_equal(pbx_forward_get(&f->p, f->alice, &fw), 0);
	assert_true(fw.rule[PBX_FWD_BUSY].set && fw.rule[PBX_FWD_BUSY].enabled);
	assert_false(fw.rule[PBX_FWD_NOANSWER].set);
	assert_false(fw.rule[PBX_FWD_ALWAYS].set);
	assert_true(fw.dnd);
	assert_false(fw.call_waiting);
	assert_int_equal(pbx_forward_clear(&f->p, f->alice, PBX_FWD_BUSY), 0);
	assert_int_equal(pbx_forward_set_call_waiting(&f->p, f->alice, true), 0);
	assert_int_equal(pbx_forward_get(&f->p, f->alice, &fw), 0);
	assert_false(fw.rule[PBX_FWD_BUSY].set);
	assert_true(fw.call_waiting);
	assert_int_equal(pbx_forward_set_dnd(&f->p, 9999, true), -1);
}

static void test_names_both_ways(void **state)
{
	(void)state;
	for (int k = 0; k < PBX_FWD_KINDS; k++)
		assert_int_equal(pbx_forward_kind_of(pbx_forward_kind_name(k)), k);
	for (int t = 0; t <= PBX_FWD_TO_EXTERNAL; t++)
		assert_int_equal(pbx_forward_target_of(pbx_forward_target_name(t)), t);
	assert_int_equal(pbx_forward_kind_of("never"), -1);
	assert_int_equal(pbx_forward_kind_of(NULL), -1);
	assert_string_equal(pbx_forward_kind_name(PBX_FWD_KINDS), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults_have_no_rules_and_call_waiting_on,
						setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_put_then_get_round_trips, setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_invalid_bodies_are_400_and_change_nothing,
						setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_feature_code_setters, setup, fix_teardown),
		cmocka_unit_test(test_names_both_ways),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
