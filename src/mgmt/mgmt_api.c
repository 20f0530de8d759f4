/*
 * mgmt_api — the management JSON API under /api/v1 (docs/api.md), and the
 * management UI's static files at / and /ui/ (src/ui). Every endpoint but
 * login, session and health needs a session (bearer token or the UI's
 * cookie with its CSRF token, core_login). Operations that change phone
 * systems or sockets are forwarded to the supervisor and answered when it
 * replies (mgmt_request.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_auth.h"
#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../core/core_names.h"
#include "../ui/ui.h"
#include "mgmt.h"

#define API "/api/v1"

static json_t *api_ps_view(const struct core_state_ps *ps)
{
	char path[80];
	json_t *aliases = json_array();
	snprintf(path, sizeof(path), "/%s/", ps->name);
	for (int i = 0; i < ps->naliases; i++)
		json_array_append_new(aliases, json_string(ps->aliases[i]));
	return json_pack("{s:s, s:s, s:I, s:I, s:i, s:s, s:o}", "name", ps->name, "state",
			 core_state_ps_state_name(ps->state), "created", (json_int_t)ps->created,
			 "since", (json_int_t)ps->since, "restarts", ps->restarts, "path", path,
			 "aliases", aliases);
}

static void api_ps_list(struct mgmt *m, struct core_httpd_req *req)
{
	json_t *out = json_array();
	for (int i = 0; i < m->st.nphone_systems; i++)
		json_array_append_new(out, api_ps_view(&m->st.phone_systems[i]));
	core_httpd_respond_json(req, 200, json_pack("{s:o}", "phone_systems", out));
}

/* POST /phone-systems: the admin password is checked and hashed by a worker
 * (core_work), then the supervisor is asked, which checks the name (the
 * create operation's one validator, sup_requests.c). Without a password
 * one is generated, and the answer shows it this once. */
struct ps_create_job {
	struct mgmt *m;
	struct core_httpd *srv;
	uint64_t id;
	json_t *name; /* as given */
	char *pw;
	bool generated;
	char who[128];
	int r;
	char hash[CORE_AUTH_HASH_LEN];
};

static void ps_create_run(void *arg)
{
	struct ps_create_job *j = arg;
	j->r = core_auth_hash_password(j->pw, j->hash);
}

static void ps_create_done(void *arg, bool cancelled)
{
	struct ps_create_job *j = arg;
	struct core_httpd_req *req = cancelled ? NULL : core_httpd_find(j->srv, j->id);
	if (req && j->r < 0)
		core_httpd_respond_error(req, 500, "could not hash the password");
	else if (req) {
		char audit[256];
		snprintf(audit, sizeof(audit), "%s created the phone system %s", j->who,
			 json_is_string(j->name) ? json_string_value(j->name) : "?");
		mgmt_api_ask_with(j->m, req,
				  json_pack("{s:s, s:O?, s:s}", "op", core_op_name(CORE_OP_CREATE),
					    "name", j->name, "admin_hash", j->hash),
				  j->generated ? json_pack("{s:s}", "admin_password", j->pw) : NULL,
				  audit);
	}
	sodium_memzero(j->pw, strlen(j->pw));
	free(j->pw);
	json_decref(j->name);
	free(j);
}

static void api_ps_create(struct mgmt *m, struct core_httpd_req *req, const char *who)
{
	json_t *b = core_httpd_json_body(req);
	if (!b)
		return;
	json_t *name = json_object_get(b, "name");
	json_t *given = json_object_get(b, "admin_password");
	const char *pw = json_string_value(given);
	char generated[32];
	if (!given || json_is_null(given)) {
		core_auth_random_password(generated, 21);
		pw = generated;
	}
	const char *why = !pw ? "admin_password must be a string" : core_auth_password_problem(pw);
	struct ps_create_job *j = NULL;
	if (why) {
		core_httpd_respond_error(req, 400, why);
	} else if (!(j = calloc(1, sizeof(*j))) || !(j->pw = strdup(pw))) {
		free(j);
		core_httpd_respond_error(req, 500, "out of memory");
	} else {
		j->m = m;
		j->srv = core_httpd_of(req);
		j->id = req->id;
		j->name = json_incref(name);
		j->generated = pw == generated;
		snprintf(j->who, sizeof(j->who), "%s", who);
		if (core_work_submit(m->work, ps_create_run, ps_create_done, j) < 0) {
			static const char busy[] = "{\"error\":\"busy; try again\"}\n";
			ps_create_done(j, true);
			core_httpd_respond(req, 503, "application/json", "Retry-After: 1\r\n", busy,
					   sizeof(busy) - 1);
		}
	}
	sodium_memzero(generated, sizeof(generated));
	json_decref(b);
}

