/*
 * sbc_media — the SBC's media relay. Each phone's leg of a call gets a
 * port pair (RTP, RTCP) from the configured UDP range on the address the
 * phone reaches us at; the SDP passing through is rewritten so each side
 * sees only those ports, ICE is stripped, and SDES keys are replaced by
 * fresh ones per leg (transcrypting where one side speaks SRTP and the
 * other RTP). The two legs of a phone-to-phone call are joined directly:
 * a packet crosses the relay once per direction. An SDP from the phone
 * system that names a loopback address that is not ours (127.0.0.0/8, ::1:
 * the phone system's media engine, pbx_media) joins the phone's leg to it:
 * the phone's packets go there from the leg's own ports, and what comes from
 * that address goes to the phone, until an SDP names one of our legs again.
 * What goes to a phone stays one RTP stream when its source changes (engine,
 * another leg): one SSRC, sequence numbers and timestamps going on.
 * Each port latches to the
 * first packet's source, which must come from the address the signalling
 * came from. Ports are reserved only within an INVITE, UPDATE or PRACK
 * transaction (and taken up by the ACK): tentatively until its final
 * answer, freed at once when it fails; legs a phone's requests hold before
 * their phone system has accepted them are bounded per address and per
 * phone system. A phone that offers rtcp-mux (RFC 5761) gets one port for
 * both (RTCP told by its packet type); the port pairs come from sbc_ports.
 */
#ifndef SBC_MEDIA_H
#define SBC_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <jansson.h>

#include "../core/core_state.h"

#include "../sdp/sdp_codecs.h"
#include "../sip/sip_msg.h"

struct sbc_media;

/* The media terms of a trunk leg (its "phone" is the carrier): SRTP with
 * SDES towards the carrier only when srtp, RTP/AVP otherwise whatever the
 * signalling transport (a TLS carrier need not speak SRTP); the audio
 * formats both ways restricted to codecs (telephone-event kept only when
 * codecs.keep_te: the trunk's DTMF is rfc4733); nothing allowed left: 488. */
struct sbc_media_trunk {
	bool srtp;
	struct sdp_codecs codecs;
};

/* The leg an SDP belongs to, and which way it goes. */
struct sbc_media_leg {
	const char *ps;			      /* the phone system */
	struct sip_pl call_id;		      /* of this leg (phone <-> SBC <-> phone system) */
	bool from_phone;		      /* else from the phone system to the phone */
	bool secure;			      /* the phone's signalling is over TLS */
	const struct sockaddr_storage *phone; /* the phone's signalling address */
	const struct sockaddr_storage *local; /* ours, as the phone reaches us */
	bool phone_req;			      /* in a transaction a phone started */
	bool existing_only;		      /* an ACK: no new ports, only the call's */
	uint32_t cseq;			      /* the transaction, whose failure frees */
	struct sip_pl method;		      /* what it reserved; method empty: none */
	const struct sbc_media_trunk *trunk;  /* a carrier's leg; NULL: a phone's */
};

typedef void (*sbc_media_timeout_cb)(void *arg, const char *ps, struct sip_pl call_id);

struct sbc_media *sbc_media_new(struct event_base *base, sbc_media_timeout_cb cb, void *arg);
void sbc_media_free(struct sbc_media *md);
/* {"port_min","port_max","timeout","srtp_required"} from the supervisor. */
void sbc_media_configure(struct sbc_media *md, const struct core_state_media *cfg);
/* Rewrites an SDP body for the next hop: its length in out, or minus the
 * SIP status to refuse it with (-488: not acceptable here, -503: no ports,
 * or a bound reached); refused, it holds nothing. */
int sbc_media_sdp(struct sbc_media *md, const struct sbc_media_leg *leg, struct sip_pl body,
		  char *out, size_t cap);
/* The leg's INVITE was answered (2xx): media is expected from now on. */
void sbc_media_answered(struct sbc_media *md, struct sip_pl call_id);
/* The leg has ended (BYE, or its INVITE failed before an answer): its ports go. */
void sbc_media_end(struct sbc_media *md, struct sip_pl call_id, bool only_unanswered);
/* The final answer to the transaction (cseq, method) of the leg, or its
 * refusal by us (ok false): what it reserved is kept, or freed now. */
void sbc_media_settle(struct sbc_media *md, struct sip_pl call_id, uint32_t cseq,
		      struct sip_pl method, bool ok);
/* DTMF with a trunk whose dtmf is info (sbc_dtmf): the telephone-events
 * the phone side sends towards such a trunk leg are not relayed but told,
 * one digit and its duration (ms) per event, with the trunk leg's Call-ID,
 * for the INFO the pbx sends in that dialog. */
typedef void (*sbc_media_dtmf_cb)(void *arg, const char *ps, struct sip_pl call_id, char digit,
				  int ms);
void sbc_media_set_dtmf_cb(struct sbc_media *md, sbc_media_dtmf_cb cb, void *arg);
/* A digit of the carrier's INFO on trunk leg call_id: sent as an RFC 4733
 * event to the phone side leg it is joined to (in its stream, with its
 * key). 0, or -1: no such leg, its peer negotiated no telephone-event, or
 * an event is still being sent — the INFO to the pbx then carries it. */
int sbc_media_dtmf_send(struct sbc_media *md, struct sip_pl call_id, char digit, int ms);
/* Media of phones of traced phone systems goes into their traces. */
struct sbc_trace;
void sbc_media_set_trace(struct sbc_media *md, struct sbc_trace *t);
/* Ports in use (pairs) and packets relayed, for monitoring. */
int sbc_media_ports_in_use(const struct sbc_media *md);
/* The pool of the range now: its pairs free, in use, half in use (one
 * port, by an rtcp-mux leg) and set aside (not bindable for a while); legs
 * (each holds a pair or, with rtcp-mux, one port; also outside the range). */
struct sbc_media_pool {
	int port_min, port_max, pairs, free, used, half, aside, legs;
};
void sbc_media_pool(const struct sbc_media *md, struct sbc_media_pool *out);
uint64_t sbc_media_packets(const struct sbc_media *md);

#endif
