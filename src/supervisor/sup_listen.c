/*
 * sup_listen — the listening sockets of mgmt and the SBC. The supervisor
 * binds them (it alone may bind privileged ports) on the addresses of the
 * interfaces chosen for each, keeps them, and hands copies to the child
 * that serves them, again after a restart or an interface change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../core/core_net.h"
#include "supervisor.h"

static const struct {
	const char *service;
	const char *label; /* for people */
	enum sup_role role;
	int port;
	bool udp;
	bool plain_sip; /* only when plain SIP is switched on */
} sup_services[] = {
	{"mgmt-https", "management", ROLE_MGMT, 8443, false, false},
	{"sbc-https", "phone-system web (SBC)", ROLE_SBC, 443, false, false},
	{"sip-tls", "SIP over TLS (SBC)", ROLE_SBC, 5061, false, false},
	{"sip-udp", "plain SIP over UDP (SBC)", ROLE_SBC, 5060, true, true},
	{"sip-tcp", "plain SIP over TCP (SBC)", ROLE_SBC, 5060, false, true},
	/* carriers only: a request from any other address is refused (403) */
	{"sip-trunk-udp", "SIP trunks to carriers (SBC)", ROLE_SBC, 5062, true, false},
	{"sip-trunk-tcp", "SIP trunks to carriers over TCP (SBC)", ROLE_SBC, 5062, false, false},
	{"sip-trunk-tls", "SIP trunks to carriers over TLS (SBC)", ROLE_SBC, 5063, false, false},
	{"ssh", "SSH", ROLE_SSH, 22, false, false},
};

json_t *sup_sip_block_config(struct sup *s)
{
	static const char *const keys[] = {"failures", "window", "seconds"};
	static const int dflt[] = {20, 60, 600};
	json_t *o = json_object();
	for (int i = 0; i < 3; i++) {
		char k[32], v[32];
		snprintf(k, sizeof(k), "sbc.block_%s", keys[i]);
		int n = core_db_setting_get(s->db, k, v, sizeof(v)) == 0 ? atoi(v) : dflt[i];
		json_object_set_new(o, keys[i], json_integer(n > 0 ? n : dflt[i]));
	}
	return o;
}

void sup_media_range(struct sup *s, int *min, int *max)
{
	char v[32];
	*min = core_db_setting_get(s->db, "sbc.media_port_min", v, sizeof(v)) == 0 ? atoi(v) : 0;
	*max = core_db_setting_get(s->db, "sbc.media_port_max", v, sizeof(v)) == 0 ? atoi(v) : 0;
	if (*min <= 0 || *max <= 0) { /* never set: the default, moved by the port offset */
		*min = SUP_MEDIA_PORT_MIN + s->opt.port_offset;
		*max = SUP_MEDIA_PORT_MAX + s->opt.port_offset;
	}
}

json_t *sup_media_config(struct sup *s)
{
	char v[32];
	int timeout =
		core_db_setting_get(s->db, "sbc.media_timeout", v, sizeof(v)) == 0 ? atoi(v) : 60;
	bool srtp = !(core_db_setting_get(s->db, "sbc.srtp_required", v, sizeof(v)) == 0 &&
		      v[0] == '0');
	int min, max;
	sup_media_range(s, &min, &max);
	return json_pack("{s:i, s:i, s:i, s:b}", "port_min", min, "port_max", max, "timeout",
			 timeout > 0 ? timeout : 60, "srtp_required", srtp);
}

json_t *sup_sbc_conn_config(struct sup *s)
{
	static const char *const keys[] = {"https_per_address", "sip_per_address"};
	static const int dflt[] = {SUP_SBC_HTTPS_PER_ADDRESS, SUP_SBC_SIP_PER_ADDRESS};
	json_t *o = json_object();
	for (int i = 0; i < 2; i++) {
		char k[48], v[32];
		snprintf(k, sizeof(k), "sbc.%s", keys[i]);
		int n = core_db_setting_get(s->db, k, v, sizeof(v)) == 0 ? atoi(v) : dflt[i];
		json_object_set_new(o, keys[i], json_integer(n > 0 ? n : dflt[i]));
	}
	return o;
}

bool sup_plain_sip(struct sup *s)
{
	char v[8];
	return core_db_setting_get(s->db, "sbc.plain_sip", v, sizeof(v)) == 0 && v[0] == '1';
}

#define NSERVICES (int)(sizeof(sup_services) / sizeof(sup_services[0]))

/* The interface names chosen for "management" or "sbc"; [] means every one. */
json_t *sup_listen_config(struct sup *s, const char *role_key)
{
	char key[64], val[4096];
	snprintf(key, sizeof(key), "listen.%s", role_key);
	if (core_db_setting_get(s->db, key, val, sizeof(val)) == 0) {
		json_t *a = json_loads(val, 0, NULL);
		if (json_is_array(a))
			return a;
		json_decref(a);
	}
	return json_array();
}

/* Addresses to bind for a set of interfaces, or NULL with err set. */
static json_t *listen_addresses(struct sup *s, json_t *ifaces, char *err, size_t errlen)
{
	json_t *out = json_array();
	size_t i, j;
	json_t *it, *a;
	if (s->opt.nlisten) {
		for (int k = 0; k < s->opt.nlisten; k++)
			json_array_append_new(out, json_string(s->opt.listen[k]));
		return out;
	}
	if (json_array_size(ifaces) == 0) {
		json_array_append_new(out, json_string("::"));
		return out;
	}
	json_array_foreach(ifaces, i, it)
	{
		json_t *addrs = core_net_interface_addresses(json_string_value(it));
		if (!addrs || json_array_size(addrs) == 0) {
			snprintf(err, errlen, "interface '%s' %s", json_string_value(it),
				 addrs ? "has no IP address" : "does not exist");
			json_decref(addrs);
			json_decref(out);
			return NULL;
		}
		json_array_foreach(addrs, j, a) json_array_append(out, a);
		json_decref(addrs);
	}
	return out;
}

