/*
 * store — the databases' schemas and how they are opened: system.db (the
 * supervisor's phone-system table, admin accounts, SSH keys, aliases, VPN
 * clients) and each phone system's pbx.db (its admin account, users,
 * registrations, call records). One migration list per database, so the
 * schema versions a backup records (mgmt), a restore checks (supervisor,
 * mgmt) and a process writes are the same numbers. Who writes what: only
 * the supervisor and mgmt write system.db; only a phone system's process
 * writes its pbx.db (and the supervisor: once at creation, and for a reset of
 * its admin's password).
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>

#include <sqlite3.h>

/* store_pbx.c: pbx.db. */
int store_pbx_open(const char *path, sqlite3 **db);
/* Creates pbx.db with the admin's argon2id hash; -1 if it exists or fails. */
int store_pbx_create(const char *path, const char *admin_hash);
/* The schema version this build writes (PRAGMA user_version of pbx.db). */
int store_pbx_schema_version(void);
/* Gives the phone system's admin a new argon2id hash and ends every session
 * of it, in one transaction (a reset by the server's administrator: the
 * supervisor writes this while the phone system runs; SQLite's locking
 * keeps the two writers apart). -1 if pbx.db is missing or the write fails. */
int store_pbx_set_admin(const char *path, const char *admin_hash);

/* store_system.c: system.db. */
int store_system_open(const char *path, sqlite3 **db);
/* The schema version of system.db this build writes. */
int store_system_schema_version(void);

#endif
