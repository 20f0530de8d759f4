/*
 * mgmt_metrics — GET /metrics in the Prometheus text format (0.0.4): per
 * process CPU and memory, per phone system its state, registrations and
 * calls, its trunks (registered, keep-alive round trip), the SBC's
 * connections per service, blocked addresses, and the media relay.
 * Process figures are read from /proc at each scrape; the rest is what
 * the SBC and each phone system last reported (IPC_STATS,
 * every few seconds), kept only while the process that sent it still runs.
 *
 * A scraper authenticates with a metrics token of its own (POST
 * /api/v1/metrics/token, shown once, kept as a digest), so a Prometheus
 * config never holds an admin session; an admin session works too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "mgmt.h"

#define METRICS_TOKEN_KEY "metrics_token_sha256"

void mgmt_metrics_store(struct mgmt *m, const struct core_ipc_msg *msg)
{
	json_t *j = core_ipc_json(msg);
	const char *role = json_string_value(json_object_get(j, "role"));
	const char *name = json_string_value(json_object_get(j, "name"));
	if (!role || !name) {
		json_decref(j);
		return;
	}
	char key[96];
	snprintf(key, sizeof(key), "%s/%s", role, name);
	if (!m->stats)
		m->stats = json_object();
	json_object_set_new(m->stats, key, j);
}

/* The figures a running process last sent, or NULL. */
static json_t *metrics_of(struct mgmt *m, const char *role, const char *name, json_int_t pid)
{
	char key[96];
	snprintf(key, sizeof(key), "%s/%s", role, name);
	json_t *j = json_object_get(m->stats, key);
	if (!j || json_integer_value(json_object_get(j, "pid")) != pid)
		return NULL;
	return json_object_get(j, "stats");
}

/* A label value, escaped as the text format wants (\\, \", \n). */
static void metrics_label(struct evbuffer *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(b, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, v, 1);
	}
}

