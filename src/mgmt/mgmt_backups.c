/*
 * mgmt_backups — backups through the API (docs/api.md): make one of a
 * phone system or of the whole server while everything runs, list,
 * download, upload and delete them, restore a phone-system backup onto its
 * name or as a clone, and make them daily at a set time, keeping a number.
 *
 * Every backup is made under backups/.tmp-* and renamed into place when
 * whole, so a crash (kill -9) leaves no half archive in the list; the
 * leftovers go at the next start. A restore decrypts and verifies the
 * whole archive and extracts it under phone-systems/.restore-* (in the
 * backups' worker thread) before the supervisor swaps it in
 * (src/backup/backup.h); anything wrong stops it before the phone system is
 * touched.
 *
 * SQLite's online backup of a phone system takes milliseconds and is made
 * on the event loop; writing (and encrypting) the archive, seconds with the
 * media of a large one, is done by a worker thread of its own (m->slow,
 * core_work) and the request answered when it is done. A backup and a
 * restore of the same phone system never run at once (409).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../backup/backup.h"
#include "../core/core_db.h"
#include "../core/core_fs.h"
#include "../core/core_log.h"
#include "../core/core_names.h"
#include "../core/core_version.h"
#include "../store/store.h"
#include "mgmt.h"

#define BACKUPS_DIR	     "backups"
#define BACKUP_MAX_MEMBERS_W 4096
#define BACKUP_MIN_PASS	     8

static bool id_ok(const char *id)
{
	size_t n = strlen(id);
	return n >= 8 && n <= 100 && strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-") == n &&
	       id[0] != '-';
}

/* backups/<id>.tar.gz or .tar.gz.enc; 0 and the path if it exists. */
static int archive_path(const char *id, char *out, size_t outlen, bool *enc)
{
	struct stat st;
	snprintf(out, outlen, BACKUPS_DIR "/%s.tar.gz.enc", id);
	if (stat(out, &st) == 0) {
		*enc = true;
		return 0;
	}
	snprintf(out, outlen, BACKUPS_DIR "/%s.tar.gz", id);
	*enc = false;
	return stat(out, &st) == 0 ? 0 : -1;
}

/* ---- making one ---- */

struct collect {
	struct backup_member *m;
	int n, cap;
	const char *prefix; /* the archive's name for the directory walked */
	size_t skip;	    /* length of the directory's own path */
};
static struct collect *walk_into;

static int add_member(struct collect *c, const char *name, const char *file)
{
	if (c->n == c->cap) {
		int cap = c->cap ? c->cap * 2 : 16;
		if (cap > BACKUP_MAX_MEMBERS_W)
			return -1;
		struct backup_member *m = realloc(c->m, (size_t)cap * sizeof(*m));
		if (!m)
			return -1;
		c->m = m;
		c->cap = cap;
	}
	size_t nl = strlen(name), fl = strlen(file);
	if (nl >= sizeof(c->m[0].name) || fl >= sizeof(c->m[0].file))
		return -1; /* no such names are ours */
	memcpy(c->m[c->n].name, name, nl + 1);
	memcpy(c->m[c->n].file, file, fl + 1);
	c->n++;
	return 0;
}

static int walk_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag != FTW_F)
		return 0;
	char name[512];
	snprintf(name, sizeof(name), "%s%s", walk_into->prefix, path + walk_into->skip);
	return add_member(walk_into, name, path);
}

/* Every file under dir, named prefix + its path below dir. */
static int add_tree(struct collect *c, const char *dir, const char *prefix)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return 0;
	c->prefix = prefix;
	c->skip = strlen(dir);
	walk_into = c;
	return nftw(dir, walk_one, 16, FTW_PHYS);
}

