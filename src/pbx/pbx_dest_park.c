/* pbx_dest_park — call park: a call transferred (REFER, RFC 3515) to 700
 * is put in the first free slot 701–720, hears the slot ("The call is
 * parked at seven zero one") and then music on hold from the media engine;
 * the slot is the callee of its call (the list of calls in progress, the
 * transferor's NOTIFY). Dialling the slot retrieves the call: the parked
 * party is joined to the caller (pbx_call_connect). Unretrieved after the
 * setting park_timeout (s, default 60), the parked party rings its parker
 * again (pbx_call_reroute to the parker's extension). Slots are this
 * process's — one phone system's — and hold call numbers, not pointers
 * (a parked party that hangs up frees its slot). Two destination kinds:
 * "park" (700) and "parked" (a slot). A slot can be watched by BLF
 * (pbx_blf.h): its parked call is one confirmed dialog. Attended park: the
 * parker's own call to 700 reserves a slot and hears it (then silence); a
 * transfer with Replaces naming that call (pbx_park_consultation) parks
 * the party in the reserved slot; hung up, the reservation goes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../sip/sip_dialoginfo.h"
#include "pbx_blf.h"
#include "pbx_call.h"
#include "pbx_prompts.h"
#include "pbx_route.h"

#define PARK_CODE	   "700"
#define PARK_FIRST	   701
#define PARK_SLOTS	   20
#define PARK_TIMEOUT	   60 /* s, unless the setting park_timeout says otherwise */
#define PARK_TIMEOUT_MAX   3600
#define PARK_ANNOUNCE_RATE 8000

static struct slot {
	struct pbx *p;
	unsigned long long call; /* the parked call's number, 0: free */
	long long parker;	 /* the user who parked it, -1 unknown */
	char parker_ext[72];
	struct event *timer;
	/* "parked at 7 0 1": made once and kept, as sessions may make it anew
	 * at another rate from the original while they last */
	struct media_pcm announce;
	char tag[24]; /* the slot's dialog, for BLF (pbx_park_dialogs) */
	bool consult; /* call is the parker's consultation call: reserved */
} slots[PARK_SLOTS];

static void slot_free(struct slot *s)
{
	if (s->timer)
		event_free(s->timer);
	s->timer = NULL;
	s->call = 0;
	s->consult = false;
	s->parker = -1;
	s->parker_ext[0] = s->tag[0] = '\0';
}

/* Is the slot's call still parked there? (It may have hung up.) */
static struct pbx_call *slot_call(struct slot *s)
{
	if (!s->call)
		return NULL;
	struct pbx_call *c = pbx_call_find(s->p, s->call);
	if (!c)
		slot_free(s);
	return c;
}

int pbx_park_timeout(struct pbx *p)
{
	char v[16];
	if (core_db_setting_get(p->db, "park_timeout", v, sizeof(v)) < 0)
		return PARK_TIMEOUT;
	int t = atoi(v);
	return t >= 1 && t <= PARK_TIMEOUT_MAX ? t : PARK_TIMEOUT;
}

/* "The call is parked at" and the slot's digits, one clip. */
static void announce_make(struct pbx *p, struct slot *s, int number)
{
	if (s->announce.samples)
		return;
	char digits[12];
	snprintf(digits, sizeof(digits), "%d", number);
	const struct media_pcm *parts[8];
	int np = 0;
	size_t n = 0;
	parts[np] = pbx_prompt(p->prompts, "park-parked-at", PARK_ANNOUNCE_RATE);
	if (parts[np])
		n += parts[np++]->n;
	for (const char *d = digits; *d && np < 8; d++) {
		char name[16];
		snprintf(name, sizeof(name), "digit-%c", *d);
		if ((parts[np] = pbx_prompt(p->prompts, name, PARK_ANNOUNCE_RATE)))
			n += parts[np++]->n;
	}
	s->announce = (struct media_pcm){.rate = PARK_ANNOUNCE_RATE};
	if (!n || !(s->announce.samples = malloc(n * sizeof(int16_t))))
		return;
	for (int i = 0; i < np; i++) {
		memcpy(s->announce.samples + s->announce.n, parts[i]->samples,
		       parts[i]->n * sizeof(int16_t));
		s->announce.n += parts[i]->n;
	}
}

