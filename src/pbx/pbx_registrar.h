/*
 * pbx_registrar — the phone system's registrar (RFC 3261 §10.3): digest
 * authentication of REGISTER (MD5 and SHA-256, RFC 8760), bindings of each
 * user's devices in pbx.db with their expiry, the path back to them
 * (RFC 3327) and where they registered from. Given a parsed request it
 * writes the response; it does no I/O besides SQLite. What each attempt
 * came to (challenged, answered, failed and why, registered) it tells
 * pbx_regstate, which logs failures and keeps the users' state.
 */
#ifndef PBX_REGISTRAR_H
#define PBX_REGISTRAR_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

#include "../sip/sip_auth.h"
#include "../sip/sip_msg.h"
#include "pbx_regstate.h"

#define PBX_REG_MIN_EXPIRES    60
#define PBX_REG_MAX_EXPIRES    3600
#define PBX_REG_MAX_BINDINGS   10 /* devices per user */
#define PBX_REG_NONCE_LIFETIME 300

struct pbx_registrar {
	sqlite3 *db;
	const char *realm; /* the phone system's name */
	struct sip_nonces *nonces;
	unsigned algorithms; /* offered in challenges: bit 0 MD5, bit 1 SHA-256 */
	time_t last_purge;
	struct pbx_regstate *state; /* failures, last registrations, hints; owned by pbx_main */
	/* refreshes that wrote no row: their newest Call-ID and CSeq per binding
	 * (owned here, REG_SEEN_MAX entries at most) */
	struct pbx_reg_seen **seen;
	size_t nseen;
	unsigned char seen_key[16];
	unsigned long long writes, refreshes; /* rows written; REGISTERs answered without */
};

/* How the request reached us, as told by the SBC. */
struct pbx_reg_source {
	const char *source; /* e.g. "tls 192.0.2.7:50412", for people */
	const char *path;   /* the Path the SBC added, or "" */
	const char *src_addr;
	int src_port;
};

struct pbx_reg_user {
	long long id;
	char username[72], extension[24], display_name[128];
	char ha1[2][SIP_AUTH_HEX_MAX];
	bool enabled;
};

int pbx_registrar_init(struct pbx_registrar *r, sqlite3 *db, const char *realm);
void pbx_registrar_free(struct pbx_registrar *r);
/* "MD5", "SHA-256" or "MD5,SHA-256": what challenges offer; -1 if not one of these. */
int pbx_registrar_set_algorithms(struct pbx_registrar *r, const char *list);
/* Answers a REGISTER; returns the response's length in out, -1 if it does not fit. */
int pbx_registrar_register(struct pbx_registrar *r, const struct sip_msg *req,
			   const struct pbx_reg_source *src, time_t now, char *out, size_t cap);
/* Digest authentication of any request from a phone: 0 with the user in u
 * when it passes, else the length of the answer (401 or 403) written in out.
 * The user must be the request's To (REGISTER) or From (anything else). */
int pbx_registrar_auth(struct pbx_registrar *r, const struct sip_msg *req,
		       const struct pbx_reg_source *src, time_t now, struct pbx_reg_user *u,
		       char *out, size_t cap);
/* Every live binding: [{"user","extension","display_name","contact","expires_in",
 * "user_agent","source"}]. */
json_t *pbx_registrar_list(struct pbx_registrar *r, time_t now);
/* Removes expired bindings; returns how many. */
int pbx_registrar_purge(struct pbx_registrar *r, time_t now);

#endif