/* One phone system's part: a snapshot of pbx.db and, if asked, its media. */
static int add_phone_system(struct collect *c, const char *tmp, const char *name, bool media,
			    char *err, size_t errlen)
{
	char src[256], snap[512], member[256];
	snprintf(src, sizeof(src), "phone-systems/%s/pbx.db", name);
	snprintf(snap, sizeof(snap), "%s/%s.pbx.db", tmp, name);
	if (backup_snapshot_db(src, snap, err, errlen) < 0)
		return -1;
	snprintf(member, sizeof(member), "phone-systems/%s/pbx.db", name);
	if (add_member(c, member, snap) < 0)
		return -1;
	if (media) {
		const char *kinds[] = {"voicemail", "recordings"};
		for (int i = 0; i < 2; i++) {
			char dir[256], prefix[256];
			snprintf(dir, sizeof(dir), "phone-systems/%s/%s", name, kinds[i]);
			snprintf(prefix, sizeof(prefix), "phone-systems/%s/%s", name, kinds[i]);
			if (add_tree(c, dir, prefix) < 0) {
				snprintf(err, errlen, "cannot read %s", dir);
				return -1;
			}
		}
	}
	return 0;
}

static json_t *sidecar_read(const char *id)
{
	char path[256];
	snprintf(path, sizeof(path), BACKUPS_DIR "/%s.json", id);
	return json_load_file(path, 0, NULL);
}

static void sidecar_write(const char *id, json_t *info)
{
	char path[256], tmp[270];
	snprintf(path, sizeof(path), BACKUPS_DIR "/%s.json", id);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_dump_file(info, tmp, JSON_COMPACT) == 0)
		rename(tmp, path);
}

/* The listing's view of a backup. */
static json_t *backup_view(const char *id)
{
	char path[256];
	bool enc;
	struct stat st;
	if (archive_path(id, path, sizeof(path), &enc) < 0 || stat(path, &st) < 0)
		return NULL;
	json_t *v = sidecar_read(id);
	if (!v) { /* an archive put there by hand, or before its description */
		char err[256];
		json_t *man = enc ? NULL : backup_verify(path, NULL, err, sizeof(err));
		v = json_pack("{s:s, s:s?, s:O?, s:O?, s:O?, s:O?}", "id", id, "kind",
			      man ? json_string_value(json_object_get(man, "kind")) : NULL,
			      "phone_system", json_object_get(man, "phone_system"), "created",
			      json_object_get(man, "created"), "media",
			      json_object_get(man, "media"), "product_version",
			      json_object_get(man, "product_version"));
		if (!man)
			json_object_set_new(v, "kind", json_string(enc ? "encrypted" : "invalid"));
		json_decref(man);
	}
	json_object_set_new(v, "id", json_string(id));
	json_object_set_new(v, "size", json_integer(st.st_size));
	json_object_set_new(v, "encrypted", json_boolean(enc));
	if (!json_object_get(v, "created"))
		json_object_set_new(v, "created", json_integer(st.st_mtime));
	return v;
}

/* ---- phone systems busy with a backup or a restore ---- */

/* A backup reads a phone system's files while a restore swaps them: never
 * both at once. m->busy: name (or "*" for a whole-server backup) → {"what",
 * "id": the restore's request id, "since"}. A restore's entry goes when the
 * supervisor replies, or after BUSY_RESTORE_MAX seconds if it never does. */
#define BUSY_RESTORE_MAX 600

static const char *busy_what(struct mgmt *m, const char *name)
{
	json_t *e = json_object_get(m->busy, name);
	const char *what = json_string_value(json_object_get(e, "what"));
	if (what && strcmp(what, "restore") == 0 &&
	    time(NULL) - json_integer_value(json_object_get(e, "since")) > BUSY_RESTORE_MAX) {
		json_object_del(m->busy, name);
		return NULL;
	}
	return what;
}

/* What conflicts with a backup of ps (NULL: the whole server), or NULL. */
static const char *busy_for_backup(struct mgmt *m, const char *ps)
{
	if (ps)
		return busy_what(m, ps) ? busy_what(m, ps) : busy_what(m, "*");
	const char *key;
	json_t *v, *tmp;
	json_object_foreach_safe(m->busy, tmp, key, v)
	{
		const char *what = busy_what(m, key);
		if (what)
			return what;
	}
	return NULL;
}

static void busy_set(struct mgmt *m, const char *name, const char *what, uint64_t id)
{
	json_object_set_new(m->busy, name,
			    json_pack("{s:s, s:I, s:I}", "what", what, "id", (json_int_t)id,
				      "since", (json_int_t)time(NULL)));
}

