/*
 * core_db — opening SQLite databases the one way Zentrale uses them (WAL,
 * synchronous=FULL so an acknowledged write survives a power cut, a busy
 * timeout because several processes share system.db) and schema migrations
 * tracked in PRAGMA user_version.
 */
#ifndef CORE_DB_H
#define CORE_DB_H

#include <stddef.h>

#include <sqlite3.h>

int core_db_open(const char *path, sqlite3 **out);
/* Applies steps[user_version..n-1], each in its own transaction. */
int core_db_migrate(sqlite3 *db, const char *const *steps, int n);
int core_db_exec(sqlite3 *db, const char *sql);
/* The prepared statement for sql (a string literal: its address is the
 * key), prepared on first use and kept for the connection's life; reset and
 * its bindings cleared each time it is handed out. The cache owns it: reset
 * it when done (a SELECT left unreset holds its read transaction), never
 * finalize it. NULL on error (logged). */
sqlite3_stmt *core_db_stmt(sqlite3 *db, const char *sql);
/* Finalizes db's cached statements and closes it: a connection that used
 * core_db_stmt must be closed with it (a bare sqlite3_close would fail and
 * leave the cache pointing at it). */
void core_db_close(sqlite3 *db);
/* A write transaction; end commits when ok, else rolls back. */
int core_db_begin(sqlite3 *db);
int core_db_end(sqlite3 *db, int ok);
/* A read transaction (one snapshot for several SELECTs); core_db_end(db, 1) ends it. */
int core_db_begin_read(sqlite3 *db);
/* Reads/writes the settings(key, value) table most databases carry. */
int core_db_setting_get(sqlite3 *db, const char *key, char *out, size_t outlen);
int core_db_setting_set(sqlite3 *db, const char *key, const char *value);

#endif
