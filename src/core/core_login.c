/* core_login — see core_login.h. */
#include "core_login.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../http/http_msg.h"
#include "core_db.h"
#include "core_log.h"

int core_login_init(struct core_login *l, sqlite3 *db, struct core_work *work, const char *realm,
		    const char *cookie_path)
{
	l->db = db;
	l->work = work;
	l->realm = realm;
	l->cookie_path = cookie_path;
	/* Test-only: milliseconds each verification sleeps in its worker
	 * first, so that tests can see the event loop is not waiting for it. */
	const char *delay = getenv("ZENTRALE_TEST_VERIFY_DELAY_MS");
	l->verify_delay_ms = delay ? atoi(delay) : 0;
	if (l->verify_delay_ms < 0 || l->verify_delay_ms > 60000)
		l->verify_delay_ms = 0;
	struct core_guard_policy policy = CORE_GUARD_DEFAULT_POLICY;
	l->guard = core_guard_new(&policy);
	l->throttle =
		core_throttle_new(CORE_LOGIN_MAX_FAILURES, CORE_LOGIN_WINDOW, CORE_LOGIN_BLOCK);
	return l->throttle && l->guard && l->work ? 0 : -1;
}

void core_login_set_accounts(struct core_login *l, const struct core_login_accounts *a)
{
	l->accounts = a;
}

bool core_login_is_account(const struct core_login *l, const char *subject)
{
	return l->accounts && subject &&
	       strncmp(subject, l->accounts->prefix, strlen(l->accounts->prefix)) == 0;
}

void core_login_free(struct core_login *l)
{
	core_throttle_free(l->throttle);
	core_guard_free(l->guard);
}

int core_login_ttl(struct core_login *l)
{
	char v[32];
	if (core_db_setting_get(l->db, "session_ttl", v, sizeof(v)) == 0 && atoi(v) > 0)
		return atoi(v);
	return CORE_LOGIN_DEFAULT_TTL;
}

/* The per-account limit's clock (core_guard): ms that never jump back. */
static int64_t login_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

static void login_too_many(struct core_httpd_req *req, int wait, const char *whose)
{
	char hdr[64];
	snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n", wait);
	char *s = NULL;
	if (asprintf(&s, "{\"error\":\"too many failed logins %s; try again in %d seconds\"}\n",
		     whose, wait) < 0)
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
		login_too_many(req, wait, "from your address");
		return NULL;
	}
	return core_httpd_json_body(req);
}

/* ---- verification in a worker thread ---- */

enum login_kind { LOGIN_LOGIN, LOGIN_PASSWORD };

/* One password check (and, for PUT password, the new hash): everything the
 * worker reads is copied in here; it touches nothing else. */
struct login_job {
	struct core_login *l;
	struct core_httpd *srv;
	uint64_t id;
	enum login_kind kind;
	int delay_ms;	     /* ZENTRALE_TEST_VERIFY_DELAY_MS */
	bool known;	     /* the account exists (hash is its own) */
	bool known_acct;     /* login: an account of the second kind has this name */
	bool as_acct;	     /* worker: the password opened the second kind's account */
	bool cookie;	     /* login: the token goes into a cookie */
	const char *problem; /* password: what is wrong with the new one (static) */
	bool ok;	     /* worker: the password is right */
	int hashed;	     /* worker: core_auth_hash_password's result */
	char client[64];
	char *user, *pw, *new_pw;
	char hash[CORE_AUTH_HASH_LEN], new_hash[CORE_AUTH_HASH_LEN];
	char acct_subject[128], acct_hash[CORE_AUTH_HASH_LEN];
};

static void login_job_free(struct login_job *j)
{
	free(j->user);
	if (j->pw)
		sodium_memzero(j->pw, strlen(j->pw));
	if (j->new_pw)
		sodium_memzero(j->new_pw, strlen(j->new_pw));
	free(j->pw);
	free(j->new_pw);
	sodium_memzero(j, sizeof(*j));
	free(j);
}

