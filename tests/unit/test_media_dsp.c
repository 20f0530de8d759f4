/* media_dsp: in-band DTMF, tones, resampling and levels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/media/media_dsp.h"
#include "media_sig.h"

/* amplitude of a sine at dBm0 (a full-scale sine is +3.14 dBm0) */
static double dbm0_amp(double dbm0)
{
	return 32767.0 * pow(10.0, (dbm0 - 3.14) / 20.0);
}

/* white noise (uniform) whose RMS is that of a sine at dbm0 */
static double dbm0_noise_amp(double dbm0)
{
	return dbm0_amp(dbm0) / sqrt(2.0) * sqrt(3.0);
}

static const char keys[] = "123A456B789C*0#D";
static const int rows[4] = {697, 770, 852, 941}, cols[4] = {1209, 1336, 1477, 1633};

/* Feeds n samples in 20 ms blocks; appends what was detected to got. */
static void feed(struct media_dtmf_det *d, const int16_t *pcm, size_t n, char *got, size_t cap)
{
	for (size_t off = 0; off < n; off += 160) {
		char out[8];
		int k = media_dtmf_det_feed(d, pcm + off, (int)(n - off < 160 ? n - off : 160), out,
					    sizeof(out));
		assert_int_equal((size_t)k, strlen(out));
		assert_true(strlen(got) + strlen(out) < cap);
		strcat(got, out);
	}
}

static void dtmf_detects_all_16_digits_in_noise_once(void **state)
{
	(void)state;
	struct media_dtmf_det *d = media_dtmf_det_new();
	assert_non_null(d);
	char got[64] = "";
	uint32_t seed = 42;
	enum { TONE = 800, GAP = 800 }; /* 100 ms each, at 8 kHz */
	static int16_t buf[TONE + GAP], a[TONE], b[TONE];
	for (int i = 0; i < 16; i++) {
		sig_sine(a, TONE, rows[i / 4], 8000, dbm0_amp(-20), 0);
		sig_sine(b, TONE, cols[i % 4], 8000, dbm0_amp(-20), 0);
		sig_noise(buf, TONE + GAP, dbm0_noise_amp(-45), &seed);
		for (int k = 0; k < TONE; k++)
			buf[k] = (int16_t)(buf[k] + a[k] + b[k]);
		feed(d, buf, TONE + GAP, got, sizeof(got));
	}
	assert_string_equal(got, "123A456B789C*0#D");
	media_dtmf_det_free(d);
	media_dtmf_det_free(NULL);
}

static void dtmf_detects_the_digits_of_our_own_tones(void **state)
{
	(void)state;
	/* media_tone makes DTMF too: every key, 80 ms on, 80 ms off */
	struct media_dtmf_det *d = media_dtmf_det_new();
	char got[64] = "";
	static int16_t buf[1280];
	for (int i = 0; i < 16; i++) {
		struct media_tone *t = media_tone_new(8000, rows[i / 4], cols[i % 4], -10, 80, 80);
		assert_non_null(t);
		media_tone_generate(t, buf, 1280); /* 160 ms: one key press */
		media_tone_free(t);
		feed(d, buf, 1280, got, sizeof(got));
	}
	assert_string_equal(got, keys);
	media_dtmf_det_free(d);
}

