/* Unit tests of src/backup: archives written and verified, encryption. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../src/backup/backup.h"

static char dir[64];

static void put(const char *name, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static long size_of(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? st.st_size : -1;
}

static void make_archive(const char *out)
{
	struct backup_member m[2];
	put("a.txt", "alpha\n");
	put("b.txt", "bravo bravo\n");
	snprintf(m[0].name, sizeof(m[0].name), "phone-systems/x/a.txt");
	snprintf(m[0].file, sizeof(m[0].file), "%s/a.txt", dir);
	snprintf(m[1].name, sizeof(m[1].name), "certs/b.txt");
	snprintf(m[1].file, sizeof(m[1].file), "%s/b.txt", dir);
	json_t *man = json_pack("{s:i, s:s, s:s}", "format", BACKUP_FORMAT, "product", "zentrale",
				"kind", "server");
	char err[256];
	assert_int_equal(backup_write(out, man, m, 2, err, sizeof(err)), 0);
	json_decref(man);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/zt-unit-backup-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_write_verify_extract(void **state)
{
	(void)state;
	char out[128], ex[128], err[256], p[256];
	snprintf(out, sizeof(out), "%s/x.tar.gz", dir);
	make_archive(out);
	json_t *man = backup_verify(out, NULL, err, sizeof(err));
	assert_non_null(man);
	assert_int_equal(json_object_size(json_object_get(man, "files")), 2);
	json_decref(man);
	snprintf(ex, sizeof(ex), "%s/ex", dir);
	mkdir(ex, 0700);
	man = backup_verify(out, ex, err, sizeof(err));
	assert_non_null(man);
	json_decref(man);
	snprintf(p, sizeof(p), "%s/phone-systems/x/a.txt", ex);
	assert_int_equal(size_of(p), 6);
}

static void copy_cut(const char *from, const char *to, long keep, long flip)
{
	FILE *f = fopen(from, "rb"), *g = fopen(to, "wb");
	int c;
	long i = 0;
	while ((c = fgetc(f)) != EOF && (keep < 0 || i < keep)) {
		fputc(i == flip ? c ^ 0xff : c, g);
		i++;
	}
	fclose(f);
	fclose(g);
}

static void test_damaged_archives_are_refused(void **state)
{
	(void)state;
	char out[128], bad[128], err[256];
	snprintf(out, sizeof(out), "%s/x.tar.gz", dir);
	snprintf(bad, sizeof(bad), "%s/bad.tar.gz", dir);
	make_archive(out);
	long n = size_of(out);
	copy_cut(out, bad, n / 2, -1);
	assert_null(backup_verify(bad, NULL, err, sizeof(err)));
	copy_cut(out, bad, -1, n / 2);
	assert_null(backup_verify(bad, NULL, err, sizeof(err)));
	put("junk.bin", "this is not an archive at all");
	snprintf(bad, sizeof(bad), "%s/junk.bin", dir);
	assert_null(backup_verify(bad, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "not a Zentrale backup"));
}

static void test_encryption_round_trip_and_refusals(void **state)
{
	(void)state;
	char out[128], enc[128], dec[128], cut[128], err[256];
	snprintf(out, sizeof(out), "%s/x.tar.gz", dir);
	snprintf(enc, sizeof(enc), "%s/x.enc", dir);
	snprintf(dec, sizeof(dec), "%s/x.dec", dir);
	snprintf(cut, sizeof(cut), "%s/cut.enc", dir);
	make_archive(out);
	assert_false(backup_is_encrypted(out));
	assert_int_equal(backup_encrypt(out, enc, "a good passphrase", err, sizeof(err)), 0);
	assert_true(backup_is_encrypted(enc));
	assert_int_equal(backup_decrypt(enc, dec, "a wrong passphrase", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "wrong passphrase"));
	assert_int_equal(access(dec, F_OK), -1); /* nothing half decrypted is left */
	assert_int_equal(backup_decrypt(enc, dec, "a good passphrase", err, sizeof(err)), 0);
	assert_int_equal(size_of(dec), size_of(out));
	json_t *man = backup_verify(dec, NULL, err, sizeof(err));
	assert_non_null(man);
	json_decref(man);
	copy_cut(enc, cut, size_of(enc) - 10, -1);
	assert_int_equal(backup_decrypt(cut, dec, "a good passphrase", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "truncated"));
	copy_cut(enc, cut, -1, size_of(enc) - 5);
	assert_int_equal(backup_decrypt(cut, dec, "a good passphrase", err, sizeof(err)), -1);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_verify_extract, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_archives_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encryption_round_trip_and_refusals, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