/* Nobody retrieved it: the parked party rings its parker. */
static void on_park_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct slot *s = arg;
	struct pbx_call *c = slot_call(s);
	if (!c)
		return;
	struct pbx_dest d;
	struct pbx_route_fail fail;
	int number = PARK_FIRST + (int)(s - slots);
	char ext[72];
	snprintf(ext, sizeof(ext), "%s", s->parker_ext);
	slot_free(s);
	pbx_blf_user_changed(pbx_call_pbx(c), -number);
	memset(&d, 0, sizeof(d));
	d.user_id = -1;
	if (!ext[0] ||
	    pbx_dest_ext_resolve(pbx_call_pbx(c), (struct sip_pl){ext, strlen(ext)}, -1, &d) < 0 ||
	    !pbx_call_reroute(c, PBX_PARTY_CALLER, &d, "park_timeout", &fail)) {
		log_warn("park: the call at %d could not ring %s again", number, ext);
		return;
	}
	log_info("park: nobody retrieved the call at %d: it rings %s again", number, ext);
}

/* The application of a call answered here: the slot spoken, then silence
 * (the parker's consultation call) or music (a call parked). */
static struct pbx_vm_app *hold_start(struct pbx_call *c, struct pbx_msess *ms,
				     const struct pbx_dest *d, const struct pbx_vm_app_cb *cb)
{
	int i = atoi(d->extension) - PARK_FIRST;
	struct slot *s = i >= 0 && i < PARK_SLOTS ? &slots[i] : NULL;
	bool consult = s && s->consult && s->call == pbx_call_id(c);
	return pbx_vm_hold(pbx_call_pbx(c), ms, s && s->announce.n ? &s->announce : NULL, !consult,
			   cb);
}

/* The parker dialled 700 (a consultation call, with the transferee on
 * hold): the first free slot is reserved for it, the parker hears it and
 * then silence until its phone completes the transfer (REFER or INVITE
 * with Replaces naming this call, pbx_call.c: the party enters this
 * destination with the slot's number) or hangs up (the slot is free). */
static int park_consult(struct pbx_call *c, struct slot *s, int number, struct pbx_route_fail *fail)
{
	const char *ext, *name, *cid;
	pbx_call_caller(c, &ext, &name, &cid);
	s->call = pbx_call_id(c);
	s->consult = true;
	s->parker = pbx_call_caller_id(c);
	snprintf(s->parker_ext, sizeof(s->parker_ext), "%s", ext);
	/* where the transfer sends the party: this slot */
	snprintf(pbx_call_route(c)->cur.extension, sizeof(pbx_call_route(c)->cur.extension), "%d",
		 number);
	if (pbx_call_app(c, hold_start, "park_consult", fail) < 0) {
		slot_free(s);
		return -1;
	}
	log_info("park: slot %d reserved for %s's consultation call %llu", number,
		 s->parker_ext[0] ? s->parker_ext : "?", s->call);
	return 0;
}

/* 700: the call (its caller, the transferee) into the first free slot;
 * the parker's own call to 700 reserves one (park_consult); a slot's
 * number (the transfer completing a consultation) takes the one reserved. */
static int park_enter(struct pbx_call *c, const struct pbx_dest *d, struct pbx_route_fail *fail)
{
	struct pbx *p = pbx_call_pbx(c);
	struct slot *s = NULL;
	const char *pext;
	long long transferor = pbx_call_transferor(c, &pext);
	int want = pbx_park_slot_of((struct sip_pl){d->extension, strlen(d->extension)});
	bool reserved = false;
	if (want >= 0) {
		s = &slots[want - PARK_FIRST];
		s->p = p;
		struct pbx_call *holder = slot_call(s);
		if (!holder || !s->consult) {
			*fail = (struct pbx_route_fail){481, "Park Reservation Gone", "failed"};
			return -1;
		}
		reserved = true;
	}
	for (int i = 0; i < PARK_SLOTS && !s; i++) {
		slots[i].p = p;
		if (!slot_call(&slots[i]))
			s = &slots[i];
	}
	if (!s) {
		*fail = (struct pbx_route_fail){486, "Park Slots Full", "park_full"};
		return -1;
	}
	int number = PARK_FIRST + (int)(s - slots);
	char slot_ext[12];
	snprintf(slot_ext, sizeof(slot_ext), "%d", number);
	announce_make(p, s, number);
	if (!reserved && transferor < 0) {
		pbx_call_set_callee(c, PARK_CODE, "Park");
		return park_consult(c, s, number, fail);
	}
	pbx_call_set_callee(c, slot_ext, "Parked");
	char why[32];
	snprintf(why, sizeof(why), "Parked at %d", number);
	pbx_call_set_xfer_reason(c, why); /* the transferor's phone shows it */
	int rc;
	if (transferor >= 0 || !reserved)
		rc = pbx_call_hold_music(c, s->announce.n ? &s->announce : NULL, "parked", fail);
	else { /* an INVITE with Replaces: the new caller is answered here */
		snprintf(pbx_call_route(c)->cur.extension, sizeof(pbx_call_route(c)->cur.extension),
			 "%d", number);
		rc = pbx_call_app(c, hold_start, "parked", fail);
	}
	if (rc < 0) {
		if (!reserved)
			slot_free(s);
		return -1;
	}
	unsigned long long consult = reserved ? s->call : 0;
	s->call = pbx_call_id(c);
	s->consult = false;
	snprintf(s->tag, sizeof(s->tag), "park%d-%llu", number, s->call);
	if (!reserved) { /* the parker: who transferred the call here */
		s->parker = transferor;
		snprintf(s->parker_ext, sizeof(s->parker_ext), "%s", pext);
	}
	s->timer = event_new(p->child.base, -1, 0, on_park_timeout, s);
	struct timeval tv = {.tv_sec = pbx_park_timeout(p)};
	if (s->timer)
		event_add(s->timer, &tv);
	log_info("park: call %llu parked at %d by %s for %d s%s", s->call, number,
		 s->parker_ext[0] ? s->parker_ext : "?", (int)tv.tv_sec,
		 consult ? " (attended)" : "");
	pbx_blf_user_changed(p, -number);
	return 0;
}

