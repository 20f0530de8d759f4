/* media_jb: order, reordering, loss, duplicates, late packets, wrap, flush, new streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/media/media_jb.h"

/* a payload that names its sequence number */
static void put(struct media_jb *jb, uint16_t seq)
{
	uint8_t pl[3] = {(uint8_t)(seq >> 8), (uint8_t)seq, 0xaa};
	media_jb_put(jb, seq, (uint32_t)seq * 160, pl, sizeof(pl));
}

/* the next get: -1, 0, or the sequence number of the frame given */
static int get(struct media_jb *jb, int flush)
{
	uint8_t out[MEDIA_JB_PAYLOAD_MAX];
	size_t len = 99;
	int r = media_jb_get(jb, out, sizeof(out), &len, flush);
	if (r <= 0) {
		assert_int_equal(len, 0);
		return r;
	}
	assert_int_equal(len, 3);
	assert_int_equal(out[2], 0xaa);
	return 1000000 + (out[0] << 8 | out[1]);
}
#define FRAME(seq) (1000000 + (seq))

static void jb_gives_frames_in_order_after_filling(void **state)
{
	(void)state;
	struct media_jb *jb = media_jb_new(3);
	assert_non_null(jb);
	assert_int_equal(get(jb, 0), -1); /* empty */
	put(jb, 100);
	assert_int_equal(get(jb, 0), -1);
	put(jb, 101);
	assert_int_equal(get(jb, 0), -1);
	put(jb, 102);
	assert_int_equal(get(jb, 0), FRAME(100));
	for (int s = 103; s < 200; s++) {
		put(jb, (uint16_t)s);
		assert_int_equal(get(jb, 0), FRAME(s - 2));
	}
	assert_int_equal(get(jb, 0), FRAME(198));
	assert_int_equal(get(jb, 0), FRAME(199));
	assert_int_equal(get(jb, 0), -1); /* the stream stopped */
	struct media_jb_stats st;
	media_jb_stats(jb, &st);
	assert_int_equal(st.put, 100);
	assert_int_equal(st.taken, 100);
	assert_int_equal(st.lost + st.late + st.duplicate + st.overflow, 0);
	media_jb_free(jb);
	assert_null(media_jb_new(0));
	assert_null(media_jb_new(65));
	media_jb_free(NULL);
}

static void jb_reorders_within_its_depth(void **state)
{
	(void)state;
	struct media_jb *jb = media_jb_new(3);
	/* the first packets swapped: the start moves back */
	put(jb, 11);
	put(jb, 10);
	put(jb, 13);
	assert_int_equal(get(jb, 0), FRAME(10));
	put(jb, 12);
	assert_int_equal(get(jb, 0), FRAME(11));
	put(jb, 15);
	assert_int_equal(get(jb, 0), FRAME(12));
	put(jb, 14);
	assert_int_equal(get(jb, 0), FRAME(13));
	assert_int_equal(get(jb, 0), FRAME(14));
	assert_int_equal(get(jb, 0), FRAME(15));
	struct media_jb_stats st;
	media_jb_stats(jb, &st);
	assert_int_equal(st.taken, 6);
	assert_int_equal(st.lost + st.late, 0);
	media_jb_free(jb);
}

static void jb_reports_a_lost_frame_as_0(void **state)
{
	(void)state;
	struct media_jb *jb = media_jb_new(2);
	put(jb, 1);
	put(jb, 2);
	assert_int_equal(get(jb, 0), FRAME(1));
	put(jb, 4); /* 3 lost */
	assert_int_equal(get(jb, 0), FRAME(2));
	put(jb, 5);
	assert_int_equal(get(jb, 0), 0);
	assert_int_equal(get(jb, 0), FRAME(4));
	assert_int_equal(get(jb, 0), FRAME(5));
	struct media_jb_stats st;
	media_jb_stats(jb, &st);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.taken, 4);
	media_jb_free(jb);
}

static void jb_drops_and_counts_duplicates_and_late_packets(void **state)
{
	(void)state;
	struct media_jb *jb = media_jb_new(2);
	put(jb, 1);
	put(jb, 1); /* duplicate while held */
	put(jb, 2);
	assert_int_equal(get(jb, 0), FRAME(1));
	put(jb, 1); /* a copy of what was given out: late */
	put(jb, 4);
	assert_int_equal(get(jb, 0), FRAME(2));
	assert_int_equal(get(jb, 0), 0); /* 3 */
	put(jb, 3);			 /* arrives after it was given up */
	put(jb, 5);
	put(jb, 5);
	assert_int_equal(get(jb, 0), FRAME(4));
	assert_int_equal(get(jb, 0), FRAME(5));
	assert_int_equal(get(jb, 0), -1);
	struct media_jb_stats st;
	media_jb_stats(jb, &st);
	assert_int_equal(st.put, 8);
	assert_int_equal(st.duplicate, 2);
	assert_int_equal(st.late, 2);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.taken, 4);
	assert_int_equal(st.overflow, 0);
	/* a payload larger than a frame can be is refused */
	uint8_t big[MEDIA_JB_PAYLOAD_MAX + 1] = {0};
	media_jb_put(jb, 6, 0, big, sizeof(big));
	media_jb_stats(jb, &st);
	assert_int_equal(st.overflow, 1);
	media_jb_free(jb);
}