void mgmt_backups_replied(struct mgmt *m, uint64_t id)
{
	const char *key;
	json_t *v, *tmp;
	json_object_foreach_safe(m->busy, tmp, key, v)
	{
		if ((uint32_t)json_integer_value(json_object_get(v, "id")) == (uint32_t)id &&
		    strcmp(json_string_value(json_object_get(v, "what")), "restore") == 0)
			json_object_del(m->busy, key);
	}
}

/* ---- making one: collected here, written by the backup worker ---- */

struct backup_job {
	struct mgmt *m;
	struct core_httpd *srv; /* with id: the request to answer; NULL when scheduled */
	uint64_t id;
	int keep; /* scheduled: keep this many */
	char *ps; /* NULL: the whole server */
	char *pass;
	bool media;
	time_t now;
	char name[128], tmp[192], final[256];
	struct collect c;
	json_t *man;
	int r; /* worker: 0 when the archive is in place */
	char err[512];
};

static void backup_job_free(struct backup_job *j)
{
	free(j->ps);
	if (j->pass)
		sodium_memzero(j->pass, strlen(j->pass));
	free(j->pass);
	free(j->c.m);
	json_decref(j->man);
	free(j);
}

/* In the worker: the archive (slow with media), encrypted if asked, then
 * renamed into place. Touches only the job's own files. */
