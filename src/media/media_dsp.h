/*
 * media_dsp — signal processing the media engine needs, on the field's
 * libraries: in-band DTMF detection on 8 kHz PCM (spandsp dtmf_rx),
 * tone generation (beep, dial and busy tones; spandsp tone_gen or a sine
 * table), resampling between 8, 16 and 48 kHz (speexdsp), and the level of
 * a block (for tests and silence detection). Pure: no I/O, never logs.
 */
#ifndef MEDIA_DSP_H
#define MEDIA_DSP_H

#include <stddef.h>
#include <stdint.h>

/* In-band DTMF (ITU-T Q.24 levels, as spandsp's dtmf_rx). */
struct media_dtmf_det;
struct media_dtmf_det *media_dtmf_det_new(void); /* 8000 Hz PCM */
void media_dtmf_det_free(struct media_dtmf_det *d);
/* Feeds samples; the digits detected in them (each once, at its start)
 * are written to out as a NUL-terminated string (at most cap-1). Returns
 * the number of digits. */
int media_dtmf_det_feed(struct media_dtmf_det *d, const int16_t *pcm, int samples, char *out,
			size_t cap);

/* A tone: one or two frequencies (f2 0 for one), level in dBm0 (e.g. -10),
 * cadence on_ms/off_ms (off_ms 0: continuous). */
struct media_tone;
struct media_tone *media_tone_new(int rate, int f1, int f2, int level_dbm0, int on_ms, int off_ms);
void media_tone_free(struct media_tone *t);
void media_tone_generate(struct media_tone *t, int16_t *pcm, int samples);

/* Resampling of mono 16-bit PCM. */
struct media_resampler;
struct media_resampler *media_resampler_new(int in_rate, int out_rate);
void media_resampler_free(struct media_resampler *r);
/* in_samples in → samples written to out (at most cap). */
int media_resample(struct media_resampler *r, const int16_t *in, int in_samples, int16_t *out,
		   int cap);

/* RMS level of a block in dBFS (-100 for silence). */
double media_level_dbfs(const int16_t *pcm, int samples);

#endif
