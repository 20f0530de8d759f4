/*
 * media_codec — one encoder/decoder interface over G.711 (spandsp),
 * G.722 (spandsp, 64 kbit/s) and Opus (libopus at 16 kHz mono, VoIP mode,
 * with its own concealment). G.711 and G.722 conceal a lost frame by
 * repeating the last one, fading out (spandsp's plc_fillin is not used: it
 * memcpy()s overlapping history, which the sanitizers rightly refuse). The
 * table of codecs is the one place their RTP names, clocks and payload
 * types are written down.
 */
#include "media_codec.h"

#include <opus.h>
#include <spandsp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct media_codec_info codecs[MEDIA_CODEC_COUNT] = {
	[MEDIA_PCMU] = {MEDIA_PCMU, "PCMU", 8000, 1, 8000, 0},
	[MEDIA_PCMA] = {MEDIA_PCMA, "PCMA", 8000, 1, 8000, 8},
	[MEDIA_G722] = {MEDIA_G722, "G722", 8000, 1, 16000, 9},
	[MEDIA_OPUS] = {MEDIA_OPUS, "opus", 48000, 2, 16000, -1},
};

/* Opus: at most 120 ms at 16 kHz in one packet (RFC 6716 §3.2.5). */
#define OPUS_MAX_FRAME (16000 * 120 / 1000)
/* What G.711 and G.722 keep for concealment: 20 ms at 16 kHz. */
#define MEDIA_CODEC_LAST 320

struct media_codec {
	const struct media_codec_info *info;
	g711_state_t *g711;
	int16_t last[MEDIA_CODEC_LAST]; /* the last frame decoded, for concealment */
	int last_n, lost;		/* its length; frames concealed since */
	g722_encode_state_t *g722_enc;
	g722_decode_state_t *g722_dec;
	OpusEncoder *opus_enc;
	OpusDecoder *opus_dec;
};

const struct media_codec_info *media_codec_info(enum media_codec_id id)
{
	return (unsigned)id < MEDIA_CODEC_COUNT ? &codecs[id] : NULL;
}

const struct media_codec_info *media_codec_find(const char *name, size_t len, int clock)
{
	if (!name)
		return NULL;
	for (int i = 0; i < MEDIA_CODEC_COUNT; i++)
		if (strlen(codecs[i].name) == len && strncasecmp(codecs[i].name, name, len) == 0 &&
		    codecs[i].clock == clock)
			return &codecs[i];
	return NULL;
}

static bool codec_open(struct media_codec *c)
{
	int err = 0;
	switch (c->info->id) {
	case MEDIA_PCMU:
	case MEDIA_PCMA:
		c->g711 = g711_init(NULL, c->info->id == MEDIA_PCMU ? G711_ULAW : G711_ALAW);
		return c->g711 != NULL;
	case MEDIA_G722:
		c->g722_enc = g722_encode_init(NULL, 64000, 0);
		c->g722_dec = g722_decode_init(NULL, 64000, 0);
		return c->g722_enc && c->g722_dec;
	case MEDIA_OPUS:
		c->opus_enc = opus_encoder_create(16000, 1, OPUS_APPLICATION_VOIP, &err);
		if (!c->opus_enc || err != OPUS_OK)
			return false;
		c->opus_dec = opus_decoder_create(16000, 1, &err);
		return c->opus_dec && err == OPUS_OK;
	default:
		return false;
	}
}

struct media_codec *media_codec_new(enum media_codec_id id)
{
	if ((unsigned)id >= MEDIA_CODEC_COUNT)
		return NULL;
	struct media_codec *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->info = &codecs[id];
	if (!codec_open(c)) {
		media_codec_free(c);
		return NULL;
	}
	return c;
}

void media_codec_free(struct media_codec *c)
{
	if (!c)
		return;
	if (c->g711)
		g711_free(c->g711);
	if (c->g722_enc)
		g722_encode_free(c->g722_enc);
	if (c->g722_dec)
		g722_decode_free(c->g722_dec);
	if (c->opus_enc)
		opus_encoder_destroy(c->opus_enc);
	if (c->opus_dec)
		opus_decoder_destroy(c->opus_dec);
	free(c);
}

