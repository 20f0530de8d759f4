/* media_audio: WAV round trips, resampling, mixing down, OGG/Vorbis, Opus,
 * FLAC and MP3 made by libsndfile's own writer, and refused files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sndfile.h>

#include "../../src/media/media_audio.h"
#include "media_sig.h"

/* A file written by libsndfile itself (to a temporary file, read back). */
static uint8_t *sndfile_make(int format, int channels, int rate, const int16_t *pcm,
			     sf_count_t frames, size_t *len)
{
	char path[] = "/tmp/test_media_audio_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
	SNDFILE *sf = sf_open_fd(fd, SFM_WRITE, &info, SF_TRUE);
	if (!sf) {
		unlink(path);
		return NULL;
	}
	assert_int_equal(sf_writef_short(sf, pcm, frames), frames);
	assert_int_equal(sf_close(sf), 0);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(path);
	*len = (size_t)n;
	return buf;
}

static void wav_round_trips(void **state)
{
	(void)state;
	enum { N = 8000 };
	static int16_t pcm[N];
	uint32_t seed = 1;
	sig_noise(pcm, N, 30000, &seed);
	pcm[0] = -32768;
	pcm[1] = 32767;
	void *wav;
	size_t len;
	assert_int_equal(media_audio_wav(pcm, N, 8000, &wav, &len), 0);
	assert_int_equal(len, 44 + 2 * N);
	assert_memory_equal(wav, "RIFF", 4);
	struct media_pcm p;
	const char *why = "x";
	assert_int_equal(media_audio_decode(wav, len, 8000, &p, &why), 0);
	assert_null(why);
	assert_int_equal(p.rate, 8000);
	assert_int_equal(p.n, N);
	assert_memory_equal(p.samples, pcm, sizeof(pcm));
	media_pcm_free(&p);
	assert_null(p.samples);
	free(wav);
	/* at 16 kHz as well */
	assert_int_equal(media_audio_wav(pcm, N, 16000, &wav, &len), 0);
	assert_int_equal(media_audio_decode(wav, len, 16000, &p, &why), 0);
	assert_int_equal(p.n, N);
	assert_memory_equal(p.samples, pcm, sizeof(pcm));
	media_pcm_free(&p);
	free(wav);
	/* nonsense is refused */
	assert_int_equal(media_audio_wav(pcm, N, 0, &wav, &len), -1);
	assert_int_equal(media_audio_wav(NULL, N, 8000, &wav, &len), -1);
	media_pcm_free(NULL);
}

static void decode_resamples_to_the_rate_asked(void **state)
{
	(void)state;
	enum { N = 16000 };
	static int16_t pcm[N];
	sig_sine(pcm, N, 1000, 16000, 12000, 0);
	void *wav;
	size_t len;
	assert_int_equal(media_audio_wav(pcm, N, 16000, &wav, &len), 0);
	struct media_pcm p;
	const char *why;
	assert_int_equal(media_audio_decode(wav, len, 8000, &p, &why), 0);
	assert_int_equal(p.rate, 8000);
	assert_int_equal(p.n, N / 2);
	assert_true(sig_goertzel_share(p.samples, p.n, 1000, 8000) > 0.97);
	/* the end is there too, not lost in the filter */
	assert_true(sig_level_dbfs(p.samples + p.n - 400, 300) > -12);
	media_pcm_free(&p);
	assert_int_equal(media_audio_decode(wav, len, 48000, &p, &why), 0);
	assert_int_equal(p.n, 3 * N);
	assert_true(sig_goertzel_share(p.samples, p.n, 1000, 48000) > 0.97);
	media_pcm_free(&p);
	/* a rate the engine does not use */
	assert_int_equal(media_audio_decode(wav, len, 100, &p, &why), -1);
	assert_non_null(why);
	free(wav);
}

