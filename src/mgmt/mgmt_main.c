/* mgmt_main — the management process: TLS context, API server, supervisor messages. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../cli/cli.h"
#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../core/core_net.h"
#include "../core/core_tls.h"
#include "mgmt.h"

static void mgmt_on_listeners(struct mgmt *m, struct core_ipc_msg *msg)
{
	core_httpd_close_listeners(m->http);
	for (int i = 0; i < msg->nfds; i++)
		core_httpd_listen(m->http, msg->fds[i]);
	log_info("serving on %d socket(s)", msg->nfds);
	msg->nfds = 0;
}

static void mgmt_on_ipc(struct core_ipc *ipc, struct core_ipc_msg *msg, void *arg)
{
	struct mgmt *m = arg;
	(void)ipc;
	switch (msg->type) {
	case IPC_LISTENERS:
		mgmt_on_listeners(m, msg);
		break;
	case IPC_STATE: {
		/* taken only if it decodes: the JSON and its structs stay one state */
		json_t *j = core_ipc_json(msg);
		struct core_state st;
		char err[256];
		if (core_state_decode(j, &st, err, sizeof(err)) < 0) {
			log_error("%s; the last state stays", err);
			json_decref(j);
			break;
		}
		json_decref(m->state);
		m->state = j;
		core_state_free(&m->st);
		m->st = st;
		break;
	}
	case IPC_BLOCKS:
		mgmt_access_sip_blocks(m, msg);
		break;
	case IPC_REPLY:
		mgmt_api_reply(m, msg);
		break;
	case IPC_STATS:
		mgmt_metrics_store(m, msg);
		break;
	default:
		break;
	}
	core_ipc_close_fds(msg);
}

/* Phones in the VPN reach the SBC, not management: a connection that came
 * to the tunnel's address (management listening on every address) is closed. */
static bool mgmt_accept_ok(int fd, void *arg)
{
	struct mgmt *m = arg;
	return !core_net_local_is(fd, m->state ? m->st.vpn.address : NULL);
}

/* Connections one address may hold on 8443: a constant, not a setting. A
 * few administrators' browsers (a handful of connections each) and scripts
 * fit; 16 addresses are needed to fill the 512, and an administrator who
 * set it too low would lock himself out of the very API that changes it. */
#define MGMT_MAX_PER_ADDRESS 32

int mgmt_main(void)
{
	struct mgmt m = {.sip_blocks = json_object()};
	core_child_init(&m.child, "mgmt", NULL, mgmt_on_ipc, &m);
	if (core_db_open("system.db", &m.db) < 0)
		core_fatal("cannot open system.db");
	m.work = core_work_new(m.child.base, MGMT_WORK_THREADS, MGMT_WORK_QUEUE);
	m.slow = core_work_new(m.child.base, 1, MGMT_SLOW_QUEUE);
	m.busy = json_object();
	m.pending = json_object();
	if (!m.work || !m.slow || !m.busy || !m.pending ||
	    core_login_init(&m.login, m.db, m.work, "management", "/api/") < 0)
		core_fatal("out of memory");
	m.tls = core_tls_server_ctx("certs/server.crt", "certs/server.key", CORE_TLS_ALPN_HTTP1);
	if (!m.tls)
		core_fatal("cannot load the TLS certificate");
	struct core_httpd_limits lim = {.max_body = 1 << 20,
					.request_timeout = 10,
					.idle_timeout = 60,
					.max_connections = 512,
					.max_per_address = MGMT_MAX_PER_ADDRESS,
					.hsts = true,
					.allow = mgmt_upload_allow,
					.accept_ok = mgmt_accept_ok};
	m.http = core_httpd_new(m.child.base, m.tls, &lim, mgmt_api_handle, &m);
	struct core_httpd_limits local = lim;
	local.local = true;
	local.hsts = false;
	local.request_timeout = 30;
	local.allow = mgmt_upload_allow_local;
	local.accept_ok = NULL;
	local.max_per_address = 0; /* one address: ours */
	m.local = core_httpd_new(m.child.base, NULL, &local, mgmt_api_handle, &m);
	int fd = core_net_listen_unix(CLI_SOCKET, 0660);
	if (!m.http || !m.local || fd < 0 || core_httpd_listen(m.local, fd) < 0)
		core_fatal("cannot serve the local control socket %s", CLI_SOCKET);
	mgmt_backups_cleanup();
	mgmt_schedule_start(&m);
	core_child_ready(&m.child);
	core_child_run(&m.child);

	/* The pools first: jobs still queued are dropped, running ones awaited. */
	core_work_free(m.work);
	core_work_free(m.slow);
	json_decref(m.busy);
	json_decref(m.pending);
	core_httpd_free(m.http);
	core_httpd_free(m.local);
	SSL_CTX_free(m.tls);
	json_decref(m.state);
	core_state_free(&m.st);
	json_decref(m.sip_blocks);
	json_decref(m.stats);
	mgmt_logs_free(&m);
	if (m.schedule_timer)
		event_free(m.schedule_timer);
	core_login_free(&m.login);
	sqlite3_close(m.db);
	core_child_free(&m.child);
	return 0;
}
