/*
 * mgmt_update — system updates through the API: signed bundles (made with
 * `zentrale bundle`, src/cli/cli_bundle.c) are uploaded, or picked up from
 * a configured update directory, verified against the trusted keys
 * (signature first, then every file), checked to be newer than what runs
 * (unless forced), and staged whole under releases/<version>. The
 * supervisor then switches to it and the launcher tries it, rolling back
 * if it does not become healthy (src/supervisor/sup_update.c, sup_launch.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../backup/backup.h"
#include "../core/core_db.h"
#include "../core/core_fs.h"
#include "../core/core_log.h"
#include "../core/core_version.h"
#include "mgmt.h"

#define UPDATE_KEYS   "update_keys"
#define UPDATE_SOURCE "update_source"
#define UPDATE_HEALTH "update_health_timeout"
#define UPDATE_CA     "update_source_ca"

static json_t *setting_json(struct mgmt *m, const char *key, json_t *dflt)
{
	char v[8192];
	json_t *j = core_db_setting_get(m->db, key, v, sizeof(v)) == 0
			    ? json_loads(v, JSON_DECODE_ANY, NULL)
			    : NULL;
	if (!j)
		return dflt;
	json_decref(dflt);
	return j;
}

static bool version_ok(const char *v)
{
	size_t n = v ? strlen(v) : 0;
	return n > 0 && n <= 64 && strspn(v, "0123456789.-+abcdefghijklmnopqrstuvwxyz") == n &&
	       !strstr(v, "..") && v[0] != '.';
}

/* Verifies the bundle at path and stages it as releases/<version>; the
 * version, or NULL with why (and the HTTP status) in err/status. */
static char *update_stage(struct mgmt *m, const char *path, bool force, char *err, size_t errlen,
			  int *status)
{
	json_t *keys = setting_json(m, UPDATE_KEYS, json_array());
	char stage[64], bin[96], rel[128];
	*status = 400;
	if (json_array_size(keys) == 0) {
		snprintf(err, errlen, "no trusted update key is configured (PUT /update/settings)");
		*status = 409;
		json_decref(keys);
		return NULL;
	}
	mkdir("releases", 0750);
	snprintf(stage, sizeof(stage), "releases/.staging-%08x", randombytes_random());
	mkdir(stage, 0750);
	json_t *man = backup_verify_signed(path, stage, keys, err, errlen);
	json_decref(keys);
	const char *kind = json_string_value(json_object_get(man, "kind"));
	const char *v = json_string_value(json_object_get(man, "version"));
	char *out = NULL;
	if (!man)
		goto done;
	snprintf(bin, sizeof(bin), "%s/zentrale", stage);
	if (!kind || strcmp(kind, "release") != 0 || !version_ok(v) || access(bin, F_OK) < 0) {
		snprintf(err, errlen, "not a release bundle");
		goto done;
	}
	int cmp = strverscmp(v, ZENTRALE_VERSION);
	if (cmp <= 0 && !force) {
		snprintf(err, errlen,
			 "version %s is %s the running %s; add force=1 to install it anyway", v,
			 cmp == 0 ? "the same as" : "older than", ZENTRALE_VERSION);
		*status = 409;
		goto done;
	}
	snprintf(rel, sizeof(rel), "releases/%s", v);
	if (chmod(bin, 0755) < 0 || core_fs_sync(bin) < 0 || core_fs_sync(stage) < 0) {
		snprintf(err, errlen, "cannot stage the release: %s", strerror(errno));
		*status = 500;
		goto done;
	}
	/* the release directory appears whole or not at all */
	char old[128];
	snprintf(old, sizeof(old), "releases/.old-%08x", randombytes_random());
	if (access(rel, F_OK) == 0 && rename(rel, old) < 0) {
		snprintf(err, errlen, "cannot replace %s: %s", rel, strerror(errno));
		*status = 500;
		goto done;
	}
	if (rename(stage, rel) < 0 || core_fs_sync("releases") < 0) {
		snprintf(err, errlen, "cannot stage the release: %s", strerror(errno));
		*status = 500;
		goto done;
	}
	core_fs_rm_tree(old);
	out = strdup(v);
	log_info("release %s verified and staged", v);
done:
	core_fs_rm_tree(stage);
	json_decref(man);
	return out;
}

static void update_apply(struct mgmt *m, struct core_httpd_req *req, const char *path, bool force)
{
	char err[512];
	int status;
	char *v = update_stage(m, path, force, err, sizeof(err), &status);
	if (!v) {
		log_warn("update refused: %s", err);
		core_httpd_respond_error(req, status, err);
		return;
	}
	json_t *t = setting_json(m, UPDATE_HEALTH, json_integer(60));
	mgmt_api_ask(m, req,
		     json_pack("{s:s, s:s, s:I}", "op", core_op_name(CORE_OP_UPDATE), "version", v,
			       "health_timeout", json_integer_value(t)));
	json_decref(t);
	free(v);
}

