/* core_db — see core_db.h. */
#include "core_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_log.h"

/* The statement cache: one row per (connection, SQL text). Statements come
 * from string literals in the code, so the rows are bounded by the code's
 * SQL; a linear scan over a few dozen pointers costs less than one hash of
 * the text. */
struct db_stmt {
	sqlite3 *db;
	const char *sql;
	sqlite3_stmt *st;
};
static struct db_stmt *db_stmts;
static size_t db_nstmts, db_capstmts;

sqlite3_stmt *core_db_stmt(sqlite3 *db, const char *sql)
{
	for (size_t i = 0; i < db_nstmts; i++)
		if (db_stmts[i].sql == sql && db_stmts[i].db == db) {
			sqlite3_stmt *st = db_stmts[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	if (db_nstmts == db_capstmts) {
		size_t cap = db_capstmts ? 2 * db_capstmts : 32;
		struct db_stmt *n = realloc(db_stmts, cap * sizeof(*n));
		if (!n)
			return NULL;
		db_stmts = n;
		db_capstmts = cap;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		log_error("sqlite: %s", sqlite3_errmsg(db));
		return NULL;
	}
	db_stmts[db_nstmts++] = (struct db_stmt){db, sql, st};
	return st;
}

void core_db_close(sqlite3 *db)
{
	size_t keep = 0;
	for (size_t i = 0; i < db_nstmts; i++)
		if (db_stmts[i].db == db)
			sqlite3_finalize(db_stmts[i].st);
		else
			db_stmts[keep++] = db_stmts[i];
	db_nstmts = keep;
	sqlite3_close(db);
}

int core_db_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_error("sqlite: %s", err ? err : "error");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

int core_db_open(const char *path, sqlite3 **out)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		log_error("cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, 5000);
	if (core_db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			     "PRAGMA foreign_keys=ON;") < 0) {
		sqlite3_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

static int db_user_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int core_db_migrate(sqlite3 *db, const char *const *steps, int n)
{
	int v = db_user_version(db);
	if (v < 0)
		return -1;
	if (v > n) {
		log_error("database schema %d is newer than this build knows (%d)", v, n);
		return -1;
	}
	for (; v < n; v++) {
		char pragma[64];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d;", v + 1);
		if (core_db_exec(db, "BEGIN IMMEDIATE;") < 0)
			return -1;
		if (core_db_exec(db, steps[v]) < 0 || core_db_exec(db, pragma) < 0) {
			core_db_exec(db, "ROLLBACK;");
			return -1;
		}
		if (core_db_exec(db, "COMMIT;") < 0)
			return -1;
	}
	return 0;
}

int core_db_setting_get(sqlite3 *db, const char *key, char *out, size_t outlen)
{
	sqlite3_stmt *st;
	int r = -1;
	if (sqlite3_prepare_v2(db, "SELECT value FROM settings WHERE key=?", -1, &st, NULL))
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		snprintf(out, outlen, "%s", v ? v : "");
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

int core_db_setting_set(sqlite3 *db, const char *key, const char *value)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO settings(key,value) VALUES(?,?) "
			       "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
			       -1, &st, NULL))
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	int r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	if (r < 0)
		log_error("sqlite: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return r;
}

/* BEGIN and COMMIT stay sqlite3_exec: every process uses them, also on
 * connections closed with a bare sqlite3_close, which the cache must not
 * outlive. */
int core_db_begin(sqlite3 *db)
{
	return core_db_exec(db, "BEGIN IMMEDIATE");
}

int core_db_begin_read(sqlite3 *db)
{
	return core_db_exec(db, "BEGIN");
}

int core_db_end(sqlite3 *db, int ok)
{
	if (ok && core_db_exec(db, "COMMIT") == 0)
		return 0;
	core_db_exec(db, "ROLLBACK");
	return -1;
}
