/* A trunk's codecs in SDP (sdp_codecs): what is kept, what goes, and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sdp/sdp_codecs.h"

#define HEAD "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
#define OFFER                                                                                      \
	HEAD "m=audio 4000 RTP/AVP 9 107 8 0 101\r\n"                                              \
	     "a=rtpmap:9 G722/8000\r\n"                                                            \
	     "a=rtpmap:107 opus/48000/2\r\n"                                                       \
	     "a=fmtp:107 useinbandfec=1\r\n"                                                       \
	     "a=rtcp-fb:107 nack\r\n"                                                              \
	     "a=rtpmap:8 PCMA/8000\r\n"                                                            \
	     "a=rtpmap:0 PCMU/8000\r\n"                                                            \
	     "a=rtpmap:101 telephone-event/8000\r\n"                                               \
	     "a=fmtp:101 0-16\r\n"                                                                 \
	     "a=ptime:20\r\n"                                                                      \
	     "a=sendrecv\r\n"

static char out[4096];

static int filter(const char *sdp, const char *a, const char *b, bool te)
{
	struct sdp_codecs c = {.names = {a, b}, .n = (a != NULL) + (b != NULL), .keep_te = te};
	return sdp_codecs_filter(sdp, strlen(sdp), &c, out, sizeof(out));
}

static void test_only_allowed_codecs_stay_in_their_order(void **state)
{
	(void)state;
	int n = filter(OFFER, "PCMU", "pcma", true);
	assert_true(n > 0);
	out[n] = '\0';
	assert_non_null(strstr(out, "m=audio 4000 RTP/AVP 8 0 101\r\n"));
	assert_non_null(strstr(out, "a=rtpmap:8 PCMA/8000\r\n"));
	assert_non_null(strstr(out, "a=rtpmap:0 PCMU/8000\r\n"));
	assert_non_null(strstr(out, "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"));
	assert_null(strstr(out, "G722"));
	assert_null(strstr(out, "opus"));
	assert_null(strstr(out, ":107"));
	assert_null(strstr(out, ":9 "));
	assert_non_null(strstr(out, "a=ptime:20\r\na=sendrecv\r\n"));
}

static void test_telephone_event_goes_when_dtmf_is_info(void **state)
{
	(void)state;
	int n = filter(OFFER, "PCMA", NULL, false);
	assert_true(n > 0);
	out[n] = '\0';
	assert_non_null(strstr(out, "m=audio 4000 RTP/AVP 8\r\n"));
	assert_null(strstr(out, "telephone-event"));
	assert_null(strstr(out, "fmtp:101"));
}

static void test_static_types_without_rtpmap_are_named(void **state)
{
	(void)state;
	int n = filter(HEAD "m=audio 4000 RTP/AVP 0 8 18\r\n", "G729", "PCMA", true);
	assert_true(n > 0);
	out[n] = '\0';
	assert_non_null(strstr(out, "m=audio 4000 RTP/AVP 8 18\r\n"));
	struct sdp_session s;
	const char *t = HEAD "m=audio 4000 RTP/AVP 96 0\r\na=rtpmap:96 AMR/8000\r\n";
	assert_int_equal(sdp_parse(&s, t, strlen(t)), 0);
	assert_true(sip_pl_eq(sdp_codecs_name(&s.media[0], s.media[0].fmts[0]), "AMR"));
	assert_true(sip_pl_eq(sdp_codecs_name(&s.media[0], s.media[0].fmts[1]), "PCMU"));
	assert_int_equal(s.media[0].nfmts, 2);
}

static void test_nothing_allowed_left_is_refused(void **state)
{
	(void)state;
	assert_int_equal(filter(OFFER, "G729", NULL, true), -2);
	/* telephone-event alone is no codec */
	assert_int_equal(filter(HEAD
				"m=audio 4000 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\n",
				"PCMA", NULL, true),
			 -2);
	/* an unknown dynamic type without rtpmap is not allowed */
	assert_int_equal(filter(HEAD "m=audio 4000 RTP/AVP 96\r\n", "PCMA", NULL, true), -2);
	assert_int_equal(filter("not sdp", "PCMA", NULL, true), -1);
}

static void test_refused_description_is_left_as_it_was(void **state)
{
	(void)state;
	const char *t = HEAD "m=audio 4000 RTP/AVP 0 8\r\nm=audio 4002 RTP/AVP 9\r\n";
	struct sdp_session s;
	assert_int_equal(sdp_parse(&s, t, strlen(t)), 0);
	struct sdp_codecs c = {.names = {"PCMA"}, .n = 1};
	assert_int_equal(sdp_codecs_restrict(&s, &c), -1);
	assert_int_equal(s.media[0].nfmts, 2);
	assert_int_equal(s.media[1].nfmts, 1);
}

static void test_other_media_and_rejected_streams_untouched(void **state)
{
	(void)state;
	int n = filter(HEAD "m=audio 0 RTP/AVP 9\r\nm=video 5000 RTP/AVP 96\r\na=rtpmap:96 "
			    "H264/90000\r\nm=audio 4000 RTP/AVP 9 8\r\n",
		       "PCMA", NULL, true);
	assert_true(n > 0);
	out[n] = '\0';
	assert_non_null(strstr(out, "m=audio 0 RTP/AVP 9\r\n"));
	assert_non_null(strstr(out, "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"));
	assert_non_null(strstr(out, "m=audio 4000 RTP/AVP 8\r\n"));
}

static void test_empty_list_allows_every_codec(void **state)
{
	(void)state;
	int n = filter(OFFER, NULL, NULL, true);
	assert_true(n > 0);
	out[n] = '\0';
	assert_non_null(strstr(out, "m=audio 4000 RTP/AVP 9 107 8 0 101\r\n"));
	n = filter(OFFER, NULL, NULL, false);
	assert_true(n > 0);
	out[n] = '\0';
	assert_non_null(strstr(out, "m=audio 4000 RTP/AVP 9 107 8 0\r\n"));
}

static void test_output_too_small_is_an_error(void **state)
{
	(void)state;
	struct sdp_codecs c = {.names = {"PCMA"}, .n = 1};
	assert_int_equal(sdp_codecs_filter(OFFER, strlen(OFFER), &c, out, 20), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_only_allowed_codecs_stay_in_their_order),
		cmocka_unit_test(test_telephone_event_goes_when_dtmf_is_info),
		cmocka_unit_test(test_static_types_without_rtpmap_are_named),
		cmocka_unit_test(test_nothing_allowed_left_is_refused),
		cmocka_unit_test(test_refused_description_is_left_as_it_was),
		cmocka_unit_test(test_other_media_and_rejected_streams_untouched),
		cmocka_unit_test(test_empty_list_allows_every_codec),
		cmocka_unit_test(test_output_too_small_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
