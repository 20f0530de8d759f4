/*
 * sup_ipc — what the supervisor sends its children: the one IPC_REPLY to
 * each of mgmt's requests, the state table that mgmt, the SBC and ssh are
 * sent after every change, and the numbered pushes (IPC_STATE, IPC_BLOCKS,
 * IPC_SBC_UNBLOCK) with their resend, from a 1 s timer, of the whole state
 * and block list to a child a push could not reach (core_ipc.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../core/core_log.h"
#include "../core/core_version.h"
#include "supervisor.h"

static struct sup_child *ipc_mgmt(struct sup *s)
{
	for (struct sup_child *c = s->children; c; c = c->next)
		if (c->role == ROLE_MGMT)
			return c;
	return NULL;
}

void sup_reply_json(struct sup *s, uint32_t id, json_t *obj)
{
	struct sup_child *m = ipc_mgmt(s);
	int r = m && m->ipc ? core_ipc_send_json(m->ipc, IPC_REPLY, id, obj, NULL, 0) : 0;
	if (r < 0 && r != -EPIPE) {
		log_error("reply %u to mgmt not sent (%s)", id, strerror(-r));
		/* a short one, so the request is not left waiting */
		static const char fail[] =
			"{\"status\":500,\"error\":\"the answer could not be sent\"}";
		r = core_ipc_send(m->ipc, IPC_REPLY, id, fail, sizeof(fail) - 1, NULL, 0);
		if (r < 0)
			log_error("reply %u to mgmt not sent either (%s)", id, strerror(-r));
	}
	json_decref(obj);
}

void sup_reply(struct sup *s, uint32_t id, int status, const char *error)
{
	json_t *o = json_pack("{s:i}", "status", status);
	if (error)
		json_object_set_new(o, "error", json_string(error));
	sup_reply_json(s, id, o);
}

/* The SIP domain aliases of a phone system, from system.db. */
static json_t *aliases_of(struct sup *s, const char *name)
{
	json_t *a = json_array();
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT alias FROM aliases WHERE name=? ORDER BY alias", -1,
			       &st, NULL) != SQLITE_OK)
		return a;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_string((const char *)sqlite3_column_text(st, 0)));
	sqlite3_finalize(st);
	return a;
}

static json_t *state_table(struct sup *s)
{
	json_t *pss = json_array(), *procs = json_array();
	for (struct sup_child *c = s->children; c; c = c->next) {
		if (c->pid > 0)
			json_array_append_new(procs, json_pack("{s:s, s:s, s:i}", "role",
							       sup_role_name(c->role), "name",
							       c->name, "pid", (int)c->pid));
		if (c->role != ROLE_PBX || c->deleting)
			continue;
		char sock[128], sip[128];
		snprintf(sock, sizeof(sock), "run/%s/http.sock", c->name);
		snprintf(sip, sizeof(sip), "run/%s/sip.sock", c->name);
		json_t *ps =
			json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:i, s:i, s:b}", "name",
				  c->name, "state", sup_state_name(c->state), "http_socket", sock,
				  "sip_socket", sip, "aliases", aliases_of(s, c->name), "created",
				  (json_int_t)c->created, "since", (json_int_t)c->since, "restarts",
				  c->restarts, "pid", (int)c->pid, "enabled", c->enabled);
		json_t *trunks = sup_trunks_of(c);
		if (ps && trunks)
			json_object_set_new(ps, "trunks", trunks);
		else
			json_decref(trunks);
		json_array_append_new(pss, ps);
	}
	json_array_append_new(procs, json_pack("{s:s, s:s, s:i}", "role", "supervisor", "name", "",
					       "pid", (int)getpid()));
	if (s->vpn.pid > 0)
		json_array_append_new(procs, json_pack("{s:s, s:s, s:i}", "role", "vpn", "name", "",
						       "pid", (int)s->vpn.pid));
	return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "started",
			 (json_int_t)s->started, "version", ZENTRALE_VERSION, "processes", procs,
			 "phone_systems", pss, "listen", sup_listen_describe(s), "sip_block",
			 sup_sip_block_config(s), "sip_media", sup_media_config(s), "traces",
			 sup_traces_active(s), "vpn", sup_vpn_describe(s), "sbc_connections",
			 sup_sbc_conn_config(s), "sbc_nat", sup_nat_config(s));
}

void sup_broadcast_state(struct sup *s)
{
	json_t *st = NULL;
	for (struct sup_child *c = s->children; c; c = c->next) {
		if (c->role == ROLE_PBX || !c->ipc)
			continue;
		if (!st)
			st = state_table(s);
		sup_child_push(s, c, IPC_STATE, st);
	}
	json_decref(st);
}

static void child_on_resync(evutil_socket_t fd, short what, void *arg)
{
	struct sup *s = arg;
	(void)fd;
	(void)what;
	for (struct sup_child *c = s->children; c; c = c->next) {
		if (!c->resync || !c->ipc)
			continue;
		c->resync = false;
		sup_child_resync(s, c);
	}
}

int sup_child_push(struct sup *s, struct sup_child *c, uint32_t type, const json_t *obj)
{
	char label[96];
	if (!c->ipc)
		return -EPIPE;
	int r = s->test_push_fail > 0 && ++s->pushes % (unsigned)s->test_push_fail == 0
			? (++c->seq, -EIO)
			: core_ipc_send_json(c->ipc, type, ++c->seq, obj, NULL, 0);
	if (r == -EPIPE) /* the child is gone: a new one gets everything */
		return r;
	if (r < 0) {
		if (!c->push_failing)
			log_error("message %u to %s not sent (%s): state and blocks sent again "
				  "every second until it works",
				  type, sup_child_label(c, label, sizeof(label)), strerror(-r));
		c->push_failing = c->resync = true;
		struct timeval one = {1, 0};
		if (!s->resync_timer)
			s->resync_timer = evtimer_new(s->base, child_on_resync, s);
		if (s->resync_timer && !evtimer_pending(s->resync_timer, NULL))
			evtimer_add(s->resync_timer, &one);
	}
	return r;
}

void sup_child_resync(struct sup *s, struct sup_child *c)
{
	char label[96];
	json_t *st = state_table(s);
	int r = sup_child_push(s, c, IPC_STATE, st);
	json_decref(st);
	if (r == 0 && (c->role == ROLE_SBC || c->role == ROLE_MGMT))
		r = sup_blocks_send_all(s, c);
	if (r == 0 && c->push_failing) {
		c->push_failing = false;
		log_info("state and blocks sent again to %s",
			 sup_child_label(c, label, sizeof(label)));
	}
}
