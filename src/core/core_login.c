/* core_login — see core_login.h. */
#include "core_login.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_db.h"
#include "core_log.h"

int core_login_init(struct core_login *l, sqlite3 *db, const char *realm, const char *cookie_path)
{
	l->db = db;
	l->realm = realm;
	l->cookie_path = cookie_path;
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

/* The body of a request that checks a password, unless its address is
 * blocked or the body is no JSON object (then answered here: NULL). */
static json_t *login_body(struct core_login *l, struct core_httpd_req *req, time_t now)
{
	int wait = core_throttle_blocked(l->throttle, req->client, now);
	if (wait > 0) {
		login_too_many(req, wait);
		return NULL;
	}
	return core_httpd_json_body(req);
}

void core_login_handle(struct core_login *l, struct core_httpd_req *req)
{
	time_t now = time(NULL);
	json_t *body = login_body(l, req, now);
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
	if (json_is_true(json_object_get(body, "cookie"))) {
		/* For a web UI: the token goes into a cookie its script cannot read. */
		char csrf[CORE_LOGIN_CSRF_LEN + 1], hdr[256];
		core_login_csrf(token, csrf);
		snprintf(hdr, sizeof(hdr),
			 "Set-Cookie: " CORE_LOGIN_COOKIE "=%s; Path=%s; Max-Age=%d; HttpOnly; "
			 "Secure; SameSite=Strict\r\n",
			 token, l->cookie_path, ttl);
		core_httpd_respond_json_with(req, 200,
					     json_pack("{s:s, s:i, s:s}", "csrf_token", csrf,
						       "expires_in", ttl, "username", user),
					     hdr);
	} else {
		core_httpd_respond_json(req, 200,
					json_pack("{s:s, s:i, s:s}", "token", token, "expires_in",
						  ttl, "username", user));
	}
	json_decref(body);
}

/* The session token of a request: its bearer token, else its cookie. */
static const char *login_token(const struct core_httpd_req *req, char *buf, size_t buflen,
			       bool *cookie)
{
	const char *tok = core_httpd_bearer(req);
	*cookie = false;
	if (tok)
		return tok;
	if (core_httpd_cookie(req, CORE_LOGIN_COOKIE, buf, buflen) == 0 && *buf) {
		*cookie = true;
		return buf;
	}
	return NULL;
}

void core_login_csrf(const char *token, char out[CORE_LOGIN_CSRF_LEN + 1])
{
	/* A keyed hash with the session token as key: only who holds the token
	 * (our page, told by us) knows it. */
	static const char what[] = "zentrale csrf";
	unsigned char mac[32];
	size_t klen = strlen(token);
	crypto_generichash(
		mac, sizeof(mac), (const unsigned char *)what, sizeof(what) - 1,
		(const unsigned char *)token,
		klen < crypto_generichash_KEYBYTES_MAX ? klen : crypto_generichash_KEYBYTES_MAX);
	sodium_bin2base64(out, CORE_LOGIN_CSRF_LEN + 1, mac, sizeof(mac),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void core_login_logout(struct core_login *l, struct core_httpd_req *req)
{
	char user[128], buf[128];
	bool cookie;
	if (core_login_require(l, req, user, sizeof(user)) < 0)
		return;
	core_auth_session_revoke(l->db, login_token(req, buf, sizeof(buf), &cookie));
	char hdr[256];
	snprintf(hdr, sizeof(hdr),
		 "Set-Cookie: " CORE_LOGIN_COOKIE "=; Path=%s; Max-Age=0; HttpOnly; Secure; "
		 "SameSite=Strict\r\n",
		 l->cookie_path);
	core_httpd_respond_json_with(req, 200, json_pack("{s:b}", "logged_out", 1),
				     cookie ? hdr : NULL);
}

static bool login_safe_method(const struct core_httpd_req *req)
{
	return strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
}

int core_login_require(struct core_login *l, struct core_httpd_req *req, char *user, size_t userlen)
{
	char buf[128];
	bool cookie;
	const char *tok = login_token(req, buf, sizeof(buf), &cookie);
	if (tok && core_auth_session_check(l->db, tok, user, userlen) == 0) {
		if (!cookie || login_safe_method(req))
			return 0;
		char want[CORE_LOGIN_CSRF_LEN + 1];
		core_login_csrf(tok, want);
		const char *got = core_httpd_header(req, "X-CSRF-Token");
		if (got && strlen(got) == CORE_LOGIN_CSRF_LEN &&
		    sodium_memcmp(got, want, CORE_LOGIN_CSRF_LEN) == 0)
			return 0;
		log_warn("%s: request without a valid X-CSRF-Token from %s refused", l->realm,
			 req->client);
		core_httpd_respond_error(req, 403,
					 "this request needs the session's X-CSRF-Token header");
		return -1;
	}
	static const char body[] = "{\"error\":\"log in first: this needs a valid session\"}\n";
	core_httpd_respond(req, 401, "application/json",
			   "WWW-Authenticate: Bearer\r\nCache-Control: no-store\r\n", body,
			   sizeof(body) - 1);
	return -1;
}

void core_login_session(struct core_login *l, struct core_httpd_req *req)
{
	/* Asked by a page on load: "no session" is an answer here, not an error. */
	char user[128], buf[128];
	bool cookie;
	const char *tok = login_token(req, buf, sizeof(buf), &cookie);
	if (!tok || core_auth_session_check(l->db, tok, user, sizeof(user)) < 0) {
		core_httpd_respond_json(req, 200, json_pack("{s:b}", "logged_in", 0));
		return;
	}
	char csrf[CORE_LOGIN_CSRF_LEN + 1];
	core_login_csrf(tok, csrf);
	core_httpd_respond_json(req, 200,
				json_pack("{s:b, s:s, s:s, s:s}", "logged_in", 1, "username", user,
					  "csrf_token", csrf, "via", cookie ? "cookie" : "bearer"));
}

void core_login_password(struct core_login *l, struct core_httpd_req *req)
{
	char user[128], buf[128];
	bool cookie;
	if (core_login_require(l, req, user, sizeof(user)) < 0)
		return;
	time_t now = time(NULL);
	json_t *body = login_body(l, req, now);
	if (!body)
		return;
	const char *cur = json_string_value(json_object_get(body, "current_password"));
	const char *pw = json_string_value(json_object_get(body, "new_password"));
	char hash[CORE_AUTH_HASH_LEN] = "";
	const char *why = NULL;
	int status = 400;
	if (!cur || !pw) {
		why = "current_password and new_password are required";
	} else if (strlen(cur) > CORE_AUTH_MAX_PASSWORD ||
		   login_hash(l->db, user, hash, sizeof(hash)) < 0 ||
		   !core_auth_verify_password(hash, cur)) {
		/* Counts as a failed login: a stolen session must not guess the password. */
		core_throttle_fail(l->throttle, req->client, now);
		why = "the current password is wrong";
		status = 403;
	} else if ((why = core_auth_password_problem(pw)) == NULL) {
		sqlite3_stmt *st = NULL;
		if (core_auth_hash_password(pw, hash) < 0 ||
		    sqlite3_prepare_v2(l->db, "UPDATE admins SET password_hash=? WHERE username=?",
				       -1, &st, NULL) != SQLITE_OK) {
			why = "could not save the password";
			status = 500;
		} else {
			sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE) {
				why = "could not save the password";
				status = 500;
			}
		}
		sqlite3_finalize(st);
	}
	json_decref(body);
	if (why) {
		core_httpd_respond_error(req, status, why);
		return;
	}
	/* Other sessions of the account end; this one goes on. */
	core_auth_session_revoke_others(l->db, user, login_token(req, buf, sizeof(buf), &cookie));
	log_info("%s: %s changed the password from %s", l->realm, user, req->client);
	core_httpd_respond_json(req, 200, json_pack("{s:b}", "changed", 1));
}
