/* The pure parts of the NAT settings (core_nat): CIDR networks and whether
 * an address is in one (IPv4, IPv6, IPv4-mapped), host:port, and the check
 * of one interface's settings as PUT /sbc/nat/IFACE takes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "../../src/core/core_nat.h"

static struct sockaddr_storage ip(const char *s)
{
	struct sockaddr_storage ss;
	assert_int_equal(core_nat_ip_parse(s, &ss), 0);
	return ss;
}

static bool in(const char *net, const char *addr)
{
	struct core_nat_net n;
	const char *why = NULL;
	assert_int_equal(core_nat_net_parse(net, &n, &why), 0);
	struct sockaddr_storage a = ip(addr);
	return core_nat_net_contains(&n, (struct sockaddr *)&a);
}

static void test_ipv4_networks_contain_their_addresses_only(void **state)
{
	(void)state;
	assert_true(in("10.0.0.0/8", "10.255.1.2"));
	assert_false(in("10.0.0.0/8", "11.0.0.1"));
	assert_true(in("192.168.10.0/23", "192.168.11.254"));
	assert_false(in("192.168.10.0/23", "192.168.12.1"));
	assert_true(in("172.16.0.0/12", "172.31.255.255"));
	assert_false(in("172.16.0.0/12", "172.32.0.0"));
	assert_true(in("0.0.0.0/0", "198.18.77.9"));
	assert_true(in("198.18.77.9", "198.18.77.9")); /* a bare address: /32 */
	assert_false(in("198.18.77.9", "198.18.77.8"));
	assert_false(in("10.0.0.0/8", "::1")); /* another family */
}

static void test_ipv6_networks_and_mapped_ipv4(void **state)
{
	(void)state;
	assert_true(in("fd00::/8", "fd12:3456::1"));
	assert_false(in("fd00::/8", "fe80::1"));
	assert_true(in("2001:db8:1::/48", "2001:db8:1:ffff::5"));
	assert_false(in("2001:db8:1::/48", "2001:db8:2::5"));
	assert_true(in("2001:db8::/33", "2001:db8:7fff::1"));
	assert_false(in("2001:db8::/33", "2001:db8:8000::1"));
	assert_true(in("::/0", "::1"));
	assert_false(in("::/0", "10.0.0.1"));
	/* a dual-stack socket's IPv4 peer is an IPv4 address */
	assert_true(in("10.0.0.0/8", "::ffff:10.1.2.3"));
	assert_false(in("10.0.0.0/8", "::ffff:11.1.2.3"));
}

static void test_networks_that_are_none_are_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {"",		"10.0.0.0/",   "10.0.0.0/33",
					  "10.0.0.1/8", "10.0.0/8",    "fd00::/129",
					  "fd00::1/8",	"10.0.0.0/-1", "10.0.0.0/8x",
					  "host/24",	"/8",	       "10.0.0.0/0008"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct core_nat_net n;
		const char *why = NULL;
		if (core_nat_net_parse(bad[i], &n, &why) == 0)
			fail_msg("'%s' taken as a network", bad[i]);
		assert_non_null(why);
	}
	struct core_nat_net n;
	const char *why;
	char back[64];
	assert_int_equal(core_nat_net_parse("fd00::/8", &n, &why), 0);
	core_nat_net_str(&n, back, sizeof(back));
	assert_string_equal(back, "fd00::/8");
}

