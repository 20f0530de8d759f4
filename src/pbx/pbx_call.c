/* pbx_call — see pbx_call.h. RFC 3261 §12-§15 from both ends of a B2BUA. */
#include "pbx_call.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../sdp/sdp.h"
#include "../sdp/sdp_hold.h"
#include "../sip/sip_build.h"
#include "../sip/sip_dialog.h"
#include "../sip/sip_dialoginfo.h"
#include "../sip/sip_dtmf.h"
#include "../sip/sip_hdr.h"
#include "../sip/sip_refer.h"
#include "pbx.h"
#include "pbx_blf.h"
#include "pbx_media.h"
#include "pbx_prompts.h"
#include "pbx_route.h"
#include "pbx_trunk.h"
#include "pbx_vm.h"

#define HDR_MAX		 1024
#define PBX_CALL_MSG_MAX 65536
#define CALL_BUCKETS	 8192 /* a power of two */
/* b legs over a call's life: a ring group rings members at once or one
 * after another (a member's devices each) */
#define CALL_MAX_LEGS (4 * PBX_MAX_FORKS)

enum leg_state { LEG_CALLING, LEG_EARLY, LEG_ANSWERED, LEG_DONE };

/* One dialog: with the caller (leg a) or with one device of the callee. */
struct leg {
	struct pbx_call *c;
	struct leg *hnext; /* in the Call-ID index */
	enum leg_state state;
	bool cancel;	     /* to be cancelled once it has answered provisionally */
	struct sip_dialog d; /* Call-ID: ours on b legs, the caller's on a */
	char branch[48];     /* b: our INVITE */
	uint32_t invite_cseq;
	signed char srtp;   /* the phone speaks SRTP with the SBC: 1, 0, or -1 not known */
	bool holds;	    /* this leg's phone put the call on hold */
	long long user_id;  /* the user whose device this is (a: the caller) */
	char ext[72];	    /* that user's extension */
	bool reinvite;	    /* b: a dialog moved in from another call, re-INVITEd */
	long long trunk_id; /* a carrier's leg over this trunk; 0: a device's */
	bool authed;	    /* b to a carrier: its 401/407 was answered once */
	char *invite;	    /* b to a carrier: our INVITE, to send again with credentials */
	size_t invite_len;
};

enum call_state { CALL_RINGING, CALL_ANSWERED, CALL_ENDED };

struct pbx_call {
	struct pbx_calls *cs;
	struct pbx_call *prev, *next;
	struct ctx *ctxs; /* our requests still unanswered */
	enum call_state state;
	struct leg a;
	struct leg *b[CALL_MAX_LEGS];
	int nb;
	struct leg *answered;
	char *invite; /* the caller's INVITE, to answer it */
	size_t invite_len;
	char a_rr[HDR_MAX]; /* Record-Route lines to echo to the caller */
	char caller[72], caller_name[128], callee[72], callee_name[128];
	char answered_by[72];	     /* the extension whose device answered */
	char linked[SIP_DIALOG_HDR]; /* the Call-ID of the call this one came from, or "" */
	unsigned long long id;	     /* for the list of calls in progress */
	char codec[48];		     /* the first of the answer's audio formats, e.g. "PCMU/8000" */
	const char *reason;	     /* a Reason header for our BYEs and CANCELs, or NULL */
	time_t start, answer;
	bool early_sent;     /* a 183 with SDP went to the caller */
	bool late_offer;     /* the caller's INVITE had no SDP */
	struct leg *ack_leg; /* an ACK owed to this leg, with the SDP of the other's ACK */
	uint32_t ack_cseq;
	bool busy, declined; /* what failed devices said */
	struct event *timer; /* ringing too long; later: linger before freeing */
	long long caller_id; /* the authenticated caller */
	int expires;	     /* s: the caller's Expires, or 0 */
	struct pbx_route route;
	/* a media-engine leg instead of a device (voicemail, the mailbox menu) */
	int rung; /* devices the last pbx_call_ring reached */
	struct pbx_msess *ms;
	struct pbx_vm_app *app;
	pbx_call_app_start app_start; /* to run on the caller's ACK */
	const char *app_cause;
	struct pbx_msess *moh;	/* music towards moh_leg while the other leg holds */
	struct pbx_msess *held; /* the engine's answer to the holding phone */
	struct leg *moh_leg;
	/* re-joined legs (transfer, pickup, park: RFC 3725) */
	bool a_up;		      /* the caller's leg came answered from another call */
	struct leg *join_b;	      /* answered with an offer that went to a: owed the ACK */
	uint32_t join_cseq;	      /* of join_b's INVITE */
	struct leg *xfer_by;	      /* the transferor, told by NOTIFY (RFC 3515) */
	bool xfer_done;		      /* its final NOTIFY went */
	char referred_by[200];	      /* a Referred-By line for the INVITEs (RFC 3892) */
	unsigned long long pickup_by; /* the call that picks this one up, on our ACK */
	const struct media_pcm *hold_first; /* pbx_call_hold_music: the prompt first */
	char xfer_reason[64];		    /* the final 2xx sipfrag's phrase, "" for "OK" (park) */
	/* with the outside world: the call record's direction, trunk, number */
	const char *direction; /* "internal" (NULL), "inbound", "outbound" */
	long long trunk_id;
	char external[40];
	int trunk_status; /* the last trunk leg's failure (pbx_call_trunk_status) */
};

/* A request we sent, until its final answer. */
enum ctx_kind {
	CTX_INVITE,
	CTX_CANCEL,
	CTX_BYE,
	CTX_RELAY,
	CTX_MOH,
	CTX_JOIN,   /* re-INVITE of a with join_b's offer */
	CTX_APP,    /* re-INVITE of a with the engine's offer (a_up) */
	CTX_NOTIFY, /* to a transferor */
};
struct ctx {
	struct ctx *next;  /* of the call */
	struct ctx *hnext; /* in the branch index */
	enum ctx_kind kind;
	char branch[48], method[16];
	struct pbx_call *c;
	struct leg *leg;
	char *orig; /* CTX_RELAY: the request from the other leg, to answer */
	size_t orig_len;
};

struct pbx_calls {
	struct pbx *p;
	struct event_base *base;
	void (*send)(void *ctx, const char *buf, size_t len);
	void *send_ctx;
	struct pbx_call *calls;
	int ncalls, active;
	unsigned long long next_id;
	struct leg *by_cid[CALL_BUCKETS];
	struct ctx *by_branch[CALL_BUCKETS];
};

static void moh_answered(struct pbx_call *c, struct leg *l, const struct sip_msg *m);
static void xfer_finish(struct pbx_call *c, int status);
static void xfer_notify(struct pbx_call *c, int status, const char *reason, bool final);
static int join_offer(struct pbx_call *c, struct leg *l, const struct sip_msg *m);
static int replaces_invite(struct pbx_call *c, const struct sip_msg *m);
static int app_reinvite(struct pbx_call *c, struct pbx_route_fail *fail);
static void pickup_ack(struct pbx_call *r, const struct sip_msg *m);
static void on_refer(struct pbx_calls *cs, struct pbx_call *c, struct leg *l,
		     const struct sip_msg *m);
static void new_branch(char out[48]);

/* Call-IDs and branches come from the wire: a keyed hash, the key this
 * process's own (set in pbx_calls_new). */
static unsigned char hash_key[crypto_shorthash_KEYBYTES];

static unsigned hash_pl(struct sip_pl v)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, (const unsigned char *)v.p, v.l, hash_key);
	return (unsigned)(h & (CALL_BUCKETS - 1));
}

static unsigned hash_str(const char *s)
{
	return hash_pl((struct sip_pl){s, strlen(s)});
}

static void leg_index(struct pbx_calls *cs, struct leg *l)
{
	unsigned h = hash_str(l->d.call_id);
	l->hnext = cs->by_cid[h];
	cs->by_cid[h] = l;
}

static void leg_unindex(struct pbx_calls *cs, struct leg *l)
{
	for (struct leg **pp = &cs->by_cid[hash_str(l->d.call_id)]; *pp; pp = &(*pp)->hnext)
		if (*pp == l) {
			*pp = l->hnext;
			return;
		}
}

static void rnd_hex(char *out, size_t bytes)
{
	unsigned char r[16];
	randombytes_buf(r, bytes);
	sodium_bin2hex(out, bytes * 2 + 1, r, bytes);
}

static void cpy(char *dst, size_t cap, struct sip_pl pl)
{
	if (pl.p)
		snprintf(dst, cap, "%.*s", (int)pl.l, pl.p);
	else if (cap)
		dst[0] = '\0';
}

static struct sip_msg *reparse(const char *buf, size_t len)
{
	struct sip_msg *m = malloc(sizeof(*m));
	if (m && sip_msg_parse(m, buf, len, false) != 0) {
		free(m);
		m = NULL;
	}
	return m;
}

static void contact_of(struct pbx_calls *cs, char *out, size_t cap)
{
	snprintf(out, cap, "Contact: <sip:pbx@%s>\r\n", cs->p->name);
}

/* An answer to a request in m. */
static void respond(struct pbx_calls *cs, const struct sip_msg *m, int status, const char *reason,
		    const char *to_tag, const char *extra, struct sip_pl body, struct sip_pl ctype)
{
	static char out[PBX_CALL_MSG_MAX + SIP_ANSWER_MAX];
	/* the other leg's Content-Type, whole */
	char *type = ctype.l ? strndup(ctype.p, ctype.l) : strdup("application/sdp");
	if (!type) {
		log_error("call: out of memory for an answer");
		return;
	}
	struct sip_response_opts o = {.reason = reason,
				      .to_tag = to_tag,
				      .extra_headers = extra,
				      .body = body.l ? body.p : NULL,
				      .body_len = body.l,
				      .content_type = type};
	int n = sip_build_response(m, status, &o, out, sizeof(out));
	free(type);
	if (n > 0)
		cs->send(cs->send_ctx, out, (size_t)n);
	else
		log_warn("call: no room for a %d answer; dropped", status);
}

static void respond_plain(struct pbx_calls *cs, const struct sip_msg *m, int status,
			  const char *tag)
{
	respond(cs, m, status, NULL, tag, NULL, (struct sip_pl){0}, (struct sip_pl){0});
}

/* An answer to the caller's INVITE, as the callee's side of the a leg. */
static void respond_caller(struct pbx_call *c, int status, const char *reason, struct sip_pl body,
			   struct sip_pl ctype)
{
	if (c->a_up || !c->invite)
		return; /* its INVITE was answered in the call it came from */
	struct sip_msg *inv = reparse(c->invite, c->invite_len);
	if (!inv)
		return;
	char extra[HDR_MAX * 3] = "";
	if (status > 100 && status < 300) {
		contact_of(c->cs, extra, sizeof(extra));
		size_t l = strlen(extra);
		snprintf(extra + l, sizeof(extra) - l,
			 "%sAllow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, REFER, NOTIFY\r\n",
			 c->a_rr);
	} else if (status >= 300 && c->reason) {
		snprintf(extra, sizeof(extra), "%s", c->reason);
	}
	respond(c->cs, inv, status, reason, c->a.d.local_tag, extra, body, ctype);
	free(inv);
}

static struct ctx *ctx_add(struct pbx_calls *cs, enum ctx_kind kind, const char *branch,
			   const char *method, struct pbx_call *c, struct leg *l)
{
	struct ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->kind = kind;
	snprintf(x->branch, sizeof(x->branch), "%s", branch);
	snprintf(x->method, sizeof(x->method), "%s", method);
	x->c = c;
	x->leg = l;
	x->next = c->ctxs;
	c->ctxs = x;
	unsigned h = hash_str(x->branch);
	x->hnext = cs->by_branch[h];
	cs->by_branch[h] = x;
	return x;
}

