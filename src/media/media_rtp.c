/*
 * media_rtp — RTP packets (RFC 3550 §5.1) parsed into views and written
 * into a caller's buffer; RFC 4733 telephone-event payloads, their digit
 * mapping, and the receiver that reports each event's digit once. Pure.
 */
#include "media_rtp.h"

#include <string.h>

int media_rtp_parse(const uint8_t *buf, size_t len, struct media_rtp *out)
{
	if (!buf || len < MEDIA_RTP_HDR || (buf[0] >> 6) != 2)
		return -1;
	size_t off = MEDIA_RTP_HDR + 4 * (size_t)(buf[0] & 0x0f);
	if (off > len)
		return -1;
	if (buf[0] & 0x10) { /* header extension: 16-bit profile, 16-bit length in words */
		if (len - off < 4)
			return -1;
		size_t ext = 4 * (size_t)((buf[off + 2] << 8) | buf[off + 3]);
		off += 4;
		if (ext > len - off)
			return -1;
		off += ext;
	}
	size_t end = len;
	if (buf[0] & 0x20) { /* padding: its last octet counts itself */
		size_t pad = buf[len - 1];
		if (pad == 0 || pad > len - off)
			return -1;
		end -= pad;
	}
	out->marker = (buf[1] & 0x80) != 0;
	out->pt = buf[1] & 0x7f;
	out->seq = (uint16_t)((buf[2] << 8) | buf[3]);
	out->ts = ((uint32_t)buf[4] << 24) | ((uint32_t)buf[5] << 16) | ((uint32_t)buf[6] << 8) |
		  buf[7];
	out->ssrc = ((uint32_t)buf[8] << 24) | ((uint32_t)buf[9] << 16) | ((uint32_t)buf[10] << 8) |
		    buf[11];
	out->payload = buf + off;
	out->payload_len = end - off;
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

size_t media_rtp_write(uint8_t *buf, size_t cap, const struct media_rtp *h, const uint8_t *payload,
		       size_t len)
{
	if (!buf || cap < MEDIA_RTP_HDR || len > cap - MEDIA_RTP_HDR || (len && !payload))
		return 0;
	buf[0] = 0x80;
	buf[1] = (uint8_t)((h->marker ? 0x80 : 0) | (h->pt & 0x7f));
	buf[2] = (uint8_t)(h->seq >> 8);
	buf[3] = (uint8_t)h->seq;
	put32(buf + 4, h->ts);
	put32(buf + 8, h->ssrc);
	if (len)
		memcpy(buf + MEDIA_RTP_HDR, payload, len);
	return MEDIA_RTP_HDR + len;
}

int media_te_parse(const uint8_t *p, size_t len, struct media_te *out)
{
	if (!p || len < 4)
		return -1;
	out->event = p[0];
	out->end = (p[1] & 0x80) != 0;
	out->volume = p[1] & 0x3f;
	out->duration = (uint16_t)((p[2] << 8) | p[3]);
	return 0;
}

size_t media_te_write(uint8_t *buf, size_t cap, const struct media_te *te)
{
	if (!buf || cap < 4)
		return 0;
	buf[0] = te->event;
	buf[1] = (uint8_t)((te->end ? 0x80 : 0) | (te->volume & 0x3f));
	buf[2] = (uint8_t)(te->duration >> 8);
	buf[3] = (uint8_t)te->duration;
	return 4;
}

static const char te_digits[] = "0123456789*#ABCD";

char media_te_digit(uint8_t event)
{
	return event < 16 ? te_digits[event] : 0;
}

int media_te_event(char digit)
{
	if (digit >= 'a' && digit <= 'd')
		digit = (char)(digit - 'a' + 'A');
	for (int i = 0; i < 16; i++)
		if (te_digits[i] == digit)
			return i;
	return -1;
}

void media_te_rx_init(struct media_te_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
}

/* A new timestamp that continues the event before it (RFC 4733 §2.5.1.3):
 * the same event, not ended, its duration near the maximum, and the new
 * segment starting where that duration ends. Lost packets at the end of a
 * segment leave the duration seen short of 0xFFFF, hence the margin. */
static bool te_next_segment(const struct media_te_rx *rx, const struct media_rtp *h,
			    const struct media_te *te)
{
	uint32_t dt = h->ts - rx->ts;
	return !rx->ended && te->event == rx->event && rx->duration >= 0xc000 &&
	       dt >= rx->duration && dt <= 0x10000;
}

/* An event is its RTP timestamp within one SSRC. Packets of the event last
 * reported (continuations, the three ends, duplicates) and of any earlier
 * one (reordered stragglers: RFC 3550 serial arithmetic on timestamps) are
 * silent; a new timestamp or a new SSRC starts a new event, unless it is
 * the next segment of a long one. */
char media_te_rx_packet(struct media_te_rx *rx, const struct media_rtp *h,
			const struct media_te *te)
{
	bool same = rx->have && h->ssrc == rx->ssrc;
	if (same && h->ts == rx->ts) {
		rx->ended = rx->ended || te->end;
		if (te->duration > rx->duration)
			rx->duration = te->duration;
		return 0;
	}
	if (same && (int32_t)(h->ts - rx->ts) < 0)
		return 0;
	char d = same && te_next_segment(rx, h, te) ? 0 : media_te_digit(te->event);
	rx->have = true;
	rx->ts = h->ts;
	rx->ssrc = h->ssrc;
	rx->event = te->event;
	rx->ended = te->end;
	rx->duration = te->duration;
	return d;
}
