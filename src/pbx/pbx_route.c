/* pbx_route — see pbx_route.h: resolving what was dialled, and the steps
 * from destination to destination. */
#include "pbx_route.h"

#include <string.h>

/* Who answers to a dialled number, tried in order. */
static const struct {
	const char *name;
	int (*resolve)(struct pbx *p, struct sip_pl dialled, long long caller_id,
		       struct pbx_dest *out);
} resolvers[] = {
	{"feature", pbx_dest_feature_resolve},
	{"pickup", pbx_dest_pickup_resolve},
	{"park", pbx_dest_park_resolve},
	{"extension", pbx_dest_ext_resolve},
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
	/* the call record's path: "kind:extension", '>' between steps */
	size_t l = strlen(r->path);
	if (l < sizeof(r->path) - 1)
		snprintf(r->path + l, sizeof(r->path) - l, "%s%s:%s", l ? ">" : "",
			 r->cur.kind->name, r->cur.extension);
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
	if (!r->cur.kind->failed || r->cur.kind->failed(c, &r->cur, o, &next, fail) != 1)
		return -1;
	return pbx_route_enter(c, &next, fail);
}