static void backup_job_run(void *arg)
{
	struct backup_job *j = arg;
	char tar[256], enc[256];
	snprintf(tar, sizeof(tar), "%s/archive.tar.gz", j->tmp);
	snprintf(enc, sizeof(enc), "%s/archive.enc", j->tmp);
	int r = backup_write(tar, j->man, j->c.m, j->c.n, j->err, sizeof(j->err));
	if (r == 0 && j->pass)
		r = backup_encrypt(tar, enc, j->pass, j->err, sizeof(j->err));
	if (r == 0) {
		int fd = open(j->pass ? enc : tar, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
		snprintf(j->final, sizeof(j->final), BACKUPS_DIR "/%s.tar.gz%s", j->name,
			 j->pass ? ".enc" : "");
		r = rename(j->pass ? enc : tar, j->final);
		if (r < 0)
			snprintf(j->err, sizeof(j->err), "cannot store the backup: %s",
				 strerror(errno));
	}
	core_fs_rm_tree(j->tmp);
	j->r = r;
}

/* In the loop thread: the description, and the answer. */
static void backup_job_done(void *arg, bool cancelled)
{
	struct backup_job *j = arg;
	struct mgmt *m = j->m;
	json_object_del(m->busy, j->ps ? j->ps : "*");
	if (cancelled) {
		core_fs_rm_tree(j->tmp);
		backup_job_free(j);
		return;
	}
	json_t *info = NULL;
	if (j->r == 0) {
		info = json_pack("{s:s, s:s, s:s?, s:I, s:b, s:s, s:b}", "id", j->name, "kind",
				 j->ps ? "phone-system" : "server", "phone_system", j->ps,
				 "created", (json_int_t)j->now, "media", j->media,
				 "product_version", ZENTRALE_VERSION, "scheduled", !j->srv);
		sidecar_write(j->name, info);
		json_decref(info);
		info = backup_view(j->name);
		log_info("backup %s made (%d files%s)", j->name, j->c.n,
			 j->pass ? ", encrypted" : "");
	} else {
		log_error("%sbackup failed: %s", j->srv ? "" : "scheduled ", j->err);
	}
	if (info && !j->srv)
		mgmt_backups_retain(j->keep);
	struct core_httpd_req *req = j->srv ? core_httpd_find(j->srv, j->id) : NULL;
	if (req && info)
		core_httpd_respond_json(req, 201, json_incref(info));
	else if (req)
		core_httpd_respond_error(req, 500, j->err);
	json_decref(info);
	backup_job_free(j);
}

/* In the loop thread: the snapshots of the databases (milliseconds) and
 * the list of files; 0, or -1 with why in j->err. */
static int backup_job_collect(struct backup_job *j)
{
	struct mgmt *m = j->m;
	int r;
	if (j->ps) {
		r = add_phone_system(&j->c, j->tmp, j->ps, j->media, j->err, sizeof(j->err));
	} else {
		char snap[256];
		snprintf(snap, sizeof(snap), "%s/system.db", j->tmp);
		r = backup_snapshot_db("system.db", snap, j->err, sizeof(j->err));
		if (r == 0)
			r = add_member(&j->c, "system.db", snap);
		if (r == 0)
			r = add_tree(&j->c, "certs", "certs");
		size_t i;
		json_t *it;
		json_array_foreach(json_object_get(m->state, "phone_systems"), i, it) if (r == 0)
			r = add_phone_system(&j->c, j->tmp,
					     json_string_value(json_object_get(it, "name")),
					     j->media, j->err, sizeof(j->err));
	}
	if (r < 0) {
		if (!j->err[0])
			snprintf(j->err, sizeof(j->err), "cannot collect the files to back up");
		return -1;
	}
	j->man = json_pack("{s:i, s:s, s:s, s:s, s:I, s:{s:i}, s:b}", "format", BACKUP_FORMAT,
			   "product", "zentrale", "product_version", ZENTRALE_VERSION, "kind",
			   j->ps ? "phone-system" : "server", "created", (json_int_t)j->now,
			   "schemas", "pbx", store_pbx_schema_version(), "media", j->media);
	if (j->ps)
		json_object_set_new(j->man, "phone_system", json_string(j->ps));
	else
		json_object_set_new(json_object_get(j->man, "schemas"), "system",
				    json_integer(store_system_schema_version()));
	return 0;
}

/* Answers req (if any) at once with status and why; frees j. */
static void backup_refuse(struct backup_job *j, struct core_httpd_req *req, int status,
			  const char *why)
{
	if (req)
		core_httpd_respond_error(req, status, why);
	else
		log_error("scheduled backup not made: %s", why);
	if (j->tmp[0])
		core_fs_rm_tree(j->tmp);
	backup_job_free(j);
}

void mgmt_backup_start(struct mgmt *m, struct core_httpd_req *req, const char *ps, const char *pass,
		       bool media, int keep)
{
	struct backup_job *j = calloc(1, sizeof(*j));
	if (!j || (ps && !(j->ps = strdup(ps))) || (pass && !(j->pass = strdup(pass)))) {
		if (j)
			backup_job_free(j);
		if (req)
			core_httpd_respond_error(req, 500, "out of memory");
		return;
	}
	j->m = m;
	j->srv = req ? core_httpd_of(req) : NULL;
	j->id = req ? req->id : 0;
	j->keep = keep;
	j->media = media;
	j->now = time(NULL);
	const char *busy = busy_for_backup(m, ps);
	if (busy) {
		backup_refuse(
			j, req, 409,
			strcmp(busy, "restore") == 0
				? "a restore of this phone system is running; try again later"
				: "a backup of this phone system is running; try again later");
		return;
	}
	struct tm tm;
	gmtime_r(&j->now, &tm);
	snprintf(j->name, sizeof(j->name), "%04d%02d%02d-%02d%02d%02d-%s-%08x", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ps ? ps : "server",
		 randombytes_random());
	char tmp[sizeof(j->tmp)];
	snprintf(tmp, sizeof(tmp), BACKUPS_DIR "/.tmp-%s", j->name);
	if ((mkdir(BACKUPS_DIR, 0750) < 0 && errno != EEXIST) || mkdir(tmp, 0700) < 0) {
		snprintf(j->err, sizeof(j->err), "cannot create %s: %s", tmp, strerror(errno));
		backup_refuse(j, req, 500, j->err);
		return;
	}
	memcpy(j->tmp, tmp, sizeof(tmp));
	if (backup_job_collect(j) < 0) {
		backup_refuse(j, req, 500, j->err);
		return;
	}
	if (core_work_submit(m->slow, backup_job_run, backup_job_done, j) < 0) {
		backup_refuse(j, req, 503, "too many backups at once; try again later");
		return;
	}
	busy_set(m, ps ? ps : "*", "backup", 0);
}

/* ---- removing ---- */

static void backup_delete(const char *id)
{
	char path[256];
	const char *exts[] = {".tar.gz", ".tar.gz.enc", ".json"};
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), BACKUPS_DIR "/%s%s", id, exts[i]);
		unlink(path);
	}
}

