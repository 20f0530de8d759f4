/* Hold and resume in SDP (sdp_hold): which offers hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sdp/sdp_hold.h"

#define BASE                                                                                       \
	"v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"                \
	"m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

static int dir(const char *s)
{
	return sdp_audio_dir(s, strlen(s));
}

static void test_directions_of_offers(void **state)
{
	(void)state;
	assert_int_equal(dir(BASE), SDP_SENDRECV);
	assert_int_equal(dir(BASE "a=sendonly\r\n"), SDP_SENDONLY);
	assert_int_equal(dir(BASE "a=inactive\r\n"), SDP_INACTIVE);
	assert_int_equal(dir(BASE "a=recvonly\r\n"), SDP_RECVONLY);
	assert_int_equal(dir(BASE "a=sendrecv\r\n"), SDP_SENDRECV);
	assert_int_equal(dir("not sdp"), -1);
}

static void test_session_direction_and_old_style_hold(void **state)
{
	(void)state;
	assert_int_equal(dir("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 "
			     "0\r\nm=audio 4000 RTP/AVP 0\r\n"),
			 SDP_SENDONLY);
	assert_int_equal(dir("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 "
			     "0\r\na=inactive\r\nm=audio 4000 RTP/AVP 0\r\n"),
			 SDP_INACTIVE);
	assert_true(sdp_dir_is_hold(SDP_SENDONLY) && sdp_dir_is_hold(SDP_INACTIVE));
	assert_false(sdp_dir_is_hold(SDP_SENDRECV) || sdp_dir_is_hold(SDP_RECVONLY) ||
		     sdp_dir_is_hold(-1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_directions_of_offers),
		cmocka_unit_test(test_session_direction_and_old_style_hold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