static void ctx_free(struct pbx_calls *cs, struct ctx *x)
{
	for (struct ctx **pp = &x->c->ctxs; *pp; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	for (struct ctx **pp = &cs->by_branch[hash_str(x->branch)]; *pp; pp = &(*pp)->hnext)
		if (*pp == x) {
			*pp = x->hnext;
			break;
		}
	free(x->orig);
	free(x);
}

/* Our request within a leg's dialog (or, for INVITE on a b leg, creating
 * it), written to out: its length, or 0 (logged) when it does not fit. */
static size_t write_request(struct pbx_call *c, struct leg *l, const char *method, uint32_t cseq,
			    const char *branch, const char *extra, struct sip_pl body,
			    struct sip_pl ctype, char *out, size_t cap)
{
	char via[96], contact[256];
	snprintf(via, sizeof(via), "SIP/2.0/TCP pbx.invalid;branch=%s", branch);
	snprintf(contact, sizeof(contact), "<sip:pbx@%s>", c->cs->p->name);
	bool own = strcmp(method, "ACK") && strcmp(method, "CANCEL");
	int n = sip_dialog_request(&l->d, method, cseq, via, own ? contact : NULL, extra, body,
				   ctype, out, cap);
	if (n > 0)
		return (size_t)n;
	log_warn("call %s: a %s does not fit", l->d.call_id, method);
	return 0;
}

/* A request within a leg's dialog (or, for INVITE on a b leg, creating it);
 * cseq 0 takes the leg's next number. */
static void send_request(struct pbx_call *c, struct leg *l, const char *method, uint32_t cseq,
			 const char *branch, const char *extra, struct sip_pl body,
			 struct sip_pl ctype)
{
	static char out[PBX_CALL_MSG_MAX];
	size_t n = write_request(c, l, method, cseq, branch, extra, body, ctype, out, sizeof(out));
	if (n)
		c->cs->send(c->cs->send_ctx, out, n);
}

/* Our INVITE to a carrier, kept on its leg until the final answer. */
static void keep_invite(struct leg *l, const char *msg, size_t n)
{
	free(l->invite);
	if ((l->invite = malloc(n)))
		memcpy(l->invite, msg, n);
	l->invite_len = l->invite ? n : 0;
}

/* send_request for a carrier's INVITE, kept on the leg: a 401/407 gets it
 * again with credentials (pbx_trunk_auth). */
static void send_request_kept(struct pbx_call *c, struct leg *l, const char *method, uint32_t cseq,
			      const char *branch, const char *extra, struct sip_pl body,
			      struct sip_pl ctype)
{
	static char out[PBX_CALL_MSG_MAX];
	size_t n = write_request(c, l, method, cseq, branch, extra, body, ctype, out, sizeof(out));
	if (!n)
		return;
	c->cs->send(c->cs->send_ctx, out, n);
	keep_invite(l, out, n);
}

static void new_branch(char out[48])
{
	char hex[25];
	rnd_hex(hex, 12);
	snprintf(out, 48, "z9hG4bK%s", hex);
}

static void send_bye(struct pbx_call *c, struct leg *l)
{
	char branch[48];
	new_branch(branch);
	if (ctx_add(c->cs, CTX_BYE, branch, "BYE", c, l))
		send_request(c, l, "BYE", 0, branch, c->reason, (struct sip_pl){0},
			     (struct sip_pl){0});
	l->state = LEG_DONE;
}

static void send_ack_body(struct pbx_call *c, struct leg *l, uint32_t cseq, struct sip_pl body,
			  struct sip_pl ctype)
{
	char branch[48];
	new_branch(branch);
	send_request(c, l, "ACK", cseq, branch, NULL, body, ctype);
}

static void send_ack(struct pbx_call *c, struct leg *l, uint32_t cseq)
{
	send_ack_body(c, l, cseq, (struct sip_pl){0}, (struct sip_pl){0});
}

/* A late offer (an INVITE without SDP) gets its answer in the ACK: the ACK
 * of the other leg's 2xx waits for it. */
static void owe_ack(struct pbx_call *c, struct leg *l, uint32_t cseq)
{
	c->ack_leg = l;
	c->ack_cseq = cseq;
}

/* CANCEL has the INVITE's branch, Call-ID, From, To (without tag) and CSeq number. */
static void send_cancel(struct pbx_call *c, struct leg *l)
{
	if (l->state == LEG_CALLING) {
		l->cancel = true; /* RFC 3261 9.1: not before a provisional answer */
		return;
	}
	if (l->state != LEG_EARLY)
		return;
	char remote[HDR_MAX];
	snprintf(remote, sizeof(remote), "%s", l->d.remote);
	char *tag = strstr(l->d.remote, ";tag=");
	if (tag)
		*tag = '\0';
	if (ctx_add(c->cs, CTX_CANCEL, l->branch, "CANCEL", c, l))
		send_request(c, l, "CANCEL", l->invite_cseq, l->branch, c->reason,
			     (struct sip_pl){0}, (struct sip_pl){0});
	snprintf(l->d.remote, sizeof(l->d.remote), "%s", remote);
	l->state = LEG_DONE;
}

/* The media leg's application and session, freed in that order (the app
 * stores a message being recorded). */
static void app_end(struct pbx_call *c)
{
	if (c->app)
		pbx_vm_app_free(c->app);
	c->app = NULL;
	if (c->ms)
		pbx_msess_free(c->ms);
	c->ms = NULL;
}

static void moh_end(struct pbx_call *c)
{
	if (c->moh)
		pbx_msess_free(c->moh);
	if (c->held)
		pbx_msess_free(c->held);
	c->moh = c->held = NULL;
	c->moh_leg = NULL;
}

static void call_free(struct pbx_call *c)
{
	struct pbx_calls *cs = c->cs;
	if (c->prev)
		c->prev->next = c->next;
	else
		cs->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	cs->ncalls--;
	if (c->state != CALL_ENDED)
		cs->active--;
	while (c->ctxs)
		ctx_free(cs, c->ctxs);
	leg_unindex(cs, &c->a);
	for (int i = 0; i < c->nb; i++) {
		leg_unindex(cs, c->b[i]);
		free(c->b[i]->invite);
		free(c->b[i]);
	}
	if (c->xfer_by) {
		leg_unindex(cs, c->xfer_by);
		free(c->xfer_by);
	}
	moh_end(c);
	if (c->timer)
		event_free(c->timer);
	app_end(c);
	free(c->invite);
	free(c);
}

static void on_linger(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	call_free(arg);
}

/* The legs of c changed: their users' watchers hear of it (pbx_blf.h). */
static void blf_changed(struct pbx_call *c)
{
	pbx_blf_user_changed(c->cs->p, c->a.user_id);
	for (int i = 0; i < c->nb; i++)
		if (c->b[i]->user_id != c->a.user_id &&
		    (i == 0 || c->b[i]->user_id != c->b[i - 1]->user_id))
			pbx_blf_user_changed(c->cs->p, c->b[i]->user_id);
}

/* users.last_call_end of both parties of an answered call. */
static void note_call_end(sqlite3 *db, long long a, long long b, time_t end)
{
	sqlite3_stmt *st =
		core_db_stmt(db, "UPDATE users SET last_call_end=?1 WHERE id IN (?2, ?3)");
	if (!st)
		return;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)end);
	sqlite3_bind_int64(st, 2, a);
	sqlite3_bind_int64(st, 3, b);
	sqlite3_step(st);
	sqlite3_reset(st);
}

/* The call is over: its record is written; it lingers while a device that
 * was being cancelled might still answer. */
static void call_end(struct pbx_call *c, const char *cause, int status)
{
	if (c->state == CALL_ENDED)
		return;
	if (!cause)
		cause = "failed";
	xfer_finish(c, c->answer ? 200 : status >= 300 ? status : 487);
	c->state = CALL_ENDED;
	c->cs->active--;
	moh_end(c);
	struct pbx_cdr r = {.call_id = c->a.d.call_id,
			    .caller = c->caller,
			    .caller_name = c->caller_name,
			    .callee = c->callee,
			    .cause = cause,
			    .start = c->start,
			    .answer = c->answer,
			    .end = time(NULL),
			    .status = status,
			    .path = c->route.path,
			    .answered_by = c->answered_by,
			    .linked = c->linked,
			    .direction = c->direction ? c->direction : "internal",
			    .trunk_id = c->trunk_id,
			    .external = c->external};
	/* the record and the parties' last call end in one commit */
	sqlite3 *db = c->cs->p->db;
	bool tx = c->answered && core_db_begin(db) == 0;
	pbx_cdr_write(db, &r);
	if (c->answered) /* for a ring group's longest idle member */
		note_call_end(db, c->a.user_id, c->answered->user_id, r.end);
	if (tx)
		core_db_end(db, 1);
	pbx_stats_call_ended(c->cs->p, cause, c->answer != 0);
	if (c->trunk_id && c->direction)
		pbx_stats_trunk_call(c->cs->p, c->trunk_id, c->direction, c->answer != 0,
				     c->answer ? (long long)(r.end - c->answer) : 0);
	/* one line per call at info (its progress is at debug, the record in pbx.db) */
	if (c->answer)
		log_info("call %s: %s → %s ended (%s), answered by %s, %lld s", c->a.d.call_id,
			 c->caller, c->callee, cause,
			 c->answered_by[0] ? c->answered_by : c->callee,
			 (long long)(r.end - c->answer));
	else
		log_info("call %s: %s → %s ended (%s)", c->a.d.call_id, c->caller, c->callee,
			 cause);
	blf_changed(c);
	if (c->timer)
		event_free(c->timer);
	c->timer = event_new(c->cs->base, -1, 0, on_linger, c);
	bool may_answer = false;
	for (int i = 0; i < c->nb; i++)
		may_answer =
			may_answer || c->b[i]->state == LEG_CALLING || c->b[i]->state == LEG_EARLY;
	/* freed on the next turn of the loop, or after 64*T1 if a device
	 * might still answer (it gets ACK and BYE then) */
	struct timeval linger = {.tv_sec = may_answer ? 32 : 0};
	if (c->timer)
		event_add(c->timer, &linger);
}

static const char *cause_of(int status)
{
	switch (status) {
	case 404:
		return "not_found";
	case 480:
		return "unavailable";
	case 486:
	case 600:
		return "busy";
	case 603:
		return "declined";
	case 487:
		return "cancelled";
	default:
		return "failed";
	}
}

/* The route could not go on: the caller hears why. */
static void route_fail(struct pbx_call *c, const struct pbx_route_fail *f)
{
	if (c->a_up && c->a.state == LEG_ANSWERED)
		send_bye(c, &c->a); /* a re-routed party: nowhere to go */
	respond_caller(c, f->status, f->reason, (struct sip_pl){0}, (struct sip_pl){0});
	call_end(c, f->cause ? f->cause : cause_of(f->status), f->status);
}

/* Every device failed: the route goes on (voicemail), or the caller hears
 * the most telling reason. */
static void all_failed(struct pbx_call *c, bool busy, bool declined)
{
	struct pbx_route_fail f;
	c->busy = c->declined = false; /* for the next destination that rings */
	if (pbx_route_failed(c,
			     declined ? PBX_OUT_DECLINED
			     : busy   ? PBX_OUT_BUSY
				      : PBX_OUT_UNAVAILABLE,
			     &f) < 0)
		route_fail(c, &f);
}

static void on_ring_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct pbx_call *c = arg;
	(void)fd;
	(void)what;
	if (c->state != CALL_RINGING)
		return;
	for (int i = 0; i < c->nb; i++)
		send_cancel(c, c->b[i]);
	struct pbx_route_fail f;
	if (pbx_route_failed(c, PBX_OUT_NOANSWER, &f) < 0)
		route_fail(c, &f);
	blf_changed(c);
}

/* ---- what the list of calls in progress shows ---- */

/* The SBC marks an SDP it relayed from a phone with the phone's own media
 * profile (sbc_sip_relay.c, media_mark): we see plain RTP either way. */
static void note_media(struct leg *l, const struct sip_msg *m)
{
	const struct sip_hdr *h = sip_msg_hdr_named(m, "X-Zentrale-Media");
	if (h)
		l->srtp = sip_pl_eq(h->value, "srtp") ? 1 : sip_pl_eq(h->value, "rtp") ? 0 : -1;
}

/* The codec of an SDP answer: its first audio stream's first format, named
 * by its rtpmap or, for the static payload types, by RFC 3551. */
static void note_codec(struct pbx_call *c, const struct sip_msg *m)
{
	static const struct {
		int pt;
		const char *name;
	} statics[] = {{0, "PCMU/8000"}, {3, "GSM/8000"}, {4, "G723/8000"}, {8, "PCMA/8000"},
		       {9, "G722/8000"}, {13, "CN/8000"}, {18, "G729/8000"}};
	const struct sip_hdr *ct = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
	if (!m->body.l || !ct || ct->value.l < 15 ||
	    strncasecmp(ct->value.p, "application/sdp", 15) != 0)
		return;
	struct sdp_session *sdp = malloc(sizeof(*sdp)); /* large: not on the stack */
	if (!sdp || sdp_parse(sdp, m->body.p, m->body.l) < 0) {
		free(sdp);
		return;
	}
	for (int i = 0; i < sdp->nmedia; i++) {
		const struct sdp_media *md = &sdp->media[i];
		if (!sip_pl_eq(md->type, "audio") || sip_pl_eq(md->port, "0") || md->nfmts < 1)
			continue;
		struct sip_pl pt = md->fmts[0];
		char name[sizeof(c->codec)] = "";
		for (int k = 0; k < md->s.nattrs && !name[0]; k++) {
			const struct sdp_attr *a = &md->s.attrs[k];
			/* a=rtpmap:<pt> <encoding>/<rate>[/<channels>] */
			if (sip_pl_eq(a->name, "rtpmap") && a->value.l > pt.l + 1 &&
			    memcmp(a->value.p, pt.p, pt.l) == 0 && a->value.p[pt.l] == ' ' &&
			    a->value.l - pt.l - 1 < sizeof(name))
				snprintf(name, sizeof(name), "%.*s", (int)(a->value.l - pt.l - 1),
					 a->value.p + pt.l + 1);
		}
		int64_t n = sip_pl_u64(pt, 127);
		for (size_t k = 0; k < sizeof(statics) / sizeof(statics[0]) && !name[0]; k++)
			if (n == statics[k].pt)
				snprintf(name, sizeof(name), "%s", statics[k].name);
		/* a name from the wire: a token (RFC 4566 encoding names), else none */
		for (size_t k = 0; name[k]; k++)
			if (!isalnum((unsigned char)name[k]) && !strchr("./-_+", name[k]))
				name[0] = '\0';
		if (!name[0] && pt.l < sizeof(name) && sip_pl_u64(pt, 127) >= 0)
			snprintf(name, sizeof(name), "%.*s", (int)pt.l, pt.p); /* a payload type */
		snprintf(c->codec, sizeof(c->codec), "%s", name);
		break;
	}
	free(sdp);
}

