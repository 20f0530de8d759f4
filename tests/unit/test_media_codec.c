/* media_codec: round trips through every codec, payload sizes, concealment, lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/media/media_codec.h"
#include "media_sig.h"

#define SECS 1

/* A 1 kHz sine at the codec's rate in 20 ms frames through the encoder
 * and decoder; the payload sizes must be bytes_per_frame (0: any); the
 * decoded signal is returned in out (rate * SECS samples). */
static void round_trip(enum media_codec_id id, int bytes_per_frame, int16_t *in, int16_t *out)
{
	struct media_codec *c = media_codec_new(id);
	assert_non_null(c);
	const struct media_codec_info *ci = media_codec_of(c);
	assert_int_equal(ci->id, id);
	int frame = ci->rate / 50, n = ci->rate * SECS;
	sig_sine(in, (size_t)n, 1000, ci->rate, 10000, 0);
	for (int off = 0; off < n; off += frame) {
		uint8_t pl[1500];
		int len = media_codec_encode(c, in + off, frame, pl, sizeof(pl));
		assert_true(len > 0);
		if (bytes_per_frame)
			assert_int_equal(len, bytes_per_frame);
		int got = media_codec_decode(c, pl, (size_t)len, out + off, frame, frame);
		assert_int_equal(got, frame);
	}
	media_codec_free(c);
}

static void g711_round_trips_a_tone(void **state)
{
	(void)state;
	static int16_t in[8000 * SECS], out[8000 * SECS];
	enum media_codec_id ids[] = {MEDIA_PCMU, MEDIA_PCMA};
	for (int i = 0; i < 2; i++) {
		round_trip(ids[i], 160, in, out);
		/* G.711 is sample by sample, no delay: ~38 dB for a loud sine */
		double snr = sig_snr(in, out, 8000 * SECS, 0);
		assert_true(snr > 30);
		assert_true(sig_goertzel_share(out, 8000 * SECS, 1000, 8000) > 0.95);
		/* and nothing at another frequency */
		assert_true(sig_goertzel_share(out, 8000 * SECS, 1700, 8000) < 0.01);
	}
}

static void g722_round_trips_a_tone(void **state)
{
	(void)state;
	static int16_t in[16000 * SECS], out[16000 * SECS];
	round_trip(MEDIA_G722, 160, in, out);
	/* past the QMF filters' delay */
	assert_true(sig_goertzel_share(out + 1600, 16000 * SECS - 1600, 1000, 16000) > 0.9);
	assert_true(sig_goertzel_share(out + 1600, 16000 * SECS - 1600, 3000, 16000) < 0.01);
}

static void opus_round_trips_a_tone_and_conceals(void **state)
{
	(void)state;
	static int16_t in[16000 * SECS], out[16000 * SECS];
	round_trip(MEDIA_OPUS, 0, in, out);
	assert_true(sig_goertzel_share(out + 1600, 16000 * SECS - 1600, 1000, 16000) > 0.9);
	assert_true(sig_goertzel_share(out + 1600, 16000 * SECS - 1600, 2500, 16000) < 0.01);

	struct media_codec *c = media_codec_new(MEDIA_OPUS);
	uint8_t pl[1500];
	int16_t pcm[960];
	sig_sine(pcm, 320, 1000, 16000, 10000, 0);
	int len = media_codec_encode(c, pcm, 320, pl, sizeof(pl));
	assert_true(len > 0 && len < 400);
	assert_int_equal(media_codec_decode(c, pl, (size_t)len, pcm, 960, 320), 320);
	/* a lost frame: packet loss concealment gives the samples asked for */
	assert_int_equal(media_codec_decode(c, NULL, 0, pcm, 960, 320), 320);
	/* garbage is refused or decoded, never more than cap */
	memset(pl, 0xff, 40);
	int n = media_codec_decode(c, pl, 40, pcm, 960, 320);
	assert_true(n <= 960);
	/* a frame size opus does not know, and a packet that does not fit */
	assert_int_equal(media_codec_encode(c, pcm, 123, pl, sizeof(pl)), -1);
	len = media_codec_encode(c, pcm, 320, pl, sizeof(pl));
	assert_int_equal(media_codec_decode(c, pl, (size_t)len, pcm, 160, 160), -1);
	media_codec_free(c);
}

