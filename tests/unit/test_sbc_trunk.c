/* The SBC's trunk table (sbc_trunk): the key of Contract A2, literal
 * addresses, lookups by key, address and id, the targets to send to, and
 * names resolved (from /etc/hosts) into the table, kept over a reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include <event2/event.h>

#include "../../src/sbc/sbc_dns.h"
#include "../../src/sbc/sbc_trunk.h"

static void test_key_is_contract_a2(void **state)
{
	(void)state;
	char key[SBC_TRUNK_KEY_LEN + 1];
	sbc_trunk_key("acme", 7, key);
	/* python3: "z" + sha256(b"zentrale-trunk:acme/7").hexdigest()[:16] */
	assert_string_equal(key, "zfbbade80600577fc");
	assert_int_equal(strlen(key), SBC_TRUNK_KEY_LEN);
	char other[SBC_TRUNK_KEY_LEN + 1];
	sbc_trunk_key("acme", 8, other);
	assert_string_not_equal(key, other);
}

static void test_literals(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[64];
	assert_int_equal(sbc_trunk_literal("198.51.100.7", 5060, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 5060);
	assert_int_equal(sbc_trunk_literal("127.0.0.1:5070", 5060, &ss, &len), 0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 5070);
	assert_int_equal(sbc_trunk_literal("[2001:db8::1]:5061", 5060, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::1");
	assert_int_equal(sbc_trunk_literal("[::1]", 5061, &ss, &len), 0);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 5061);
	static const char *const bad[] = {"sip.carrier.example",
					  "carrier.example:5060",
					  "::1",
					  "1.2.3.4:0",
					  "1.2.3.4:65536",
					  "1.2.3.4:",
					  "[::1",
					  "[::1]x",
					  "",
					  "[1.2.3.4]",
					  "1.2.3.4:5x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(sbc_trunk_literal(bad[i], 5060, &ss, &len), -1);
}

static struct core_state_trunk trunk(int64_t id, const char *peer, bool enabled)
{
	struct core_state_trunk t = {.id = id, .kind = CORE_TRUNK_PEER, .enabled = enabled};
	snprintf(t.peers[t.npeers++], sizeof(t.peers[0]), "%s", peer);
	return t;
}

static void test_table(void **state)
{
	(void)state;
	struct core_state_trunk a[3] = {trunk(7, "127.0.0.1:5070", true),
					trunk(8, "sip.carrier.example", true),
					trunk(9, "192.0.2.9", false)};
	snprintf(a[0].peers[a[0].npeers++], sizeof(a[0].peers[0]), "[2001:db8::7]");
	struct core_state_trunk b[1] = {trunk(7, "127.0.0.1", true)};
	struct core_state_ps ps[2] = {{.name = "acme", .trunks = a, .ntrunks = 3},
				      {.name = "beta", .trunks = b, .ntrunks = 1}};
	struct core_state st = {.phone_systems = ps, .nphone_systems = 2};
	struct sbc_trunks *tt = sbc_trunks_new();
	assert_non_null(tt);
	assert_null(sbc_trunks_by_key(tt, "zfbbade80600577fc", SBC_TRUNK_KEY_LEN));
	assert_int_equal(sbc_trunks_load(tt, &st), 0);
	assert_int_equal(sbc_trunks_count(tt), 3); /* the disabled one left out */

	const struct sbc_trunk *k = sbc_trunks_by_key(tt, "zfbbade80600577fc", SBC_TRUNK_KEY_LEN);
	assert_non_null(k);
	assert_string_equal(k->ps, "acme");
	assert_int_equal(k->t.id, 7);
	assert_int_equal(k->naddrs, 2);
	assert_null(sbc_trunks_by_key(tt, "zfbbade80600577fd", SBC_TRUNK_KEY_LEN));
	assert_null(sbc_trunks_by_key(tt, "zfbbade80600577f", SBC_TRUNK_KEY_LEN - 1));
	assert_ptr_equal(sbc_trunks_by_id(tt, "acme", 7), k);
	assert_null(sbc_trunks_by_id(tt, "acme", 9));
	const struct sbc_trunk *named = sbc_trunks_by_id(tt, "acme", 8);
	assert_non_null(named);
	assert_int_equal(named->naddrs, 0);
	assert_int_equal(named->nunresolved, 1);

	/* by address: any port; the first trunk wins when two share it */
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(40000)};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_ptr_equal(sbc_trunks_by_addr(tt, (struct sockaddr *)&sin), k);
	inet_pton(AF_INET, "192.0.2.9", &sin.sin_addr);
	assert_null(sbc_trunks_by_addr(tt, (struct sockaddr *)&sin));
	inet_pton(AF_INET, "127.0.0.2", &sin.sin_addr);
	assert_null(sbc_trunks_by_addr(tt, (struct sockaddr *)&sin));
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(5060)};
	inet_pton(AF_INET6, "2001:db8::7", &s6.sin6_addr);
	assert_ptr_equal(sbc_trunks_by_addr(tt, (struct sockaddr *)&s6), k);

	/* reloaded without acme: only beta's */
	st.phone_systems = &ps[1];
	st.nphone_systems = 1;
	assert_int_equal(sbc_trunks_load(tt, &st), 0);
	assert_int_equal(sbc_trunks_count(tt), 1);
	assert_null(sbc_trunks_by_key(tt, "zfbbade80600577fc", SBC_TRUNK_KEY_LEN));
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	k = sbc_trunks_by_addr(tt, (struct sockaddr *)&sin);
	assert_non_null(k);
	assert_string_equal(k->ps, "beta");
	st.nphone_systems = 0;
	assert_int_equal(sbc_trunks_load(tt, &st), 0);
	assert_null(sbc_trunks_by_addr(tt, (struct sockaddr *)&sin));
	sbc_trunks_free(tt);
}

static void test_targets_are_proxy_then_peers(void **state)
{
	(void)state;
	struct core_state_trunk a = trunk(7, "192.0.2.21", true);
	snprintf(a.proxy, sizeof(a.proxy), "192.0.2.20:5070");
	snprintf(a.domain, sizeof(a.domain), "192.0.2.30");
	struct core_state_ps ps = {.name = "acme", .trunks = &a, .ntrunks = 1};
	struct core_state st = {.phone_systems = &ps, .nphone_systems = 1};
	struct sbc_trunks *tt = sbc_trunks_new();
	assert_int_equal(sbc_trunks_load(tt, &st), 0);
	const struct sbc_trunk *k = sbc_trunks_by_id(tt, "acme", 7);
	struct sockaddr_storage out[4];
	socklen_t lens[4];
	char buf[64];
	assert_int_equal(sbc_trunk_targets(k, out, lens, 4), 2); /* not the domain */
	inet_ntop(AF_INET, &((struct sockaddr_in *)&out[0])->sin_addr, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.20");
	assert_int_equal(ntohs(((struct sockaddr_in *)&out[0])->sin_port), 5070);
	inet_ntop(AF_INET, &((struct sockaddr_in *)&out[1])->sin_addr, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.21");
	assert_int_equal(lens[1], sizeof(struct sockaddr_in));
	assert_int_equal(sbc_trunk_targets(k, out, lens, 1), 1);
	/* the domain beside the proxy is a carrier's address all the same */
	struct sockaddr_in sin = {.sin_family = AF_INET};
	inet_pton(AF_INET, "192.0.2.30", &sin.sin_addr);
	assert_ptr_equal(sbc_trunks_by_addr(tt, (struct sockaddr *)&sin), k);
	sbc_trunks_free(tt);
}

static void test_names_resolved_into_the_table(void **state)
{
	(void)state;
	setenv("ZENTRALE_TEST_DNS_SERVER", "127.0.0.1:9", 1); /* /etc/hosts only */
	struct event_base *base = event_base_new();
	struct sbc_dns *dns = sbc_dns_new(base);
	assert_non_null(dns);
	struct core_state_trunk a = trunk(7, "localhost:5070", true);
	snprintf(a.domain, sizeof(a.domain), "192.0.2.40");
	struct core_state_ps ps = {.name = "acme", .trunks = &a, .ntrunks = 1};
	struct core_state st = {.phone_systems = &ps, .nphone_systems = 1};
	struct sbc_trunks *tt = sbc_trunks_new();
	sbc_trunks_set_dns(tt, dns, base);
	assert_int_equal(sbc_trunks_load(tt, &st), 0);
	const struct sbc_trunk *k = sbc_trunks_by_id(tt, "acme", 7);
	assert_int_equal(k->nunresolved, 1); /* the answer comes from the loop */
	struct sockaddr_in sin = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_null(sbc_trunks_by_addr(tt, (struct sockaddr *)&sin));
	for (int i = 0; i < 1000 && k->nunresolved; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(k->nunresolved, 0);
	struct sockaddr_storage out[8];
	socklen_t lens[8];
	int n = sbc_trunk_targets(k, out, lens, 8);
	assert_true(n >= 2); /* the domain, then localhost's */
	assert_int_equal(ntohs(((struct sockaddr_in *)&out[1])->sin_port), 5070);
	assert_ptr_equal(sbc_trunks_by_addr(tt, (struct sockaddr *)&sin), k);

	/* rebuilt (another state): the name keeps its addresses at once */
	assert_int_equal(sbc_trunks_load(tt, &st), 0);
	k = sbc_trunks_by_id(tt, "acme", 7);
	assert_int_equal(k->nunresolved, 0);
	assert_ptr_equal(sbc_trunks_by_addr(tt, (struct sockaddr *)&sin), k);
	/* a new name's look-up, then the trunk gone: cancelled, nothing left */
	snprintf(a.peers[1], sizeof(a.peers[1]), "localhost:5071");
	a.npeers = 2;
	assert_int_equal(sbc_trunks_load(tt, &st), 0);
	st.nphone_systems = 0;
	assert_int_equal(sbc_trunks_load(tt, &st), 0);
	assert_null(sbc_trunks_by_addr(tt, (struct sockaddr *)&sin));
	event_base_dispatch(base); /* idle: no look-up or timer left */
	sbc_trunks_free(tt);
	sbc_dns_free(dns);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_is_contract_a2),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_targets_are_proxy_then_peers),
		cmocka_unit_test(test_names_resolved_into_the_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
