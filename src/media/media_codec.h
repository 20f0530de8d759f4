/*
 * media_codec — the audio codecs the media engine speaks: PCMU and PCMA
 * (G.711, spandsp), G.722 (spandsp; RTP clock 8000 although it samples at
 * 16 kHz, RFC 3551 §4.5.2) and Opus (libopus; RTP clock 48000, RFC 7587),
 * behind one encoder/decoder interface on 16-bit mono PCM at the codec's
 * own sampling rate (8000 for G.711, 16000 for G.722 and Opus, which is
 * decoded and encoded at 16 kHz). Pure: no I/O, never logs.
 */
#ifndef MEDIA_CODEC_H
#define MEDIA_CODEC_H

#include <stddef.h>
#include <stdint.h>

enum media_codec_id { MEDIA_PCMU, MEDIA_PCMA, MEDIA_G722, MEDIA_OPUS, MEDIA_CODEC_COUNT };

struct media_codec_info {
	enum media_codec_id id;
	const char *name; /* as in a=rtpmap: "PCMU", "PCMA", "G722", "opus" */
	int clock;	  /* RTP clock rate: 8000, 8000, 8000, 48000 */
	int channels;	  /* in a=rtpmap: 1, or 2 for opus ("opus/48000/2") */
	int rate;	  /* PCM sampling rate of encode/decode: 8000 or 16000 */
	int static_pt;	  /* 0, 8, 9, or -1 (dynamic) */
};

const struct media_codec_info *media_codec_info(enum media_codec_id id);
/* By rtpmap encoding name and clock (case-insensitive name); NULL if not ours. */
const struct media_codec_info *media_codec_find(const char *name, size_t len, int clock);

struct media_codec;
/* An encoder and decoder pair for one stream; NULL on allocation failure. */
struct media_codec *media_codec_new(enum media_codec_id id);
void media_codec_free(struct media_codec *c);
const struct media_codec_info *media_codec_of(const struct media_codec *c);
/* samples of PCM at the codec's rate (20 ms: rate / 50) → payload bytes,
 * or -1. */
int media_codec_encode(struct media_codec *c, const int16_t *pcm, int samples, uint8_t *out,
		       size_t cap);
/* A payload → PCM samples written (at most cap), or -1 if it cannot be
 * decoded. payload NULL: conceal one lost frame of `samples` (Opus PLC,
 * silence/repeat for the others); returns the samples written. */
int media_codec_decode(struct media_codec *c, const uint8_t *payload, size_t len, int16_t *pcm,
		       int cap, int samples);

#endif
