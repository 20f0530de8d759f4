/* pbx_call — see pbx_call.h. RFC 3261 §12-§15 from both ends of a B2BUA. */
#include "pbx_call.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "../core/core_log.h"
#include "../sdp/sdp.h"
#include "../sdp/sdp_hold.h"
#include "../sip/sip_build.h"
#include "../sip/sip_dialog.h"
#include "../sip/sip_dtmf.h"
#include "../sip/sip_hdr.h"
#include "pbx.h"
#include "pbx_media.h"
#include "pbx_prompts.h"
#include "pbx_route.h"
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
	signed char srtp;  /* the phone speaks SRTP with the SBC: 1, 0, or -1 not known */
	bool holds;	   /* this leg's phone put the call on hold */
	long long user_id; /* the user whose device this is (a: the caller) */
	char ext[72];	   /* that user's extension */
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
	char answered_by[72];  /* the extension whose device answered */
	char linked[128];      /* the Call-ID of the call this one came from, or "" */
	unsigned long long id; /* for the list of calls in progress */
	char codec[48];	       /* the first of the answer's audio formats, e.g. "PCMU/8000" */
	const char *reason;    /* a Reason header for our BYEs and CANCELs, or NULL */
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
};

/* A request we sent, until its final answer. */
enum ctx_kind { CTX_INVITE, CTX_CANCEL, CTX_BYE, CTX_RELAY, CTX_MOH };
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
	struct sip_msg *inv = reparse(c->invite, c->invite_len);
	if (!inv)
		return;
	char extra[HDR_MAX * 3] = "";
	if (status > 100 && status < 300) {
		contact_of(c->cs, extra, sizeof(extra));
		size_t l = strlen(extra);
		snprintf(extra + l, sizeof(extra) - l,
			 "%sAllow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE\r\n", c->a_rr);
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

/* A request within a leg's dialog (or, for INVITE on a b leg, creating it). */
/* A request within a leg's dialog (or, for INVITE on a b leg, creating it);
 * cseq 0 takes the leg's next number. */
static void send_request(struct pbx_call *c, struct leg *l, const char *method, uint32_t cseq,
			 const char *branch, const char *extra, struct sip_pl body,
			 struct sip_pl ctype)
{
	static char out[PBX_CALL_MSG_MAX];
	char via[96], contact[256];
	snprintf(via, sizeof(via), "SIP/2.0/TCP pbx.invalid;branch=%s", branch);
	snprintf(contact, sizeof(contact), "<sip:pbx@%s>", c->cs->p->name);
	bool own = strcmp(method, "ACK") && strcmp(method, "CANCEL");
	int n = sip_dialog_request(&l->d, method, cseq, via, own ? contact : NULL, extra, body,
				   ctype, out, sizeof(out));
	if (n > 0)
		c->cs->send(c->cs->send_ctx, out, (size_t)n);
	else
		log_warn("call %s: a %s does not fit", l->d.call_id, method);
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
		free(c->b[i]);
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

/* users.last_call_end of both parties of an answered call. */
static void note_call_end(sqlite3 *db, long long a, long long b, time_t end)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "UPDATE users SET last_call_end=?1 WHERE id IN (?2, ?3)", -1,
			       &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)end);
	sqlite3_bind_int64(st, 2, a);
	sqlite3_bind_int64(st, 3, b);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

/* The call is over: its record is written; it lingers while a device that
 * was being cancelled might still answer. */
static void call_end(struct pbx_call *c, const char *cause, int status)
{
	if (c->state == CALL_ENDED)
		return;
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
			    .linked = c->linked};
	pbx_cdr_write(c->cs->p->db, &r);
	if (c->answered) /* for a ring group's longest idle member */
		note_call_end(c->cs->p->db, c->a.user_id, c->answered->user_id, r.end);
	pbx_stats_call_ended(c->cs->p, cause, c->answer != 0);
	log_info("call %s: %s → %s ended (%s)", c->a.d.call_id, c->caller, c->callee, cause);
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
static void fork_to_devices(struct pbx_call *c, long long user, const struct sip_msg *m,
			    struct sip_pl caller_contact)
{
	struct pbx_calls *cs = c->cs;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(cs->p->db,
			       "SELECT b.contact, b.path, u.extension FROM bindings b JOIN users u"
			       " ON u.id=b.user_id WHERE b.user_id=? AND b.expires>? ORDER BY b.id",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	int before = c->nb;
	sqlite3_bind_int64(st, 1, user);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	const struct sip_hdr *from = sip_msg_hdr(m, SIP_HDR_FROM);
	const struct sip_hdr *ct = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
	struct sip_addr fa;
	struct sip_pl rest, ctype = ct ? ct->value : (struct sip_pl){0};
	sip_addr_parse(&fa, from->value, &rest);
	/* RFC 3325: the caller as the phone system asserts it (never what the
	 * phone said: a new request, none of its headers); RFC 5806/7044: the
	 * forwards that brought the call here */
	char extra[4 * HDR_MAX], pai[160] = "";
	quote_display((struct sip_pl){c->caller_name, strlen(c->caller_name)}, pai, sizeof(pai));
	int k = snprintf(extra, sizeof(extra),
			 "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE\r\n"
			 "P-Asserted-Identity: %s<sip:%s@%s>\r\n",
			 pai, c->caller, cs->p->name);
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
				      : fa.display,
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
			send_request(c, l, "INVITE", 1, l->branch, extra, m->body, ctype);
	}
	sqlite3_finalize(st);
	c->rung = c->nb - before;
}

