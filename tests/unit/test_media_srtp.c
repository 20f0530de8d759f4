/* media_srtp: SDES a=crypto parsing and writing, and SRTP round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/media/media_srtp.h"

static struct sip_pl pl(const char *s)
{
	return (struct sip_pl){s, strlen(s)};
}

/* RFC 4568 §9.1's example key and variants */
static void sdes_parse_accepts_rfc_examples(void **state)
{
	(void)state;
	struct media_sdes c;
	assert_int_equal(media_sdes_parse(pl("1 AES_CM_128_HMAC_SHA1_80 "
					     "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
					  &c),
			 0);
	assert_int_equal(c.tag, 1);
	assert_int_equal(c.suite, MEDIA_AES_CM_128_HMAC_SHA1_80);
	assert_int_equal(c.key[0], 0x3d);
	assert_int_equal(
		media_sdes_parse(pl("2 AES_CM_128_HMAC_SHA1_32 "
				    "inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20"),
				 &c),
		0);
	assert_int_equal(c.tag, 2);
	assert_int_equal(c.suite, MEDIA_AES_CM_128_HMAC_SHA1_32);
}

static void sdes_parse_refuses_what_we_cannot_do(void **state)
{
	(void)state;
	struct media_sdes c;
	static const char *const bad[] = {
		"",
		"1",
		"x AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
		"1 F8_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
		"1 AES_CM_128_HMAC_SHA1_80 PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
		"1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=", /* short key */
		"1 AES_CM_128_HMAC_SHA1_80 "
		"inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4", /* MKI */
		"1 AES_CM_128_HMAC_SHA1_80 "
		"inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR;inline:x",
		"1 AES_CM_128_HMAC_SHA1_80 inline:!!!!QCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
		"1234567890 AES_CM_128_HMAC_SHA1_80 "
		"inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(media_sdes_parse(pl(bad[i]), &c), -1);
}

static void sdes_format_round_trips(void **state)
{
	(void)state;
	struct media_sdes a = {.tag = 7, .suite = MEDIA_AES_CM_128_HMAC_SHA1_80}, b;
	media_sdes_new_key(&a);
	char out[128];
	int n = media_sdes_format(&a, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(media_sdes_parse((struct sip_pl){out, (size_t)n}, &b), 0);
	assert_int_equal(b.tag, 7);
	assert_memory_equal(a.key, b.key, MEDIA_SRTP_KEY_LEN);
	assert_int_equal(media_sdes_format(&a, out, 20), -1);
}

static void srtp_protects_and_unprotects(void **state)
{
	(void)state;
	assert_int_equal(media_srtp_init(), 0);
	struct media_sdes k = {.tag = 1, .suite = MEDIA_AES_CM_128_HMAC_SHA1_80};
	media_sdes_new_key(&k);
	struct media_srtp *tx = media_srtp_new(&k, false), *rx = media_srtp_new(&k, true);
	assert_non_null(tx);
	assert_non_null(rx);
	unsigned char pkt[12 + 160 + MEDIA_SRTP_ROOM] = {0x80, 0, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4};
	memset(pkt + 12, 'a', 160);
	size_t len = 172;
	assert_int_equal(media_srtp_protect(tx, pkt, &len, false), 0);
	assert_int_equal(len, 172 + 10); /* the 80-bit tag */
	assert_memory_not_equal(pkt + 12, "aaaaaaaaaa", 10);
	unsigned char copy[sizeof(pkt)];
	memcpy(copy, pkt, len);
	size_t clen = len;
	assert_int_equal(media_srtp_unprotect(rx, pkt, &len, false), 0);
	assert_int_equal(len, 172);
	assert_memory_equal(pkt + 12, "aaaaaaaaaa", 10);
	/* a replay, and a forgery, are refused */
	assert_int_equal(media_srtp_unprotect(rx, copy, &clen, false), -1);
	copy[20] ^= 1;
	clen = 182;
	copy[3] = 2; /* a new sequence number, but the tag no longer fits */
	assert_int_equal(media_srtp_unprotect(rx, copy, &clen, false), -1);
	media_srtp_free(tx);
	media_srtp_free(rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sdes_parse_accepts_rfc_examples),
		cmocka_unit_test(sdes_parse_refuses_what_we_cannot_do),
		cmocka_unit_test(sdes_format_round_trips),
		cmocka_unit_test(srtp_protects_and_unprotects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
