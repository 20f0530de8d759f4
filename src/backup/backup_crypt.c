/*
 * backup_crypt — a whole archive encrypted with a passphrase. File:
 * "ZTBACKUP" 1 | salt[16] | opslimit u64 | memlimit u64 (little-endian) |
 * secretstream header[24] | chunks: u32 length, then that many bytes of
 * crypto_secretstream_xchacha20poly1305 (64 KiB of plain text each, the
 * last tagged FINAL). The key is argon2id(passphrase, salt). A wrong
 * passphrase fails on the first chunk; a cut-off file lacks the FINAL tag.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "backup.h"
#include "backup_int.h"

#define fail(...) berr(err, errlen, __VA_ARGS__)
#define CHUNK	  65536
#define ABYTES	  crypto_secretstream_xchacha20poly1305_ABYTES
#define HDRBYTES  crypto_secretstream_xchacha20poly1305_HEADERBYTES

struct enc_head {
	char magic[8];
	uint8_t version;
	unsigned char salt[crypto_pwhash_SALTBYTES];
	uint64_t ops, mem;
	unsigned char ss[HDRBYTES];
} __attribute__((packed));

static int derive(unsigned char key[32], const char *pass, const struct enc_head *h)
{
	if (h->ops > crypto_pwhash_OPSLIMIT_SENSITIVE || h->mem > crypto_pwhash_MEMLIMIT_SENSITIVE)
		return -1;
	return crypto_pwhash(key, 32, pass, strlen(pass), h->salt, h->ops, h->mem,
			     crypto_pwhash_ALG_ARGON2ID13);
}

static int read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			return (int)got;
		got += (size_t)r;
	}
	return (int)got;
}

bool backup_is_encrypted(const char *path)
{
	char m[8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool enc = fd >= 0 && read_full(fd, m, 8) == 8 && memcmp(m, BACKUP_ENC_MAGIC, 8) == 0;
	if (fd >= 0)
		close(fd);
	return enc;
}

int backup_encrypt(const char *in, const char *out, const char *pass, char *err, size_t errlen)
{
	int fi = open(in, O_RDONLY | O_CLOEXEC);
	int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	unsigned char key[32], *pbuf = malloc(CHUNK), *cbuf = malloc(CHUNK + ABYTES);
	int r = -1;
	struct enc_head h = {.version = 1,
			     .ops = crypto_pwhash_OPSLIMIT_INTERACTIVE,
			     .mem = crypto_pwhash_MEMLIMIT_INTERACTIVE};
	crypto_secretstream_xchacha20poly1305_state st;
	memcpy(h.magic, BACKUP_ENC_MAGIC, 8);
	randombytes_buf(h.salt, sizeof(h.salt));
	if (fi < 0 || fo < 0 || !pbuf || !cbuf) {
		fail("cannot encrypt the backup");
		goto out;
	}
	if (derive(key, pass, &h) < 0) {
		fail("not enough memory to derive the key");
		goto out;
	}
	crypto_secretstream_xchacha20poly1305_init_push(&st, h.ss, key);
	if (write(fo, &h, sizeof(h)) != (ssize_t)sizeof(h))
		goto werr;
	for (;;) {
		int n = read_full(fi, pbuf, CHUNK);
		if (n < 0)
			goto werr;
		/* a short read is the end: the last chunk, tagged FINAL */
		unsigned char tag = n < CHUNK ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0;
		unsigned long long clen;
		crypto_secretstream_xchacha20poly1305_push(&st, cbuf, &clen, pbuf, (size_t)n, NULL,
							   0, tag);
		uint32_t len = (uint32_t)clen;
		if (write(fo, &len, 4) != 4 || write(fo, cbuf, clen) != (ssize_t)clen)
			goto werr;
		if (tag)
			break;
	}
	if (fsync(fo) < 0)
		goto werr;
	r = 0;
	goto out;
werr:
	fail("cannot write the encrypted backup");
out:
	sodium_memzero(key, sizeof(key));
	if (fi >= 0)
		close(fi);
	if (fo >= 0)
		close(fo);
	free(pbuf);
	free(cbuf);
	return r;
}

int backup_decrypt(const char *in, const char *out, const char *pass, char *err, size_t errlen)
{
	int fi = open(in, O_RDONLY | O_CLOEXEC);
	int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	unsigned char key[32], *pbuf = malloc(CHUNK), *cbuf = malloc(CHUNK + ABYTES);
	struct enc_head h;
	crypto_secretstream_xchacha20poly1305_state st;
	int r = -1;
	bool first = true;
	if (fi < 0 || fo < 0 || !pbuf || !cbuf) {
		fail("cannot decrypt the backup");
		goto out;
	}
	if (read_full(fi, &h, sizeof(h)) != (int)sizeof(h) ||
	    memcmp(h.magic, BACKUP_ENC_MAGIC, 8) || h.version != 1) {
		fail("not an encrypted Zentrale backup");
		goto out;
	}
	if (derive(key, pass, &h) < 0 ||
	    crypto_secretstream_xchacha20poly1305_init_pull(&st, h.ss, key) != 0) {
		fail("wrong passphrase, or the backup is damaged");
		goto out;
	}
	for (;;) {
		uint32_t len;
		int n = read_full(fi, &len, 4);
		if (n == 4 && (len > CHUNK + ABYTES || len < ABYTES)) {
			fail("the encrypted backup is damaged");
			goto out;
		}
		if (n != 4 || read_full(fi, cbuf, len) != (int)len) {
			/* the end came before the chunk tagged FINAL */
			fail("the encrypted backup is truncated");
			goto out;
		}
		unsigned long long plen;
		unsigned char tag;
		if (crypto_secretstream_xchacha20poly1305_pull(&st, pbuf, &plen, &tag, cbuf, len,
							       NULL, 0) != 0) {
			fail(first ? "wrong passphrase, or the backup is damaged"
				   : "the encrypted backup is damaged or has been tampered with");
			goto out;
		}
		first = false;
		if (write(fo, pbuf, plen) != (ssize_t)plen) {
			fail("cannot write the decrypted backup");
			goto out;
		}
		if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL)
			break;
	}
	char extra;
	if (read_full(fi, &extra, 1) != 0) {
		fail("the encrypted backup has data after its end");
		goto out;
	}
	r = 0;
out:
	sodium_memzero(key, sizeof(key));
	if (fi >= 0)
		close(fi);
	if (fo >= 0)
		close(fo);
	free(pbuf);
	free(cbuf);
	if (r < 0)
		unlink(out);
	return r;
}
