/*
 * mgmt_traces — SIP traces through the API: start one for a phone system
 * (optionally one user) with a time and size limit, list them, stop,
 * download the pcap, delete. The supervisor starts and stops them and the
 * SBC writes them (src/supervisor/sup_traces.c, src/sbc/sbc_trace.h); what
 * is listed is read from traces/ in the data dir.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/core_names.h"
#include "mgmt.h"

static bool trace_running(struct mgmt *m, const char *id)
{
	json_t *it;
	size_t i;
	json_array_foreach(json_object_get(m->state, "traces"), i,
			   it) if (strcmp(json_string_value(json_object_get(it, "id")), id) ==
				   0) return json_integer_value(json_object_get(it, "until")) >
		time(NULL);
	return false;
}

/* The description with what is known now: bytes written, running or not. */
static json_t *trace_view(struct mgmt *m, const char *id)
{
	char path[128];
	snprintf(path, sizeof(path), "traces/%s.json", id);
	json_t *j = json_load_file(path, 0, NULL);
	if (!j)
		return NULL;
	struct stat st;
	snprintf(path, sizeof(path), "traces/%s.pcap", id);
	json_object_set_new(j, "bytes", json_integer(stat(path, &st) == 0 ? st.st_size : 0));
	json_object_set_new(j, "capturing", json_boolean(trace_running(m, id)));
	json_object_del(j, "path");
	return j;
}

static void traces_list(struct mgmt *m, struct core_httpd_req *req)
{
	json_t *items[256];
	size_t n = 0;
	DIR *d = opendir("traces");
	struct dirent *e;
	while (d && (e = readdir(d)) && n < 256) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
			continue;
		char id[64];
		snprintf(id, sizeof(id), "%.*s", (int)(l - 5), e->d_name);
		json_t *v = core_trace_id_is_valid(id) ? trace_view(m, id) : NULL;
		if (v)
			items[n++] = v;
	}
	if (d)
		closedir(d);
	core_httpd_respond_json(
		req, 200, json_pack("{s:o}", "traces", mgmt_newest_first(items, n, "started")));
}

/* The body goes to the supervisor, which checks it (sup_trace_check). */
static void traces_start(struct mgmt *m, struct core_httpd_req *req)
{
	static const char *const keys[] = {"phone_system", "user", "seconds", "max_bytes"};
	json_t *b = core_httpd_json_body(req);
	if (!b)
		return;
	json_t *op = json_pack("{s:s}", "op", core_op_name(CORE_OP_TRACE_START));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_get(b, keys[i]))
			json_object_set(op, keys[i], json_object_get(b, keys[i]));
	json_decref(b);
	mgmt_api_ask(m, req, op);
}

static void traces_pcap(struct core_httpd_req *req, const char *id)
{
	char path[128], name[128];
	snprintf(path, sizeof(path), "traces/%s.pcap", id);
	snprintf(name, sizeof(name), "sip-trace-%s.pcap", id);
	mgmt_respond_file(req, path, CORE_OP_TRACE_MAX_BYTES + 65536,
			  "application/vnd.tcpdump.pcap", name, "no such trace");
}

void mgmt_traces(struct mgmt *m, struct core_httpd_req *req, const char *rest)
{
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	if (!*rest) {
		if (get)
			traces_list(m, req);
		else if (strcmp(req->method, "POST") == 0)
			traces_start(m, req);
		else
			core_httpd_respond_error(req, 405, "method not allowed");
		return;
	}
	char id[64];
	const char *action = mgmt_path_id(rest, id, sizeof(id));
	json_t *v = core_trace_id_is_valid(id) ? trace_view(m, id) : NULL;
	if (!v) {
		core_httpd_respond_error(req, 404, "no such trace");
	} else if (!*action && get) {
		core_httpd_respond_json(req, 200, json_incref(v));
	} else if (!*action && strcmp(req->method, "DELETE") == 0) {
		mgmt_api_ask(m, req,
			     json_pack("{s:s, s:s}", "op", core_op_name(CORE_OP_TRACE_DELETE), "id",
				       id));
	} else if (strcmp(action, "stop") == 0 && strcmp(req->method, "POST") == 0) {
		mgmt_api_ask(
			m, req,
			json_pack("{s:s, s:s}", "op", core_op_name(CORE_OP_TRACE_STOP), "id", id));
	} else if (strcmp(action, "pcap") == 0 && get) {
		traces_pcap(req, id);
	} else {
		core_httpd_respond_error(req, 405, "method not allowed");
	}
	json_decref(v);
}
