/*
 * core_login — the login API every UI of Zentrale shares (management and
 * each phone system): POST login with throttling per client address,
 * POST logout, GET session, PUT password, and the check in front of every
 * other endpoint. Accounts live in the `admins` table and tokens in the
 * `sessions` table of the database given; a token is therefore only valid
 * where it was issued.
 *
 * Two ways to carry a token: `Authorization: Bearer` (scripts), or, for the
 * web UIs, a cookie the page's script cannot read (HttpOnly; Secure;
 * SameSite=Strict; Path = the UI's own API). A request authenticated by the
 * cookie that changes anything must also carry X-CSRF-Token: a value
 * derived from the session token, which a page learns from login or
 * GET session and another site can neither read nor guess.
 *
 * Passwords are verified (and new ones hashed) in the worker threads of
 * the core_work pool given, never on the event loop: POST login and PUT
 * password are answered late, when the worker is done (the request is found
 * again by its id; a client gone meanwhile is simply not answered). When
 * the pool's queue is full they answer 503 with Retry-After. Failures are
 * limited per address (core_throttle) and per account across addresses
 * (core_guard: growing delays, answered 429, from which an address that
 * logged in to the account recently is exempt).
 */
#ifndef CORE_LOGIN_H
#define CORE_LOGIN_H

#include <sqlite3.h>

#include "core_auth.h"
#include "core_guard.h"
#include "core_httpd.h"
#include "core_work.h"

#define CORE_LOGIN_MAX_FAILURES 10  /* failed logins from one address ... */
#define CORE_LOGIN_WINDOW	60  /* ... within this many seconds ... */
#define CORE_LOGIN_BLOCK	300 /* ... block it this long */
#define CORE_LOGIN_DEFAULT_TTL	28800

struct core_login {
	sqlite3 *db;
	struct core_throttle *throttle;
	struct core_guard *guard; /* per account */
	struct core_work *work;	  /* not owned: must outlive every request of l */
	int verify_delay_ms;	  /* ZENTRALE_TEST_VERIFY_DELAY_MS */
	const char *realm;	  /* for the log: "management", "phone system acme" */
	const char *cookie_path;  /* where the browser sends the session cookie */
};

#define CORE_LOGIN_COOKIE   "zentrale_session"
#define CORE_LOGIN_CSRF_LEN 43

/* cookie_path must outlive l; it is also where the cookie of a logout is
 * cleared. work verifies the passwords; free it before l (its jobs point to l). */
int core_login_init(struct core_login *l, sqlite3 *db, struct core_work *work, const char *realm,
		    const char *cookie_path);
void core_login_free(struct core_login *l);
/* Session lifetime in seconds: setting "session_ttl" of the db, else the default. */
int core_login_ttl(struct core_login *l);
/* POST login {"username", "password"[, "cookie": true]}: answered late. */
void core_login_handle(struct core_login *l, struct core_httpd_req *req);
void core_login_logout(struct core_login *l, struct core_httpd_req *req);
/* GET session: who is logged in, and the CSRF token of the session. */
void core_login_session(struct core_login *l, struct core_httpd_req *req);
/* PUT password {"current_password", "new_password"}: the account's own;
 * answered late. */
void core_login_password(struct core_login *l, struct core_httpd_req *req);
/* The CSRF token that belongs to a session token. */
void core_login_csrf(const char *token, char out[CORE_LOGIN_CSRF_LEN + 1]);
/* 0 with the account name if the request carries a valid token (and, for a
 * cookie on a request that is not GET or HEAD, the CSRF token); otherwise
 * answers 401 (403 for a missing CSRF token) itself and returns -1. */
int core_login_require(struct core_login *l, struct core_httpd_req *req, char *user,
		       size_t userlen);
/* Whether a request's head, before its body is read, carries a valid
 * session (bearer token, else the login cookie) in db: for the hooks that
 * let a logged-in upload be larger than a stranger's request. */
struct http_msg;
bool core_login_head_valid(sqlite3 *db, const struct http_msg *head);

#endif
