/*
 * pbx_route — where a call goes (DESIGN.md §5): the dialled number
 * resolves to a destination (pbx_route_resolve: the feature codes, then
 * the extensions), and the route moves the call from destination to
 * destination as their legs fail (an extension's devices do not answer →
 * its voicemail). Each destination kind is one row of a table in its own
 * file (pbx_dest_ext.c, pbx_dest_vm.c, pbx_dest_feature.c, pbx_dest_code.c:
 * the codes that change a setting); what it may do
 * with the call — ring an extension's devices, answer the caller with a
 * media-engine session running an application — pbx_call.c offers below.
 * The SIP dialogs stay pbx_call.c's alone.
 */
#ifndef PBX_ROUTE_H
#define PBX_ROUTE_H

#include <stdbool.h>

#include "../sip/sip_msg.h"
#include "pbx.h"
#include "pbx_dialpat.h"
#include "pbx_vm.h"

#define PBX_ROUTE_MAX_STEPS 8 /* destinations one call may pass through */

struct pbx_call;
struct pbx_dest;

#define PBX_HUNT_MAX 32 /* = PBX_GROUP_MAX_MEMBERS (pbx_group.h) */

/* A ring group's hunt through its members (pbx_dest_group.c). */
struct pbx_group_hunt {
	long long group_id;
	int strategy; /* enum pbx_group_strategy */
	int n, next;  /* members in the order they are tried; the next to try */
	long long users[PBX_HUNT_MAX];
	int ring[PBX_HUNT_MAX]; /* s, each member's ring time */
	time_t deadline;	/* the group's timeout */
	char fallback_type[16], fallback_target[72];
};

#define PBX_OUT_TRUNKS 8 /* = PBX_OUT_MAX_TRUNKS (pbx_outbound.h) */

/* An outside number's way out (pbx_dest_out.c). */
struct pbx_out_plan {
	char number[PBX_DIALPAT_LEN + 1]; /* as dialled, the route's strip/prepend applied */
	char e164[24];			  /* its E.164 form, "" if it has none */
	long long trunks[PBX_OUT_TRUNKS]; /* in the order they are tried */
	int ntrunks, next;		  /* the next to try */
	bool emergency, allowed, clir;
	char caller_id[32]; /* the user's own number, "" for the trunk's */
};

/* Why a destination's legs gave up. */
enum pbx_outcome {
	PBX_OUT_NOANSWER,    /* rang for its time */
	PBX_OUT_BUSY,	     /* every device 486/600 */
	PBX_OUT_DECLINED,    /* a device said 603 and none answered */
	PBX_OUT_UNAVAILABLE, /* nothing to ring */
};

/* A failed call's answer to the caller. */
struct pbx_route_fail {
	int status;	    /* SIP status, e.g. 480 */
	const char *reason; /* its phrase, or NULL for the standard one */
	const char *cause;  /* the call record's cause, e.g. "no_answer" */
};

struct pbx_dest_kind {
	const char *name; /* "extension", "voicemail", "feature" */
	/* Starts the destination on the call: 0 (legs are up or ringing, or
	 * the route moved on through pbx_route_enter), or -1 with *fail set:
	 * the call fails with that answer. */
	int (*enter)(struct pbx_call *c, const struct pbx_dest *d, struct pbx_route_fail *fail);
	/* Its legs gave up: 1 with the next destination in *next, or 0 with
	 * *fail set, or 2: it rings anew itself (a ring group's next member).
	 * NULL: the call fails as the outcome says. */
	int (*failed)(struct pbx_call *c, const struct pbx_dest *d, enum pbx_outcome o,
		      struct pbx_dest *next, struct pbx_route_fail *fail);
};

/* A destination: its kind and what that kind needs. */
struct pbx_dest {
	const struct pbx_dest_kind *kind;
	long long user_id; /* extension, voicemail, feature (-1: none) */
	char extension[72], name[128];
	enum pbx_vm_reason reason;    /* voicemail: which greeting */
	bool ask_pin;		      /* feature *98 */
	bool vm_enabled;	      /* extension: its mailbox is on */
	bool dnd;		      /* extension: do not disturb */
	int ring_time;		      /* extension: s */
	const char *via;	      /* why the route came here (a forward: "always", "busy",
				       * "noanswer", "unavailable"; "dnd"), for the path; or NULL */
	const char *prompt;	      /* pbx_dest_say: the catalogue name it says */
	struct pbx_group_hunt group;  /* a ring group */
	struct pbx_out_plan outbound; /* an outside number */
};

extern const struct pbx_dest_kind pbx_dest_ext, pbx_dest_vm, pbx_dest_feature, pbx_dest_code,
	pbx_dest_pickup;
