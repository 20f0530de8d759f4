/* SIP message codec (sip_msg, sip_hdr), with the RFC 4475 torture messages. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sip/sip_hdr.h"

static char *load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static char buf[200000];
	*len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return buf;
}

/* The verdict of a message read as a UDP datagram: "ok" or the status. */
static int verdict(const char *buf, size_t len)
{
	struct sip_msg m;
	int r = sip_msg_parse(&m, buf, len, false);
	if (r)
		return r;
	return sip_msg_validate(&m);
}

/* Every file in rfc4475/<verdict>/ gets that verdict (RFC 4475 section 3). */
static void test_rfc4475_verdicts(void **state)
{
	static const char *const dirs[] = {"ok", "400", "416", "505", "drop"};
	int checked = 0;
	(void)state;
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", RFC4475_DIR, dirs[d]);
		DIR *dir = opendir(path);
		assert_non_null(dir);
		struct dirent *de;
		while ((de = readdir(dir))) {
			if (!strstr(de->d_name, ".sip"))
				continue;
			char file[2048];
			size_t len;
			snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
			char *buf = load(file, &len);
			int v = verdict(buf, len);
			int want = strcmp(dirs[d], "ok") == 0 ? 0 : atoi(dirs[d]);
			if (strcmp(dirs[d], "drop") == 0 ? v == 0 : v != want) {
				fprintf(stderr, "%s: got %d, want %s (%s)\n", de->d_name, v,
					dirs[d], sip_msg_error());
				fail();
			}
			checked++;
		}
		closedir(dir);
	}
	assert_true(checked >= 35);
}

static void test_wsinv_fields(void **state)
{
	size_t len;
	struct sip_msg m;
	(void)state;
	char *buf = load(RFC4475_DIR "/ok/wsinv.sip", &len);
	assert_int_equal(sip_msg_parse(&m, buf, len, true), 0);
	assert_true(m.request);
	assert_true(sip_pl_eq(m.method, "INVITE"));
	assert_true(sip_pl_eq(m.ruri, "sip:vivekg@chair-dnrc.example.com;unknownparam"));
	/* a folded To and a compact-form Via both found */
	struct sip_addr to, from, ct;
	struct sip_pl rest, tag;
	assert_int_equal(sip_addr_parse(&to, sip_msg_hdr(&m, SIP_HDR_TO)->value, &rest), 0);
	assert_true(sip_param_get(to.params, "tag", &tag));
	assert_true(sip_pl_eq(tag, "1918181833n"));
	assert_true(sip_pl_eq(to.uri.host, "chair-dnrc.example.com"));
	assert_int_equal(sip_addr_parse(&from, sip_msg_hdr(&m, SIP_HDR_FROM)->value, &rest), 0);
	assert_true(sip_pl_eq(from.display, "J Rosenberg \\\\\\\""));
	assert_true(sip_param_get(from.params, "tag", &tag) && sip_pl_eq(tag, "98asjd8"));
	assert_int_equal(sip_msg_hdr_count(&m, SIP_HDR_VIA), 2);
	struct sip_via v;
	const struct sip_hdr *vh = sip_msg_hdr_next(&m, sip_msg_hdr(&m, SIP_HDR_VIA));
	assert_int_equal(sip_via_parse(&v, vh->value, &rest), 0);
	assert_true(sip_pl_eq(v.transport, "TCP"));
	assert_true(sip_pl_eq(v.host, "spindle.example.com"));
	assert_true(sip_param_get(v.params, "branch", &tag) && sip_pl_eq(tag, "z9hG4bK9ikj8"));
	assert_int_equal(sip_via_parse(&v, rest, &rest), 0);
	assert_true(sip_pl_eq(v.host, "192.168.255.111") && rest.l == 0);
	uint32_t cseq;
	struct sip_pl meth;
	assert_int_equal(sip_cseq_parse(sip_msg_hdr(&m, SIP_HDR_CSEQ)->value, &cseq, &meth), 0);
	assert_int_equal(cseq, 9);
	assert_true(sip_pl_eq(meth, "INVITE"));
	assert_int_equal(sip_addr_parse(&ct, sip_msg_hdr(&m, SIP_HDR_CONTACT)->value, &rest), 0);
	assert_true(sip_param_get(ct.params, "q", &tag) && sip_pl_eq(tag, "0.33"));
	assert_true(sip_param_get(ct.params, "secondparam", &tag) && tag.l == 0);
	assert_int_equal(m.body.l, 150);
	assert_non_null(sip_msg_hdr_named(&m, "NewFangledHeader"));
}

static const char opts[] = "OPTIONS sip:100@acme SIP/2.0\r\n"
			   "Via: SIP/2.0/TCP 192.0.2.1:5061;branch=z9hG4bK1;rport\r\n"
			   "To: <sip:100@acme>\r\nFrom: <sip:200@acme>;tag=a\r\n"
			   "Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
			   "Content-Length: 4\r\n\r\nbody";