/* ---- listing ---- */

json_t *mgmt_backup_list(void)
{
	json_t *items[1024];
	size_t n = 0;
	DIR *d = opendir(BACKUPS_DIR);
	struct dirent *e;
	while (d && (e = readdir(d)) && n < 1024) {
		size_t l = strlen(e->d_name);
		char id[128];
		if (l > 7 && l < 120 && strcmp(e->d_name + l - 7, ".tar.gz") == 0)
			snprintf(id, sizeof(id), "%.*s", (int)(l - 7), e->d_name);
		else if (l > 11 && l < 124 && strcmp(e->d_name + l - 11, ".tar.gz.enc") == 0)
			snprintf(id, sizeof(id), "%.*s", (int)(l - 11), e->d_name);
		else
			continue;
		json_t *v = id_ok(id) ? backup_view(id) : NULL;
		if (v)
			items[n++] = v;
	}
	if (d)
		closedir(d);
	return mgmt_newest_first(items, n, "created");
}

/* ---- restoring ---- */

/* A restore: the archive is decrypted, verified and extracted aside by the
 * backup worker; the checks of what it holds and the hand-over to the
 * supervisor are done in the loop thread afterwards. */
struct restore_job {
	struct mgmt *m;
	struct core_httpd *srv;
	uint64_t id;
	char backup[128];
	char *pass, *target;
	bool enc;
	char path[256], work[160], plain[200], stage[200];
	json_t *man; /* worker: the verified manifest, or NULL with err */
	char err[512];
};

static void restore_job_free(struct restore_job *j)
{
	if (j->work[0])
		core_fs_rm_tree(j->work);
	if (j->stage[0])
		core_fs_rm_tree(j->stage);
	if (j->pass)
		sodium_memzero(j->pass, strlen(j->pass));
	free(j->pass);
	free(j->target);
	json_decref(j->man);
	free(j);
}

static void restore_job_run(void *arg)
{
	struct restore_job *j = arg;
	if (j->enc && backup_decrypt(j->path, j->plain, j->pass, j->err, sizeof(j->err)) < 0)
		return;
	/* the whole archive is checked (and extracted aside) before anything changes */
	j->man = backup_verify(j->enc ? j->plain : j->path, j->stage, j->err, sizeof(j->err));
}

/* What the verified archive holds decides what is restored: 0 when the
 * supervisor has been asked, else the status to answer with err. */
static int restore_hand_over(struct restore_job *j, struct core_httpd_req *req)
{
	struct mgmt *m = j->m;
	char *err = j->err;
	size_t errlen = sizeof(j->err);
	json_t *man = j->man;
	if (!man)
		return 400;
	const char *kind = json_string_value(json_object_get(man, "kind"));
	const char *orig = json_string_value(json_object_get(man, "phone_system"));
	int schema =
		(int)json_integer_value(json_object_get(json_object_get(man, "schemas"), "pbx"));
	if (schema > store_pbx_schema_version()) {
		snprintf(err, errlen,
			 "this backup was made by a newer Zentrale (%s, phone-system schema %d; "
			 "this "
			 "is %s with schema %d): update first",
			 json_string_value(json_object_get(man, "product_version")), schema,
			 ZENTRALE_VERSION, store_pbx_schema_version());
		return 409;
	}
	if (kind && strcmp(kind, "server") == 0) {
		if (!j->target) {
			snprintf(err, errlen,
				 "a whole-server backup is restored onto a fresh installation with "
				 "`zentrale restore`; here, name one of its phone systems "
				 "(phone_system) to restore that one");
			return 409;
		}
		orig = j->target;
	}
	if (!orig || core_name_problem(orig)) {
		snprintf(err, errlen, "the backup names no valid phone system");
		return 400;
	}
	const char *name = j->target ? j->target : orig;
	if (busy_what(m, "*") || busy_what(m, orig) || busy_what(m, name)) {
		snprintf(err, errlen, "a backup or restore of %s is running; try again later",
			 name);
		return 409;
	}
	char from[300];
	snprintf(from, sizeof(from), "%s/phone-systems/%s", j->stage, orig);
	struct stat st;
	char db[340];
	snprintf(db, sizeof(db), "%s/pbx.db", from);
	if (stat(db, &st) < 0) {
		snprintf(err, errlen, "the backup holds no phone system %s", orig);
		return 404;
	}
	/* the data goes where the supervisor takes it from: directly under phone-systems/ */
	char moved[220];
	snprintf(moved, sizeof(moved), "%s-data", j->stage);
	if (rename(from, moved) < 0) {
		snprintf(err, errlen, "cannot prepare the restore: %s", strerror(errno));
		return 500;
	}
	log_info("restoring %s from backup %s", name, j->backup);
	busy_set(m, name, "restore", req->id); /* until the supervisor replies */
	mgmt_api_ask(m, req,
		     json_pack("{s:s, s:s, s:s}", "op", core_op_name(CORE_OP_RESTORE), "name", name,
			       "from", moved));
	return 0;
}

