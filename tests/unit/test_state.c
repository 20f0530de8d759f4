/* The supervisor's state table as the children decode it (core_state). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/core/core_state.h"

/* What sup_ipc.c's state_table sends, one phone system with two aliases. */
static json_t *good(void)
{
	return json_pack("{s:I, s:s, s:[{s:s, s:s, s:i}, {s:s, s:s, s:i}],"
			 " s:[{s:s, s:s, s:s, s:s, s:[s, s], s:I, s:I, s:i, s:i, s:b}],"
			 " s:{s:b, s:[s], s:[], s:[{s:s, s:s, s:i}], s:b},"
			 " s:{s:i, s:i, s:i}, s:{s:i, s:i, s:i, s:b},"
			 " s:[{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:i}],"
			 " s:{s:b, s:b, s:i, s:s, s:s, s:s, s:s, s:s}, s:{s:i, s:i}}",
			 "started", (json_int_t)1764600000, "version", "0.1.0", "processes", "role",
			 "sbc", "name", "", "pid", 102, "role", "pbx", "name", "acme", "pid", 103,
			 "phone_systems", "name", "acme", "state", "running", "http_socket",
			 "run/acme/http.sock", "sip_socket", "run/acme/sip.sock", "aliases",
			 "sip.acme.example", "acme.example", "created", (json_int_t)1764500000,
			 "since", (json_int_t)1764600001, "restarts", 3, "pid", 103, "enabled", 1,
			 "listen", "fixed", 0, "management", "lo", "sbc", "sockets", "service",
			 "sip-tls", "addr", "::", "port", 5061, "plain_sip", 1, "sip_block",
			 "failures", 20, "window", 60, "seconds", 600, "sip_media", "port_min",
			 30000, "port_max", 35000, "timeout", 60, "srtp_required", 1, "traces",
			 "id", "20261201-184000-0a1b2c3d", "phone_system", "acme", "user", "",
			 "started", (json_int_t)1764600000, "until", (json_int_t)1764600300,
			 "max_bytes", (json_int_t)5242880, "path", "traces/x.pcap", "status", 201,
			 "vpn", "enabled", 0, "running", 0, "port", 8885, "subnet", "10.88.0.0/24",
			 "address", "", "host", "", "interface", "", "error", "", "sbc_connections",
			 "https_per_address", 128, "sip_per_address", 256);
}

static int decode(json_t *j, struct core_state *st, char *err)
{
	int r = core_state_decode(j, st, err, 256);
	json_decref(j);
	return r;
}

static void test_good_state_is_decoded_whole(void **state)
{
	(void)state;
	struct core_state st;
	char err[256];
	assert_int_equal(decode(good(), &st, err), 0);
	assert_int_equal(st.started, 1764600000);
	assert_string_equal(st.version, "0.1.0");
	assert_int_equal(st.nprocesses, 2);
	assert_string_equal(st.processes[1].role, "pbx");
	assert_int_equal(st.nphone_systems, 1);
	const struct core_state_ps *ps = core_state_find_ps(&st, "acme", 4);
	assert_non_null(ps);
	assert_null(core_state_find_ps(&st, "acm", 3));
	assert_int_equal(ps->state, CORE_PS_RUNNING);
	assert_string_equal(core_state_ps_state_name(ps->state), "running");
	assert_string_equal(ps->http_socket, "run/acme/http.sock");
	assert_string_equal(ps->sip_socket, "run/acme/sip.sock");
	assert_int_equal(ps->naliases, 2);
	assert_string_equal(ps->aliases[1], "acme.example");
	assert_int_equal(ps->created, 1764500000);
	assert_int_equal(ps->since, 1764600001);
	assert_int_equal(ps->restarts, 3);
	assert_int_equal(ps->pid, 103);
	assert_true(ps->enabled);
	assert_true(st.listen.plain_sip);
	assert_int_equal(st.listen.nmanagement, 1);
	assert_string_equal(st.listen.management[0], "lo");
	assert_int_equal(st.listen.nsockets, 1);
	assert_int_equal(st.listen.sockets[0].port, 5061);
	assert_int_equal(st.sip_block.seconds, 600);
	assert_int_equal(st.sip_media.port_max, 35000);
	assert_true(st.sip_media.srtp_required);
	assert_int_equal(st.ntraces, 1);
	assert_string_equal(st.traces[0].phone_system, "acme");
	assert_int_equal(st.traces[0].max_bytes, 5242880);
	assert_int_equal(st.vpn.port, 8885);
	assert_string_equal(st.vpn.subnet, "10.88.0.0/24");
	assert_int_equal(st.sbc_connections.sip_per_address, 256);
	core_state_free(&st);
	assert_null(st.phone_systems);
}

