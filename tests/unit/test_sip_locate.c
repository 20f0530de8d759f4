/* RFC 3263 server location, the pure part (sip_locate): parsing a target, the
 * first step, NAPTR and SRV ordering, transport filtering, malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sip/sip_locate.h"

static int parse(const char *s, int tp, struct sip_locate_target *t)
{
	return sip_locate_parse(s, strlen(s), tp, t);
}

static void test_numeric_host_is_the_address_with_default_port(void **state)
{
	(void)state;
	struct sip_locate_target t;
	assert_int_equal(parse("192.0.2.1", SIP_LOCATE_ANY, &t), 0);
	assert_int_equal(t.step, SIP_LOCATE_ADDR);
	assert_string_equal(t.host, "192.0.2.1");
	assert_int_equal(t.port, 5060);
	assert_int_equal(t.tp, SIP_LOCATE_UDP);
	assert_int_equal(t.family, 4);
	assert_int_equal(parse("192.0.2.1", SIP_LOCATE_TLS, &t), 0);
	assert_int_equal(t.port, 5061);
	assert_int_equal(t.tp, SIP_LOCATE_TLS);
	assert_int_equal(parse("[2001:db8::1]:5070", SIP_LOCATE_TCP, &t), 0);
	assert_int_equal(t.step, SIP_LOCATE_ADDR);
	assert_string_equal(t.host, "2001:db8::1");
	assert_int_equal(t.port, 5070);
	assert_int_equal(t.family, 6);
	assert_int_equal(parse("[::1]", SIP_LOCATE_ANY, &t), 0);
	assert_int_equal(t.port, 5060);
}

static void test_name_with_port_is_a_lookup(void **state)
{
	(void)state;
	struct sip_locate_target t;
	assert_int_equal(parse("sip.example.com:5080", SIP_LOCATE_ANY, &t), 0);
	assert_int_equal(t.step, SIP_LOCATE_HOST);
	assert_string_equal(t.host, "sip.example.com");
	assert_int_equal(t.port, 5080);
	assert_int_equal(t.tp, SIP_LOCATE_UDP);
	assert_int_equal(t.family, 0);
}

static void test_name_without_port_is_naptr(void **state)
{
	(void)state;
	struct sip_locate_target t;
	assert_int_equal(parse("example.com", SIP_LOCATE_TCP, &t), 0);
	assert_int_equal(t.step, SIP_LOCATE_NAPTR);
	assert_string_equal(t.host, "example.com");
	assert_int_equal(t.port, 0);
	assert_int_equal(t.tp, SIP_LOCATE_TCP);
	assert_int_equal(parse("example.com.", SIP_LOCATE_ANY, &t), 0);
	assert_int_equal(t.tp, SIP_LOCATE_ANY);
}

static void test_malformed_targets_are_refused(void **state)
{
	(void)state;
	struct sip_locate_target t;
	const char *bad[] = {"",
			     ":5060",
			     "example.com:",
			     "example.com:0",
			     "example.com:65536",
			     "example.com:50a",
			     "example.com:+5060",
			     "2001:db8::1",
			     "[2001:db8::1",
			     "[192.0.2.1]",
			     "[]",
			     "192.0.2.256",
			     "1.2.3",
			     "-a.example.com",
			     "a-.example.com",
			     "a..example.com",
			     ".example.com",
			     "ex ample.com",
			     "_sip.example.com",
			     "[::1]x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], SIP_LOCATE_ANY, &t), -1);
		assert_string_equal(t.host, "");
	}
	assert_int_equal(parse("example.com", 3, &t), -1); /* not one transport */
	assert_int_equal(sip_locate_parse("a\0b", 3, SIP_LOCATE_ANY, &t), -1);
}

