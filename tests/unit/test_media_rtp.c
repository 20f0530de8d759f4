/* media_rtp: RTP parse/write, RFC 4733 payloads and the telephone-event receiver. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/media/media_rtp.h"

static void rtp_write_then_parse_round_trips(void **state)
{
	(void)state;
	uint8_t buf[200], pl[160];
	for (size_t i = 0; i < sizeof(pl); i++)
		pl[i] = (uint8_t)i;
	struct media_rtp h = {
		.marker = true, .pt = 101, .seq = 65535, .ts = 0xfedcba98, .ssrc = 0x01020304};
	size_t n = media_rtp_write(buf, sizeof(buf), &h, pl, sizeof(pl));
	assert_int_equal(n, 12 + 160);
	assert_int_equal(buf[0], 0x80);
	assert_int_equal(buf[1], 0x80 | 101);
	struct media_rtp p;
	assert_int_equal(media_rtp_parse(buf, n, &p), 0);
	assert_true(p.marker);
	assert_int_equal(p.pt, 101);
	assert_int_equal(p.seq, 65535);
	assert_int_equal(p.ts, 0xfedcba98);
	assert_int_equal(p.ssrc, 0x01020304);
	assert_int_equal(p.payload_len, 160);
	assert_ptr_equal(p.payload, buf + 12);
	assert_memory_equal(p.payload, pl, 160);

	/* no marker, an empty payload, and a buffer one byte short */
	h.marker = false;
	h.pt = 0;
	assert_int_equal(media_rtp_write(buf, sizeof(buf), &h, NULL, 0), 12);
	assert_int_equal(media_rtp_parse(buf, 12, &p), 0);
	assert_false(p.marker);
	assert_int_equal(p.pt, 0);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(media_rtp_write(buf, 12 + 159, &h, pl, 160), 0);
	assert_int_equal(media_rtp_write(buf, 11, &h, NULL, 0), 0);
}

static void rtp_parse_skips_csrc_extension_and_padding(void **state)
{
	(void)state;
	uint8_t b[64] = {0};
	/* V=2 P=1 X=1 CC=2 */
	b[0] = 0x80 | 0x20 | 0x10 | 2;
	b[1] = 8;
	b[3] = 7;
	size_t off = 12 + 8; /* two CSRCs */
	b[off + 0] = 0xbe;   /* profile 0xbede (RFC 8285) */
	b[off + 1] = 0xde;
	b[off + 3] = 1; /* one word of extension */
	off += 8;
	memcpy(b + off, "abcde", 5);
	off += 5;
	b[off++] = 0;
	b[off++] = 0;
	b[off++] = 3; /* three octets of padding */
	struct media_rtp p;
	assert_int_equal(media_rtp_parse(b, off, &p), 0);
	assert_int_equal(p.pt, 8);
	assert_int_equal(p.seq, 7);
	assert_int_equal(p.payload_len, 5);
	assert_memory_equal(p.payload, "abcde", 5);
	assert_ptr_equal(p.payload, b + 28);
}

static void rtp_parse_refuses_malformed_lengths(void **state)
{
	(void)state;
	uint8_t b[40] = {0x80, 0, 0, 1};
	struct media_rtp p;
	assert_int_equal(media_rtp_parse(b, 11, &p), -1);
	assert_int_equal(media_rtp_parse(b, 0, &p), -1);
	assert_int_equal(media_rtp_parse(NULL, 20, &p), -1);
	/* CSRC count beyond the packet */
	b[0] = 0x80 | 3;
	assert_int_equal(media_rtp_parse(b, 12 + 11, &p), -1);
	assert_int_equal(media_rtp_parse(b, 12 + 12, &p), 0);
	/* extension header cut short, extension length beyond the packet */
	b[0] = 0x90;
	assert_int_equal(media_rtp_parse(b, 15, &p), -1);
	b[14] = 0;
	b[15] = 2; /* 8 octets */
	assert_int_equal(media_rtp_parse(b, 16 + 7, &p), -1);
	assert_int_equal(media_rtp_parse(b, 16 + 8, &p), 0);
	assert_int_equal(p.payload_len, 0);
	/* padding of 0, and padding longer than the payload */
	memset(b, 0, sizeof(b));
	b[0] = 0xa0;
	b[19] = 0;
	assert_int_equal(media_rtp_parse(b, 20, &p), -1);
	b[19] = 9;
	assert_int_equal(media_rtp_parse(b, 20, &p), -1);
	b[19] = 8;
	assert_int_equal(media_rtp_parse(b, 20, &p), 0);
	assert_int_equal(p.payload_len, 0);
}