/* ---- a new call ---- */

/* A display name as a quoted string and a space, or nothing. */
static void quote_display(struct sip_pl d, char *out, size_t cap)
{
	size_t o = 0;
	if (!d.l || cap < 4) {
		out[0] = '\0';
		return;
	}
	out[o++] = '"';
	for (size_t i = 0; i < d.l && o + 4 < cap; i++) {
		unsigned char ch = (unsigned char)d.p[i];
		if (ch < 0x20 || ch == 0x7f)
			continue;
		if (ch == '"' || ch == '\\')
			out[o++] = '\\';
		out[o++] = (char)ch;
	}
	out[o++] = '"';
	out[o++] = ' ';
	out[o] = '\0';
}

/* One b leg per registered device of the callee. */
static void fork_to_devices(struct pbx_call *c, long long user, struct sip_pl body,
			    struct sip_pl ctype, struct sip_pl display,
			    struct sip_pl caller_contact)
{
	struct pbx_calls *cs = c->cs;
	sqlite3_stmt *st =
		core_db_stmt(cs->p->db, "SELECT b.contact, b.path, u.extension FROM "
					"bindings b JOIN users u ON u.id=b.user_id WHERE "
					"b.user_id=? AND b.expires>? ORDER BY b.id");
	if (!st)
		return;
	int before = c->nb;
	sqlite3_bind_int64(st, 1, user);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	/* RFC 3325: the caller as the phone system asserts it (never what the
	 * phone said: a new request, none of its headers); RFC 5806/7044: the
	 * forwards that brought the call here */
	char extra[4 * HDR_MAX], pai[160] = "";
	quote_display((struct sip_pl){c->caller_name, strlen(c->caller_name)}, pai, sizeof(pai));
	int k = snprintf(extra, sizeof(extra),
			 "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, REFER, NOTIFY\r\n%s"
			 "P-Asserted-Identity: %s<sip:%s@%s>\r\n",
			 c->referred_by, pai, c->caller, cs->p->name);
	if (k > 0 && (size_t)k < sizeof(extra))
		pbx_route_headers(&c->route, cs->p->name, extra + k, sizeof(extra) - (size_t)k);
	while (sqlite3_step(st) == SQLITE_ROW && c->nb < CALL_MAX_LEGS) {
		const char *contact = (const char *)sqlite3_column_text(st, 0);
		const char *path = (const char *)sqlite3_column_text(st, 1);
		if (sip_pl_eq(caller_contact, contact))
			continue; /* not the very device that calls */
		struct leg *l = calloc(1, sizeof(*l));
		if (!l)
			break;
		l->c = c;
		l->srtp = -1;
		l->user_id = user;
		snprintf(l->ext, sizeof(l->ext), "%s", (const char *)sqlite3_column_text(st, 2));
		char tag[17], cid[33], from[HDR_MAX], to[256];
		rnd_hex(tag, 8);
		rnd_hex(cid, 16);
		/* the caller as the phone system knows it (the name from the user
		 * list, else what the phone presented), as authenticated */
		char name[160] = "";
		quote_display(c->caller_name[0]
				      ? (struct sip_pl){c->caller_name, strlen(c->caller_name)}
				      : display,
			      name, sizeof(name));
		snprintf(from, sizeof(from), "%s<sip:%s@%s>", name, c->caller, cs->p->name);
		snprintf(to, sizeof(to), "<sip:%s@%s>", c->callee, cs->p->name);
		if (sip_dialog_uac(&l->d, cid, from, tag, to, contact, path ? path : "", 1) < 0) {
			free(l);
			continue;
		}
		l->invite_cseq = 1;
		new_branch(l->branch);
		c->b[c->nb++] = l;
		leg_index(cs, l);
		if (ctx_add(cs, CTX_INVITE, l->branch, "INVITE", c, l))
			send_request(c, l, "INVITE", 1, l->branch, extra, body, ctype);
	}
	sqlite3_reset(st);
	c->rung = c->nb - before;
}

int pbx_call_ring(struct pbx_call *c, long long user_id, int seconds)
{
	c->rung = 0;
	if (c->a_up) { /* a re-routed party: its offer comes after the answer */
		fork_to_devices(c, user_id, (struct sip_pl){0}, (struct sip_pl){0},
				(struct sip_pl){0}, (struct sip_pl){0});
	} else {
		struct sip_msg *m = reparse(c->invite, c->invite_len);
		if (!m)
			return 0;
		struct sip_addr ca, fa;
		struct sip_pl rest;
		sip_addr_parse(&ca, sip_msg_hdr(m, SIP_HDR_CONTACT)->value, &rest);
		sip_addr_parse(&fa, sip_msg_hdr(m, SIP_HDR_FROM)->value, &rest);
		const struct sip_hdr *ct = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
		fork_to_devices(c, user_id, m->body, ct ? ct->value : (struct sip_pl){0},
				fa.display, ca.uri_pl);
		free(m);
	}
	if (c->rung == 0)
		return 0;
	/* RFC 3261 13.3.1: the caller's Expires bounds the ringing too */
	int ring = seconds > 0 ? seconds : PBX_RING_TIMEOUT;
	if (c->expires > 0 && c->expires < ring)
		ring = c->expires;
	if (!c->timer)
		c->timer = event_new(c->cs->base, -1, 0, on_ring_timeout, c);
	struct timeval tv = {.tv_sec = ring};
	if (c->timer)
		event_add(c->timer, &tv);
	log_debug("call %s: %s → %s, ringing %d device(s) for %d s", c->a.d.call_id, c->caller,
		  c->callee, c->rung, ring);
	return c->rung;
}

int pbx_call_ring_trunk(struct pbx_call *c, const struct pbx_trunk_leg *t)
{
	struct pbx_calls *cs = c->cs;
	struct sip_msg *m = c->a_up ? NULL : reparse(c->invite, c->invite_len);
	if (c->nb >= CALL_MAX_LEGS || (!c->a_up && !m)) {
		free(m);
		return -1;
	}
	struct leg *l = calloc(1, sizeof(*l));
	char tag[17], cid[33], route[64], extra[4 * HDR_MAX];
	if (!l) {
		free(m);
		return -1;
	}
	l->c = c;
	l->srtp = -1;
	l->trunk_id = t->trunk_id;
	snprintf(l->ext, sizeof(l->ext), "%s", t->external);
	rnd_hex(tag, 8);
	rnd_hex(cid, 16);
	snprintf(route, sizeof(route), "<sip:trunk.%lld@sbc.invalid;lr>", t->trunk_id);
	int k = snprintf(extra, sizeof(extra),
			 "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, REFER, NOTIFY\r\n%s",
			 t->headers);
	if (k < 0 || (size_t)k >= sizeof(extra) ||
	    sip_dialog_uac(&l->d, cid, t->from, tag, t->to, t->ruri, route, 1) < 0) {
		free(l);
		free(m);
		return -1;
	}
	l->invite_cseq = 1;
	new_branch(l->branch);
	c->b[c->nb++] = l;
	leg_index(cs, l);
	c->direction = "outbound";
	c->trunk_id = t->trunk_id;
	snprintf(c->external, sizeof(c->external), "%s", t->external);
	const struct sip_hdr *ct = m ? sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE) : NULL;
	if (ctx_add(cs, CTX_INVITE, l->branch, "INVITE", c, l))
		send_request_kept(c, l, "INVITE", 1, l->branch, extra,
				  m ? m->body : (struct sip_pl){0},
				  ct ? ct->value : (struct sip_pl){0});
	free(m);
	c->rung = 1;
	if (!c->timer)
		c->timer = event_new(c->cs->base, -1, 0, on_ring_timeout, c);
	int ring = c->expires > 0 && c->expires < PBX_RING_TIMEOUT ? c->expires : PBX_RING_TIMEOUT;
	struct timeval tv = {.tv_sec = ring};
	if (c->timer)
		event_add(c->timer, &tv);
	return 0;
}

int pbx_call_trunk_status(const struct pbx_call *c)
{
	return c->trunk_status;
}

static void new_call(struct pbx_calls *cs, const struct sip_msg *m,
		     const struct pbx_reg_source *src)
{
	char out[8192];
	struct pbx_reg_user u;
	/* from a carrier: the SBC says which trunk, and only it writes here */
	const struct sip_hdr *th = sip_msg_hdr_named(m, "X-Zentrale-Trunk");
	long long trunk_id = th ? (long long)sip_pl_u64(th->value, INT64_MAX) : 0;
	if (th && trunk_id > 0) {
		memset(&u, 0, sizeof(u));
		pbx_inbound_caller(cs->p, m, u.extension, sizeof(u.extension), u.display_name,
				   sizeof(u.display_name));
	} else {
		int n = pbx_registrar_auth(&cs->p->registrar, m, src, time(NULL), &u, out,
					   sizeof(out));
		if (n != 0) {
			if (n > 0)
				cs->send(cs->send_ctx, out, (size_t)n);
			return;
		}
	}
	if (cs->ncalls >= PBX_MAX_CALLS) {
		respond(cs, m, 503, NULL, "busy", "Retry-After: 10\r\n", (struct sip_pl){0},
			(struct sip_pl){0});
		return;
	}
	struct pbx_call *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->cs = cs;
	c->id = ++cs->next_id;
	c->start = time(NULL);
	c->invite = malloc(m->raw.l);
	if (c->invite) {
		memcpy(c->invite, m->raw.p, m->raw.l);
		c->invite_len = m->raw.l;
	}
	c->next = cs->calls;
	if (cs->calls)
		cs->calls->prev = c;
	cs->calls = c;
	cs->ncalls++;
	cs->active++;
	snprintf(c->caller, sizeof(c->caller), "%s", u.extension);
	snprintf(c->caller_name, sizeof(c->caller_name), "%s", u.display_name);
	c->caller_id = u.id;
	c->late_offer = m->body.l == 0;

	/* the a leg, as its callee side (RFC 3261 12.1.1) */
	struct leg *a = &c->a;
	a->c = c;
	a->user_id = u.id;
	snprintf(a->ext, sizeof(a->ext), "%s", u.extension);
	a->state = LEG_EARLY;
	a->srtp = -1;
	note_media(a, m);
	char tag[17];
	rnd_hex(tag, 8);
	if (sip_dialog_uas(&a->d, m, tag) < 0) {
		/* no Contact, or values beyond our limits: not a call we can keep */
		respond(cs, m, 400, "Missing or oversized dialog headers", tag, NULL,
			(struct sip_pl){0}, (struct sip_pl){0});
		a->d.call_id[0] = '\0';
		leg_index(cs, a);
		call_end(c, "failed", 400);
		return;
	}
	leg_index(cs, a);
	struct sip_pl ruser = {0};
	size_t ao = 0;
	for (const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_RECORD_ROUTE); h;
	     h = sip_msg_hdr_next(m, h)) {
		int j = snprintf(c->a_rr + ao, sizeof(c->a_rr) - ao, "Record-Route: %.*s\r\n",
				 (int)h->value.l, h->value.p);
		if (j < 0 || (size_t)j >= sizeof(c->a_rr) - ao) {
			/* a route set cut short would lose the caller's requests */
			respond(cs, m, 400, "Oversized Record-Route", a->d.local_tag, NULL,
				(struct sip_pl){0}, (struct sip_pl){0});
			call_end(c, "failed", 400);
			return;
		}
		ao += (size_t)j;
	}
	struct sip_uri ru;
	if (sip_uri_parse(&ru, m->ruri) == 0)
		ruser = ru.user;
	if (ruser.l >= sizeof(c->callee))
		ruser = (struct sip_pl){0}; /* longer than any extension: none such */
	cpy(c->callee, sizeof(c->callee), ruser);
	const struct sip_hdr *eh = sip_msg_hdr(m, SIP_HDR_EXPIRES);
	if (eh && sip_pl_u64(eh->value, PBX_RING_TIMEOUT) > 0)
		c->expires = (int)sip_pl_u64(eh->value, PBX_RING_TIMEOUT);
	respond_caller(c, 100, NULL, (struct sip_pl){0}, (struct sip_pl){0});
	if (replaces_invite(c, m) == 0)
		return;
	struct pbx_dest d;
	struct pbx_route_fail f = {404, NULL, "not_found"};
	if (trunk_id > 0) {
		c->direction = "inbound";
		c->trunk_id = trunk_id;
		snprintf(c->external, sizeof(c->external), "%s", u.extension);
		char called[72];
		if (pbx_inbound_dest(cs->p, trunk_id, m, &d, &f, called, sizeof(called)) < 0 ||
		    pbx_route_enter(c, &d, &f) < 0)
			route_fail(c, &f);
	} else if (pbx_route_resolve(cs->p, ruser, c->caller_id, &d) < 0 ||
		   pbx_route_enter(c, &d, &f) < 0) {
		route_fail(c, &f);
	}
	blf_changed(c);
}

