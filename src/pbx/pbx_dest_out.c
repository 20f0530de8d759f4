/*
 * pbx_dest_out — the destination "an outside number" (DESIGN.md §5): what
 * was dialled matches an outbound route's dial pattern (pbx_dialpat.h;
 * routes in their order, table outbound_routes), its digits stripped and
 * added, and goes out over the route's trunks in order — the next one when
 * a carrier answers 5xx or 408 or does not answer at all (the SBC's Timer
 * B). The caller's permission class (users.outbound_class) must allow the
 * number's class (pbx_number.h); an emergency number (110, 112 and the
 * numbering's list) always goes out, whatever the class, and without a
 * matching route over every enabled trunk. Caller ID: the user's own
 * (users.caller_id), else the trunk's, sent as the trunk's carrier expects
 * (P-Asserted-Identity, P-Preferred-Identity or From), and withheld
 * (RFC 3323 Privacy: id, From anonymous) when the user chose CLIR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "../core/core_log.h"
#include "../sip/sip_dialled.h"
#include "pbx_dialpat.h"
#include "pbx_number.h"
#include "pbx_outbound.h"
#include "pbx_route.h"

#define OUT_MAX_ROUTES 64

/* What was dialled, unescaped: keypad keys, with one leading '+' (E.164
 * dialling from a phone book); -1 if it is anything else. */
static int dialled_keys(struct sip_pl user, char *out, size_t cap)
{
	size_t o = 0;
	if (user.l >= 1 && user.p[0] == '+') {
		o = 1;
		user.p++;
		user.l--;
	} else if (user.l >= 3 && strncasecmp(user.p, "%2B", 3) == 0) {
		o = 1;
		user.p += 3;
		user.l -= 3;
	}
	if (cap < 2)
		return -1;
	int n = sip_dialled_keys(user, out + o, cap - o);
	if (n < 0)
		return -1;
	if (o)
		out[0] = '+';
	return n + (int)o;
}

/* A JSON list of trunk ids into plan (at most PBX_OUT_TRUNKS). */
static void trunks_of(const char *json, struct pbx_out_plan *plan)
{
	json_t *a = json_loads(json ? json : "[]", 0, NULL), *v;
	size_t i;
	json_array_foreach(a, i, v)
	{
		if (json_is_integer(v) && plan->ntrunks < PBX_OUT_TRUNKS)
			plan->trunks[plan->ntrunks++] = json_integer_value(v);
	}
	json_decref(a);
}

/* The first route matching keys: its trunks and the number to send into
 * plan; 0, or -1 when none matches (or on a database error). */
static int route_select(struct pbx *p, const char *keys, struct pbx_out_plan *plan)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db,
			       "SELECT patterns, strip, prepend, trunks FROM outbound_routes"
			       " ORDER BY position, id",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	int found = -1;
	for (int r = 0; r < OUT_MAX_ROUTES && sqlite3_step(st) == SQLITE_ROW && found < 0; r++) {
		json_t *pats = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL), *v;
		const char *list[PBX_OUT_MAX_PATTERNS];
		int n = 0;
		size_t i;
		json_array_foreach(pats, i, v)
		{
			if (json_is_string(v) && n < PBX_OUT_MAX_PATTERNS)
				list[n++] = json_string_value(v);
		}
		struct pbx_dialpat_route route = {list, n, sqlite3_column_int(st, 1),
						  (const char *)sqlite3_column_text(st, 2)};
		if (pbx_dialpat_select(&route, 1, keys, plan->number, sizeof(plan->number)) == 0) {
			trunks_of((const char *)sqlite3_column_text(st, 3), plan);
			found = 0;
		}
		json_decref(pats);
	}
	sqlite3_finalize(st);
	return found;
}

/* Every enabled trunk, in id order: where an emergency call goes when no
 * route takes it. */
static void all_trunks(struct pbx *p, struct pbx_out_plan *plan)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db, "SELECT id FROM trunks WHERE enabled=1 ORDER BY id", -1, &st,
			       NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW && plan->ntrunks < PBX_OUT_TRUNKS)
		plan->trunks[plan->ntrunks++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
}

static enum pbx_number_class caller_class(struct pbx *p, long long user_id, bool *clir, char *cid,
					  size_t cap)
{
	enum pbx_number_class c = PBX_CLASS_INTERNAL;
	sqlite3_stmt *st;
	*clir = false;
	cid[0] = '\0';
	if (sqlite3_prepare_v2(p->db,
			       "SELECT outbound_class, clir, caller_id FROM users WHERE id=?", -1,
			       &st, NULL) != SQLITE_OK)
		return c;
	sqlite3_bind_int64(st, 1, user_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		pbx_number_class_parse((const char *)sqlite3_column_text(st, 0), &c);
		*clir = sqlite3_column_int(st, 1) != 0;
		snprintf(cid, cap, "%s", (const char *)sqlite3_column_text(st, 2));
	}
	sqlite3_finalize(st);
	return c;
}