extern const struct pbx_dest_kind pbx_dest_group, pbx_dest_group_code;
/* pbx_dest_out.c: what matches an outbound route (or an emergency number). */
extern const struct pbx_dest_kind pbx_dest_out;
int pbx_dest_out_resolve(struct pbx *p, struct sip_pl dialled, long long caller_id,
			 struct pbx_dest *out);

/* An extension the call reached, and why it left it: a forward's kind
 * ("always", "busy", "noanswer", "unavailable"), or NULL while there. */
struct pbx_route_hop {
	long long user_id;
	char ext[72], name[128];
	const char *reason;
};

/* The route of one call, inside struct pbx_call. */
struct pbx_route {
	struct pbx_dest cur;
	int steps;
	char path[512]; /* for the call record: the destinations so far, '>' between,
			 * each "kind:extension" and "(why)" when a forward brought it there */
	struct pbx_route_hop hops[PBX_ROUTE_MAX_STEPS]; /* extensions reached, oldest first */
	int nhops;
};

/* The headers an INVITE towards the current destination's devices carries
 * for a forwarded call: Diversion (RFC 5806) and History-Info (RFC 7044)
 * naming each forwarding hop and its reason, each line ending in CRLF; ""
 * for a call not forwarded. domain: the phone system's name. */
void pbx_route_headers(const struct pbx_route *r, const char *domain, char *out, size_t cap);

/* What the caller dialled (the Request-URI's user part) → a destination:
 * 0, or -1 (no such number: 404). caller_id the authenticated caller. */
int pbx_route_resolve(struct pbx *p, struct sip_pl dialled, long long caller_id,
		      struct pbx_dest *out);
int pbx_dest_feature_resolve(struct pbx *p, struct sip_pl dialled, long long caller_id,
			     struct pbx_dest *out);
int pbx_dest_ext_resolve(struct pbx *p, struct sip_pl dialled, long long caller_id,
			 struct pbx_dest *out);
/* pbx_dest_park.c: 700 parks (a call transferred to it), 701-720 retrieve;
 * park_timeout the setting (s, 1-3600, default 60) before a parked call
 * rings its parker again. */
extern const struct pbx_dest_kind pbx_dest_park, pbx_dest_parked;
int pbx_dest_park_resolve(struct pbx *p, struct sip_pl dialled, long long caller_id,
			  struct pbx_dest *out);
int pbx_park_timeout(struct pbx *p);
/* A park slot's number (701-720) if user is one, else -1; the dialogs of
 * what is parked there (0 or 1) for BLF, as pbx_calls_user_dialogs. */
struct pbx_call_dialog;
int pbx_park_slot_of(struct sip_pl user);
/* The park code or a slot (700-720): no user or group may have it. */
bool pbx_park_reserved(const char *ext);
int pbx_park_dialogs(struct pbx *p, int number, struct pbx_call_dialog *out, int max);
/* Attended park: c is a parker's own call to 700 holding a reserved slot
 * (its route's current destination: the park, with the slot's number).
 * A transfer naming c's dialog (REFER or INVITE with Replaces) sends the
 * party to that destination — it takes the slot — and then ends c. */
bool pbx_park_consultation(struct pbx_call *c);
int pbx_dest_code_resolve(struct pbx *p, struct sip_pl dialled, long long caller_id,
			  struct pbx_dest *out);
/* pbx_dest_group.c: a ring group by its extension; the codes *45 and *46 (+ group). */
int pbx_dest_group_resolve(struct pbx *p, struct sip_pl dialled, long long caller_id,
			   struct pbx_dest *out);
int pbx_dest_group_code_resolve(struct pbx *p, struct sip_pl dialled, long long caller_id,
				struct pbx_dest *out);
/* pbx_dest_pickup.c: *8 and **<ext> */
int pbx_dest_pickup_resolve(struct pbx *p, struct sip_pl dialled, long long caller_id,
			    struct pbx_dest *out);
/* The voicemail of user_id, as reached for reason. */
void pbx_dest_vm_of(struct pbx_dest *out, long long user_id, const char *extension,
		    const char *name, enum pbx_vm_reason reason);

/* Moves the call to d (counted against PBX_ROUTE_MAX_STEPS): 0, or -1 with
 * *fail set — then the caller is answered so by pbx_call. */
int pbx_route_enter(struct pbx_call *c, const struct pbx_dest *d, struct pbx_route_fail *fail);
/* The current destination's legs gave up: the route goes on (0), or the
 * call fails (-1, *fail set). */
int pbx_route_failed(struct pbx_call *c, enum pbx_outcome o, struct pbx_route_fail *fail);

