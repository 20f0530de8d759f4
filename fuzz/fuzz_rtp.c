/*
 * libFuzzer target for the RTP and telephone-event codecs (src/media):
 * the input is a series of packets, each a 2-byte big-endian length and
 * that many bytes. Each goes through media_rtp_parse (whose views must lie
 * within the packet, and whose header must write out and parse again to
 * the same fields), media_te_parse, the telephone-event receiver (never
 * the same event of one source twice), and the jitter buffer; each frame
 * the jitter buffer gives out is decoded by every codec (media_codec: a
 * payload from the wire), and what G.711 decodes to goes through the
 * in-band DTMF detector (media_dsp), as in the engine. The series also
 * goes through the SBC's RFC 4733 -> INFO converter (sbc_dtmf), whose digits
 * must be of the sixteen with a bounded duration and an INFO body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/media/media_codec.h"
#include "../src/media/media_dsp.h"
#include "../src/media/media_jb.h"
#include "../src/media/media_rtp.h"
#include "../src/sbc/sbc_dtmf.h"

static struct media_codec *codecs[MEDIA_CODEC_COUNT];
static struct media_dtmf_det *det;

/* A frame as the engine takes it from the jitter buffer: decoded (or, lost,
 * concealed) by each codec into at most 20 ms at 16 kHz. */
static void decode(const uint8_t *frame, size_t len, int got)
{
	int16_t pcm[320];
	char digits[16];
	for (int i = 0; i < MEDIA_CODEC_COUNT; i++) {
		int rate = media_codec_info((enum media_codec_id)i)->rate;
		int n = media_codec_decode(codecs[i], got == 1 ? frame : NULL, len, pcm, 320,
					   rate / 50);
		if (n > 320)
			abort();
		if (i == MEDIA_PCMU && n > 0 &&
		    media_dtmf_det_feed(det, pcm, n, digits, sizeof(digits)) >= (int)sizeof(digits))
			abort();
	}
}

static void one_packet(const uint8_t *p, size_t n, struct media_te_rx *rx, struct media_jb *jb,
		       uint32_t *last_ssrc, uint32_t *last_ts, int *reported)
{
	struct media_rtp h, h2;
	struct media_te te;
	if (media_te_parse(p, n, &te) == 0 && n < 4)
		abort();
	if (media_rtp_parse(p, n, &h) < 0)
		return;
	if (h.payload < p + MEDIA_RTP_HDR || h.payload + h.payload_len > p + n || h.pt > 127)
		abort();
	uint8_t out[65536 + 16];
	size_t w = media_rtp_write(out, sizeof(out), &h, h.payload, h.payload_len);
	if (w != MEDIA_RTP_HDR + h.payload_len || media_rtp_parse(out, w, &h2) < 0 ||
	    h2.marker != h.marker || h2.pt != h.pt || h2.seq != h.seq || h2.ts != h.ts ||
	    h2.ssrc != h.ssrc || h2.payload_len != h.payload_len ||
	    memcmp(h2.payload, h.payload, h.payload_len) != 0)
		abort();
	if (media_te_parse(h.payload, h.payload_len, &te) == 0) {
		uint8_t b[4];
		struct media_te t2;
		if (media_te_write(b, sizeof(b), &te) != 4 || media_te_parse(b, 4, &t2) < 0 ||
		    t2.event != te.event || t2.end != te.end || t2.volume != te.volume ||
		    t2.duration != te.duration)
			abort();
		char d = media_te_rx_packet(rx, &h, &te);
		if (*reported && h.ssrc != *last_ssrc)
			*reported = 0; /* another source starts over (media_rtp.h) */
		if (d) {
			if (*reported && *last_ssrc == h.ssrc && *last_ts == h.ts)
				abort(); /* the same event reported twice */
			if (media_te_event(d) != te.event)
				abort();
			*reported = 1;
			*last_ssrc = h.ssrc;
			*last_ts = h.ts;
		}
	}
	if (h.payload_len <= MEDIA_JB_PAYLOAD_MAX)
		media_jb_put(jb, h.seq, h.ts, h.payload, h.payload_len);
	uint8_t frame[MEDIA_JB_PAYLOAD_MAX];
	size_t len;
	int got = media_jb_get(jb, frame, sizeof(frame), &len, 0);
	if (got == 1 && len > MEDIA_JB_PAYLOAD_MAX)
		abort();
	if (got >= 0)
		decode(frame, len, got);
}

static void dtmf_told(char d, int ms)
{
	char body[64];
	if (d && (media_te_event(d) < 0 || ms < SBC_DTMF_MIN_MS || ms > SBC_DTMF_MAX_MS ||
		  sbc_dtmf_info_body(d, ms, body, sizeof(body)) < 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!det) { /* kept across inputs, as an engine session keeps them */
		for (int i = 0; i < MEDIA_CODEC_COUNT; i++)
			if (!(codecs[i] = media_codec_new((enum media_codec_id)i)))
				abort();
		if (!(det = media_dtmf_det_new()))
			abort();
	}
	struct media_te_rx rx;
	media_te_rx_init(&rx);
	struct media_jb *jb = media_jb_new(3);
	if (!jb)
		return 0;
	uint32_t last_ssrc = 0, last_ts = 0;
	int reported = 0;
	/* the whole input as one packet, then as a series */
	one_packet(data, size, &rx, jb, &last_ssrc, &last_ts, &reported);
	media_te_rx_init(&rx);
	reported = 0;
	size_t off = 0;
	struct sbc_dtmf_in din;
	sbc_dtmf_in_init(&din, 8000);
	int64_t now = 0;
	int ms = 0;
	while (size - off >= 2) {
		size_t n = (size_t)(data[off] << 8 | data[off + 1]);
		off += 2;
		if (n > size - off)
			n = size - off;
		one_packet(data + off, n, &rx, jb, &last_ssrc, &last_ts, &reported);
		now += 20;
		dtmf_told(sbc_dtmf_in_packet(&din, data + off, n, now, &ms), ms);
		dtmf_told(sbc_dtmf_in_tick(&din, now, &ms), ms);
		off += n;
	}
	dtmf_told(sbc_dtmf_in_tick(&din, now + SBC_DTMF_LOST_END_MS, &ms), ms);
	uint8_t frame[MEDIA_JB_PAYLOAD_MAX];
	size_t len;
	int got;
	while ((got = media_jb_get(jb, frame, sizeof(frame), &len, 1)) >= 0)
		decode(frame, len, got);
	struct media_jb_stats st;
	media_jb_stats(jb, &st);
	if (st.taken + st.late + st.duplicate > st.put)
		abort();
	media_jb_free(jb);
	return 0;
}