/* A refused state leaves nothing to free and says which field. */
static void refused(json_t *j, const char *field)
{
	struct core_state st;
	char err[256] = "";
	assert_int_equal(decode(j, &st, err), -1);
	assert_null(st.phone_systems);
	assert_null(st.processes);
	assert_int_equal(st.nphone_systems, 0);
	if (!strstr(err, field))
		fail_msg("'%s' does not name %s", err, field);
}

static json_t *ps0(json_t *j)
{
	return json_array_get(json_object_get(j, "phone_systems"), 0);
}

static void test_missing_fields_are_refused(void **state)
{
	(void)state;
	static const char *const top[] = {"started", "version",	       "processes", "phone_systems",
					  "listen",  "sip_block",      "sip_media", "traces",
					  "vpn",     "sbc_connections"};
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
		json_t *j = good();
		json_object_del(j, top[i]);
		refused(j, top[i]);
	}
	static const char *const ps[] = {"name",    "state",   "http_socket", "sip_socket",
					 "aliases", "created", "since",	      "restarts",
					 "pid",	    "enabled"};
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		json_t *j = good();
		json_object_del(ps0(j), ps[i]);
		refused(j, ps[i]);
	}
	json_t *j = good();
	json_object_del(json_object_get(j, "sbc_connections"), "sip_per_address");
	refused(j, "sbc_connections.sip_per_address");
}

static void test_wrong_types_are_refused(void **state)
{
	(void)state;
	json_t *j = good();
	json_object_set_new(ps0(j), "pid", json_string("103"));
	refused(j, "pid");
	j = good();
	json_object_set_new(ps0(j), "name", json_integer(1));
	refused(j, "name");
	j = good();
	json_object_set_new(ps0(j), "enabled", json_integer(1));
	refused(j, "enabled");
	j = good();
	json_object_set_new(ps0(j), "state", json_string("dancing"));
	refused(j, "state");
	j = good();
	json_array_append_new(json_object_get(ps0(j), "aliases"), json_integer(5));
	refused(j, "aliases");
	j = good();
	json_object_set_new(j, "phone_systems", json_object());
	refused(j, "phone_systems");
	j = good();
	json_array_append_new(json_object_get(j, "phone_systems"), json_string("x"));
	refused(j, "phone_systems");
	j = good();
	json_object_set_new(j, "sip_media", json_array());
	refused(j, "sip_media");
	refused(json_array(), "object");
}

static void test_limits_are_kept(void **state)
{
	(void)state;
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	json_t *j = good();
	big[CORE_STATE_NAME_MAX] = '\0'; /* one over */
	json_object_set_new(ps0(j), "name", json_string(big));
	refused(j, "name");
	j = good();
	json_object_set_new(ps0(j), "name", json_string(""));
	refused(j, "name");
	j = good();
	json_t *al = json_object_get(ps0(j), "aliases");
	for (int i = 0; json_array_size(al) <= CORE_STATE_MAX_ALIASES; i++) {
		char d[32];
		snprintf(d, sizeof(d), "a%d.example", i);
		json_array_append_new(al, json_string(d));
	}
	refused(j, "aliases");
	j = good();
	json_object_set_new(ps0(j), "pid", json_integer(-1));
	refused(j, "pid");
	j = good();
	json_object_set_new(json_object_get(j, "sip_block"), "failures", json_integer(0));
	refused(j, "failures");
	j = good();
	json_object_set_new(json_object_get(j, "sip_block"), "window",
			    json_integer((json_int_t)1 << 40));
	refused(j, "window");
	j = good();
	json_t *tr = json_object_get(j, "traces");
	while (json_array_size(tr) <= CORE_STATE_MAX_TRACES)
		json_array_append(tr, json_array_get(tr, 0));
	refused(j, "traces");
	/* a NUL inside a string is refused, not cut there */
	j = good();
	json_object_set_new(ps0(j), "sip_socket", json_stringn("run/a\0b", 7));
	refused(j, "sip_socket");
	/* the largest name fits whole */
	j = good();
	memset(big, 'b', CORE_STATE_NAME_MAX - 1);
	big[CORE_STATE_NAME_MAX - 1] = '\0';
	json_object_set_new(ps0(j), "name", json_string(big));
	struct core_state st;
	char err[256];
	assert_int_equal(decode(j, &st, err), 0);
	assert_int_equal(strlen(st.phone_systems[0].name), CORE_STATE_NAME_MAX - 1);
	core_state_free(&st);
}