/* ---- what pbx_call.c offers destinations ---- */

struct pbx *pbx_call_pbx(const struct pbx_call *c);
struct pbx_route *pbx_call_route(struct pbx_call *c);
/* The authenticated caller: extension, display name, the caller's Call-ID. */
void pbx_call_caller(const struct pbx_call *c, const char **ext, const char **name,
		     const char **call_id);
long long pbx_call_caller_id(const struct pbx_call *c);
/* Names the callee in the call record and the list of calls. */
void pbx_call_set_callee(struct pbx_call *c, const char *ext, const char *name);
/* Rings user_id's registered devices for at most seconds (the caller's
 * Expires may cut it shorter); ringing that ends goes to pbx_route_failed.
 * The number of devices rung (0: none registered). Called again while
 * ringing, it adds another user's devices to those ringing (a ring group
 * rings its members at once, or one after the other); the ringing time is
 * the last call's. */
int pbx_call_ring(struct pbx_call *c, long long user_id, int seconds);
/* pbx_dest_in.c, for a call a carrier sent on trunk_id (X-Zentrale-Trunk):
 * the caller's number (E.164 where it converts) and name (the phonebook's,
 * else the carrier's display name, else ""); and the destination of the
 * number it called (into called): 0, or -1 with *fail set (404). */
void pbx_inbound_caller(struct pbx *p, const struct sip_msg *m, char *number, size_t ncap,
			char *name, size_t namecap);
int pbx_inbound_dest(struct pbx *p, long long trunk_id, const struct sip_msg *m, struct pbx_dest *d,
		     struct pbx_route_fail *f, char *called, size_t cap);

/* A leg to a carrier over one of the phone system's trunks, through the
 * SBC (Route <sip:trunk.ID@sbc.invalid;lr>): the Request-URI, From (no
 * tag), To, the caller-ID lines (P-Asserted-Identity…, Privacy), the
 * number called outside for the call record. A 401/407 is answered once
 * with the trunk's credentials. 0, or -1 (nothing sent). */
struct pbx_trunk_leg {
	long long trunk_id;
	const char *ruri, *from, *to, *headers, *external;
};
int pbx_call_ring_trunk(struct pbx_call *c, const struct pbx_trunk_leg *t);
/* The final status of the last trunk leg that failed (0: none). */
int pbx_call_trunk_status(const struct pbx_call *c);
/* 1 if user_id is in an answered call (pbx_calls_user_busy). */
int pbx_call_user_busy(const struct pbx_call *c, long long user_id);

/* An application on a media-engine session: started on the caller's ACK
 * of our 200; what it returns is the call's until the call ends. */
typedef struct pbx_vm_app *(*pbx_call_app_start)(struct pbx_call *c, struct pbx_msess *s,
						 const struct pbx_dest *d,
						 const struct pbx_vm_app_cb *cb);
/* Answers the caller with a session of the media engine (cancelling what
 * still rings) and runs start on it once the caller's ACK has come (a
 * caller already answered, as after pbx_call_reroute, is re-INVITEd with
 * the engine's offer instead, and start runs on its answer); the
 * call record's cause is `cause`. 0, or -1 with *fail set (no common
 * codec: 488; no engine or port: 503). */
int pbx_call_app(struct pbx_call *c, pbx_call_app_start start, const char *cause,
		 struct pbx_route_fail *fail);

/* pbx_dest_code.c: "answer, say, hang up" for a feature code that changed
 * a setting: the caller is answered by the media engine, hears prompt (a
 * name from the catalogue, pbx_prompt_cat.c, e.g. "activated"; a string
 * that lives as long as the call) and the pbx hangs up. The call record's
 * cause is `cause`. As pbx_call_app: 0, or -1 with *fail set. */
int pbx_dest_say(struct pbx_call *c, const char *prompt, const char *cause,
		 struct pbx_route_fail *fail);
/* ---- re-joining legs: transfer, pickup, park (pbx_call.c) ----
 *
 * Media is the SBC's, not anchored here: two legs are joined by RFC 3725
 * third-party call control — one side is re-INVITEd without SDP, its offer
 * goes to the other side (a re-INVITE or the answer to a new INVITE), and
 * the answer comes back in the ACK. A "party" is one answered leg of a
 * call: the caller's leg or the device's that answered. Whenever a party
 * moves, the call it leaves ends with its own record (the cause given
 * here: "transferred", "picked_up", "parked", ...) and the call it joins
 * is a new pairing with its own record, linked (cdrs.linked_call_id) to
 * the Call-ID of the call it came from. Calls end at any turn of the event
 * loop: keep their numbers (pbx_call_id), not pointers, across turns. */

