/*
 * sshkeys — SSH keys as Zentrale keeps them: the server's host keys
 * (Ed25519 and ECDSA P-256, in certs/, made by the supervisor on first
 * start, served by the SSH process) and the public keys an administrator
 * may log in with (system.db, ssh_keys, kept by mgmt).
 */
#ifndef SSHKEYS_H
#define SSHKEYS_H

#include <jansson.h>
#include <sqlite3.h>

#define SSHKEYS_HOSTKEY_ED25519 "certs/ssh_host_ed25519_key"
#define SSHKEYS_HOSTKEY_ECDSA	"certs/ssh_host_ecdsa_key"

/* Creates missing host keys; returns how many were created, -1 on error. */
int sshkeys_make_host_keys(void);
/* [{"type", "fingerprint"}] of the host keys. */
json_t *sshkeys_host_fingerprints(void);
/* Parses "TYPE BASE64 [COMMENT]" (an authorized_keys line) into
 * {"type","key","comment","fingerprint"}; NULL with *why set if invalid. */
json_t *sshkeys_parse_public(const char *line, const char **why);
/* Every authorized key, from system.db. */
json_t *sshkeys_list(sqlite3 *db);
/* Adds a parsed key; -1 on error, -2 if it is there already. */
int sshkeys_add(sqlite3 *db, json_t *key, long long *id);
int sshkeys_delete(sqlite3 *db, long long id);

#endif
