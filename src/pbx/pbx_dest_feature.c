/* pbx_dest_feature — feature codes: *97 the caller's own mailbox (the
 * caller is authenticated by digest: no PIN), *98 any mailbox with its PIN.
 * One row per code. */
#include <stdio.h>
#include <string.h>

#include "pbx_route.h"

static const struct {
	const char *code;
	bool own; /* the caller's own mailbox, without PIN */
} codes[] = {
	{"*97", true},
	{"*98", false},
};

static struct pbx_vm_app *menu_start(struct pbx_call *c, struct pbx_msess *s,
				     const struct pbx_dest *d, const struct pbx_vm_app_cb *cb)
{
	return pbx_vm_menu(pbx_call_pbx(c), s, d->user_id, d->ask_pin, cb);
}

static int feature_enter(struct pbx_call *c, const struct pbx_dest *d, struct pbx_route_fail *fail)
{
	pbx_call_set_callee(c, d->extension, "");
	return pbx_call_app(c, menu_start, "voicemail_menu", fail);
}

const struct pbx_dest_kind pbx_dest_feature = {"feature", feature_enter, NULL};

int pbx_dest_feature_resolve(struct pbx *p, struct sip_pl dialled, long long caller_id,
			     struct pbx_dest *out)
{
	(void)p;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (!sip_pl_eq(dialled, codes[i].code))
			continue;
		out->kind = &pbx_dest_feature;
		out->user_id = codes[i].own ? caller_id : -1;
		out->ask_pin = !codes[i].own;
		snprintf(out->extension, sizeof(out->extension), "%s", codes[i].code);
		return 0;
	}
	return -1;
}