static void test_long_names_are_errors_not_cut(void **state)
{
	(void)state;
	struct sip_locate_target t, out[3];
	char name[300];
	/* 63-character labels: 4 of them with dots is 255 > 253 */
	memset(name, 'a', sizeof(name));
	for (int i = 63; i < 300; i += 64)
		name[i] = '.';
	name[253] = '\0'; /* 253 characters, ending in a label */
	name[252] = 'b';
	assert_int_equal(parse(name, SIP_LOCATE_ANY, &t), 0);
	assert_int_equal(strlen(t.host), 253);
	name[253] = 'c';
	name[254] = '\0';
	assert_int_equal(parse(name, SIP_LOCATE_ANY, &t), -1);
	char label[70];
	memset(label, 'x', 64);
	label[64] = '\0';
	assert_int_equal(parse(label, SIP_LOCATE_ANY, &t), -1); /* a label over 63 */
	/* a name that fits, but not with _sips._tcp. in front */
	name[250] = '\0';
	assert_int_equal(sip_locate_srv_names(name, SIP_LOCATE_ALL, SIP_LOCATE_ANY, out, 3), -1);
}

static void test_naptr_order_then_preference(void **state)
{
	(void)state;
	struct sip_locate_naptr rr[] = {
		{50, 50, "s", "SIPS+D2T", "_sips._tcp.example.com"},
		{90, 50, "s", "SIP+D2T", "_sip._tcp.example.com"},
		{50, 10, "S", "sip+d2u", "_sip._udp.example.com"},
		{10, 10, "s", "E2U+sip", "_x.example.com"},	    /* not SIP */
		{10, 10, "a", "SIP+D2U", "a.example.com"},	    /* not flag s */
		{10, 10, "s", "SIP+D2S", "_sip._sctp.example.com"}, /* not known */
	};
	struct sip_locate_target out[8];
	int n = sip_locate_naptr(rr, 6, SIP_LOCATE_ALL, SIP_LOCATE_ANY, out, 8);
	assert_int_equal(n, 3);
	assert_string_equal(out[0].host, "_sip._udp.example.com");
	assert_int_equal(out[0].tp, SIP_LOCATE_UDP);
	assert_int_equal(out[0].step, SIP_LOCATE_SRV);
	assert_string_equal(out[1].host, "_sips._tcp.example.com");
	assert_int_equal(out[1].tp, SIP_LOCATE_TLS);
	assert_string_equal(out[2].host, "_sip._tcp.example.com");
	assert_int_equal(out[2].tp, SIP_LOCATE_TCP);
	/* cap bounds the result */
	assert_int_equal(sip_locate_naptr(rr, 6, SIP_LOCATE_ALL, SIP_LOCATE_ANY, out, 1), 1);
	assert_string_equal(out[0].host, "_sip._udp.example.com");
}

static void test_naptr_filters_by_transport(void **state)
{
	(void)state;
	struct sip_locate_naptr rr[] = {
		{10, 10, "s", "SIPS+D2T", "_sips._tcp.example.com"},
		{20, 10, "s", "SIP+D2T", "_sip._tcp.example.com"},
		{30, 10, "s", "SIP+D2U", "_sip._udp.example.com"},
	};
	struct sip_locate_target out[4];
	int n = sip_locate_naptr(rr, 3, SIP_LOCATE_UDP | SIP_LOCATE_TCP, SIP_LOCATE_ANY, out, 4);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].tp, SIP_LOCATE_TCP);
	assert_int_equal(out[1].tp, SIP_LOCATE_UDP);
	n = sip_locate_naptr(rr, 3, SIP_LOCATE_ALL, SIP_LOCATE_UDP, out, 4);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].host, "_sip._udp.example.com");
	assert_int_equal(sip_locate_naptr(rr, 3, SIP_LOCATE_UDP, SIP_LOCATE_TLS, out, 4), 0);
	assert_int_equal(sip_locate_naptr(NULL, 0, SIP_LOCATE_ALL, SIP_LOCATE_ANY, out, 4), 0);
}

static void test_naptr_bad_replacement_is_an_error(void **state)
{
	(void)state;
	struct sip_locate_naptr rr[] = {{10, 10, "s", "SIP+D2U", "bad name"}};
	struct sip_locate_target out[2];
	assert_int_equal(sip_locate_naptr(rr, 1, SIP_LOCATE_ALL, SIP_LOCATE_ANY, out, 2), -1);
	rr[0].replacement = NULL;
	assert_int_equal(sip_locate_naptr(rr, 1, SIP_LOCATE_ALL, SIP_LOCATE_ANY, out, 2), -1);
	rr[0].service = NULL; /* an unusable record is skipped, not an error */
	assert_int_equal(sip_locate_naptr(rr, 1, SIP_LOCATE_ALL, SIP_LOCATE_ANY, out, 2), 0);
}

