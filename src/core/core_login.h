/*
 * core_login — the login API every UI of Zentrale shares (management and
 * each phone system): POST login with throttling per client address,
 * POST logout, and the bearer-token check in front of every other endpoint.
 * Accounts live in the `admins` table and tokens in the `sessions` table of
 * the database given; a token is therefore only valid where it was issued.
 */
#ifndef CORE_LOGIN_H
#define CORE_LOGIN_H

#include <sqlite3.h>

#include "core_auth.h"
#include "core_httpd.h"

#define CORE_LOGIN_MAX_FAILURES 10  /* failed logins from one address ... */
#define CORE_LOGIN_WINDOW	60  /* ... within this many seconds ... */
#define CORE_LOGIN_BLOCK	300 /* ... block it this long */
#define CORE_LOGIN_DEFAULT_TTL	28800

struct core_login {
	sqlite3 *db;
	struct core_throttle *throttle;
	const char *realm; /* for the log: "management", "phone system acme" */
};

int core_login_init(struct core_login *l, sqlite3 *db, const char *realm);
void core_login_free(struct core_login *l);
/* Session lifetime in seconds: setting "session_ttl" of the db, else the default. */
int core_login_ttl(struct core_login *l);
void core_login_handle(struct core_login *l, struct core_httpd_req *req);
void core_login_logout(struct core_login *l, struct core_httpd_req *req);
/* 0 with the account name if the request carries a valid token; otherwise
 * answers 401 itself and returns -1. */
int core_login_require(struct core_login *l, struct core_httpd_req *req, char *user,
		       size_t userlen);

#endif
