/*
 * media_jb — the jitter buffer: a ring of slots indexed by RTP sequence
 * number (seq mod the ring's size), a window [next, next + slots) of what
 * it can hold, and the reader's position `next`. Sequence numbers compare
 * in serial arithmetic (int16_t differences), so 65535 → 0 is no event.
 *
 * Filling: nothing is given out until `depth` frames are held (or flush).
 * Playing: the frame at `next` is given out if held; if it is missing but
 * a later one is held it is lost (by then it is depth frames late); if
 * nothing is held the stream paused (silence suppression, or it stopped):
 * -1, and `next` waits. Frames that were missing while the reader was
 * given -1 are skipped, not reported lost again, so a recording keeps time.
 *
 * A packet far outside the window (a re-INVITE's new stream, a restarted
 * phone) is held aside; if the next such packet continues it, the stream
 * started over: what was held of the old one is dropped (counted as
 * overflow) and the buffer fills again from the new one. A single stray
 * packet does not move the stream.
 */
#include "media_jb.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct jb_slot {
	bool used;
	uint16_t seq;
	size_t len;
	uint8_t payload[MEDIA_JB_PAYLOAD_MAX];
};

struct media_jb {
	int depth, nslots; /* nslots: a power of two, at least 4 * depth */
	struct jb_slot *slot;
	int held; /* slots in use */
	bool started, playing;
	uint16_t next;	      /* the sequence number the reader takes next */
	uint64_t idle;	      /* -1s given while playing, since the last frame */
	struct jb_slot aside; /* a packet far outside the window */
	struct media_jb_stats st;
};

struct media_jb *media_jb_new(int depth)
{
	if (depth < 1 || depth > 64)
		return NULL;
	struct media_jb *jb = calloc(1, sizeof(*jb));
	if (!jb)
		return NULL;
	jb->depth = depth;
	jb->nslots = 32;
	while (jb->nslots < 4 * depth)
		jb->nslots *= 2;
	if (!(jb->slot = calloc((size_t)jb->nslots, sizeof(*jb->slot)))) {
		free(jb);
		return NULL;
	}
	return jb;
}

void media_jb_free(struct media_jb *jb)
{
	if (!jb)
		return;
	free(jb->slot);
	free(jb);
}

static struct jb_slot *slot_of(struct media_jb *jb, uint16_t seq)
{
	return &jb->slot[seq & (jb->nslots - 1)];
}

static void slot_fill(struct jb_slot *s, uint16_t seq, const uint8_t *payload, size_t len)
{
	s->used = true;
	s->seq = seq;
	s->len = len;
	if (len)
		memcpy(s->payload, payload, len);
}

/* The stream started over at the packet held aside. */
static void jb_restart(struct media_jb *jb)
{
	for (int i = 0; i < jb->nslots; i++)
		if (jb->slot[i].used) {
			jb->slot[i].used = false;
			jb->st.overflow++;
		}
	jb->held = 0;
	jb->playing = false;
	jb->idle = 0;
	jb->next = jb->aside.seq;
	*slot_of(jb, jb->aside.seq) = jb->aside;
	jb->held = 1;
	jb->aside.used = false;
}

/* A packet far from the window: held aside, or the stream's new start. */
static void jb_far(struct media_jb *jb, uint16_t seq, const uint8_t *payload, size_t len)
{
	if (jb->aside.used && (uint16_t)(jb->aside.seq + 1) == seq) {
		jb_restart(jb);
		slot_fill(slot_of(jb, seq), seq, payload, len);
		jb->held++;
		return;
	}
	if (jb->aside.used)
		jb->st.overflow++; /* the earlier stray packet */
	slot_fill(&jb->aside, seq, payload, len);
}

/* Before the first frame is given out, an earlier packet (reordered at
 * the start) moves the start back if everything held still fits. */
static bool jb_move_start(struct media_jb *jb, uint16_t seq)
{
	for (int i = 0; i < jb->nslots; i++)
		if (jb->slot[i].used && (int16_t)(jb->slot[i].seq - seq) >= jb->nslots)
			return false;
	jb->next = seq;
	return true;
}

void media_jb_put(struct media_jb *jb, uint16_t seq, uint32_t ts, const uint8_t *payload,
		  size_t len)
{
	(void)ts; /* frames are in sequence order; the reader keeps the time */
	jb->st.put++;
	if (len > MEDIA_JB_PAYLOAD_MAX || (len && !payload)) {
		jb->st.overflow++;
		return;
	}
	if (!jb->started) {
		jb->started = true;
		jb->next = seq;
	}
	int d = (int16_t)(seq - jb->next);
	if (d < 0 && d > -jb->nslots && !jb->playing && jb_move_start(jb, seq))
		d = 0;
	if (d < 0 && d > -jb->nslots) {
		jb->st.late++;
		return;
	}
	if (d < 0 || d >= jb->nslots) {
		jb_far(jb, seq, payload, len);
		return;
	}
	struct jb_slot *s = slot_of(jb, seq);
	if (s->used) { /* within the window a used slot holds this very seq */
		jb->st.duplicate++;
		return;
	}
	slot_fill(s, seq, payload, len);
	jb->held++;
}

int media_jb_get(struct media_jb *jb, uint8_t *out, size_t cap, size_t *len, int flush)
{
	*len = 0;
	if (!jb->playing && (jb->held >= jb->depth || (flush && jb->held > 0)))
		jb->playing = true;
	if (!jb->playing)
		return -1;
	if (jb->held == 0) {
		jb->idle++;
		return -1;
	}
	struct jb_slot *s = slot_of(jb, jb->next);
	/* missing while the reader was given -1: that time is already filled */
	while (!s->used && jb->idle > 0) {
		jb->idle--;
		jb->st.lost++;
		s = slot_of(jb, ++jb->next);
	}
	jb->idle = 0;
	jb->next++;
	if (!s->used || s->len > cap) {
		jb->st.lost++;
		if (s->used) {
			s->used = false;
			jb->held--;
		}
		return 0;
	}
	memcpy(out, s->payload, s->len);
	*len = s->len;
	s->used = false;
	jb->held--;
	jb->st.taken++;
	return 1;
}

void media_jb_stats(const struct media_jb *jb, struct media_jb_stats *out)
{
	*out = jb->st;
	if (jb->aside.used)
		out->overflow++; /* a stray packet not (yet) followed */
}
