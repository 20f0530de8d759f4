/* sbc_main — the SBC process: TLS contexts, routes, settings and listeners
 * from the supervisor, and memory given back after a flood of connections. */
#include "../core/core_log.h"
#include "../core/core_proc.h"
#include "../core/core_tls.h"
#include "sbc.h"
#include "sbc_block.h"
#include "sbc_dns.h"
#include "sbc_nat.h"
#include "sbc_sip.h"
#include "sbc_trace.h"

#include <malloc.h>
#include <string.h>
#include <unistd.h>

/* Each listener goes to the part that serves its service, in the order sent. */
static void sbc_on_listeners(struct sbc *sbc, struct core_ipc_msg *msg)
{
	json_t *j = core_ipc_json(msg);
	json_t *list = json_object_get(j, "listeners");
	int https[64], nhttps = 0, nsip = 0;
	sbc_sip_reset_sockets(sbc->sip);
	for (int i = 0; i < msg->nfds; i++) {
		const char *svc = json_string_value(
			json_object_get(json_array_get(list, (size_t)i), "service"));
		if (svc && strncmp(svc, "sip-", 4) == 0) {
			sbc_sip_add_socket(sbc->sip, svc, msg->fds[i]);
			nsip++;
		} else if (nhttps < 64) {
			https[nhttps++] = msg->fds[i];
		} else {
			close(msg->fds[i]);
		}
	}
	sbc_proxy_set_listeners(sbc->https, https, nhttps);
	sbc_nat_stun_kick(sbc->nat);
	log_info("serving HTTPS on %d and SIP on %d socket(s)", nhttps, nsip);
	msg->nfds = 0;
	json_decref(j);
}

/* The supervisor's state, decoded once (core_state): routes and settings.
 * One that does not decode is logged and the last one stays. */
static void sbc_on_state(struct sbc *sbc, const struct core_ipc_msg *msg)
{
	struct core_state st;
	char err[256];
	if (core_state_parse(msg->data, msg->len, &st, err, sizeof(err)) < 0) {
		log_error("%s; the last state stays", err);
		return;
	}
	sbc_route_update(sbc, &st);
	const struct core_state *s = &sbc->state;
	sbc_block_configure(sbc->block, &s->sip_block);
	sbc_sip_configure_media(sbc->sip, &s->sip_media);
	sbc_trace_sync(sbc->trace, s->traces, s->ntraces);
	sbc_proxy_set_per_address(sbc->https, s->sbc_connections.https_per_address);
	sbc_sip_set_per_address(sbc->sip, s->sbc_connections.sip_per_address);
	sbc_nat_configure(sbc->nat, s->nat, s->nnat);
}

static void sbc_on_ipc(struct core_ipc *ipc, struct core_ipc_msg *msg, void *arg)
{
	struct sbc *sbc = arg;
	(void)ipc;
	if (msg->type == IPC_LISTENERS) {
		sbc_on_listeners(sbc, msg);
	} else if (msg->type == IPC_STATE) {
		sbc_on_state(sbc, msg);
	} else if (msg->type == IPC_SBC_UNBLOCK) {
		json_t *j = core_ipc_json(msg);
		const char *addr = json_string_value(json_object_get(j, "address"));
		if (addr)
			sbc_block_unblock(sbc->block, addr);
		json_decref(j);
	} else if (msg->type == IPC_BLOCKS) {
		sbc_block_restore(sbc->block, msg);
	}
	core_ipc_close_fds(msg);
}

static json_t *sbc_collect_stats(void *arg)
{
	struct sbc *sbc = arg;
	json_t *j = sbc->sip ? sbc_sip_stats(sbc->sip) : json_object();
	json_t *conns = json_object_get(j, "connections");
	if (!conns) {
		conns = json_object();
		json_object_set_new(j, "connections", conns);
	}
	json_object_set_new(conns, "https",
			    json_integer(sbc->https ? sbc_proxy_connections(sbc->https) : 0));
	json_t *refused = json_object_get(j, "refused");
	if (!refused) {
		refused = json_object();
		json_object_set_new(j, "refused", refused);
	}
	json_object_set_new(
		refused, "https",
		json_integer(sbc->https ? (json_int_t)sbc_proxy_refused(sbc->https) : 0));
	json_object_set_new(j, "nat", sbc_nat_stats(sbc->nat));
	return j;
}