static void test_stream_framing(void **state)
{
	(void)state;
	char buf[2 * sizeof(opts) + 8];
	size_t one = sizeof(opts) - 1;
	memcpy(buf, "\r\n\r\n", 4); /* a keep-alive first */
	memcpy(buf + 4, opts, one);
	memcpy(buf + 4 + one, opts, one);
	struct sip_msg m;
	assert_int_equal(sip_msg_parse(&m, buf, 4 + 2 * one, true), 0);
	assert_int_equal(m.raw.l, 4 + one);
	assert_true(sip_pl_eq(m.body, "body"));
	assert_int_equal(sip_msg_parse(&m, buf + m.raw.l, one, true), 0);
	/* every shorter prefix is incomplete, never an error */
	for (size_t n = 0; n < one; n++)
		assert_int_equal(sip_msg_parse(&m, opts, n, true), SIP_NEED_MORE);
	/* a stream needs Content-Length */
	const char *nocl =
		"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
		"To: <sip:a@b>\r\nFrom: <sip:c@b>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n";
	assert_int_equal(sip_msg_parse(&m, nocl, strlen(nocl), true), 400);
	assert_int_equal(sip_msg_parse(&m, nocl, strlen(nocl), false), 0);
}

static void test_limits(void **state)
{
	(void)state;
	struct sip_msg m;
	size_t n = 70000;
	static char big[70200];
	int o = sprintf(big, "OPTIONS sip:a@b SIP/2.0\r\nX-Big: ");
	memset(big + o, 'a', n);
	memcpy(big + o + n, "\r\n\r\n", 4);
	assert_int_equal(sip_msg_parse(&m, big, (size_t)o + n + 4, false), 513);
	assert_int_equal(sip_msg_parse(&m, big, (size_t)o + n, true), 400);
	char many[20000];
	o = sprintf(many, "OPTIONS sip:a@b SIP/2.0\r\n");
	for (int i = 0; i < 200; i++)
		o += sprintf(many + o, "X: %d\r\n", i);
	o += sprintf(many + o, "\r\n");
	assert_int_equal(sip_msg_parse(&m, many, (size_t)o, false), 400);
	const char *huge_cl = "OPTIONS sip:a@b SIP/2.0\r\nl: 99999999999999999999\r\n\r\n";
	assert_int_equal(sip_msg_parse(&m, huge_cl, strlen(huge_cl), true), 513);
}

static void test_uris(void **state)
{
	(void)state;
	struct sip_uri u;
	const char *s = "sips:alice:secret@[2001:db8::1]:5061;transport=tls;lr?subject=hi";
	assert_int_equal(sip_uri_parse(&u, (struct sip_pl){s, strlen(s)}), 0);
	assert_true(sip_pl_eq(u.scheme, "sips") && sip_pl_eq(u.user, "alice"));
	assert_true(sip_pl_eq(u.password, "secret"));
	assert_true(sip_pl_eq(u.host, "[2001:db8::1]") && u.port == 5061);
	struct sip_pl v;
	assert_true(sip_param_get(u.params, "transport", &v) && sip_pl_eq(v, "tls"));
	assert_true(sip_param_get(u.params, "lr", &v) && v.l == 0);
	assert_false(sip_param_get(u.params, "maddr", &v));
	assert_true(sip_pl_eq(u.headers, "subject=hi"));
	const char *bad[] = {"sip:",	  "sip:a@",   "sip:host:0", "sip:host:65536",
			     "sip:ho st", "sip:[::1", ":nothing",   "sip:@host"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sip_uri_parse(&u, (struct sip_pl){bad[i], strlen(bad[i])}), -1);
	s = "tel:+49-30-1234";
	assert_int_equal(sip_uri_parse(&u, (struct sip_pl){s, strlen(s)}), 0);
	assert_true(sip_pl_eq(u.scheme, "tel") && sip_pl_eq(u.opaque, "+49-30-1234"));
}

static void test_responses(void **state)
{
	(void)state;
	struct sip_msg m;
	const char *r = "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
			"To: <sip:a@b>;tag=2\r\nFrom: <sip:c@b>;tag=1\r\nCall-ID: x\r\n"
			"CSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n";
	assert_int_equal(sip_msg_parse(&m, r, strlen(r), true), 0);
	assert_false(m.request);
	assert_int_equal(m.status, 180);
	assert_true(sip_pl_eq(m.reason, "Ringing"));
	const char *bad = "SIP/2.0 99 Nope\r\n\r\n";
	assert_int_equal(sip_msg_parse(&m, bad, strlen(bad), false), 400);
}

