/* store_system — system.db: its schema, one migration per entry (store.h). */
#include "store.h"

#include "../core/core_auth.h"
#include "../core/core_db.h"

/* system.db schema, one migration per entry; never edit a released one. */
static const char *const system_schema[] = {
	"CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE admins(username TEXT PRIMARY KEY, password_hash TEXT NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE phone_systems(name TEXT PRIMARY KEY, created INTEGER NOT NULL,"
	" enabled INTEGER NOT NULL DEFAULT 1);" CORE_AUTH_SESSIONS_SQL,
	"CREATE TABLE ssh_keys(id INTEGER PRIMARY KEY, type TEXT NOT NULL, key TEXT NOT NULL"
	" UNIQUE, comment TEXT NOT NULL, fingerprint TEXT NOT NULL, created INTEGER NOT NULL);",
	/* further SIP domains of a phone system */
	"CREATE TABLE aliases(alias TEXT PRIMARY KEY,"
	" name TEXT NOT NULL REFERENCES phone_systems(name) ON DELETE CASCADE);",
	/* the VPN's clients; revoked ones stay for the revocation list */
	"CREATE TABLE vpn_clients(id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
	" serial TEXT NOT NULL UNIQUE, created INTEGER NOT NULL, revoked INTEGER);"
	"CREATE UNIQUE INDEX vpn_clients_active ON vpn_clients(name) WHERE revoked IS NULL;",
};

int store_system_schema_version(void)
{
	return (int)(sizeof(system_schema) / sizeof(system_schema[0]));
}

int store_system_open(const char *path, sqlite3 **db)
{
	if (core_db_open(path, db) < 0)
		return -1;
	if (core_db_migrate(*db, system_schema, sizeof(system_schema) / sizeof(system_schema[0])) <
	    0) {
		sqlite3_close(*db);
		return -1;
	}
	return 0;
}