static void test_naptr_uses_at_most_16(void **state)
{
	(void)state;
	struct sip_locate_naptr rr[20];
	struct sip_locate_target out[20];
	for (int i = 0; i < 20; i++)
		rr[i] = (struct sip_locate_naptr){(uint16_t)(20 - i), 0, "s", "SIP+D2U",
						  "_sip._udp.example.com"};
	assert_int_equal(sip_locate_naptr(rr, 20, SIP_LOCATE_ALL, SIP_LOCATE_ANY, out, 20), 16);
}

static void test_srv_names_without_naptr(void **state)
{
	(void)state;
	struct sip_locate_target out[3];
	assert_int_equal(
		sip_locate_srv_names("example.com", SIP_LOCATE_ALL, SIP_LOCATE_ANY, out, 3), 3);
	assert_string_equal(out[0].host, "_sip._udp.example.com");
	assert_int_equal(out[0].tp, SIP_LOCATE_UDP);
	assert_string_equal(out[1].host, "_sip._tcp.example.com");
	assert_int_equal(out[1].tp, SIP_LOCATE_TCP);
	assert_string_equal(out[2].host, "_sips._tcp.example.com");
	assert_int_equal(out[2].tp, SIP_LOCATE_TLS);
	assert_int_equal(out[2].step, SIP_LOCATE_SRV);
	assert_int_equal(
		sip_locate_srv_names("example.com", SIP_LOCATE_ALL, SIP_LOCATE_TLS, out, 3), 1);
	assert_string_equal(out[0].host, "_sips._tcp.example.com");
	assert_int_equal(
		sip_locate_srv_names("example.com", SIP_LOCATE_TCP | SIP_LOCATE_TLS, 0, out, 3), 2);
	assert_string_equal(out[0].host, "_sip._tcp.example.com");
	assert_int_equal(sip_locate_srv_names("bad name", SIP_LOCATE_ALL, 0, out, 3), -1);
}

static void test_srv_by_priority(void **state)
{
	(void)state;
	struct sip_locate_srv rr[] = {
		{20, 0, 5060, "c.example.com"},
		{10, 0, 5062, "a.example.com"},
		{30, 0, 5063, "d.example.com"},
		{15, 0, 5061, "b.example.com"},
	};
	struct sip_locate_target out[4];
	uint32_t r = 0;
	assert_int_equal(sip_locate_srv_order(rr, 4, SIP_LOCATE_TCP, &r, 1, out, 4), 4);
	assert_string_equal(out[0].host, "a.example.com");
	assert_int_equal(out[0].port, 5062);
	assert_int_equal(out[0].tp, SIP_LOCATE_TCP);
	assert_int_equal(out[0].step, SIP_LOCATE_HOST);
	assert_string_equal(out[1].host, "b.example.com");
	assert_string_equal(out[2].host, "c.example.com");
	assert_string_equal(out[3].host, "d.example.com");
}

static void test_srv_weights_10_90(void **state)
{
	(void)state;
	struct sip_locate_srv rr[] = {
		{10, 10, 5060, "light.example.com"},
		{10, 90, 5060, "heavy.example.com"},
	};
	struct sip_locate_target out[2];
	/* r in 0..100 (sum inclusive, RFC 2782): light for 0..10, heavy for 11..100 */
	for (uint32_t r = 0; r <= 100; r++) {
		uint32_t rnd[2] = {r, 0};
		assert_int_equal(sip_locate_srv_order(rr, 2, SIP_LOCATE_UDP, rnd, 2, out, 2), 2);
		assert_string_equal(out[0].host,
				    r <= 10 ? "light.example.com" : "heavy.example.com");
		assert_string_equal(out[1].host,
				    r <= 10 ? "heavy.example.com" : "light.example.com");
	}
	uint32_t big = 101 + 11; /* reduced modulo sum + 1 */
	assert_int_equal(sip_locate_srv_order(rr, 2, SIP_LOCATE_UDP, &big, 1, out, 2), 2);
	assert_string_equal(out[0].host, "heavy.example.com");
}

