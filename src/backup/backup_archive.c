/* backup_archive — snapshot, write and verify (see backup.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <sodium.h>
#include <sqlite3.h>

#include "backup.h"
#include "backup_int.h"

#define fail(...) berr(err, errlen, __VA_ARGS__)

int backup_snapshot_db(const char *src, const char *dst, char *err, size_t errlen)
{
	sqlite3 *from = NULL, *to = NULL;
	int r = -1;
	unlink(dst);
	if (sqlite3_open_v2(src, &from, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_open(dst, &to) != SQLITE_OK) {
		fail("cannot open %s", src);
		goto out;
	}
	sqlite3_busy_timeout(from, 5000);
	sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
	if (!b) {
		fail("cannot back up %s: %s", src, sqlite3_errmsg(to));
		goto out;
	}
	/* all pages in one step: one read transaction, one consistent moment */
	int rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		fail("backup of %s failed: %s", src, sqlite3_errstr(rc));
		goto out;
	}
	/* a plain rollback-journal file: one file holds it all */
	sqlite3_exec(to, "PRAGMA journal_mode=DELETE;", NULL, NULL, NULL);
	r = 0;
out:
	sqlite3_close(from);
	sqlite3_close(to);
	return r;
}

static int file_sha256(const char *path, char hex[65])
{
	unsigned char buf[65536], d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	crypto_hash_sha256_init(&st);
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crypto_hash_sha256_update(&st, buf, (size_t)n);
	close(fd);
	if (n < 0)
		return -1;
	crypto_hash_sha256_final(&st, d);
	sodium_bin2hex(hex, 65, d, sizeof(d));
	return 0;
}

static int add_data(struct archive *a, const char *name, const void *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0640);
	archive_entry_set_mtime(e, time(NULL), 0);
	int r = archive_write_header(a, e) == ARCHIVE_OK &&
				(len == 0 || archive_write_data(a, data, len) == (la_ssize_t)len)
			? 0
			: -1;
	archive_entry_free(e);
	return r;
}

static int add_file(struct archive *a, const char *name, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, st.st_size);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0640);
	archive_entry_set_mtime(e, st.st_mtime, 0);
	int r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -1;
	archive_entry_free(e);
	unsigned char buf[65536];
	ssize_t n;
	off_t total = 0;
	while (r == 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
		if (archive_write_data(a, buf, (size_t)n) != n)
			r = -1;
		total += n;
	}
	close(fd);
	/* a file that changed size under us would make a broken member */
	return r == 0 && total == st.st_size ? 0 : -1;
}

int backup_write(const char *path, json_t *manifest, const struct backup_member *m, int n,
		 char *err, size_t errlen)
{
	return backup_write_signed(path, manifest, m, n, NULL, err, errlen);
}

int backup_write_signed(const char *path, json_t *manifest, const struct backup_member *m, int n,
			const unsigned char sk[64], char *err, size_t errlen)
{
	json_t *files = json_object();
	for (int i = 0; i < n; i++) {
		char hex[65];
		if (file_sha256(m[i].file, hex) < 0) {
			json_decref(files);
			return fail("cannot read %s: %s", m[i].file, strerror(errno));
		}
		json_object_set_new(files, m[i].name, json_string(hex));
	}
	json_object_set_new(manifest, "files", files);
	char *text = json_dumps(manifest, JSON_INDENT(1) | JSON_SORT_KEYS);
	struct archive *a = archive_write_new();
	int r = -1;
	if (!text || archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_filename(a, path) != ARCHIVE_OK) {
		fail("cannot write %s: %s", path, archive_error_string(a));
		goto out;
	}
	if (add_data(a, "manifest.json", text, strlen(text)) < 0) {
		fail("cannot write the manifest: %s", archive_error_string(a));
		goto out;
	}
	if (sk) {
		unsigned char sig[crypto_sign_BYTES];
		char b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES,
						   sodium_base64_VARIANT_ORIGINAL)];
		crypto_sign_detached(sig, NULL, (const unsigned char *)text, strlen(text), sk);
		sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig),
				  sodium_base64_VARIANT_ORIGINAL);
		if (add_data(a, BACKUP_SIG_MEMBER, b64, strlen(b64)) < 0) {
			fail("cannot write the signature: %s", archive_error_string(a));
			goto out;
		}
	}
	for (int i = 0; i < n; i++)
		if (add_file(a, m[i].name, m[i].file) < 0) {
			fail("cannot add %s: %s", m[i].file, archive_error_string(a));
			goto out;
		}
	if (archive_write_close(a) != ARCHIVE_OK) {
		fail("cannot finish %s: %s", path, archive_error_string(a));
		goto out;
	}
	r = 0;
out:
	archive_write_free(a);
	free(text);
	return r;
}

/* Member names we write: relative, no "..", a plain alphabet. */
static bool name_ok(const char *n)
{
	if (!*n || *n == '/' || strlen(n) > 255 || strstr(n, "..") || strstr(n, "//"))
		return false;
	return strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") ==
	       strlen(n);
}

static int mkdirs_for(const char *dir, const char *name)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(path, 0750) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

json_t *backup_verify(const char *path, const char *dir, char *err, size_t errlen)
{
	return backup_verify_signed(path, dir, NULL, err, errlen);
}

