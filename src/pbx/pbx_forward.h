/*
 * pbx_forward — a user's call forwarding, do-not-disturb and call waiting
 * in pbx.db (table forwards of migration 7: one row per user and kind;
 * users.dnd, users.call_waiting): read for routing (pbx_forward_get), and
 * read/written as JSON with validation for the admin API and the user's
 * own /api/v1/me API (pbx_forward_json, pbx_forward_put), and set by the
 * feature codes (pbx_forward_set, pbx_forward_clear, pbx_forward_set_dnd,
 * pbx_forward_set_call_waiting).
 *
 * JSON (GET returns every key; PUT changes only the keys it names):
 *   {"dnd": false, "call_waiting": true, "ring_time": 25,   (s, 5..300: "no answer" after it)
 *    "forwards": {"always":      {"enabled": true, "target_type": "extension", "target": "202"},
 *                 "busy":        {"enabled": true, "target_type": "voicemail", "target": ""},
 *                 "noanswer":    null,     (no rule; PUT null deletes the rule)
 *                 "unavailable": {"enabled": false, "target_type": "group", "target": "600"}}}
 * target_type:
 *   extension  target an enabled user's extension, not the user's own
 *   group      target a ring group's extension (whatever pbx_route_resolve answers to)
 *   voicemail  target "" (the forwarding user's own mailbox) or a user's extension
 *              (that user's mailbox)
 *   external   refused until trunks exist: 400 "external numbers need a trunk"
 * Unknown keys, kinds and target types are refused (400) naming the key.
 */
#ifndef PBX_FORWARD_H
#define PBX_FORWARD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "pbx.h"

enum pbx_fwd_kind {
	PBX_FWD_ALWAYS,
	PBX_FWD_BUSY,
	PBX_FWD_NOANSWER,
	PBX_FWD_UNAVAILABLE,
	PBX_FWD_KINDS
};
enum pbx_fwd_target {
	PBX_FWD_TO_EXTENSION,
	PBX_FWD_TO_GROUP,
	PBX_FWD_TO_VOICEMAIL,
	PBX_FWD_TO_EXTERNAL
};

struct pbx_fwd_rule {
	bool set;     /* a row exists */
	bool enabled; /* and is on */
	enum pbx_fwd_target type;
	char target[72]; /* an extension or group number; voicemail: "" own */
};

/* What routing needs of one user. */
struct pbx_fwd {
	struct pbx_fwd_rule rule[PBX_FWD_KINDS];
	bool dnd;
	bool call_waiting;
	int ring_time; /* s before no answer (users.ring_time, shared with voicemail) */
};

/* "always", "busy", "noanswer", "unavailable"; and back (-1: none). */
const char *pbx_forward_kind_name(enum pbx_fwd_kind k);
int pbx_forward_kind_of(const char *s);
/* "extension", "group", "voicemail", "external"; and back (-1: none). */
const char *pbx_forward_target_name(enum pbx_fwd_target t);
int pbx_forward_target_of(const char *s);

/* user_id's rules and flags: 0, or -1 (no such user). */
int pbx_forward_get(struct pbx *p, long long user_id, struct pbx_fwd *out);
/* user_id's rules as JSON (see above; owned by the caller), or NULL (no such user). */
json_t *pbx_forward_json(struct pbx *p, long long user_id);
/* Applies body (see above) after validating all of it, in one transaction:
 * 0, or an HTTP status with a message in err: 400 (invalid body), 404 (no
 * such user), 500 (storage). */
int pbx_forward_put(struct pbx *p, long long user_id, json_t *body, char *err, size_t errlen);

/* The feature codes' setters. target validated as by PUT; 0 or an HTTP
 * status with err as for pbx_forward_put. */
int pbx_forward_set(struct pbx *p, long long user_id, enum pbx_fwd_kind k, enum pbx_fwd_target t,
		    const char *target, char *err, size_t errlen);
/* Removes the rule of kind k: 0 or -1. */
int pbx_forward_clear(struct pbx *p, long long user_id, enum pbx_fwd_kind k);
/* users.dnd, users.call_waiting: 0 or -1. */
int pbx_forward_set_dnd(struct pbx *p, long long user_id, bool on);
int pbx_forward_set_call_waiting(struct pbx *p, long long user_id, bool on);

#endif
