/* DTMF between RFC 4733 and SIP INFO at a trunk (sbc_dtmf). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sbc/sbc_dtmf.h"
#include "../../src/sip/sip_dtmf.h"

/* A telephone-event packet of the phone's stream. */
static size_t te_pkt(uint8_t *buf, char digit, uint32_t ts, uint16_t seq, uint16_t dur, bool end,
		     bool marker)
{
	struct media_te te = {
		.event = (uint8_t)media_te_event(digit), .end = end, .volume = 10, .duration = dur};
	uint8_t pl[4];
	media_te_write(pl, 4, &te);
	struct media_rtp h = {.marker = marker, .pt = 101, .seq = seq, .ts = ts, .ssrc = 0x1234};
	return media_rtp_write(buf, 64, &h, pl, 4);
}

static void test_event_becomes_one_digit_at_its_end(void **state)
{
	(void)state;
	struct sbc_dtmf_in d;
	uint8_t b[64];
	int ms = 0;
	sbc_dtmf_in_init(&d, 8000);
	assert_int_equal(
		sbc_dtmf_in_packet(&d, b, te_pkt(b, '5', 1000, 1, 160, false, true), 0, &ms), 0);
	assert_int_equal(
		sbc_dtmf_in_packet(&d, b, te_pkt(b, '5', 1000, 2, 800, false, false), 50, &ms), 0);
	assert_int_equal(
		sbc_dtmf_in_packet(&d, b, te_pkt(b, '5', 1000, 3, 1600, true, false), 100, &ms),
		'5');
	assert_int_equal(ms, 200);
	/* the retransmitted ends tell nothing more */
	for (int i = 0; i < 2; i++)
		assert_int_equal(sbc_dtmf_in_packet(
					 &d, b,
					 te_pkt(b, '5', 1000, (uint16_t)(4 + i), 1600, true, false),
					 110, &ms),
				 0);
	assert_int_equal(sbc_dtmf_in_tick(&d, 5000, &ms), 0);
}

static void test_lost_end_is_told_by_the_tick_or_the_next_event(void **state)
{
	(void)state;
	struct sbc_dtmf_in d;
	uint8_t b[64];
	int ms = 0;
	sbc_dtmf_in_init(&d, 8000);
	sbc_dtmf_in_packet(&d, b, te_pkt(b, '1', 100, 1, 400, false, true), 0, &ms);
	assert_int_equal(sbc_dtmf_in_tick(&d, 100, &ms), 0);
	assert_int_equal(sbc_dtmf_in_tick(&d, SBC_DTMF_LOST_END_MS, &ms), '1');
	assert_int_equal(ms, 50);
	assert_int_equal(sbc_dtmf_in_tick(&d, 2000, &ms), 0);
	/* '2' without an end, then '#': '2' is told when '#' starts */
	sbc_dtmf_in_packet(&d, b, te_pkt(b, '2', 2000, 2, 800, false, true), 3000, &ms);
	assert_int_equal(
		sbc_dtmf_in_packet(&d, b, te_pkt(b, '#', 4000, 3, 160, false, true), 3100, &ms),
		'2');
	assert_int_equal(ms, 100);
	assert_int_equal(
		sbc_dtmf_in_packet(&d, b, te_pkt(b, '#', 4000, 4, 960, true, false), 3200, &ms),
		'#');
	assert_int_equal(ms, 120);
}

static void test_not_an_event_is_ignored(void **state)
{
	(void)state;
	struct sbc_dtmf_in d;
	uint8_t b[4] = {0x80, 101, 0, 1};
	int ms = 0;
	sbc_dtmf_in_init(&d, 8000);
	assert_int_equal(sbc_dtmf_in_packet(&d, b, sizeof(b), 0, &ms), 0);
	assert_int_equal(sbc_dtmf_in_tick(&d, 10000, &ms), 0);
}

