/*
 * pbx_call — the B2BUA: the SIP dialogs of calls. A caller's INVITE
 * (authenticated by digest like REGISTER) gets a route (pbx_route.h): what
 * was dialled resolves to a destination, which asks for legs — one
 * outgoing leg per registered device of a user, sent back through the SBC
 * on the path the device registered with (the first to answer gets the
 * call, the others are cancelled), or a local media-engine session
 * answering the caller itself (voicemail, the mailbox menu), whose
 * application starts on the caller's ACK and whose end is our BYE.
 * Provisional answers, BYE, CANCEL and in-dialog requests cross from one
 * leg to the other; a phone that holds (RFC 6337) is answered by the pbx
 * and the other phone hears music from the engine until the resume, which
 * is relayed. SIP INFO digits on an engine leg go to its session. Each
 * call leaves one call-detail record in pbx.db. Media between phones is
 * not ours: the SBC relays it and rewrites the SDP in passing.
 */
#ifndef PBX_CALL_H
#define PBX_CALL_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <jansson.h>

#include "../sip/sip_msg.h"
#include "pbx_registrar.h"

#define PBX_RING_TIMEOUT 60 /* s: ringing longer ends with 480 No Answer */
#define PBX_MAX_FORKS	 PBX_REG_MAX_BINDINGS
/* calls at once: as many as a media range of 32,768 ports relays (4 ports a call) */
#define PBX_MAX_CALLS 8192

struct pbx;
struct pbx_calls;

/* send: writes a whole SIP message towards the SBC. */
struct pbx_calls *pbx_calls_new(struct pbx *p, struct event_base *base,
				void (*send)(void *ctx, const char *buf, size_t len), void *ctx);
void pbx_calls_free(struct pbx_calls *cs);
/* A request other than REGISTER and OPTIONS, as the SBC passed it on. */
void pbx_calls_request(struct pbx_calls *cs, const struct sip_msg *m,
		       const struct pbx_reg_source *src);
void pbx_calls_response(struct pbx_calls *cs, const struct sip_msg *m);
/* The SBC saw no media for a call leg with this Call-ID: end the call. */
void pbx_calls_media_timeout(struct pbx_calls *cs, struct sip_pl call_id);
/* The SBC turned the other side's RFC 4733 digit into this
 * application/dtmf-relay body for the leg call_id (a trunk that takes DTMF
 * as INFO): sent as an INFO in that leg's dialog, if it is answered. */
void pbx_calls_dtmf_info(struct pbx_calls *cs, struct sip_pl call_id, struct sip_pl body);
int pbx_calls_active(const struct pbx_calls *cs);
/* One dialog of a user's device, as the dialog event package shows it
 * (pbx_blf.h); the strings are the call's, valid until it next changes. */
struct pbx_call_dialog {
	const char *call_id;
	char device_tag[64];	      /* the device's tag; "" before it sent one */
	const char *pbx_tag;	      /* ours in that dialog */
	bool outgoing;		      /* the device called (initiator), else it is rung */
	int state;		      /* enum sip_dinfo_state */
	const char *peer, *peer_name; /* the other party: extension, display name */
};
/* The dialogs of user_id's devices in calls (those ended but lingering
 * too, as terminated): how many were written to out (at most max). */
int pbx_calls_user_dialogs(const struct pbx_calls *cs, long long user_id,
			   struct pbx_call_dialog *out, int max);
/* 1 if user_id is in a call: one of the user's devices answered a call in
 * progress, or the user is the caller of an answered one; else 0. (Call
 * waiting off: such a user is busy to a new call.) */
int pbx_calls_user_busy(const struct pbx_calls *cs, long long user_id);
/* The calls in progress (not those ended): [{"id", "state" ("ringing",
 * "answered"), "start", "answer", "codec", "caller": {"extension", "name",
 * "srtp"}, "callee": {...}}]; srtp null where not known (yet). */
json_t *pbx_calls_list(const struct pbx_calls *cs);
/* Ends a call in progress on both sides as the administrator who: BYE to
 * answered legs, CANCEL to ringing devices and 487 to a ringing caller, each
 * with a Reason header (RFC 3326); its record says "admin_hangup".
 * 0, or -1 if there is no such call in progress. */
int pbx_calls_hangup(struct pbx_calls *cs, unsigned long long id, const char *who);

/* pbx_calls_api.c: GET /api/v1/calls/active, DELETE /api/v1/calls/active/<id>;
 * rest is what follows ".../active" in the path. */
struct core_httpd_req;
void pbx_calls_api_handle(struct pbx *p, struct core_httpd_req *req, const char *rest);

/* pbx_cdr.c: call-detail records. */
struct pbx_cdr {
	const char *call_id, *caller, *caller_name, *callee, *cause;
	const char *path;	 /* the destinations it went through, e.g. "201>202(busy)>vm:202" */
	const char *answered_by; /* the extension whose device answered, or "" */
	const char *linked;	 /* the Call-ID of the call it came from (transfer...), or "" */
	time_t start, answer, end; /* answer 0: never answered */
	int status;		   /* the final answer to the caller */
	const char *direction;	   /* "internal", "inbound" (from a trunk), "outbound" */
	long long trunk_id;	   /* the trunk it went over, 0: none */
	const char *external;	   /* the outside number (E.164 where known), "" */
};
int pbx_cdr_write(sqlite3 *db, const struct pbx_cdr *r);
/* The newest first: [{"id","call_id","caller","caller_name","callee","start","answer",
 * "end","duration","cause","status","path","answered_by","linked_call_id",
 * "direction","trunk_id","external_number"}]. */
json_t *pbx_cdr_list(sqlite3 *db, int limit, int offset);
/* The same, only calls where ext called, was called or answered (a user's own). */
json_t *pbx_cdr_list_ext(sqlite3 *db, const char *ext, int limit, int offset);

#endif