static void jb_handles_the_sequence_wrap(void **state)
{
	(void)state;
	struct media_jb *jb = media_jb_new(3);
	put(jb, 65534);
	put(jb, 0); /* 65535 late */
	put(jb, 1);
	assert_int_equal(get(jb, 0), FRAME(65534));
	put(jb, 65535);
	assert_int_equal(get(jb, 0), FRAME(65535));
	put(jb, 2);
	assert_int_equal(get(jb, 0), FRAME(0));
	assert_int_equal(get(jb, 0), FRAME(1));
	assert_int_equal(get(jb, 0), FRAME(2));
	/* reordered across the wrap at the start */
	struct media_jb *j2 = media_jb_new(3);
	put(j2, 0);
	put(j2, 65535);
	put(j2, 1);
	assert_int_equal(get(j2, 0), FRAME(65535));
	assert_int_equal(get(j2, 0), FRAME(0));
	assert_int_equal(get(j2, 0), FRAME(1));
	/* a long stream through many wraps */
	for (int i = 2; i < 3 * 65536; i++) {
		put(j2, (uint16_t)i);
		assert_int_equal(get(j2, 0), FRAME((uint16_t)i));
	}
	struct media_jb_stats st;
	media_jb_stats(j2, &st);
	assert_int_equal(st.lost + st.late + st.duplicate + st.overflow, 0);
	media_jb_free(j2);
	media_jb_free(jb);
}

static void jb_flushes_what_it_holds_at_the_end(void **state)
{
	(void)state;
	struct media_jb *jb = media_jb_new(5);
	put(jb, 7);
	put(jb, 9);
	assert_int_equal(get(jb, 0), -1); /* still filling */
	assert_int_equal(get(jb, 1), FRAME(7));
	assert_int_equal(get(jb, 1), 0);
	assert_int_equal(get(jb, 1), FRAME(9));
	assert_int_equal(get(jb, 1), -1);
	media_jb_free(jb);
}

static void jb_keeps_time_over_a_pause_and_a_loss(void **state)
{
	(void)state;
	struct media_jb *jb = media_jb_new(2);
	put(jb, 1);
	put(jb, 2);
	assert_int_equal(get(jb, 0), FRAME(1));
	assert_int_equal(get(jb, 0), FRAME(2));
	/* a pause (silence suppression): nothing due, the sequence goes on */
	assert_int_equal(get(jb, 0), -1);
	assert_int_equal(get(jb, 0), -1);
	put(jb, 3);
	assert_int_equal(get(jb, 0), FRAME(3));
	/* 4, 5, 6 lost while the reader was told nothing is due: not again */
	assert_int_equal(get(jb, 0), -1);
	assert_int_equal(get(jb, 0), -1);
	assert_int_equal(get(jb, 0), -1);
	put(jb, 7);
	assert_int_equal(get(jb, 0), FRAME(7));
	/* a longer gap than the reader waited: the rest is lost */
	assert_int_equal(get(jb, 0), -1);
	put(jb, 11); /* 8, 9, 10 lost */
	assert_int_equal(get(jb, 0), 0);
	assert_int_equal(get(jb, 0), 0);
	assert_int_equal(get(jb, 0), FRAME(11));
	struct media_jb_stats st;
	media_jb_stats(jb, &st);
	assert_int_equal(st.lost, 6);
	assert_int_equal(st.taken, 5);
	media_jb_free(jb);
}

static void jb_follows_a_new_stream_far_ahead(void **state)
{
	(void)state;
	struct media_jb *jb = media_jb_new(2);
	put(jb, 100);
	put(jb, 101);
	assert_int_equal(get(jb, 0), FRAME(100));
	put(jb, 102);
	/* one stray packet far ahead: held aside, the stream goes on */
	put(jb, 30000);
	assert_int_equal(get(jb, 0), FRAME(101));
	put(jb, 103);
	assert_int_equal(get(jb, 0), FRAME(102));
	/* a new stream: 40000, 40001 continue each other */
	put(jb, 40000);
	put(jb, 40001);
	assert_int_equal(get(jb, 0), FRAME(40000));
	put(jb, 40002);
	assert_int_equal(get(jb, 0), FRAME(40001));
	assert_int_equal(get(jb, 0), FRAME(40002));
	struct media_jb_stats st;
	media_jb_stats(jb, &st);
	/* the stray packet, 40000 replacing it aside, and 103 dropped at the switch */
	assert_int_equal(st.overflow, 2);
	assert_int_equal(st.taken, 6);
	assert_int_equal(st.lost, 0);
	/* and a new stream behind the old one */
	put(jb, 5);
	put(jb, 6);
	put(jb, 7);
	assert_int_equal(get(jb, 0), FRAME(5));
	assert_int_equal(get(jb, 0), FRAME(6));
	media_jb_free(jb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jb_gives_frames_in_order_after_filling),
		cmocka_unit_test(jb_reorders_within_its_depth),
		cmocka_unit_test(jb_reports_a_lost_frame_as_0),
		cmocka_unit_test(jb_drops_and_counts_duplicates_and_late_packets),
		cmocka_unit_test(jb_handles_the_sequence_wrap),
		cmocka_unit_test(jb_flushes_what_it_holds_at_the_end),
		cmocka_unit_test(jb_keeps_time_over_a_pause_and_a_loss),
		cmocka_unit_test(jb_follows_a_new_stream_far_ahead),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