static void login_job_run(void *arg)
{
	struct login_job *j = arg;
	if (j->delay_ms > 0) {
		struct timespec ts = {j->delay_ms / 1000, (long)(j->delay_ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	/* One verification for an unknown name as for a known one; a second
	 * only when an administrator and an account share the name. */
	const char *first = j->known ? j->hash : j->known_acct ? j->acct_hash : NULL;
	j->ok = core_auth_verify_password(first, j->pw) && first;
	j->as_acct = j->ok && !j->known;
	if (!j->ok && j->known && j->known_acct && core_auth_verify_password(j->acct_hash, j->pw)) {
		j->ok = true;
		j->as_acct = true;
	}
	j->hashed = -1;
	if (j->kind == LOGIN_PASSWORD && j->ok && !j->problem)
		j->hashed = core_auth_hash_password(j->new_pw, j->new_hash);
}

static void login_done(void *arg, bool cancelled);

/* A job for req, or NULL (then req is answered here). The guard has
 * admitted the attempt; it is told of the outcome in every case. */
static struct login_job *login_job_new(struct core_login *l, struct core_httpd_req *req,
				       enum login_kind kind, const char *user, const char *pw)
{
	struct login_job *j = calloc(1, sizeof(*j));
	if (j) {
		j->l = l;
		j->srv = core_httpd_of(req);
		j->id = req->id;
		j->kind = kind;
		j->delay_ms = l->verify_delay_ms;
		j->user = strdup(user);
		j->pw = strdup(pw);
		snprintf(j->client, sizeof(j->client), "%s", req->client);
		bool fits = strlen(pw) <= CORE_AUTH_MAX_PASSWORD;
		if (kind == LOGIN_PASSWORD && core_login_is_account(l, user))
			j->known = fits && l->accounts->hash_of(l->accounts->arg, user, j->hash,
								sizeof(j->hash)) == 0;
		else
			j->known = fits && login_hash(l->db, user, j->hash, sizeof(j->hash)) == 0;
		if (kind == LOGIN_LOGIN && l->accounts)
			j->known_acct =
				fits && l->accounts->find(l->accounts->arg, user, j->acct_subject,
							  sizeof(j->acct_subject), j->acct_hash,
							  sizeof(j->acct_hash)) == 0;
	}
	if (!j || !j->user || !j->pw) {
		if (j)
			login_job_free(j);
		core_guard_done(l->guard, user, req->client, CORE_GUARD_ABANDONED, login_ms());
		core_httpd_respond_error(req, 500, "out of memory");
		return NULL;
	}
	return j;
}

/* Hands the job to a worker; answers 503 if the queue is full. */
static void login_submit(struct core_login *l, struct core_httpd_req *req, struct login_job *j)
{
	if (core_work_submit(l->work, login_job_run, login_done, j) == 0)
		return;
	log_warn("%s: password checks queue full, login from %s refused", l->realm, req->client);
	core_guard_done(l->guard, j->user, req->client, CORE_GUARD_ABANDONED, login_ms());
	login_job_free(j);
	static const char body[] = "{\"error\":\"too many logins at once; try again\"}\n";
	core_httpd_respond(req, 503, "application/json", "Retry-After: 1\r\n", body,
			   sizeof(body) - 1);
}

/* After a failed check: counted per address and per account. */
static void login_failed(struct login_job *j, time_t now)
{
	struct core_login *l = j->l;
	core_guard_done(l->guard, j->user, j->client, CORE_GUARD_FAILED, login_ms());
	if (core_throttle_fail(l->throttle, j->client, now))
		log_warn("%s: %d failed logins from %s within %d s; blocked for %d s", l->realm,
			 CORE_LOGIN_MAX_FAILURES, j->client, CORE_LOGIN_WINDOW, CORE_LOGIN_BLOCK);
	else
		log_info("%s: failed login from %s", l->realm, j->client);
	struct core_guard_policy p = CORE_GUARD_DEFAULT_POLICY;
	if (core_guard_failures(l->guard, j->user, login_ms()) == p.free + 1)
		log_warn("%s: %d failed logins for %s within %d s from any address: its "
			 "further attempts wait up to %d s (an address it logged in from "
			 "recently does not)",
			 l->realm, p.free, j->known ? j->user : "an unknown account", p.window,
			 p.max_delay);
}

/* With a second kind of account, answers about a session say which kind
 * ("role": "admin" or "user"); management's stay as they were. */
static json_t *login_role(const struct core_login *l, json_t *o)
{
	const char *subject = json_string_value(json_object_get(o, "username"));
	if (o && l->accounts)
		json_object_set_new(
			o, "role",
			json_string(core_login_is_account(l, subject) ? "user" : "admin"));
	return o;
}

static void login_succeeded(struct login_job *j, struct core_httpd_req *req)
{
	struct core_login *l = j->l;
	const char *user = j->as_acct ? j->acct_subject : j->user;
	char token[CORE_AUTH_TOKEN_LEN + 1];
	int ttl = core_login_ttl(l);
	if (core_auth_session_create(l->db, user, ttl, token) < 0) {
		core_httpd_respond_error(req, 500, "could not create a session");
		return;
	}
	if (j->as_acct)
		log_info("%s: %s (%s) logged in from %s", l->realm, j->user, user, j->client);
	else
		log_info("%s: %s logged in from %s", l->realm, user, j->client);
	if (j->cookie) {
		/* For a web UI: the token goes into a cookie its script cannot read. */
		char csrf[CORE_LOGIN_CSRF_LEN + 1], hdr[256];
		core_login_csrf(token, csrf);
		snprintf(hdr, sizeof(hdr),
			 "Set-Cookie: " CORE_LOGIN_COOKIE "=%s; Path=%s; Max-Age=%d; HttpOnly; "
			 "Secure; SameSite=Strict\r\n",
			 token, l->cookie_path, ttl);
		core_httpd_respond_json_with(
			req, 200,
			login_role(l, json_pack("{s:s, s:i, s:s}", "csrf_token", csrf, "expires_in",
						ttl, "username", user)),
			hdr);
	} else {
		core_httpd_respond_json(
			req, 200,
			login_role(l, json_pack("{s:s, s:i, s:s}", "token", token, "expires_in",
						ttl, "username", user)));
	}
}

static void login_password_done(struct login_job *j, struct core_httpd_req *req);

/* In the loop thread, once the worker is done (or the pool goes away). */
static void login_done(void *arg, bool cancelled)
{
	struct login_job *j = arg;
	struct core_login *l = j->l;
	time_t now = time(NULL);
	if (cancelled) {
		login_job_free(j);
		return;
	}
	if (!j->ok)
		login_failed(j, now);
	else {
		core_guard_done(l->guard, j->user, j->client, CORE_GUARD_SUCCEEDED, login_ms());
		core_throttle_success(l->throttle, j->client);
	}
	/* The client may have gone meanwhile: then nobody is answered. */
	struct core_httpd_req *req = core_httpd_find(j->srv, j->id);
	if (!req) {
		log_info("%s: %s from %s went away before its password was checked", l->realm,
			 j->kind == LOGIN_LOGIN ? "a login" : "a password change", j->client);
	} else if (j->kind == LOGIN_PASSWORD) {
		login_password_done(j, req);
	} else if (!j->ok) {
		core_httpd_respond_error(req, 401, "wrong username or password");
	} else {
		login_succeeded(j, req);
	}
	login_job_free(j);
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
	int wait = core_guard_admit(l->guard, user, req->client, login_ms());
	if (wait > 0) {
		json_decref(body);
		login_too_many(req, wait, "for this account");
		return;
	}
	struct login_job *j = login_job_new(l, req, LOGIN_LOGIN, user, pw);
	if (j) {
		j->cookie = json_is_true(json_object_get(body, "cookie"));
		login_submit(l, req, j);
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
	if (core_login_require_any(l, req, user, sizeof(user)) < 0)
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

static int login_check(struct core_login *l, struct core_httpd_req *req, char *user, size_t userlen,
		       bool any)
{
	char buf[128];
	bool cookie;
	const char *tok = login_token(req, buf, sizeof(buf), &cookie);
	if (tok && core_auth_session_check(l->db, tok, user, userlen) == 0) {
		if (!any && core_login_is_account(l, user)) {
			core_httpd_respond_error(req, 403,
						 "this needs the administrator: a user's login "
						 "reaches only their own data (/api/v1/me)");
			return -1;
		}
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

int core_login_require(struct core_login *l, struct core_httpd_req *req, char *user, size_t userlen)
{
	return login_check(l, req, user, userlen, false);
}

int core_login_require_any(struct core_login *l, struct core_httpd_req *req, char *subject,
			   size_t sublen)
{
	return login_check(l, req, subject, sublen, true);
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
	core_httpd_respond_json(
		req, 200,
		login_role(l, json_pack("{s:b, s:s, s:s, s:s}", "logged_in", 1, "username", user,
					"csrf_token", csrf, "via", cookie ? "cookie" : "bearer")));
}

void core_login_password(struct core_login *l, struct core_httpd_req *req)
{
	char user[128];
	if (core_login_require_any(l, req, user, sizeof(user)) < 0)
		return;
	time_t now = time(NULL);
	json_t *body = login_body(l, req, now);
	if (!body)
		return;
	const char *cur = json_string_value(json_object_get(body, "current_password"));
	const char *pw = json_string_value(json_object_get(body, "new_password"));
	int wait = 0;
	if (!cur || !pw) {
		core_httpd_respond_error(req, 400,
					 "current_password and new_password are required");
	} else if ((wait = core_guard_admit(l->guard, user, req->client, login_ms())) > 0) {
		login_too_many(req, wait, "for this account");
	} else {
		struct login_job *j = login_job_new(l, req, LOGIN_PASSWORD, user, cur);
		if (j) {
			j->problem = core_auth_password_problem(pw);
			j->new_pw = j->problem ? NULL : strdup(pw);
			if (!j->problem && !j->new_pw)
				j->problem = "out of memory";
			login_submit(l, req, j);
		}
	}
	json_decref(body);
}

/* PUT password, once the current one is checked and the new one hashed. */
static void login_password_done(struct login_job *j, struct core_httpd_req *req)
{
	struct core_login *l = j->l;
	char buf[128];
	bool cookie;
	if (!j->ok) {
		/* Counted as a failed login: a stolen session must not guess the password. */
		core_httpd_respond_error(req, 403, "the current password is wrong");
		return;
	}
	if (j->problem) {
		core_httpd_respond_error(req, 400, j->problem);
		return;
	}
	sqlite3_stmt *st = NULL;
	bool acct = core_login_is_account(l, j->user);
	bool saved = j->hashed == 0 &&
		     (acct ? l->accounts->set_hash(l->accounts->arg, j->user, j->new_hash) == 0
			   : sqlite3_prepare_v2(
				     l->db, "UPDATE admins SET password_hash=? WHERE username=?",
				     -1, &st, NULL) == SQLITE_OK);
	if (saved && !acct) {
		sqlite3_bind_text(st, 1, j->new_hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, j->user, -1, SQLITE_STATIC);
		saved = sqlite3_step(st) == SQLITE_DONE;
	}
	sqlite3_finalize(st);
	if (!saved) {
		core_httpd_respond_error(req, 500, "could not save the password");
		return;
	}
	/* Other sessions of the account end; this one goes on. */
	core_auth_session_revoke_others(l->db, j->user,
					login_token(req, buf, sizeof(buf), &cookie));
	log_info("%s: %s changed the password from %s", l->realm, j->user, j->client);
	core_httpd_respond_json(req, 200, json_pack("{s:b}", "changed", 1));
}

bool core_login_head_valid(sqlite3 *db, const struct http_msg *head)
{
	char tok[128] = "", user[128];
	const char *a = http_msg_header(head, "Authorization");
	const char *cookie = http_msg_header(head, "Cookie");
	if (a && strncasecmp(a, "Bearer ", 7) == 0) {
		a += 7;
		while (*a == ' ')
			a++;
		if (strlen(a) >= sizeof(tok)) /* no token of ours is that long */
			return false;
		memcpy(tok, a, strlen(a) + 1);
	} else if (!cookie || http_cookie_get(cookie, CORE_LOGIN_COOKIE, tok, sizeof(tok)) < 0) {
		return false;
	}
	return *tok && core_auth_session_check(db, tok, user, sizeof(user)) == 0;
}

/* ---- hashing for others (an administrator setting a user's password) ---- */

struct hash_job {
	struct core_httpd *srv;
	uint64_t id;
	core_login_hashed_fn done;
	void *arg;
	char *pw;
	int rc;
	char hash[CORE_AUTH_HASH_LEN];
};

static void hash_job_run(void *arg)
{
	struct hash_job *h = arg;
	h->rc = core_auth_hash_password(h->pw, h->hash);
}

static void hash_job_done(void *arg, bool cancelled)
{
	struct hash_job *h = arg;
	struct core_httpd_req *req = cancelled ? NULL : core_httpd_find(h->srv, h->id);
	h->done(req, h->rc == 0 && !cancelled ? h->hash : NULL, h->arg);
	sodium_memzero(h->pw, strlen(h->pw));
	free(h->pw);
	sodium_memzero(h, sizeof(*h));
	free(h);
}

int core_login_hash_async(struct core_login *l, struct core_httpd_req *req, const char *password,
			  core_login_hashed_fn done, void *arg)
{
	struct hash_job *h = calloc(1, sizeof(*h));
	if (h) {
		h->srv = core_httpd_of(req);
		h->id = req->id;
		h->done = done;
		h->arg = arg;
		h->rc = -1;
		h->pw = strdup(password);
	}
	if (!h || !h->pw) {
		free(h);
		core_httpd_respond_error(req, 500, "out of memory");
		return -1;
	}
	if (core_work_submit(l->work, hash_job_run, hash_job_done, h) == 0)
		return 0;
	sodium_memzero(h->pw, strlen(h->pw));
	free(h->pw);
	free(h);
	static const char body[] = "{\"error\":\"too many password changes at once; try again\"}\n";
	core_httpd_respond(req, 503, "application/json", "Retry-After: 1\r\n", body,
			   sizeof(body) - 1);
	return -1;
}
