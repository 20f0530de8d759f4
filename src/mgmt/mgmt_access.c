/*
 * mgmt_access — who may get in: addresses blocked after failed logins
 * (management API and SSH share one throttle) and the SBC's blocks (kept by
 * the supervisor, passed as IPC_BLOCKS), and the SSH host keys and
 * the public keys an administrator logs in with over SSH.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_log.h"
#include "../sshkeys/sshkeys.h"
#include "mgmt.h"

static int access_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void mgmt_access_sip_blocks(struct mgmt *m, const struct core_ipc_msg *msg)
{
	json_t *j = core_ipc_json(msg), *it;
	size_t i;
	if (json_is_true(json_object_get(j, "reset")))
		json_object_clear(m->sip_blocks);
	json_array_foreach(json_object_get(j, "added"), i, it)
	{
		const char *a = json_string_value(json_object_get(it, "address"));
		json_t *until = json_object_get(it, "until");
		if (a && strlen(a) < CORE_THROTTLE_KEY_LEN && json_is_integer(until) &&
		    json_object_size(m->sip_blocks) < 2 * CORE_THROTTLE_CAPACITY)
			json_object_set_new(m->sip_blocks, a,
					    json_integer(json_integer_value(until)));
	}
	json_array_foreach(json_object_get(j, "removed"), i, it) if (json_is_string(it))
		json_object_del(m->sip_blocks, json_string_value(it));
	json_decref(j);
}

/* Ended blocks are forgotten. */
static void access_prune(struct mgmt *m, time_t now)
{
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(m->sip_blocks, tmp, k, v)
	{
		if (json_integer_value(v) <= now)
			json_object_del(m->sip_blocks, k);
	}
}

size_t mgmt_access_sip_blocked_count(struct mgmt *m, time_t now)
{
	access_prune(m, now);
	return json_object_size(m->sip_blocks);
}

static json_t *access_sip_entry(const char *addr, json_int_t until, time_t now)
{
	return json_pack("{s:s, s:I, s:s}", "address", addr, "seconds_left",
			 until - (json_int_t)now, "reason", "failed SIP authentication");
}

/* Every block of addr: of the address, of its prefix at the SBC, of logins. */
static json_t *access_blocks_of(struct mgmt *m, const char *addr, time_t now)
{
	json_t *out = json_array(), *v;
	char prefix[CORE_THROTTLE_KEY_LEN];
	int left = core_throttle_blocked(m->login.throttle, addr, now);
	if (left > 0)
		json_array_append_new(out,
				      json_pack("{s:s, s:i, s:s}", "address", addr, "seconds_left",
						left, "reason", "failed logins"));
	const char *keys[2] = {addr, core_throttle_prefix(addr, prefix) == 0 ? prefix : NULL};
	for (int i = 0; i < 2; i++) {
		if (keys[i] && (v = json_object_get(m->sip_blocks, keys[i])) &&
		    json_integer_value(v) > now)
			json_array_append_new(
				out, access_sip_entry(keys[i], json_integer_value(v), now));
	}
	return out;
}

/* Query `name` as a number in [min, max]; dflt if absent, -1 if bad. */
static long access_query_num(struct core_httpd_req *req, const char *name, long dflt, long min,
			     long max)
{
	char v[24], *end;
	if (core_httpd_query(req, name, v, sizeof(v)) < 0)
		return strstr(req->query, name) ? -1 : dflt;
	long n = strtol(v, &end, 10);
	return *v && !*end && n >= min && n <= max ? n : -1;
}

/* GET /blocked[?offset=N&limit=N]: login blocks first, then the SBC's, in a
 * stable order (by address); `total` counts them all. */
static void access_list(struct mgmt *m, struct core_httpd_req *req, time_t now)
{
	long offset = access_query_num(req, "offset", 0, 0, 1L << 30);
	long limit = access_query_num(req, "limit", 1L << 30, 1, 1L << 30);
	if (offset < 0 || limit < 0) {
		core_httpd_respond_error(req, 400,
					 "offset and limit are whole numbers (limit ≥ 1)");
		return;
	}
	json_t *all = core_throttle_list(m->login.throttle, now), *it;
	size_t i;
	json_array_foreach(all, i, it)
		json_object_set_new(it, "reason", json_string("failed logins"));
	access_prune(m, now);
	const char **keys = malloc(sizeof(*keys) * (json_object_size(m->sip_blocks) + 1));
	size_t n = 0;
	const char *k;
	json_t *v;
	json_object_foreach(m->sip_blocks, k, v) keys[n++] = k;
	qsort(keys, n, sizeof(*keys), access_cmp);
	for (i = 0; i < n; i++)
		json_array_append_new(all, access_sip_entry(keys[i],
							    json_integer_value(json_object_get(
								    m->sip_blocks, keys[i])),
							    now));
	free(keys);
	size_t total = json_array_size(all);
	json_t *page = json_array();
	for (i = (size_t)offset; i < total && json_array_size(page) < (size_t)limit; i++)
		json_array_append(page, json_array_get(all, i));
	json_decref(all);
	core_httpd_respond_json(
		req, 200, json_pack("{s:o, s:I}", "blocked", page, "total", (json_int_t)total));
}

void mgmt_access_blocked(struct mgmt *m, struct core_httpd_req *req, const char *addr)
{
	time_t now = time(NULL);
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	if (!addr && get) {
		access_list(m, req, now);
	} else if (addr && get) {
		json_t *list = access_blocks_of(m, addr, now);
		if (json_array_size(list)) {
			core_httpd_respond_json(req, 200, json_pack("{s:o}", "blocked", list));
		} else {
			json_decref(list);
			core_httpd_respond_error(req, 404, "this address is not blocked");
		}
	} else if (addr && strcmp(req->method, "DELETE") == 0) {
		json_t *v = json_object_get(m->sip_blocks, addr);
		bool sip = v && json_integer_value(v) > now;
		bool login = core_throttle_unblock(m->login.throttle, addr, now) == 0;
		if (!sip && !login) {
			core_httpd_respond_error(req, 404, "this address is not blocked");
			return;
		}
		log_info("management: %s unblocked by an administrator", addr);
		if (sip) /* the SBC lifts its own; answered when the supervisor has passed it on */
			mgmt_api_ask(m, req,
				     json_pack("{s:s, s:s}", "op",
					       core_op_name(CORE_OP_SIP_UNBLOCK), "address", addr));
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
	json_t *k = sshkeys_parse_public(json_string_value(json_object_get(b, "key")), &why);
	json_decref(b);
	if (!k) {
		core_httpd_respond_error(req, 400, why);
		return;
	}
	long long id;
	int r = sshkeys_add(m->db, k, &id);
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
						  sshkeys_host_fingerprints(), "authorized_keys",
						  sshkeys_list(m->db)));
	} else if (strcmp(rest, "/keys") == 0 && get) {
		core_httpd_respond_json(req, 200,
					json_pack("{s:o}", "authorized_keys", sshkeys_list(m->db)));
	} else if (strcmp(rest, "/keys") == 0 && strcmp(req->method, "POST") == 0) {
		access_ssh_add(m, req);
	} else if (strncmp(rest, "/keys/", 6) == 0 && strcmp(req->method, "DELETE") == 0) {
		char *end;
		long long id = strtoll(rest + 6, &end, 10);
		if (*end || sshkeys_delete(m->db, id) < 0)
			core_httpd_respond_error(req, 404, "no such key");
		else
			core_httpd_respond_json(req, 200,
						json_pack("{s:I}", "deleted", (json_int_t)id));
	} else {
		core_httpd_respond_error(req, 404, "no such endpoint");
	}
}