static bool query_force(struct core_httpd_req *req)
{
	char v[8];
	return core_httpd_query(req, "force", v, sizeof(v)) == 0 &&
	       (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

static void update_upload(struct mgmt *m, struct core_httpd_req *req)
{
	char tmp[64];
	mkdir("releases", 0750);
	snprintf(tmp, sizeof(tmp), "releases/.upload-%08x", randombytes_random());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t n = evbuffer_get_length(req->body);
	bool ok = fd >= 0 && n > 0 && core_fs_write_all(fd, req->body) == 0;
	if (fd >= 0)
		close(fd);
	if (!ok)
		core_httpd_respond_error(req, n ? 500 : 400,
					 n ? "cannot store the upload"
					   : "send the bundle as the body");
	else
		update_apply(m, req, tmp, query_force(req));
	unlink(tmp);
}

struct update_download {
	struct mgmt *m;
	uint64_t req;
	bool local;
	char path[64];
};

/* The bundle the update URL names has arrived (or not). */
static void update_fetched(void *arg, const char *err)
{
	struct update_download *d = arg;
	struct mgmt *m = d->m;
	struct core_httpd_req *req = core_httpd_find(d->local ? m->local : m->http, d->req);
	char why[512];
	json_t *keys = setting_json(m, UPDATE_KEYS, json_array());
	json_t *man = err ? NULL : backup_verify_signed(d->path, NULL, keys, why, sizeof(why));
	const char *v = json_string_value(json_object_get(man, "version"));
	json_decref(keys);
	if (!req) {
		/* the administrator has gone: nothing is done */
	} else if (err) {
		core_httpd_respond_error(req, 502, err);
	} else if (!man) {
		core_httpd_respond_error(req, 400, why);
	} else if (!version_ok(v) || strverscmp(v, ZENTRALE_VERSION) <= 0) {
		core_httpd_respond_json(req, 200,
					json_pack("{s:s, s:b, s:s?}", "version", ZENTRALE_VERSION,
						  "up_to_date", 1, "offered", v));
	} else {
		log_info("update %s downloaded from the update URL", v);
		update_apply(m, req, d->path, false);
	}
	json_decref(man);
	unlink(d->path);
	free(d);
}

static void update_download(struct mgmt *m, struct core_httpd_req *req, const char *url)
{
	struct update_download *d = calloc(1, sizeof(*d));
	json_t *ca = setting_json(m, UPDATE_CA, json_string(""));
	char err[256];
	if (!d) {
		json_decref(ca);
		core_httpd_respond_error(req, 500, "out of memory");
		return;
	}
	d->m = m;
	d->req = req->id;
	d->local = req->local;
	mkdir("releases", 0750);
	snprintf(d->path, sizeof(d->path), "releases/.upload-%08x", randombytes_random());
	if (mgmt_fetch_https(m, url, json_string_value(ca), d->path, MGMT_MAX_UPLOAD,
			     update_fetched, d, err, sizeof(err)) < 0) {
		unlink(d->path);
		free(d);
		core_httpd_respond_error(req, 502, err);
	}
	json_decref(ca);
}

/* The newest bundle in the update directory that is newer than what runs,
 * or the one the update URL names. */
static void update_check(struct mgmt *m, struct core_httpd_req *req)
{
	json_t *src = setting_json(m, UPDATE_SOURCE, json_string(""));
	const char *dir = json_string_value(src);
	if (dir && strncmp(dir, "https://", 8) == 0) {
		update_download(m, req, dir);
		json_decref(src);
		return;
	}
	if (!dir || dir[0] != '/') {
		json_decref(src);
		core_httpd_respond_error(req, 409, "no update source is configured");
		return;
	}
	DIR *d = opendir(dir);
	struct dirent *e;
	char best[4352] = "", bestv[80] = "", path[4352], err[512];
	json_t *keys = setting_json(m, UPDATE_KEYS, json_array());
	while (d && (e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 8 || strcmp(e->d_name + l - 7, ".bundle") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		json_t *man = backup_verify_signed(path, NULL, keys, err, sizeof(err));
		const char *v = json_string_value(json_object_get(man, "version"));
		if (version_ok(v) && strverscmp(v, ZENTRALE_VERSION) > 0 &&
		    (!*bestv || strverscmp(v, bestv) > 0)) {
			snprintf(best, sizeof(best), "%s", path);
			snprintf(bestv, sizeof(bestv), "%s", v);
		}
		json_decref(man);
	}
	if (d)
		closedir(d);
	json_decref(keys);
	json_decref(src);
	if (!*best) {
		core_httpd_respond_json(
			req, 200,
			json_pack("{s:s, s:b}", "version", ZENTRALE_VERSION, "up_to_date", 1));
		return;
	}
	log_info("update %s found in the update directory", bestv);
	update_apply(m, req, best, false);
}

static json_t *update_status(struct mgmt *m)
{
	char cur[256] = "";
	ssize_t n = readlink("current", cur, sizeof(cur) - 1);
	cur[n > 0 ? n : 0] = '\0';
	json_t *rels = json_array();
	DIR *d = opendir("releases");
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			json_array_append_new(rels, json_string(e->d_name));
	if (d)
		closedir(d);
	json_t *last = json_load_file("update-result.json", 0, NULL);
	return json_pack("{s:s, s:s?, s:o, s:b, s:o, s:o, s:o}", "version", ZENTRALE_VERSION,
			 "current", *cur ? cur : NULL, "releases", rels, "pending",
			 access("update-pending.json", F_OK) == 0, "last",
			 last ? last : json_null(), "trusted_keys",
			 setting_json(m, UPDATE_KEYS, json_array()), "source",
			 setting_json(m, UPDATE_SOURCE, json_string("")));
}

static void update_settings(struct mgmt *m, struct core_httpd_req *req)
{
	if (strcmp(req->method, "PUT") == 0) {
		json_t *b = core_httpd_json_body(req);
		if (!b)
			return;
		json_t *keys = json_object_get(b, "trusted_keys"),
		       *src = json_object_get(b, "source");
		json_t *ht = json_object_get(b, "health_timeout");
		const char *why = NULL;
		size_t i;
		json_t *k;
		if (keys && (!json_is_array(keys) || json_array_size(keys) > 16))
			why = "trusted_keys: a list of up to 16 keys";
		json_array_foreach(keys, i, k)
		{
			unsigned char pk[crypto_sign_PUBLICKEYBYTES];
			size_t n = 0;
			const char *s = json_string_value(k);
			if (!s ||
			    sodium_base642bin(pk, sizeof(pk), s, strlen(s), " \n", &n, NULL,
					      sodium_base64_VARIANT_ORIGINAL) != 0 ||
			    n != sizeof(pk))
				why = "trusted_keys: base64 Ed25519 public keys (zentrale "
				      "bundle-key)";
		}
		json_t *ca = json_object_get(b, "source_ca");
		const char *sv = json_string_value(src);
		if (src && (!sv || strlen(sv) > 1024 ||
			    (*sv && sv[0] != '/' && strncmp(sv, "https://", 8) != 0)))
			why = "source: an absolute directory path, an https:// URL, or \"\"";
		if (ca && (!json_is_string(ca) || strlen(json_string_value(ca)) > 1024 ||
			   (*json_string_value(ca) && json_string_value(ca)[0] != '/')))
			why = "source_ca: the absolute path of a PEM file of CA certificates, or "
			      "\"\"";
		if (ht && (!json_is_integer(ht) || json_integer_value(ht) < 5 ||
			   json_integer_value(ht) > 600))
			why = "health_timeout: 5 to 600 seconds";
		const char *names[] = {UPDATE_KEYS, UPDATE_SOURCE, UPDATE_HEALTH, UPDATE_CA};
		json_t *vals[] = {keys, src, ht, ca};
		for (int i = 0; !why && i < 4; i++) {
			if (!vals[i])
				continue;
			char *text = json_dumps(vals[i], JSON_COMPACT | JSON_ENCODE_ANY);
			if (!text || core_db_setting_set(m->db, names[i], text) < 0)
				why = "could not save the settings";
			free(text);
		}
		json_decref(b);
		if (why) {
			core_httpd_respond_error(req, 400, why);
			return;
		}
		log_info("update settings changed");
	} else if (strcmp(req->method, "GET") != 0) {
		core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	core_httpd_respond_json(
		req, 200,
		json_pack("{s:o, s:o, s:o, s:o}", "trusted_keys",
			  setting_json(m, UPDATE_KEYS, json_array()), "source",
			  setting_json(m, UPDATE_SOURCE, json_string("")), "health_timeout",
			  setting_json(m, UPDATE_HEALTH, json_integer(60)), "source_ca",
			  setting_json(m, UPDATE_CA, json_string(""))));
}

void mgmt_update(struct mgmt *m, struct core_httpd_req *req, const char *rest)
{
	bool post = strcmp(req->method, "POST") == 0;
	if (!*rest && post)
		update_upload(m, req);
	else if (!*rest && (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0))
		core_httpd_respond_json(req, 200, update_status(m));
	else if (strcmp(rest, "/check") == 0 && post)
		update_check(m, req);
	else if (strcmp(rest, "/settings") == 0)
		update_settings(m, req);
	else if (!*rest || strcmp(rest, "/check") == 0)
		core_httpd_respond_error(req, 405, "method not allowed");
	else
		core_httpd_respond_error(req, 404, "no such endpoint");
}
