/*
 * media_dsp — in-band DTMF detection (spandsp's dtmf_rx, Q.24 limits),
 * tone generation (a phase accumulator per frequency, so any sampling
 * rate works; spandsp's tone_gen is fixed at 8 kHz), resampling (speexdsp,
 * its leading zeros skipped so output lines up with input), and the RMS
 * level of a block.
 */
#include "media_dsp.h"

#include <math.h>
#include <spandsp.h>
#include <speex/speex_resampler.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* dBm0 of a full-scale sine (G.711's digital milliwatt is 3.14 dB below) */
#define MEDIA_DBM0_FULL_SINE 3.14

struct media_dtmf_det {
	dtmf_rx_state_t *rx;
};

struct media_dtmf_det *media_dtmf_det_new(void)
{
	struct media_dtmf_det *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	if (!(d->rx = dtmf_rx_init(NULL, NULL, NULL))) {
		free(d);
		return NULL;
	}
	return d;
}

void media_dtmf_det_free(struct media_dtmf_det *d)
{
	if (!d)
		return;
	dtmf_rx_free(d->rx);
	free(d);
}

/* Digits beyond cap - 1 stay in spandsp's queue for the next call. */
int media_dtmf_det_feed(struct media_dtmf_det *d, const int16_t *pcm, int samples, char *out,
			size_t cap)
{
	if (cap == 0)
		return 0;
	out[0] = '\0';
	if (pcm && samples > 0)
		dtmf_rx(d->rx, pcm, samples);
	int max = cap - 1 > 127 ? 127 : (int)(cap - 1);
	size_t n = max > 0 ? dtmf_rx_get(d->rx, out, max) : 0;
	out[n] = '\0';
	return (int)n;
}

struct media_tone {
	double step[2]; /* phase per sample, in cycles */
	double phase[2];
	double amp; /* of each frequency */
	int nf;
	long on, off, pos; /* cadence in samples; pos within on + off */
};

struct media_tone *media_tone_new(int rate, int f1, int f2, int level_dbm0, int on_ms, int off_ms)
{
	if (rate < 8000 || rate > 192000 || f1 <= 0 || f1 >= rate / 2 || f2 < 0 || f2 >= rate / 2 ||
	    level_dbm0 > 3 || level_dbm0 < -90 || on_ms < 0 || off_ms < 0 || on_ms > 3600000 ||
	    off_ms > 3600000)
		return NULL;
	struct media_tone *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->nf = f2 ? 2 : 1;
	t->step[0] = (double)f1 / rate;
	t->step[1] = (double)f2 / rate;
	t->amp = 32767.0 * pow(10.0, (level_dbm0 - MEDIA_DBM0_FULL_SINE) / 20.0);
	if (t->nf == 2 && t->amp > 16383)
		t->amp = 16383; /* two at full scale would clip */
	t->off = (long)off_ms * rate / 1000;
	t->on = off_ms && on_ms ? (long)on_ms * rate / 1000 : 0; /* 0: continuous */
	return t;
}

void media_tone_free(struct media_tone *t)
{
	free(t);
}

void media_tone_generate(struct media_tone *t, int16_t *pcm, int samples)
{
	for (int i = 0; i < samples; i++) {
		bool sound = t->on == 0 || t->pos < t->on;
		double v = 0;
		for (int k = 0; k < t->nf; k++) {
			if (sound)
				v += sin(2 * M_PI * t->phase[k]);
			t->phase[k] += t->step[k];
			if (t->phase[k] >= 1)
				t->phase[k] -= 1;
		}
		pcm[i] = (int16_t)lrint(v * t->amp);
		if (t->on && ++t->pos >= t->on + t->off)
			t->pos = 0;
	}
}

struct media_resampler {
	int in_rate, out_rate;
	SpeexResamplerState *st; /* NULL when the rates are equal */
};

struct media_resampler *media_resampler_new(int in_rate, int out_rate)
{
	if (in_rate < 1000 || in_rate > 384000 || out_rate < 1000 || out_rate > 384000)
		return NULL;
	struct media_resampler *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->in_rate = in_rate;
	r->out_rate = out_rate;
	if (in_rate != out_rate) {
		int err = 0;
		r->st = speex_resampler_init(1, (spx_uint32_t)in_rate, (spx_uint32_t)out_rate,
					     SPEEX_RESAMPLER_QUALITY_DEFAULT, &err);
		if (!r->st || err != RESAMPLER_ERR_SUCCESS) {
			if (r->st)
				speex_resampler_destroy(r->st);
			free(r);
			return NULL;
		}
		speex_resampler_skip_zeros(r->st);
	}
	return r;
}

void media_resampler_free(struct media_resampler *r)
{
	if (!r)
		return;
	if (r->st)
		speex_resampler_destroy(r->st);
	free(r);
}

/* All of the input is consumed, or -1 (cap too small: nothing is dropped
 * silently). */
int media_resample(struct media_resampler *r, const int16_t *in, int in_samples, int16_t *out,
		   int cap)
{
	if (in_samples < 0 || cap < 0 || (in_samples && !in))
		return -1;
	if (!r->st) {
		if (in_samples > cap)
			return -1;
		memcpy(out, in, (size_t)in_samples * sizeof(*in));
		return in_samples;
	}
	int done = 0, written = 0;
	while (done < in_samples) {
		spx_uint32_t ilen = (spx_uint32_t)(in_samples - done);
		spx_uint32_t olen = (spx_uint32_t)(cap - written);
		if (speex_resampler_process_int(r->st, 0, in + done, &ilen, out + written, &olen) !=
		    RESAMPLER_ERR_SUCCESS)
			return -1;
		done += (int)ilen;
		written += (int)olen;
		if (ilen == 0 && olen == 0)
			return -1; /* no room left */
	}
	return written;
}

double media_level_dbfs(const int16_t *pcm, int samples)
{
	double e = 0;
	for (int i = 0; i < samples; i++)
		e += (double)pcm[i] * pcm[i];
	if (samples <= 0 || e <= 0)
		return -100;
	double db = 10 * log10(e / samples / (32768.0 * 32768.0));
	return db < -100 ? -100 : db;
}