static void dtmf_finds_nothing_in_speech_like_noise_or_a_tone(void **state)
{
	(void)state;
	struct media_dtmf_det *d = media_dtmf_det_new();
	char got[64] = "";
	enum { N = 8000 * 5 };
	int16_t *buf = malloc(N * sizeof(*buf));
	assert_non_null(buf);
	/* "speech": white noise through a low-pass (a voice's spectral tilt),
	 * in 4 Hz syllables */
	uint32_t seed = 7;
	sig_noise(buf, N, 20000, &seed);
	double y = 0;
	for (int i = 0; i < N; i++) {
		y = 0.85 * y + 0.15 * buf[i];
		double env = 0.5 + 0.5 * sin(2 * M_PI * 4 * i / 8000.0);
		buf[i] = (int16_t)lrint(y * env);
	}
	assert_true(media_level_dbfs(buf, N) > -35);
	feed(d, buf, N, got, sizeof(got));
	assert_string_equal(got, "");
	/* a 1 kHz tone, loud */
	sig_sine(buf, N, 1000, 8000, dbm0_amp(-6), 0);
	feed(d, buf, N, got, sizeof(got));
	assert_string_equal(got, "");
	/* one frequency of a pair alone */
	sig_sine(buf, N, 770, 8000, dbm0_amp(-10), 0);
	feed(d, buf, N, got, sizeof(got));
	assert_string_equal(got, "");
	/* a dial tone (350 + 440 Hz) */
	struct media_tone *t = media_tone_new(8000, 350, 440, -13, 0, 0);
	media_tone_generate(t, buf, N);
	media_tone_free(t);
	feed(d, buf, N, got, sizeof(got));
	assert_string_equal(got, "");
	free(buf);
	media_dtmf_det_free(d);
}

