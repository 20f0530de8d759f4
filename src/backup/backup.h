/*
 * backup — the archives of Zentrale's data, with no I/O but files: a
 * consistent snapshot of a live SQLite database (the online backup API), a
 * .tar.gz written with libarchive whose first member, manifest.json, holds
 * the SHA-256 of every other member, its verification (whole, before
 * anything is touched: truncated, corrupted, tampered or foreign archives
 * are refused) with optional extraction, and encryption of a whole archive
 * with a passphrase (argon2id key, libsodium crypto_secretstream).
 *
 * Archive: manifest.json {"format": 1, "product": "zentrale",
 * "product_version", "kind": "phone-system"|"server", "phone_system"?,
 * "created", "schemas": {"pbx", "system"?}, "media", "files": {path: sha256}}
 * then the files it names, nothing else.
 */
#ifndef BACKUP_H
#define BACKUP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define BACKUP_FORMAT	    1
#define BACKUP_MAX_MEMBERS  100000
#define BACKUP_MAX_MANIFEST (16 * 1024 * 1024)

struct backup_member {
	char name[256]; /* path inside the archive */
	char file[512]; /* where it is read from */
};

/* A consistent copy of the database at src (which others may be writing). */
int backup_snapshot_db(const char *src, const char *dst, char *err, size_t errlen);
/* Writes the archive to path: the manifest (its "files" filled in here; not
 * stolen) and then the members. Written to path directly: callers write to
 * a temporary name and rename, so a crash leaves no half archive. */
int backup_write(const char *path, json_t *manifest, const struct backup_member *m, int n,
		 char *err, size_t errlen);
/* Verifies the archive at path whole and, if dir is not NULL, extracts it
 * there (dir must exist; nothing outside it is written). The manifest on
 * success, NULL with a sentence for a person in err. */
json_t *backup_verify(const char *path, const char *dir, char *err, size_t errlen);

/* Release bundles (system update) are the same archives with a second
 * member, manifest.sig: the base64 Ed25519 signature of manifest.json's
 * bytes. Writing one takes the secret key; verifying one takes the trusted
 * public keys (a JSON array of base64 strings) and refuses a bundle no key
 * of them signed before looking at anything else. */
#define BACKUP_SIG_MEMBER "manifest.sig"
int backup_write_signed(const char *path, json_t *manifest, const struct backup_member *m, int n,
			const unsigned char sk[64], char *err, size_t errlen);
json_t *backup_verify_signed(const char *path, const char *dir, const json_t *keys, char *err,
			     size_t errlen);

/* Encrypted files start with this; anything else is taken as plain. */
#define BACKUP_ENC_MAGIC "ZTBACKUP"
bool backup_is_encrypted(const char *path);
int backup_encrypt(const char *in, const char *out, const char *passphrase, char *err,
		   size_t errlen);
int backup_decrypt(const char *in, const char *out, const char *passphrase, char *err,
		   size_t errlen);

#endif