/* /api/v1/phone-systems/{name}[/start|/stop|/aliases|/admin-password] */
static void api_ps_one(struct mgmt *m, struct core_httpd_req *req, const char *rest,
		       const char *who)
{
	char name[64];
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
	const char *action = slash ? slash + 1 : "";
	if (n == 0 || n >= sizeof(name)) {
		core_httpd_respond_error(req, 404, "no such phone system");
		return;
	}
	memcpy(name, rest, n);
	name[n] = '\0';
	const struct core_state_ps *ps = core_state_find_ps(&m->st, name, n);
	if (!ps) {
		core_httpd_respond_error(req, 404, "no such phone system");
	} else if (!*action && mgmt_method_is(req, "GET")) {
		core_httpd_respond_json(req, 200, api_ps_view(ps));
	} else if (!*action && mgmt_method_is(req, "DELETE")) {
		mgmt_api_ask(
			m, req,
			json_pack("{s:s, s:s}", "op", core_op_name(CORE_OP_DELETE), "name", name));
	} else if (strcmp(action, "aliases") == 0 && mgmt_method_is(req, "PUT")) {
		json_t *b = core_httpd_json_body(req);
		if (b) {
			json_t *al = json_object_get(b, "aliases");
			mgmt_api_ask(m, req,
				     json_pack("{s:s, s:s, s:O}", "op",
					       core_op_name(CORE_OP_SET_ALIASES), "name", name,
					       "aliases", al ? al : json_null()));
		}
		json_decref(b);
	} else if (strcmp(action, "admin-password") == 0 && mgmt_method_is(req, "POST")) {
		mgmt_ps_admin_password(m, req, name, who);
	} else if ((strcmp(action, "start") == 0 || strcmp(action, "stop") == 0) &&
		   mgmt_method_is(req, "POST")) {
		enum core_op op = strcmp(action, "start") == 0 ? CORE_OP_START : CORE_OP_STOP;
		mgmt_api_ask(m, req, json_pack("{s:s, s:s}", "op", core_op_name(op), "name", name));
	} else if (!*action || strcmp(action, "start") == 0 || strcmp(action, "stop") == 0 ||
		   strcmp(action, "admin-password") == 0) {
		core_httpd_respond_error(req, 405, "method not allowed");
	} else {
		core_httpd_respond_error(req, 404, "not found");
	}
}

static void api_interfaces_put(struct mgmt *m, struct core_httpd_req *req)
{
	json_t *b = core_httpd_json_body(req);
	if (!b)
		return;
	json_t *op = json_pack("{s:s}", "op", core_op_name(CORE_OP_SET_INTERFACES));
	const char *keys[] = {"management", "sbc"};
	for (int i = 0; i < 2; i++)
		if (json_object_get(b, keys[i]))
			json_object_set(op, keys[i], json_object_get(b, keys[i]));
	json_decref(b);
	if (json_object_size(op) == 1) {
		json_decref(op);
		core_httpd_respond_error(req, 400,
					 "give 'management' and/or 'sbc' interface lists");
		return;
	}
	mgmt_api_ask(m, req, op);
}

/* The body goes to the supervisor whole: it checks every field (sup_requests.c). */
static void api_sbc_put(struct mgmt *m, struct core_httpd_req *req)
{
	json_t *b = core_httpd_json_body(req);
	if (!b)
		return;
	mgmt_api_ask(m, req,
		     json_pack("{s:s, s:o}", "op", core_op_name(CORE_OP_SET_SBC), "settings", b));
}

