/* Password hashes and sessions (core_auth). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/core/core_auth.h"
#include "../../src/core/core_db.h"

static void test_hash_is_argon2id_and_verifies(void **state)
{
	(void)state;
	char hash[CORE_AUTH_HASH_LEN];
	assert_int_equal(core_auth_init(), 0);
	assert_int_equal(core_auth_hash_password("correct horse", hash), 0);
	assert_memory_equal(hash, "$argon2id$", 10);
	assert_null(strstr(hash, "correct horse"));
	assert_true(core_auth_verify_password(hash, "correct horse"));
	assert_false(core_auth_verify_password(hash, "correct horsf"));
	assert_false(core_auth_verify_password(NULL, "correct horse"));
}

static void test_password_policy(void **state)
{
	(void)state;
	assert_non_null(core_auth_password_problem("short"));
	assert_null(core_auth_password_problem("long enough"));
	char pw[32];
	core_auth_random_password(pw, sizeof(pw));
	assert_int_equal(strlen(pw), 20);
	assert_null(core_auth_password_problem(pw));
}

static void test_sessions_check_revoke_and_expire(void **state)
{
	(void)state;
	sqlite3 *db;
	char tok[CORE_AUTH_TOKEN_LEN + 1], tok2[CORE_AUTH_TOKEN_LEN + 1], who[64];
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(core_db_exec(db, CORE_AUTH_SESSIONS_SQL), 0);
	assert_int_equal(core_auth_session_create(db, "admin", 3600, tok), 0);
	assert_int_equal(strlen(tok), CORE_AUTH_TOKEN_LEN);
	assert_int_equal(core_auth_session_check(db, tok, who, sizeof(who)), 0);
	assert_string_equal(who, "admin");
	/* Only a digest is stored. */
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "SELECT digest FROM sessions", -1, &st, NULL);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_not_equal((const char *)sqlite3_column_text(st, 0), tok);
	sqlite3_finalize(st);
	assert_int_equal(core_auth_session_revoke(db, tok), 0);
	assert_int_equal(core_auth_session_check(db, tok, who, sizeof(who)), -1);
	assert_int_equal(core_auth_session_create(db, "admin", -1, tok2), 0);
	assert_int_equal(core_auth_session_check(db, tok2, who, sizeof(who)), -1);
	assert_int_equal(core_auth_session_check(db, "garbage", who, sizeof(who)), -1);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_is_argon2id_and_verifies),
		cmocka_unit_test(test_password_policy),
		cmocka_unit_test(test_sessions_check_revoke_and_expire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
