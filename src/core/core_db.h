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
/* A write transaction; end commits when ok, else rolls back. */
int core_db_begin(sqlite3 *db);
int core_db_end(sqlite3 *db, int ok);
/* Reads/writes the settings(key, value) table most databases carry. */
int core_db_setting_get(sqlite3 *db, const char *key, char *out, size_t outlen);
int core_db_setting_set(sqlite3 *db, const char *key, const char *value);

#endif