static void test_host_and_port(void **state)
{
	(void)state;
	char host[CORE_NAT_HOST_MAX];
	int port = 0;
	const char *why;
	assert_int_equal(core_nat_hostport_parse("stun.example.org:19302", 0, host, &port, &why),
			 0);
	assert_string_equal(host, "stun.example.org");
	assert_int_equal(port, 19302);
	assert_int_equal(core_nat_hostport_parse("[2001:db8::1]:3478", 0, host, &port, &why), 0);
	assert_string_equal(host, "2001:db8::1");
	assert_int_equal(core_nat_hostport_parse("198.18.77.9", 3478, host, &port, &why), 0);
	assert_int_equal(port, 3478);
	static const char *const bad[] = {"",
					  ":3478",
					  "stun.example:0",
					  "stun.example:65536",
					  "stun.example:x",
					  "2001:db8::1:3478",
					  "[2001:db8::1",
					  "[stun.example]:3478",
					  "bad_name:3478",
					  "a..b:1",
					  "stun.example:3478 "};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (core_nat_hostport_parse(bad[i], 3478, host, &port, &why) == 0)
			fail_msg("'%s' taken as host:port", bad[i]);
	assert_int_equal(core_nat_hostport_parse("stun.example", 0, host, &port, &why), -1);
}

static int check(const char *text, char *err)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	assert_non_null(j);
	int r = core_nat_config_check(j, err, 256);
	json_decref(j);
	return r;
}

static void test_settings_are_checked_with_clear_messages(void **state)
{
	(void)state;
	char err[256];
	assert_int_equal(check("{\"external_address\": \"203.0.113.5\"}", err), 0);
	assert_int_equal(check("{\"external_address\": \"2001:db8::5\", \"local_networks\": "
			       "[\"10.0.0.0/8\", \"fd00::/8\"]}",
			       err),
			 0);
	assert_int_equal(check("{\"stun_server\": \"stun.example.org:3478\"}", err), 0);
	assert_int_equal(check("{\"stun_server\": \"198.18.77.9\"}", err), 0);
	static const struct {
		const char *body, *says;
	} bad[] = {
		{"{}", "either"},
		{"[]", "give"},
		{"{\"external_address\": \"203.0.113.5\", \"stun_server\": \"s.example:1\"}",
		 "either"},
		{"{\"external_address\": \"203.0.113\"}", "not an IPv4 or IPv6 address"},
		{"{\"external_address\": \"0.0.0.0\"}", "wildcard"},
		{"{\"external_address\": \"127.0.0.1\"}", "loopback"},
		{"{\"external_address\": \"::1\"}", "loopback"},
		{"{\"external_address\": \"224.0.0.1\"}", "multicast"},
		{"{\"external_address\": 5}", "external_address: a string"},
		{"{\"stun_server\": \"stun.example:99999\"}", "1-65535"},
		{"{\"stun_server\": \"2001:db8::1:3478\"}", "brackets"},
		{"{\"external_address\": \"203.0.113.5\", \"local_networks\": \"10.0.0.0/8\"}",
		 "local_networks: a list"},
		{"{\"external_address\": \"203.0.113.5\", \"local_networks\": [\"10.0.0.1/8\"]}",
		 "host bits"},
		{"{\"external_address\": \"203.0.113.5\", \"local_networks\": [8]}", "strings"},
		{"{\"external_address\": \"203.0.113.5\", \"mode\": \"x\"}",
		 "mode: no such setting"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (check(bad[i].body, err) == 0)
			fail_msg("%s taken", bad[i].body);
		if (!strstr(err, bad[i].says))
			fail_msg("%s: '%s' does not say '%s'", bad[i].body, err, bad[i].says);
	}
	/* at most CORE_NAT_MAX_NETS - 2 networks */
	json_t *j = json_pack("{s:s, s:[]}", "external_address", "203.0.113.5", "local_networks");
	for (int i = 0; i < CORE_NAT_MAX_NETS - 2; i++)
		json_array_append_new(json_object_get(j, "local_networks"),
				      json_string("10.0.0.0/8"));
	assert_int_equal(core_nat_config_check(j, err, sizeof(err)), 0);
	json_array_append_new(json_object_get(j, "local_networks"), json_string("10.0.0.0/8"));
	assert_int_equal(core_nat_config_check(j, err, sizeof(err)), -1);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_networks_contain_their_addresses_only),
		cmocka_unit_test(test_ipv6_networks_and_mapped_ipv4),
		cmocka_unit_test(test_networks_that_are_none_are_refused),
		cmocka_unit_test(test_host_and_port),
		cmocka_unit_test(test_settings_are_checked_with_clear_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
