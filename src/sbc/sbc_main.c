/* sbc_main — the SBC process: TLS context, routes and listeners from the supervisor. */
#include "../core/core_log.h"
#include "../core/core_tls.h"
#include "sbc.h"

static void sbc_on_ipc(struct core_ipc *ipc, struct core_ipc_msg *msg, void *arg)
{
	struct sbc *sbc = arg;
	(void)ipc;
	if (msg->type == IPC_LISTENERS) {
		sbc_proxy_set_listeners(sbc->https, msg->fds, msg->nfds);
		log_info("serving HTTPS on %d socket(s)", msg->nfds);
		msg->nfds = 0;
	} else if (msg->type == IPC_STATE) {
		json_t *st = core_ipc_json(msg);
		if (st)
			sbc_route_update(sbc, st);
		json_decref(st);
	}
	core_ipc_close_fds(msg);
}

int sbc_main(void)
{
	struct sbc sbc = {.routes = json_object()};
	core_child_init(&sbc.child, "sbc", NULL, sbc_on_ipc, &sbc);
	sbc.tls = core_tls_server_ctx("certs/server.crt", "certs/server.key", CORE_TLS_ALPN_HTTP1);
	if (!sbc.tls)
		core_fatal("cannot load the TLS certificate");
	sbc.https = sbc_proxy_new(&sbc);
	if (!sbc.https)
		core_fatal("out of memory");
	core_child_ready(&sbc.child);
	core_child_run(&sbc.child);

	sbc_proxy_free(sbc.https);
	SSL_CTX_free(sbc.tls);
	json_decref(sbc.routes);
	core_child_free(&sbc.child);
	return 0;
}
