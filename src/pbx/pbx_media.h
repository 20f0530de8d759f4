/*
 * pbx_media — the phone system's media engine (DESIGN.md §4): where the
 * phone system itself speaks and listens. Each session is one RTP endpoint
 * (RTP and RTCP ports) on the internal address (127.0.0.1 by default), which
 * the pbx writes into its SDP; the SBC relays the phone's leg to it like to
 * another phone, so this hop is plain RTP and SRTP ends at the SBC. Offer/
 * answer picks PCMU, PCMA, G.722 or Opus from what the other side offers
 * (our preference: G.722, Opus, PCMA, PCMU — the phone's order wins among
 * those it offers), plus telephone-event. One 20 ms clock for all
 * sessions sends what each plays (a queue of clips, or silence); what comes
 * in goes through a jitter buffer and the decoder into a recording when one
 * runs; DTMF arrives as RFC 4733 events, as SIP INFO (pbx_msess_dtmf) or
 * in-band on G.711, and is reported once per digit. The pure parts are in
 * src/media.
 */
#ifndef PBX_MEDIA_H
#define PBX_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "../media/media_audio.h"
#include "../sip/sip_msg.h"

#define PBX_MEDIA_SDP_MAX 2048

struct pbx_media;
struct pbx_msess;

/* What a session tells its owner (all optional). */
struct pbx_msess_cb {
	void (*digit)(void *arg, struct pbx_msess *s, char digit);
	/* the play queue ran empty (not called for a looping clip) */
	void (*played)(void *arg, struct pbx_msess *s);
	/* a recording reached its maximum length */
	void (*recorded)(void *arg, struct pbx_msess *s);
	void *arg;
};

/* addr: the internal address to bind ("127.0.0.1"). NULL on failure. */
struct pbx_media *pbx_media_new(struct event_base *base, const char *addr);
void pbx_media_free(struct pbx_media *m);
int pbx_media_sessions(const struct pbx_media *m);

/* A session answering an SDP offer: our answer (sendrecv, or recvonly/
 * sendonly/inactive mirrored per RFC 3264 §6.1) into out, its length in
 * *outlen. NULL with *status 488 if no codec of ours is offered, 503 if no
 * port could be bound. */
struct pbx_msess *pbx_media_answer(struct pbx_media *m, struct sip_pl offer,
				   const struct pbx_msess_cb *cb, char *out, size_t cap,
				   int *outlen, int *status);
/* A session making an offer (late offer, or music towards a held party):
 * our codecs, direction "sendrecv" or "sendonly"; the answer goes to
 * pbx_msess_answered. NULL on failure. */
struct pbx_msess *pbx_media_offer(struct pbx_media *m, const char *direction,
				  const struct pbx_msess_cb *cb, char *out, size_t cap,
				  int *outlen);
/* The other side's answer to our offer: 0, or -1 (no common codec). */
int pbx_msess_answered(struct pbx_msess *s, struct sip_pl answer);
/* A new offer within the session's dialog (re-INVITE): our answer, as
 * pbx_media_answer; 0 or -SIP status. */
int pbx_msess_reoffer(struct pbx_msess *s, struct sip_pl offer, char *out, size_t cap);
void pbx_msess_free(struct pbx_msess *s);
/* Hands the session's callbacks to a new owner (an application). */
void pbx_msess_set_cb(struct pbx_msess *s, const struct pbx_msess_cb *cb);

/* The codec chosen, e.g. "PCMU/8000"; its PCM rate (8000 or 16000). */
const char *pbx_msess_codec(const struct pbx_msess *s);
int pbx_msess_rate(const struct pbx_msess *s);

/* Appends a clip to the play queue. The clip is not copied: it must live
 * until played or pbx_msess_stop (prompts from pbx_prompts do). It is
 * resampled if its rate is not the session's. loop: play it until stopped
 * (music on hold). */
int pbx_msess_play(struct pbx_msess *s, const struct media_pcm *clip, bool loop);
/* A beep (1000 Hz, -10 dBm0, ms long) appended to the queue. */
int pbx_msess_beep(struct pbx_msess *s, int ms);
/* Empties the play queue (a digit that interrupts a prompt). */
void pbx_msess_stop(struct pbx_msess *s);

/* Starts recording what the other side sends, at most max_ms long. */
int pbx_msess_record(struct pbx_msess *s, int max_ms);
/* Ends the recording: the PCM recorded (at the session's rate) moved into
 * out (its owner now the caller). 0, or -1 if none was running. */
int pbx_msess_record_take(struct pbx_msess *s, struct media_pcm *out);

/* A digit that came as SIP INFO (application/dtmf-relay, application/dtmf). */
void pbx_msess_dtmf(struct pbx_msess *s, char digit);

/* Packets sent and received, and inter-departure jitter, for bench/media
 * and /metrics. */
struct pbx_media_stats {
	uint64_t sent, received, lost, late;
	int sessions;
};
void pbx_media_stats(const struct pbx_media *m, struct pbx_media_stats *out);

#endif
