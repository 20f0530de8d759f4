/* test_store — pbx.db's admin account: set at creation, reset later
 * (store_pbx_set_admin) with every session of the admin ended. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/core/core_auth.h"
#include "../../src/core/core_fs.h"
#include "../../src/store/store.h"

static char dir[64], db[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/zt-unit-store-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(db, sizeof(db), "%s/pbx.db", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	core_fs_rm_tree(dir);
	return 0;
}

static void admin_hash(char out[CORE_AUTH_HASH_LEN])
{
	sqlite3 *d;
	sqlite3_stmt *st;
	assert_int_equal(store_pbx_open(db, &d), 0);
	assert_int_equal(
		sqlite3_prepare_v2(d, "SELECT password_hash FROM admins WHERE username='admin'", -1,
				   &st, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, CORE_AUTH_HASH_LEN, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(d);
}

static void test_reset_replaces_the_hash_and_ends_the_admins_sessions(void **state)
{
	(void)state;
	char old[CORE_AUTH_HASH_LEN], fresh[CORE_AUTH_HASH_LEN], got[CORE_AUTH_HASH_LEN];
	char tok[CORE_AUTH_TOKEN_LEN + 1], other[CORE_AUTH_TOKEN_LEN + 1], who[64];
	assert_int_equal(core_auth_hash_password("old-password-1", old), 0);
	assert_int_equal(core_auth_hash_password("new-password-1", fresh), 0);
	assert_int_equal(store_pbx_create(db, old), 0);
	sqlite3 *d;
	assert_int_equal(store_pbx_open(db, &d), 0);
	assert_int_equal(core_auth_session_create(d, "admin", 3600, tok), 0);
	assert_int_equal(core_auth_session_create(d, "someone", 3600, other), 0);

	assert_int_equal(store_pbx_set_admin(db, fresh), 0);
	admin_hash(got);
	assert_string_equal(got, fresh);
	assert_true(core_auth_verify_password(got, "new-password-1"));
	assert_false(core_auth_verify_password(got, "old-password-1"));
	assert_int_equal(core_auth_session_check(d, tok, who, sizeof(who)), -1);
	assert_int_equal(core_auth_session_check(d, other, who, sizeof(who)), 0);
	sqlite3_close(d);
}

static void test_reset_of_a_missing_database_fails_and_makes_none(void **state)
{
	(void)state;
	char h[CORE_AUTH_HASH_LEN];
	assert_int_equal(core_auth_hash_password("new-password-1", h), 0);
	assert_int_equal(store_pbx_set_admin(db, h), -1);
	assert_int_equal(access(db, F_OK), -1);
}

int main(void)
{
	if (core_auth_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_reset_replaces_the_hash_and_ends_the_admins_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_reset_of_a_missing_database_fails_and_makes_none, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