static void rtp_parse_refuses_other_versions(void **state)
{
	(void)state;
	uint8_t b[20] = {0x80};
	struct media_rtp p;
	assert_int_equal(media_rtp_parse(b, 20, &p), 0);
	for (int v = 0; v < 4; v++) {
		if (v == 2)
			continue;
		b[0] = (uint8_t)(v << 6);
		assert_int_equal(media_rtp_parse(b, 20, &p), -1);
	}
}

static void te_payload_round_trips_and_maps_digits(void **state)
{
	(void)state;
	struct media_te te = {.event = 11, .end = true, .volume = 10, .duration = 1600}, o;
	uint8_t b[4];
	assert_int_equal(media_te_write(b, 3, &te), 0);
	assert_int_equal(media_te_write(b, 4, &te), 4);
	assert_int_equal(b[0], 11);
	assert_int_equal(b[1], 0x80 | 10);
	assert_int_equal(b[2], 1600 >> 8);
	assert_int_equal(b[3], 1600 & 0xff);
	assert_int_equal(media_te_parse(b, 3, &o), -1);
	assert_int_equal(media_te_parse(b, 4, &o), 0);
	assert_int_equal(o.event, 11);
	assert_true(o.end);
	assert_int_equal(o.volume, 10);
	assert_int_equal(o.duration, 1600);
	/* the reserved bit is ignored */
	b[1] = 0x40 | 5;
	assert_int_equal(media_te_parse(b, 4, &o), 0);
	assert_false(o.end);
	assert_int_equal(o.volume, 5);

	const char *all = "0123456789*#ABCD";
	for (int i = 0; i < 16; i++) {
		assert_int_equal(media_te_digit((uint8_t)i), all[i]);
		assert_int_equal(media_te_event(all[i]), i);
	}
	assert_int_equal(media_te_event('c'), 14);
	assert_int_equal(media_te_digit(16), 0); /* flash */
	assert_int_equal(media_te_digit(255), 0);
	assert_int_equal(media_te_event('E'), -1);
	assert_int_equal(media_te_event(0), -1);
}

/* one telephone-event packet through the receiver */
static char te_pkt(struct media_te_rx *rx, uint32_t ssrc, uint16_t seq, uint32_t ts, int event,
		   bool end, uint16_t dur)
{
	struct media_rtp h = {.pt = 101, .seq = seq, .ts = ts, .ssrc = ssrc};
	struct media_te te = {.event = (uint8_t)event, .end = end, .volume = 10, .duration = dur};
	uint8_t pl[4], pkt[16];
	media_te_write(pl, sizeof(pl), &te);
	size_t n = media_rtp_write(pkt, sizeof(pkt), &h, pl, sizeof(pl));
	struct media_rtp p;
	struct media_te t;
	assert_int_equal(media_rtp_parse(pkt, n, &p), 0);
	assert_int_equal(media_te_parse(p.payload, p.payload_len, &t), 0);
	return media_te_rx_packet(rx, &p, &t);
}