static void g711_and_g722_conceal_and_refuse(void **state)
{
	(void)state;
	enum media_codec_id ids[] = {MEDIA_PCMU, MEDIA_PCMA, MEDIA_G722};
	for (int i = 0; i < 3; i++) {
		struct media_codec *c = media_codec_new(ids[i]);
		int frame = media_codec_of(c)->rate / 50;
		int16_t pcm[320];
		uint8_t pl[320];
		sig_sine(pcm, (size_t)frame, 1000, media_codec_of(c)->rate, 8000, 0);
		int len = media_codec_encode(c, pcm, frame, pl, sizeof(pl));
		assert_int_equal(len, 160);
		assert_int_equal(media_codec_decode(c, pl, 160, pcm, frame, frame), frame);
		assert_int_equal(media_codec_decode(c, NULL, 0, pcm, frame, frame), frame);
		/* a payload whose PCM would not fit, an output buffer too small */
		assert_int_equal(media_codec_decode(c, pl, 160, pcm, frame - 1, frame), -1);
		assert_int_equal(media_codec_encode(c, pcm, frame, pl, 159), -1);
		assert_int_equal(media_codec_decode(c, NULL, 0, pcm, 10, frame), -1);
		media_codec_free(c);
	}
	/* G.711 concealment continues the tone rather than going silent, then fades */
	struct media_codec *c = media_codec_new(MEDIA_PCMU);
	int16_t pcm[160 * 10];
	uint8_t pl[160];
	for (int f = 0; f < 9; f++) {
		sig_sine(pcm + f * 160, 160, 1000, 8000, 8000, (size_t)f * 160);
		media_codec_encode(c, pcm + f * 160, 160, pl, sizeof(pl));
		media_codec_decode(c, pl, 160, pcm + f * 160, 160, 160);
	}
	assert_int_equal(media_codec_decode(c, NULL, 0, pcm + 9 * 160, 160, 160), 160);
	assert_true(sig_goertzel_share(pcm + 9 * 160, 160, 1000, 8000) > 0.5);
	double first = sig_level_dbfs(pcm + 9 * 160, 160);
	assert_true(first > -20);
	for (int f = 0; f < 3; f++)
		assert_int_equal(media_codec_decode(c, NULL, 0, pcm, 160, 160), 160);
	assert_true(sig_level_dbfs(pcm, 160) < first - 15);
	for (int f = 0; f < 2; f++)
		assert_int_equal(media_codec_decode(c, NULL, 0, pcm, 160, 160), 160);
	assert_true(sig_level_dbfs(pcm, 160) < -90);
	media_codec_free(c);
}

static void codec_find_by_name_and_clock(void **state)
{
	(void)state;
	const struct media_codec_info *ci = media_codec_find("PCMU", 4, 8000);
	assert_non_null(ci);
	assert_int_equal(ci->id, MEDIA_PCMU);
	assert_int_equal(ci->static_pt, 0);
	assert_ptr_equal(media_codec_find("pcma", 4, 8000), media_codec_info(MEDIA_PCMA));
	assert_int_equal(media_codec_info(MEDIA_PCMA)->static_pt, 8);
	ci = media_codec_find("g722", 4, 8000);
	assert_non_null(ci);
	assert_int_equal(ci->rate, 16000);
	assert_int_equal(ci->static_pt, 9);
	ci = media_codec_find("opus", 4, 48000);
	assert_non_null(ci);
	assert_int_equal(ci->id, MEDIA_OPUS);
	assert_int_equal(ci->channels, 2);
	assert_int_equal(ci->rate, 16000);
	assert_int_equal(ci->static_pt, -1);
	assert_ptr_equal(media_codec_find("OPUS", 4, 48000), ci);
	/* a view: the length decides, not a NUL */
	assert_ptr_equal(media_codec_find("PCMU/8000", 4, 8000), media_codec_info(MEDIA_PCMU));
	assert_null(media_codec_find("opus", 4, 16000));
	assert_null(media_codec_find("G722", 4, 16000));
	assert_null(media_codec_find("PCM", 3, 8000));
	assert_null(media_codec_find("PCMUX", 5, 8000));
	assert_null(media_codec_find("GSM", 3, 8000));
	assert_null(media_codec_find(NULL, 0, 8000));
	assert_null(media_codec_info(MEDIA_CODEC_COUNT));
	assert_null(media_codec_new(MEDIA_CODEC_COUNT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(g711_round_trips_a_tone),
		cmocka_unit_test(g722_round_trips_a_tone),
		cmocka_unit_test(opus_round_trips_a_tone_and_conceals),
		cmocka_unit_test(g711_and_g722_conceal_and_refuse),
		cmocka_unit_test(codec_find_by_name_and_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
