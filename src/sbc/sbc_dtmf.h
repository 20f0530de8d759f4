/*
 * sbc_dtmf — DTMF across a trunk whose DTMF mode is SIP INFO: the
 * conversion between RFC 4733 telephone-events on the phone side and
 * application/dtmf-relay INFO on the carrier side. It lives in the SBC
 * because only the relay sees both a trunk leg's packets and its dialog
 * (the pbx's B2BUA, its apps and the phones keep speaking RFC 4733 and
 * never learn the carrier's mode). Pure state machines with the time passed
 * in (ms), on src/media's RFC 4733 code: no I/O, no allocation, no logging.
 *
 *   sbc_dtmf_in:  telephone-event packets (from the phone side, towards a
 *                 trunk) -> one digit with its duration per event, for an
 *                 INFO body (sbc_dtmf_info_body); the packets themselves
 *                 are not relayed to the carrier.
 *   sbc_dtmf_out: a digit of an INFO from the carrier -> the packets of one
 *                 RFC 4733 event (start with marker, updates every 50 ms,
 *                 three end packets) to send towards the phone side.
 */
#ifndef SBC_DTMF_H
#define SBC_DTMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../media/media_rtp.h"

#define SBC_DTMF_LOST_END_MS 300 /* an event with no packet for this long has ended */
#define SBC_DTMF_STEP_MS     50	 /* between packets of an event we send (RFC 4733 §2.5.1.2) */
#define SBC_DTMF_MIN_MS	     40
#define SBC_DTMF_MAX_MS	     5000
#define SBC_DTMF_DEFAULT_MS  100 /* an INFO without Duration */

struct sbc_dtmf_in {
	struct media_te_rx rx;
	int clock; /* the telephone-event clock, Hz */
	bool pending;
	char digit;
	uint32_t ts;
	uint16_t duration;
	int64_t last_ms;
};
void sbc_dtmf_in_init(struct sbc_dtmf_in *d, int clock);
/* A telephone-event RTP packet (the whole packet, in the clear): a digit
 * whose event is over (its end packet, or a new event after one whose end
 * was lost), with its duration in ms in *ms; else 0. Each event once. */
char sbc_dtmf_in_packet(struct sbc_dtmf_in *d, const uint8_t *pkt, size_t len, int64_t now,
			int *ms);
/* A digit whose end packets were all lost, once SBC_DTMF_LOST_END_MS passed; else 0. */
char sbc_dtmf_in_tick(struct sbc_dtmf_in *d, int64_t now, int *ms);
/* "Signal=5\r\nDuration=160\r\n" (application/dtmf-relay): its length, or -1. */
int sbc_dtmf_info_body(char digit, int ms, char *out, size_t cap);

struct sbc_dtmf_out {
	bool active;
	uint8_t event, pt;
	int clock;
	uint32_t ssrc, ts;
	uint16_t seq, total; /* total: the event's duration in timestamp units */
	int sent, ends;	     /* packets sent; end packets sent (3 in all) */
	int64_t next_ms;
};
/* Starts an event for a digit ('0'-'9', '*', '#', 'A'-'D') of ms (bounded
 * to SBC_DTMF_MIN_MS..SBC_DTMF_MAX_MS; 0 or less: the default) on payload
 * type pt at clock Hz, in the stream (ssrc, next seq, timestamp) it joins:
 * 0, or -1 if the digit is none or one is still being sent. */
int sbc_dtmf_out_start(struct sbc_dtmf_out *d, char digit, int ms, uint8_t pt, int clock,
		       uint32_t ssrc, uint16_t seq, uint32_t ts, int64_t now);
/* The next packet if it is due at now, into buf: its length; 0 if none is
 * due (d->next_ms says when) or the event is over (d->active false). */
size_t sbc_dtmf_out_next(struct sbc_dtmf_out *d, int64_t now, uint8_t *buf, size_t cap);

#endif
