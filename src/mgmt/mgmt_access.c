/*
 * mgmt_access — who may get in: addresses blocked after failed logins
 * (management API and SSH share one throttle), and the SSH host keys and
 * the public keys an administrator logs in with over SSH.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_log.h"
#include "../ssh/sshd_keys.h"
#include "mgmt.h"

static bool access_sip_blocked(struct mgmt *m, const char *addr, time_t now)
{
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(m->state, "sip_blocked"), i, it)
	{
		if (strcmp(json_string_value(json_object_get(it, "address")), addr) == 0 &&
		    json_integer_value(json_object_get(it, "until")) > now)
			return true;
	}
	return false;
}

void mgmt_access_blocked(struct mgmt *m, struct core_httpd_req *req, const char *addr)
{
	time_t now = time(NULL);
	if (!addr && (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)) {
		json_t *list = core_throttle_list(m->login.throttle, now), *it;
		size_t i;
		json_array_foreach(list, i, it)
			json_object_set_new(it, "reason", json_string("failed logins"));
		/* and what the SBC blocks, as the supervisor last told us */
		json_array_foreach(json_object_get(m->state, "sip_blocked"), i, it)
		{
			json_int_t until = json_integer_value(json_object_get(it, "until"));
			if (until > now)
				json_array_append_new(
					list, json_pack("{s:O, s:I, s:s}", "address",
							json_object_get(it, "address"),
							"seconds_left", until - (json_int_t)now,
							"reason", "failed SIP authentication"));
		}
		core_httpd_respond_json(req, 200, json_pack("{s:o}", "blocked", list));
	} else if (addr && strcmp(req->method, "DELETE") == 0) {
		bool sip = access_sip_blocked(m, addr, now);
		bool login = core_throttle_unblock(m->login.throttle, addr, now) == 0;
		if (!sip && !login) {
			core_httpd_respond_error(req, 404, "this address is not blocked");
			return;
		}
		log_info("management: %s unblocked by an administrator", addr);
		if (sip) /* the SBC lifts its own; answered when the supervisor has passed it on */
			mgmt_api_ask(m, req,
				     json_pack("{s:s, s:s}", "op", "sip-unblock", "address", addr));
		else
			core_httpd_respond_json(req, 200, json_pack("{s:s}", "unblocked", addr));
	} else {
		core_httpd_respond_error(req, 405, "method not allowed");
	}
}

static void access_ssh_add(struct mgmt *m, struct core_httpd_req *req)
{
	json_t *b = core_httpd_json_body(req);
	if (!b)
		return;
	const char *why;
	json_t *k = sshd_keys_parse_public(json_string_value(json_object_get(b, "key")), &why);
	json_decref(b);
	if (!k) {
		core_httpd_respond_error(req, 400, why);
		return;
	}
	long long id;
	int r = sshd_keys_add(m->db, k, &id);
	if (r == -2) {
		core_httpd_respond_error(req, 409, "this key is already authorized");
	} else if (r < 0) {
		core_httpd_respond_error(req, 500, "could not save the key");
	} else {
		json_object_set_new(k, "id", json_integer(id));
		log_info("management: SSH key %s added",
			 json_string_value(json_object_get(k, "fingerprint")));
		core_httpd_respond_json(req, 201, json_incref(k));
	}
	json_decref(k);
}

/* /ssh, /ssh/keys, /ssh/keys/{id} */
void mgmt_access_ssh(struct mgmt *m, struct core_httpd_req *req, const char *rest)
{
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	if (*rest == '\0' && get) {
		core_httpd_respond_json(req, 200,
					json_pack("{s:o, s:o}", "host_keys",
						  sshd_keys_host_fingerprints(), "authorized_keys",
						  sshd_keys_list(m->db)));
	} else if (strcmp(rest, "/keys") == 0 && get) {
		core_httpd_respond_json(
			req, 200, json_pack("{s:o}", "authorized_keys", sshd_keys_list(m->db)));
	} else if (strcmp(rest, "/keys") == 0 && strcmp(req->method, "POST") == 0) {
		access_ssh_add(m, req);
	} else if (strncmp(rest, "/keys/", 6) == 0 && strcmp(req->method, "DELETE") == 0) {
		char *end;
		long long id = strtoll(rest + 6, &end, 10);
		if (*end || sshd_keys_delete(m->db, id) < 0)
			core_httpd_respond_error(req, 404, "no such key");
		else
			core_httpd_respond_json(req, 200,
						json_pack("{s:I}", "deleted", (json_int_t)id));
	} else {
		core_httpd_respond_error(req, 404, "no such endpoint");
	}
}