static void stereo_is_mixed_to_mono(void **state)
{
	(void)state;
	enum { N = 8000 };
	static int16_t st[2 * N], l[N], r[N];
	sig_sine(l, N, 1000, 8000, 10000, 0);
	sig_sine(r, N, 1000, 8000, 10000, 0);
	for (int i = 0; i < N; i++) {
		st[2 * i] = l[i];
		st[2 * i + 1] = (int16_t)-r[i]; /* opposite phase: cancels */
	}
	size_t len;
	uint8_t *f = sndfile_make(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 2, 8000, st, N, &len);
	assert_non_null(f);
	struct media_pcm p;
	const char *why;
	assert_int_equal(media_audio_decode(f, len, 8000, &p, &why), 0);
	assert_int_equal(p.n, N);
	assert_true(sig_level_dbfs(p.samples, (int)p.n) < -80);
	media_pcm_free(&p);
	free(f);
	/* the same phase: the tone at its level; one channel silent: half */
	for (int i = 0; i < N; i++) {
		st[2 * i + 1] = r[i];
	}
	f = sndfile_make(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 2, 8000, st, N, &len);
	assert_int_equal(media_audio_decode(f, len, 8000, &p, &why), 0);
	assert_true(sig_snr(l, p.samples, N, 0) > 60);
	media_pcm_free(&p);
	free(f);
	for (int i = 0; i < N; i++)
		st[2 * i + 1] = 0;
	f = sndfile_make(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 2, 8000, st, N, &len);
	assert_int_equal(media_audio_decode(f, len, 8000, &p, &why), 0);
	assert_true(fabs(sig_level_dbfs(p.samples, p.n) - (sig_level_dbfs(l, N) - 6.02)) < 0.1);
	media_pcm_free(&p);
	free(f);
}

/* A 1 kHz tone at 16 kHz in a compressed format, decoded at 8 kHz. */
static void compressed_keeps_a_tone(int format, const char *name)
{
	enum { N = 16000 * 2 };
	static int16_t pcm[N];
	sig_sine(pcm, N, 1000, 16000, 12000, 0);
	size_t len;
	uint8_t *f = sndfile_make(format, 1, 16000, pcm, N, &len);
	if (!f)
		fail_msg("libsndfile cannot write %s here", name);
	assert_true(len < (size_t)N); /* it is compressed */
	struct media_pcm p;
	const char *why = NULL;
	int rc = media_audio_decode(f, len, 8000, &p, &why);
	if (rc != 0)
		fail_msg("%s: %s", name, why);
	/* the encoder's delay and padding: within 100 ms */
	assert_in_range(p.n, N / 2 - 800, N / 2 + 800);
	assert_true(sig_goertzel_share(p.samples + 800, p.n - 1600, 1000, 8000) > 0.9);
	assert_true(sig_level_dbfs(p.samples + 800, (int)p.n - 1600) > -12);
	media_pcm_free(&p);
	/* cut in half: still decodes what is there, or is refused with a reason
	 * (and, as the sanitizers check, without a leak in libsndfile) */
	rc = media_audio_decode(f, len / 2, 8000, &p, &why);
	if (rc == 0)
		media_pcm_free(&p);
	else
		assert_non_null(why);
	/* the same behind bytes that are not Ogg (libsndfile skips them) */
	uint8_t *g = malloc(len / 2 + 16);
	memcpy(g, "OggS junk junk..", 16);
	memcpy(g + 16, f, len / 2);
	rc = media_audio_decode(g, len / 2 + 16, 8000, &p, &why);
	if (rc == 0)
		media_pcm_free(&p);
	else
		assert_non_null(why);
	free(g);
	/* and behind an ID3v2 tag */
	g = malloc(len / 2 + 20);
	memcpy(g,
	       "ID3\3\0\0\0\0\0\n"
	       "0123456789",
	       20); /* 10 bytes of tag */
	memcpy(g + 20, f, len / 2);
	rc = media_audio_decode(g, len / 2 + 20, 8000, &p, &why);
	if (rc == 0)
		media_pcm_free(&p);
	else
		assert_non_null(why);
	free(g);
	free(f);
}

static void ogg_vorbis_decodes(void **state)
{
	(void)state;
	compressed_keeps_a_tone(SF_FORMAT_OGG | SF_FORMAT_VORBIS, "OGG/Vorbis");
}

static void ogg_opus_and_flac_decode(void **state)
{
	(void)state;
	compressed_keeps_a_tone(SF_FORMAT_OGG | SF_FORMAT_OPUS, "OGG/Opus");
	compressed_keeps_a_tone(SF_FORMAT_FLAC | SF_FORMAT_PCM_16, "FLAC");
}

static void mp3_decodes(void **state)
{
	(void)state;
	/* Debian's libsndfile 1.2 writes MP3 through LAME */
	compressed_keeps_a_tone(SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, "MP3");
}