static void restore_job_done(void *arg, bool cancelled)
{
	struct restore_job *j = arg;
	struct core_httpd_req *req = cancelled ? NULL : core_httpd_find(j->srv, j->id);
	if (req) {
		int status = restore_hand_over(j, req);
		if (status)
			core_httpd_respond_error(req, status, j->err);
	} else if (!cancelled) {
		log_info("a restore of backup %s was given up: its client went away", j->backup);
	}
	restore_job_free(j);
}

static void backups_restore(struct mgmt *m, struct core_httpd_req *req, const char *id)
{
	json_t *b = core_httpd_json_body(req);
	if (!b)
		return;
	const char *pass = json_string_value(json_object_get(b, "passphrase"));
	const char *target = json_string_value(json_object_get(b, "phone_system"));
	struct restore_job *j = calloc(1, sizeof(*j));
	const char *why = NULL;
	int status = 400;
	if (!j || (pass && !(j->pass = strdup(pass))) ||
	    (target && !(j->target = strdup(target)))) {
		why = "out of memory", status = 500;
		goto out;
	}
	j->m = m;
	j->srv = core_httpd_of(req);
	j->id = req->id;
	snprintf(j->backup, sizeof(j->backup), "%s", id);
	archive_path(id, j->path, sizeof(j->path), &j->enc);
	if (target && core_name_problem(target)) {
		snprintf(j->err, sizeof(j->err), "phone_system: %s", core_name_problem(target));
		goto out;
	}
	if (j->enc && !pass) {
		why = "this backup is encrypted: give its passphrase";
		goto out;
	}
	/* Refused at once if what it restores is being backed up (the archive
	 * says for sure only once verified: restore_hand_over asks again). */
	json_t *info = sidecar_read(id);
	const char *ps = target ? target : json_string_value(json_object_get(info, "phone_system"));
	bool busy = busy_what(m, "*") || (ps && busy_what(m, ps));
	json_decref(info);
	if (busy) {
		why = "a backup or restore of this phone system is running; try again later";
		status = 409;
		goto out;
	}
	char work[sizeof(j->work)], stage[sizeof(j->stage)];
	snprintf(work, sizeof(work), BACKUPS_DIR "/.tmp-restore-%08x", randombytes_random());
	snprintf(stage, sizeof(stage), "phone-systems/.restore-%08x", randombytes_random());
	if (mkdir(work, 0700) == 0)
		memcpy(j->work, work, sizeof(work));
	if (mkdir(stage, 0750) == 0)
		memcpy(j->stage, stage, sizeof(stage));
	if (!j->work[0] || !j->stage[0]) {
		snprintf(j->err, sizeof(j->err), "cannot prepare the restore: %s", strerror(errno));
		status = 500;
		goto out;
	}
	snprintf(j->plain, sizeof(j->plain), "%s/archive.tar.gz", j->work);
	if (core_work_submit(m->slow, restore_job_run, restore_job_done, j) < 0) {
		why = "too many backups and restores at once; try again later", status = 503;
		goto out;
	}
	j = NULL;
	status = 0;
out:
	if (status)
		core_httpd_respond_error(req, status, why ? why : j->err);
	if (j)
		restore_job_free(j);
	json_decref(b);
}