/* ---- a media-engine leg: voicemail, the mailbox menu ---- */

/* The engine takes the caller's side of ringing call c: c->ms answering
 * the INVITE's offer, or offering itself (a late offer); its SDP in sdp.
 * c->ms NULL: it could not (status: what to answer). */
static void engine_meets_caller(struct pbx_call *c, struct pbx_media *engine, char *sdp, size_t cap,
				int *len, int *status)
{
	if (c->late_offer) {
		c->ms = pbx_media_offer(engine, "sendrecv", NULL, sdp, cap, len);
	} else {
		struct sip_msg *inv = reparse(c->invite, c->invite_len);
		if (inv)
			c->ms = pbx_media_answer(engine, inv->body, NULL, sdp, cap, len, status);
		free(inv);
	}
}

/* Ringing call c is answered here (an app, a pickup, our re-INVITE): its
 * devices ring no more, its ring timer stops. */
static void answered_here(struct pbx_call *c)
{
	for (int i = 0; i < c->nb; i++)
		send_cancel(c, c->b[i]);
	if (c->timer)
		event_del(c->timer);
	c->state = CALL_ANSWERED;
	c->answer = time(NULL);
}

static void on_app_done(void *arg, struct pbx_vm_app *a)
{
	struct pbx_call *c = arg;
	(void)a;
	if (c->state != CALL_ANSWERED)
		return;
	send_bye(c, &c->a); /* the app and session go with the call (call_free) */
	call_end(c, c->app_cause, 200);
}

int pbx_call_app(struct pbx_call *c, pbx_call_app_start start, const char *cause,
		 struct pbx_route_fail *fail)
{
	static char sdp[PBX_MEDIA_SDP_MAX];
	struct pbx_media *engine = c->cs->p->media;
	int len = 0, status = 503;
	if (c->a_up) { /* a re-routed party: our offer in a re-INVITE */
		c->app_start = start;
		c->app_cause = cause;
		return app_reinvite(c, fail);
	}
	if (engine)
		engine_meets_caller(c, engine, sdp, sizeof(sdp), &len, &status);
	if (!c->ms) {
		*fail = (struct pbx_route_fail){status, NULL, "failed"};
		return -1;
	}
	c->app_start = start;
	c->app_cause = cause;
	snprintf(c->codec, sizeof(c->codec), "%s", pbx_msess_codec(c->ms));
	answered_here(c); /* a ringing call moving to voicemail */
	c->a.state = LEG_ANSWERED;
	respond_caller(c, 200, NULL, (struct sip_pl){sdp, (size_t)len},
		       (struct sip_pl){"application/sdp", 15});
	log_info("call %s: %s → %s answered by the pbx (%s)", c->a.d.call_id, c->caller, c->callee,
		 cause);
	return 0;
}

/* The caller's ACK of our 200: the application starts (with the answer to
 * our offer when the INVITE had none). */
static void app_ack(struct pbx_call *c, const struct sip_msg *m)
{
	if (c->app || !c->app_start || c->state != CALL_ANSWERED)
		return;
	if (c->late_offer && (!m->body.l || pbx_msess_answered(c->ms, m->body) < 0)) {
		log_warn("call %s: no usable answer in the ACK; hanging up", c->a.d.call_id);
		send_bye(c, &c->a);
		call_end(c, "failed", 200);
		return;
	}
	if (c->late_offer)
		snprintf(c->codec, sizeof(c->codec), "%s", pbx_msess_codec(c->ms));
	struct pbx_vm_app_cb cb = {.done = on_app_done, .arg = c};
	c->app = c->app_start(c, c->ms, &c->route.cur, &cb);
	if (!c->app) {
		log_warn("call %s: the application did not start; hanging up", c->a.d.call_id);
		send_bye(c, &c->a);
		call_end(c, "failed", 200);
	}
}

/* A request in the dialog with the pbx itself. */
static void app_request(struct pbx_calls *cs, struct pbx_call *c, const struct sip_msg *m)
{
	if (sip_pl_eq(m->method, "INFO")) {
		const struct sip_hdr *ct = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
		char d = sip_dtmf_info(ct ? ct->value : (struct sip_pl){0}, m->body);
		respond_plain(cs, m, d || !m->body.l ? 200 : 415, NULL);
		if (d)
			pbx_msess_dtmf(c->ms, d);
		return;
	}
	if (sip_pl_eq(m->method, "INVITE") || sip_pl_eq(m->method, "UPDATE")) {
		static char sdp[PBX_MEDIA_SDP_MAX];
		if (!m->body.l) { /* an offer of ours would come back in the ACK: refuse */
			respond_plain(cs, m, 488, NULL);
			return;
		}
		int r = pbx_msess_reoffer(c->ms, m->body, sdp, sizeof(sdp));
		if (r < 0) {
			respond_plain(cs, m, -r, NULL);
			return;
		}
		char extra[HDR_MAX];
		contact_of(cs, extra, sizeof(extra));
		respond(cs, m, 200, NULL, NULL, extra, (struct sip_pl){sdp, strlen(sdp)},
			(struct sip_pl){"application/sdp", 15});
		return;
	}
	respond_plain(cs, m, sip_pl_eq(m->method, "OPTIONS") ? 200 : 405, NULL);
}

/* ---- re-joining legs: transfer, pickup, park (pbx_route.h; RFC 3725) ---- */

/* A NOTIFY of a transfer's progress to the transferor (RFC 3515 §2.4.5):
 * its status as message/sipfrag; final ends the implicit subscription. */
static void notify_leg(struct pbx_call *c, struct leg *t, int status, const char *reason,
		       bool final)
{
	if (t->state != LEG_ANSWERED)
		return;
	char frag[96], extra[HDR_MAX], branch[48];
	int n = sip_sipfrag(status, reason, frag, sizeof(frag));
	if (n < 0)
		return;
	snprintf(extra, sizeof(extra), "Event: refer\r\nSubscription-State: %s\r\n",
		 final ? "terminated;reason=noresource" : "active;expires=60");
	new_branch(branch);
	if (!ctx_add(c->cs, CTX_NOTIFY, branch, "NOTIFY", c, t))
		return;
	send_request(c, t, "NOTIFY", 0, branch, extra, (struct sip_pl){frag, (size_t)n},
		     (struct sip_pl){"message/sipfrag;version=2.0", 27});
}

/* To the transferor whose REFER made c, until the final one went. */
static void xfer_notify(struct pbx_call *c, int status, const char *reason, bool final)
{
	if (!c->xfer_by || c->xfer_done)
		return;
	notify_leg(c, c->xfer_by, status, reason, final);
	if (final)
		c->xfer_done = true;
}

static void xfer_final(struct pbx_call *c, int status)
{
	xfer_notify(c, status,
		    status < 300 && c->xfer_reason[0] ? c->xfer_reason : sip_reason(status), true);
}

/* The transfer is over (the parties joined, or the new call failed): the
 * transferor hears so and its part of the call ends (its phone may hang up
 * first: the BYEs cross harmlessly). */
static void xfer_finish(struct pbx_call *c, int status)
{
	xfer_final(c, status);
	if (c->xfer_by && c->xfer_by->state == LEG_ANSWERED)
		send_bye(c, c->xfer_by);
}

/* l answered our INVITE without SDP with its offer: that goes to the party
 * (c's a leg) in a re-INVITE; l's ACK waits for the party's answer. */
static int join_offer(struct pbx_call *c, struct leg *l, const struct sip_msg *m)
{
	char branch[48];
	const struct sip_hdr *ct = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
	new_branch(branch);
	if (!m->body.l || !ctx_add(c->cs, CTX_JOIN, branch, "INVITE", c, &c->a)) {
		log_warn("call %s: no offer to join with; hanging up", c->a.d.call_id);
		send_ack(c, l, l->invite_cseq);
		send_bye(c, l);
		send_bye(c, &c->a);
		call_end(c, "failed", 500);
		return -1;
	}
	c->join_b = l;
	c->join_cseq = l->invite_cseq;
	note_media(l, m);
	send_request(c, &c->a, "INVITE", 0, branch, NULL, m->body,
		     ct ? ct->value : (struct sip_pl){0});
	return 0;
}

/* The party's answer to that offer: into join_b's ACK; the two are joined. */
static void join_answered(struct pbx_call *c, struct leg *a, const struct sip_msg *m)
{
	struct leg *b = c->join_b;
	c->join_b = NULL;
	uint32_t n;
	struct sip_pl meth;
	sip_cseq_parse(sip_msg_hdr(m, SIP_HDR_CSEQ)->value, &n, &meth);
	if (m->status >= 300 || !m->body.l || !b) {
		log_warn("call %s: the party did not take the offer (%d); hanging up",
			 c->a.d.call_id, m->status);
		if (b) {
			send_ack(c, b, c->join_cseq);
			send_bye(c, b);
		}
		if (m->status < 300)
			send_ack(c, a, n);
		send_bye(c, a);
		call_end(c, "failed", 500);
		return;
	}
	const struct sip_hdr *ct = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
	send_ack(c, a, n);
	note_media(a, m);
	note_codec(c, m);
	send_ack_body(c, b, c->join_cseq, m->body, ct ? ct->value : (struct sip_pl){0});
	xfer_finish(c, 200);
	log_info("call %s: %s and %s joined", c->a.d.call_id, c->caller, b->ext);
}

/* A leg leaves call from (a party moving on): unindexed, and everything
 * of from that points at it let go. Returns it on the heap (the a leg is
 * copied out; from keeps its Call-ID for its record), or NULL. */
static struct leg *leg_take(struct pbx_call *from, struct leg *l)
{
	struct pbx_calls *cs = from->cs;
	leg_unindex(cs, l);
	for (struct ctx *x = from->ctxs, *nx; x; x = nx) {
		nx = x->next;
		if (x->leg == l)
			ctx_free(cs, x);
	}
	moh_end(from);
	if (from->ack_leg == l)
		from->ack_leg = NULL;
	if (from->join_b == l)
		from->join_b = NULL;
	if (from->answered == l)
		from->answered = NULL;
	if (from->xfer_by == l) {
		from->xfer_by = NULL;
		return l;
	}
	if (l == &from->a) {
		struct leg *copy = malloc(sizeof(*copy));
		if (copy)
			*copy = *l;
		from->a.state = LEG_DONE;
		return copy;
	}
	for (int i = 0; i < from->nb; i++)
		if (from->b[i] == l) {
			memmove(&from->b[i], &from->b[i + 1],
				sizeof(from->b[0]) * (size_t)(from->nb - i - 1));
			from->nb--;
			return l;
		}
	return NULL;
}

/* A call without an INVITE of its own, for legs to join. */
static struct pbx_call *call_shell(struct pbx_calls *cs)
{
	struct pbx_call *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cs = cs;
	c->id = ++cs->next_id;
	c->start = time(NULL);
	c->next = cs->calls;
	if (cs->calls)
		cs->calls->prev = c;
	cs->calls = c;
	cs->ncalls++;
	cs->active++;
	return c;
}

/* A call that never was (its legs went back or nowhere): no record. */
static void shell_drop(struct pbx_call *c)
{
	c->a.d.call_id[0] = '\0';
	call_free(c);
}

static void put_a(struct pbx_call *c, struct leg *l)
{
	c->a = *l;
	free(l);
	c->a.c = c;
	c->a.hnext = NULL;
	leg_index(c->cs, &c->a);
}

static void put_xfer_by(struct pbx_call *c, struct leg *l)
{
	l->c = c;
	l->hnext = NULL;
	c->xfer_by = l;
	leg_index(c->cs, l);
}

