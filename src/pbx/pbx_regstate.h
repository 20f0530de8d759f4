/*
 * pbx_regstate — why a phone of this phone system does or does not
 * register: the log line of each failed authentication (core_authlog, once
 * per burst), each user's last registration and last failure with its
 * reason, and the pattern of a client that gets the digest challenge and
 * never answers it while SHA-256 is offered (baresip 1.0 gives up on such
 * a challenge set), which becomes a hint on the user and a log line.
 *
 * Kept in memory only: a restart of the phone system forgets the last
 * registration, failure and hint (the bindings themselves are in pbx.db).
 * Tables are bounded (PBX_REGSTATE_USERS users, PBX_REGSTATE_CLIENTS
 * (address, user) pairs; the least recently seen give way) and keyed with
 * a per-process random key, since clients choose the names.
 * The registrar calls in (pbx_registrar.c); pbx_users.c asks for the JSON.
 */
#ifndef PBX_REGSTATE_H
#define PBX_REGSTATE_H

#include <stdbool.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include <sqlite3.h>

#include "../core/core_authlog.h"
#include "../sip/sip_msg.h"

#define PBX_REGSTATE_USERS   4096
#define PBX_REGSTATE_CLIENTS 4096
/* A challenge not answered within this is unanswered (ms; tests shorten it
 * with ZENTRALE_TEST_CHALLENGE_WAIT_MS). */
#define PBX_REGSTATE_ANSWER_WAIT 8000

struct pbx_regstate;

/* base: for the sweep timer; db: users and bindings (read only here). */
struct pbx_regstate *pbx_regstate_new(struct event_base *base, sqlite3 *db, const char *name);
void pbx_regstate_free(struct pbx_regstate *s);

/* What the registrar knows of one request. source: "tls 192.0.2.7:5061"
 * (from the SBC); algorithms: what this phone system offers (bit 0 MD5,
 * bit 1 SHA-256). */
struct pbx_regstate_req {
	const struct sip_msg *msg;
	const char *source;
	unsigned algorithms;
};

/* A challenge to a request without an answer to one of ours. */
void pbx_regstate_challenged(struct pbx_regstate *s, const struct pbx_regstate_req *q);
/* The request answered a challenge (rightly or not): its sender does answer. */
void pbx_regstate_answered(struct pbx_regstate *s, const struct pbx_regstate_req *q);
/* A failed authentication of user (as the client named it); known: the
 * phone system has this user. */
void pbx_regstate_failed(struct pbx_regstate *s, const struct pbx_regstate_req *q,
			 enum core_authlog_reason why, struct sip_pl user, bool known);
/* user registered (a 200 to its REGISTER). */
void pbx_regstate_registered(struct pbx_regstate *s, const char *user, time_t now);

/* {"devices": [{"user_agent","source","contact","expires_in"}], "online",
 * "last_registration", "last_failure": {"at","reason","address","user_agent"}
 * or null, "hint": string or null}: user's registration state. */
json_t *pbx_regstate_json(struct pbx_regstate *s, long long user_id, const char *user, time_t now);
/* Adds "registration" (the above) to a user object of the API ("id",
 * "sip_username"); returns user. */
json_t *pbx_regstate_attach(struct pbx_regstate *s, json_t *user, time_t now);

#endif