enum pbx_party {
	PBX_PARTY_CALLER, /* the leg of the call's caller (its a leg) */
	PBX_PARTY_CALLEE, /* the leg that answered it */
};

/* A call's number (as in the list of calls in progress), and the call of
 * a number, NULL once it has ended (or never was). */
unsigned long long pbx_call_id(const struct pbx_call *c);
struct pbx_call *pbx_call_find(struct pbx *p, unsigned long long id);
/* The call is up: answered by a device or by the media engine. */
bool pbx_call_answered(const struct pbx_call *c);
/* The transferor whose REFER made c (pbx_call_reroute), still told of
 * its progress: its user and extension (-1 and "" if none); the reason
 * phrase of its final 2xx NOTIFY ("Parked at 701"; default "OK"). */
long long pbx_call_transferor(const struct pbx_call *c, const char **ext);
void pbx_call_set_xfer_reason(struct pbx_call *c, const char *reason);
/* The user and extension of a party's leg (user -1 and "" if none). */
long long pbx_call_party_user(const struct pbx_call *c, enum pbx_party who, const char **ext);

/* Re-route (blind transfer, park, a parked call ringing its parker
 * again): the answered party `who` of c leaves c for destination d, as if
 * it had dialled d. Its leg moves into a new call — whose caller it is,
 * already answered — and that call's route enters d: the devices d rings
 * get an INVITE without SDP, and the one that answers is joined to the
 * party (its offer to the party in a re-INVITE, the party's answer in the
 * device's ACK); a destination answering by pbx_call_app or
 * pbx_call_hold_music re-INVITEs the party with the engine's offer. While
 * d rings the party keeps its old media (silence). If d fails, the party
 * gets a BYE (the new call's record has d's cause). The rest of c ends: its
 * other leg gets a BYE (a transferor is told by NOTIFY first), its media
 * application is freed, its record has `cause`. Returns the new call, or
 * NULL with *fail set (d refused at once: c is unchanged). */
struct pbx_call *pbx_call_reroute(struct pbx_call *c, enum pbx_party who, const struct pbx_dest *d,
				  const char *cause, struct pbx_route_fail *fail);

/* Connect (park retrieval, INVITE with Replaces of a confirmed dialog):
 * the caller of c — a new call, not yet answered, typically inside a
 * destination's enter — is joined to the answered party `who` of call
 * `from`. The party's leg moves into c as the leg that answered: it is
 * re-INVITEd with c's offer and its answer goes to c's caller in our 200
 * (c's INVITE had no SDP: re-INVITEd without, its offer in our 200, the
 * caller's answer from the ACK in its ACK). `from` ends with `cause`: its
 * other leg gets a BYE, its media application is freed. The party's
 * re-INVITE failing ends c (the caller hears the failure) and BYEs the
 * party. 0, or -1 with *fail set (no such answered party: 481). */
int pbx_call_connect(struct pbx_call *c, struct pbx_call *from, enum pbx_party who,
		     const char *cause, struct pbx_route_fail *fail);

/* Pickup (*8, **<ext>, INVITE with Replaces of an early dialog): the
 * caller of c — new, not yet answered — takes over the call `ringing`,
 * whose devices still ring: they are cancelled, `ringing`'s caller is
 * answered by the media engine for a moment and then connected to c's
 * caller as pbx_call_connect does. `ringing` ends with "picked_up"; c's
 * record is linked to it and c's answered_by is the picker. 0, or -1 with
 * *fail set (not ringing any more: 481; no media engine: 503). */
int pbx_call_pickup(struct pbx_call *c, struct pbx_call *ringing, struct pbx_route_fail *fail);
/* The call to pick up for caller_id: the longest-ringing call whose
 * devices ring at user_id (>= 0), or else, user_id -1, at any user other
 * than the caller whose users.pickup_group is `group` (non-empty). NULL if
 * none. A caller never picks up its own call. */
struct pbx_call *pbx_call_ringing_at(struct pbx *p, long long caller_id, long long user_id,
				     const char *group);

/* Hold with music (park): the caller of c — answered, as after
 * pbx_call_reroute — is re-INVITEd with an offer of the media engine and
 * hears `first` (a prompt, or NULL) and then music on hold, looped, until
 * it is moved on (pbx_call_connect, pbx_call_reroute) or hangs up. The call
 * counts as answered by the pbx; its record's cause is `cause`. 0, or -1
 * with *fail set (no engine or port: 503). */
struct media_pcm;
int pbx_call_hold_music(struct pbx_call *c, const struct media_pcm *first, const char *cause,
			struct pbx_route_fail *fail);

#endif
