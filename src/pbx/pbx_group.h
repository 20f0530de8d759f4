/*
 * pbx_group — ring groups (teams): a group has an extension, members in
 * positions, a strategy, a per-member ring time, a total timeout and a
 * fallback destination (tables ring_groups and group_members of pbx.db,
 * migration 7). pbx_dest_group.c is the group as a destination (and the
 * members' log-in/log-out codes *45<group> and *46<group>); the order in which
 * members are tried is the pure function pbx_group_order; the API under
 * /api/v1/groups is pbx_groups_api.c.
 */
#ifndef PBX_GROUP_H
#define PBX_GROUP_H

#include <stdbool.h>

#include "pbx.h"

#define PBX_GROUP_MAX_MEMBERS 32
#define PBX_GROUP_RING_MIN    5	  /* s: a member's ring time */
#define PBX_GROUP_RING_MAX    300 /* s */
#define PBX_GROUP_TIMEOUT_MIN 5	  /* s: the whole group's */
#define PBX_GROUP_TIMEOUT_MAX 600 /* s */

enum pbx_group_strategy {
	PBX_GROUP_RINGALL,	/* every member at once, for the group's timeout */
	PBX_GROUP_ORDER,	/* one after the other in position order */
	PBX_GROUP_ROUNDROBIN,	/* as order, starting after the member tried last */
	PBX_GROUP_LONGEST_IDLE, /* the member whose last call ended longest ago first */
};

/* "ringall", "order", "roundrobin", "longest_idle"; and back (-1: none). */
const char *pbx_group_strategy_name(enum pbx_group_strategy s);
int pbx_group_strategy_of(const char *s);

/* What the order of a hunt depends on, per member. */
struct pbx_group_member {
	long long user_id;
	int position;
	long long last_call_end; /* users.last_call_end: unix time, 0 never */
};

/* The order in which the n members m are tried under strategy s: indexes
 * into m written to out (n of them); rr_last is the user tried last
 * (round robin starts after that member, or at the first if it is none of
 * them). Ties (equal positions, equal idle times) go by position, then by
 * user id. Pure. */
void pbx_group_order(const struct pbx_group_member *m, int n, enum pbx_group_strategy s,
		     long long rr_last, int *out);

/* A group with extension ext exists: its id, else -1. */
long long pbx_group_by_extension(struct pbx *p, const char *ext);

/* pbx_groups_api.c: rest "" for the collection, "/ID" for one group. */
void pbx_groups_api_handle(struct pbx *p, struct core_httpd_req *req, const char *rest);

#endif
