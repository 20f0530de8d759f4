/* pbx_trunk_reg's pure part: what an answer to a REGISTER means, when a
 * binding is refreshed, how long a failed trunk waits, what a 200 granted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/pbx/pbx_trunk_reg.h"
#include "../../src/sbc/sbc_trunk.h"

static void answers_decide_the_next_step(void **state)
{
	(void)state;
	assert_int_equal(pbx_trunk_reg_verdict(100, false, false, -1, 600), PBX_TRUNK_WAIT);
	assert_int_equal(pbx_trunk_reg_verdict(183, true, false, -1, 600), PBX_TRUNK_WAIT);
	assert_int_equal(pbx_trunk_reg_verdict(200, false, false, -1, 600), PBX_TRUNK_OK);
	assert_int_equal(pbx_trunk_reg_verdict(202, true, false, -1, 600), PBX_TRUNK_OK);
	/* a challenge is answered once; the second is a wrong password ... */
	assert_int_equal(pbx_trunk_reg_verdict(401, false, false, -1, 600), PBX_TRUNK_AUTH);
	assert_int_equal(pbx_trunk_reg_verdict(407, false, false, -1, 600), PBX_TRUNK_AUTH);
	assert_int_equal(pbx_trunk_reg_verdict(401, true, false, -1, 600), PBX_TRUNK_FAIL);
	assert_int_equal(pbx_trunk_reg_verdict(407, true, false, -1, 600), PBX_TRUNK_FAIL);
	/* ... unless the nonce had only expired */
	assert_int_equal(pbx_trunk_reg_verdict(401, true, true, -1, 600), PBX_TRUNK_AUTH);
	/* 423: a longer interval, if the carrier names a sane one */
	assert_int_equal(pbx_trunk_reg_verdict(423, false, false, 900, 600), PBX_TRUNK_MIN_EXPIRES);
	assert_int_equal(pbx_trunk_reg_verdict(423, false, false, 600, 600), PBX_TRUNK_FAIL);
	assert_int_equal(pbx_trunk_reg_verdict(423, false, false, -1, 600), PBX_TRUNK_FAIL);
	assert_int_equal(pbx_trunk_reg_verdict(423, false, false, 86400, 600), PBX_TRUNK_FAIL);
	int fails[] = {403, 404, 408, 480, 500, 503, 603};
	for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++)
		assert_int_equal(pbx_trunk_reg_verdict(fails[i], false, false, -1, 600),
				 PBX_TRUNK_FAIL);
}

static void refresh_before_the_binding_ends(void **state)
{
	(void)state;
	assert_int_equal(pbx_trunk_reg_refresh(3600), 2880); /* 80 % */
	assert_int_equal(pbx_trunk_reg_refresh(600), 480);
	assert_int_equal(pbx_trunk_reg_refresh(120), 90); /* 30 s before its end */
	assert_int_equal(pbx_trunk_reg_refresh(60), 30);
	assert_int_equal(pbx_trunk_reg_refresh(40), 20); /* never sooner than half */
	assert_int_equal(pbx_trunk_reg_refresh(1), 1);
	assert_int_equal(pbx_trunk_reg_refresh(0), 1);
	for (int g = 1; g <= 7200; g++) {
		int r = pbx_trunk_reg_refresh(g);
		assert_true(r >= 1 && (r < g || g == 1));
	}
}

static void failures_back_off_to_five_minutes(void **state)
{
	(void)state;
	assert_int_equal(pbx_trunk_reg_backoff(1), 30);
	assert_int_equal(pbx_trunk_reg_backoff(2), 60);
	assert_int_equal(pbx_trunk_reg_backoff(3), 120);
	assert_int_equal(pbx_trunk_reg_backoff(4), 240);
	assert_int_equal(pbx_trunk_reg_backoff(5), 300);
	assert_int_equal(pbx_trunk_reg_backoff(1000000), 300);
}

static int granted(const char *headers, const char *user, int asked)
{
	char buf[2048];
	struct sip_msg m;
	snprintf(buf, sizeof(buf),
		 "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP pbx.invalid;branch=z9hG4bKtrkr1\r\n"
		 "From: <sip:u@c>;tag=1\r\nTo: <sip:u@c>;tag=2\r\nCall-ID: x\r\n"
		 "CSeq: 2 REGISTER\r\n%sContent-Length: 0\r\n\r\n",
		 headers);
	assert_int_equal(sip_msg_parse(&m, buf, strlen(buf), true), 0);
	return pbx_trunk_reg_granted(&m, user, asked);
}

static void the_granted_lifetime_is_read_from_our_contact(void **state)
{
	(void)state;
	const char *key = "z0123456789abcdef";
	/* ours among others' */
	assert_int_equal(granted("Contact: <sip:zffffffffffffffff@198.51.100.1:5062>;expires=900, "
				 "<sip:z0123456789abcdef@198.51.100.2:5062>;expires=120\r\n"
				 "Expires: 3600\r\n",
				 key, 600),
			 120);
	assert_int_equal(granted("Contact: <sip:a@h>;expires=900\r\n"
				 "Contact: <sip:z0123456789abcdef@h>;q=0.5;expires=300\r\n",
				 key, 600),
			 300);
	/* the only contact, whatever its user */
	assert_int_equal(granted("Contact: <sip:other@h>;expires=240\r\n", key, 600), 240);
	/* several, none ours: the Expires header */
	assert_int_equal(granted("Contact: <sip:a@h>;expires=1, <sip:b@h>;expires=2\r\n"
				 "Expires: 180\r\n",
				 key, 600),
			 180);
	/* nothing said: what was asked */
	assert_int_equal(granted("", key, 600), 600);
	assert_int_equal(granted("Contact: <sip:a@h>, <sip:b@h>\r\n", key, 600), 600);
	/* nonsense is not taken */
	assert_int_equal(granted("Contact: <sip:z0123456789abcdef@h>;expires=abc\r\n"
				 "Expires: -5\r\n",
				 key, 600),
			 600);
	assert_int_equal(granted("Expires: 99999999999999999999\r\n", key, 600), 600);
}

static void the_key_is_the_sbcs(void **state)
{
	(void)state;
	char k[18];
	pbx_trunk_reg_key("acme", 1, k);
	assert_int_equal(strlen(k), 17);
	assert_int_equal(k[0], 'z');
	char k2[18];
	pbx_trunk_reg_key("acme", 2, k2);
	assert_string_not_equal(k, k2);
	/* "z" and the first 8 bytes of SHA-256("zentrale-trunk:acme/1") in hex */
	assert_string_equal(k, "zdfad1c4286b30bcd");
	/* and what the SBC computes, so its Contact is found in our 200 */
	char sbc[SBC_TRUNK_KEY_LEN + 1];
	sbc_trunk_key("acme", 1, sbc);
	assert_string_equal(k, sbc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(answers_decide_the_next_step),
		cmocka_unit_test(refresh_before_the_binding_ends),
		cmocka_unit_test(failures_back_off_to_five_minutes),
		cmocka_unit_test(the_granted_lifetime_is_read_from_our_contact),
		cmocka_unit_test(the_key_is_the_sbcs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