const struct media_codec_info *media_codec_of(const struct media_codec *c)
{
	return c->info;
}

int media_codec_encode(struct media_codec *c, const int16_t *pcm, int samples, uint8_t *out,
		       size_t cap)
{
	if (!pcm || !out || samples <= 0)
		return -1;
	switch (c->info->id) {
	case MEDIA_PCMU:
	case MEDIA_PCMA:
		if ((size_t)samples > cap)
			return -1;
		return g711_encode(c->g711, out, pcm, samples);
	case MEDIA_G722:
		/* two samples at 16 kHz per octet */
		if (samples % 2 || (size_t)samples / 2 > cap)
			return -1;
		return g722_encode(c->g722_enc, out, pcm, samples);
	case MEDIA_OPUS: {
		opus_int32 max = cap > 0x7fffffff ? 0x7fffffff : (opus_int32)cap;
		int n = opus_encode(c->opus_enc, pcm, samples, out, max);
		return n < 0 ? -1 : n;
	}
	default:
		return -1;
	}
}

/* A decoded frame kept for concealment (its last MEDIA_CODEC_LAST samples). */
static int codec_keep(struct media_codec *c, const int16_t *pcm, int n)
{
	int k = n < MEDIA_CODEC_LAST ? n : MEDIA_CODEC_LAST;
	memcpy(c->last, pcm + n - k, (size_t)k * sizeof(*pcm));
	c->last_n = k;
	c->lost = 0;
	return n;
}

/* The last frame again, at half the level for each frame lost in a row,
 * silence after four or with nothing decoded yet. */
static void codec_repeat(struct media_codec *c, int16_t *pcm, int samples)
{
	int shift = ++c->lost;
	if (c->last_n == 0 || shift > 4) {
		memset(pcm, 0, (size_t)samples * sizeof(*pcm));
		return;
	}
	for (int i = 0; i < samples; i++)
		pcm[i] = (int16_t)(c->last[i % c->last_n] / (1 << (shift - 1)));
}

/* A lost frame: Opus conceals it itself, the others repeat the last. */
static int codec_conceal(struct media_codec *c, int16_t *pcm, int cap, int samples)
{
	if (samples <= 0 || samples > cap)
		return -1;
	switch (c->info->id) {
	case MEDIA_OPUS: {
		int n = opus_decode(c->opus_dec, NULL, 0, pcm, samples, 0);
		if (n >= 0)
			return n;
		memset(pcm, 0, (size_t)samples * sizeof(*pcm));
		return samples;
	}
	default:
		codec_repeat(c, pcm, samples);
		return samples;
	}
}

int media_codec_decode(struct media_codec *c, const uint8_t *payload, size_t len, int16_t *pcm,
		       int cap, int samples)
{
	if (!pcm || cap <= 0)
		return -1;
	if (!payload)
		return codec_conceal(c, pcm, cap, samples);
	switch (c->info->id) {
	case MEDIA_PCMU:
	case MEDIA_PCMA: {
		if (len == 0 || len > (size_t)cap)
			return -1;
		return codec_keep(c, pcm, g711_decode(c->g711, pcm, payload, (int)len));
	}
	case MEDIA_G722:
		if (len == 0 || len > (size_t)cap / 2)
			return -1;
		return codec_keep(c, pcm, g722_decode(c->g722_dec, pcm, payload, (int)len));
	case MEDIA_OPUS: {
		if (len == 0 || len > 0x7fffffff)
			return -1;
		int n = opus_decode(c->opus_dec, payload, (opus_int32)len, pcm,
				    cap < OPUS_MAX_FRAME ? cap : OPUS_MAX_FRAME, 0);
		return n < 0 ? -1 : n;
	}
	default:
		return -1;
	}
}