/* GET /sbc's "nat": each interface's settings as the state carries them,
 * with what the SBC last reported using (IPC_STATS "nat": the address in
 * use, the STUN server's answer or why there is none). */
static json_t *api_sbc_nat(struct mgmt *m)
{
	json_t *out = json_array(), *it, *rep = NULL, *r;
	const char *key;
	json_t *v;
	size_t i, k;
	int pid = 0; /* the SBC running now: a report of one gone is stale */
	for (int p = 0; p < m->st.nprocesses; p++)
		if (strcmp(m->st.processes[p].role, "sbc") == 0)
			pid = m->st.processes[p].pid;
	json_object_foreach(m->stats, key,
			    v) if (strncmp(key, "sbc/", 4) == 0 &&
				   json_integer_value(json_object_get(v, "pid")) == pid) rep =
		json_object_get(json_object_get(v, "stats"), "nat");
	json_array_foreach(json_object_get(m->state, "sbc_nat"), i, it)
	{
		json_t *o = json_pack("{s:O, s:O, s:O, s:O, s:n, s:s}", "interface",
				      json_object_get(it, "interface"), "external_address",
				      json_object_get(it, "external_address"), "stun_server",
				      json_object_get(it, "stun_server"), "inside",
				      json_object_get(it, "inside"), "in_use", "stun_error", "");
		json_array_foreach(rep, k, r)
		{
			if (!json_equal(json_object_get(r, "interface"),
					json_object_get(it, "interface")))
				continue;
			const char *use = json_string_value(json_object_get(r, "in_use"));
			if (use && *use)
				json_object_set_new(o, "in_use", json_string(use));
			json_object_set(o, "stun_error", json_object_get(r, "stun_error"));
		}
		json_array_append_new(out, o);
	}
	return out;
}

/* PUT /sbc/nat/IFACE (the body: external_address or stun_server, and
 * local_networks) and DELETE (off); the supervisor checks it (sup_nat.c). */
static void api_sbc_nat_one(struct mgmt *m, struct core_httpd_req *req, const char *iface)
{
	json_t *b = NULL;
	if (mgmt_method_is(req, "PUT")) {
		if (!(b = core_httpd_json_body(req)))
			return;
	} else if (!mgmt_method_is(req, "DELETE")) {
		core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	mgmt_api_ask(m, req,
		     json_pack("{s:s, s:s, s:o}", "op", core_op_name(CORE_OP_SET_NAT), "interface",
			       iface, "nat", b ? b : json_null()));
}

/* Checks the settings in b; NULL if all are acceptable, else why not. */
static const char *settings_problem(json_t *b)
{
	json_t *disk = json_object_get(b, "health_min_disk_free");
	json_t *ttl = json_object_get(b, "session_ttl");
	if (disk &&
	    (!json_is_number(disk) || json_number_value(disk) < 0 || json_number_value(disk) > 100))
		return "health_min_disk_free must be 0 to 100 (percent)";
	if (ttl && (!json_is_integer(ttl) || json_integer_value(ttl) < 5 ||
		    json_integer_value(ttl) > 7 * 86400))
		return "session_ttl must be 5 to 604800 seconds";
	return NULL;
}

/* Saves every setting given, all or none. */
static int settings_save(struct mgmt *m, json_t *b)
{
	json_t *disk = json_object_get(b, "health_min_disk_free");
	json_t *ttl = json_object_get(b, "session_ttl");
	char v[32];
	int ok = core_db_begin(m->db) == 0;
	if (ok && disk) {
		snprintf(v, sizeof(v), "%g", json_number_value(disk));
		ok = core_db_setting_set(m->db, "health_min_disk_free", v) == 0;
	}
	if (ok && ttl) {
		snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(ttl));
		ok = core_db_setting_set(m->db, "session_ttl", v) == 0;
	}
	return core_db_end(m->db, ok);
}

