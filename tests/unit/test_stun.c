/* The STUN codec (src/stun): Binding requests built, answers parsed, with
 * the RFC 5769 test vectors and malformed messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "../../src/stun/stun.h"

static const uint8_t tid[STUN_TID_LEN] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
					  0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

/* RFC 5769 §2.2: IPv4 response, 192.0.2.1:32853. */
static const uint8_t v4[] = {0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
			     0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
			     0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
			     0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
			     0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
			     0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
			     0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};

/* RFC 5769 §2.3: IPv6 response, [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const uint8_t v6[] = {0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
			     0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
			     0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
			     0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
			     0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
			     0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
			     0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
			     0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c};

/* A header for type with body length blen, this test's transaction. */
static size_t hdr(uint8_t *m, uint16_t type, uint16_t blen)
{
	m[0] = (uint8_t)(type >> 8);
	m[1] = (uint8_t)type;
	m[2] = (uint8_t)(blen >> 8);
	m[3] = (uint8_t)blen;
	m[4] = 0x21, m[5] = 0x12, m[6] = 0xa4, m[7] = 0x42;
	memcpy(m + 8, tid, STUN_TID_LEN);
	return STUN_HDR_LEN;
}

static int parse(const uint8_t *m, size_t len, struct stun_answer *a, const char **why)
{
	*why = NULL;
	return stun_parse_answer(m, len, tid, a, why);
}

static void test_rfc5769_ipv4_response_gives_mapped_address(void **state)
{
	(void)state;
	struct stun_answer a;
	const char *why;
	assert_int_equal(parse(v4, sizeof(v4), &a, &why), 0);
	assert_int_equal(a.kind, STUN_BINDING_SUCCESS);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.mapped;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 32853);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xc0000201u);
	assert_true(stun_is_message(v4, sizeof(v4)));
}

static void test_rfc5769_ipv6_response_gives_mapped_address(void **state)
{
	(void)state;
	struct stun_answer a;
	const char *why;
	struct in6_addr want;
	assert_int_equal(parse(v6, sizeof(v6), &a, &why), 0);
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.mapped;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 32853);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677", &want), 1);
	assert_memory_equal(&sin6->sin6_addr, &want, 16);
}

static void test_binding_request_has_header_and_software(void **state)
{
	(void)state;
	uint8_t buf[64];
	const char *why;
	int n = stun_binding_request(buf, sizeof(buf), tid, "test vector", &why);
	assert_int_equal(n, 20 + 4 + 12);
	assert_int_equal(buf[0], 0x00);
	assert_int_equal(buf[1], 0x01);
	assert_int_equal(buf[2] << 8 | buf[3], 16);
	assert_memory_equal(buf + 4, "\x21\x12\xa4\x42", 4);
	assert_memory_equal(buf + 8, tid, STUN_TID_LEN);
	assert_memory_equal(buf + 20, "\x80\x22\x00\x0btest vector\0", 16);
	assert_true(stun_is_message(buf, (size_t)n));

	assert_int_equal(stun_binding_request(buf, sizeof(buf), tid, NULL, &why), 20);
	assert_int_equal(buf[3], 0);
}

static void test_binding_request_that_does_not_fit_fails(void **state)
{
	(void)state;
	uint8_t buf[30];
	char big[STUN_SOFTWARE_MAX + 2];
	const char *why = NULL;
	assert_int_equal(stun_binding_request(buf, 19, tid, NULL, &why), -1);
	assert_non_null(why);
	assert_int_equal(stun_binding_request(buf, sizeof(buf), tid, "test vector", &why), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	uint8_t large[1024];
	assert_int_equal(stun_binding_request(large, sizeof(large), tid, big, &why), -1);
}

static void test_error_response_gives_code_and_reason(void **state)
{
	(void)state;
	uint8_t m[64];
	struct stun_answer a;
	const char *why;
	/* 420 with a 7-byte reason, padded to 8. */
	size_t n = hdr(m, 0x0111, 4 + 12);
	memcpy(m + n, "\x00\x09\x00\x0b\x00\x00\x04\x14", 8);
	memcpy(m + n + 8, "Unknown\0", 8);
	assert_int_equal(parse(m, n + 16, &a, &why), 0);
	assert_int_equal(a.kind, STUN_BINDING_ERROR);
	assert_int_equal(a.error_code, 420);
	assert_int_equal(a.reason.len, 7);
	assert_memory_equal(a.reason.p, "Unknown", 7);
}

static void test_mapped_address_is_used_without_xor(void **state)
{
	(void)state;
	uint8_t m[64];
	struct stun_answer a;
	const char *why;
	size_t n = hdr(m, 0x0101, 12);
	memcpy(m + n, "\x00\x01\x00\x08\x00\x01\x13\x88\xc6\x33\x64\x07", 12);
	assert_int_equal(parse(m, n + 12, &a, &why), 0);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.mapped;
	assert_int_equal(ntohs(sin->sin_port), 5000);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xc6336407u);
}

static void test_xor_mapped_address_is_preferred(void **state)
{
	(void)state;
	uint8_t m[64];
	struct stun_answer a;
	const char *why;
	size_t n = hdr(m, 0x0101, 24);
	memcpy(m + n, "\x00\x01\x00\x08\x00\x01\x13\x88\xc6\x33\x64\x07", 12);
	memcpy(m + n + 12, v4 + 36, 12);
	assert_int_equal(parse(m, n + 24, &a, &why), 0);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.mapped;
	assert_int_equal(ntohs(sin->sin_port), 32853);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xc0000201u);
}