/* l (answered, moved in) becomes a b leg of c, re-INVITEd with body (an
 * offer, or none: its offer comes in the 200). */
static void put_b_reinvite(struct pbx_call *c, struct leg *l, struct sip_pl body,
			   struct sip_pl ctype)
{
	l->c = c;
	l->hnext = NULL;
	l->reinvite = true;
	l->state = LEG_CALLING;
	l->cancel = false;
	l->holds = false;
	new_branch(l->branch);
	l->invite_cseq = l->d.local_cseq + 1;
	c->b[c->nb++] = l;
	leg_index(c->cs, l);
	if (ctx_add(c->cs, CTX_INVITE, l->branch, "INVITE", c, l))
		send_request(c, l, "INVITE", l->invite_cseq, l->branch, NULL, body, ctype);
}

static struct leg *party_of(struct pbx_call *c, enum pbx_party who)
{
	struct leg *l = who == PBX_PARTY_CALLER ? &c->a : c->answered;
	if (c->state != CALL_ANSWERED || !l || l->state != LEG_ANSWERED || c->join_b ||
	    (who == PBX_PARTY_CALLEE && c->ms))
		return NULL;
	return l;
}

/* The rest of a call whose party left: BYE to what is still up. */
static void leave_rest(struct pbx_call *c, const char *cause)
{
	if (c->a.state == LEG_ANSWERED)
		send_bye(c, &c->a);
	for (int i = 0; i < c->nb; i++) {
		if (c->b[i]->state == LEG_ANSWERED)
			send_bye(c, c->b[i]);
		else
			send_cancel(c, c->b[i]);
	}
	app_end(c);
	call_end(c, cause, 200);
}

/* pbx_call_reroute, and the transferor (if any) moved into the new call to
 * hear how it goes. */
static struct pbx_call *reroute(struct pbx_call *c, enum pbx_party who, const struct pbx_dest *d,
				const char *cause, struct leg *transferor,
				struct pbx_route_fail *fail)
{
	struct leg *l = party_of(c, who);
	*fail = (struct pbx_route_fail){481, NULL, "failed"};
	if (!l)
		return NULL;
	struct pbx_call *n = call_shell(c->cs);
	if (!n)
		return NULL;
	const char *name = who == PBX_PARTY_CALLER ? c->caller_name : c->callee_name;
	snprintf(n->caller, sizeof(n->caller), "%s", l->ext);
	snprintf(n->caller_name, sizeof(n->caller_name), "%s", name);
	n->caller_id = l->user_id;
	n->a_up = true;
	snprintf(n->linked, sizeof(n->linked), "%s", c->a.d.call_id);
	if (transferor)
		snprintf(n->referred_by, sizeof(n->referred_by), "Referred-By: <sip:%s@%s>\r\n",
			 transferor->ext, c->cs->p->name);
	struct leg *moved = leg_take(c, l);
	if (!moved) {
		shell_drop(n);
		return NULL;
	}
	put_a(n, moved);
	if (transferor && (transferor = leg_take(c, transferor)))
		put_xfer_by(n, transferor);
	if (pbx_route_enter(n, d, fail) < 0) {
		if (n->a.state == LEG_ANSWERED && n->nb == 0 && !n->ms) {
			/* refused at once: the party goes back where it was */
			struct leg *back = leg_take(n, &n->a), *t = n->xfer_by;
			if (t)
				leg_take(n, t);
			if (back) {
				back->c = c;
				back->hnext = NULL;
				if (who == PBX_PARTY_CALLER) {
					c->a = *back;
					c->a.c = c;
					leg_index(c->cs, &c->a);
					free(back);
				} else {
					c->b[c->nb++] = back;
					c->answered = back;
					leg_index(c->cs, back);
				}
			}
			if (t) {
				struct leg *tl = t;
				tl->c = c;
				tl->hnext = NULL;
				if (who == PBX_PARTY_CALLER) {
					c->b[c->nb++] = tl;
					c->answered = tl;
					leg_index(c->cs, tl);
				} else {
					c->a = *tl;
					c->a.c = c;
					leg_index(c->cs, &c->a);
					free(tl);
				}
			}
			shell_drop(n);
			return NULL;
		}
		route_fail(n, fail);
	}
	log_info("call %s: %s re-routed to %s:%s", c->a.d.call_id, n->caller, d->kind->name,
		 d->extension);
	leave_rest(c, cause);
	return n->state == CALL_ENDED ? NULL : n;
}

struct pbx_call *pbx_call_reroute(struct pbx_call *c, enum pbx_party who, const struct pbx_dest *d,
				  const char *cause, struct pbx_route_fail *fail)
{
	return reroute(c, who, d, cause, NULL, fail);
}

/* pbx_call_connect, and where the party came from ended or not (pickup:
 * the picked-up call's record is written here too). */
int pbx_call_connect(struct pbx_call *c, struct pbx_call *from, enum pbx_party who,
		     const char *cause, struct pbx_route_fail *fail)
{
	struct leg *l = party_of(from, who);
	*fail = (struct pbx_route_fail){481, NULL, "failed"};
	if (!l || c == from || c->state != CALL_RINGING || c->nb >= CALL_MAX_LEGS)
		return -1;
	if (from->ms && l == &from->a)
		app_end(from); /* parked, or answered for a pickup: the engine lets go */
	const char *name = who == PBX_PARTY_CALLER ? from->caller_name : from->callee_name;
	pbx_call_set_callee(c, l->ext, name);
	snprintf(c->linked, sizeof(c->linked), "%s", from->a.d.call_id);
	struct leg *moved = leg_take(from, l);
	if (!moved)
		return -1;
	struct sip_pl body = {0}, ctype = {0};
	struct sip_msg *inv = c->invite ? reparse(c->invite, c->invite_len) : NULL;
	if (inv && inv->body.l) {
		const struct sip_hdr *ct = sip_msg_hdr(inv, SIP_HDR_CONTENT_TYPE);
		body = inv->body;
		ctype = ct ? ct->value : (struct sip_pl){0};
	}
	snprintf(c->answered_by, sizeof(c->answered_by), "%s", moved->ext);
	put_b_reinvite(c, moved, body, ctype);
	free(inv);
	if (c->timer)
		event_del(c->timer);
	log_info("call %s: %s connected to %s of call %s", c->a.d.call_id, c->caller, moved->ext,
		 from->a.d.call_id);
	leave_rest(from, cause);
	return 0;
}

static void on_pickup_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct pbx_call *c = arg;
	(void)fd;
	(void)what;
	if (c->state == CALL_RINGING && c->nb == 0)
		route_fail(c, &(struct pbx_route_fail){480, "Nothing To Pick Up", "failed"});
}

int pbx_call_pickup(struct pbx_call *c, struct pbx_call *r, struct pbx_route_fail *fail)
{
	static char sdp[PBX_MEDIA_SDP_MAX];
	struct pbx_media *engine = c->cs->p->media;
	*fail = (struct pbx_route_fail){481, NULL, "failed"};
	if (!r || r == c || r->state != CALL_RINGING || r->a_up || r->pickup_by || r->ms)
		return -1;
	*fail = (struct pbx_route_fail){503, NULL, "failed"};
	int len = 0, status = 503;
	if (!engine)
		return -1;
	engine_meets_caller(r, engine, sdp, sizeof(sdp), &len, &status);
	if (!r->ms) {
		fail->status = status;
		return -1;
	}
	answered_here(r);
	r->a.state = LEG_ANSWERED;
	r->pickup_by = c->id;
	r->app_cause = "picked_up"; /* should its caller hang up meanwhile */
	snprintf(r->answered_by, sizeof(r->answered_by), "%s", c->caller);
	respond_caller(r, 200, NULL, (struct sip_pl){sdp, (size_t)len},
		       (struct sip_pl){"application/sdp", 15});
	/* the picker waits for the caller's ACK (then pickup_ack), a while at most */
	if (!c->timer)
		c->timer = event_new(c->cs->base, -1, 0, on_pickup_timeout, c);
	struct timeval tv = {.tv_sec = 10};
	if (c->timer)
		event_add(c->timer, &tv);
	respond_caller(c, 180, NULL, (struct sip_pl){0}, (struct sip_pl){0});
	log_info("call %s: %s picks up %s → %s", c->a.d.call_id, c->caller, r->caller, r->callee);
	return 0;
}

/* The picked-up caller's ACK of the engine's answer: it joins the picker. */
static void pickup_ack(struct pbx_call *r, const struct sip_msg *m)
{
	struct pbx_call *c = pbx_call_find(r->cs->p, r->pickup_by);
	r->pickup_by = 0;
	if (r->late_offer && m->body.l)
		pbx_msess_answered(r->ms, m->body);
	struct pbx_route_fail f;
	if (!c || c->state != CALL_RINGING) { /* the picker gave up meanwhile */
		send_bye(r, &r->a);
		app_end(r);
		call_end(r, "cancelled", 200);
		return;
	}
	if (pbx_call_connect(c, r, PBX_PARTY_CALLER, "picked_up", &f) < 0) {
		route_fail(c, &f);
		send_bye(r, &r->a);
		app_end(r);
		call_end(r, "failed", 200);
	}
}

struct pbx_call *pbx_call_ringing_at(struct pbx *p, long long caller_id, long long user_id,
				     const char *group)
{
	struct pbx_call *best = NULL;
	if (!p->calls || (user_id < 0 && (!group || !group[0])))
		return NULL;
	sqlite3_stmt *st = NULL;
	if (user_id < 0 &&
	    sqlite3_prepare_v2(p->db, "SELECT 1 FROM users WHERE id=? AND pickup_group=?", -1, &st,
			       NULL) != SQLITE_OK)
		return NULL;
	for (struct pbx_call *c = p->calls->calls; c; c = c->next) {
		if (c->state != CALL_RINGING || c->a_up || c->pickup_by || c->ms ||
		    c->caller_id == caller_id)
			continue;
		bool match = false;
		for (int i = 0; i < c->nb && !match; i++) {
			struct leg *l = c->b[i];
			if (l->reinvite || (l->state != LEG_CALLING && l->state != LEG_EARLY) ||
			    l->user_id == caller_id)
				continue;
			if (user_id >= 0) {
				match = l->user_id == user_id;
			} else {
				sqlite3_reset(st);
				sqlite3_bind_int64(st, 1, l->user_id);
				sqlite3_bind_text(st, 2, group, -1, SQLITE_STATIC);
				match = sqlite3_step(st) == SQLITE_ROW;
			}
		}
		if (match && (!best || c->start < best->start ||
			      (c->start == best->start && c->id < best->id)))
			best = c;
	}
	sqlite3_finalize(st);
	return best;
}

/* The caller of c (a_up), once the engine's offer was answered: the
 * application starts. */
static void app_reinvited(struct pbx_call *c, const struct sip_msg *m)
{
	uint32_t n;
	struct sip_pl meth;
	sip_cseq_parse(sip_msg_hdr(m, SIP_HDR_CSEQ)->value, &n, &meth);
	if (m->status < 300)
		send_ack(c, &c->a, n);
	if (m->status >= 300 || !c->ms || pbx_msess_answered(c->ms, m->body) < 0) {
		log_warn("call %s: the party did not take the engine's offer; hanging up",
			 c->a.d.call_id);
		send_bye(c, &c->a);
		app_end(c);
		call_end(c, "failed", 200);
		return;
	}
	note_media(&c->a, m);
	snprintf(c->codec, sizeof(c->codec), "%s", pbx_msess_codec(c->ms));
	xfer_finish(c, 200);
	if (!c->app_start) { /* music on hold */
		const struct media_pcm *music =
			pbx_prompt(c->cs->p->prompts, "moh", pbx_msess_rate(c->ms));
		if (c->hold_first)
			pbx_msess_play(c->ms, c->hold_first, false);
		if (music)
			pbx_msess_play(c->ms, music, true);
		return;
	}
	struct pbx_vm_app_cb cb = {.done = on_app_done, .arg = c};
	c->app = c->app_start(c, c->ms, &c->route.cur, &cb);
	if (!c->app) {
		send_bye(c, &c->a);
		call_end(c, "failed", 200);
	}
}

/* A re-routed party (a_up) answered by the engine: our offer goes to it in
 * a re-INVITE. 0, or -1 with *fail. */
static int app_reinvite(struct pbx_call *c, struct pbx_route_fail *fail)
{
	static char sdp[PBX_MEDIA_SDP_MAX];
	int len = 0;
	char branch[48];
	if (!c->cs->p->media ||
	    !(c->ms = pbx_media_offer(c->cs->p->media, "sendrecv", NULL, sdp, sizeof(sdp), &len))) {
		*fail = (struct pbx_route_fail){503, NULL, "failed"};
		return -1;
	}
	new_branch(branch);
	if (!ctx_add(c->cs, CTX_APP, branch, "INVITE", c, &c->a)) {
		*fail = (struct pbx_route_fail){500, NULL, "failed"};
		return -1;
	}
	answered_here(c);
	send_request(c, &c->a, "INVITE", 0, branch, NULL, (struct sip_pl){sdp, (size_t)len},
		     (struct sip_pl){"application/sdp", 15});
	return 0;
}