/* ---- upload, download ---- */

static void backups_upload(struct core_httpd_req *req)
{
	char id[128], tmp[192], final[256], err[512];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	snprintf(id, sizeof(id), "%04d%02d%02d-%02d%02d%02d-upload-%08x", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, randombytes_random());
	snprintf(tmp, sizeof(tmp), BACKUPS_DIR "/.tmp-%s", id);
	mkdir(BACKUPS_DIR, 0750);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	size_t n = evbuffer_get_length(req->body);
	bool ok = fd >= 0 && core_fs_write_all(fd, req->body) == 0 && fsync(fd) == 0;
	if (fd >= 0)
		close(fd);
	if (!ok || n == 0) {
		unlink(tmp);
		core_httpd_respond_error(req, n ? 500 : 400,
					 n ? "cannot store the upload" : "the body is empty");
		return;
	}
	bool enc = backup_is_encrypted(tmp);
	json_t *man = enc ? NULL : backup_verify(tmp, NULL, err, sizeof(err));
	if (!enc && !man) {
		unlink(tmp);
		core_httpd_respond_error(req, 400, err);
		return;
	}
	snprintf(final, sizeof(final), BACKUPS_DIR "/%s.tar.gz%s", id, enc ? ".enc" : "");
	rename(tmp, final);
	if (man) {
		json_t *info = json_pack("{s:s, s:O, s:O?, s:O, s:O, s:O, s:b}", "id", id, "kind",
					 json_object_get(man, "kind"), "phone_system",
					 json_object_get(man, "phone_system"), "created",
					 json_object_get(man, "created"), "media",
					 json_object_get(man, "media"), "product_version",
					 json_object_get(man, "product_version"), "uploaded", 1);
		sidecar_write(id, info);
		json_decref(info);
	}
	json_decref(man);
	log_info("backup %s uploaded (%zu bytes%s)", id, n, enc ? ", encrypted" : "");
	core_httpd_respond_json(req, 201, backup_view(id));
}

static void backups_download(struct core_httpd_req *req, const char *id)
{
	char path[256], name[160];
	bool enc;
	if (archive_path(id, path, sizeof(path), &enc) < 0) {
		core_httpd_respond_error(req, 404, "no such backup");
		return;
	}
	snprintf(name, sizeof(name), "zentrale-%s.tar.gz%s", id, enc ? ".enc" : "");
	mgmt_respond_file(req, path, MGMT_MAX_UPLOAD,
			  enc ? "application/octet-stream" : "application/gzip", name,
			  "no such backup");
}

/* ---- the API ---- */

static void backups_create(struct mgmt *m, struct core_httpd_req *req)
{
	json_t *b = core_httpd_json_body(req);
	if (!b)
		return;
	const char *ps = json_string_value(json_object_get(b, "phone_system"));
	const char *pass = json_string_value(json_object_get(b, "passphrase"));
	bool media = json_is_true(json_object_get(b, "media"));
	const char *why = NULL;
	int status = 400;
	bool known = ps && core_state_find_ps(&m->st, ps, strlen(ps));
	if (json_object_get(b, "phone_system") && !ps)
		why = "phone_system: a name";
	else if (ps && !known)
		why = "no such phone system", status = 404;
	else if (json_object_get(b, "passphrase") &&
		 (!pass || strlen(pass) < BACKUP_MIN_PASS || strlen(pass) > 1024))
		why = "passphrase: 8 to 1024 characters";
	if (why) {
		json_decref(b);
		core_httpd_respond_error(req, status, why);
		return;
	}
	mgmt_backup_start(m, req, ps, pass, media, 0);
	json_decref(b);
}

