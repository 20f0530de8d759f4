/* The SBC's one NAT decision (sbc_nat): which address a peer is told —
 * the external one for peers outside the interface's inside networks,
 * our own for those inside and on loopback, and for interfaces without
 * NAT settings; the port always ours. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/core/core_net.h"
#include "../../src/sbc/sbc_nat.h"

static struct sockaddr_storage sa(const char *ip, int port)
{
	struct sockaddr_storage ss;
	assert_int_equal(core_nat_ip_parse(ip, &ss), 0);
	core_net_ss_set_port(&ss, port);
	return ss;
}

static void net(struct core_nat_net *n, const char *s)
{
	const char *why;
	assert_int_equal(core_nat_net_parse(s, n, &why), 0);
}

/* lan0: 10.77.0.2 in 10.77.0.0/24, external 198.18.77.1; v6: 2001:db8::2
 * in fd00::/8 and 2001:db8::/64, external 2001:db8:ffff::1. */
static struct sbc_nat *table(struct event_base *base)
{
	struct sbc_nat *n = sbc_nat_new(base);
	struct core_state_nat c[2];
	memset(c, 0, sizeof(c));
	snprintf(c[0].interface, sizeof(c[0].interface), "lan0");
	snprintf(c[0].external, sizeof(c[0].external), "198.18.77.1");
	net(&c[0].addrs[c[0].naddrs++], "10.77.0.2");
	net(&c[0].inside[c[0].ninside++], "10.77.0.0/24");
	net(&c[0].inside[c[0].ninside++], "192.168.0.0/16");
	snprintf(c[1].interface, sizeof(c[1].interface), "lan6");
	snprintf(c[1].external, sizeof(c[1].external), "2001:db8:ffff::1");
	net(&c[1].addrs[c[1].naddrs++], "2001:db8::2");
	net(&c[1].inside[c[1].ninside++], "2001:db8::/64");
	net(&c[1].inside[c[1].ninside++], "fd00::/8");
	sbc_nat_configure(n, c, 2);
	return n;
}

static char *told(const struct sbc_nat *n, const char *local, int port, const char *peer)
{
	static char out[80];
	struct sockaddr_storage l = sa(local, port), p = sa(peer, 5060), a;
	sbc_nat_advertise(n, &l, &p, &a);
	char addr[CORE_NET_ADDR_LEN];
	core_net_addr_str((struct sockaddr *)&a, addr, sizeof(addr));
	snprintf(out, sizeof(out), "%s %d", addr, core_net_ss_port(&a));
	return out;
}

static void test_outside_peers_get_the_external_address_with_our_port(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct sbc_nat *n = table(base);
	assert_string_equal(told(n, "10.77.0.2", 5062, "198.18.77.9"), "198.18.77.1 5062");
	assert_string_equal(told(n, "10.77.0.2", 30000, "8.8.8.8"), "198.18.77.1 30000");
	/* a dual-stack socket's IPv4 peer and local address */
	assert_string_equal(told(n, "::ffff:10.77.0.2", 5060, "::ffff:198.18.77.9"),
			    "198.18.77.1 5060");
	assert_string_equal(told(n, "2001:db8::2", 5061, "2001:db8:1::9"), "2001:db8:ffff::1 5061");
	sbc_nat_free(n);
	event_base_free(base);
}

static void test_inside_and_loopback_peers_keep_our_own_address(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct sbc_nat *n = table(base);
	assert_string_equal(told(n, "10.77.0.2", 5060, "10.77.0.20"), "10.77.0.2 5060");
	assert_string_equal(told(n, "10.77.0.2", 5060, "192.168.4.4"), "10.77.0.2 5060");
	assert_string_equal(told(n, "10.77.0.2", 5060, "127.0.0.1"), "10.77.0.2 5060");
	assert_string_equal(told(n, "::ffff:10.77.0.2", 5060, "::ffff:10.77.0.9"),
			    "10.77.0.2 5060");
	assert_string_equal(told(n, "2001:db8::2", 5061, "fd12::1"), "2001:db8::2 5061");
	assert_string_equal(told(n, "2001:db8::2", 5061, "2001:db8::77"), "2001:db8::2 5061");
	assert_string_equal(told(n, "2001:db8::2", 5061, "::1"), "2001:db8::2 5061");
	sbc_nat_free(n);
	event_base_free(base);
}

static void test_interfaces_without_nat_and_no_table_keep_our_address(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct sbc_nat *n = table(base);
	/* an address of no interface with NAT settings */
	assert_string_equal(told(n, "10.99.0.2", 5060, "198.18.77.9"), "10.99.0.2 5060");
	assert_string_equal(told(NULL, "10.77.0.2", 5060, "198.18.77.9"), "10.77.0.2 5060");
	/* an external address of the other family is not used */
	struct core_state_nat c;
	memset(&c, 0, sizeof(c));
	snprintf(c.interface, sizeof(c.interface), "lan0");
	snprintf(c.external, sizeof(c.external), "2001:db8:ffff::1");
	net(&c.addrs[c.naddrs++], "10.77.0.2");
	sbc_nat_configure(n, &c, 1);
	assert_string_equal(told(n, "10.77.0.2", 5060, "198.18.77.9"), "10.77.0.2 5060");
	/* off: our own address again */
	sbc_nat_configure(n, NULL, 0);
	assert_string_equal(told(n, "2001:db8::2", 5061, "2001:db8:1::9"), "2001:db8::2 5061");
	sbc_nat_free(n);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outside_peers_get_the_external_address_with_our_port),
		cmocka_unit_test(test_inside_and_loopback_peers_keep_our_own_address),
		cmocka_unit_test(test_interfaces_without_nat_and_no_table_keep_our_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