static void test_unknown_fields_are_ignored_and_bytes_parsed(void **state)
{
	(void)state;
	json_t *j = good();
	json_object_set_new(j, "devices", json_array());
	json_object_set_new(ps0(j), "later", json_true());
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	struct core_state st;
	char err[256];
	assert_int_equal(core_state_parse(text, strlen(text), &st, err, sizeof(err)), 0);
	assert_int_equal(st.nphone_systems, 1);
	core_state_free(&st);
	assert_int_equal(core_state_parse(text, strlen(text) - 1, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not JSON"));
	assert_null(st.phone_systems);
	free(text);
	/* no phone systems at all is a state too */
	j = good();
	json_object_set_new(j, "phone_systems", json_array());
	assert_int_equal(decode(j, &st, err), 0);
	assert_int_equal(st.nphone_systems, 0);
	assert_null(core_state_find_ps(&st, "acme", 4));
	core_state_free(&st);
}

/* A phone system's trunks (IPC_TRUNKS as the supervisor passes it on). */
static json_t *with_trunks(const char *trunks)
{
	json_t *j = good();
	json_error_t je;
	json_t *t = json_loads(trunks, 0, &je);
	assert_non_null(t);
	json_object_set_new(json_array_get(json_object_get(j, "phone_systems"), 0), "trunks", t);
	return j;
}

#define TRUNK_PEER                                                                                 \
	"{\"id\":7,\"kind\":\"peer\",\"transport\":\"udp\",\"domain\":\"\",\"proxy\":\"\","        \
	"\"peers\":[\"198.51.100.7\",\"sip.carrier.example:5070\"],\"interface\":\"\","            \
	"\"srtp\":false,\"dtmf\":\"rfc4733\",\"codecs\":[\"PCMA\",\"PCMU\"],\"enabled\":true}"
#define TRUNK_REG                                                                                  \
	"{\"id\":9,\"kind\":\"register\",\"transport\":\"tls\",\"domain\":\"carrier.example\","    \
	"\"proxy\":\"[2001:db8::1]:5061\",\"peers\":[],\"interface\":\"eth0\",\"srtp\":true,"      \
	"\"dtmf\":\"info\",\"codecs\":[],\"enabled\":false}"

static void test_trunks_are_decoded_or_refused_whole(void **state)
{
	(void)state;
	struct core_state st;
	char err[256];
	assert_int_equal(decode(with_trunks("[" TRUNK_PEER "," TRUNK_REG "]"), &st, err), 0);
	const struct core_state_ps *ps = &st.phone_systems[0];
	assert_int_equal(ps->ntrunks, 2);
	assert_int_equal(ps->trunks[0].id, 7);
	assert_int_equal(ps->trunks[0].kind, CORE_TRUNK_PEER);
	assert_int_equal(ps->trunks[0].transport, CORE_TRUNK_UDP);
	assert_int_equal(ps->trunks[0].npeers, 2);
	assert_string_equal(ps->trunks[0].peers[1], "sip.carrier.example:5070");
	assert_int_equal(ps->trunks[0].ncodecs, 2);
	assert_string_equal(ps->trunks[0].codecs[0], "PCMA");
	assert_false(ps->trunks[0].dtmf_info);
	assert_true(ps->trunks[0].enabled);
	assert_int_equal(ps->trunks[1].kind, CORE_TRUNK_REGISTER);
	assert_int_equal(ps->trunks[1].transport, CORE_TRUNK_TLS);
	assert_string_equal(ps->trunks[1].proxy, "[2001:db8::1]:5061");
	assert_string_equal(ps->trunks[1].interface, "eth0");
	assert_true(ps->trunks[1].srtp);
	assert_true(ps->trunks[1].dtmf_info);
	assert_false(ps->trunks[1].enabled);
	core_state_free(&st);

	/* absent: none yet */
	assert_int_equal(decode(good(), &st, err), 0);
	assert_int_equal(st.phone_systems[0].ntrunks, 0);
	assert_null(st.phone_systems[0].trunks);
	core_state_free(&st);

	static const char *const bad[] = {
		"{}",
		"[" TRUNK_PEER "," TRUNK_PEER "]", /* the same id twice */
		"[{\"id\":0}]",
		"[1]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(decode(with_trunks(bad[i]), &st, err), -1);
		assert_int_equal(st.nphone_systems, 0);
	}
	/* field by field: wrong words, hostile hosts, too many */
	static const struct {
		const char *key, *value;
	} subst[] = {
		{"kind", "\"carrier\""},
		{"transport", "\"sctp\""},
		{"dtmf", "\"inband\""},
		{"peers", "[\"a b\"]"},
		{"peers", "[\"x>;lr\"]"},
		{"peers", "[\"\"]"},
		{"peers", "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]"},
		{"proxy", "\"sip:x@y\""},
		{"codecs", "[\"PC MA\"]"},
		{"interface", "\"an-interface-name-too-long\""},
		{"srtp", "1"},
		{"id", "1000000000000"},
	};
	for (size_t i = 0; i < sizeof(subst) / sizeof(*subst); i++) {
		json_t *j = with_trunks("[" TRUNK_PEER "]");
		json_t *t = json_array_get(
			json_object_get(json_array_get(json_object_get(j, "phone_systems"), 0),
					"trunks"),
			0);
		json_object_set_new(t, subst[i].key,
				    json_loads(subst[i].value, JSON_DECODE_ANY, NULL));
		assert_int_equal(decode(j, &st, err), -1);
		assert_non_null(strstr(err, "trunks"));
	}
	/* 33 trunks are too many */
	json_t *list = json_array();
	for (int i = 1; i <= CORE_STATE_MAX_TRUNKS + 1; i++) {
		json_t *t = json_loads(TRUNK_PEER, 0, NULL);
		json_object_set_new(t, "id", json_integer(i));
		json_array_append_new(list, t);
	}
	struct core_state_trunk *out;
	int n;
	assert_int_equal(core_state_trunks_decode(list, &out, &n, err, sizeof(err)), -1);
	json_array_remove(list, 0);
	assert_int_equal(core_state_trunks_decode(list, &out, &n, err, sizeof(err)), 0);
	assert_int_equal(n, CORE_STATE_MAX_TRUNKS);
	free(out);
	json_decref(list);
}

static json_t *nat_entry(void)
{
	return json_pack("{s:s, s:s, s:s, s:[s], s:[s, s]}", "interface", "lan0",
			 "external_address", "203.0.113.5", "stun_server", "", "addresses",
			 "10.77.0.2/32", "inside", "10.77.0.0/24", "fd00::/8");
}

static void test_nat_settings_are_decoded_or_refused_whole(void **state)
{
	(void)state;
	struct core_state st;
	char err[256];
	assert_int_equal(decode(good(), &st, err), 0); /* absent: none */
	assert_int_equal(st.nnat, 0);
	core_state_free(&st);
	json_t *j = good();
	json_object_set_new(j, "sbc_nat", json_pack("[o]", nat_entry()));
	assert_int_equal(decode(j, &st, err), 0);
	assert_int_equal(st.nnat, 1);
	assert_string_equal(st.nat[0].interface, "lan0");
	assert_string_equal(st.nat[0].external, "203.0.113.5");
	assert_string_equal(st.nat[0].stun, "");
	assert_int_equal(st.nat[0].naddrs, 1);
	assert_int_equal(st.nat[0].addrs[0].prefix, 32);
	assert_int_equal(st.nat[0].ninside, 2);
	assert_int_equal(st.nat[0].inside[1].prefix, 8);
	core_state_free(&st);
	/* both, or neither, of the external address and the STUN server */
	json_t *e = nat_entry();
	json_object_set_new(e, "stun_server", json_string("stun.example:3478"));
	j = good();
	json_object_set_new(j, "sbc_nat", json_pack("[o]", e));
	refused(j, "external_address");
	e = nat_entry();
	json_object_set_new(e, "external_address", json_string(""));
	j = good();
	json_object_set_new(j, "sbc_nat", json_pack("[o]", e));
	refused(j, "external_address");
	e = nat_entry();
	json_object_set_new(e, "external_address", json_string("203.0.113.x"));
	j = good();
	json_object_set_new(j, "sbc_nat", json_pack("[o]", e));
	refused(j, "external_address");
	/* a network that is none, too many networks, too many interfaces */
	e = nat_entry();
	json_array_append_new(json_object_get(e, "inside"), json_string("10.0.0.1/8"));
	j = good();
	json_object_set_new(j, "sbc_nat", json_pack("[o]", e));
	refused(j, "inside");
	e = nat_entry();
	while (json_array_size(json_object_get(e, "inside")) <= CORE_NAT_MAX_NETS)
		json_array_append_new(json_object_get(e, "inside"), json_string("10.1.0.0/16"));
	j = good();
	json_object_set_new(j, "sbc_nat", json_pack("[o]", e));
	refused(j, "inside");
	json_t *list = json_array();
	while (json_array_size(list) <= CORE_STATE_MAX_NAT)
		json_array_append_new(list, nat_entry());
	j = good();
	json_object_set_new(j, "sbc_nat", list);
	refused(j, "sbc_nat");
	e = nat_entry();
	json_object_del(e, "interface");
	j = good();
	json_object_set_new(j, "sbc_nat", json_pack("[o]", e));
	refused(j, "interface");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_state_is_decoded_whole),
		cmocka_unit_test(test_missing_fields_are_refused),
		cmocka_unit_test(test_wrong_types_are_refused),
		cmocka_unit_test(test_limits_are_kept),
		cmocka_unit_test(test_unknown_fields_are_ignored_and_bytes_parsed),
		cmocka_unit_test(test_trunks_are_decoded_or_refused_whole),
		cmocka_unit_test(test_nat_settings_are_decoded_or_refused_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