static void te_rx_reports_a_digit_once(void **state)
{
	(void)state;
	struct media_te_rx rx;
	media_te_rx_init(&rx);
	assert_int_equal(te_pkt(&rx, 1, 10, 8000, 5, false, 160), '5');
	assert_int_equal(te_pkt(&rx, 1, 11, 8000, 5, false, 320), 0);
	assert_int_equal(te_pkt(&rx, 1, 12, 8000, 5, false, 480), 0);
	assert_int_equal(te_pkt(&rx, 1, 13, 8000, 5, true, 640), 0);
	assert_int_equal(te_pkt(&rx, 1, 14, 8000, 5, true, 640), 0);
	assert_int_equal(te_pkt(&rx, 1, 15, 8000, 5, true, 640), 0);
	/* the next digit */
	assert_int_equal(te_pkt(&rx, 1, 16, 9600, 11, false, 160), '#');
	assert_int_equal(te_pkt(&rx, 1, 17, 9600, 11, true, 320), 0);
}

static void te_rx_reports_a_digit_whose_start_was_lost(void **state)
{
	(void)state;
	struct media_te_rx rx;
	media_te_rx_init(&rx);
	/* start and continuations lost: the first end packet reports it */
	assert_int_equal(te_pkt(&rx, 1, 13, 8000, 1, true, 640), '1');
	assert_int_equal(te_pkt(&rx, 1, 14, 8000, 1, true, 640), 0);
	assert_int_equal(te_pkt(&rx, 1, 15, 8000, 1, true, 640), 0);
	/* only a continuation got through of the next */
	assert_int_equal(te_pkt(&rx, 1, 17, 9600, 2, false, 320), '2');
	/* and nothing of its end */
	assert_int_equal(te_pkt(&rx, 1, 21, 11200, 3, false, 160), '3');
}

static void te_rx_ignores_duplicates_and_reordering(void **state)
{
	(void)state;
	struct media_te_rx rx;
	media_te_rx_init(&rx);
	assert_int_equal(te_pkt(&rx, 7, 11, 8000, 9, false, 320), '9');
	assert_int_equal(te_pkt(&rx, 7, 10, 8000, 9, false, 160), 0); /* reordered start */
	assert_int_equal(te_pkt(&rx, 7, 11, 8000, 9, false, 320), 0); /* duplicate */
	assert_int_equal(te_pkt(&rx, 7, 12, 8000, 9, true, 480), 0);
	assert_int_equal(te_pkt(&rx, 7, 20, 16000, 4, false, 160), '4');
	/* a straggling end of the earlier event, after the next one began */
	assert_int_equal(te_pkt(&rx, 7, 13, 8000, 9, true, 480), 0);
	assert_int_equal(te_pkt(&rx, 7, 21, 16000, 4, true, 320), 0);
}

static void te_rx_reports_the_same_digit_twice_in_a_row(void **state)
{
	(void)state;
	struct media_te_rx rx;
	media_te_rx_init(&rx);
	assert_int_equal(te_pkt(&rx, 1, 1, 1000, 0, false, 160), '0');
	assert_int_equal(te_pkt(&rx, 1, 2, 1000, 0, true, 320), 0);
	assert_int_equal(te_pkt(&rx, 1, 3, 1000, 0, true, 320), 0);
	assert_int_equal(te_pkt(&rx, 1, 4, 1000, 0, true, 320), 0);
	assert_int_equal(te_pkt(&rx, 1, 5, 2600, 0, false, 160), '0');
	assert_int_equal(te_pkt(&rx, 1, 6, 2600, 0, true, 320), 0);
	/* across the timestamp's wrap */
	assert_int_equal(te_pkt(&rx, 1, 7, 0xffffff00u, 0, true, 320), 0); /* older: ignored */
	media_te_rx_init(&rx);
	assert_int_equal(te_pkt(&rx, 1, 7, 0xffffff00u, 6, true, 320), '6');
	assert_int_equal(te_pkt(&rx, 1, 8, 0x00000100u, 6, false, 160), '6');
	assert_int_equal(te_pkt(&rx, 1, 9, 0xffffff00u, 6, true, 320), 0);
}

