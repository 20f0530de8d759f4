/*
 * sup_nat — the SBC's NAT settings per interface (docs/architecture.md,
 * "NAT"): kept in system.db as one setting, sbc.nat, a JSON object
 * {interface: {external_address | stun_server, local_networks?}}, changed
 * by the set-nat operation (checked whole with core_nat_config_check
 * before anything is kept), and passed to the SBC in IPC_STATE's
 * "sbc_nat" with what the interface has now: its own addresses and, when
 * no local_networks are set, its subnets as the inside networks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../core/core_nat.h"
#include "../core/core_net.h"
#include "../core/core_state.h"
#include "supervisor.h"

#define NAT_KEY "sbc.nat"
/* What the setting holds at most: 16 interfaces of a 253-character STUN
 * server and 30 networks of at most 49 characters each fit in 32 KiB. */
#define NAT_MAX_TEXT 65536

/* What is stored: an object (empty when never set). */
json_t *sup_nat_settings(struct sup *s)
{
	char *val = malloc(NAT_MAX_TEXT);
	json_t *o = NULL;
	if (val && core_db_setting_get(s->db, NAT_KEY, val, NAT_MAX_TEXT) == 0)
		o = json_loads(val, 0, NULL);
	free(val);
	if (json_is_object(o))
		return o;
	json_decref(o);
	return json_object();
}

/* An address list as networks of one address each ("10.0.0.2/32"). */
static json_t *full_prefixes(json_t *addrs)
{
	json_t *out = json_array(), *a;
	size_t i;
	json_array_foreach(addrs, i, a)
	{
		const char *v = json_string_value(a);
		if (json_array_size(out) < CORE_NAT_MAX_ADDRS)
			json_array_append_new(out,
					      json_sprintf("%s/%d", v, strchr(v, ':') ? 128 : 32));
	}
	return out;
}

/* [{"interface", "external_address", "stun_server", "addresses", "inside"}]
 * for IPC_STATE, within core_state's bounds; an interface that is not
 * there now gets no addresses (nothing of ours is on it). */
json_t *sup_nat_config(struct sup *s)
{
	json_t *set = sup_nat_settings(s), *out = json_array(), *v;
	const char *name;
	json_object_foreach(set, name, v)
	{
		if (json_array_size(out) >= CORE_STATE_MAX_NAT)
			break;
		json_t *addrs = core_net_interface_addresses(name);
		json_t *inside = json_object_get(v, "local_networks");
		json_t *own = core_net_interface_networks(name);
		json_t *nets = json_array(), *n;
		size_t i;
		json_array_foreach(inside ? inside : own, i,
				   n) if (json_array_size(nets) < CORE_NAT_MAX_NETS)
			json_array_append(nets, n);
		const char *ext = json_string_value(json_object_get(v, "external_address"));
		const char *stun = json_string_value(json_object_get(v, "stun_server"));
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:o, s:o}", "interface", name,
						     "external_address", ext ? ext : "",
						     "stun_server", stun ? stun : "", "addresses",
						     full_prefixes(addrs), "inside", nets));
		json_decref(addrs);
		json_decref(own);
	}
	json_decref(set);
	return out;
}

/* set-nat's one validator: {interface, nat: settings | null (off)}. */
int sup_nat_check(struct sup *s, json_t *r, char *err, size_t errlen)
{
	const char *name = json_string_value(json_object_get(r, "interface"));
	json_t *nat = json_object_get(r, "nat");
	if (!name || !*name || strlen(name) >= CORE_STATE_IFACE_MAX)
		return snprintf(err, errlen, "no such interface"), 404;
	if (json_is_null(nat) || !nat)
		return 0; /* off: also for an interface that has gone */
	json_t *addrs = core_net_interface_addresses(name);
	bool there = addrs != NULL;
	json_decref(addrs);
	if (!there)
		return snprintf(err, errlen, "interface '%s' does not exist", name), 404;
	if (core_nat_config_check(nat, err, errlen) < 0)
		return 400;
	json_t *set = sup_nat_settings(s);
	bool full = !json_object_get(set, name) && json_object_size(set) >= CORE_STATE_MAX_NAT;
	json_decref(set);
	if (full)
		return snprintf(err, errlen, "NAT settings for at most %d interfaces",
				CORE_STATE_MAX_NAT),
		       400;
	return 0;
}

void sup_nat_set(struct sup *s, uint32_t id, json_t *r, struct sup_child *unused)
{
	(void)unused;
	const char *name = json_string_value(json_object_get(r, "interface"));
	json_t *nat = json_object_get(r, "nat");
	json_t *set = sup_nat_settings(s);
	if (json_is_object(nat))
		json_object_set(set, name, nat);
	else
		json_object_del(set, name);
	char *text = json_dumps(set, JSON_COMPACT | JSON_SORT_KEYS);
	int ok = text && strlen(text) < NAT_MAX_TEXT &&
		 core_db_setting_set(s->db, NAT_KEY, text) == 0;
	free(text);
	json_decref(set);
	if (!ok) {
		sup_reply(s, id, 500, "could not save the NAT settings");
		return;
	}
	if (!json_is_object(nat))
		log_info("sbc: NAT on %s switched off", name);
	else if (json_object_get(nat, "external_address"))
		log_info("sbc: NAT on %s: external address %s", name,
			 json_string_value(json_object_get(nat, "external_address")));
	else
		log_info("sbc: NAT on %s: external address from STUN server %s", name,
			 json_string_value(json_object_get(nat, "stun_server")));
	sup_broadcast_state(s);
	sup_reply(s, id, 200, NULL);
}
