/*
 * sdp — session descriptions (RFC 8866) as the SBC reads and rewrites
 * them: parsed into views of the original text, changed by pointing a view
 * at other text (a relay address, a port, a new crypto line), and written
 * back out in RFC order. No I/O, no allocation.
 */
#ifndef SDP_H
#define SDP_H

#include <stdbool.h>
#include <stddef.h>

#include "../sip/sip_msg.h" /* struct sip_pl */

#define SDP_MAX_MEDIA 16
#define SDP_MAX_ATTRS 64
#define SDP_MAX_FMTS  32
#define SDP_MAX_LINES 24 /* other lines kept verbatim per section (b=, i=, t=, ...) */

struct sdp_attr {
	struct sip_pl name;
	struct sip_pl value; /* empty for flags such as a=sendrecv */
	bool has_value;
};

struct sdp_conn {
	struct sip_pl nettype, addrtype, addr; /* "IN" "IP4" "192.0.2.1" */
	bool present;
};

struct sdp_section {
	struct sdp_conn conn;
	struct sdp_attr attrs[SDP_MAX_ATTRS];
	int nattrs;
	struct sip_pl lines[SDP_MAX_LINES]; /* whole "x=..." lines other than c= and a= */
	int nlines;
};

struct sdp_media {
	struct sip_pl type;   /* audio, video, ... */
	struct sip_pl port;   /* digits */
	struct sip_pl nports; /* after '/', or empty */
	struct sip_pl proto;  /* RTP/AVP, RTP/SAVP, ... */
	struct sip_pl fmts[SDP_MAX_FMTS];
	int nfmts;
	struct sdp_section s;
};

struct sdp_session {
	struct sip_pl origin; /* the o= value */
	struct sip_pl name;   /* the s= value */
	struct sdp_section s; /* session-level c=, a= and other lines (t=, b=, ...) */
	struct sdp_media media[SDP_MAX_MEDIA];
	int nmedia;
};

/* 0, or -1 if the text is not a session description we accept. */
int sdp_parse(struct sdp_session *sdp, const char *buf, size_t len);
/* Writes the description; returns its length, or -1 if cap is too small. */
int sdp_write(const struct sdp_session *sdp, char *out, size_t cap);

const struct sdp_attr *sdp_attr_get(const struct sdp_section *s, const char *name);
/* Removes every attribute with this name; returns how many. */
int sdp_attr_remove(struct sdp_section *s, const char *name);
int sdp_attr_add(struct sdp_section *s, const char *name, struct sip_pl value);
/* The connection that applies to a media stream (its own, else the session's). */
const struct sdp_conn *sdp_media_conn(const struct sdp_session *sdp, const struct sdp_media *m);

#endif