static void refuses_what_is_not_audio_with_a_reason(void **state)
{
	(void)state;
	struct media_pcm p;
	const char *why = NULL;
	assert_int_equal(media_audio_decode("", 0, 8000, &p, &why), -1);
	assert_string_equal(why, "the file is empty");
	assert_null(p.samples);
	why = NULL;
	assert_int_equal(media_audio_decode(NULL, 10, 8000, &p, &why), -1);
	assert_non_null(why);
	/* garbage: text, and random bytes */
	const char *text = "<html><body>this is not a sound</body></html>\n";
	why = NULL;
	assert_int_equal(media_audio_decode(text, strlen(text), 8000, &p, &why), -1);
	assert_string_equal(why, "not an audio file libsndfile reads");
	static uint8_t junk[4096];
	uint32_t seed = 3;
	for (size_t i = 0; i < sizeof(junk); i++) {
		seed = seed * 1103515245u + 12345u;
		junk[i] = (uint8_t)(seed >> 16);
	}
	why = NULL;
	assert_int_equal(media_audio_decode(junk, sizeof(junk), 8000, &p, &why), -1);
	assert_non_null(why);
	/* a WAV file cut inside its header */
	static int16_t pcm[800];
	void *wav;
	size_t len;
	assert_int_equal(media_audio_wav(pcm, 800, 8000, &wav, &len), 0);
	for (size_t cut = 1; cut < 44; cut += 7) {
		why = NULL;
		assert_int_equal(media_audio_decode(wav, cut, 8000, &p, &why), -1);
		assert_non_null(why);
	}
	/* the header alone: no audio */
	why = NULL;
	assert_int_equal(media_audio_decode(wav, 44, 8000, &p, &why), -1);
	assert_non_null(why);
	free(wav);
	/* fewer samples than make one at the rate asked (found by fuzz_audio) */
	assert_int_equal(media_audio_wav(pcm, 10, 300000, &wav, &len), 0);
	why = NULL;
	assert_int_equal(media_audio_decode(wav, len, 8000, &p, &why), -1);
	assert_string_equal(why, "holds no audio");
	assert_null(p.samples);
	free(wav);
	/* a WAV file of no samples */
	assert_int_equal(media_audio_wav(NULL, 0, 8000, &wav, &len), 0);
	why = NULL;
	assert_int_equal(media_audio_decode(wav, len, 8000, &p, &why), -1);
	assert_string_equal(why, "holds no audio");
	free(wav);
}

static void refuses_a_file_longer_than_the_limit(void **state)
{
	(void)state;
	/* at 1 kHz so the file is small: MEDIA_AUDIO_MAX_SECONDS + 1 s */
	size_t n = (size_t)(MEDIA_AUDIO_MAX_SECONDS + 1) * 1000;
	int16_t *pcm = calloc(n, sizeof(*pcm));
	assert_non_null(pcm);
	void *wav;
	size_t len;
	assert_int_equal(media_audio_wav(pcm, n, 1000, &wav, &len), 0);
	struct media_pcm p;
	const char *why = NULL;
	assert_int_equal(media_audio_decode(wav, len, 8000, &p, &why), -1);
	assert_string_equal(why, "longer than 3600 s");
	/* a header that understates the length (a data chunk "to the end",
	 * 0xffffffff, as streaming writers leave it) is counted while reading */
	uint8_t *b = wav;
	assert_memory_equal(b + 36, "data", 4);
	memset(b + 40, 0xff, 4);
	why = NULL;
	assert_int_equal(media_audio_decode(wav, len, 8000, &p, &why), -1);
	assert_non_null(why);
	free(wav);
	/* and just under the limit is accepted (at 8 kHz: no resampling) */
	free(pcm);
	free(NULL);
	n = (size_t)MEDIA_AUDIO_MAX_SECONDS * 8000 / 60; /* one minute is enough to show it */
	pcm = calloc(n, sizeof(*pcm));
	assert_int_equal(media_audio_wav(pcm, n, 8000, &wav, &len), 0);
	assert_int_equal(media_audio_decode(wav, len, 8000, &p, &why), 0);
	assert_int_equal(p.n, n);
	media_pcm_free(&p);
	free(wav);
	free(pcm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wav_round_trips),
		cmocka_unit_test(decode_resamples_to_the_rate_asked),
		cmocka_unit_test(stereo_is_mixed_to_mono),
		cmocka_unit_test(ogg_vorbis_decodes),
		cmocka_unit_test(ogg_opus_and_flac_decode),
		cmocka_unit_test(mp3_decodes),
		cmocka_unit_test(refuses_what_is_not_audio_with_a_reason),
		cmocka_unit_test(refuses_a_file_longer_than_the_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
