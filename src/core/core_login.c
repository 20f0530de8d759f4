/* core_login — see core_login.h. */
#include "core_login.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_db.h"
#include "core_log.h"

int core_login_init(struct core_login *l, sqlite3 *db, const char *realm)
{
	l->db = db;
	l->realm = realm;
	l->throttle =
		core_throttle_new(CORE_LOGIN_MAX_FAILURES, CORE_LOGIN_WINDOW, CORE_LOGIN_BLOCK);
	return l->throttle ? 0 : -1;
}

void core_login_free(struct core_login *l)
{
	core_throttle_free(l->throttle);
}

int core_login_ttl(struct core_login *l)
{
	char v[32];
	if (core_db_setting_get(l->db, "session_ttl", v, sizeof(v)) == 0 && atoi(v) > 0)
		return atoi(v);
	return CORE_LOGIN_DEFAULT_TTL;
}

static int login_hash(sqlite3 *db, const char *user, char *out, size_t outlen)
{
	sqlite3_stmt *st;
	int r = -1;
	if (sqlite3_prepare_v2(db, "SELECT password_hash FROM admins WHERE username=?", -1, &st,
			       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

static void login_too_many(struct core_httpd_req *req, int wait)
{
	char hdr[64];
	snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n", wait);
	char *s = NULL;
	if (asprintf(&s,
		     "{\"error\":\"too many failed logins from your address; try again in "
		     "%d seconds\"}\n",
		     wait) < 0)
		s = NULL;
	core_httpd_respond(req, 429, "application/json", hdr, s ? s : "{}", s ? strlen(s) : 2);
	free(s);
}

void core_login_handle(struct core_login *l, struct core_httpd_req *req)
{
	time_t now = time(NULL);
	int wait = core_throttle_blocked(l->throttle, req->client, now);
	if (wait > 0) {
		login_too_many(req, wait);
		return;
	}
	json_t *body = core_httpd_json_body(req);
	if (!body)
		return;
	const char *user = json_string_value(json_object_get(body, "username"));
	const char *pw = json_string_value(json_object_get(body, "password"));
	if (!user || !pw) {
		json_decref(body);
		core_httpd_respond_error(req, 400, "username and password are required");
		return;
	}
	char hash[CORE_AUTH_HASH_LEN] = "";
	bool known = strlen(pw) <= CORE_AUTH_MAX_PASSWORD &&
		     login_hash(l->db, user, hash, sizeof(hash)) == 0;
	bool ok = core_auth_verify_password(known ? hash : NULL, pw) && known;
	if (!ok) {
		if (core_throttle_fail(l->throttle, req->client, now))
			log_warn("%s: %d failed logins from %s within %d s; blocked for %d s",
				 l->realm, CORE_LOGIN_MAX_FAILURES, req->client, CORE_LOGIN_WINDOW,
				 CORE_LOGIN_BLOCK);
		else
			log_info("%s: failed login from %s", l->realm, req->client);
		json_decref(body);
		core_httpd_respond_error(req, 401, "wrong username or password");
		return;
	}
	core_throttle_success(l->throttle, req->client);
	char token[CORE_AUTH_TOKEN_LEN + 1];
	int ttl = core_login_ttl(l);
	if (core_auth_session_create(l->db, user, ttl, token) < 0) {
		json_decref(body);
		core_httpd_respond_error(req, 500, "could not create a session");
		return;
	}
	log_info("%s: %s logged in from %s", l->realm, user, req->client);
	core_httpd_respond_json(
		req, 200,
		json_pack("{s:s, s:i, s:s}", "token", token, "expires_in", ttl, "username", user));
	json_decref(body);
}

void core_login_logout(struct core_login *l, struct core_httpd_req *req)
{
	char user[128];
	if (core_login_require(l, req, user, sizeof(user)) < 0)
		return;
	core_auth_session_revoke(l->db, core_httpd_bearer(req));
	core_httpd_respond_json(req, 200, json_pack("{s:b}", "logged_out", 1));
}

int core_login_require(struct core_login *l, struct core_httpd_req *req, char *user, size_t userlen)
{
	const char *tok = core_httpd_bearer(req);
	if (tok && core_auth_session_check(l->db, tok, user, userlen) == 0)
		return 0;
	static const char body[] =
		"{\"error\":\"log in first: this needs a valid bearer token\"}\n";
	core_httpd_respond(req, 401, "application/json",
			   "WWW-Authenticate: Bearer\r\nCache-Control: no-store\r\n", body,
			   sizeof(body) - 1);
	return -1;
}
