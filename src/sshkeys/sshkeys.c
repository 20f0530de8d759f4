/* sshkeys — see sshkeys.h. */
#include "sshkeys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "../core/core_log.h"

static const struct {
	const char *path;
	enum ssh_keytypes_e type;
	int bits;
} host_keys[] = {
	{SSHKEYS_HOSTKEY_ED25519, SSH_KEYTYPE_ED25519, 0},
	{SSHKEYS_HOSTKEY_ECDSA, SSH_KEYTYPE_ECDSA_P256, 256},
};

int sshkeys_make_host_keys(void)
{
	int made = 0;
	for (size_t i = 0; i < sizeof(host_keys) / sizeof(host_keys[0]); i++) {
		if (access(host_keys[i].path, R_OK) == 0)
			continue;
		ssh_key key = NULL;
		char tmp[128];
		snprintf(tmp, sizeof(tmp), "%s.tmp", host_keys[i].path);
		unlink(tmp);
		mode_t old = umask(077);
		int r = ssh_pki_generate(host_keys[i].type, host_keys[i].bits, &key);
		if (r == SSH_OK)
			r = ssh_pki_export_privkey_file(key, NULL, NULL, NULL, tmp);
		umask(old);
		ssh_key_free(key);
		if (r != SSH_OK || rename(tmp, host_keys[i].path) < 0) {
			log_error("cannot create the SSH host key %s", host_keys[i].path);
			unlink(tmp);
			return -1;
		}
		made++;
	}
	return made;
}

static char *keys_fingerprint(ssh_key key)
{
	unsigned char *hash = NULL;
	size_t hlen = 0;
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) < 0)
		return NULL;
	char *fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	ssh_clean_pubkey_hash(&hash);
	return fp;
}

json_t *sshkeys_host_fingerprints(void)
{
	json_t *out = json_array();
	for (size_t i = 0; i < sizeof(host_keys) / sizeof(host_keys[0]); i++) {
		ssh_key key = NULL;
		if (ssh_pki_import_privkey_file(host_keys[i].path, NULL, NULL, NULL, &key) !=
		    SSH_OK)
			continue;
		char *fp = keys_fingerprint(key);
		json_array_append_new(out, json_pack("{s:s, s:s}", "type",
						     ssh_key_type_to_char(ssh_key_type(key)),
						     "fingerprint", fp ? fp : ""));
		ssh_string_free_char(fp);
		ssh_key_free(key);
	}
	return out;
}

json_t *sshkeys_parse_public(const char *line, const char **why)
{
	char type[64], b64[16384], comment[256] = "";
	*why = "give the key as one line: TYPE BASE64 [COMMENT]";
	if (!line || strlen(line) >= sizeof(b64) ||
	    sscanf(line, " %63s %16383s %255[^\n]", type, b64, comment) < 2)
		return NULL;
	enum ssh_keytypes_e t = ssh_key_type_from_name(type);
	ssh_key key = NULL;
	if (t == SSH_KEYTYPE_UNKNOWN || t == SSH_KEYTYPE_DSS) {
		*why = "unsupported key type (use ssh-ed25519, ecdsa-sha2-* or ssh-rsa)";
		return NULL;
	}
	if (ssh_pki_import_pubkey_base64(b64, t, &key) != SSH_OK) {
		*why = "the key is not valid";
		return NULL;
	}
	char *fp = keys_fingerprint(key);
	ssh_key_free(key);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "type", type, "key", b64, "comment", comment,
			      "fingerprint", fp ? fp : "");
	ssh_string_free_char(fp);
	return o;
}

json_t *sshkeys_list(sqlite3 *db)
{
	json_t *out = json_array();
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "SELECT id, type, key, comment, fingerprint, created FROM ssh_keys "
			       "ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return out;
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(
			out, json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "id",
				       (json_int_t)sqlite3_column_int64(st, 0), "type",
				       (const char *)sqlite3_column_text(st, 1), "key",
				       (const char *)sqlite3_column_text(st, 2), "comment",
				       (const char *)sqlite3_column_text(st, 3), "fingerprint",
				       (const char *)sqlite3_column_text(st, 4), "created",
				       (json_int_t)sqlite3_column_int64(st, 5)));
	sqlite3_finalize(st);
	return out;
}

int sshkeys_add(sqlite3 *db, json_t *k, long long *id)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO ssh_keys(type,key,comment,fingerprint,created) "
			       "VALUES(?,?,?,?,strftime('%s','now'))",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	const char *cols[] = {"type", "key", "comment", "fingerprint"};
	for (int i = 0; i < 4; i++)
		sqlite3_bind_text(st, i + 1, json_string_value(json_object_get(k, cols[i])), -1,
				  SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return -2;
	if (rc != SQLITE_DONE)
		return -1;
	*id = sqlite3_last_insert_rowid(db);
	return 0;
}

int sshkeys_delete(sqlite3 *db, long long id)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "DELETE FROM ssh_keys WHERE id=?", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	int r = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(db) == 1 ? 0 : -1;
	sqlite3_finalize(st);
	return r;
}
