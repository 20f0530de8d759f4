/* pbx_dest_group — a ring group as a destination (see pbx_group.h): its
 * extension resolves to it; its logged-in members are tried by its
 * strategy — all at once for the group's timeout (ringall), or one after
 * the other, each for its ring time (order, roundrobin, longest_idle) —
 * until the group's timeout; members who are busy (in an answered call),
 * on do-not-disturb, disabled or without a registered device are skipped.
 * When nobody answers, the call goes to the group's fallback (an
 * extension, a group, a user's voicemail), or without one fails with 480.
 * Round robin remembers the member it tried last (ring_groups.rr_last).
 * Also the members' feature codes: *45<group> logs the caller in to the
 * group, *46<group> out (a member of that group only), answered with
 * "activated" / "de-activated" (pbx_dest_say). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_log.h"
#include "pbx_group.h"
#include "pbx_route.h"

_Static_assert(PBX_HUNT_MAX == PBX_GROUP_MAX_MEMBERS, "a hunt holds every member");

static const char *const strategies[] = {"ringall", "order", "roundrobin", "longest_idle"};

const char *pbx_group_strategy_name(enum pbx_group_strategy s)
{
	return (unsigned)s < sizeof(strategies) / sizeof(strategies[0]) ? strategies[s] : "ringall";
}

int pbx_group_strategy_of(const char *s)
{
	for (size_t i = 0; s && i < sizeof(strategies) / sizeof(strategies[0]); i++)
		if (strcmp(s, strategies[i]) == 0)
			return (int)i;
	return -1;
}

/* ---- the order of a hunt (pure) ---- */

static int by_position(const struct pbx_group_member *a, const struct pbx_group_member *b)
{
	if (a->position != b->position)
		return a->position < b->position ? -1 : 1;
	return a->user_id < b->user_id ? -1 : a->user_id > b->user_id;
}

/* An insertion sort of indexes (n is small), by idle time first if idle. */
static void sort_idx(const struct pbx_group_member *m, int n, bool idle, int *out)
{
	for (int i = 0; i < n; i++)
		out[i] = i;
	for (int i = 1; i < n; i++) {
		int k = out[i], j = i - 1;
		for (; j >= 0; j--) {
			const struct pbx_group_member *a = &m[out[j]], *b = &m[k];
			int cmp = idle && a->last_call_end != b->last_call_end
					  ? (a->last_call_end < b->last_call_end ? -1 : 1)
					  : by_position(a, b);
			if (cmp <= 0)
				break;
			out[j + 1] = out[j];
		}
		out[j + 1] = k;
	}
}

void pbx_group_order(const struct pbx_group_member *m, int n, enum pbx_group_strategy s,
		     long long rr_last, int *out)
{
	if (n <= 0)
		return;
	if (n > PBX_GROUP_MAX_MEMBERS)
		n = PBX_GROUP_MAX_MEMBERS;
	sort_idx(m, n, s == PBX_GROUP_LONGEST_IDLE, out);
	if (s != PBX_GROUP_ROUNDROBIN)
		return;
	int start = 0; /* after the member tried last */
	for (int i = 0; i < n; i++)
		if (m[out[i]].user_id == rr_last)
			start = (i + 1) % n;
	int tmp[PBX_GROUP_MAX_MEMBERS];
	for (int i = 0; i < n; i++)
		tmp[i] = out[(start + i) % n];
	memcpy(out, tmp, sizeof(int) * (size_t)n);
}

/* ---- storage ---- */

