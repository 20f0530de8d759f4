/*
 * media_jb — a jitter buffer for what the engine records: packets put in
 * as they arrive (out of order, duplicated, late), frames taken out in
 * sequence order at the pace of the reader, with a gap reported as lost so
 * the decoder can conceal it. Keyed by RTP sequence number (wrap-around
 * handled); a fixed depth in frames; packets older than what was already
 * taken, or too far ahead, are dropped and counted. Pure: time is the
 * reader's pace, no I/O.
 */
#ifndef MEDIA_JB_H
#define MEDIA_JB_H

#include <stddef.h>
#include <stdint.h>

#define MEDIA_JB_PAYLOAD_MAX 1500

struct media_jb_stats {
	uint64_t put, taken, lost, late, duplicate, overflow;
};

struct media_jb;
/* depth: frames held back before the first is given out (e.g. 3 = 60 ms
 * at 20 ms frames), at most 64. NULL on allocation failure. */
struct media_jb *media_jb_new(int depth);
void media_jb_free(struct media_jb *jb);
/* A packet's sequence number, timestamp and payload (copied). */
void media_jb_put(struct media_jb *jb, uint16_t seq, uint32_t ts, const uint8_t *payload,
		  size_t len);
/* The next frame in order: 1 and the payload copied to out (*len), 0 if
 * that frame is lost (conceal it), -1 if nothing is due yet (still filling,
 * or empty after the stream stopped). flush: give out what is held
 * without waiting for the depth (the end of a recording). */
int media_jb_get(struct media_jb *jb, uint8_t *out, size_t cap, size_t *len, int flush);
void media_jb_stats(const struct media_jb *jb, struct media_jb_stats *out);

#endif
