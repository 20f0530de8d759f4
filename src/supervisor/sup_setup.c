/*
 * sup_setup — first start and every start: the data dir and its layout,
 * system.db (its schema is src/store), the self-signed certificate, the admin account.
 * After this the supervisor's working directory is the data dir, and every
 * path in Zentrale is relative to it (so dropping root never loses access
 * to a data dir under a private parent directory).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/core_auth.h"
#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../core/core_net.h"
#include "../core/core_tls.h"
#include "../sshkeys/sshkeys.h"
#include "../store/store.h"
#include "supervisor.h"

static int setup_mkdir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		log_error("cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static uid_t chown_uid;
static gid_t chown_gid;

static int setup_chown_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	if (lchown(path, chown_uid, chown_gid) < 0)
		log_warn("cannot chown %s: %s", path, strerror(errno));
	return 0;
}

static int setup_certificate(void)
{
	if (access("certs/server.crt", R_OK) == 0 && access("certs/server.key", R_OK) == 0)
		return 0;
	char host[256] = "localhost";
	gethostname(host, sizeof(host) - 1);
	const char *ips[64];
	int nips = 0;
	json_t *ifs = core_net_interfaces(), *it, *a;
	size_t i, j;
	json_array_foreach(ifs, i, it)
	{
		json_array_foreach(json_object_get(it, "addresses"), j, a)
		{
			if (nips < 64)
				ips[nips++] = json_string_value(a);
		}
	}
	int r = core_tls_make_selfsigned("certs/server.crt", "certs/server.key", host, ips, nips);
	if (r == 0)
		log_info("created a self-signed certificate for %s and %d addresses", host, nips);
	json_decref(ifs);
	return r;
}

/* Host keys for the SSH CLI; their fingerprints are shown once when made. */
static int setup_ssh_host_keys(void)
{
	int made = sshkeys_make_host_keys();
	if (made <= 0)
		return made;
	json_t *fps = sshkeys_host_fingerprints(), *it;
	size_t i;
	json_array_foreach(fps, i, it)
	{
		log_info("SSH host key %s %s", json_string_value(json_object_get(it, "type")),
			 json_string_value(json_object_get(it, "fingerprint")));
	}
	json_decref(fps);
	return 0;
}

static int setup_admin(sqlite3 *db)
{
	sqlite3_stmt *st;
	int have = 0;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM admins", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		have = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (have)
		return 0;

	char generated[32], hash[CORE_AUTH_HASH_LEN];
	const char *pw = getenv("ZENTRALE_ADMIN_PASSWORD");
	if (pw && *pw) {
		const char *why = core_auth_password_problem(pw);
		if (why) {
			log_error("ZENTRALE_ADMIN_PASSWORD: %s", why);
			return -1;
		}
	} else {
		core_auth_random_password(generated, sizeof(generated));
		pw = generated;
	}
	if (core_auth_hash_password(pw, hash) < 0)
		return -1;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO admins(username,password_hash,created) "
			       "VALUES('admin',?,strftime('%s','now'))",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	int r = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	if (r < 0 || pw != generated)
		return r;

	int fd = open("initial-admin-password", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dprintf(fd, "%s\n", generated);
		fsync(fd);
		close(fd);
	}
	/* Printed once, on stdout, apart from the log. */
	printf("\nZentrale: the administrator account is 'admin' with password: %s\n"
	       "(also written to initial-admin-password in the data dir)\n\n",
	       generated);
	fflush(stdout);
	sodium_memzero(generated, sizeof(generated));
	return 0;
}

void sup_setup_chown(uid_t uid, gid_t gid)
{
	chown_uid = uid;
	chown_gid = gid;
	nftw(".", setup_chown_one, 32, FTW_PHYS);
}

int sup_setup_data(struct sup *s)
{
	if (setup_mkdir(s->opt.data_dir, 0750) < 0)
		return -1;
	if (chdir(s->opt.data_dir) < 0) {
		log_error("cannot enter %s: %s", s->opt.data_dir, strerror(errno));
		return -1;
	}
	if (setup_mkdir("certs", 0700) < 0 || setup_mkdir("run", 0750) < 0 ||
	    setup_mkdir("phone-systems", 0750) < 0 || setup_mkdir("backups", 0750) < 0 ||
	    setup_mkdir("log", 0750) < 0 || sup_log_open(s) < 0)
		return -1;
	if (store_system_open("system.db", &s->db) < 0)
		return -1;
	if (setup_certificate() < 0 || setup_admin(s->db) < 0 || setup_ssh_host_keys() < 0)
		return -1;
	if (s->uid) /* everything in the data dir belongs to the unprivileged user */
		sup_setup_chown(s->uid, s->gid);
	return 0;
}