int pbx_dest_out_resolve(struct pbx *p, struct sip_pl dialled, long long caller_id,
			 struct pbx_dest *out)
{
	char keys[PBX_DIALPAT_LEN + 1];
	if (caller_id <= 0 || dialled.l > PBX_DIALPAT_LEN ||
	    dialled_keys(dialled, keys, sizeof(keys)) < 0)
		return -1;
	struct pbx_numbering n;
	pbx_numbering_load(p, &n);
	struct pbx_out_plan *plan = &out->outbound;
	memset(plan, 0, sizeof(*plan));
	plan->emergency = pbx_number_is_emergency(&n, keys);
	if (route_select(p, keys, plan) < 0) {
		if (!plan->emergency)
			return -1; /* no route: not an outside number (404) */
		snprintf(plan->number, sizeof(plan->number), "%s", keys);
		all_trunks(p, plan);
	}
	/* an emergency number goes out as dialled (110, not +4930110) */
	if (plan->emergency ||
	    pbx_number_e164(&n, plan->number, plan->e164, sizeof(plan->e164)) < 0)
		plan->e164[0] = '\0';
	bool clir;
	char cid[32];
	enum pbx_number_class cls = caller_class(p, caller_id, &clir, cid, sizeof(cid));
	plan->allowed = plan->emergency ||
			pbx_number_allowed(&n, cls, keys, plan->e164[0] ? plan->e164 : NULL);
	plan->clir = clir && !plan->emergency;
	snprintf(plan->caller_id, sizeof(plan->caller_id), "%s", cid);
	out->kind = &pbx_dest_out;
	out->user_id = -1;
	snprintf(out->extension, sizeof(out->extension), "%s", keys);
	return 0;
}

/* ---- a trunk leg ---- */

struct trunk_row {
	char domain[264], proxy[264], username[128], caller_id[32], cid_header[8], fmt[16];
	char kind[16], peer[264];
	bool enabled;
};