/* Phones in the VPN reach the SBC at the tunnel's address: listened on
 * too, unless the SBC listens on every address anyway. */
static void listen_add_tunnel(json_t *addrs, const char *tunnel)
{
	size_t i;
	json_t *a;
	json_array_foreach(addrs, i, a)
	{
		const char *v = json_string_value(a);
		if (strcmp(v, "::") == 0 || strcmp(v, "0.0.0.0") == 0 || strcmp(v, tunnel) == 0)
			return;
	}
	json_array_append_new(addrs, json_string(tunnel));
}

static void listen_close_all(struct sup_socket *socks, int n)
{
	for (int i = 0; i < n; i++)
		close(socks[i].fd);
}

int sup_listen_bind(struct sup *s, json_t *mgmt_ifaces, json_t *sbc_ifaces, struct sup_socket *out,
		    int *nout, char *err, size_t errlen)
{
	int n = 0;
	bool plain = sup_plain_sip(s);
	for (int k = 0; k < NSERVICES; k++) {
		if (sup_services[k].plain_sip && !plain)
			continue;
		/* SSH is part of management: it listens where management does. */
		json_t *ifaces = sup_services[k].role == ROLE_SBC ? sbc_ifaces : mgmt_ifaces;
		json_t *addrs = listen_addresses(s, ifaces, err, errlen);
		if (!addrs)
			goto fail;
		if (sup_services[k].role == ROLE_SBC && s->vpn.up)
			listen_add_tunnel(addrs, s->vpn.address);
		size_t i;
		json_t *a;
		json_array_foreach(addrs, i, a)
		{
			const char *addr = json_string_value(a);
			int port = sup_services[k].port + s->opt.port_offset;
			char why[256];
			if (s->first_bind && core_net_port_taken(addr, port, sup_services[k].udp)) {
				bool v6 = strchr(addr, ':') != NULL;
				snprintf(err, errlen,
					 "cannot listen on %s%s%s:%d%s: Address already in use "
					 "(%s). Is another zentrale running with the same "
					 "--port-offset? Stop it, or start with --port-offset N or "
					 "--listen ADDR",
					 v6 ? "[" : "", addr, v6 ? "]" : "", port,
					 sup_services[k].udp ? "/udp" : "", sup_services[k].label);
				json_decref(addrs);
				goto fail;
			}
			int fd = sup_services[k].udp
					 ? core_net_listen_udp(addr, port, why, sizeof(why))
					 : core_net_listen_tcp(addr, port, why, sizeof(why));
			if (fd < 0 || n >= SUP_MAX_SOCKETS) {
				snprintf(err, errlen,
					 "%s (%s). If another program uses the port, stop it, "
					 "or start zentrale with --port-offset N or --listen ADDR",
					 fd < 0 ? why : "too many addresses",
					 sup_services[k].label);
				if (fd >= 0)
					close(fd);
				json_decref(addrs);
				goto fail;
			}
			out[n] = (struct sup_socket){.service = sup_services[k].service,
						     .role = sup_services[k].role,
						     .port = port,
						     .fd = fd};
			snprintf(out[n].addr, sizeof(out[n].addr), "%s", addr);
			n++;
		}
		json_decref(addrs);
	}
	*nout = n;
	return 0;
fail:
	listen_close_all(out, n);
	return -1;
}

void sup_listen_send(struct sup *s, struct sup_child *c)
{
	int fds[SUP_MAX_SOCKETS], nfds = 0;
	json_t *list = json_array();
	for (int i = 0; i < s->nsockets; i++) {
		if (s->sockets[i].role != c->role)
			continue;
		fds[nfds++] = s->sockets[i].fd;
		json_array_append_new(
			list, json_pack("{s:s, s:s, s:i}", "service", s->sockets[i].service, "addr",
					s->sockets[i].addr, "port", s->sockets[i].port));
	}
	json_t *msg = json_pack("{s:o}", "listeners", list);
	if (c->ipc && core_ipc_send_json(c->ipc, IPC_LISTENERS, 0, msg, fds, nfds) < 0)
		log_error("cannot hand listeners to a child (pid %d)", (int)c->pid);
	json_decref(msg);
}

void sup_listen_replace(struct sup *s, struct sup_socket *fresh, int n)
{
	listen_close_all(s->sockets, s->nsockets);
	memcpy(s->sockets, fresh, sizeof(*fresh) * (size_t)n);
	s->nsockets = n;
	for (struct sup_child *c = s->children; c; c = c->next)
		if (c->role != ROLE_PBX && c->pid > 0)
			sup_listen_send(s, c);
}

/* {"fixed": bool, "management": [...], "sbc": [...], "sockets": [...]} */
json_t *sup_listen_describe(struct sup *s)
{
	json_t *socks = json_array();
	for (int i = 0; i < s->nsockets; i++)
		json_array_append_new(
			socks, json_pack("{s:s, s:s, s:i}", "service", s->sockets[i].service,
					 "addr", s->sockets[i].addr, "port", s->sockets[i].port));
	return json_pack("{s:b, s:o, s:o, s:o, s:b}", "fixed", s->opt.nlisten > 0, "management",
			 sup_listen_config(s, "management"), "sbc", sup_listen_config(s, "sbc"),
			 "sockets", socks, "plain_sip", sup_plain_sip(s));
}
