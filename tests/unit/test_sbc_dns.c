/* The SBC's resolver (sbc_dns): the TTL of a DNS answer (pure), targets
 * as the log shows them, and the query life cycle on a real event loop
 * without a DNS server — literals, /etc/hosts, a server that refuses,
 * cancelling, and freeing with queries running. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <event2/event.h>
#include <netinet/in.h>

#include "../../src/sbc/sbc_dns.h"
#include "../../src/sip/sip_locate.h"

/* An SRV answer for _sip._udp.a: header, question, two answers (TTL 300
 * and 60, the second name compressed). */
static const unsigned char srv_reply[] = {
	0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
	/* question: _sip._udp.a SRV IN */
	4, '_', 's', 'i', 'p', 4, '_', 'u', 'd', 'p', 1, 'a', 0, 0, 33, 0, 1,
	/* answer 1: name, SRV IN, TTL 300, rdlength 9 */
	4, '_', 's', 'i', 'p', 4, '_', 'u', 'd', 'p', 1, 'a', 0, 0, 33, 0, 1, 0, 0, 1, 44, 0, 9, 0,
	10, 0, 0, 0x13, 0xc4, 1, 'b', 0,
	/* answer 2: pointer to the question's name, TTL 60 */
	0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 60, 0, 9, 0, 20, 0, 0, 0x13, 0xc4, 1, 'c', 0};

static void test_answer_ttl_is_the_smallest(void **state)
{
	(void)state;
	uint32_t ttl = 0;
	assert_int_equal(sbc_dns_answer_ttl(srv_reply, sizeof(srv_reply), &ttl), 0);
	assert_int_equal(ttl, 60);
}

static void test_answer_ttl_refuses_what_runs_out(void **state)
{
	(void)state;
	uint32_t ttl = 7;
	for (size_t n = 0; n < sizeof(srv_reply); n++)
		assert_int_equal(sbc_dns_answer_ttl(srv_reply, n, &ttl), -1);
	assert_int_equal(ttl, 7);
	/* no answers */
	unsigned char none[sizeof(srv_reply)];
	memcpy(none, srv_reply, sizeof(none));
	none[7] = 0;
	assert_int_equal(sbc_dns_answer_ttl(none, sizeof(none), &ttl), -1);
	/* a reserved label type */
	unsigned char bad[sizeof(srv_reply)];
	memcpy(bad, srv_reply, sizeof(bad));
	bad[12] = 0x80;
	assert_int_equal(sbc_dns_answer_ttl(bad, sizeof(bad), &ttl), -1);
	/* a label of 63 bytes running past the end */
	unsigned char longl[14] = {0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 63, 'x'};
	assert_int_equal(sbc_dns_answer_ttl(longl, sizeof(longl), &ttl), -1);
	assert_int_equal(sbc_dns_answer_ttl(NULL, 0, &ttl), -1);
}

