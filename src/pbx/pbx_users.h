/*
 * pbx_users — the phone system's users and extensions: the API under
 * /<name>/api/v1/users, and their SIP credentials, kept only as digest HA1
 * values for MD5 and SHA-256 (RFC 8760) with the phone-system name as realm.
 */
#ifndef PBX_USERS_H
#define PBX_USERS_H

#include <stddef.h>

#include "pbx.h"

#define PBX_SIP_PASSWORD_MIN 12

/* rest: "" for the collection, "/ID" for one user. */
void pbx_users_handle(struct pbx *p, struct core_httpd_req *req, const char *rest);

#endif
