/* Digest authentication (sip_auth), with the RFC 7616 section 3.9.1 vectors;
 * the client's side with RFC 2617 section 3.5's and RFC 7616 section 3.9.1's. */
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

/* ---- the client's side ---- */

/* The Authorization value's response="..." (a view into v). */
static struct sip_auth_creds answer_creds(const char *v)
{
	struct sip_auth_creds c;
	assert_int_equal(sip_auth_parse(pl(v), &c), 0);
	return c;
}

static void test_client_rfc2617_md5_qop_auth(void **state)
{
	(void)state;
	struct sip_auth_chal ch;
	const char *chal = "Digest\r\n realm=\"testrealm@host.com\",\r\n qop=\"auth,auth-int\",\r\n"
			   " nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n"
			   " opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
	assert_int_equal(sip_auth_chal_parse(pl(chal), &ch), 0);
	assert_string_equal(ch.realm, "testrealm@host.com");
	assert_int_equal(ch.alg, 0);
	assert_true(ch.qop);
	assert_false(ch.stale);
	char out[1024];
	int n = sip_auth_answer(&ch, "GET", "/dir/index.html", "Mufasa", "Circle Of Life",
				"0a4f113b", 1, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(out));
	struct sip_auth_creds c = answer_creds(out);
	assert_true(sip_pl_eq(c.response, "6629fae49393a05397450978507c4ef1"));
	assert_true(sip_pl_eq(c.nc, "00000001"));
	assert_true(sip_pl_eq(c.qop, "auth"));
	assert_true(sip_pl_eq(c.cnonce, "0a4f113b"));
	assert_true(sip_pl_eq(c.opaque, "5ccc069c403ebaf9f0171e9517f40e41"));
	assert_true(sip_pl_eq(c.algorithm, "MD5"));
	/* one byte short of room: refused, not cut */
	assert_int_equal(sip_auth_answer(&ch, "GET", "/dir/index.html", "Mufasa", "Circle Of Life",
					 "0a4f113b", 1, out, (size_t)n),
			 -1);
	assert_int_equal(sip_auth_answer(&ch, "GET", "/dir/index.html", "Mufasa", "Circle Of Life",
					 "0a4f113b", 1, out, (size_t)n + 1),
			 n);
	/* with qop a cnonce and a count are needed */
	assert_int_equal(sip_auth_answer(&ch, "GET", "/", "Mufasa", "x", NULL, 1, out, sizeof(out)),
			 -1);
	assert_int_equal(
		sip_auth_answer(&ch, "GET", "/", "Mufasa", "x", "abc", 0, out, sizeof(out)), -1);
}

static const char rfc7616_401[] =
	"SIP/2.0 401 Unauthorized\r\n"
	"Via: SIP/2.0/TCP pbx.invalid;branch=z9hG4bKtrk1\r\n"
	"From: <sip:Mufasa@example.org>;tag=1\r\nTo: <sip:Mufasa@example.org>;tag=2\r\n"
	"Call-ID: c1\r\nCSeq: 1 REGISTER\r\n"
	"WWW-Authenticate: Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", "
	"algorithm=MD5, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
	"opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"\r\n"
	"WWW-Authenticate: Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", "
	"algorithm=SHA-256, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
	"opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"\r\n"
	"Content-Length: 0\r\n\r\n";