static void metrics_head(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{k1="v1",k2="v2"} value; NULL keys end the labels. */
static void metrics_sample(struct evbuffer *b, const char *name, const char *k1, const char *v1,
			   const char *k2, const char *v2, double value)
{
	evbuffer_add_printf(b, "%s", name);
	if (k1) {
		evbuffer_add_printf(b, "{%s=\"", k1);
		metrics_label(b, v1);
		if (k2) {
			evbuffer_add_printf(b, "\",%s=\"", k2);
			metrics_label(b, v2);
		}
		evbuffer_add(b, "\"}", 2);
	}
	evbuffer_add_printf(b, " %.15g\n", value);
}

/* A sample with three labels. */
static void metrics_sample3(struct evbuffer *b, const char *name, const char *k1, const char *v1,
			    const char *k2, const char *v2, const char *k3, const char *v3,
			    double value)
{
	evbuffer_add_printf(b, "%s{%s=\"", name, k1);
	metrics_label(b, v1);
	evbuffer_add_printf(b, "\",%s=\"", k2);
	metrics_label(b, v2);
	evbuffer_add_printf(b, "\",%s=\"", k3);
	metrics_label(b, v3);
	evbuffer_add_printf(b, "\"} %.15g\n", value);
}

static double num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void metrics_processes(struct evbuffer *b, json_t *sys)
{
	json_t *procs = json_object_get(sys, "processes"), *p;
	size_t i;
	metrics_head(b, "zentrale_process_cpu_seconds_total", "counter",
		     "CPU time used by a process of Zentrale (user and system).");
	json_array_foreach(procs, i, p) metrics_sample(
		b, "zentrale_process_cpu_seconds_total", "role",
		json_string_value(json_object_get(p, "role")), "phone_system",
		json_string_value(json_object_get(p, "name")), num(p, "cpu_seconds"));
	metrics_head(b, "zentrale_process_resident_memory_bytes", "gauge",
		     "Resident memory of a process of Zentrale.");
	json_array_foreach(procs, i, p)
		metrics_sample(b, "zentrale_process_resident_memory_bytes", "role",
			       json_string_value(json_object_get(p, "role")), "phone_system",
			       json_string_value(json_object_get(p, "name")), num(p, "rss_bytes"));
}

/* One gauge or counter per phone system, from what its process reported. */
static void metrics_pbx(struct mgmt *m, struct evbuffer *b, const char *metric, const char *type,
			const char *help, const char *key)
{
	json_t *ps;
	size_t i;
	metrics_head(b, metric, type, help);
	json_array_foreach(json_object_get(m->state, "phone_systems"), i, ps)
	{
		const char *name = json_string_value(json_object_get(ps, "name"));
		json_t *st =
			metrics_of(m, "pbx", name, json_integer_value(json_object_get(ps, "pid")));
		if (st)
			metrics_sample(b, metric, "phone_system", name, NULL, NULL, num(st, key));
	}
}

static void metrics_phone_systems(struct mgmt *m, struct evbuffer *b, json_t *sys)
{
	static const char *const states[] = {"running", "starting", "stopped", "failed"};
	json_t *counts = json_object_get(sys, "phone_systems"), *ps;
	size_t i;
	metrics_head(b, "zentrale_phone_systems", "gauge", "Phone systems in each state.");
	for (int k = 0; k < 4; k++)
		metrics_sample(b, "zentrale_phone_systems", "state", states[k], NULL, NULL,
			       num(counts, states[k]));
	metrics_head(b, "zentrale_phone_system_up", "gauge",
		     "1 if the phone system runs and answers, else 0.");
	json_array_foreach(json_object_get(m->state, "phone_systems"), i, ps) metrics_sample(
		b, "zentrale_phone_system_up", "phone_system",
		json_string_value(json_object_get(ps, "name")), NULL, NULL,
		strcmp(json_string_value(json_object_get(ps, "state")), "running") == 0);
	metrics_head(b, "zentrale_phone_system_restarts_total", "counter",
		     "Restarts of the phone system's process after a crash.");
	json_array_foreach(json_object_get(m->state, "phone_systems"), i, ps) metrics_sample(
		b, "zentrale_phone_system_restarts_total", "phone_system",
		json_string_value(json_object_get(ps, "name")), NULL, NULL, num(ps, "restarts"));

	metrics_pbx(m, b, "zentrale_registrations", "gauge", "Devices registered now.",
		    "registrations");
	metrics_pbx(m, b, "zentrale_calls_active", "gauge", "Calls in progress.", "calls_active");
	metrics_pbx(m, b, "zentrale_call_attempts_total", "counter",
		    "Authenticated calls ended since the phone system started.", "call_attempts");
	metrics_pbx(m, b, "zentrale_call_failures_total", "counter",
		    "Calls that failed (unreachable, unknown number, error) since the phone "
		    "system started; busy, declined, cancelled and unanswered calls are not "
		    "failures.",
		    "call_failures");
	metrics_pbx(m, b, "zentrale_media_sessions", "gauge",
		    "Media engine sessions (voicemail, prompts, music on hold) now.",
		    "media_sessions");
	metrics_pbx(m, b, "zentrale_media_packets_sent_total", "counter",
		    "RTP packets the media engine sent.", "media_sent");
	metrics_pbx(m, b, "zentrale_media_packets_received_total", "counter",
		    "RTP packets the media engine received.", "media_received");
	metrics_pbx(m, b, "zentrale_media_packets_lost_total", "counter",
		    "RTP packets the media engine's jitter buffers found missing.", "media_lost");
	metrics_pbx(m, b, "zentrale_media_late_ticks_total", "counter",
		    "Ticks of the media engine's 20 ms clock that ran more than 10 ms late.",
		    "media_late");
	metrics_head(b, "zentrale_calls_ended_total", "counter",
		     "Calls ended since the phone system started, by cause.");
	json_array_foreach(json_object_get(m->state, "phone_systems"), i, ps)
	{
		const char *name = json_string_value(json_object_get(ps, "name"));
		json_t *st =
			metrics_of(m, "pbx", name, json_integer_value(json_object_get(ps, "pid")));
		const char *cause;
		json_t *n;
		json_object_foreach(json_object_get(st, "calls_ended"), cause, n)
			metrics_sample(b, "zentrale_calls_ended_total", "phone_system", name,
				       "cause", cause, (double)json_integer_value(n));
	}
}

/* One gauge per trunk of each phone system, from pbx_trunk_reg's figures
 * (pbx_stats' "trunks"): rtt false, registered (trunks that register only);
 * rtt true, the last OPTIONS round trip in seconds (when it was answered). */
static void metrics_trunk(struct mgmt *m, struct evbuffer *b, const char *metric, const char *help,
			  bool rtt)
{
	json_t *ps, *t;
	size_t i, j;
	metrics_head(b, metric, "gauge", help);
	json_array_foreach(json_object_get(m->state, "phone_systems"), i, ps)
	{
		const char *name = json_string_value(json_object_get(ps, "name"));
		json_t *st =
			metrics_of(m, "pbx", name, json_integer_value(json_object_get(ps, "pid")));
		json_array_foreach(json_object_get(st, "trunks"), j, t)
		{
			const char *trunk = json_string_value(json_object_get(t, "name"));
			json_t *ms = json_object_get(t, "options_rtt_ms");
			if (!trunk)
				continue;
			if (!rtt && json_is_true(json_object_get(t, "registers")))
				metrics_sample(b, metric, "phone_system", name, "trunk", trunk,
					       json_is_true(json_object_get(t, "registered")));
			if (rtt && json_is_integer(ms))
				metrics_sample(b, metric, "phone_system", name, "trunk", trunk,
					       (double)json_integer_value(ms) / 1000);
		}
	}
}

/* Calls over each trunk of each phone system by direction (pbx_stats'
 * "trunk_calls"): counter field of {"calls", "answered", "seconds"}. */
static void metrics_trunk_calls(struct mgmt *m, struct evbuffer *b, const char *metric,
				const char *help, const char *field)
{
	json_t *ps, *t, *d;
	size_t i;
	const char *trunk, *dir;
	metrics_head(b, metric, "counter", help);
	json_array_foreach(json_object_get(m->state, "phone_systems"), i, ps)
	{
		const char *name = json_string_value(json_object_get(ps, "name"));
		json_t *st =
			metrics_of(m, "pbx", name, json_integer_value(json_object_get(ps, "pid")));
		json_object_foreach(json_object_get(st, "trunk_calls"), trunk, t)
		{
			json_object_foreach(t, dir, d)
			{
				metrics_sample3(
					b, metric, "phone_system", name, "trunk", trunk,
					"direction", dir,
					(double)json_integer_value(json_object_get(d, field)));
			}
		}
	}
}

static void metrics_sbc(struct mgmt *m, struct evbuffer *b)
{
	json_t *st = NULL, *p;
	size_t i;
	json_array_foreach(json_object_get(m->state, "processes"), i,
			   p) if (strcmp(json_string_value(json_object_get(p, "role")), "sbc") == 0)
		st = metrics_of(m, "sbc", "", json_integer_value(json_object_get(p, "pid")));

	metrics_head(b, "zentrale_sbc_connections", "gauge",
		     "Connections open at the SBC now, per service.");
	const char *svc;
	json_t *n;
	json_object_foreach(json_object_get(st, "connections"), svc, n)
		metrics_sample(b, "zentrale_sbc_connections", "service", svc, NULL, NULL,
			       (double)json_integer_value(n));
	metrics_head(b, "zentrale_connections_refused_total", "counter",
		     "Connections closed at accept: their address held the most it may.");
	json_object_foreach(json_object_get(st, "refused"), svc, n)
		metrics_sample(b, "zentrale_connections_refused_total", "service", svc, NULL, NULL,
			       (double)json_integer_value(n));
	metrics_sample(b, "zentrale_connections_refused_total", "service", "management", NULL, NULL,
		       (double)core_httpd_refused(m->http));
	json_t *relay = json_object_get(st, "relay");
	metrics_head(b, "zentrale_relay_ports_in_use", "gauge",
		     "RTP/RTCP port pairs of the media relay in use.");
	if (relay)
		metrics_sample(b, "zentrale_relay_ports_in_use", NULL, NULL, NULL, NULL,
			       num(relay, "ports_in_use"));
	/* the pool of the range now: free + in_use + aside = its pairs */
	json_t *pool = relay ? json_object_get(relay, "pool") : NULL;
	metrics_head(b, "zentrale_relay_port_pairs", "gauge",
		     "Port pairs of the media relay's range: free, in use, half in use (one port, "
		     "by an rtcp-mux leg), or set aside (could not be bound, tried again later).");
	static const char *const pool_states[] = {"free", "in_use", "half", "aside"};
	for (size_t i = 0; pool && i < 4; i++)
		metrics_sample(b, "zentrale_relay_port_pairs", "state", pool_states[i], NULL, NULL,
			       num(pool, pool_states[i]));
	metrics_head(b, "zentrale_relay_packets_total", "counter",
		     "Packets the media relay has forwarded since the SBC started.");
	if (relay)
		metrics_sample(b, "zentrale_relay_packets_total", NULL, NULL, NULL, NULL,
			       num(relay, "packets"));

	/* behind NAT: per interface the external address in use (1), or none
	 * known yet (0, address "") */
	metrics_head(b, "zentrale_sbc_nat_external", "gauge",
		     "Whether the SBC knows the external address of an interface behind NAT "
		     "(configured or found by STUN), with the address.");
	size_t ni;
	json_t *nt;
	json_array_foreach(json_object_get(st, "nat"), ni, nt)
	{
		const char *use = json_string_value(json_object_get(nt, "in_use"));
		const char *ifn = json_string_value(json_object_get(nt, "interface"));
		metrics_sample(b, "zentrale_sbc_nat_external", "interface", ifn ? ifn : "",
			       "address", use ? use : "", use && *use ? 1 : 0);
	}

	json_t *ov = json_object_get(st, "overload");
	metrics_head(b, "zentrale_sip_requests_shed_total", "counter",
		     "New SIP requests the SBC answered 503 (Retry-After) while overloaded.");
	if (ov)
		metrics_sample(b, "zentrale_sip_requests_shed_total", NULL, NULL, NULL, NULL,
			       num(ov, "shed"));
	metrics_head(b, "zentrale_sip_overloaded", "gauge",
		     "1 while the SBC sheds new SIP requests, else 0.");
	if (ov)
		metrics_sample(b, "zentrale_sip_overloaded", NULL, NULL, NULL, NULL,
			       json_is_true(json_object_get(ov, "shedding")) ? 1 : 0);

	time_t now = time(NULL);
	json_t *logins = core_throttle_list(m->login.throttle, now);
	double sip = (double)mgmt_access_sip_blocked_count(m, now);
	metrics_head(b, "zentrale_blocked_addresses", "gauge",
		     "Addresses blocked now, after failed logins or failed SIP authentication.");
	metrics_sample(b, "zentrale_blocked_addresses", "reason", "login", NULL, NULL,
		       (double)json_array_size(logins));
	metrics_sample(b, "zentrale_blocked_addresses", "reason", "sip", NULL, NULL, sip);
	json_decref(logins);
}

static bool metrics_token_ok(struct mgmt *m, struct core_httpd_req *req)
{
	const char *tok = core_httpd_bearer(req);
	char want[65];
	if (!tok || core_db_setting_get(m->db, METRICS_TOKEN_KEY, want, sizeof(want)) < 0)
		return false;
	unsigned char d[crypto_hash_sha256_BYTES];
	char hex[65];
	crypto_hash_sha256(d, (const unsigned char *)tok, strlen(tok));
	sodium_bin2hex(hex, sizeof(hex), d, sizeof(d));
	return strlen(want) == 64 && sodium_memcmp(hex, want, 64) == 0;
}

void mgmt_metrics_get(struct mgmt *m, struct core_httpd_req *req)
{
	char user[128];
	if (!req->local && !metrics_token_ok(m, req) &&
	    core_login_require(&m->login, req, user, sizeof(user)) < 0)
		return;
	if (!m->state) {
		core_httpd_respond_error(req, 503, "the server is still starting, try again");
		return;
	}
	json_t *sys = mgmt_system_info(m);
	struct evbuffer *b = evbuffer_new();
	metrics_head(b, "zentrale_info", "gauge", "The version of Zentrale that runs.");
	metrics_sample(b, "zentrale_info", "version",
		       json_string_value(json_object_get(sys, "version")), NULL, NULL, 1);
	metrics_head(b, "zentrale_uptime_seconds", "gauge", "Seconds since the server started.");
	metrics_sample(b, "zentrale_uptime_seconds", NULL, NULL, NULL, NULL,
		       num(sys, "uptime_seconds"));
	metrics_processes(b, sys);
	metrics_phone_systems(m, b, sys);
	metrics_trunk(m, b, "zentrale_trunk_registered",
		      "1 if the trunk is registered at its carrier, else 0 (trunks that register).",
		      false);
	metrics_trunk(m, b, "zentrale_trunk_options_rtt_seconds",
		      "Round trip of the trunk's last answered OPTIONS keep-alive.", true);
	metrics_trunk_calls(m, b, "zentrale_trunk_calls_total",
			    "Calls over the trunk that ended since the phone system started.",
			    "calls");
	metrics_trunk_calls(m, b, "zentrale_trunk_calls_answered_total",
			    "Answered calls over the trunk since the phone system started.",
			    "answered");
	metrics_trunk_calls(
		m, b, "zentrale_trunk_call_seconds_total",
		"Talk time of the trunk's answered calls since the phone system started.",
		"seconds");
	metrics_sbc(m, b);
	json_t *disk = json_object_get(sys, "disk");
	metrics_head(b, "zentrale_data_disk_free_bytes", "gauge",
		     "Free space on the file system of the data dir.");
	metrics_sample(b, "zentrale_data_disk_free_bytes", NULL, NULL, NULL, NULL,
		       num(disk, "free_bytes"));
	metrics_head(b, "zentrale_data_disk_size_bytes", "gauge",
		     "Size of the file system of the data dir.");
	metrics_sample(b, "zentrale_data_disk_size_bytes", NULL, NULL, NULL, NULL,
		       num(disk, "total_bytes"));
	json_decref(sys);
	size_t n = evbuffer_get_length(b);
	core_httpd_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8",
			   "Cache-Control: no-store\r\n", evbuffer_pullup(b, -1), n);
	evbuffer_free(b);
}

