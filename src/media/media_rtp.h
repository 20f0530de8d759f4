/*
 * media_rtp — RTP packets (RFC 3550 §5.1) and telephone-events (RFC 4733)
 * as the phone system's media engine reads and writes them: parsing into
 * views of the packet, writing into a caller's buffer, and a receiver that
 * turns a stream of telephone-event packets (with retransmitted end
 * packets, duplicates and loss) into each digit exactly once. Pure: no I/O,
 * no allocation, never logs.
 */
#ifndef MEDIA_RTP_H
#define MEDIA_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEDIA_RTP_HDR 12

struct media_rtp {
	bool marker;
	uint8_t pt; /* payload type, 0-127 */
	uint16_t seq;
	uint32_t ts, ssrc;
	const uint8_t *payload; /* into the packet: after CSRCs and extension, before padding */
	size_t payload_len;
};

/* 0, or -1 if it is not an RTP version 2 packet that holds together
 * (lengths of CSRC list, extension and padding within the packet). */
int media_rtp_parse(const uint8_t *buf, size_t len, struct media_rtp *out);
/* Header (no CSRC, no extension) and payload into buf: the length, or 0 if
 * cap is too small. h->payload is ignored; payload may be NULL if len is 0. */
size_t media_rtp_write(uint8_t *buf, size_t cap, const struct media_rtp *h, const uint8_t *payload,
		       size_t len);

/* RFC 4733 §2.3: one named event. */
struct media_te {
	uint8_t event; /* 0-9, 10 '*', 11 '#', 12-15 'A'-'D' */
	bool end;
	uint8_t volume;	   /* -dBm0, 0-63 */
	uint16_t duration; /* in timestamp units */
};
/* 0, or -1 if shorter than 4 bytes. Only the first event of a packet
 * (RFC 4733 §2.5.1.5 redundancy is not used by phones). */
int media_te_parse(const uint8_t *p, size_t len, struct media_te *out);
/* 4 bytes into buf; 0 if cap < 4. */
size_t media_te_write(uint8_t *buf, size_t cap, const struct media_te *te);
/* '0'-'9', '*', '#', 'A'-'D' for an event, or 0 for any other event. */
char media_te_digit(uint8_t event);
/* The event for a digit character, or -1. */
int media_te_event(char digit);

/* A receiver of telephone-events: an event is one RTP timestamp (§2.5.1.1).
 * The digit is reported once, at its first packet (so a lost end packet
 * does not lose it), and never again for later packets of the same
 * timestamp (retransmitted ends, duplicates, reordering), nor for the
 * further segments of a long event (§2.5.1.3: a new timestamp once the
 * duration reached 0xFFFF — 1.4 s at a 48 kHz clock). */
struct media_te_rx {
	bool have;
	uint32_t ts; /* of the last event reported */
	uint32_t ssrc;
	uint8_t event;	   /* that event's code */
	bool ended;	   /* an end packet of it was seen */
	uint16_t duration; /* the longest duration seen for it */
};
void media_te_rx_init(struct media_te_rx *rx);
/* The packet's RTP header and its payload's event: the digit to report, or 0. */
char media_te_rx_packet(struct media_te_rx *rx, const struct media_rtp *h,
			const struct media_te *te);

#endif
