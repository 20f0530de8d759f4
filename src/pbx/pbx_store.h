/*
 * pbx_store — a phone system's own database, pbx.db: its schema and the
 * admin account given when the phone system was created. Only the phone
 * system's process writes it (and the supervisor, once, at creation).
 */
#ifndef PBX_STORE_H
#define PBX_STORE_H

#include <stddef.h>

#include <sqlite3.h>

int pbx_store_open(const char *path, sqlite3 **db);
/* Creates pbx.db with the admin's argon2id hash; -1 if it exists or fails. */
int pbx_store_create(const char *path, const char *admin_hash);

/* The schema version this build writes (PRAGMA user_version of pbx.db). */
int pbx_store_schema_version(void);

#endif