bool pbx_park_consultation(struct pbx_call *c)
{
	const char *ext = pbx_call_route(c)->cur.extension;
	int n = pbx_call_route(c)->cur.kind == &pbx_dest_park
			? pbx_park_slot_of((struct sip_pl){ext, strlen(ext)})
			: -1;
	struct slot *s = n >= 0 ? &slots[n - PARK_FIRST] : NULL;
	return s && s->consult && s->call == pbx_call_id(c);
}

/* 701–720: the call parked there joins the caller. */
static int parked_enter(struct pbx_call *c, const struct pbx_dest *d, struct pbx_route_fail *fail)
{
	int i = atoi(d->extension) - PARK_FIRST;
	struct slot *s = i >= 0 && i < PARK_SLOTS ? &slots[i] : NULL;
	if (s)
		s->p = pbx_call_pbx(c);
	struct pbx_call *parked = s ? slot_call(s) : NULL;
	pbx_call_set_callee(c, d->extension, "Parked call");
	if (!parked || s->consult) {
		*fail = (struct pbx_route_fail){404, "Nothing Parked Here", "not_found"};
		return -1;
	}
	if (pbx_call_connect(c, parked, PBX_PARTY_CALLER, "retrieved", fail) < 0)
		return -1;
	slot_free(s);
	pbx_blf_user_changed(pbx_call_pbx(c), -(PARK_FIRST + i));
	log_info("park: the call at %s retrieved", d->extension);
	return 0;
}

int pbx_park_slot_of(struct sip_pl user)
{
	int64_t n = user.l == 3 ? sip_pl_u64(user, 999) : -1;
	return n >= PARK_FIRST && n < PARK_FIRST + PARK_SLOTS ? (int)n : -1;
}

bool pbx_park_reserved(const char *ext)
{
	struct sip_pl e = {ext, strlen(ext)};
	return sip_pl_eq(e, PARK_CODE) || pbx_park_slot_of(e) >= 0;
}

int pbx_park_dialogs(struct pbx *p, int number, struct pbx_call_dialog *out, int max)
{
	int i = number - PARK_FIRST;
	if (i < 0 || i >= PARK_SLOTS || max < 1)
		return 0;
	slots[i].p = p;
	struct pbx_call *c = slot_call(&slots[i]);
	if (!c || slots[i].consult)
		return 0;
	const char *ext, *name, *cid;
	pbx_call_caller(c, &ext, &name, &cid);
	out[0] = (struct pbx_call_dialog){.call_id = cid,
					  .pbx_tag = slots[i].tag,
					  .state = SIP_DINFO_CONFIRMED,
					  .peer = ext,
					  .peer_name = name};
	return 1;
}

const struct pbx_dest_kind pbx_dest_park = {"park", park_enter, NULL};
const struct pbx_dest_kind pbx_dest_parked = {"parked", parked_enter, NULL};

int pbx_dest_park_resolve(struct pbx *p, struct sip_pl dialled, long long caller_id,
			  struct pbx_dest *out)
{
	(void)p;
	if (sip_pl_eq(dialled, PARK_CODE)) {
		out->kind = &pbx_dest_park;
		out->user_id = caller_id;
		snprintf(out->extension, sizeof(out->extension), "%s", PARK_CODE);
		return 0;
	}
	int n = pbx_park_slot_of(dialled);
	if (n < 0)
		return -1;
	out->kind = &pbx_dest_parked;
	snprintf(out->extension, sizeof(out->extension), "%d", n);
	return 0;
}