static void test_unknown_optional_skipped_required_reported(void **state)
{
	(void)state;
	uint8_t m[64];
	struct stun_answer a;
	const char *why;
	size_t n = hdr(m, 0x0101, 8 + 12);
	memcpy(m + n, "\xc0\x57\x00\x03xyz\0", 8);
	memcpy(m + n + 8, v4 + 36, 12);
	assert_int_equal(parse(m, n + 20, &a, &why), 0);

	m[n] = 0x40; /* 0x4057: comprehension-required, unknown */
	assert_int_equal(parse(m, n + 20, &a, &why), -1);
	assert_string_equal(why, "unknown comprehension-required attribute");
	assert_int_equal(a.n_unknown, 1);
	assert_int_equal(a.unknown[0], 0x4057);
}

static void test_truncated_messages_are_rejected(void **state)
{
	(void)state;
	struct stun_answer a;
	const char *why;
	for (size_t len = 0; len < sizeof(v4); len++) {
		assert_int_equal(parse(v4, len, &a, &why), -1);
		assert_non_null(why);
	}
}

static void test_bad_cookie_is_not_stun(void **state)
{
	(void)state;
	uint8_t m[sizeof(v4)];
	struct stun_answer a;
	const char *why;
	memcpy(m, v4, sizeof(m));
	m[7] ^= 1;
	assert_int_equal(parse(m, sizeof(m), &a, &why), -1);
	assert_string_equal(why, "not a STUN message");
	assert_false(stun_is_message(m, sizeof(m)));
	memcpy(m, v4, sizeof(m));
	m[0] = 0x81; /* first two bits set: RTP, not STUN */
	assert_int_equal(parse(m, sizeof(m), &a, &why), -1);
}

static void test_bad_lengths_are_rejected(void **state)
{
	(void)state;
	uint8_t m[sizeof(v4) + 4] = {0};
	struct stun_answer a;
	const char *why;

	memcpy(m, v4, sizeof(v4));
	m[3] = 0x3d; /* not a multiple of 4 */
	assert_int_equal(parse(m, sizeof(v4), &a, &why), -1);
	assert_string_equal(why, "message length does not match");
	m[3] = 0x40; /* more than is there */
	assert_int_equal(parse(m, sizeof(v4), &a, &why), -1);
	m[3] = 0x3c; /* less than is there */
	assert_int_equal(parse(m, sizeof(v4) + 4, &a, &why), -1);

	memcpy(m, v4, sizeof(v4));
	m[23] = 0x39; /* SOFTWARE runs past the end */
	assert_int_equal(parse(m, sizeof(v4), &a, &why), -1);
	assert_string_equal(why, "attribute longer than the message");

	memcpy(m, v4, sizeof(v4));
	m[39] = 0x07; /* IPv4 XOR-MAPPED-ADDRESS of 7 bytes */
	assert_int_equal(parse(m, sizeof(v4), &a, &why), -1);
	assert_string_equal(why, "malformed XOR-MAPPED-ADDRESS");

	uint8_t t[64];
	size_t n = hdr(t, 0x0101, 4);
	memcpy(t + n, "\x80\x22\x00\x04", 4); /* value missing */
	assert_int_equal(parse(t, n + 4, &a, &why), -1);
}

static void test_wrong_transaction_id_is_rejected(void **state)
{
	(void)state;
	uint8_t m[sizeof(v4)];
	struct stun_answer a;
	const char *why;
	memcpy(m, v4, sizeof(m));
	m[19] ^= 0xff;
	assert_int_equal(parse(m, sizeof(m), &a, &why), -1);
	assert_string_equal(why, "another transaction");
}

static void test_not_a_binding_answer_is_rejected(void **state)
{
	(void)state;
	uint8_t m[64];
	struct stun_answer a;
	const char *why;
	size_t n = hdr(m, 0x0001, 0); /* a request */
	assert_int_equal(parse(m, n, &a, &why), -1);
	assert_string_equal(why, "not a Binding response");
	hdr(m, 0x0101, 0); /* success without an address */
	assert_int_equal(parse(m, n, &a, &why), -1);
	hdr(m, 0x0111, 0); /* error without ERROR-CODE */
	assert_int_equal(parse(m, n, &a, &why), -1);
	hdr(m, 0x0111, 8);
	memcpy(m + n, "\x00\x09\x00\x04\x00\x00\x07\x00", 8); /* class 7 */
	assert_int_equal(parse(m, n + 8, &a, &why), -1);
	assert_string_equal(why, "malformed ERROR-CODE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5769_ipv4_response_gives_mapped_address),
		cmocka_unit_test(test_rfc5769_ipv6_response_gives_mapped_address),
		cmocka_unit_test(test_binding_request_has_header_and_software),
		cmocka_unit_test(test_binding_request_that_does_not_fit_fails),
		cmocka_unit_test(test_error_response_gives_code_and_reason),
		cmocka_unit_test(test_mapped_address_is_used_without_xor),
		cmocka_unit_test(test_xor_mapped_address_is_preferred),
		cmocka_unit_test(test_unknown_optional_skipped_required_reported),
		cmocka_unit_test(test_truncated_messages_are_rejected),
		cmocka_unit_test(test_bad_cookie_is_not_stun),
		cmocka_unit_test(test_bad_lengths_are_rejected),
		cmocka_unit_test(test_wrong_transaction_id_is_rejected),
		cmocka_unit_test(test_not_a_binding_answer_is_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