int pbx_call_ring(struct pbx_call *c, long long user_id, int seconds)
{
	struct sip_msg *m = reparse(c->invite, c->invite_len);
	if (!m)
		return 0;
	struct sip_addr ca;
	struct sip_pl rest;
	sip_addr_parse(&ca, sip_msg_hdr(m, SIP_HDR_CONTACT)->value, &rest);
	c->rung = 0;
	fork_to_devices(c, user_id, m, ca.uri_pl);
	free(m);
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
	log_info("call %s: %s → %s, ringing %d device(s) for %d s", c->a.d.call_id, c->caller,
		 c->callee, c->rung, ring);
	return c->rung;
}

static void new_call(struct pbx_calls *cs, const struct sip_msg *m,
		     const struct pbx_reg_source *src)
{
	char out[8192];
	struct pbx_reg_user u;
	int n = pbx_registrar_auth(&cs->p->registrar, m, src, time(NULL), &u, out, sizeof(out));
	if (n != 0) {
		if (n > 0)
			cs->send(cs->send_ctx, out, (size_t)n);
		return;
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
	struct pbx_dest d;
	struct pbx_route_fail f = {404, NULL, "not_found"};
	if (pbx_route_resolve(cs->p, ruser, c->caller_id, &d) < 0 || pbx_route_enter(c, &d, &f) < 0)
		route_fail(c, &f);
}

/* ---- a media-engine leg: voicemail, the mailbox menu ---- */

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
	if (engine && !c->late_offer) {
		struct sip_msg *inv = reparse(c->invite, c->invite_len);
		if (inv)
			c->ms = pbx_media_answer(engine, inv->body, NULL, sdp, sizeof(sdp), &len,
						 &status);
		free(inv);
	} else if (engine) {
		c->ms = pbx_media_offer(engine, "sendrecv", NULL, sdp, sizeof(sdp), &len);
	}
	if (!c->ms) {
		*fail = (struct pbx_route_fail){status, NULL, "failed"};
		return -1;
	}
	c->app_start = start;
	c->app_cause = cause;
	snprintf(c->codec, sizeof(c->codec), "%s", pbx_msess_codec(c->ms));
	for (int i = 0; i < c->nb; i++) /* a ringing call moving to voicemail */
		send_cancel(c, c->b[i]);
	if (c->timer)
		event_del(c->timer);
	c->state = CALL_ANSWERED;
	c->answer = time(NULL);
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
	if (c->late_offer && m->body.l)
		owe_ack(c, l, l->invite_cseq); /* the caller's ACK brings the answer */
	else
		send_ack(c, l, l->invite_cseq);
	c->state = CALL_ANSWERED;
	c->answered = l;
	snprintf(c->answered_by, sizeof(c->answered_by), "%s", l->ext);
	c->answer = time(NULL);
	note_media(l, m);
	if (!c->late_offer)
		note_codec(c, m);
	c->a.state = LEG_ANSWERED;
	event_del(c->timer);
	for (int i = 0; i < c->nb; i++)
		if (c->b[i] != l)
			send_cancel(c, c->b[i]);
	respond_caller(c, 200, NULL, m->body, ct ? ct->value : (struct sip_pl){0});
	log_info("call %s: answered by %s", c->a.d.call_id, c->callee);
}

static void b_invite_response(struct pbx_call *c, struct leg *l, const struct sip_msg *m)
{
	/* a provisional answer with a tag, or a 2xx, makes the dialog (§12.1.2) */
	if (m->status > 100 && m->status < 300)
		sip_dialog_uac_answer(&l->d, m);
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
		if (c->state != CALL_RINGING)
			return;
		const struct sip_hdr *ct = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
		if (m->body.l && !c->early_sent) { /* early media: one device's only */
			c->early_sent = true;
			respond_caller(c, 183, NULL, m->body, ct ? ct->value : (struct sip_pl){0});
		} else if (!m->body.l && m->status == 180) {
			respond_caller(c, 180, NULL, (struct sip_pl){0}, (struct sip_pl){0});
		}
		return;
	}
	if (m->status < 300) {
		b_answered(c, l, m);
		return;
	}
	l->state = LEG_DONE;
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
	case CTX_CANCEL:
	case CTX_BYE:
		break;
	}
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
	if (c->state != CALL_RINGING)
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
	if (sip_pl_eq(m->method, "ACK")) {
		/* mostly ours to absorb (we ACK 2xx ourselves); the ACK with the
		 * answer to a late offer is passed on */
		note_media(l, m);
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
	else if (c->ms && l == &c->a)
		app_request(cs, c, m);
	else
		relay_request(cs, c, l, m);
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