static void dtmf_keeps_digits_that_do_not_fit_for_the_next_call(void **state)
{
	(void)state;
	struct media_dtmf_det *d = media_dtmf_det_new();
	static int16_t buf[1280 * 3];
	const char *seq = "159";
	for (int i = 0; i < 3; i++) {
		int e = seq[i] == '1' ? 0 : seq[i] == '5' ? 5 : 10;
		struct media_tone *t = media_tone_new(8000, rows[e / 4], cols[e % 4], -10, 80, 80);
		media_tone_generate(t, buf + i * 1280, 1280);
		media_tone_free(t);
	}
	char out[2];
	assert_int_equal(media_dtmf_det_feed(d, buf, 1280 * 3, out, sizeof(out)), 1);
	assert_string_equal(out, "1");
	assert_int_equal(media_dtmf_det_feed(d, NULL, 0, out, sizeof(out)), 1);
	assert_string_equal(out, "5");
	assert_int_equal(media_dtmf_det_feed(d, NULL, 0, out, sizeof(out)), 1);
	assert_string_equal(out, "9");
	assert_int_equal(media_dtmf_det_feed(d, NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	media_dtmf_det_free(d);
}

static void tone_has_its_level_frequency_and_cadence(void **state)
{
	(void)state;
	static int16_t buf[16000];
	int rates[] = {8000, 16000, 48000};
	for (int r = 0; r < 3; r++) {
		int rate = rates[r], n = rate / 4;
		struct media_tone *t = media_tone_new(rate, 1000, 0, -10, 0, 0);
		assert_non_null(t);
		/* in pieces: the phase continues */
		media_tone_generate(t, buf, 77);
		media_tone_generate(t, buf + 77, n - 77);
		media_tone_free(t);
		assert_true(sig_goertzel_share(buf, (size_t)n, 1000, rate) > 0.99);
		/* -10 dBm0 = -13.14 dBFS for a sine's peak, RMS 3 dB lower */
		double db = media_level_dbfs(buf, n);
		assert_true(fabs(db - (-10 - 3.14 - 3.01)) < 0.2);
	}
	/* a busy tone: 480 + 620 Hz, 500 ms on, 500 ms off */
	struct media_tone *t = media_tone_new(8000, 480, 620, -20, 500, 500);
	media_tone_generate(t, buf, 16000);
	media_tone_free(t);
	for (int s = 0; s < 4; s++) {
		const int16_t *p = buf + s * 4000;
		if (s % 2) {
			assert_true(media_level_dbfs(p, 4000) <= -100);
		} else {
			assert_true(sig_goertzel_share(p, 4000, 480, 8000) > 0.45);
			assert_true(sig_goertzel_share(p, 4000, 620, 8000) > 0.45);
			/* two at -20 dBm0 each: 3 dB above one */
			assert_true(fabs(media_level_dbfs(p, 4000) - (-20 - 6.15 + 3.01)) < 0.3);
		}
	}
	assert_null(media_tone_new(8000, 5000, 0, -10, 0, 0)); /* above Nyquist */
	assert_null(media_tone_new(8000, 0, 0, -10, 0, 0));
	assert_null(media_tone_new(0, 440, 0, -10, 0, 0));
	media_tone_free(NULL);
}

static void resampler_keeps_a_tone_8k_16k_8k(void **state)
{
	(void)state;
	enum { N = 8000 };
	static int16_t in[N], up[2 * N + 64], down[N + 64];
	sig_sine(in, N, 1000, 8000, 10000, 0);
	struct media_resampler *u = media_resampler_new(8000, 16000);
	struct media_resampler *d = media_resampler_new(16000, 8000);
	assert_non_null(u);
	assert_non_null(d);
	/* in 20 ms frames, as the engine does */
	int nu = 0, nd = 0;
	for (int off = 0; off < N; off += 160) {
		int k = media_resample(u, in + off, 160, up + nu, (int)(sizeof(up) / 2) - nu);
		assert_true(k >= 0);
		nu += k;
	}
	assert_in_range(nu, 2 * N - 100, 2 * N);
	assert_true(sig_goertzel_share(up + 200, (size_t)nu - 200, 1000, 16000) > 0.98);
	nd = media_resample(d, up, nu, down, (int)(sizeof(down) / 2));
	assert_in_range(nd, N - 100, N);
	assert_true(sig_goertzel_share(down + 100, (size_t)nd - 100, 1000, 8000) > 0.98);
	assert_true(fabs(media_level_dbfs(down + 100, nd - 200) - media_level_dbfs(in, N)) < 0.5);
	/* without leading zeros: the output lines up with the input */
	assert_true(sig_snr(in + 200, down + 200, (size_t)nd - 400, 0) > 20);
	/* an output buffer too small is refused, not filled and truncated */
	assert_int_equal(media_resample(u, in, 160, up, 100), -1);
	media_resampler_free(u);
	media_resampler_free(d);
	/* the same rate copies; 48 kHz works; nonsense rates are refused */
	struct media_resampler *same = media_resampler_new(16000, 16000);
	assert_int_equal(media_resample(same, in, 320, up, 320), 320);
	assert_memory_equal(up, in, 640);
	assert_int_equal(media_resample(same, in, 320, up, 319), -1);
	media_resampler_free(same);
	struct media_resampler *hi = media_resampler_new(16000, 48000);
	assert_non_null(hi);
	int k = media_resample(hi, in, 320, up, 2 * N);
	assert_in_range(k, 800, 960); /* less the filter's latency */
	media_resampler_free(hi);
	assert_null(media_resampler_new(0, 8000));
	assert_null(media_resampler_new(8000, -1));
	media_resampler_free(NULL);
}

static void level_in_dbfs(void **state)
{
	(void)state;
	static int16_t buf[8000];
	memset(buf, 0, sizeof(buf));
	assert_true(media_level_dbfs(buf, 8000) == -100);
	assert_true(media_level_dbfs(buf, 0) == -100);
	sig_sine(buf, 8000, 1000, 8000, 32767, 0);
	assert_true(fabs(media_level_dbfs(buf, 8000) - (-3.01)) < 0.05);
	sig_sine(buf, 8000, 1000, 8000, 3277, 0);
	assert_true(fabs(media_level_dbfs(buf, 8000) - (-23.01)) < 0.05);
	for (int i = 0; i < 8000; i++)
		buf[i] = i % 2 ? -32768 : 32767; /* a full-scale square */
	assert_true(fabs(media_level_dbfs(buf, 8000)) < 0.01);
	buf[0] = 1;
	assert_true(media_level_dbfs(buf, 1) <= -90);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dtmf_detects_all_16_digits_in_noise_once),
		cmocka_unit_test(dtmf_detects_the_digits_of_our_own_tones),
		cmocka_unit_test(dtmf_finds_nothing_in_speech_like_noise_or_a_tone),
		cmocka_unit_test(dtmf_keeps_digits_that_do_not_fit_for_the_next_call),
		cmocka_unit_test(tone_has_its_level_frequency_and_cadence),
		cmocka_unit_test(resampler_keeps_a_tone_8k_16k_8k),
		cmocka_unit_test(level_in_dbfs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
