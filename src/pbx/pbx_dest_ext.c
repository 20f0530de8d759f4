/* pbx_dest_ext — the extension as a destination, with the user's
 * forwarding (pbx_forward.h), checked in this order: forward always; do
 * not disturb (to the user's voicemail, else 486); busy — in another call
 * with call waiting off (pbx_calls_user_busy) — forward on busy; else the
 * registered devices ring for the user's ring time; nothing registered:
 * forward when unavailable; no answer: forward on no answer; every device
 * busy (486/600/603): forward on busy. Without a matching rule the call
 * goes to the user's voicemail (when the mailbox is on; without one the
 * caller hears why, as a SIP status). A forward goes to an extension or a
 * ring group (by number, as dialled: pbx_route_resolve) or a mailbox; each
 * extension reached is a hop of the route (Diversion/History-Info on the
 * INVITEs, the "(why)" of the path); reaching one again is a loop, ended
 * with 482 Loop Detected and the cause "forward_loop". */
#include <stdio.h>
#include <string.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "pbx_call.h"
#include "pbx_forward.h"
#include "pbx_route.h"

static enum pbx_vm_reason vm_reason_of(enum pbx_fwd_kind k)
{
	return k == PBX_FWD_BUSY       ? PBX_VM_BUSY
	       : k == PBX_FWD_NOANSWER ? PBX_VM_NOANSWER
				       : PBX_VM_UNAVAILABLE;
}

/* The destination rule r of kind k (of the extension d) sends the call
 * to: 1 with *next set, or 0 (no rule on, or its target is gone). */
static int forward_next(struct pbx_call *c, const struct pbx_dest *d, enum pbx_fwd_kind k,
			const struct pbx_fwd_rule *r, struct pbx_dest *next)
{
	struct pbx *p = pbx_call_pbx(c);
	if (!r->set || !r->enabled)
		return 0;
	struct pbx_mailbox mb;
	switch (r->type) {
	case PBX_FWD_TO_VOICEMAIL:
		if (!r->target[0])
			pbx_dest_vm_of(next, d->user_id, d->extension, d->name, vm_reason_of(k));
		else if (pbx_vm_mailbox_by_extension(p, r->target, strlen(r->target), &mb) == 0)
			pbx_dest_vm_of(next, mb.user_id, mb.extension, mb.display_name,
				       vm_reason_of(k));
		else
			return 0;
		break;
	case PBX_FWD_TO_EXTENSION:
	case PBX_FWD_TO_GROUP:
		if (pbx_route_resolve(p, (struct sip_pl){r->target, strlen(r->target)},
				      pbx_call_caller_id(c), next) < 0)
			return 0;
		break;
	case PBX_FWD_TO_EXTERNAL: /* refused when stored: no trunks yet */
		return 0;
	}
	next->via = pbx_forward_kind_name(k);
	struct pbx_route *rt = pbx_call_route(c);
	if (rt->nhops > 0)
		rt->hops[rt->nhops - 1].reason = next->via;
	log_info("forward: %s (%s) → %s %s", d->extension, next->via,
		 pbx_forward_target_name(r->type), r->target[0] ? r->target : d->extension);
	return 1;
}

/* After the user's devices gave up (or before, for busy): a forward, else
 * the voicemail: 1 with *next set, or 0 (the call fails as *fail says). */
static int ext_fallback(struct pbx_call *c, const struct pbx_dest *d, enum pbx_outcome o,
			struct pbx_dest *next)
{
	struct pbx_fwd fw;
	enum pbx_fwd_kind k = o == PBX_OUT_NOANSWER	 ? PBX_FWD_NOANSWER
			      : o == PBX_OUT_UNAVAILABLE ? PBX_FWD_UNAVAILABLE
							 : PBX_FWD_BUSY;
	if (pbx_forward_get(pbx_call_pbx(c), d->user_id, &fw) == 0 &&
	    forward_next(c, d, k, &fw.rule[k], next))
		return 1;
	if (!d->vm_enabled)
		return 0;
	enum pbx_vm_reason why = o == PBX_OUT_NOANSWER	    ? PBX_VM_NOANSWER
				 : o == PBX_OUT_UNAVAILABLE ? PBX_VM_UNAVAILABLE
							    : PBX_VM_BUSY;
	pbx_dest_vm_of(next, d->user_id, d->extension, d->name, why);
	next->via = pbx_forward_kind_name(k); /* the path says why */
	return 1;
}