void mgmt_backups(struct mgmt *m, struct core_httpd_req *req, const char *rest)
{
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	bool post = strcmp(req->method, "POST") == 0;
	if (!*rest) {
		if (get)
			core_httpd_respond_json(req, 200,
						json_pack("{s:o}", "backups", mgmt_backup_list()));
		else if (post)
			backups_create(m, req);
		else
			core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	if (strcmp(rest, "/upload") == 0) {
		if (post)
			backups_upload(req);
		else
			core_httpd_respond_error(req, 405, "use POST with the archive as the body");
		return;
	}
	if (strcmp(rest, "/schedule") == 0) {
		mgmt_backup_schedule_api(m, req);
		return;
	}
	char id[128];
	const char *action = mgmt_path_id(rest, id, sizeof(id));
	json_t *v = id_ok(id) ? backup_view(id) : NULL;
	if (!v) {
		core_httpd_respond_error(req, 404, "no such backup");
	} else if (!*action && get) {
		core_httpd_respond_json(req, 200, json_incref(v));
	} else if (!*action && strcmp(req->method, "DELETE") == 0) {
		backup_delete(id);
		log_info("backup %s deleted", id);
		core_httpd_respond_json(req, 200, json_pack("{s:s}", "deleted", id));
	} else if (strcmp(action, "archive") == 0 && get) {
		backups_download(req, id);
	} else if (strcmp(action, "restore") == 0 && post) {
		backups_restore(m, req, id);
	} else {
		core_httpd_respond_error(req, 405, "method not allowed");
	}
	json_decref(v);
}

/* Leftovers of a backup, restore or update that a crash interrupted. */
void mgmt_backups_cleanup(void)
{
	const char *dirs[] = {BACKUPS_DIR, "phone-systems", "releases"};
	const char *prefixes[] = {".tmp-", ".restore-", ".staging-", ".upload-", ".old-"};
	for (int k = 0; k < 3; k++) {
		DIR *d = opendir(dirs[k]);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			bool left = false;
			for (int i = 0; i < 5; i++)
				left = left ||
				       strncmp(e->d_name, prefixes[i], strlen(prefixes[i])) == 0;
			/* phone-systems/.old-*: the supervisor's own, while it restores */
			if (!left || (k == 1 && strncmp(e->d_name, ".old-", 5) == 0))
				continue;
			char path[512];
			snprintf(path, sizeof(path), "%s/%s", dirs[k], e->d_name);
			core_fs_rm_tree(path);
			log_info("removed %s, left by an interrupted backup, restore or update",
				 path);
		}
		if (d)
			closedir(d);
	}
}

/* Deletes the oldest scheduled backups beyond `keep`. */
void mgmt_backups_retain(int keep)
{
	json_t *list = mgmt_backup_list(), *it;
	size_t i;
	int seen = 0;
	json_array_foreach(list, i, it)
	{
		json_t *info = sidecar_read(json_string_value(json_object_get(it, "id")));
		if (json_is_true(json_object_get(info, "scheduled")) && ++seen > keep) {
			backup_delete(json_string_value(json_object_get(it, "id")));
			log_info("scheduled backup %s deleted (keeping %d)",
				 json_string_value(json_object_get(it, "id")), keep);
		}
		json_decref(info);
	}
	json_decref(list);
}

/* Uploads of backups and update bundles may be large: an authenticated one gets a larger body
 * and more time, decided when its head has arrived (everybody else keeps
 * the small default, so no stranger makes us buffer much). */
static void upload_allow(struct mgmt *m, const struct http_msg *head, size_t *max_body,
			 int *timeout, bool trusted)
{
	const char *method = http_msg_method(head), *url = head->url;
	if (!method || !url || strcmp(method, "POST") != 0 ||
	    (strncmp(url, "/api/v1/backups/upload", 22) != 0 &&
	     strcmp(url, "/api/v1/update") != 0 && strncmp(url, "/api/v1/update?", 15) != 0))
		return;
	if (trusted || core_login_head_valid(m->db, head)) {
		*max_body = MGMT_MAX_UPLOAD;
		*timeout = 600;
	}
}

void mgmt_upload_allow(const struct http_msg *head, size_t *max_body, int *timeout, void *arg)
{
	upload_allow(arg, head, max_body, timeout, false);
}

void mgmt_upload_allow_local(const struct http_msg *head, size_t *max_body, int *timeout, void *arg)
{
	upload_allow(arg, head, max_body, timeout, true);
}