static void test_srv_weight_zero_first_in_the_sum(void **state)
{
	(void)state;
	struct sip_locate_srv rr[] = {
		{10, 50, 5060, "w50.example.com"},
		{10, 0, 5060, "zero.example.com"},
		{20, 0, 5060, "later.example.com"},
	};
	struct sip_locate_target out[3];
	uint32_t r = 0; /* r = 0 takes the weight 0 record (placed first) */
	assert_int_equal(sip_locate_srv_order(rr, 3, SIP_LOCATE_UDP, &r, 1, out, 3), 3);
	assert_string_equal(out[0].host, "zero.example.com");
	assert_string_equal(out[1].host, "w50.example.com");
	assert_string_equal(out[2].host, "later.example.com");
	r = 1;
	assert_int_equal(sip_locate_srv_order(rr, 3, SIP_LOCATE_UDP, &r, 1, out, 3), 3);
	assert_string_equal(out[0].host, "w50.example.com");
	assert_string_equal(out[1].host, "zero.example.com");
	/* all weight 0: kept in the resolver's order */
	struct sip_locate_srv z[] = {{1, 0, 1, "x.example.com"}, {1, 0, 2, "y.example.com"}};
	r = 7;
	assert_int_equal(sip_locate_srv_order(z, 2, SIP_LOCATE_UDP, &r, 1, out, 2), 2);
	assert_string_equal(out[0].host, "x.example.com");
	assert_int_equal(sip_locate_srv_order(z, 2, SIP_LOCATE_UDP, NULL, 0, out, 2), 2);
	assert_string_equal(out[1].host, "y.example.com");
}

static void test_srv_dot_means_no_service(void **state)
{
	(void)state;
	struct sip_locate_srv rr[] = {{0, 0, 5060, "."}};
	struct sip_locate_target out[2], t;
	assert_int_equal(sip_locate_srv_order(rr, 1, SIP_LOCATE_UDP, NULL, 0, out, 2), 0);
	rr[0].target = "bad..name";
	assert_int_equal(sip_locate_srv_order(rr, 1, SIP_LOCATE_UDP, NULL, 0, out, 2), -1);
	assert_int_equal(sip_locate_srv_order(rr, 1, SIP_LOCATE_ANY, NULL, 0, out, 2), -1);
	/* without SRV: A/AAAA with the default port */
	assert_int_equal(sip_locate_host("example.com", SIP_LOCATE_TLS, &t), 0);
	assert_int_equal(t.step, SIP_LOCATE_HOST);
	assert_int_equal(t.port, 5061);
	assert_int_equal(sip_locate_host("example.com", SIP_LOCATE_ANY, &t), 0);
	assert_int_equal(t.port, 5060);
	assert_int_equal(t.tp, SIP_LOCATE_UDP);
	assert_int_equal(sip_locate_host("", SIP_LOCATE_ANY, &t), -1);
}

static void test_srv_uses_at_most_16(void **state)
{
	(void)state;
	struct sip_locate_srv rr[20];
	struct sip_locate_target out[20];
	for (int i = 0; i < 20; i++)
		rr[i] = (struct sip_locate_srv){(uint16_t)i, 1, 5060, "a.example.com"};
	assert_int_equal(sip_locate_srv_order(rr, 20, SIP_LOCATE_UDP, NULL, 0, out, 20), 16);
	assert_int_equal(sip_locate_srv_order(rr, 20, SIP_LOCATE_UDP, NULL, 0, out, 3), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numeric_host_is_the_address_with_default_port),
		cmocka_unit_test(test_name_with_port_is_a_lookup),
		cmocka_unit_test(test_name_without_port_is_naptr),
		cmocka_unit_test(test_malformed_targets_are_refused),
		cmocka_unit_test(test_long_names_are_errors_not_cut),
		cmocka_unit_test(test_naptr_order_then_preference),
		cmocka_unit_test(test_naptr_filters_by_transport),
		cmocka_unit_test(test_naptr_bad_replacement_is_an_error),
		cmocka_unit_test(test_naptr_uses_at_most_16),
		cmocka_unit_test(test_srv_names_without_naptr),
		cmocka_unit_test(test_srv_by_priority),
		cmocka_unit_test(test_srv_weights_10_90),
		cmocka_unit_test(test_srv_weight_zero_first_in_the_sum),
		cmocka_unit_test(test_srv_dot_means_no_service),
		cmocka_unit_test(test_srv_uses_at_most_16),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