/* RFC 3261 25.1: control characters never in a header value (but escaped
 * within a quoted-string, as RFC 4475's intmeth has them); folding, HTAB
 * and UTF-8 are fine. Each fault is a 400, whatever the transport. */
static int parse_with(const char *hdr, size_t hlen, const char *call_id, size_t clen)
{
	static char buf[4096];
	struct sip_msg m;
	size_t o = 0;
	const char *head = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
			   "To: <sip:a@b>\r\nFrom: <sip:c@b>;tag=1\r\nCSeq: 1 OPTIONS\r\nCall-ID: ";
	memcpy(buf + o, head, strlen(head)), o += strlen(head);
	memcpy(buf + o, call_id, clen), o += clen;
	memcpy(buf + o, "\r\n", 2), o += 2;
	memcpy(buf + o, hdr, hlen), o += hlen;
	memcpy(buf + o, "\r\nContent-Length: 0\r\n\r\n", 23), o += 23;
	int r = sip_msg_parse(&m, buf, o, false);
	int t = sip_msg_parse(&m, buf, o, true);
	assert_int_equal(r, t);
	return r ? r : sip_msg_validate(&m);
}

#define HDR(lit) lit, sizeof(lit) - 1
#define GOOD_CID HDR("abc@host")
#define PL(lit)                                                                                    \
	{                                                                                          \
		lit, sizeof(lit) - 1                                                               \
	}

static void test_control_characters(void **state)
{
	(void)state;
	/* fine */
	assert_int_equal(parse_with(HDR("X-A: a\tb c"), GOOD_CID), 0);
	assert_int_equal(parse_with(HDR("X-A: a\r\n  folded\r\n\tand again"), GOOD_CID), 0);
	assert_int_equal(parse_with(HDR("X-A: Gr\xc3\xbc\xc3\x9f"
					"e \xe2\x82\xac"),
				    GOOD_CID),
			 0);
	assert_int_equal(parse_with(HDR("Contact: \"a\\\x07\\\x00 b\" <sip:x@y>"), GOOD_CID), 0);
	assert_int_equal(parse_with(HDR("X-A: b"), HDR("w0rd.-!%*_+`'~()<>:\\\"/[]?{}@h")), 0);
	/* a control character in a header's value, anywhere */
	static const struct sip_pl bad_hdr[] = {
		PL("X-A: a\x00"
		   "b"),
		PL("X-A: a\x1b[31mred"),
		PL("X-A: \x07"),
		PL("X-A: a\x7f"),
		PL("X-A: a\rb"),
		PL("X-A: a\r\nno-fold"),
		PL("X-A: a\x0b"),
		PL("X-A: a\x0c"),
		PL("User-Agent: x\x01"),
		PL("Contact: <sip:x@y>\x1b"),
		PL("Contact: \"a\\\r\n b\" <sip:x@y>"), /* a quoted-pair is no CR */
		PL("Contact: \"a\x00\" <sip:x@y>"),	/* unescaped in quotes */
		PL("Contact: <sip:x@y>;p=\\\x00"),	/* quoted-pair outside quotes */
	};
	for (size_t i = 0; i < sizeof(bad_hdr) / sizeof(bad_hdr[0]); i++) {
		int r = parse_with(bad_hdr[i].p, bad_hdr[i].l, GOOD_CID);
		if (r != 400)
			fprintf(stderr, "header %zu: got %d\n", i, r);
		assert_int_equal(r, 400);
	}
	/* the Call-ID: word ["@" word], so nothing else either */
	static const struct sip_pl bad_cid[] = {
		PL("abc\x00@host"), PL("abc\x1b[2J"), PL("a\x07"),	 PL("a b"),
		PL("a\\\x00"),	    PL("a,b"),	      PL("caf\xc3\xa9"),
	};
	for (size_t i = 0; i < sizeof(bad_cid) / sizeof(bad_cid[0]); i++) {
		int r = parse_with(HDR("X-A: b"), bad_cid[i].p, bad_cid[i].l);
		if (r != 400)
			fprintf(stderr, "Call-ID %zu: got %d\n", i, r);
		assert_int_equal(r, 400);
	}
	/* a long Call-ID is a Call-ID */
	char longcid[300];
	memset(longcid, 'c', sizeof(longcid));
	assert_int_equal(parse_with(HDR("X-A: b"), longcid, sizeof(longcid)), 0);
	/* a response's Reason-Phrase too */
	struct sip_msg m;
	const char r[] = "SIP/2.0 200 O\x1b[0mK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
			 "To: <sip:a@b>;tag=2\r\nFrom: <sip:c@b>;tag=1\r\nCall-ID: x\r\n"
			 "CSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n";
	assert_int_equal(sip_msg_parse(&m, r, sizeof(r) - 1, true), 400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4475_verdicts),
		cmocka_unit_test(test_wsinv_fields),
		cmocka_unit_test(test_stream_framing),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_uris),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_control_characters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
