/* pbx_dest_ext — the extension as a destination: do-not-disturb straight to
 * its voicemail; else its registered devices ring for the user's ring time,
 * and no answer, busy or nothing registered goes to its voicemail (when its
 * mailbox is on; without one the caller hears why, as a SIP status). */
#include <stdio.h>
#include <string.h>

#include "pbx_call.h"
#include "pbx_route.h"

static int ext_enter(struct pbx_call *c, const struct pbx_dest *d, struct pbx_route_fail *fail)
{
	pbx_call_set_callee(c, d->extension, d->name);
	struct pbx_dest vm;
	if (d->dnd && d->vm_enabled) {
		pbx_dest_vm_of(&vm, d->user_id, d->extension, d->name, PBX_VM_DND);
		return pbx_route_enter(c, &vm, fail);
	}
	if (d->dnd) { /* do not disturb, no mailbox */
		*fail = (struct pbx_route_fail){486, "Do Not Disturb", "busy"};
		return -1;
	}
	if (pbx_call_ring(c, d->user_id, d->ring_time) > 0)
		return 0;
	return pbx_route_failed(c, PBX_OUT_UNAVAILABLE, fail);
}

static int ext_failed(struct pbx_call *c, const struct pbx_dest *d, enum pbx_outcome o,
		      struct pbx_dest *next, struct pbx_route_fail *fail)
{
	(void)c;
	(void)fail;
	if (!d->vm_enabled)
		return 0;
	enum pbx_vm_reason why = o == PBX_OUT_NOANSWER	    ? PBX_VM_NOANSWER
				 : o == PBX_OUT_UNAVAILABLE ? PBX_VM_UNAVAILABLE
							    : PBX_VM_BUSY;
	pbx_dest_vm_of(next, d->user_id, d->extension, d->name, why);
	return 1;
}

const struct pbx_dest_kind pbx_dest_ext = {"extension", ext_enter, ext_failed};

/* An enabled user by extension or SIP user name: its id, or -1. */
static long long user_lookup(struct pbx *p, struct sip_pl who)
{
	sqlite3_stmt *st;
	long long id = -1;
	if (sqlite3_prepare_v2(p->db,
			       "SELECT id FROM users WHERE (extension=?1 OR sip_username=?1) AND "
			       "enabled=1",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, who.p, (int)who.l, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
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
