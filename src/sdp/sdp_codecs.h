/*
 * sdp_codecs — restricting the audio formats of an offer or answer to an
 * allowed list, as a trunk's "codecs" setting asks (PCMA, PCMU, G722, opus
 * …, by encoding name, case-insensitive). What is kept keeps its payload
 * number and its order; the a=rtpmap, a=fmtp and a=rtcp-fb lines of what is
 * removed go with it; telephone-event (RFC 4733) stays when asked to (the
 * trunk's DTMF is rfc4733). Static payload types without an rtpmap are named
 * by RFC 3551's table. Pure: no I/O, no allocation, never logs.
 */
#ifndef SDP_CODECS_H
#define SDP_CODECS_H

#include <stdbool.h>
#include <stddef.h>

#include "sdp.h"

#define SDP_CODECS_MAX 16 /* allowed names per list */

struct sdp_codecs {
	const char *names[SDP_CODECS_MAX]; /* NUL-terminated encoding names */
	int n;				   /* 0: no restriction */
	bool keep_te;			   /* keep telephone-event */
};

/* The encoding name of format fmt in media m ("PCMA"), from its a=rtpmap or
 * RFC 3551's static table; an empty view if unknown. */
struct sip_pl sdp_codecs_name(const struct sdp_media *m, struct sip_pl fmt);
/* Restricts every active audio stream (port not 0) of sdp in place: 0, or
 * -1 if a stream would keep no codec but telephone-event (the caller
 * refuses it: 488). Other media and rejected streams are left alone. With
 * an empty list only telephone-event is touched (removed unless keep_te). */
int sdp_codecs_restrict(struct sdp_session *sdp, const struct sdp_codecs *allow);
/* The same on a text: the new description's length in out, -1 if in is no
 * description we accept or out is too small, -2 if nothing allowed is left. */
int sdp_codecs_filter(const char *in, size_t len, const struct sdp_codecs *allow, char *out,
		      size_t cap);

#endif