int pbx_call_hold_music(struct pbx_call *c, const struct media_pcm *first, const char *cause,
			struct pbx_route_fail *fail)
{
	if (!c->a_up || c->a.state != LEG_ANSWERED || c->ms) {
		*fail = (struct pbx_route_fail){481, NULL, "failed"};
		return -1;
	}
	c->app_start = NULL;
	c->app_cause = cause;
	c->hold_first = first;
	return app_reinvite(c, fail);
}

unsigned long long pbx_call_id(const struct pbx_call *c)
{
	return c->id;
}

struct pbx_call *pbx_call_find(struct pbx *p, unsigned long long id)
{
	for (struct pbx_call *c = p->calls ? p->calls->calls : NULL; c; c = c->next)
		if (c->id == id)
			return c->state == CALL_ENDED ? NULL : c;
	return NULL;
}

bool pbx_call_answered(const struct pbx_call *c)
{
	return c->state == CALL_ANSWERED;
}

long long pbx_call_transferor(const struct pbx_call *c, const char **ext)
{
	*ext = c->xfer_by ? c->xfer_by->ext : "";
	return c->xfer_by ? c->xfer_by->user_id : -1;
}

void pbx_call_set_xfer_reason(struct pbx_call *c, const char *reason)
{
	snprintf(c->xfer_reason, sizeof(c->xfer_reason), "%s", reason);
}

long long pbx_call_party_user(const struct pbx_call *c, enum pbx_party who, const char **ext)
{
	const struct leg *l = who == PBX_PARTY_CALLER ? &c->a : c->answered;
	*ext = l ? l->ext : "";
	return l ? l->user_id : -1;
}

/* The leg of the dialog a Replaces names, with its tags either way round
 * (phones differ in which they call to-tag), or NULL. */
static struct leg *leg_by_dialog(struct pbx_calls *cs, const struct sip_replaces *r)
{
	struct sip_pl cid = {r->call_id, strlen(r->call_id)};
	for (struct leg *l = cs->by_cid[hash_pl(cid)]; l; l = l->hnext) {
		if (strcmp(l->d.call_id, r->call_id) != 0 || l->c->state == CALL_ENDED)
			continue;
		const char *rt = strstr(l->d.remote, ";tag=");
		char remote[SIP_REFER_ID] = "";
		if (rt)
			snprintf(remote, sizeof(remote), "%.*s", (int)strcspn(rt + 5, ";>"),
				 rt + 5);
		const char *local = l->d.local_tag;
		if ((!strcmp(local, r->to_tag) && !strcmp(remote, r->from_tag)) ||
		    (!strcmp(local, r->from_tag) && !strcmp(remote, r->to_tag)))
			return l;
	}
	return NULL;
}

/* An INVITE with Replaces (RFC 3891), c made of it: an early dialog of
 * ours ringing a device is a pickup; a confirmed one hands its other party
 * to the new caller (the replaced leg gets a BYE). 0 (done: joined or
 * failed), or 1 (no Replaces: route as dialled). */
static int replaces_invite(struct pbx_call *c, const struct sip_msg *m)
{
	const struct sip_hdr *h = sip_msg_hdr_named(m, "Replaces");
	if (!h)
		return 1;
	struct sip_replaces r;
	struct pbx_route_fail f = {481, "Call/Transaction Does Not Exist", "failed"};
	struct leg *l = sip_replaces_parse(h->value, &r) == 0 ? leg_by_dialog(c->cs, &r) : NULL;
	struct pbx_call *o = l ? l->c : NULL;
	snprintf(c->route.path, sizeof(c->route.path), "replaces");
	if (!l || o == c || l == o->xfer_by) {
		route_fail(c, &f);
		return 0;
	}
	if (o->state == CALL_RINGING && l != &o->a && l->state != LEG_DONE) {
		if (pbx_call_pickup(c, o, &f) < 0)
			route_fail(c, &f);
		return 0;
	}
	if (r.early_only) {
		route_fail(c, &(struct pbx_route_fail){486, NULL, "busy"});
		return 0;
	}
	if (l == &o->a && pbx_park_consultation(o)) { /* attended park: c takes the slot */
		struct pbx_dest d = o->route.cur;
		if (pbx_route_enter(c, &d, &f) < 0)
			route_fail(c, &f);
		else
			leave_rest(o, "parked");
		return 0;
	}
	enum pbx_party who = l == &o->a ? PBX_PARTY_CALLEE : PBX_PARTY_CALLER;
	if (o->state != CALL_ANSWERED || l->state != LEG_ANSWERED ||
	    pbx_call_connect(c, o, who, "transferred", &f) < 0)
		route_fail(c, &f);
	return 0;
}

/* Attended transfer between two answered calls: party `who` of c and party
 * `owho` of o become one call (the second re-INVITEd without SDP, its
 * offer to the first, the answer back in its ACK); the transferor's legs
 * in both go (one hears the NOTIFYs first). The new call, or NULL. */
static struct pbx_call *join_parties(struct pbx_call *c, enum pbx_party who, struct pbx_call *o,
				     enum pbx_party owho, struct leg *transferor,
				     struct pbx_route_fail *fail)
{
	struct leg *p1 = party_of(c, who), *p2 = party_of(o, owho);
	*fail = (struct pbx_route_fail){481, NULL, "failed"};
	struct pbx_call *n = p1 && p2 ? call_shell(c->cs) : NULL;
	if (!n)
		return NULL;
	snprintf(n->caller, sizeof(n->caller), "%s", p1->ext);
	snprintf(n->caller_name, sizeof(n->caller_name), "%s",
		 who == PBX_PARTY_CALLER ? c->caller_name : c->callee_name);
	n->caller_id = p1->user_id;
	n->a_up = true;
	snprintf(n->linked, sizeof(n->linked), "%s", c->a.d.call_id);
	pbx_call_set_callee(n, p2->ext, owho == PBX_PARTY_CALLER ? o->caller_name : o->callee_name);
	snprintf(n->answered_by, sizeof(n->answered_by), "%s", p2->ext);
	snprintf(n->route.path, sizeof(n->route.path), "transfer:%s", p2->ext);
	struct leg *m1 = leg_take(c, p1);
	if (o->ms && p2 == &o->a)
		app_end(o); /* a parked party */
	struct leg *m2 = leg_take(o, p2);
	if (!m1 || !m2) { /* out of memory: what is left goes */
		free(m1);
		free(m2);
		shell_drop(n);
		leave_rest(c, "failed");
		leave_rest(o, "failed");
		return NULL;
	}
	put_a(n, m1);
	if (transferor && (transferor = leg_take(c, transferor)))
		put_xfer_by(n, transferor);
	put_b_reinvite(n, m2, (struct sip_pl){0}, (struct sip_pl){0});
	log_info("call %s: %s joined to %s of call %s", c->a.d.call_id, n->caller, m2->ext,
		 o->a.d.call_id);
	leave_rest(c, "transferred");
	leave_rest(o, "transferred");
	return n;
}

/* REFER within a call (RFC 3515, RFC 5589): the phone of leg l hands its
 * other party on — to a number (blind), or, with Replaces in Refer-To, to
 * the other party of a call it has with someone else (attended), answered
 * or still ringing. The transferor hears how it goes by NOTIFY. */
static void on_refer(struct pbx_calls *cs, struct pbx_call *c, struct leg *l,
		     const struct sip_msg *m)
{
	const struct sip_hdr *h = sip_msg_hdr_named(m, "Refer-To");
	struct sip_refer_to t;
	if (!h || sip_refer_to_parse(h->value, &t) < 0) {
		respond(cs, m, 400, "Bad Refer-To", NULL, NULL, (struct sip_pl){0},
			(struct sip_pl){0});
		return;
	}
	enum pbx_party who = l == &c->a ? PBX_PARTY_CALLEE : PBX_PARTY_CALLER;
	if (c->state != CALL_ANSWERED || c->ms || !party_of(c, who) || l->state != LEG_ANSWERED) {
		respond_plain(cs, m, 403, NULL);
		return;
	}
	char extra[HDR_MAX];
	contact_of(cs, extra, sizeof(extra));
	respond(cs, m, 202, NULL, NULL, extra, (struct sip_pl){0}, (struct sip_pl){0});
	/* the implicit subscription: first NOTIFY at once (RFC 3515 §2.4.4) */
	notify_leg(c, l, 100, "Trying", false);
	struct pbx_route_fail f = {404, NULL, "not_found"};
	struct pbx_dest d;
	struct pbx_call *n = NULL;
	if (!t.has_replaces) {
		struct sip_pl user = {t.user, strlen(t.user)};
		struct leg *p = party_of(c, who);
		if (pbx_route_resolve(cs->p, user, p->user_id, &d) == 0)
			n = reroute(c, who, &d, "transferred", l, &f);
	} else {
		struct leg *r = leg_by_dialog(cs, &t.replaces);
		struct pbx_call *o = r ? r->c : NULL;
		f = (struct pbx_route_fail){481, NULL, "failed"};
		if (o && o != c && o->state == CALL_RINGING && r == &o->a && !o->a_up && !o->ms) {
			/* the consultation call still rings: the party takes it over */
			d = o->route.cur;
			o->route.steps = 0;
			for (int i = 0; i < o->nb; i++)
				send_cancel(o, o->b[i]);
			respond_caller(o, 487, NULL, (struct sip_pl){0}, (struct sip_pl){0});
			call_end(o, "transferred", 487);
			n = reroute(c, who, &d, "transferred", l, &f);
		} else if (o && o != c && r == &o->a && pbx_park_consultation(o)) {
			d = o->route.cur; /* attended park: into the slot o reserved */
			if ((n = reroute(c, who, &d, "parked", l, &f)))
				leave_rest(o, "parked");
		} else if (o && o != c && r->state == LEG_ANSWERED &&
			   party_of(o, r == &o->a ? PBX_PARTY_CALLEE : PBX_PARTY_CALLER)) {
			n = join_parties(c, who, o,
					 r == &o->a ? PBX_PARTY_CALLEE : PBX_PARTY_CALLER, l, &f);
		}
	}
	if (!n && c->state != CALL_ENDED) { /* nothing happened: the call goes on */
		notify_leg(c, l, f.status, sip_reason(f.status), true);
	}
}

/* ---- answers from devices ---- */

static void b_answered(struct pbx_call *c, struct leg *l, const struct sip_msg *m)
{
	const struct sip_hdr *ct = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
	bool cancelled = l->state == LEG_DONE || l->cancel; /* e.g. the call went on meanwhile */
	l->state = LEG_ANSWERED;
	if (c->state != CALL_RINGING ||
	    cancelled) { /* someone else was quicker, or the caller gave up */
		send_ack(c, l, l->invite_cseq);
		send_bye(c, l);
		return;
	}
	if (c->a_up) { /* its offer to the party, the party's answer in its ACK */
		if (join_offer(c, l, m) < 0)
			return;
	} else if (c->late_offer && m->body.l) {
		owe_ack(c, l, l->invite_cseq); /* the caller's ACK brings the answer */
	} else {
		send_ack(c, l, l->invite_cseq);
	}
	c->state = CALL_ANSWERED;
	c->answered = l;
	snprintf(c->answered_by, sizeof(c->answered_by), "%s", l->ext);
	c->answer = time(NULL);
	note_media(l, m);
	if (!c->late_offer)
		note_codec(c, m);
	c->a.state = LEG_ANSWERED;
	if (c->timer)
		event_del(c->timer);
	for (int i = 0; i < c->nb; i++)
		if (c->b[i] != l)
			send_cancel(c, c->b[i]);
	respond_caller(c, 200, NULL, m->body, ct ? ct->value : (struct sip_pl){0});
	log_debug("call %s: answered by %s", c->a.d.call_id, c->callee);
}

/* A carrier's 401/407 to our INVITE over a trunk: the INVITE again, CSeq
 * one up and a new branch, with the trunk's credentials for the challenge
 * (pbx_trunk_auth). 0, or -1 (no credentials, or it does not fit): the
 * failure stands. */
