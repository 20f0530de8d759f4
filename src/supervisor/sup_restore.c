/*
 * sup_restore — `zentrale restore --data-dir DIR [--passphrase-file F]
 * ARCHIVE`: a backup of a whole server put onto a fresh installation, with
 * the server stopped. The archive is decrypted and verified whole first
 * (src/backup/backup.h); the files then move into DIR, system.db last, so
 * an interrupted restore leaves a data dir without system.db, which the
 * next attempt clears and a server would not mistake for a set-up one.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../backup/backup.h"
#include "../core/core_fs.h"
#include "../store/store.h"
#include "supervisor.h"

static int restore_fail(const char *why)
{
	fprintf(stderr, "zentrale restore: %s; nothing was restored\n", why);
	return 1;
}

static int read_passphrase(const char *file, char *out, size_t len)
{
	FILE *f = fopen(file, "r");
	if (!f || !fgets(out, (int)len, f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

int sup_restore_main(int argc, char **argv)
{
	static const struct option opts[] = {{"data-dir", required_argument, NULL, 'd'},
					     {"passphrase-file", required_argument, NULL, 'p'},
					     {NULL, 0, NULL, 0}};
	const char *dir = "./var", *pfile = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "d:p:", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'p')
			pfile = optarg;
		else
			return 2;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: zentrale restore [--data-dir DIR] [--passphrase-file FILE] "
				"ARCHIVE\n");
		return 2;
	}
	char archive[4096], err[512], pass[1100];
	const char *tmp = ".restore/files";
	if (!realpath(argv[optind], archive))
		return restore_fail("cannot read the archive");
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return restore_fail("cannot create the data dir");
	if (chdir(dir) < 0)
		return restore_fail("cannot enter the data dir");
	if (access("system.db", F_OK) == 0)
		return restore_fail("the data dir is in use (it has a system.db): restore onto a "
				    "fresh installation, or move it away first");
	/* leftovers of an interrupted restore (no system.db: never a server's data) */
	core_fs_rm_tree(".restore");
	core_fs_rm_tree("phone-systems");
	core_fs_rm_tree("certs");
	if (mkdir(".restore", 0700) < 0)
		return restore_fail("cannot write to the data dir");
	const char *plain = archive;
	if (backup_is_encrypted(archive)) {
		if (!pfile || read_passphrase(pfile, pass, sizeof(pass)) < 0) {
			core_fs_rm_tree(".restore");
			return restore_fail("the backup is encrypted: give --passphrase-file");
		}
		if (backup_decrypt(archive, ".restore/archive.tar.gz", pass, err, sizeof(err)) <
		    0) {
			core_fs_rm_tree(".restore");
			return restore_fail(err);
		}
		plain = ".restore/archive.tar.gz";
	}
	mkdir(tmp, 0750);
	json_t *man = backup_verify(plain, tmp, err, sizeof(err));
	const char *kind = json_string_value(json_object_get(man, "kind"));
	json_t *schemas = json_object_get(man, "schemas");
	const char *why = !man ? err
			  : !kind || strcmp(kind, "server") != 0
				  ? "this is a backup of one phone system: restore it through "
				    "management (POST /api/v1/backups/{id}/restore)"
			  : json_integer_value(json_object_get(schemas, "pbx")) >
						  store_pbx_schema_version() ||
					  json_integer_value(json_object_get(schemas, "system")) >
						  store_system_schema_version()
				  ? "this backup was made by a newer Zentrale: update first"
				  : NULL;
	if (why) {
		int r = restore_fail(why);
		json_decref(man);
		core_fs_rm_tree(".restore");
		return r;
	}
	bool ok = access(".restore/files/phone-systems", F_OK) < 0 ||
		  rename(".restore/files/phone-systems", "phone-systems") == 0;
	ok = ok && (access(".restore/files/certs", F_OK) < 0 ||
		    rename(".restore/files/certs", "certs") == 0);
	ok = ok && rename(".restore/files/system.db", "system.db") == 0;
	core_fs_rm_tree(".restore");
	if (!ok)
		return restore_fail(strerror(errno));
	printf("restored a server backup made by Zentrale %s into %s; start it with "
	       "`zentrale server --data-dir %s`\n",
	       json_string_value(json_object_get(man, "product_version")), dir, dir);
	json_decref(man);
	return 0;
}
