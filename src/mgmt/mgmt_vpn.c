/*
 * mgmt_vpn — the phones' VPN through the API: its state and switch,
 * clients (add, revoke) and each client's profile. The supervisor runs the
 * VPN and issues certificates (src/supervisor/sup_vpn.c); a profile is
 * read here from the files it wrote.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_db.h"
#include "../vpn/vpn.h"
#include "mgmt.h"

/* Whether name is a client now (not revoked). */
static bool vpn_client_active(struct mgmt *m, const char *name)
{
	sqlite3_stmt *st;
	bool found = false;
	if (sqlite3_prepare_v2(m->db, "SELECT 1 FROM vpn_clients WHERE name=? AND revoked IS NULL",
			       -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* The host phones reach the server at: the setting, else the one the
 * admin's browser used (the Host header without its port). */
static bool vpn_profile_host(struct mgmt *m, struct core_httpd_req *req, char *out, size_t len)
{
	if (core_db_setting_get(m->db, "vpn.host", out, len) == 0 && out[0])
		return true;
	if (req->local) /* the CLI's Host says nothing about the server */
		return false;
	const char *h = core_httpd_header(req, "Host");
	if (!h || !*h)
		return false;
	const char *end;
	if (h[0] == '[') { /* [2001:db8::1]:8443 */
		end = strchr(h, ']');
		h++;
	} else {
		end = strchr(h, ':');
	}
	size_t n = end ? (size_t)(end - h) : strlen(h);
	if (n == 0 || n >= len)
		return false;
	memcpy(out, h, n);
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!(out[i] == '.' || out[i] == '-' || out[i] == ':' ||
		      (out[i] >= '0' && out[i] <= '9') || (out[i] >= 'a' && out[i] <= 'z') ||
		      (out[i] >= 'A' && out[i] <= 'Z')))
			return false;
	return true;
}

static void vpn_profile_get(struct mgmt *m, struct core_httpd_req *req, const char *name)
{
	char host[256], file[96];
	if (!vpn_client_name_ok(name) || !vpn_client_active(m, name)) {
		core_httpd_respond_error(req, 404, "no such VPN client");
		return;
	}
	if (!vpn_profile_host(m, req, host, sizeof(host))) {
		core_httpd_respond_error(
			req, 409, "set the address phones reach this server at (host) first");
		return;
	}
	int port = m->st.vpn.port;
	char *p = vpn_profile(VPN_DIR, name, host, port > 0 ? port : VPN_PORT);
	if (!p) {
		core_httpd_respond_error(req, 500, "the client's certificate is missing");
		return;
	}
	if (strcmp(req->query, "format=json") == 0) { /* for the CLI */
		core_httpd_respond_json_with(req, 200,
					     json_pack("{s:s, s:s}", "name", name, "profile", p),
					     "Cache-Control: no-store\r\n");
	} else {
		snprintf(file, sizeof(file), "%s.ovpn", name);
		mgmt_respond_download(req, "application/x-openvpn-profile", file, p, strlen(p));
	}
	free(p);
}

void mgmt_vpn(struct mgmt *m, struct core_httpd_req *req, const char *rest)
{
	if (rest[0] == '\0') {
		if (mgmt_method_is(req, "GET")) {
			mgmt_api_ask(m, req,
				     json_pack("{s:s}", "op", core_op_name(CORE_OP_VPN_GET)));
		} else if (mgmt_method_is(req, "PUT")) {
			json_t *b = core_httpd_json_body(req);
			if (!b)
				return;
			json_object_set_new(b, "op", json_string(core_op_name(CORE_OP_VPN_SET)));
			mgmt_api_ask(m, req, b);
		} else {
			core_httpd_respond_error(req, 405, "method not allowed");
		}
		return;
	}
	if (strcmp(rest, "/clients") == 0) {
		if (mgmt_method_is(req, "POST")) {
			json_t *b = core_httpd_json_body(req);
			if (!b)
				return;
			json_t *op =
				json_pack("{s:s, s:O?}", "op", core_op_name(CORE_OP_VPN_CLIENT_ADD),
					  "name", json_object_get(b, "name"));
			json_decref(b);
			mgmt_api_ask(m, req, op);
		} else {
			core_httpd_respond_error(req, 405, "method not allowed");
		}
		return;
	}
	if (strncmp(rest, "/clients/", 9) != 0) {
		core_httpd_respond_error(req, 404, "not found");
		return;
	}
	char name[80];
	const char *action = mgmt_path_id(rest + 8, name, sizeof(name));
	if (strcmp(action, "profile") == 0 && mgmt_method_is(req, "GET"))
		vpn_profile_get(m, req, name);
	else if (!*action && mgmt_method_is(req, "DELETE"))
		mgmt_api_ask(m, req,
			     json_pack("{s:s, s:s}", "op", core_op_name(CORE_OP_VPN_CLIENT_REVOKE),
				       "name", name));
	else
		core_httpd_respond_error(req, *action ? 404 : 405,
					 *action ? "not found" : "method not allowed");
}