static void test_target_str(void **state)
{
	(void)state;
	struct sbc_dns_target t = {.tp = SIP_LOCATE_TCP};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&t.ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(5081);
	inet_pton(AF_INET, "192.0.2.1", &s4->sin_addr);
	char buf[80];
	sbc_dns_target_str(&t, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.1:5081/tcp");
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&t.ss;
	memset(&t, 0, sizeof(t));
	t.tp = SIP_LOCATE_TLS;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(5061);
	inet_pton(AF_INET6, "2001:db8::1", &s6->sin6_addr);
	sbc_dns_target_str(&t, buf, sizeof(buf));
	assert_string_equal(buf, "[2001:db8::1]:5061/tls");
}

struct answer {
	int calls, n, ttl;
	char first[80];
	char why[128];
};

static void on_answer(void *arg, const struct sbc_dns_target *t, int n, int ttl, const char *why)
{
	struct answer *a = arg;
	a->calls++;
	a->n = n;
	a->ttl = ttl;
	if (n)
		sbc_dns_target_str(&t[0], a->first, sizeof(a->first));
	snprintf(a->why, sizeof(a->why), "%s", why ? why : "");
}

/* The loop until a's answer came (c-ares' timer bounds each turn). */
static void run(struct event_base *base, const struct answer *a)
{
	for (int i = 0; i < 10000 && !a->calls; i++)
		event_base_loop(base, EVLOOP_ONCE);
}

static void test_literal_and_hosts_file_answer_from_the_loop(void **state)
{
	(void)state;
	setenv("ZENTRALE_TEST_DNS_SERVER", "127.0.0.1:9", 1);
	struct event_base *base = event_base_new();
	struct sbc_dns *dns = sbc_dns_new(base);
	assert_non_null(dns);
	struct answer a = {0};
	const char *why = NULL;
	assert_non_null(sbc_dns_resolve(dns, "192.0.2.7", SIP_LOCATE_TLS, on_answer, &a, &why));
	assert_int_equal(a.calls, 0); /* never from within sbc_dns_resolve */
	run(base, &a);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.first, "192.0.2.7:5061/tls");
	assert_int_equal(a.ttl, SBC_DNS_MAX_TTL);

	/* /etc/hosts answers before c-ares returns: still from the loop */
	memset(&a, 0, sizeof(a));
	assert_non_null(
		sbc_dns_resolve(dns, "localhost:5070", SIP_LOCATE_UDP, on_answer, &a, &why));
	assert_int_equal(a.calls, 0);
	run(base, &a);
	assert_int_equal(a.calls, 1);
	assert_true(a.n >= 1);
	assert_true(strcmp(a.first, "127.0.0.1:5070/udp") == 0 ||
		    strcmp(a.first, "[::1]:5070/udp") == 0);
	assert_true(a.ttl >= SBC_DNS_MIN_TTL && a.ttl <= SBC_DNS_MAX_TTL);

	/* not a host */
	why = NULL;
	assert_null(sbc_dns_resolve(dns, "bad host", SIP_LOCATE_UDP, on_answer, &a, &why));
	assert_non_null(why);
	sbc_dns_free(dns);
	event_base_free(base);
}

static void test_refused_server_fails_once_with_a_reason(void **state)
{
	(void)state;
	setenv("ZENTRALE_TEST_DNS_SERVER", "127.0.0.1:9", 1);
	struct event_base *base = event_base_new();
	struct sbc_dns *dns = sbc_dns_new(base);
	struct answer a = {0}, b = {0};
	const char *why;
	assert_non_null(
		sbc_dns_resolve(dns, "sip.carrier.invalid", SIP_LOCATE_UDP, on_answer, &a, &why));
	/* cancelled: never called, its memory goes when c-ares is done */
	struct sbc_dns_query *q =
		sbc_dns_resolve(dns, "other.carrier.invalid", SIP_LOCATE_UDP, on_answer, &b, &why);
	assert_non_null(q);
	sbc_dns_cancel(q);
	run(base, &a);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.n, 0);
	assert_true(a.why[0] != '\0');
	assert_int_equal(a.ttl, SBC_DNS_MIN_TTL);
	event_base_dispatch(base); /* until idle: the cancelled one's lookup ended */
	assert_int_equal(b.calls, 0);
	/* freed with a query running: its callback is dropped */
	memset(&a, 0, sizeof(a));
	assert_non_null(sbc_dns_resolve(dns, "third.invalid", SIP_LOCATE_UDP, on_answer, &a, &why));
	assert_non_null(sbc_dns_resolve(dns, "192.0.2.1", SIP_LOCATE_UDP, on_answer, &a, &why));
	sbc_dns_free(dns);
	assert_int_equal(a.calls, 0);
	event_base_free(base);
}

static void test_min_ttl_lowered_for_tests_only_downwards(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	setenv("ZENTRALE_TEST_DNS_MIN_TTL", "1", 1);
	struct sbc_dns *dns = sbc_dns_new(base);
	assert_int_equal(sbc_dns_min_ttl(dns), 1);
	sbc_dns_free(dns);
	setenv("ZENTRALE_TEST_DNS_MIN_TTL", "600", 1);
	dns = sbc_dns_new(base);
	assert_int_equal(sbc_dns_min_ttl(dns), SBC_DNS_MIN_TTL);
	sbc_dns_free(dns);
	unsetenv("ZENTRALE_TEST_DNS_MIN_TTL");
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_ttl_is_the_smallest),
		cmocka_unit_test(test_answer_ttl_refuses_what_runs_out),
		cmocka_unit_test(test_target_str),
		cmocka_unit_test(test_literal_and_hosts_file_answer_from_the_loop),
		cmocka_unit_test(test_refused_server_fails_once_with_a_reason),
		cmocka_unit_test(test_min_ttl_lowered_for_tests_only_downwards),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
