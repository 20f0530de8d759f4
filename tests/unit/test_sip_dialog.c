/* sip_dialog: RFC 3261 §12 from both ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sip/sip_dialog.h"

static const char invite[] = "INVITE sip:101@acme SIP/2.0\r\n"
			     "Via: SIP/2.0/TCP sbc.invalid;branch=z9hG4bK1\r\n"
			     "Record-Route: <sip:p1.example;lr>\r\n"
			     "Record-Route: <sip:p2.example;lr>\r\n"
			     "From: \"Alice\" <sip:100@acme>;tag=a1\r\n"
			     "To: <sip:101@acme>\r\n"
			     "Call-ID: c1@host\r\n"
			     "CSeq: 7 INVITE\r\n"
			     "Contact: <sip:100@192.0.2.1:5060;transport=tcp>\r\n"
			     "Content-Length: 0\r\n\r\n";

static void parse(struct sip_msg *m, const char *text)
{
	assert_int_equal(sip_msg_parse(m, text, strlen(text), true), 0);
}

static void uas_dialog_from_invite(void **state)
{
	(void)state;
	struct sip_msg m;
	struct sip_dialog d;
	parse(&m, invite);
	assert_int_equal(sip_dialog_uas(&d, &m, "b2"), 0);
	assert_string_equal(d.call_id, "c1@host");
	assert_string_equal(d.local, "<sip:101@acme>;tag=b2");
	assert_string_equal(d.remote, "\"Alice\" <sip:100@acme>;tag=a1");
	assert_string_equal(d.target, "sip:100@192.0.2.1:5060;transport=tcp");
	/* the callee keeps Record-Route in order */
	assert_string_equal(d.route,
			    "Route: <sip:p1.example;lr>\r\nRoute: <sip:p2.example;lr>\r\n");
	assert_int_equal(d.remote_cseq, 7);

	char out[2048];
	int n = sip_dialog_request(&d, "BYE", 0, "SIP/2.0/TCP x;branch=z9hG4bKb", NULL, NULL,
				   (struct sip_pl){0}, (struct sip_pl){0}, out, sizeof(out));
	assert_true(n > 0);
	struct sip_msg bye;
	parse(&bye, out);
	assert_true(sip_pl_eq(bye.ruri, "sip:100@192.0.2.1:5060;transport=tcp"));
	assert_non_null(strstr(out, "From: <sip:101@acme>;tag=b2\r\n"));
	assert_non_null(strstr(out, "To: \"Alice\" <sip:100@acme>;tag=a1\r\n"));
	assert_non_null(strstr(out, "CSeq: 1 BYE\r\n"));
	assert_true(strstr(out, "p1.example") < strstr(out, "p2.example"));
	n = sip_dialog_request(&d, "INFO", 0, "SIP/2.0/TCP x;branch=z9hG4bKc", "<sip:pbx@acme>",
			       NULL, (struct sip_pl){"hello", 5}, (struct sip_pl){"text/plain", 10},
			       out, sizeof(out));
	parse(&bye, out);
	assert_true(sip_pl_eq(bye.body, "hello"));
	assert_non_null(strstr(out, "CSeq: 2 INFO\r\n"));
	assert_int_equal(sip_dialog_request(&d, "BYE", 0, "v", NULL, NULL, (struct sip_pl){0},
					    (struct sip_pl){0}, out, 40),
			 -1);
}

static void requests_are_matched_and_ordered(void **state)
{
	(void)state;
	struct sip_msg m;
	struct sip_dialog d;
	parse(&m, invite);
	sip_dialog_uas(&d, &m, "b2");
	static const char bye[] =
		"BYE sip:pbx@acme SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK9\r\n"
		"From: <sip:100@acme>;tag=a1\r\nTo: <sip:101@acme>;tag=b2\r\n"
		"Call-ID: c1@host\r\nCSeq: 8 BYE\r\nContent-Length: 0\r\n\r\n";
	struct sip_msg b;
	parse(&b, bye);
	assert_true(sip_dialog_matches(&d, &b));
	assert_int_equal(sip_dialog_remote_cseq(&d, &b), 0);
	assert_int_equal(sip_dialog_remote_cseq(&d, &b), -1); /* not higher: out of order */
	char other[sizeof(bye)];
	memcpy(other, bye, sizeof(bye));
	memcpy(strstr(other, "tag=b2"), "tag=zz", 6);
	parse(&b, other);
	assert_false(sip_dialog_matches(&d, &b));
	memcpy(other, bye, sizeof(bye));
	memcpy(strstr(other, "tag=a1"), "tag=zz", 6);
	parse(&b, other);
	assert_false(sip_dialog_matches(&d, &b));
}

static void uac_dialog_takes_the_answer(void **state)
{
	(void)state;
	struct sip_dialog d;
	assert_int_equal(sip_dialog_uac(&d, "c2", "<sip:100@acme>", "t1", "<sip:101@acme>",
					"sip:101@10.0.0.9:5060", "<sip:tok@sbc.invalid;lr>", 1),
			 0);
	assert_string_equal(d.route, "Route: <sip:tok@sbc.invalid;lr>\r\n");
	struct sip_msg r;
	static const char ringing_no_tag[] =
		"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: "
		"<sip:100@acme>;tag=t1\r\nTo: <sip:101@acme>\r\nCall-ID: c2\r\nCSeq: 1 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	parse(&r, ringing_no_tag);
	assert_int_equal(sip_dialog_uac_answer(&d, &r), -1);
	/* an answer without Record-Route keeps the preloaded route */
	static const char ok_no_rr[] =
		"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: "
		"<sip:100@acme>;tag=t1\r\nTo: <sip:101@acme>;tag=r9\r\nCall-ID: c2\r\n"
		"CSeq: 1 INVITE\r\nContact: <sip:101@10.0.0.9:5062>\r\nContent-Length: 0\r\n\r\n";
	parse(&r, ok_no_rr);
	assert_int_equal(sip_dialog_uac_answer(&d, &r), 0);
	assert_string_equal(d.remote, "<sip:101@acme>;tag=r9");
	assert_string_equal(d.target, "sip:101@10.0.0.9:5062");
	assert_string_equal(d.route, "Route: <sip:tok@sbc.invalid;lr>\r\n");
	/* with Record-Route, the route set is it, reversed */
	static const char ok_rr[] =
		"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
		"Record-Route: <sip:a;lr>\r\nRecord-Route: <sip:b;lr>\r\nFrom: "
		"<sip:100@acme>;tag=t1\r\nTo: <sip:101@acme>;tag=r9\r\nCall-ID: c2\r\n"
		"CSeq: 1 INVITE\r\nContact: <sip:101@10.0.0.9:5062>\r\nContent-Length: 0\r\n\r\n";
	parse(&r, ok_rr);
	assert_int_equal(sip_dialog_uac_answer(&d, &r), 0);
	assert_string_equal(d.route, "Route: <sip:b;lr>\r\nRoute: <sip:a;lr>\r\n");
	char out[1024];
	assert_true(sip_dialog_request(&d, "BYE", 0, "v", NULL, NULL, (struct sip_pl){0},
				       (struct sip_pl){0}, out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "CSeq: 2 BYE"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uas_dialog_from_invite),
		cmocka_unit_test(requests_are_matched_and_ordered),
		cmocka_unit_test(uac_dialog_takes_the_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
