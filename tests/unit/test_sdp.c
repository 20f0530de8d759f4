/* SDP codec (sdp): parse, rewrite as the SBC does, write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sdp/sdp.h"

static const char offer[] =
	"v=0\r\n"
	"o=alice 2890844526 2890844527 IN IP4 192.0.2.10\r\n"
	"s=Talk\r\n"
	"c=IN IP4 192.0.2.10\r\n"
	"b=AS:80\r\n"
	"t=0 0\r\n"
	"a=ice-ufrag:F7gI\r\n"
	"a=ice-pwd:x9cml/YzichV2+XlhiMu8g\r\n"
	"m=audio 49170 RTP/SAVP 0 8 101\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n"
	"a=candidate:1 1 UDP 2130706431 192.0.2.10 49170 typ host\r\n"
	"a=candidate:2 1 UDP 1694498815 198.51.100.7 49170 typ srflx raddr 192.0.2.10 rport "
	"49170\r\n"
	"a=sendrecv\r\n"
	"m=video 0/2 RTP/AVP 31\r\n"
	"c=IN IP6 2001:db8::10\r\n";

static void test_parses_an_offer(void **state)
{
	(void)state;
	struct sdp_session s;
	assert_int_equal(sdp_parse(&s, offer, sizeof(offer) - 1), 0);
	assert_true(sip_pl_eq(s.name, "Talk"));
	assert_true(sip_pl_eq(s.s.conn.addr, "192.0.2.10"));
	assert_int_equal(s.nmedia, 2);
	struct sdp_media *a = &s.media[0];
	assert_true(sip_pl_eq(a->type, "audio") && sip_pl_eq(a->port, "49170"));
	assert_true(sip_pl_eq(a->proto, "RTP/SAVP"));
	assert_int_equal(a->nfmts, 3);
	assert_true(sip_pl_eq(a->fmts[2], "101"));
	const struct sdp_attr *c = sdp_attr_get(&a->s, "crypto");
	assert_non_null(c);
	assert_memory_equal(c->value.p, "1 AES_CM_128_HMAC_SHA1_80 ", 26);
	assert_non_null(sdp_attr_get(&a->s, "sendrecv"));
	assert_false(sdp_attr_get(&a->s, "sendrecv")->has_value);
	/* media without its own c= uses the session's; video has its own */
	assert_ptr_equal(sdp_media_conn(&s, a), &s.s.conn);
	assert_true(sip_pl_eq(sdp_media_conn(&s, &s.media[1])->addrtype, "IP6"));
	assert_true(sip_pl_eq(s.media[1].nports, "2"));
}

static void test_rewrite_like_the_sbc(void **state)
{
	(void)state;
	struct sdp_session s, again;
	char out[4096], out2[4096];
	assert_int_equal(sdp_parse(&s, offer, sizeof(offer) - 1), 0);
	/* the endpoint must see only the relay: address, port, no ICE */
	s.s.conn.addr = (struct sip_pl){"203.0.113.1", 11};
	s.media[0].port = (struct sip_pl){"30000", 5};
	assert_int_equal(sdp_attr_remove(&s.media[0].s, "candidate"), 2);
	assert_int_equal(sdp_attr_remove(&s.s, "ice-ufrag"), 1);
	assert_int_equal(sdp_attr_remove(&s.s, "ice-pwd"), 1);
	assert_int_equal(sdp_attr_remove(&s.media[0].s, "crypto"), 1);
	const char *key =
		"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";
	assert_int_equal(sdp_attr_add(&s.media[0].s, "crypto", (struct sip_pl){key, strlen(key)}),
			 0);
	int n = sdp_write(&s, out, sizeof(out));
	assert_true(n > 0);
	out[n] = '\0';
	assert_null(strstr(out, "candidate"));
	assert_null(strstr(out, "192.0.2.10\r\nb"));
	assert_non_null(strstr(out, "c=IN IP4 203.0.113.1\r\nb=AS:80\r\nt=0 0\r\n"));
	assert_non_null(strstr(out, "m=audio 30000 RTP/SAVP 0 8 101\r\n"));
	assert_non_null(strstr(out, key));
	/* what we write, we read back the same */
	assert_int_equal(sdp_parse(&again, out, (size_t)n), 0);
	assert_int_equal(sdp_write(&again, out2, sizeof(out2)), n);
	assert_memory_equal(out, out2, (size_t)n);
	/* too small a buffer is an error, never an overflow */
	assert_int_equal(sdp_write(&s, out, 40), -1);
}

static void test_rejects_broken_descriptions(void **state)
{
	(void)state;
	struct sdp_session s;
	const char *bad[] = {
		"",
		"o=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\n",	    /* no v= */
		"v=1\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\n", /* version */
		"v=0\r\ns=-\r\n",			    /* no o= */
		"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm =video 3227 RTP/AVP 31\r\n",
		"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio x RTP/AVP 0\r\n",
		"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio 1 RTP/AVP\r\n",
		"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4\r\n",
		"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\na=x\x01y\r\n",
		"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.1.1.1\r\nc=IN IP4 1.1.1.2\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sdp_parse(&s, bad[i], strlen(bad[i])), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parses_an_offer),
		cmocka_unit_test(test_rewrite_like_the_sbc),
		cmocka_unit_test(test_rejects_broken_descriptions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
