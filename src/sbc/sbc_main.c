/* sbc_main — the SBC process: TLS context, routes and listeners from the supervisor. */
#include "../core/core_log.h"
#include "../core/core_tls.h"
#include "sbc.h"
#include "sbc_block.h"
#include "sbc_sip.h"
#include "sbc_trace.h"

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
	log_info("serving HTTPS on %d and SIP on %d socket(s)", nhttps, nsip);
	msg->nfds = 0;
	json_decref(j);
}

static void sbc_on_ipc(struct core_ipc *ipc, struct core_ipc_msg *msg, void *arg)
{
	struct sbc *sbc = arg;
	(void)ipc;
	if (msg->type == IPC_LISTENERS) {
		sbc_on_listeners(sbc, msg);
	} else if (msg->type == IPC_STATE) {
		json_t *st = core_ipc_json(msg);
		if (st) {
			sbc_route_update(sbc, st);
			sbc_block_configure(sbc->block, json_object_get(st, "sip_block"));
			sbc_sip_configure_media(sbc->sip, json_object_get(st, "sip_media"));
			sbc_trace_sync(sbc->trace, json_object_get(st, "traces"));
		}
		json_decref(st);
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
	return j;
}

int sbc_main(void)
{
	struct sbc sbc = {.routes = json_object()};
	core_child_init(&sbc.child, "sbc", NULL, sbc_on_ipc, &sbc);
	sbc.tls = core_tls_server_ctx("certs/server.crt", "certs/server.key", CORE_TLS_ALPN_HTTP1);
	if (!sbc.tls)
		core_fatal("cannot load the TLS certificate");
	sbc.trace = sbc_trace_new();
	sbc.https = sbc_proxy_new(&sbc);
	sbc.block = sbc_block_new(&sbc);
	sbc.sip = sbc_sip_new(&sbc);
	if (!sbc.https || !sbc.sip || !sbc.trace || !sbc.block)
		core_fatal("out of memory");
	core_child_ready(&sbc.child);
	core_child_stats(&sbc.child, sbc_collect_stats, &sbc);
	core_child_run(&sbc.child);

	sbc_sip_free(sbc.sip);
	sbc_proxy_free(sbc.https);
	sbc_trace_free(sbc.trace);
	sbc_block_free(sbc.block);
	SSL_CTX_free(sbc.tls);
	json_decref(sbc.routes);
	core_child_free(&sbc.child);
	return 0;
}
