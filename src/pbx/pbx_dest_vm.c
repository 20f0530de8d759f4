/* pbx_dest_vm — a user's voicemail as a destination: the caller is
 * answered by the media engine and leaves a message (pbx_vm_leave). */
#include <stdio.h>
#include <string.h>

#include "pbx_route.h"

static struct pbx_vm_app *vm_start(struct pbx_call *c, struct pbx_msess *s,
				   const struct pbx_dest *d, const struct pbx_vm_app_cb *cb)
{
	const char *ext, *name, *call_id;
	pbx_call_caller(c, &ext, &name, &call_id);
	return pbx_vm_leave(pbx_call_pbx(c), s, d->user_id, d->reason, ext, name, call_id, cb);
}

static int vm_enter(struct pbx_call *c, const struct pbx_dest *d, struct pbx_route_fail *fail)
{
	pbx_call_set_callee(c, d->extension, d->name);
	return pbx_call_app(c, vm_start, "voicemail", fail);
}

const struct pbx_dest_kind pbx_dest_vm = {"voicemail", vm_enter, NULL};

void pbx_dest_vm_of(struct pbx_dest *out, long long user_id, const char *extension,
		    const char *name, enum pbx_vm_reason reason)
{
	memset(out, 0, sizeof(*out));
	out->kind = &pbx_dest_vm;
	out->user_id = user_id;
	snprintf(out->extension, sizeof(out->extension), "%s", extension);
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->reason = reason;
}