/* Freed connections leave glibc's heap full of holes it keeps: once the
 * connections open have fallen well below their peak (a flood is over),
 * the free memory goes back to the system. From a timer, never per close. */
#define SBC_TRIM_EVERY 10  /* seconds */
#define SBC_TRIM_DROP  256 /* connections fewer than at the peak, at least */
static int sbc_connections(struct sbc *sbc)
{
	return sbc_proxy_connections(sbc->https) + sbc_sip_connections(sbc->sip);
}

void sbc_connection_opened(struct sbc *sbc)
{
	int n = sbc_connections(sbc);
	if (n > sbc->conns_peak)
		sbc->conns_peak = n;
}

static void sbc_on_trim(evutil_socket_t fd, short what, void *arg)
{
	struct sbc *sbc = arg;
	(void)fd;
	(void)what;
	int n = sbc_connections(sbc);
	if (sbc->conns_peak - n >= SBC_TRIM_DROP && n < sbc->conns_peak / 2) {
		malloc_trim(0);
		log_debug("memory given back after %d connections (now %d)", sbc->conns_peak, n);
		sbc->conns_peak = n;
	}
}

int sbc_main(void)
{
	struct sbc sbc = {0};
	core_child_init(&sbc.child, "sbc", NULL, sbc_on_ipc, &sbc);
	sbc.tls = core_tls_server_ctx("certs/server.crt", "certs/server.key", CORE_TLS_ALPN_HTTP1);
	sbc.tls_sip = core_tls_server_ctx("certs/server.crt", "certs/server.key", NULL);
	if (!sbc.tls || !sbc.tls_sip)
		core_fatal("cannot load the TLS certificate");
	sbc.trace = sbc_trace_new();
	sbc.https = sbc_proxy_new(&sbc);
	sbc.block = sbc_block_new(&sbc);
	sbc.sip = sbc_sip_new(&sbc);
	/* without a resolver (logged) the trunks' names stay unresolved */
	sbc.dns = sbc_dns_new(sbc.child.base);
	sbc.nat = sbc_nat_new(sbc.child.base);
	if (sbc.nat) {
		sbc.nat->sip = sbc.sip;
		sbc_nat_use(sbc.nat);
	}
	sbc.trim = event_new(sbc.child.base, -1, EV_PERSIST, sbc_on_trim, &sbc);
	struct timeval every = {.tv_sec = SBC_TRIM_EVERY};
	if (!sbc.https || !sbc.sip || !sbc.nat || !sbc.trace || !sbc.block || !sbc.trim ||
	    event_add(sbc.trim, &every) < 0)
		core_fatal("out of memory");
	/* Every connection, relay socket and phone-system link is a descriptor:
	 * the real bound on them all together. */
	log_info("up to %ld open files", core_proc_raise_nofile());
	core_child_ready(&sbc.child);
	core_child_stats(&sbc.child, sbc_collect_stats, &sbc);
	core_child_run(&sbc.child);

	event_free(sbc.trim);
	sbc_nat_free(sbc.nat);
	sbc_sip_free(sbc.sip);
	sbc_proxy_free(sbc.https);
	sbc_trace_free(sbc.trace);
	sbc_block_free(sbc.block);
	SSL_CTX_free(sbc.tls);
	SSL_CTX_free(sbc.tls_sip);
	sbc_route_free(&sbc);
	sbc_dns_free(sbc.dns); /* after the trunk table: it cancels its look-ups */
	core_child_free(&sbc.child);
	return 0;
}