static void test_client_rfc7616_prefers_sha256(void **state)
{
	(void)state;
	struct sip_msg m;
	struct sip_auth_chal ch;
	assert_int_equal(sip_msg_parse(&m, rfc7616_401, strlen(rfc7616_401), true), 0);
	assert_int_equal(sip_auth_chal_pick(&m, &ch), 0);
	assert_int_equal(ch.alg, 1);
	char out[1024];
	const char *cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
	assert_true(sip_auth_answer(&ch, "GET", "/dir/index.html", "Mufasa", "Circle of Life",
				    cnonce, 1, out, sizeof(out)) > 0);
	struct sip_auth_creds c = answer_creds(out);
	assert_true(sip_pl_eq(c.response,
			      "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"));
	assert_true(sip_pl_eq(c.algorithm, "SHA-256"));
	assert_true(sip_pl_eq(c.opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"));
	/* the server's side agrees with what the client wrote */
	char ha1[SIP_AUTH_HEX_MAX], want[SIP_AUTH_HEX_MAX];
	sip_auth_ha1(1, "Mufasa", "http-auth@example.org", "Circle of Life", ha1);
	assert_int_equal(sip_auth_response(1, ha1, pl("GET"), &c, want), 0);
	assert_true(sip_auth_response_ok(&c, want));
	/* a 407 reads Proxy-Authenticate, of which this message has none */
	m.status = 407;
	assert_int_equal(sip_auth_chal_pick(&m, &ch), -1);
}

static void test_client_no_qop_sess_and_stale(void **state)
{
	(void)state;
	struct sip_auth_chal ch;
	char out[1024], ha1[SIP_AUTH_HEX_MAX], want[SIP_AUTH_HEX_MAX];
	/* RFC 2069's form: no qop, so no cnonce or nc in the answer */
	assert_int_equal(
		sip_auth_chal_parse(pl("Digest realm=\"r\", nonce=\"n1\", stale=TRUE"), &ch), 0);
	assert_true(ch.stale);
	assert_false(ch.qop);
	assert_true(sip_auth_answer(&ch, "REGISTER", "sip:r", "u", "p", NULL, 0, out, sizeof(out)) >
		    0);
	struct sip_auth_creds c = answer_creds(out);
	assert_int_equal(c.qop.l + c.nc.l + c.cnonce.l, 0);
	sip_auth_ha1(0, "u", "r", "p", ha1);
	assert_int_equal(sip_auth_response(0, ha1, pl("REGISTER"), &c, want), 0);
	assert_true(sip_auth_response_ok(&c, want));
	/* -sess: HA1 is H(H(u:r:p):nonce:cnonce) */
	assert_int_equal(
		sip_auth_chal_parse(pl("Digest realm=\"r\", nonce=\"n1\", algorithm=SHA-256-sess, "
				       "qop=auth"),
				    &ch),
		0);
	assert_true(ch.sess);
	assert_true(sip_auth_answer(&ch, "REGISTER", "sip:r", "u", "p", "cn", 3, out, sizeof(out)) >
		    0);
	assert_non_null(strstr(out, "algorithm=SHA-256-sess"));
	c = answer_creds(out);
	assert_true(sip_pl_eq(c.nc, "00000003"));
	char h0[SIP_AUTH_HEX_MAX];
	sip_auth_ha1(1, "u", "r", "p", h0);
	sip_auth_ha1(1, h0, "n1", "cn", ha1); /* the same H(a:b:c) */
	assert_int_equal(sip_auth_response(1, ha1, pl("REGISTER"), &c, want), 0);
	assert_true(sip_auth_response_ok(&c, want));
	/* a quoted realm's escapes are undone, and put back in the answer */
	assert_int_equal(sip_auth_chal_parse(pl("Digest realm=\"a\\\"b\", nonce=\"n\""), &ch), 0);
	assert_string_equal(ch.realm, "a\"b");
	assert_true(sip_auth_answer(&ch, "REGISTER", "sip:r", "u", "p", NULL, 0, out, sizeof(out)) >
		    0);
	assert_non_null(strstr(out, "realm=\"a\\\"b\""));
}

static void test_client_hostile_challenges(void **state)
{
	(void)state;
	struct sip_auth_chal ch;
	char big[2 * SIP_AUTH_VALUE_MAX], hdr[3 * SIP_AUTH_VALUE_MAX];
	const char *bad[] = {
		"Basic realm=\"r\"",
		"Digest realm=\"r\"",					  /* no nonce */
		"Digest nonce=\"n\"",					  /* no realm */
		"Digest realm=\"r\", nonce=\"\"",			  /* an empty nonce */
		"Digest realm=\"r\", nonce=\"n",			  /* open quote */
		"Digest realm=\"r\", realm=\"s\", nonce=\"n\"",		  /* twice */
		"Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256", /* unknown */
		"Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"",	  /* not auth */
		"Digest realm=\"r\", nonce=\"n\x01\"",			  /* a control character */
		"Digest realm",
		"Digest",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sip_auth_chal_parse(pl(bad[i]), &ch), -1);
	/* a value just fits; one byte more is refused, never cut */
	memset(big, 'x', SIP_AUTH_VALUE_MAX);
	big[SIP_AUTH_VALUE_MAX] = '\0';
	snprintf(hdr, sizeof(hdr), "Digest realm=\"r\", nonce=\"%s\"", big);
	assert_int_equal(sip_auth_chal_parse(pl(hdr), &ch), 0);
	assert_int_equal(strlen(ch.nonce), SIP_AUTH_VALUE_MAX);
	big[SIP_AUTH_VALUE_MAX] = 'x';
	big[SIP_AUTH_VALUE_MAX + 1] = '\0';
	snprintf(hdr, sizeof(hdr), "Digest realm=\"r\", nonce=\"%s\"", big);
	assert_int_equal(sip_auth_chal_parse(pl(hdr), &ch), -1);
	snprintf(hdr, sizeof(hdr), "Digest realm=\"%s\", nonce=\"n\"", big);
	assert_int_equal(sip_auth_chal_parse(pl(hdr), &ch), -1);
	snprintf(hdr, sizeof(hdr), "Digest realm=\"r\", nonce=n, opaque=%s", big);
	assert_int_equal(sip_auth_chal_parse(pl(hdr), &ch), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7616_md5_and_sha256),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_nonces_expire_and_counts_cannot_replay),
		cmocka_unit_test(test_challenge),
		cmocka_unit_test(test_client_rfc2617_md5_qop_auth),
		cmocka_unit_test(test_client_rfc7616_prefers_sha256),
		cmocka_unit_test(test_client_no_qop_sess_and_stale),
		cmocka_unit_test(test_client_hostile_challenges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