/* Is manifest text signed by one of keys (base64 Ed25519 public keys)? */
static bool signed_by(const char *text, size_t len, const char *sig64, const json_t *keys)
{
	unsigned char sig[crypto_sign_BYTES], pk[crypto_sign_PUBLICKEYBYTES];
	size_t n;
	if (sodium_base642bin(sig, sizeof(sig), sig64, strlen(sig64), " \n", &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != sizeof(sig))
		return false;
	size_t i;
	json_t *k;
	json_array_foreach(keys, i, k)
	{
		const char *s = json_string_value(k);
		if (s &&
		    sodium_base642bin(pk, sizeof(pk), s, strlen(s), " \n", &n, NULL,
				      sodium_base64_VARIANT_ORIGINAL) == 0 &&
		    n == sizeof(pk) &&
		    crypto_sign_verify_detached(sig, (const unsigned char *)text, len, pk) == 0)
			return true;
	}
	return false;
}

json_t *backup_verify_signed(const char *path, const char *dir, const json_t *keys, char *err,
			     size_t errlen)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	json_t *manifest = NULL, *files = NULL, *seen = json_object();
	char *text = NULL;
	int out = -1;
	bool ok = false;
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		fail("not a Zentrale backup (not a .tar.gz archive)");
		goto done;
	}
	/* the manifest first, bounded */
	la_int64_t msize = archive_entry_size(e);
	if (strcmp(archive_entry_pathname(e), "manifest.json") != 0 || msize <= 0 ||
	    msize > BACKUP_MAX_MANIFEST) {
		fail("not a Zentrale backup (no manifest.json first)");
		goto done;
	}
	text = malloc((size_t)msize + 1);
	if (!text || archive_read_data(a, text, (size_t)msize) != msize) {
		fail("the backup is damaged (manifest unreadable: %s)", archive_error_string(a));
		goto done;
	}
	text[msize] = '\0';
	if (keys) { /* a bundle: signed, or nothing of it is believed */
		char sig64[200] = "";
		la_ssize_t sl = 0;
		if (archive_read_next_header(a, &e) != ARCHIVE_OK ||
		    strcmp(archive_entry_pathname(e), BACKUP_SIG_MEMBER) != 0 ||
		    archive_entry_size(e) >= (la_int64_t)sizeof(sig64) ||
		    (sl = archive_read_data(a, sig64, sizeof(sig64) - 1)) <= 0) {
			fail("the bundle is not signed");
			goto done;
		}
		sig64[sl] = '\0';
		if (!signed_by(text, (size_t)msize, sig64, keys)) {
			fail("the bundle's signature is bad or not by a trusted key");
			goto done;
		}
	}
	manifest = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	files = json_object_get(manifest, "files");
	if (!json_is_object(manifest) ||
	    json_integer_value(json_object_get(manifest, "format")) != BACKUP_FORMAT ||
	    !json_is_string(json_object_get(manifest, "product")) ||
	    strcmp(json_string_value(json_object_get(manifest, "product")), "zentrale") != 0 ||
	    !json_is_object(files) || json_object_size(files) > BACKUP_MAX_MEMBERS) {
		fail("not a Zentrale backup of a format this version reads");
		goto done;
	}
	int r;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		const char *want = json_string_value(json_object_get(files, name));
		if (!name || !want || !name_ok(name) || archive_entry_filetype(e) != AE_IFREG ||
		    json_object_get(seen, name)) {
			fail("the backup has been tampered with (unexpected member %s)",
			     name ? name : "?");
			goto done;
		}
		json_object_set_new(seen, name, json_true());
		if (dir) {
			char p[1024];
			snprintf(p, sizeof(p), "%s/%s", dir, name);
			if (mkdirs_for(dir, name) < 0 ||
			    (out = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) < 0) {
				fail("cannot extract %s: %s", name, strerror(errno));
				goto done;
			}
		}
		crypto_hash_sha256_state st;
		crypto_hash_sha256_init(&st);
		unsigned char buf[65536], d[crypto_hash_sha256_BYTES];
		la_ssize_t n;
		while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
			crypto_hash_sha256_update(&st, buf, (size_t)n);
			if (out >= 0 && write(out, buf, (size_t)n) != n) {
				fail("cannot extract %s: %s", name, strerror(errno));
				goto done;
			}
		}
		if (n < 0) {
			fail("the backup is damaged or truncated (%s)", archive_error_string(a));
			goto done;
		}
		if (out >= 0 && (fsync(out) < 0 || close(out) < 0)) {
			out = -1;
			fail("cannot extract %s: %s", name, strerror(errno));
			goto done;
		}
		out = -1;
		char hex[65];
		crypto_hash_sha256_final(&st, d);
		sodium_bin2hex(hex, sizeof(hex), d, sizeof(d));
		if (strcmp(hex, want) != 0) {
			fail("the backup has been tampered with or damaged (%s does not match its "
			     "checksum)",
			     name);
			goto done;
		}
	}
	if (r != ARCHIVE_EOF) {
		fail("the backup is damaged or truncated (%s)", archive_error_string(a));
		goto done;
	}
	if (json_object_size(seen) != json_object_size(files)) {
		fail("the backup is incomplete (%zu of %zu files)", json_object_size(seen),
		     json_object_size(files));
		goto done;
	}
	ok = true;
done:
	if (out >= 0)
		close(out);
	archive_read_free(a);
	free(text);
	json_decref(seen);
	if (!ok) {
		json_decref(manifest);
		return NULL;
	}
	return manifest;
}
