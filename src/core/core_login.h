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
 *
 * A second kind of account may be added (core_login_set_accounts: a phone
 * system's users, table users): its sessions' subjects start with the
 * accounts' prefix ("user:<id>"), which no administrator's name can (they
 * hold only a-z 0-9 . _ -). Such a session passes core_login_require_any
 * (logout, session, password, the user's own API) but not core_login_require,
 * which stays the administrator's check in front of every other endpoint
 * (403 for a user's session). A login name is tried as an administrator
 * and as such an account; either password opens the one it belongs to, and
 * unknown names and wrong passwords get the same answer.
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
	const struct core_login_accounts *accounts; /* the second kind, or NULL */
};

/* The second kind of account; its functions run in the loop thread. */
struct core_login_accounts {
	const char *prefix; /* every subject of this kind starts with it: "user:" */
	void *arg;
	/* The account a login name means: 0 with its subject and argon2id hash,
	 * or -1 (none, or it may not log in). */
	int (*find)(void *arg, const char *name, char *subject, size_t sublen, char *hash,
		    size_t hashlen);
	/* The hash of a subject's account (as find), for PUT password: 0 or -1. */
	int (*hash_of)(void *arg, const char *subject, char *hash, size_t hashlen);
	/* Stores a new hash for subject: 0 or -1. */
	int (*set_hash)(void *arg, const char *subject, const char *hash);
};

#define CORE_LOGIN_COOKIE   "zentrale_session"
#define CORE_LOGIN_CSRF_LEN 43

/* cookie_path must outlive l; it is also where the cookie of a logout is
 * cleared. work verifies the passwords; free it before l (its jobs point to l). */
int core_login_init(struct core_login *l, sqlite3 *db, struct core_work *work, const char *realm,
		    const char *cookie_path);
void core_login_free(struct core_login *l);
/* Adds the second kind of account (a must outlive l). */
void core_login_set_accounts(struct core_login *l, const struct core_login_accounts *a);
/* Whether subject is of the second kind. */
bool core_login_is_account(const struct core_login *l, const char *subject);
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
 * cookie on a request that is not GET or HEAD, the CSRF token) of an
 * administrator; otherwise answers 401 (403 for a missing CSRF token or a
 * session of the second kind) itself and returns -1. */
int core_login_require(struct core_login *l, struct core_httpd_req *req, char *user,
		       size_t userlen);
/* As core_login_require, but a session of either kind passes (subject:
 * the administrator's name or the second kind's subject). */
int core_login_require_any(struct core_login *l, struct core_httpd_req *req, char *subject,
			   size_t sublen);
/* Hashes password in a worker, then calls done in the loop thread with the
 * request found again (NULL if it went away; hash NULL if hashing failed).
 * 0, or -1 (out of memory or the queue is full: then req is answered 503/500
 * here and done is not called). */
typedef void (*core_login_hashed_fn)(struct core_httpd_req *req, const char *hash, void *arg);
int core_login_hash_async(struct core_login *l, struct core_httpd_req *req, const char *password,
			  core_login_hashed_fn done, void *arg);
/* Whether a request's head, before its body is read, carries a valid
 * session (bearer token, else the login cookie) in db: for the hooks that
 * let a logged-in upload be larger than a stranger's request. */
struct http_msg;
bool core_login_head_valid(sqlite3 *db, const struct http_msg *head);

#endif