static int trunk_load(struct pbx *p, long long id, struct trunk_row *t)
{
	sqlite3_stmt *st;
	int rc = -1;
	if (sqlite3_prepare_v2(
		    p->db,
		    "SELECT domain, proxy, username, caller_id, cid_header, number_format,"
		    " kind, peers, enabled FROM trunks WHERE id=?",
		    -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(t->domain, sizeof(t->domain), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		snprintf(t->proxy, sizeof(t->proxy), "%s",
			 (const char *)sqlite3_column_text(st, 1));
		snprintf(t->username, sizeof(t->username), "%s",
			 (const char *)sqlite3_column_text(st, 2));
		snprintf(t->caller_id, sizeof(t->caller_id), "%s",
			 (const char *)sqlite3_column_text(st, 3));
		snprintf(t->cid_header, sizeof(t->cid_header), "%s",
			 (const char *)sqlite3_column_text(st, 4));
		snprintf(t->fmt, sizeof(t->fmt), "%s", (const char *)sqlite3_column_text(st, 5));
		snprintf(t->kind, sizeof(t->kind), "%s", (const char *)sqlite3_column_text(st, 6));
		json_t *peers = json_loads((const char *)sqlite3_column_text(st, 7), 0, NULL);
		const char *p0 = json_string_value(json_array_get(peers, 0));
		snprintf(t->peer, sizeof(t->peer), "%s", p0 ? p0 : "");
		json_decref(peers);
		t->enabled = sqlite3_column_int(st, 8) != 0;
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* A number in the trunk's format (E.164 ones; others as they are). */
static void formatted(const struct pbx_numbering *n, const char *e164, const char *as_is,
		      const char *fmt, char *out, size_t cap)
{
	enum pbx_number_fmt f;
	if (e164[0] && pbx_number_fmt_parse(fmt, &f) == 0 &&
	    pbx_number_format(n, e164, f, out, cap) >= 0)
		return;
	size_t l = strlen(as_is); /* the callers' buffers hold any: never cut */
	if (l >= cap)
		l = 0;
	memcpy(out, as_is, l);
	out[l] = '\0';
}

/* The domain of a trunk's URIs: its domain (a registering account), else
 * its first peer; the host part only when a port follows. */
static const char *trunk_domain(const struct trunk_row *t)
{
	return t->domain[0] ? t->domain : t->peer;
}

/* Rings the plan's next trunk that can take the call: 0, or -1 when none is
 * left (*fail set). */
static int ring_next(struct pbx_call *c, struct pbx_out_plan *plan, struct pbx_route_fail *fail)
{
	struct pbx *p = pbx_call_pbx(c);
	struct pbx_numbering n;
	pbx_numbering_load(p, &n);
	const char *ext, *name, *cid_unused;
	pbx_call_caller(c, &ext, &name, &cid_unused);
	while (plan->next < plan->ntrunks) {
		long long id = plan->trunks[plan->next++];
		struct trunk_row t;
		if (trunk_load(p, id, &t) < 0 || !t.enabled || !trunk_domain(&t)[0])
			continue;
		char callee[PBX_DIALPAT_LEN + 1], caller[48], caller_e164[40] = "", ruri[400],
							      from[600], to[400], hdrs[1200];
		formatted(&n, plan->e164, plan->number, t.fmt, callee, sizeof(callee));
		/* the caller's number: the user's own, else the trunk's */
		const char *cid = plan->caller_id[0] ? plan->caller_id : t.caller_id;
		if (cid[0] && pbx_number_e164(&n, cid, caller_e164, sizeof(caller_e164)) < 0)
			snprintf(caller_e164, sizeof(caller_e164), "%s", cid);
		formatted(&n, caller_e164, caller_e164, t.fmt, caller, sizeof(caller));
		const char *dom = trunk_domain(&t);
		snprintf(ruri, sizeof(ruri), "sip:%s@%s", callee, dom);
		snprintf(to, sizeof(to), "<sip:%s@%s>", callee, dom);
		/* From: the account (a carrier authenticates it), or the caller's
		 * number where the carrier reads the caller ID from it */
		bool in_from = strcmp(t.cid_header, "from") == 0 || !t.username[0];
		const char *from_user = in_from && caller[0] ? caller : t.username;
		if (plan->clir)
			snprintf(from, sizeof(from),
				 "\"Anonymous\" <sip:anonymous@anonymous.invalid>");
		else
			snprintf(from, sizeof(from), "<sip:%s@%s>",
				 from_user[0] ? from_user : "anonymous", dom);
		int k = 0;
		hdrs[0] = '\0';
		if (caller[0] && !in_from)
			k = snprintf(hdrs, sizeof(hdrs), "%s: <sip:%s@%s>\r\n",
				     strcmp(t.cid_header, "ppi") == 0 ? "P-Preferred-Identity"
								      : "P-Asserted-Identity",
				     caller, dom);
		if (plan->clir && k >= 0 && (size_t)k < sizeof(hdrs))
			snprintf(hdrs + k, sizeof(hdrs) - (size_t)k, "Privacy: id\r\n");
		struct pbx_trunk_leg leg = {.trunk_id = id,
					    .ruri = ruri,
					    .from = from,
					    .to = to,
					    .headers = hdrs,
					    .external = plan->e164[0] ? plan->e164 : plan->number};
		if (pbx_call_ring_trunk(c, &leg) == 0) {
			log_info("outbound: %s → %s over trunk %lld%s%s", ext, callee, id,
				 plan->emergency ? " (emergency)" : "",
				 plan->clir ? " (CLIR)" : "");
			return 0;
		}
	}
	*fail = (struct pbx_route_fail){503, "No Trunk Available", "no_trunk"};
	return -1;
}

static int out_enter(struct pbx_call *c, const struct pbx_dest *d, struct pbx_route_fail *fail)
{
	/* d is the route's own current destination: the trunks go on in it */
	struct pbx_dest *cur = &pbx_call_route(c)->cur;
	pbx_call_set_callee(c, d->outbound.e164[0] ? d->outbound.e164 : d->outbound.number, "");
	if (!d->outbound.allowed) {
		const char *ext, *name, *cid;
		pbx_call_caller(c, &ext, &name, &cid);
		log_info("outbound: %s may not call %s (permission class)", ext,
			 d->outbound.number);
		*fail = (struct pbx_route_fail){403, "Outside Calls Not Allowed", "not_allowed"};
		return -1;
	}
	cur->outbound.next = 0;
	return ring_next(c, &cur->outbound, fail);
}

/* The carrier's answer decides: 5xx, 408 and none at all go to the next
 * trunk; any other failure (busy, no such number) is the caller's. */
static int out_failed(struct pbx_call *c, const struct pbx_dest *d, enum pbx_outcome o,
		      struct pbx_dest *next, struct pbx_route_fail *fail)
{
	(void)next;
	struct pbx_dest *cur = &pbx_call_route(c)->cur;
	int st = pbx_call_trunk_status(c);
	if (cur == d && (st >= 500 || st == 408 || st == 0) && o != PBX_OUT_NOANSWER &&
	    cur->outbound.next < cur->outbound.ntrunks) {
		log_info("outbound: the carrier answered %d; the next trunk", st);
		if (ring_next(c, &cur->outbound, fail) == 0)
			return 2;
		return 0;
	}
	if (st >= 300 && st < 700)
		*fail = (struct pbx_route_fail){st, NULL,
						st == 486 || st == 600 ? "busy"
						: st == 603	       ? "declined"
								       : "failed"};
	return 0;
}

const struct pbx_dest_kind pbx_dest_out = {"outbound", out_enter, out_failed};
