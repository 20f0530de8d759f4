/*
 * sup_blocks — the SBC's block list, kept by the supervisor so that it
 * outlives the SBC: the SBC reports every block and every lift
 * (IPC_SBC_BLOCKS), mgmt is passed each change, and a (re)started SBC or
 * mgmt, or one that missed a push, gets the whole list in chunks
 * (IPC_BLOCKS). The list never rides in the state message.
 */
#include <string.h>
#include <time.h>

#include "../core/core_auth.h"
#include "../core/core_log.h"
#include "supervisor.h"

/* The SBC holds at most CORE_THROTTLE_CAPACITY; lifts and ends may race. */
#define SUP_BLOCKS_MAX (2 * CORE_THROTTLE_CAPACITY)

static struct sup_child *blocks_child(struct sup *s, enum sup_role role)
{
	for (struct sup_child *c = s->children; c; c = c->next)
		if (c->role == role && c->ipc)
			return c;
	return NULL;
}

static void blocks_prune(struct sup *s, time_t now)
{
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(s->sip_blocks, tmp, k, v)
	{
		if (json_integer_value(v) <= now)
			json_object_del(s->sip_blocks, k);
	}
}

void sup_blocks_on_report(struct sup *s, const struct core_ipc_msg *msg)
{
	json_t *j = core_ipc_json(msg), *it;
	json_t *added = json_array(), *removed = json_array();
	size_t i, dropped = 0;
	time_t now = time(NULL);
	if (json_object_size(s->sip_blocks) >= SUP_BLOCKS_MAX)
		blocks_prune(s, now);
	json_array_foreach(json_object_get(j, "added"), i, it)
	{
		const char *a = json_string_value(json_object_get(it, "address"));
		json_t *until = json_object_get(it, "until");
		if (!a || strlen(a) >= CORE_THROTTLE_KEY_LEN || !json_is_integer(until))
			continue;
		if (!json_object_get(s->sip_blocks, a) &&
		    json_object_size(s->sip_blocks) >= SUP_BLOCKS_MAX) {
			dropped++;
			continue;
		}
		json_object_set_new(s->sip_blocks, a, json_integer(json_integer_value(until)));
		json_array_append(added, it);
	}
	json_array_foreach(json_object_get(j, "removed"), i, it)
	{
		if (json_is_string(it) &&
		    json_object_del(s->sip_blocks, json_string_value(it)) == 0)
			json_array_append(removed, it);
	}
	json_decref(j);
	if (dropped)
		log_error("%zu block(s) of the SBC not kept: %d at most", dropped, SUP_BLOCKS_MAX);
	struct sup_child *mgmt = blocks_child(s, ROLE_MGMT);
	if (mgmt && (json_array_size(added) || json_array_size(removed))) {
		json_t *m = json_pack("{s:o, s:o}", "added", added, "removed", removed);
		sup_child_push(s, mgmt, IPC_BLOCKS, m);
		json_decref(m);
	} else {
		json_decref(added);
		json_decref(removed);
	}
}

bool sup_blocks_lift(struct sup *s, const char *addr)
{
	bool had = json_object_del(s->sip_blocks, addr) == 0;
	struct sup_child *mgmt = blocks_child(s, ROLE_MGMT);
	if (had && mgmt) {
		json_t *m = json_pack("{s:[], s:[s]}", "added", "removed", addr);
		sup_child_push(s, mgmt, IPC_BLOCKS, m);
		json_decref(m);
	}
	return had;
}

int sup_blocks_send_all(struct sup *s, struct sup_child *c)
{
	time_t now = time(NULL);
	blocks_prune(s, now);
	const char *k;
	json_t *v;
	json_t *chunk = json_array();
	bool first = true;
	int r = 0;
	json_object_foreach(s->sip_blocks, k, v)
	{
		json_array_append_new(chunk, json_pack("{s:s, s:O}", "address", k, "until", v));
		if (json_array_size(chunk) < CORE_IPC_BLOCKS_CHUNK)
			continue;
		json_t *m =
			json_pack("{s:b, s:o, s:[]}", "reset", first, "added", chunk, "removed");
		r = sup_child_push(s, c, IPC_BLOCKS, m);
		json_decref(m);
		first = false;
		chunk = json_array();
		if (r < 0)
			break;
	}
	if (r == 0 && (first || json_array_size(chunk))) {
		json_t *m =
			json_pack("{s:b, s:O, s:[]}", "reset", first, "added", chunk, "removed");
		r = sup_child_push(s, c, IPC_BLOCKS, m);
		json_decref(m);
	}
	json_decref(chunk);
	return r;
}
