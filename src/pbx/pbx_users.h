/*
 * pbx_users — the phone system's users and extensions: the API under
 * /<name>/api/v1/users, and their SIP credentials, kept only as digest HA1
 * values for MD5 and SHA-256 (RFC 8760) with the phone-system name as realm;
 * and their own web login (a password of its own, never the SIP one).
 */
#ifndef PBX_USERS_H
#define PBX_USERS_H

#include <stdbool.h>
#include <stddef.h>

#include "pbx.h"

#define PBX_SIP_PASSWORD_MIN 12

/* The session subject of a user's own login (core_login's second kind of
 * account): PBX_USER_SUBJECT "<id>". */
#define PBX_USER_SUBJECT "user:"

/* rest: "" for the collection, "/ID" for one user, "/ID/forwarding" for
 * their forwarding (pbx_forward.h). A user's own login: "login_password"
 * in POST/PUT (argon2id into users.login_hash, hashed in a worker; ""
 * ends the login), "login" (has one) in GET. Deleting or disabling a user,
 * or setting their login, ends their sessions. */
void pbx_users_handle(struct pbx *p, struct core_httpd_req *req, const char *rest);
/* GET/PUT of user id's forwarding (pbx_forward.h): /users/<id>/forwarding,
 * and with own (the user's session) /me/forwarding. */
void pbx_users_forwarding(struct pbx *p, struct core_httpd_req *req, long long id, bool own);
/* Makes the users' own logins the second kind of account of p->login:
 * a user logs in with their extension or SIP username. */
void pbx_users_accounts(struct pbx *p);
/* The user id of a session subject, or -1 (an administrator). */
long long pbx_users_subject_id(const char *subject);

#endif
