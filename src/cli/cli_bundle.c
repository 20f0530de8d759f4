/*
 * cli_bundle — the release side of system updates, run where releases are
 * built: `zentrale bundle-key --out PREFIX` makes an Ed25519 key pair
 * (PREFIX.key, secret, mode 0600; PREFIX.pub, for the servers' trusted
 * keys), and `zentrale bundle --key PREFIX.key --out FILE [--binary PATH]
 * [--version V]` packs a build into a signed bundle (src/backup/backup.h):
 * by default this very binary and the version it reports.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../backup/backup.h"
#include "../core/core_version.h"
#include "cli.h"

static int write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

int cli_bundle_key_main(int argc, char **argv)
{
	const char *out = argc == 3 && strcmp(argv[1], "--out") == 0 ? argv[2] : NULL;
	if (!out) {
		fprintf(stderr, "usage: zentrale bundle-key --out PREFIX\n");
		return 2;
	}
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_sign_SECRETKEYBYTES,
					   sodium_base64_VARIANT_ORIGINAL) +
		 1], /* and a newline */
		path[4096];
	if (sodium_init() < 0 || crypto_sign_keypair(pk, sk) != 0)
		return 1;
	sodium_bin2base64(b64, sizeof(b64), sk, sizeof(sk), sodium_base64_VARIANT_ORIGINAL);
	strcat(b64, "\n");
	snprintf(path, sizeof(path), "%s.key", out);
	int r = write_file(path, b64, 0600);
	sodium_bin2base64(b64, sizeof(b64), pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
	strcat(b64, "\n");
	snprintf(path, sizeof(path), "%s.pub", out);
	r = r < 0 ? r : write_file(path, b64, 0644);
	sodium_memzero(sk, sizeof(sk));
	if (r < 0) {
		perror("zentrale bundle-key");
		return 1;
	}
	printf("%s.key (secret: keep it where releases are signed) and %s.pub (public: "
	       "trusted by servers)\n",
	       out, out);
	return 0;
}

int cli_bundle_main(int argc, char **argv)
{
	static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
					     {"out", required_argument, NULL, 'o'},
					     {"binary", required_argument, NULL, 'b'},
					     {"version", required_argument, NULL, 'v'},
					     {NULL, 0, NULL, 0}};
	const char *key = NULL, *out = NULL, *bin = "/proc/self/exe", *version = ZENTRALE_VERSION;
	int c;
	while ((c = getopt_long(argc, argv, "k:o:b:v:", opts, NULL)) != -1) {
		if (c == 'k')
			key = optarg;
		else if (c == 'o')
			out = optarg;
		else if (c == 'b')
			bin = optarg;
		else if (c == 'v')
			version = optarg;
		else
			return 2;
	}
	if (!key || !out || optind != argc) {
		fprintf(stderr,
			"usage: zentrale bundle --key PREFIX.key --out FILE [--binary PATH] "
			"[--version V]\n");
		return 2;
	}
	char b64[256] = "", err[512];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	size_t n = 0;
	FILE *f = fopen(key, "r");
	if (sodium_init() < 0 || !f || !fgets(b64, sizeof(b64), f) ||
	    sodium_base642bin(sk, sizeof(sk), b64, strlen(b64), " \n", &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != sizeof(sk)) {
		if (f)
			fclose(f);
		fprintf(stderr, "zentrale bundle: %s is not a key made by `zentrale bundle-key`\n",
			key);
		return 1;
	}
	fclose(f);
	struct backup_member m;
	snprintf(m.name, sizeof(m.name), "zentrale");
	snprintf(m.file, sizeof(m.file), "%s", bin);
	json_t *man = json_pack("{s:i, s:s, s:s, s:s, s:I}", "format", BACKUP_FORMAT, "product",
				"zentrale", "kind", "release", "version", version, "created",
				(json_int_t)time(NULL));
	int r = backup_write_signed(out, man, &m, 1, sk, err, sizeof(err));
	sodium_memzero(sk, sizeof(sk));
	json_decref(man);
	if (r < 0) {
		fprintf(stderr, "zentrale bundle: %s\n", err);
		unlink(out);
		return 1;
	}
	printf("%s: zentrale %s, signed\n", out, version);
	return 0;
}