static void te_rx_starts_over_on_a_new_ssrc(void **state)
{
	(void)state;
	struct media_te_rx rx;
	media_te_rx_init(&rx);
	assert_int_equal(te_pkt(&rx, 1, 1, 5000, 7, false, 160), '7');
	/* another source, the same timestamp by chance: a new event */
	assert_int_equal(te_pkt(&rx, 2, 900, 5000, 7, false, 160), '7');
	assert_int_equal(te_pkt(&rx, 2, 901, 5000, 7, true, 320), 0);
	/* a new source whose timestamps are behind the old one's */
	assert_int_equal(te_pkt(&rx, 3, 50, 100, 8, false, 160), '8');
	/* non-digit events (flash) report nothing but are an event */
	assert_int_equal(te_pkt(&rx, 3, 51, 900, 16, false, 160), 0);
	assert_int_equal(te_pkt(&rx, 3, 52, 900, 16, true, 320), 0);
}

static void te_rx_reports_a_long_event_once_across_its_segments(void **state)
{
	(void)state;
	struct media_te_rx rx;
	media_te_rx_init(&rx);
	/* a key held 3 s at a 48 kHz clock: segments of 0xFFFF, packets every 50 ms */
	uint32_t ts = 1000;
	uint16_t seq = 1;
	int reported = 0;
	for (int seg = 0; seg < 3; seg++) {
		for (uint32_t dur = 2400; dur <= 0xffff; dur += 2400)
			reported += te_pkt(&rx, 9, seq++, ts, 5, false, (uint16_t)dur) == '5';
		reported += te_pkt(&rx, 9, seq++, ts, 5, false, 0xffff) == '5';
		ts += 0xffff;
	}
	reported += te_pkt(&rx, 9, seq++, ts, 5, true, 2400) == '5';
	assert_int_equal(reported, 1);
	/* the segment's last packets lost: still the same press */
	media_te_rx_init(&rx);
	assert_int_equal(te_pkt(&rx, 9, 1, 5000, 2, false, 60000), '2');
	assert_int_equal(te_pkt(&rx, 9, 4, 5000 + 0xffff, 2, false, 4800), 0);
	/* but after an end, or with a short duration, it is a new press */
	media_te_rx_init(&rx);
	assert_int_equal(te_pkt(&rx, 9, 1, 5000, 2, false, 60000), '2');
	assert_int_equal(te_pkt(&rx, 9, 2, 5000, 2, true, 0xffff), 0);
	assert_int_equal(te_pkt(&rx, 9, 3, 5000 + 0xffff, 2, false, 2400), '2');
	assert_int_equal(te_pkt(&rx, 9, 4, 5000 + 0xffff + 4000, 2, false, 800), '2');
	/* another key at the segment boundary is a new press */
	media_te_rx_init(&rx);
	assert_int_equal(te_pkt(&rx, 9, 1, 5000, 2, false, 0xffff), '2');
	assert_int_equal(te_pkt(&rx, 9, 2, 5000 + 0xffff, 3, false, 2400), '3');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rtp_write_then_parse_round_trips),
		cmocka_unit_test(rtp_parse_skips_csrc_extension_and_padding),
		cmocka_unit_test(rtp_parse_refuses_malformed_lengths),
		cmocka_unit_test(rtp_parse_refuses_other_versions),
		cmocka_unit_test(te_payload_round_trips_and_maps_digits),
		cmocka_unit_test(te_rx_reports_a_digit_once),
		cmocka_unit_test(te_rx_reports_a_digit_whose_start_was_lost),
		cmocka_unit_test(te_rx_ignores_duplicates_and_reordering),
		cmocka_unit_test(te_rx_reports_the_same_digit_twice_in_a_row),
		cmocka_unit_test(te_rx_starts_over_on_a_new_ssrc),
		cmocka_unit_test(te_rx_reports_a_long_event_once_across_its_segments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