static void test_info_body_reads_back(void **state)
{
	(void)state;
	char body[64];
	int n = sbc_dtmf_info_body('a', 160, body, sizeof(body));
	assert_int_equal(n, (int)strlen("Signal=A\r\nDuration=160\r\n"));
	assert_string_equal(body, "Signal=A\r\nDuration=160\r\n");
	const char *t = "application/dtmf-relay";
	assert_int_equal(sip_dtmf_info((struct sip_pl){t, strlen(t)}, (struct sip_pl){body, n}),
			 'A');
	assert_int_equal(sip_dtmf_info_duration((struct sip_pl){body, (size_t)n}), 160);
	assert_int_equal(sbc_dtmf_info_body('x', 160, body, sizeof(body)), -1);
	assert_int_equal(sbc_dtmf_info_body('1', 160, body, 8), -1);
}

static void test_info_digit_becomes_an_event_of_packets(void **state)
{
	(void)state;
	struct sbc_dtmf_out d = {0};
	uint8_t b[64];
	assert_int_equal(sbc_dtmf_out_start(&d, '7', 160, 101, 8000, 0xabc, 500, 9000, 0), 0);
	assert_int_equal(sbc_dtmf_out_start(&d, '8', 160, 101, 8000, 0xabc, 500, 9000, 0), -1);
	int64_t now = 0;
	int packets = 0, ends = 0;
	uint16_t last = 0;
	struct media_te_rx rx;
	media_te_rx_init(&rx);
	char told = 0;
	while (d.active && now < 2000) {
		size_t n = sbc_dtmf_out_next(&d, now, b, sizeof(b));
		if (n == 0) {
			assert_true(d.next_ms > now);
			now = d.next_ms;
			continue;
		}
		struct media_rtp h;
		struct media_te te;
		assert_int_equal(media_rtp_parse(b, n, &h), 0);
		assert_int_equal(media_te_parse(h.payload, h.payload_len, &te), 0);
		assert_int_equal(h.pt, 101);
		assert_int_equal(h.ssrc, 0xabc);
		assert_int_equal(h.ts, 9000); /* one event: one timestamp */
		assert_int_equal(h.seq, 500 + packets);
		assert_int_equal(h.marker, packets == 0);
		assert_int_equal(te.event, 7);
		assert_true(te.duration >= last);
		last = te.duration;
		ends += te.end;
		char c = media_te_rx_packet(&rx, &h, &te);
		if (c)
			told = c;
		packets++;
	}
	assert_false(d.active);
	assert_int_equal(ends, 3);
	assert_int_equal(last, 1280);	  /* 160 ms at 8 kHz */
	assert_int_equal(packets, 3 + 3); /* 50, 100, 150 ms; then the end three times */
	assert_int_equal(told, '7');
	assert_true(now >= 150 && now < 300);
	/* a new one may start now */
	assert_int_equal(sbc_dtmf_out_start(&d, '#', 0, 101, 8000, 0xabc, 506, 12000, now), 0);
	assert_int_equal(d.total, SBC_DTMF_DEFAULT_MS * 8);
	assert_int_equal(
		sbc_dtmf_out_start(&(struct sbc_dtmf_out){0}, 'x', 100, 101, 8000, 1, 1, 1, 0), -1);
}

static void test_durations_are_bounded(void **state)
{
	(void)state;
	struct sbc_dtmf_out d = {0};
	assert_int_equal(sbc_dtmf_out_start(&d, '1', 100000, 101, 8000, 1, 1, 1, 0), 0);
	assert_int_equal(d.total, SBC_DTMF_MAX_MS * 8);
	d = (struct sbc_dtmf_out){0};
	assert_int_equal(sbc_dtmf_out_start(&d, '1', 1, 101, 48000, 1, 1, 1, 0), 0);
	assert_int_equal(d.total, SBC_DTMF_MIN_MS * 48);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_becomes_one_digit_at_its_end),
		cmocka_unit_test(test_lost_end_is_told_by_the_tick_or_the_next_event),
		cmocka_unit_test(test_not_an_event_is_ignored),
		cmocka_unit_test(test_info_body_reads_back),
		cmocka_unit_test(test_info_digit_becomes_an_event_of_packets),
		cmocka_unit_test(test_durations_are_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