static int trunk_auth_again(struct pbx_call *c, struct leg *l, const struct sip_msg *m)
{
	char auth[2048];
	struct sip_msg *inv = l->invite ? reparse(l->invite, l->invite_len) : NULL;
	if (!inv || pbx_trunk_auth(c->cs->p, l->trunk_id, m, inv, auth, sizeof(auth)) < 0) {
		free(inv);
		return -1;
	}
	/* the same request, but Via, CSeq and any earlier credentials */
	static char out[PBX_CALL_MSG_MAX];
	char branch[48];
	new_branch(branch);
	l->invite_cseq++;
	int n = snprintf(out, sizeof(out), "%.*s\r\nVia: SIP/2.0/TCP pbx.invalid;branch=%s\r\n%s",
			 (int)(inv->hdr[0].name.p - inv->raw.p - 2), inv->raw.p, branch, auth);
	for (int i = 0; i < inv->nhdr && n > 0 && (size_t)n < sizeof(out); i++) {
		const struct sip_hdr *h = &inv->hdr[i];
		if (h->id == SIP_HDR_VIA || h->id == SIP_HDR_AUTHORIZATION ||
		    sip_pl_casecmp(h->name, "Proxy-Authorization"))
			continue;
		if (h->id == SIP_HDR_CSEQ)
			n += snprintf(out + n, sizeof(out) - (size_t)n, "CSeq: %u INVITE\r\n",
				      l->invite_cseq);
		else
			n += snprintf(out + n, sizeof(out) - (size_t)n, "%.*s\r\n",
				      (int)(h->value.p + h->value.l - h->name.p), h->name.p);
	}
	if (n > 0 && (size_t)n + inv->body.l + 2 < sizeof(out)) {
		memcpy(out + n, "\r\n", 2);
		memcpy(out + n + 2, inv->body.p, inv->body.l);
		n += 2 + (int)inv->body.l;
	} else {
		n = -1;
	}
	free(inv);
	if (n < 0)
		return -1;
	struct ctx *x = ctx_add(c->cs, CTX_INVITE, branch, "INVITE", c, l);
	if (!x)
		return -1;
	l->authed = true;
	l->d.local_cseq = l->invite_cseq;
	snprintf(l->branch, sizeof(l->branch), "%s", branch);
	c->cs->send(c->cs->send_ctx, out, (size_t)n);
	keep_invite(l, out, (size_t)n);
	return 0;
}

static void b_invite_response(struct pbx_call *c, struct leg *l, const struct sip_msg *m)
{
	/* a provisional answer with a tag, or a 2xx, makes the dialog (§12.1.2) */
	if (m->status > 100 && m->status < 300 && !l->reinvite)
		sip_dialog_uac_answer(&l->d, m);
	if (l->reinvite && m->status >= 300) { /* a party moved in refused its re-INVITE */
		send_bye(c, l);
		if (c->state == CALL_RINGING)
			route_fail(c, &(struct pbx_route_fail){480, NULL, "failed"});
		return;
	}
	if (m->status < 200) {
		if (m->status == 100)
			return;
		bool was_calling = l->state == LEG_CALLING;
		if (l->state == LEG_CALLING)
			l->state = LEG_EARLY;
		if (was_calling && l->cancel) {
			send_cancel(c, l);
			return;
		}
		if (c->state != CALL_RINGING || l->reinvite)
			return;
		if (m->status == 180)
			xfer_notify(c, 180, "Ringing", false);
		const struct sip_hdr *ct = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
		if (m->body.l && !c->early_sent) { /* early media: one device's only */
			c->early_sent = true;
			respond_caller(c, 183, NULL, m->body, ct ? ct->value : (struct sip_pl){0});
		} else if (!m->body.l && m->status == 180) {
			respond_caller(c, 180, NULL, (struct sip_pl){0}, (struct sip_pl){0});
		}
		return;
	}
	if (l->trunk_id && !l->authed && (m->status == 401 || m->status == 407) &&
	    c->state == CALL_RINGING && !l->cancel && trunk_auth_again(c, l, m) == 0)
		return; /* asked again, with the trunk's credentials */
	free(l->invite);
	l->invite = NULL;
	if (m->status < 300) {
		b_answered(c, l, m);
		return;
	}
	l->state = LEG_DONE;
	if (l->trunk_id)
		c->trunk_status = m->status;
	if (c->state != CALL_RINGING)
		return;
	if (m->status == 486 || m->status == 600)
		c->busy = true;
	if (m->status == 603)
		c->declined = true;
	for (int i = 0; i < c->nb; i++)
		if (c->b[i]->state != LEG_DONE)
			return; /* others still ring */
	all_failed(c, c->busy, c->declined);
}

/* The other leg's answer to a request we relayed: the same answer back. */
static void relay_response(struct pbx_calls *cs, struct ctx *x, const struct sip_msg *m)
{
	struct sip_msg *orig = reparse(x->orig, x->orig_len);
	if (!orig)
		return;
	struct pbx_call *c = x->c;
	struct leg *from = x->leg == &c->a ? c->answered : &c->a;
	const struct sip_hdr *ct = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
	char extra[HDR_MAX] = "";
	if (m->status < 300)
		contact_of(cs, extra, sizeof(extra));
	if (from)
		respond(cs, orig, m->status, NULL, from->d.local_tag, extra, m->body,
			ct ? ct->value : (struct sip_pl){0});
	if (m->status < 300) {
		note_media(x->leg, m);
		if (orig->body.l && m->body.l) /* an answer to a new offer: the codec may change */
			note_codec(c, m);
		if (x->leg == c->moh_leg && orig->body.l) /* resumed: the legs are joined again */
			moh_end(c);
	}
	if (sip_pl_eq(orig->method, "INVITE") && m->status < 300) {
		uint32_t n;
		struct sip_pl meth;
		sip_cseq_parse(sip_msg_hdr(m, SIP_HDR_CSEQ)->value, &n, &meth);
		if (!orig->body.l && m->body.l)
			owe_ack(c, x->leg, n); /* a re-INVITE without SDP: answer in the ACK */
		else
			send_ack(c, x->leg, n);
	}
	free(orig);
}

void pbx_calls_response(struct pbx_calls *cs, const struct sip_msg *m)
{
	struct sip_answer_key k;
	if (sip_answer_key(m, &k) < 0)
		return;
	struct sip_pl branch = k.branch, method = k.method;
	uint32_t cseq = k.cseq;
	struct ctx *x = cs->by_branch[hash_pl(branch)];
	while (x && !(sip_pl_eq(branch, x->branch) && sip_pl_eq(method, x->method)))
		x = x->hnext;
	if (!x) {
		/* a 2xx again (our ACK was lost on UDP beyond the SBC): ACK again */
		struct sip_pl cid = sip_msg_hdr(m, SIP_HDR_CALL_ID)->value;
		for (struct leg *l = cs->by_cid[hash_pl(cid)]; l; l = l->hnext)
			if (m->status >= 200 && m->status < 300 && sip_pl_eq(method, "INVITE") &&
			    sip_pl_eq(cid, l->d.call_id) && sip_pl_eq(branch, l->branch))
				send_ack(l->c, l, cseq);
		return;
	}
	struct pbx_call *c = x->c;
	switch (x->kind) {
	case CTX_INVITE:
		b_invite_response(c, x->leg, m);
		break;
	case CTX_RELAY:
		if (m->status >= 200)
			relay_response(cs, x, m);
		break;
	case CTX_MOH:
		if (m->status >= 200)
			moh_answered(c, x->leg, m);
		break;
	case CTX_JOIN:
		if (m->status >= 200)
			join_answered(c, x->leg, m);
		break;
	case CTX_APP:
		if (m->status >= 200)
			app_reinvited(c, m);
		break;
	case CTX_NOTIFY:
	case CTX_CANCEL:
	case CTX_BYE:
		break;
	}
	if (x->kind == CTX_INVITE && m->status > 100)
		blf_changed(c);
	if (m->status >= 200)
		ctx_free(cs, x);
}

/* ---- requests within a call ---- */

static struct leg *leg_of(struct pbx_calls *cs, const struct sip_msg *m, struct pbx_call **cp)
{
	struct sip_pl cid = sip_msg_hdr(m, SIP_HDR_CALL_ID)->value, tag = {0}, rest;
	struct sip_addr to;
	if (sip_addr_parse(&to, sip_msg_hdr(m, SIP_HDR_TO)->value, &rest) == 0)
		sip_param_get(to.params, "tag", &tag);
	for (struct leg *l = cs->by_cid[hash_pl(cid)]; l; l = l->hnext) {
		if (!sip_pl_eq(cid, l->d.call_id))
			continue;
		/* a CANCEL has no tag: it can only be for the caller's leg */
		if ((l == &l->c->a && !tag.l) || sip_pl_eq(tag, l->d.local_tag)) {
			*cp = l->c;
			return l;
		}
	}
	return NULL;
}

static void on_cancel(struct pbx_calls *cs, const struct sip_msg *m)
{
	struct pbx_call *c;
	struct leg *l = leg_of(cs, m, &c);
	if (!l || l != &c->a) {
		respond_plain(cs, m, 481, NULL);
		return;
	}
	respond_plain(cs, m, 200, c->a.d.local_tag);
	if (c->state != CALL_RINGING || c->a_up)
		return;
	for (int i = 0; i < c->nb; i++)
		send_cancel(c, c->b[i]);
	respond_caller(c, 487, NULL, (struct sip_pl){0}, (struct sip_pl){0});
	call_end(c, "cancelled", 487);
}

static void on_bye(struct pbx_calls *cs, struct pbx_call *c, struct leg *l, const struct sip_msg *m)
{
	respond_plain(cs, m, 200, NULL);
	if (c->ms) { /* the caller leaves the pbx's own leg */
		l->state = LEG_DONE;
		app_end(c);
		call_end(c, c->app_cause, 200);
		return;
	}
	struct leg *other = l == &c->a ? c->answered : &c->a;
	l->state = LEG_DONE;
	if (other && other->state == LEG_ANSWERED)
		send_bye(c, other);
	for (int i = 0; i < c->nb; i++) /* a re-routed party hung up while it rang */
		if (c->b[i] != other)
			send_cancel(c, c->b[i]);
	call_end(c, l == &c->a ? "caller_hangup" : "callee_hangup", 200);
}

/* ---- music on hold ---- */

/* l's phone holds (its offer in m): the pbx answers it itself, with a
 * media-engine session of its own (recvonly or inactive, mirroring the
 * offer), and offers the other phone music from another (sendonly; RFC
 * 6337 §5.3). Each phone's leg at the SBC is so joined to the engine, not
 * to the other leg. false if it cannot (then the hold is relayed as is). */
static bool moh_start(struct pbx_calls *cs, struct pbx_call *c, struct leg *l, struct leg *other,
		      const struct sip_msg *m)
{
	static char answer[PBX_MEDIA_SDP_MAX], offer[PBX_MEDIA_SDP_MAX];
	if (!cs->p->media || c->moh)
		return false;
	int alen = 0, olen = 0, status;
	struct pbx_msess *held = pbx_media_answer(cs->p->media, m->body, NULL, answer,
						  sizeof(answer), &alen, &status);
	if (!held)
		return false;
	struct pbx_msess *ms =
		pbx_media_offer(cs->p->media, "sendonly", NULL, offer, sizeof(offer), &olen);
	char branch[48], extra[HDR_MAX];
	new_branch(branch);
	if (!ms || !ctx_add(cs, CTX_MOH, branch, "INVITE", c, other)) {
		pbx_msess_free(held);
		if (ms)
			pbx_msess_free(ms);
		return false;
	}
	c->moh = ms;
	c->held = held;
	c->moh_leg = other;
	l->holds = true;
	note_media(l, m);
	contact_of(cs, extra, sizeof(extra));
	respond(cs, m, 200, NULL, l->d.local_tag, extra, (struct sip_pl){answer, (size_t)alen},
		(struct sip_pl){"application/sdp", 15});
	send_request(c, other, "INVITE", 0, branch, NULL, (struct sip_pl){offer, (size_t)olen},
		     (struct sip_pl){"application/sdp", 15});
	log_info("call %s: on hold, music to the other phone", c->a.d.call_id);
	return true;
}

/* The held phone's answer to our offer of music. */
static void moh_answered(struct pbx_call *c, struct leg *l, const struct sip_msg *m)
{
	if (m->status >= 300) {
		moh_end(c);
		return;
	}
	uint32_t n;
	struct sip_pl meth;
	sip_cseq_parse(sip_msg_hdr(m, SIP_HDR_CSEQ)->value, &n, &meth);
	send_ack(c, l, n);
	if (!c->moh || c->moh_leg != l)
		return; /* resumed meanwhile */
	const struct media_pcm *music =
		pbx_prompt(c->cs->p->prompts, "moh", pbx_msess_rate(c->moh));
	if (pbx_msess_answered(c->moh, m->body) < 0 || !music ||
	    pbx_msess_play(c->moh, music, true) < 0)
		log_warn("call %s: no music on hold", c->a.d.call_id);
}

