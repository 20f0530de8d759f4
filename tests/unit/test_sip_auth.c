/* Digest authentication (sip_auth), with the RFC 7616 section 3.9.1 vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sip/sip_auth.h"

static struct sip_pl pl(const char *s)
{
	return (struct sip_pl){s, strlen(s)};
}

static const char rfc7616[] =
	"Digest username=\"Mufasa\",\r\n realm=\"http-auth@example.org\",\r\n"
	" uri=\"/dir/index.html\", algorithm=%s, "
	"nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\","
	" nc=00000001, cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth,"
	" response=\"%s\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";

static void check_vector(int alg, const char *algname, const char *response)
{
	char hdr[1024], ha1[SIP_AUTH_HEX_MAX], want[SIP_AUTH_HEX_MAX];
	struct sip_auth_creds c;
	snprintf(hdr, sizeof(hdr), rfc7616, algname, response);
	assert_int_equal(sip_auth_parse(pl(hdr), &c), 0);
	assert_true(sip_pl_eq(c.username, "Mufasa"));
	assert_true(sip_pl_eq(c.uri, "/dir/index.html"));
	assert_int_equal(sip_auth_alg(c.algorithm), alg);
	assert_int_equal(
		sip_auth_ha1(alg, "Mufasa", "http-auth@example.org", "Circle of Life", ha1), 0);
	assert_int_equal(sip_auth_response(alg, ha1, pl("GET"), &c, want), 0);
	assert_string_equal(want, response);
	assert_true(sip_auth_response_ok(&c, want));
	/* any other method, password or uri gives another answer */
	assert_int_equal(sip_auth_response(alg, ha1, pl("POST"), &c, want), 0);
	assert_false(sip_auth_response_ok(&c, want));
}

static void test_rfc7616_md5_and_sha256(void **state)
{
	(void)state;
	check_vector(0, "MD5", "8ca523f5e9506fed4657c9700eebdbec");
	check_vector(1, "SHA-256",
		     "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

static void test_parse_rejects(void **state)
{
	(void)state;
	struct sip_auth_creds c;
	const char *bad[] = {
		"Basic dXNlcjpwYXNz",
		"Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\"", /* no response */
		"Digest username=\"a, realm=\"r\"",			      /* open quote */
		"Digest username=\"a\", username=\"b\", realm=\"r\", nonce=\"n\", uri=\"u\", "
		"response=\"x\"", /* twice */
		"Digest username",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sip_auth_parse(pl(bad[i]), &c), -1);
	assert_int_equal(sip_auth_alg(pl("SHA-512-256")), -1);
	assert_int_equal(sip_auth_alg(pl("")), 0);
}

static void test_nonces_expire_and_counts_cannot_replay(void **state)
{
	(void)state;
	struct sip_nonces *n = sip_nonces_new(300);
	char nonce[SIP_NONCE_LEN], other[SIP_NONCE_LEN];
	sip_nonces_make(n, "acme", 1000, nonce);
	assert_int_equal(strlen(nonce), SIP_NONCE_LEN - 1);
	assert_int_equal(sip_nonces_check(n, "acme", pl(nonce), 1000), 0);
	assert_int_equal(sip_nonces_check(n, "acme", pl(nonce), 1300), 0);
	assert_int_equal(sip_nonces_check(n, "acme", pl(nonce), 1301), 1);    /* stale */
	assert_int_equal(sip_nonces_check(n, "globex", pl(nonce), 1000), -1); /* other realm */
	nonce[5] = nonce[5] == 'A' ? 'B' : 'A';
	assert_int_equal(sip_nonces_check(n, "acme", pl(nonce), 1000), -1); /* tampered */
	nonce[5] = nonce[5] == 'A' ? 'B' : 'A';
	assert_int_equal(sip_nonces_check(n, "acme", pl("not-a-nonce"), 1000), -1);
	/* counts must rise; a replayed count is refused */
	assert_int_equal(sip_nonces_use(n, pl(nonce), pl("00000001")), 0);
	assert_int_equal(sip_nonces_use(n, pl(nonce), pl("00000001")), -1);
	assert_int_equal(sip_nonces_use(n, pl(nonce), pl("00000002")), 0);
	assert_int_equal(sip_nonces_use(n, pl(nonce), pl("0000000a")), 0);
	assert_int_equal(sip_nonces_use(n, pl(nonce), pl("00000005")), -1);
	assert_int_equal(sip_nonces_use(n, pl(nonce), pl("xyz")), -1);
	/* without qop a nonce is good once */
	sip_nonces_make(n, "acme", 1000, other);
	assert_int_equal(sip_nonces_use(n, pl(other), pl("")), 0);
	assert_int_equal(sip_nonces_use(n, pl(other), pl("")), -1);
	/* a nonce of another server instance (another key) is not ours */
	struct sip_nonces *n2 = sip_nonces_new(300);
	assert_int_equal(sip_nonces_check(n2, "acme", pl(nonce), 1000), -1);
	sip_nonces_free(n2);
	sip_nonces_free(n);
}

static void test_challenge(void **state)
{
	(void)state;
	char out[256];
	assert_true(sip_auth_challenge(1, "acme", "NONCE", true, out, sizeof(out)) > 0);
	assert_string_equal(out, "Digest realm=\"acme\", nonce=\"NONCE\", algorithm=SHA-256, "
				 "qop=\"auth\", stale=true");
	assert_int_equal(sip_auth_challenge(0, "acme", "NONCE", false, out, 20), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7616_md5_and_sha256),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_nonces_expire_and_counts_cannot_replay),
		cmocka_unit_test(test_challenge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
