/* pbx_dest_pickup — call pickup as a destination: *8 takes the call ringing
 * longest at a user of the caller's pickup group (users.pickup_group),
 * **<ext> the one ringing at that extension. Only users of this phone
 * system: its own users table. The call is taken over by pbx_call_pickup. */
#include <stdio.h>
#include <string.h>

#include "pbx_route.h"

static int pickup_enter(struct pbx_call *c, const struct pbx_dest *d, struct pbx_route_fail *fail)
{
	struct pbx *p = pbx_call_pbx(c);
	pbx_call_set_callee(c, d->extension, "");
	struct pbx_call *r = pbx_call_ringing_at(p, pbx_call_caller_id(c), d->user_id, d->name);
	if (!r) {
		*fail = (struct pbx_route_fail){480, "Nothing To Pick Up", "not_found"};
		return -1;
	}
	return pbx_call_pickup(c, r, fail);
}

const struct pbx_dest_kind pbx_dest_pickup = {"pickup", pickup_enter, NULL};

/* One text column of a user by id, or "". */
static void group_of(struct pbx *p, long long user_id, char *out, size_t cap)
{
	sqlite3_stmt *st;
	out[0] = '\0';
	if (sqlite3_prepare_v2(p->db, "SELECT pickup_group FROM users WHERE id=?", -1, &st, NULL) !=
	    SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, user_id);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* The dialled user part with %2A / %2a as '*' (phones may escape it). */
static struct sip_pl unstar(struct sip_pl in, char *buf, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < in.l && o + 1 < cap; i++) {
		if (in.p[i] == '%' && i + 2 < in.l && in.p[i + 1] == '2' &&
		    (in.p[i + 2] == 'A' || in.p[i + 2] == 'a')) {
			buf[o++] = '*';
			i += 2;
		} else {
			buf[o++] = in.p[i];
		}
	}
	buf[o] = '\0';
	return (struct sip_pl){buf, o};
}

int pbx_dest_pickup_resolve(struct pbx *p, struct sip_pl raw, long long caller_id,
			    struct pbx_dest *out)
{
	char buf[80];
	if (raw.l >= sizeof(buf))
		return -1;
	struct sip_pl dialled = unstar(raw, buf, sizeof(buf));
	if (sip_pl_eq(dialled, "*8")) {
		out->kind = &pbx_dest_pickup;
		out->user_id = -1;
		group_of(p, caller_id, out->name, sizeof(out->name));
		snprintf(out->extension, sizeof(out->extension), "*8");
		return out->name[0] ? 0 : -1; /* no group: nothing to pick up (404) */
	}
	if (dialled.l < 3 || dialled.l > 66 || memcmp(dialled.p, "**", 2) != 0)
		return -1;
	struct sip_pl ext = {dialled.p + 2, dialled.l - 2};
	if (pbx_dest_ext_resolve(p, ext, caller_id, out) < 0)
		return -1;
	out->kind = &pbx_dest_pickup;
	out->name[0] = '\0';
	return 0;
}