/* POST /api/v1/metrics/token: a new token for scrapers (the old one stops
 * working), shown once; DELETE: none any more. */
void mgmt_metrics_token(struct mgmt *m, struct core_httpd_req *req)
{
	if (strcmp(req->method, "DELETE") == 0) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(m->db, "DELETE FROM settings WHERE key=?", -1, &st, NULL) ==
		    SQLITE_OK) {
			sqlite3_bind_text(st, 1, METRICS_TOKEN_KEY, -1, SQLITE_STATIC);
			sqlite3_step(st);
			sqlite3_finalize(st);
		}
		log_info("management: the metrics token was revoked");
		core_httpd_respond_json(req, 200, json_pack("{s:b}", "revoked", 1));
		return;
	}
	if (strcmp(req->method, "POST") != 0) {
		core_httpd_respond_error(req, 405, "use POST for a new token, DELETE to revoke it");
		return;
	}
	unsigned char raw[32], d[crypto_hash_sha256_BYTES];
	char tok[64], hex[65];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(tok, sizeof(tok), raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	crypto_hash_sha256(d, (const unsigned char *)tok, strlen(tok));
	sodium_bin2hex(hex, sizeof(hex), d, sizeof(d));
	if (core_db_setting_set(m->db, METRICS_TOKEN_KEY, hex) < 0) {
		core_httpd_respond_error(req, 500, "could not save the token");
		return;
	}
	log_info("management: a new metrics token was made");
	core_httpd_respond_json(req, 201, json_pack("{s:s}", "token", tok));
}