/* d's user reached again: a loop. Else d is the route's newest hop. */
static bool hop_add(struct pbx_call *c, const struct pbx_dest *d)
{
	struct pbx_route *r = pbx_call_route(c);
	for (int i = 0; i < r->nhops; i++)
		if (r->hops[i].user_id == d->user_id)
			return false;
	if (r->nhops >= PBX_ROUTE_MAX_STEPS)
		return false;
	struct pbx_route_hop *h = &r->hops[r->nhops++];
	h->user_id = d->user_id;
	snprintf(h->ext, sizeof(h->ext), "%s", d->extension);
	snprintf(h->name, sizeof(h->name), "%s", d->name);
	h->reason = NULL;
	return true;
}

static int ext_enter(struct pbx_call *c, const struct pbx_dest *d, struct pbx_route_fail *fail)
{
	struct pbx *p = pbx_call_pbx(c);
	pbx_call_set_callee(c, d->extension, d->name);
	if (!hop_add(c, d)) {
		log_info("forward: %s reached again: a loop", d->extension);
		*fail = (struct pbx_route_fail){482, "Loop Detected", "forward_loop"};
		return -1;
	}
	struct pbx_fwd fw;
	struct pbx_dest next;
	if (pbx_forward_get(p, d->user_id, &fw) < 0)
		memset(&fw, 0, sizeof(fw));
	if (forward_next(c, d, PBX_FWD_ALWAYS, &fw.rule[PBX_FWD_ALWAYS], &next))
		return pbx_route_enter(c, &next, fail);
	if (d->dnd && d->vm_enabled) {
		pbx_dest_vm_of(&next, d->user_id, d->extension, d->name, PBX_VM_DND);
		next.via = "dnd";
		return pbx_route_enter(c, &next, fail);
	}
	if (d->dnd) { /* do not disturb, no mailbox */
		*fail = (struct pbx_route_fail){486, "Do Not Disturb", "busy"};
		return -1;
	}
	if (!fw.call_waiting && pbx_calls_user_busy(p->calls, d->user_id)) {
		log_info("call: %s is in a call, call waiting off: busy", d->extension);
		if (ext_fallback(c, d, PBX_OUT_BUSY, &next))
			return pbx_route_enter(c, &next, fail);
		*fail = (struct pbx_route_fail){486, NULL, "busy"};
		return -1;
	}
	/* the user's ring time before "no answer" goes on: to voicemail or a forward */
	const struct pbx_fwd_rule *na = &fw.rule[PBX_FWD_NOANSWER];
	int ring = na->set && na->enabled && fw.ring_time > 0 ? fw.ring_time : d->ring_time;
	if (pbx_call_ring(c, d->user_id, ring) > 0)
		return 0;
	return pbx_route_failed(c, PBX_OUT_UNAVAILABLE, fail);
}

static int ext_failed(struct pbx_call *c, const struct pbx_dest *d, enum pbx_outcome o,
		      struct pbx_dest *next, struct pbx_route_fail *fail)
{
	(void)fail;
	return ext_fallback(c, d, o, next);
}

const struct pbx_dest_kind pbx_dest_ext = {"extension", ext_enter, ext_failed};

/* An enabled user by extension or SIP user name: its id, or -1. */
static long long user_lookup(struct pbx *p, struct sip_pl who)
{
	long long id = -1;
	sqlite3_stmt *st = core_db_stmt(p->db, "SELECT id FROM users WHERE (extension=?1 OR "
					       "sip_username=?1) AND enabled=1");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, who.p, (int)who.l, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return id;
}

int pbx_dest_ext_resolve(struct pbx *p, struct sip_pl dialled, long long caller_id,
			 struct pbx_dest *out)
{
	(void)caller_id;
	struct pbx_mailbox mb;
	long long id = dialled.l ? user_lookup(p, dialled) : -1;
	if (id < 0 || pbx_vm_mailbox(p, id, &mb) < 0)
		return -1;
	out->kind = &pbx_dest_ext;
	out->user_id = mb.user_id;
	snprintf(out->extension, sizeof(out->extension), "%s", mb.extension);
	snprintf(out->name, sizeof(out->name), "%s", mb.display_name);
	out->vm_enabled = mb.enabled;
	/* without voicemail a call rings as long as the caller waits */
	out->ring_time = mb.enabled && mb.ring_time > 0 ? mb.ring_time : PBX_RING_TIMEOUT;
	out->dnd = mb.dnd;
	return 0;
}
