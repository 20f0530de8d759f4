/*
 * sshd_keys — SSH keys as Zentrale keeps them: the server's host keys
 * (Ed25519 and ECDSA P-256, in certs/, made on first start) and the
 * public keys an administrator may log in with (system.db, ssh_keys).
 */
#ifndef SSHD_KEYS_H
#define SSHD_KEYS_H

#include <jansson.h>
#include <sqlite3.h>

#define SSHD_HOSTKEY_ED25519 "certs/ssh_host_ed25519_key"
#define SSHD_HOSTKEY_ECDSA   "certs/ssh_host_ecdsa_key"

/* Creates missing host keys; returns how many were created, -1 on error. */
int sshd_keys_make_host_keys(void);
/* [{"type", "fingerprint"}] of the host keys. */
json_t *sshd_keys_host_fingerprints(void);
/* Parses "TYPE BASE64 [COMMENT]" (an authorized_keys line) into
 * {"type","key","comment","fingerprint"}; NULL with *why set if invalid. */
json_t *sshd_keys_parse_public(const char *line, const char **why);
/* Every authorized key, from system.db. */
json_t *sshd_keys_list(sqlite3 *db);
/* Adds a parsed key; -1 on error, -2 if it is there already. */
int sshd_keys_add(sqlite3 *db, json_t *key, long long *id);
int sshd_keys_delete(sqlite3 *db, long long id);

#endif
