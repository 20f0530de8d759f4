/* DTMF in SIP INFO bodies (sip_dtmf). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sip/sip_dtmf.h"

static char info(const char *type, const char *body)
{
	return sip_dtmf_info((struct sip_pl){type, strlen(type)},
			     (struct sip_pl){body, strlen(body)});
}

static void test_dtmf_relay_signal(void **state)
{
	(void)state;
	assert_int_equal(info("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"), '5');
	assert_int_equal(info("application/dtmf-relay", "Duration=160\r\nSignal= #\r\n"), '#');
	assert_int_equal(info("Application/DTMF-Relay", "signal = *\n"), '*');
	assert_int_equal(info("application/dtmf-relay", "Signal=a\r\n"), 'A');
	assert_int_equal(info("application/dtmf-relay;charset=x", "Signal=0"), '0');
}

static void test_dtmf_digit_alone(void **state)
{
	(void)state;
	assert_int_equal(info("application/dtmf", "7"), '7');
	assert_int_equal(info("application/dtmf", " 9\r\n"), '9');
}

static void test_no_digit(void **state)
{
	(void)state;
	assert_int_equal(info("application/dtmf-relay", "Duration=160\r\n"), 0);
	assert_int_equal(info("application/dtmf-relay", "Signal=x\r\n"), 0);
	assert_int_equal(info("application/dtmf-relay", "Signals=5\r\n"), 0);
	assert_int_equal(info("application/dtmf-relay", "Signal\r\n=5"), 0);
	assert_int_equal(info("application/dtmf", "Signal=5"), 0); /* not this type's body */
	assert_int_equal(info("application/dtmfx", "5"), 0);
	assert_int_equal(info("application/sdp", "5"), 0);
	assert_int_equal(info("application/dtmf", ""), 0);
	assert_int_equal(sip_dtmf_info((struct sip_pl){0}, (struct sip_pl){0}), 0);
}

static int duration(const char *body)
{
	return sip_dtmf_info_duration((struct sip_pl){body, strlen(body)});
}

static void test_dtmf_relay_duration(void **state)
{
	(void)state;
	assert_int_equal(duration("Signal=5\r\nDuration=160\r\n"), 160);
	assert_int_equal(duration("duration = 250\nSignal=1"), 250);
	assert_int_equal(duration("Signal=5\r\n"), -1);
	assert_int_equal(duration("Signal=5\r\nDuration=abc\r\n"), -1);
	assert_int_equal(duration("Duration=99999999999\r\n"), -1);
	assert_int_equal(duration("Duration=\r\n"), -1);
	assert_int_equal(duration(""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dtmf_relay_signal),
		cmocka_unit_test(test_dtmf_digit_alone),
		cmocka_unit_test(test_no_digit),
		cmocka_unit_test(test_dtmf_relay_duration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
