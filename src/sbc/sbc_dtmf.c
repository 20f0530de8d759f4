/* sbc_dtmf — see sbc_dtmf.h. */
#include "sbc_dtmf.h"

#include <stdio.h>
#include <string.h>

void sbc_dtmf_in_init(struct sbc_dtmf_in *d, int clock)
{
	memset(d, 0, sizeof(*d));
	media_te_rx_init(&d->rx);
	d->clock = clock > 0 ? clock : 8000;
}

static int to_ms(const struct sbc_dtmf_in *d, uint16_t duration)
{
	int ms = (int)((int64_t)duration * 1000 / d->clock);
	return ms < SBC_DTMF_MIN_MS ? SBC_DTMF_MIN_MS : ms > SBC_DTMF_MAX_MS ? SBC_DTMF_MAX_MS : ms;
}

/* The pending event ends now: its digit and duration. */
static char finish(struct sbc_dtmf_in *d, int *ms)
{
	d->pending = false;
	*ms = to_ms(d, d->duration);
	return d->digit;
}

char sbc_dtmf_in_packet(struct sbc_dtmf_in *d, const uint8_t *pkt, size_t len, int64_t now, int *ms)
{
	struct media_rtp h;
	struct media_te te;
	if (media_rtp_parse(pkt, len, &h) < 0 || media_te_parse(h.payload, h.payload_len, &te) < 0)
		return 0;
	char out = 0;
	char digit = media_te_rx_packet(&d->rx, &h, &te);
	if (digit) { /* a new event: one still pending lost its end */
		if (d->pending)
			out = finish(d, ms);
		d->pending = true;
		d->digit = digit;
		d->ts = h.ts;
		d->duration = te.duration;
	} else if (!d->pending || h.ts != d->ts || h.ssrc != d->rx.ssrc) {
		return 0; /* a straggler of an event already told */
	} else if (te.duration > d->duration) {
		d->duration = te.duration;
	}
	d->last_ms = now;
	if (!out && d->pending && te.end)
		out = finish(d, ms);
	return out;
}

char sbc_dtmf_in_tick(struct sbc_dtmf_in *d, int64_t now, int *ms)
{
	if (!d->pending || now - d->last_ms < SBC_DTMF_LOST_END_MS)
		return 0;
	return finish(d, ms);
}

int sbc_dtmf_info_body(char digit, int ms, char *out, size_t cap)
{
	int ev = media_te_event(digit);
	if (ev < 0)
		return -1;
	int n = snprintf(out, cap, "Signal=%c\r\nDuration=%d\r\n", media_te_digit((uint8_t)ev), ms);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int sbc_dtmf_out_start(struct sbc_dtmf_out *d, char digit, int ms, uint8_t pt, int clock,
		       uint32_t ssrc, uint16_t seq, uint32_t ts, int64_t now)
{
	int ev = media_te_event(digit);
	if (ev < 0 || d->active || pt > 127)
		return -1;
	if (ms <= 0)
		ms = SBC_DTMF_DEFAULT_MS;
	ms = ms < SBC_DTMF_MIN_MS ? SBC_DTMF_MIN_MS : ms > SBC_DTMF_MAX_MS ? SBC_DTMF_MAX_MS : ms;
	clock = clock > 0 && clock <= 48000 ? clock : 8000;
	int64_t total = (int64_t)ms * clock / 1000;
	*d = (struct sbc_dtmf_out){.active = true,
				   .event = (uint8_t)ev,
				   .pt = pt,
				   .clock = clock,
				   .ssrc = ssrc,
				   .ts = ts,
				   .seq = seq,
				   .total = (uint16_t)(total > 0xFFFF ? 0xFFFF : total),
				   .next_ms = now};
	return 0;
}

size_t sbc_dtmf_out_next(struct sbc_dtmf_out *d, int64_t now, uint8_t *buf, size_t cap)
{
	if (!d->active || now < d->next_ms)
		return 0;
	int64_t step = (int64_t)SBC_DTMF_STEP_MS * d->clock / 1000;
	int64_t dur = (int64_t)(d->sent + 1) * step;
	bool end = dur >= d->total;
	struct media_te te = {.event = d->event,
			      .end = end,
			      .volume = 10,
			      .duration = (uint16_t)(end ? d->total : dur)};
	uint8_t payload[4];
	media_te_write(payload, sizeof(payload), &te);
	struct media_rtp h = {
		.marker = d->sent == 0, .pt = d->pt, .seq = d->seq, .ts = d->ts, .ssrc = d->ssrc};
	size_t n = media_rtp_write(buf, cap, &h, payload, sizeof(payload));
	if (n == 0)
		return 0;
	d->seq++;
	d->sent++;
	/* the end packet three times (§2.5.1.4), one right after another's step */
	if (end && ++d->ends >= 3)
		d->active = false;
	d->next_ms = end ? now + 20 : now + SBC_DTMF_STEP_MS;
	return n;
}
