/* pbx_route — see pbx_route.h: resolving what was dialled, and the steps
 * from destination to destination. */
#include "pbx_route.h"

#include <string.h>

#include "../sip/sip_divert.h"

/* Who answers to a dialled number, tried in order. */
static const struct {
	const char *name;
	int (*resolve)(struct pbx *p, struct sip_pl dialled, long long caller_id,
		       struct pbx_dest *out);
} resolvers[] = {
	{"feature", pbx_dest_feature_resolve},	     /* *97, *98 */
	{"code", pbx_dest_code_resolve},	     /* forwarding, DND, call waiting */
	{"group_code", pbx_dest_group_code_resolve}, /* *45, *46 + group */
	{"pickup", pbx_dest_pickup_resolve},	     /* *8, ** + extension */
	{"park", pbx_dest_park_resolve},	     /* 700, 701-720 */
	{"extension", pbx_dest_ext_resolve},
	{"group", pbx_dest_group_resolve},
	{"outbound", pbx_dest_out_resolve}, /* an outbound route's pattern, emergency */
};

int pbx_route_resolve(struct pbx *p, struct sip_pl dialled, long long caller_id,
		      struct pbx_dest *out)
{
	for (size_t i = 0; i < sizeof(resolvers) / sizeof(resolvers[0]); i++) {
		memset(out, 0, sizeof(*out));
		out->user_id = -1;
		if (resolvers[i].resolve(p, dialled, caller_id, out) == 0)
			return 0;
	}
	return -1;
}

int pbx_route_enter(struct pbx_call *c, const struct pbx_dest *d, struct pbx_route_fail *fail)
{
	struct pbx_route *r = pbx_call_route(c);
	if (++r->steps > PBX_ROUTE_MAX_STEPS) {
		*fail = (struct pbx_route_fail){500, "Routing Loop", "failed"};
		return -1;
	}
	if (&r->cur != d)
		r->cur = *d;
	/* the call record's path: "kind:extension", "(why)" when a forward
	 * brought the call there, '>' between steps */
	size_t l = strlen(r->path);
	if (l < sizeof(r->path) - 1)
		snprintf(r->path + l, sizeof(r->path) - l, "%s%s:%s%s%s%s", l ? ">" : "",
			 r->cur.kind->name, r->cur.extension, r->cur.via ? "(" : "",
			 r->cur.via ? r->cur.via : "", r->cur.via ? ")" : "");
	return r->cur.kind->enter(c, &r->cur, fail);
}

static void fail_of(enum pbx_outcome o, struct pbx_route_fail *fail)
{
	switch (o) {
	case PBX_OUT_NOANSWER:
		*fail = (struct pbx_route_fail){480, "No Answer", "no_answer"};
		break;
	case PBX_OUT_BUSY:
		*fail = (struct pbx_route_fail){486, NULL, "busy"};
		break;
	case PBX_OUT_DECLINED:
		*fail = (struct pbx_route_fail){603, NULL, "declined"};
		break;
	case PBX_OUT_UNAVAILABLE:
		*fail = (struct pbx_route_fail){480, NULL, "unavailable"};
		break;
	}
}

int pbx_route_failed(struct pbx_call *c, enum pbx_outcome o, struct pbx_route_fail *fail)
{
	struct pbx_route *r = pbx_call_route(c);
	struct pbx_dest next;
	fail_of(o, fail);
	int k = r->cur.kind->failed ? r->cur.kind->failed(c, &r->cur, o, &next, fail) : 0;
	if (k == 2)
		return 0; /* it rings anew */
	if (k != 1)
		return -1;
	return pbx_route_enter(c, &next, fail);
}

static enum sip_divert_reason divert_reason(const char *why)
{
	static const struct {
		const char *name;
		enum sip_divert_reason r;
	} map[] = {{"always", SIP_DIVERT_UNCONDITIONAL},
		   {"busy", SIP_DIVERT_BUSY},
		   {"noanswer", SIP_DIVERT_NOANSWER},
		   {"unavailable", SIP_DIVERT_UNAVAILABLE},
		   {"dnd", SIP_DIVERT_DND}};
	for (size_t i = 0; why && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(why, map[i].name) == 0)
			return map[i].r;
	return SIP_DIVERT_UNCONDITIONAL;
}

void pbx_route_headers(const struct pbx_route *r, const char *domain, char *out, size_t cap)
{
	struct sip_divert_hop h[PBX_ROUTE_MAX_STEPS + 1];
	int n = 0;
	for (int i = 0; i < r->nhops; i++)
		h[n++] = (struct sip_divert_hop){r->hops[i].ext, r->hops[i].name,
						 divert_reason(r->hops[i].reason)};
	/* forwarded to something that is not an extension (a ring group): it
	 * is the target now rung */
	if (n && r->hops[n - 1].reason && r->cur.extension[0])
		h[n++] = (struct sip_divert_hop){r->cur.extension, r->cur.name,
						 SIP_DIVERT_UNCONDITIONAL};
	if (cap && sip_divert_build(h, n, domain, out, cap) < 0)
		out[0] = '\0';
}
