/* Building SIP responses (sip_build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sip/sip_build.h"
#include "../../src/sip/sip_hdr.h"

static const char reg[] = "REGISTER sip:acme SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bKa1;rport\r\n"
			  "Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bKb2\r\n"
			  "To: \"Alice\"\r\n <sip:100@acme>\r\n"
			  "From: <sip:100@acme>;tag=f1\r\n"
			  "Call-ID: c-1@10.0.0.7\r\n"
			  "CSeq: 5 REGISTER\r\n"
			  "Contact: <sip:100@10.0.0.7>\r\n"
			  "Max-Forwards: 70\r\n"
			  "Content-Length: 0\r\n\r\n";

static void parse(struct sip_msg *m, const char *buf, size_t len)
{
	assert_int_equal(sip_msg_parse(m, buf, len, true), 0);
	assert_int_equal(sip_msg_validate(m), 0);
}

static void test_401_with_received_rport_and_tag(void **state)
{
	(void)state;
	struct sip_msg req, resp;
	char out[2048];
	parse(&req, reg, sizeof(reg) - 1);
	struct sip_response_opts o = {
		.to_tag = "t99",
		.extra_headers = "WWW-Authenticate: Digest realm=\"acme\", nonce=\"n1\"\r\n",
		.src_addr = "198.51.100.20",
		.src_port = 40123,
	};
	int n = sip_build_response(&req, 401, &o, out, sizeof(out));
	assert_true(n > 0);
	parse(&resp, out, (size_t)n);
	assert_int_equal(resp.status, 401);
	assert_true(sip_pl_eq(resp.reason, "Unauthorized"));
	assert_int_equal(sip_msg_hdr_count(&resp, SIP_HDR_VIA), 2);
	struct sip_via v;
	struct sip_pl rest, val;
	assert_int_equal(sip_via_parse(&v, sip_msg_hdr(&resp, SIP_HDR_VIA)->value, &rest), 0);
	assert_true(sip_param_get(v.params, "received", &val) && sip_pl_eq(val, "198.51.100.20"));
	assert_true(sip_param_get(v.params, "rport", &val) && sip_pl_eq(val, "40123"));
	assert_true(sip_param_get(v.params, "branch", &val) && sip_pl_eq(val, "z9hG4bKa1"));
	/* the second Via is copied unchanged */
	assert_true(sip_pl_eq(sip_msg_hdr_next(&resp, sip_msg_hdr(&resp, SIP_HDR_VIA))->value,
			      "SIP/2.0/TCP proxy.example.com;branch=z9hG4bKb2"));
	struct sip_addr to;
	assert_int_equal(sip_addr_parse(&to, sip_msg_hdr(&resp, SIP_HDR_TO)->value, &rest), 0);
	assert_true(sip_param_get(to.params, "tag", &val) && sip_pl_eq(val, "t99"));
	assert_true(sip_pl_eq(to.display, "Alice")); /* the folded To is unfolded */
	assert_null(memchr(sip_msg_hdr(&resp, SIP_HDR_TO)->value.p, '\n',
			   sip_msg_hdr(&resp, SIP_HDR_TO)->value.l));
	assert_true(sip_pl_eq(sip_msg_hdr(&resp, SIP_HDR_CALL_ID)->value, "c-1@10.0.0.7"));
	assert_true(sip_pl_eq(sip_msg_hdr(&resp, SIP_HDR_CSEQ)->value, "5 REGISTER"));
	assert_non_null(sip_msg_hdr(&resp, SIP_HDR_WWW_AUTHENTICATE));
	assert_null(sip_msg_hdr(&resp, SIP_HDR_CONTACT)); /* not copied */
	assert_int_equal(resp.body.l, 0);
}

static void test_no_tag_on_100_or_when_present(void **state)
{
	(void)state;
	struct sip_msg req, resp;
	char out[2048];
	struct sip_pl rest, val;
	struct sip_addr to;
	parse(&req, reg, sizeof(reg) - 1);
	struct sip_response_opts o = {.to_tag = "t1"};
	int n = sip_build_response(&req, 100, &o, out, sizeof(out));
	parse(&resp, out, (size_t)n);
	assert_int_equal(sip_addr_parse(&to, sip_msg_hdr(&resp, SIP_HDR_TO)->value, &rest), 0);
	assert_false(sip_param_get(to.params, "tag", &val));
	/* a response to the 200 builds on the tagged To: no second tag */
	n = sip_build_response(&req, 200, &o, out, sizeof(out));
	parse(&req, out, (size_t)n);
	n = sip_build_response(&req, 200, &(struct sip_response_opts){.to_tag = "t2"}, out,
			       sizeof(out));
	parse(&resp, out, (size_t)n);
	assert_int_equal(sip_addr_parse(&to, sip_msg_hdr(&resp, SIP_HDR_TO)->value, &rest), 0);
	assert_true(sip_param_get(to.params, "tag", &val) && sip_pl_eq(val, "t1"));
	/* no received= when the address matches and no rport was asked for */
	n = sip_build_response(&req, 200, &(struct sip_response_opts){.src_addr = "10.0.0.7"}, out,
			       sizeof(out));
	assert_true(n > 0);
}

static void test_body_and_small_buffer(void **state)
{
	(void)state;
	struct sip_msg req, resp;
	char out[2048];
	parse(&req, reg, sizeof(reg) - 1);
	const char sdp[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n";
	struct sip_response_opts o = {.body = sdp,
				      .body_len = sizeof(sdp) - 1,
				      .content_type = "application/sdp",
				      .reason = "Fine"};
	int n = sip_build_response(&req, 200, &o, out, sizeof(out));
	parse(&resp, out, (size_t)n);
	assert_true(sip_pl_eq(resp.reason, "Fine"));
	assert_true(sip_pl_eq(resp.body, sdp));
	assert_true(sip_pl_eq(sip_msg_hdr(&resp, SIP_HDR_CONTENT_TYPE)->value, "application/sdp"));
	for (size_t cap = 0; cap < (size_t)n; cap += 7)
		assert_int_equal(sip_build_response(&req, 200, &o, out, cap), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_401_with_received_rport_and_tag),
		cmocka_unit_test(test_no_tag_on_100_or_when_present),
		cmocka_unit_test(test_body_and_small_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