long long pbx_group_by_extension(struct pbx *p, const char *ext)
{
	sqlite3_stmt *st;
	long long id = -1;
	if (sqlite3_prepare_v2(p->db, "SELECT id FROM ring_groups WHERE extension=?", -1, &st,
			       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, ext, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

/* The group's row and its logged-in, enabled members into d: 0 or -1. */
static int group_load(struct pbx *p, long long id, struct pbx_dest *d)
{
	sqlite3_stmt *st;
	struct pbx_group_hunt *h = &d->group;
	long long rr_last = 0;
	int timeout = 60;
	if (sqlite3_prepare_v2(p->db,
			       "SELECT extension, name, strategy, timeout, fallback_type, "
			       "fallback_target, rr_last FROM ring_groups WHERE id=?",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	int found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		snprintf(d->extension, sizeof(d->extension), "%s", sqlite3_column_text(st, 0));
		snprintf(d->name, sizeof(d->name), "%s", sqlite3_column_text(st, 1));
		int s = pbx_group_strategy_of((const char *)sqlite3_column_text(st, 2));
		h->strategy = s < 0 ? PBX_GROUP_RINGALL : s;
		timeout = sqlite3_column_int(st, 3);
		snprintf(h->fallback_type, sizeof(h->fallback_type), "%s",
			 sqlite3_column_text(st, 4));
		snprintf(h->fallback_target, sizeof(h->fallback_target), "%s",
			 sqlite3_column_text(st, 5));
		rr_last = sqlite3_column_int64(st, 6);
	}
	sqlite3_finalize(st);
	if (!found)
		return -1;
	h->group_id = id;
	if (timeout < PBX_GROUP_TIMEOUT_MIN || timeout > PBX_GROUP_TIMEOUT_MAX)
		timeout = 60;
	h->deadline = time(NULL) + timeout;
	struct pbx_group_member m[PBX_GROUP_MAX_MEMBERS];
	int ring[PBX_GROUP_MAX_MEMBERS], n = 0;
	if (sqlite3_prepare_v2(p->db,
			       "SELECT m.user_id, m.position, m.ring_time, u.last_call_end FROM "
			       "group_members m JOIN users u ON u.id=m.user_id WHERE m.group_id=? "
			       "AND m.logged_in=1 AND u.enabled=1",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while (n < PBX_GROUP_MAX_MEMBERS && sqlite3_step(st) == SQLITE_ROW) {
		m[n] = (struct pbx_group_member){sqlite3_column_int64(st, 0),
						 sqlite3_column_int(st, 1),
						 sqlite3_column_int64(st, 3)};
		ring[n++] = sqlite3_column_int(st, 2);
	}
	sqlite3_finalize(st);
	int order[PBX_GROUP_MAX_MEMBERS];
	pbx_group_order(m, n, h->strategy, rr_last, order);
	for (int i = 0; i < n; i++) {
		h->users[i] = m[order[i]].user_id;
		h->ring[i] = ring[order[i]];
	}
	h->n = n;
	h->next = 0;
	return 0;
}

static void set_rr_last(struct pbx *p, long long group_id, long long user_id)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db, "UPDATE ring_groups SET rr_last=? WHERE id=?", -1, &st,
			       NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_int64(st, 2, group_id);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

/* ---- the group as a destination ---- */

/* A member to skip: the caller, busy, on do-not-disturb. */
static bool skip_member(struct pbx_call *c, long long user_id)
{
	struct pbx_mailbox mb;
	if (user_id == pbx_call_caller_id(c) || pbx_call_user_busy(c, user_id))
		return true;
	return pbx_vm_mailbox(pbx_call_pbx(c), user_id, &mb) < 0 || mb.dnd;
}

/* Rings the next member(s) that can ring: true if some device rings. */
static bool ring_next(struct pbx_call *c, struct pbx_dest *d)
{
	struct pbx_group_hunt *h = &d->group;
	long left = (long)(h->deadline - time(NULL));
	if (left <= 0)
		return false;
	if (h->strategy == PBX_GROUP_RINGALL) {
		int rung = 0;
		for (; h->next < h->n; h->next++)
			if (!skip_member(c, h->users[h->next]) &&
			    pbx_call_ring(c, h->users[h->next], (int)left) > 0)
				rung++;
		return rung > 0;
	}
	while (h->next < h->n) {
		int i = h->next++;
		if (skip_member(c, h->users[i]))
			continue;
		int t = h->ring[i] < left ? h->ring[i] : (int)left;
		if (pbx_call_ring(c, h->users[i], t) > 0) {
			if (h->strategy == PBX_GROUP_ROUNDROBIN)
				set_rr_last(pbx_call_pbx(c), h->group_id, h->users[i]);
			return true;
		}
	}
	return false;
}

/* Nobody answered: the fallback into *next (1), or 480 (0). */
static int fallback(struct pbx_call *c, const struct pbx_dest *d, struct pbx_dest *next,
		    struct pbx_route_fail *fail)
{
	const struct pbx_group_hunt *h = &d->group;
	struct pbx *p = pbx_call_pbx(c);
	*fail = (struct pbx_route_fail){480, "No Answer", "no_answer"};
	struct sip_pl t = {h->fallback_target, strlen(h->fallback_target)};
	if (!t.l)
		return 0;
	if (strcmp(h->fallback_type, "voicemail") == 0) {
		struct pbx_mailbox mb;
		if (pbx_vm_mailbox_by_extension(p, t.p, t.l, &mb) < 0 || !mb.enabled)
			return 0;
		pbx_dest_vm_of(next, mb.user_id, mb.extension, mb.display_name, PBX_VM_NOANSWER);
		return 1;
	}
	if (strcmp(h->fallback_type, "extension") == 0) {
		memset(next, 0, sizeof(*next));
		next->user_id = -1;
		return pbx_dest_ext_resolve(p, t, pbx_call_caller_id(c), next) == 0;
	}
	if (strcmp(h->fallback_type, "group") == 0) {
		memset(next, 0, sizeof(*next));
		next->user_id = -1;
		return pbx_dest_group_resolve(p, t, pbx_call_caller_id(c), next) == 0;
	}
	return 0;
}

static int group_enter(struct pbx_call *c, const struct pbx_dest *d, struct pbx_route_fail *fail)
{
	pbx_call_set_callee(c, d->extension, d->name);
	/* d is the route's own current destination: the hunt goes on in it */
	struct pbx_dest *cur = &pbx_call_route(c)->cur;
	if (group_load(pbx_call_pbx(c), d->group.group_id, cur) < 0) {
		*fail = (struct pbx_route_fail){500, NULL, "failed"};
		return -1;
	}
	log_info("group %s: %d member(s) logged in, %s", cur->extension, cur->group.n,
		 pbx_group_strategy_name(cur->group.strategy));
	if (ring_next(c, cur))
		return 0;
	return pbx_route_failed(c, PBX_OUT_UNAVAILABLE, fail);
}

static int group_failed(struct pbx_call *c, const struct pbx_dest *d, enum pbx_outcome o,
			struct pbx_dest *next, struct pbx_route_fail *fail)
{
	(void)o;
	struct pbx_dest *cur = &pbx_call_route(c)->cur;
	if (cur == d && ring_next(c, cur))
		return 2;
	return fallback(c, d, next, fail);
}

const struct pbx_dest_kind pbx_dest_group = {"group", group_enter, group_failed};

int pbx_dest_group_resolve(struct pbx *p, struct sip_pl dialled, long long caller_id,
			   struct pbx_dest *out)
{
	(void)caller_id;
	char ext[72];
	if (!dialled.l || dialled.l >= sizeof(ext))
		return -1;
	snprintf(ext, sizeof(ext), "%.*s", (int)dialled.l, dialled.p);
	long long id = pbx_group_by_extension(p, ext);
	if (id < 0)
		return -1;
	out->kind = &pbx_dest_group;
	out->group.group_id = id;
	snprintf(out->extension, sizeof(out->extension), "%s", ext);
	return 0;
}

/* ---- *45<group> log in, *46<group> log out ---- */

/* The caller's membership of the group: 0 (set), 1 (not a member), -1. */
static int set_logged_in(struct pbx *p, const char *ext, long long user_id, bool in)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(p->db,
			       "UPDATE group_members SET logged_in=?1 WHERE user_id=?2 AND "
			       "group_id=(SELECT id FROM ring_groups WHERE extension=?3)",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int(st, 1, in);
	sqlite3_bind_int64(st, 2, user_id);
	sqlite3_bind_text(st, 3, ext, -1, SQLITE_STATIC);
	int r = sqlite3_step(st) == SQLITE_DONE ? (sqlite3_changes(p->db) == 1 ? 0 : 1) : -1;
	sqlite3_finalize(st);
	return r;
}

static int group_code_enter(struct pbx_call *c, const struct pbx_dest *d,
			    struct pbx_route_fail *fail)
{
	pbx_call_set_callee(c, d->extension, "");
	bool in = strncmp(d->extension, "*45", 3) == 0;
	int r = set_logged_in(pbx_call_pbx(c), d->extension + 3, d->user_id, in);
	log_info("group %s: user %lld %s%s", d->extension + 3, d->user_id,
		 in ? "logs in" : "logs out", r ? " — refused (not a member)" : "");
	return pbx_dest_say(c,
			    r	 ? "vm-invalid"
			    : in ? "activated"
				 : "de-activated",
			    "feature_code", fail);
}

const struct pbx_dest_kind pbx_dest_group_code = {"code", group_code_enter, NULL};

int pbx_dest_group_code_resolve(struct pbx *p, struct sip_pl dialled, long long caller_id,
				struct pbx_dest *out)
{
	(void)p;
	if (dialled.l < 4 || dialled.l > 3 + 15 ||
	    (!sip_pl_eq((struct sip_pl){dialled.p, 3}, "*45") &&
	     !sip_pl_eq((struct sip_pl){dialled.p, 3}, "*46")))
		return -1;
	for (size_t i = 3; i < dialled.l; i++)
		if (dialled.p[i] < '0' || dialled.p[i] > '9')
			return -1;
	out->kind = &pbx_dest_group_code;
	out->user_id = caller_id;
	snprintf(out->extension, sizeof(out->extension), "%.*s", (int)dialled.l, dialled.p);
	return 0;
}