/* re-INVITE, UPDATE, INFO, ...: the same request on the other leg. */
static void relay_request(struct pbx_calls *cs, struct pbx_call *c, struct leg *l,
			  const struct sip_msg *m)
{
	struct leg *other = l == &c->a ? c->answered : &c->a;
	if (!other || other->state != LEG_ANSWERED) {
		respond_plain(cs, m, sip_pl_eq(m->method, "UPDATE") ? 491 : 481, NULL);
		return;
	}
	if (sip_pl_eq(m->method, "INFO") && sip_msg_hdr_named(m, "X-Zentrale-Dtmf")) {
		respond_plain(cs, m, 200, NULL); /* the SBC sent it on as RFC 4733 */
		return;
	}
	char branch[48], method[16];
	if (m->method.l >= sizeof(method)) { /* none we relay is that long */
		respond_plain(cs, m, 501, NULL);
		return;
	}
	if (m->body.l && (sip_pl_eq(m->method, "INVITE") || sip_pl_eq(m->method, "UPDATE"))) {
		int dir = sdp_audio_dir(m->body.p, m->body.l);
		if (sdp_dir_is_hold(dir) && !l->holds && moh_start(cs, c, l, other, m))
			return;
		if (dir >= 0 && !sdp_dir_is_hold(dir))
			l->holds = false; /* resumed: the other phone gets this SDP again */
	}
	new_branch(branch);
	cpy(method, sizeof(method), m->method);
	struct ctx *x = ctx_add(cs, CTX_RELAY, branch, method, c, other);
	if (!x || !(x->orig = malloc(m->raw.l))) {
		respond_plain(cs, m, 500, NULL);
		return;
	}
	memcpy(x->orig, m->raw.p, m->raw.l);
	x->orig_len = m->raw.l;
	note_media(l, m);
	const struct sip_hdr *ct = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
	send_request(c, other, method, 0, branch, NULL, m->body,
		     ct ? ct->value : (struct sip_pl){0});
}

void pbx_calls_request(struct pbx_calls *cs, const struct sip_msg *m,
		       const struct pbx_reg_source *src)
{
	struct sip_addr to;
	struct sip_pl rest, tag = {0};
	if (sip_addr_parse(&to, sip_msg_hdr(m, SIP_HDR_TO)->value, &rest) == 0)
		sip_param_get(to.params, "tag", &tag);
	if (sip_pl_eq(m->method, "CANCEL")) {
		on_cancel(cs, m);
		return;
	}
	if (!tag.l) {
		if (sip_pl_eq(m->method, "INVITE"))
			new_call(cs, m, src);
		else if (!sip_pl_eq(m->method, "ACK"))
			respond_plain(cs, m, 405, NULL); /* nothing else outside a dialog yet */
		return;
	}
	struct pbx_call *c;
	struct leg *l = leg_of(cs, m, &c);
	if (!l) {
		if (!sip_pl_eq(m->method, "ACK"))
			respond_plain(cs, m, 481, NULL);
		return;
	}
	if (l == c->xfer_by) { /* a transferor: only its hanging up is of interest */
		if (!sip_pl_eq(m->method, "ACK"))
			respond_plain(cs, m, sip_pl_eq(m->method, "BYE") ? 200 : 481, NULL);
		if (sip_pl_eq(m->method, "BYE"))
			l->state = LEG_DONE;
		return;
	}
	if (sip_pl_eq(m->method, "ACK")) {
		/* mostly ours to absorb (we ACK 2xx ourselves); the ACK with the
		 * answer to a late offer is passed on */
		note_media(l, m);
		if (c->pickup_by && l == &c->a) {
			pickup_ack(c, m);
			return;
		}
		if (c->ms && l == &c->a)
			app_ack(c, m);
		if (c->ack_leg && c->ack_leg != l) {
			if (c->late_offer && c->state == CALL_ANSWERED)
				note_codec(c, m); /* the answer to a late offer */
			const struct sip_hdr *ct = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
			send_ack_body(c, c->ack_leg, c->ack_cseq, m->body,
				      ct ? ct->value : (struct sip_pl){0});
			c->ack_leg = NULL;
		}
		return;
	}
	if (sip_dialog_remote_cseq(&l->d, m) < 0) {
		respond(cs, m, 500, "CSeq Out Of Order", NULL, NULL, (struct sip_pl){0},
			(struct sip_pl){0});
		return;
	}
	if (c->state == CALL_ENDED) {
		respond_plain(cs, m, 481, NULL);
		return;
	}
	if (sip_pl_eq(m->method, "BYE"))
		on_bye(cs, c, l, m);
	else if (sip_pl_eq(m->method, "REFER"))
		on_refer(cs, c, l, m);
	else if (c->ms && l == &c->a)
		app_request(cs, c, m);
	else
		relay_request(cs, c, l, m);
}

void pbx_calls_dtmf_info(struct pbx_calls *cs, struct sip_pl call_id, struct sip_pl body)
{
	static const char ctype[] = "application/dtmf-relay";
	if (!sip_dtmf_info((struct sip_pl){ctype, sizeof(ctype) - 1}, body))
		return; /* not a digit: nothing to send */
	for (struct leg *l = cs->by_cid[hash_pl(call_id)]; l; l = l->hnext) {
		if (!sip_pl_eq(call_id, l->d.call_id) || l->state != LEG_ANSWERED)
			continue;
		char branch[48];
		new_branch(branch); /* its answer finds no context: ignored */
		send_request(l->c, l, "INFO", 0, branch, NULL, body,
			     (struct sip_pl){ctype, sizeof(ctype) - 1});
		return;
	}
}

void pbx_calls_media_timeout(struct pbx_calls *cs, struct sip_pl call_id)
{
	for (struct leg *l = cs->by_cid[hash_pl(call_id)]; l; l = l->hnext) {
		struct pbx_call *c = l->c;
		if (!sip_pl_eq(call_id, l->d.call_id) || c->state != CALL_ANSWERED)
			continue;
		send_bye(c, &c->a);
		if (c->answered)
			send_bye(c, c->answered);
		app_end(c);
		call_end(c, "media_timeout", 200);
		return;
	}
}

/* ---- calls in progress, for the administrator ---- */

static json_t *srtp_json(const struct leg *l)
{
	return !l || l->srtp < 0 ? json_null() : json_boolean(l->srtp == 1);
}

json_t *pbx_calls_list(const struct pbx_calls *cs)
{
	json_t *out = json_array();
	for (const struct pbx_call *c = cs->calls; c && out; c = c->next) {
		if (c->state == CALL_ENDED)
			continue; /* lingering only to absorb late answers */
		bool up = c->state == CALL_ANSWERED;
		json_array_append_new(
			out,
			json_pack("{s:I, s:s, s:I, s:o, s:o, s:{s:s, s:s, s:o}, s:{s:s, s:s, s:o}}",
				  "id", (json_int_t)c->id, "state",
				  c->ms && up ? "voicemail"
				  : up	      ? "answered"
					      : "ringing",
				  "start", (json_int_t)c->start, "answer",
				  up ? json_integer(c->answer) : json_null(), "codec",
				  c->codec[0] ? json_string(c->codec) : json_null(), "caller",
				  "extension", c->caller, "name", c->caller_name, "srtp",
				  srtp_json(&c->a), "callee", "extension", c->callee, "name",
				  c->callee_name, "srtp", srtp_json(up ? c->answered : NULL)));
	}
	return out;
}

int pbx_calls_hangup(struct pbx_calls *cs, unsigned long long id, const char *who)
{
	struct pbx_call *c = cs->calls;
	while (c && c->id != id)
		c = c->next;
	if (!c || c->state == CALL_ENDED)
		return -1;
	/* RFC 3326: the phones may show why */
	c->reason = "Reason: SIP;cause=200;text=\"hung up by administrator\"\r\n";
	log_info("call %s: %s → %s hung up by %s", c->a.d.call_id, c->caller, c->callee, who);
	if (c->state == CALL_RINGING) {
		for (int i = 0; i < c->nb; i++)
			send_cancel(c, c->b[i]);
		if (c->a_up && c->a.state == LEG_ANSWERED)
			send_bye(c, &c->a); /* a re-routed party, its new destination ringing */
		respond_caller(c, 487, NULL, (struct sip_pl){0}, (struct sip_pl){0});
		call_end(c, "admin_hangup", 487);
	} else {
		send_bye(c, &c->a);
		if (c->answered)
			send_bye(c, c->answered);
		app_end(c);
		call_end(c, "admin_hangup", 200);
	}
	return 0;
}

/* ---- what destinations see of a call (pbx_route.h) ---- */

struct pbx *pbx_call_pbx(const struct pbx_call *c)
{
	return c->cs->p;
}

struct pbx_route *pbx_call_route(struct pbx_call *c)
{
	return &c->route;
}

void pbx_call_caller(const struct pbx_call *c, const char **ext, const char **name,
		     const char **call_id)
{
	*ext = c->caller;
	*name = c->caller_name;
	*call_id = c->a.d.call_id;
}

long long pbx_call_caller_id(const struct pbx_call *c)
{
	return c->caller_id;
}

int pbx_call_user_busy(const struct pbx_call *c, long long user_id)
{
	return pbx_calls_user_busy(c->cs, user_id);
}

void pbx_call_set_callee(struct pbx_call *c, const char *ext, const char *name)
{
	snprintf(c->callee, sizeof(c->callee), "%s", ext);
	snprintf(c->callee_name, sizeof(c->callee_name), "%s", name);
}

static void tag_of(const char *addr, char *out, size_t cap)
{
	const char *t = strstr(addr, ";tag=");
	size_t l = t ? strcspn(t + 5, ";> \t") : 0;
	snprintf(out, cap, "%.*s", l < cap ? (int)l : 0, t ? t + 5 : "");
}

int pbx_calls_user_dialogs(const struct pbx_calls *cs, long long user_id,
			   struct pbx_call_dialog *out, int max)
{
	int n = 0;
	for (const struct pbx_call *c = cs->calls; c && n < max; c = c->next) {
		bool ended = c->state == CALL_ENDED;
		if (c->a.user_id == user_id && c->a.d.call_id[0]) {
			struct pbx_call_dialog *d = &out[n++];
			bool early = false;
			for (int i = 0; i < c->nb; i++)
				early = early || c->b[i]->state == LEG_EARLY;
			*d = (struct pbx_call_dialog){
				.call_id = c->a.d.call_id,
				.pbx_tag = c->a.d.local_tag,
				.outgoing = true,
				.state = ended || c->a.state == LEG_DONE ? SIP_DINFO_TERMINATED
					 : c->state == CALL_ANSWERED || c->a.state == LEG_ANSWERED
						 ? SIP_DINFO_CONFIRMED
					 : early ? SIP_DINFO_EARLY
						 : SIP_DINFO_PROCEEDING,
				.peer = c->callee,
				.peer_name = c->callee_name};
			tag_of(c->a.d.remote, d->device_tag, sizeof(d->device_tag));
		}
		for (int i = 0; i < c->nb && n < max; i++) {
			const struct leg *l = c->b[i];
			if (l->user_id != user_id)
				continue;
			struct pbx_call_dialog *d = &out[n++];
			*d = (struct pbx_call_dialog){
				.call_id = l->d.call_id,
				.pbx_tag = l->d.local_tag,
				.state = ended || l->state == LEG_DONE ? SIP_DINFO_TERMINATED
					 : l->state == LEG_ANSWERED    ? SIP_DINFO_CONFIRMED
					 : l->state == LEG_EARLY       ? SIP_DINFO_EARLY
								       : SIP_DINFO_TRYING,
				.peer = c->caller,
				.peer_name = c->caller_name};
			tag_of(l->d.remote, d->device_tag, sizeof(d->device_tag));
		}
	}
	return n;
}

int pbx_calls_active(const struct pbx_calls *cs)
{
	return cs->active;
}

int pbx_calls_user_busy(const struct pbx_calls *cs, long long user_id)
{
	for (const struct pbx_call *c = cs ? cs->calls : NULL; c; c = c->next) {
		if (c->state != CALL_ANSWERED)
			continue;
		if (c->a.user_id == user_id && c->a.state == LEG_ANSWERED)
			return 1;
		for (int i = 0; i < c->nb; i++)
			if (c->b[i]->user_id == user_id && c->b[i]->state == LEG_ANSWERED)
				return 1;
	}
	return 0;
}

struct pbx_calls *pbx_calls_new(struct pbx *p, struct event_base *base,
				void (*send)(void *ctx, const char *buf, size_t len), void *ctx)
{
	struct pbx_calls *cs = calloc(1, sizeof(*cs));
	if (!cs)
		return NULL;
	cs->p = p;
	cs->base = base;
	cs->send = send;
	cs->send_ctx = ctx;
	crypto_shorthash_keygen(hash_key);
	return cs;
}

void pbx_calls_free(struct pbx_calls *cs)
{
	if (!cs)
		return;
	while (cs->calls)
		call_free(cs->calls);
	free(cs);
}