static void api_settings(struct mgmt *m, struct core_httpd_req *req)
{
	if (mgmt_method_is(req, "PUT")) {
		json_t *b = core_httpd_json_body(req);
		if (!b)
			return;
		const char *why = settings_problem(b);
		int r = why ? -1 : settings_save(m, b);
		json_decref(b);
		if (why || r < 0) {
			core_httpd_respond_error(req, why ? 400 : 500,
						 why ? why : "could not save the settings");
			return;
		}
	} else if (!mgmt_method_is(req, "GET")) {
		core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	core_httpd_respond_json(req, 200,
				json_pack("{s:i, s:f}", "session_ttl", core_login_ttl(&m->login),
					  "health_min_disk_free", mgmt_health_min_free_percent(m)));
}

static void api_authed(struct mgmt *m, struct core_httpd_req *req, const char *p, const char *who)
{
	if (strcmp(p, "/phone-systems") == 0) {
		if (mgmt_method_is(req, "GET"))
			api_ps_list(m, req);
		else if (mgmt_method_is(req, "POST"))
			api_ps_create(m, req, who);
		else
			core_httpd_respond_error(req, 405, "method not allowed");
	} else if (strncmp(p, "/phone-systems/", 15) == 0) {
		api_ps_one(m, req, p + 15, who);
	} else if (strncmp(p, "/admins", 7) == 0 && (p[7] == '\0' || p[7] == '/')) {
		mgmt_admins(m, req, p + 7, who);
	} else if (strcmp(p, "/interfaces") == 0) {
		if (mgmt_method_is(req, "GET"))
			core_httpd_respond_json(req, 200, mgmt_interfaces(m));
		else if (mgmt_method_is(req, "PUT"))
			api_interfaces_put(m, req);
		else
			core_httpd_respond_error(req, 405, "method not allowed");
	} else if (strcmp(p, "/system") == 0) {
		if (mgmt_method_is(req, "GET"))
			core_httpd_respond_json(req, 200, mgmt_system_info(m));
		else
			core_httpd_respond_error(req, 405, "method not allowed");
	} else if (strcmp(p, "/settings") == 0) {
		api_settings(m, req);
	} else if (strcmp(p, "/sbc") == 0) {
		if (mgmt_method_is(req, "GET"))
			core_httpd_respond_json(
				req, 200,
				json_pack("{s:O, s:O, s:O, s:O, s:o}", "plain_sip",
					  json_object_get(json_object_get(m->state, "listen"),
							  "plain_sip"),
					  "block", json_object_get(m->state, "sip_block"), "media",
					  json_object_get(m->state, "sip_media"), "connections",
					  json_object_get(m->state, "sbc_connections"), "nat",
					  api_sbc_nat(m)));
		else if (mgmt_method_is(req, "PUT"))
			api_sbc_put(m, req);
		else
			core_httpd_respond_error(req, 405, "method not allowed");
	} else if (strncmp(p, "/sbc/nat/", 9) == 0 && p[9] && !strchr(p + 9, '/')) {
		api_sbc_nat_one(m, req, p + 9);
	} else if (strcmp(p, "/blocked") == 0) {
		mgmt_access_blocked(m, req, NULL);
	} else if (strncmp(p, "/blocked/", 9) == 0) {
		mgmt_access_blocked(m, req, p + 9);
	} else if (strncmp(p, "/ssh", 4) == 0 && (p[4] == '\0' || p[4] == '/')) {
		mgmt_access_ssh(m, req, p + 4);
	} else if (strncmp(p, "/vpn", 4) == 0 && (p[4] == '\0' || p[4] == '/')) {
		mgmt_vpn(m, req, p + 4);
	} else if (strncmp(p, "/update", 7) == 0 && (p[7] == '\0' || p[7] == '/')) {
		mgmt_update(m, req, p + 7);
	} else if (strncmp(p, "/backups", 8) == 0 && (p[8] == '\0' || p[8] == '/')) {
		mgmt_backups(m, req, p + 8);
	} else if (strncmp(p, "/traces", 7) == 0 && (p[7] == '\0' || p[7] == '/')) {
		mgmt_traces(m, req, p + 7);
	} else if (strncmp(p, "/certificate", 12) == 0 && (p[12] == '\0' || p[12] == '/')) {
		mgmt_cert(m, req, p + 12);
	} else if (strcmp(p, "/metrics/token") == 0) {
		mgmt_metrics_token(m, req);
	} else if (strcmp(p, "/logs") == 0) {
		if (mgmt_method_is(req, "GET"))
			mgmt_logs_get(m, req);
		else
			core_httpd_respond_error(req, 405, "method not allowed");
	} else {
		core_httpd_respond_error(req, 404, "no such endpoint");
	}
}

/* Who asks on the local socket: the SSH session's administrator names
 * itself (X-Zentrale-Admin, set by the CLI of an SSH session); one whose
 * account has been removed meanwhile can do nothing more (401). Without
 * the header it is `zentrale ctl`, run by root or the server's account. */
static int api_local_admin(struct mgmt *m, struct core_httpd_req *req, char *user, size_t len)
{
	const char *a = core_httpd_header(req, "X-Zentrale-Admin");
	if (!a) {
		snprintf(user, len, "zentrale ctl");
		return 0;
	}
	if (!mgmt_admin_exists(m, a)) {
		core_httpd_respond_error(req, 401, "this administrator account no longer exists");
		return -1;
	}
	snprintf(user, len, "%s", a);
	return 0;
}

void mgmt_api_handle(struct core_httpd_req *req, void *arg)
{
	struct mgmt *m = arg;
	const char *p = req->path;
	char user[128];

	if (strcmp(p, "/") == 0 || strncmp(p, "/ui/", 4) == 0) {
		ui_serve(req, "mgmt", p + 1);
		return;
	}
	if (strcmp(p, "/metrics") == 0) {
		if (mgmt_method_is(req, "GET"))
			mgmt_metrics_get(m, req);
		else
			core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	if (strncmp(p, API "/", sizeof(API)) != 0) {
		core_httpd_respond_error(req, 404, "not found");
		return;
	}
	p += sizeof(API) - 1;
	if (strcmp(p, "/login") == 0) {
		if (mgmt_method_is(req, "POST"))
			core_login_handle(&m->login, req);
		else
			core_httpd_respond_error(req, 405, "use POST to log in");
		return;
	}
	if (strcmp(p, "/health") == 0) {
		if (mgmt_method_is(req, "GET"))
			mgmt_health(m, req);
		else
			core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	if (strcmp(p, "/logout") == 0) {
		if (mgmt_method_is(req, "POST"))
			core_login_logout(&m->login, req);
		else
			core_httpd_respond_error(req, 405, "use POST to log out");
		return;
	}
	if (strcmp(p, "/session") == 0) {
		if (mgmt_method_is(req, "GET"))
			core_login_session(&m->login, req);
		else
			core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	if (strcmp(p, "/password") == 0) {
		if (mgmt_method_is(req, "PUT"))
			core_login_password(&m->login, req);
		else
			core_httpd_respond_error(req, 405, "use PUT to change the password");
		return;
	}
	/* The local socket is reachable by root and our own account only. */
	if (!req->local && core_login_require(&m->login, req, user, sizeof(user)) < 0)
		return;
	if (req->local && api_local_admin(m, req, user, sizeof(user)) < 0)
		return;
	if (!m->state) {
		core_httpd_respond_error(req, 503, "the server is still starting, try again");
		return;
	}
	/* The audit trail: who asked for each change (the body is not logged). */
	if (!mgmt_method_is(req, "GET"))
		log_info("management: %s: %s %s", user, req->method, p);
	api_authed(m, req, p, user);
}

double mgmt_health_min_free_percent(struct mgmt *m)
{
	char v[32];
	if (core_db_setting_get(m->db, "health_min_disk_free", v, sizeof(v)) == 0)
		return atof(v);
	return 5.0;
}
